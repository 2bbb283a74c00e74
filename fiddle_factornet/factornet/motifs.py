"""Motifs: MEME files (read and written), log-odds PWMs, and PWM injection into FactorNet's first
kernels (``-mo``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import InputError
from ..data.files import open_text

if TYPE_CHECKING:
    import keras

PSEUDOCOUNT = 0.001
BACKGROUND = 0.25
_WIDTH = re.compile(r"\bw=\s*(\d+)")
_ALENGTH = re.compile(r"\balength=\s*(\d+)")


@dataclass(frozen=True)
class MemeMotif:
    """One motif of a MEME file: the identifier and alternate name of its ``MOTIF`` line (the
    name is the line's last word: the identifier when there is no alternate name) and its
    letter-probability matrix ``ppm`` (w, 4) A, C, G, T."""

    id: str
    name: str
    ppm: np.ndarray


def read_meme_motifs(path: str | os.PathLike) -> list[MemeMotif]:
    """The motifs of a MEME file (plain or gzipped), in file order.

    A file without the ``MEME version`` line, without any motif, or with a matrix that is not
    ``w`` rows of 4 numbers is an InputError naming the file (and the line).
    """
    with open_text(path) as handle:
        lines = handle.read().splitlines()
    if not any(line.startswith("MEME version") for line in lines):
        raise InputError(f"{path}: not a MEME motif file (no 'MEME version' line)")
    motifs = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("MOTIF"):
            words = lines[i].split()
            if len(words) < 2:
                raise InputError(f"{path}: line {i + 1}: MOTIF line without an identifier")
            ident, name = words[1], words[-1]
            while i < len(lines) and "letter-probability matrix" not in lines[i]:
                i += 1
            if i == len(lines):
                raise InputError(f"{path}: motif {ident} has no letter-probability matrix")
            width, alength = _WIDTH.search(lines[i]), _ALENGTH.search(lines[i])
            if width is None or (alength is not None and alength.group(1) != "4"):
                raise InputError(f"{path}: line {i + 1}: expected a DNA letter-probability "
                                 f"matrix line with 'alength= 4 w= W', got {lines[i].strip()!r}")
            width, first, rows = int(width.group(1)), i + 2, []
            while len(rows) < width and i + 1 < len(lines):
                i += 1
                if lines[i].strip():
                    rows.append(lines[i].split())
            try:
                ppm = np.array(rows, dtype=float).reshape(width, 4)
            except ValueError:
                raise InputError(f"{path}: line {first}: motif {ident}'s matrix is not {width} "
                                 "rows of 4 probabilities") from None
            motifs.append(MemeMotif(ident, name, ppm))
        i += 1
    if not motifs:
        raise InputError(f"{path}: a MEME file without any motif")
    return motifs


def read_meme(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Letter-probability matrices of a MEME file, by motif name: {name: (w, 4) A,C,G,T}.

    A motif is filed under the last word of its ``MOTIF`` line, upper-cased (the TF name in
    HOCOMOCO's ``MOTIF CTCF_f2 CTCF``), as the original FactorNet did.
    """
    return {motif.name.upper(): motif.ppm for motif in read_meme_motifs(path)}


def write_meme(path: str | os.PathLike, names: Sequence[str], ppms: Sequence[np.ndarray],
               nsites: Sequence[int]) -> None:
    """Write a MEME (version 4) file of letter-probability matrices, each (w, 4) A,C,G,T, with a
    uniform background, in the original FactorNet's layout (``MOTIF <name>``, where ``name`` may
    hold an identifier and a name, 6 decimals, its header and placeholder E-value)."""
    parts = ["MEME version 4.9.0\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
             "Background letter frequencies (from uniform background):\n"
             "A 0.25000 C 0.25000 G 0.25000 T 0.25000\n\n"]
    for name, ppm, count in zip(names, ppms, nsites):
        rows = "".join(" ".join(f"{p:f}" for p in row) + "\n" for row in ppm)
        parts.append(f"MOTIF {name}\nletter-probability matrix: alength= 4 w= {len(ppm)} "
                     f"nsites= {int(count)} E= 1337.0e-6\n{rows}\n")
    Path(path).write_text("".join(parts))


def log_odds(pwm: np.ndarray) -> np.ndarray:
    """(w, 4) log2 odds against a uniform background, after adding 0.001 and renormalising."""
    pwm = np.asarray(pwm, dtype=float) + PSEUDOCOUNT
    return np.log2(pwm / pwm.sum(axis=1, keepdims=True) / BACKGROUND)


def inject_pwm(model: "keras.Model", pwm: np.ndarray) -> None:
    """Set the first two kernels of the ``conv`` layer to a motif's log odds and its reverse
    complement, centred in the kernel width, on the one-hot channels; their biases to 0.

    Keras convolutions are cross-correlations, so the kernel holds the motif as written.
    """
    conv = model.get_layer("strand_trunk").get_layer("conv")
    kernel, bias = conv.get_weights()
    width = len(pwm)
    if width > kernel.shape[0]:
        raise ValueError(f"motif of width {width} does not fit kernels of width {kernel.shape[0]}")
    odds = log_odds(pwm)
    start = kernel.shape[0] // 2 - width // 2
    kernel[:, :, :2] = 0.0
    kernel[start:start + width, :4, 0] = odds
    kernel[start:start + width, :4, 1] = odds[::-1, ::-1]
    bias[:2] = 0.0
    conv.set_weights([kernel, bias])
