"""Sequence logos drawn with logomaker (matplotlib): the one drawing helper the motif sheets and the
attribution plots share."""

from __future__ import annotations

import numpy as np

from ..data.genome import BASES


def information_content(ppm: np.ndarray) -> np.ndarray:
    """(w,) bits per column of a (w, 4) position-probability matrix (uniform background)."""
    ppm = np.asarray(ppm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(ppm > 0, ppm * np.log2(ppm), 0.0).sum(axis=1)
    return 2.0 - entropy


#: logomaker's "classic" colours
BASE_COLOURS = {"A": (0.0, 0.5, 0.0), "C": (0.0, 0.0, 1.0), "G": (1.0, 0.65, 0.0),
                "T": (1.0, 0.0, 0.0)}


def draw_logo(ax, heights: np.ndarray, first_position: int = 0) -> None:
    """Draw a (w, 4) A/C/G/T matrix of letter heights (bits, or attributions; negative ones below
    the axis) as a logo on the matplotlib axes ``ax``: at each position the letters are stacked
    by height, the largest outermost, negative ones upside down, as logomaker's ``Logo`` does, but only non-zero letters
    are drawn (an attribution logo has one letter per position: 4x faster)."""
    import logomaker

    heights = np.asarray(heights, float)
    order = np.argsort(np.abs(heights), axis=1, kind="stable")  # smallest nearest the axis
    ranked = np.take_along_axis(heights, order, axis=1)
    up = np.cumsum(np.where(ranked > 0, ranked, 0.0), axis=1)
    down = np.cumsum(np.where(ranked < 0, ranked, 0.0), axis=1)
    top = np.where(ranked > 0, up, down - ranked)
    for row, column in zip(*np.nonzero(ranked)):
        base, ceiling = BASES[order[row, column]], top[row, column]
        logomaker.Glyph(first_position + row, base, ceiling - abs(ranked[row, column]), ceiling,
                        ax=ax, color=BASE_COLOURS[base], flip=bool(ranked[row, column] < 0))
    low, high = min(down[:, -1].min(initial=0.0), 0.0), max(up[:, -1].max(initial=0.0), 0.0)
    ax.set_ylim(low, high if high > low else 1.0)
    ax.set_xlim(first_position - 0.5, first_position + len(heights) - 0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
