"""PNG figures of kernel motifs: one per kernel (the logo in bits, each track's footprint drawn
beneath) and a sheet of all logos. Figures are made without pyplot (no display, no global state)."""

from __future__ import annotations

import os
import warnings
from typing import Mapping, Sequence

import numpy as np

from .plots import draw_logo, information_content

LOGO_HEIGHT = 1.6  # inches per logo row
TRACK_HEIGHT = 0.9  # inches per footprint row


def logo_bits(ppm: np.ndarray) -> np.ndarray:
    """(w, 4) letter heights in bits of a (w, 4) position-probability matrix."""
    return np.asarray(ppm, float) * information_content(ppm)[:, None]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _logo(ax, ppm: np.ndarray, title: str) -> None:
    with warnings.catch_warnings():  # a logo without information (all heights 0)
        warnings.filterwarnings("ignore", "Attempting to set identical low and high ylims")
        draw_logo(ax, logo_bits(ppm))
    ax.set_ylim(0, 2)
    ax.set_ylabel("bits")
    ax.set_title(title, fontsize=9, loc="left")


def kernel_figure(path: str | os.PathLike, ppm: np.ndarray, footprints: Mapping[str, np.ndarray],
                  title: str) -> None:
    """Write one kernel's PNG: the logo of its (w, 4) matrix, then each track's (w,) mean signal
    (by name) on the same positions."""
    figure = _figure(max(4.0, 0.22 * len(ppm) + 1), LOGO_HEIGHT + TRACK_HEIGHT * len(footprints))
    axes = figure.subplots(1 + len(footprints), 1, sharex=True, squeeze=False,
                           height_ratios=[LOGO_HEIGHT] + [TRACK_HEIGHT] * len(footprints))[:, 0]
    _logo(axes[0], ppm, title)
    for ax, (name, signal) in zip(axes[1:], footprints.items()):
        ax.plot(np.arange(len(signal)), signal, color="0.2", marker=".", linewidth=1)
        ax.set_ylabel(name, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("position in kernel")
    figure.savefig(path)


def logo_sheet(path: str | os.PathLike, ppms: Sequence[np.ndarray], titles: Sequence[str],
               columns: int = 4) -> None:
    """Write a PNG of the logos of the (w, 4) matrices in the order given, ``columns`` a row."""
    columns = max(1, min(columns, len(ppms)))
    rows = max(1, -(-len(ppms) // columns))
    width = max(len(ppm) for ppm in ppms) if len(ppms) else 1
    figure = _figure(columns * max(3.0, 0.16 * width + 0.8), rows * LOGO_HEIGHT)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, ppm, title in zip(axes, ppms, titles):
        _logo(ax, ppm, title)
        ax.tick_params(labelsize=6)
    for ax in axes[len(ppms):]:
        ax.set_axis_off()
    figure.savefig(path)
