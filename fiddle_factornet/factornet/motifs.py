"""Motifs: MEME files, log-odds PWMs, and PWM injection into FactorNet's first kernels (``-mo``)."""

from __future__ import annotations

import os

import keras
import numpy as np

from ..errors import InputError
from ..data.files import open_text

PSEUDOCOUNT = 0.001
BACKGROUND = 0.25


def read_meme(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Letter-probability matrices of a MEME file, by motif name: {name: (w, 4) A,C,G,T}.

    A motif is filed under the last word of its ``MOTIF`` line, upper-cased (the TF name in
    HOCOMOCO's ``MOTIF CTCF_f2 CTCF``), as the original FactorNet did.
    """
    motifs = {}
    lines = open_text(path).read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("MOTIF"):
            name = lines[i].split()[-1].upper()
            while i < len(lines) and "letter-probability matrix" not in lines[i]:
                i += 1
            if i == len(lines):
                raise InputError(f"{path}: motif {name} has no letter-probability matrix")
            width = int(lines[i].split("w=")[1].split()[0])
            rows = [line.split() for line in lines[i + 1:] if line.strip()][:width]
            try:
                motifs[name] = np.array(rows, dtype=float).reshape(width, 4)
            except ValueError:
                raise InputError(f"{path}: line {i + 2}: motif {name}'s matrix is not {width} "
                                 "rows of 4 probabilities") from None
        i += 1
    return motifs


def log_odds(pwm: np.ndarray) -> np.ndarray:
    """(w, 4) log2 odds against a uniform background, after adding 0.001 and renormalising."""
    pwm = np.asarray(pwm, dtype=float) + PSEUDOCOUNT
    return np.log2(pwm / pwm.sum(axis=1, keepdims=True) / BACKGROUND)


def inject_pwm(model: keras.Model, pwm: np.ndarray) -> None:
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
