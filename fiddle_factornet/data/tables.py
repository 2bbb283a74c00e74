"""Vectorised writing of large tab-separated text tables (label files, BED-like outputs).

Formatting tens of millions of rows with Python string operations or ``DataFrame.to_csv`` takes
minutes; here each chunk of rows becomes one byte matrix (digits of integer columns, bytes of
text columns, padding as NUL) from which the padding is dropped in one step.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

_TAB = np.full((1, 1), ord("\t"), dtype=np.uint8)
_NEWLINE = np.full((1, 1), ord("\n"), dtype=np.uint8)


def _digits(values: np.ndarray) -> np.ndarray:
    """ASCII digits of non-negative integers: (n,) -> (n, max_digits) uint8, left-padded with 0 bytes."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and values.min() < 0:
        raise ValueError("only non-negative integers can be formatted")
    width = len(str(int(values.max()))) if values.size else 1
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)
    leading = values[:, None] < powers
    leading[:, -1] = False  # zero itself keeps its one digit
    digits[leading] = 0
    return digits


def fixed_point(values: np.ndarray, places: int = 6) -> np.ndarray:
    """Non-negative numbers as fixed-point text with ``places`` decimals (rounded), for
    :func:`format_rows`: (n,) -> (n, width) uint8, e.g. 0.5 -> ``0.500000``."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * 10 ** places).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10 ** places)
    powers = 10 ** np.arange(places - 1, -1, -1, dtype=np.int64)
    decimals = ((fraction[:, None] // powers) % 10 + ord("0")).astype(np.uint8)
    point = np.full((len(scaled), 1), ord("."), dtype=np.uint8)
    return np.concatenate([_digits(whole), point, decimals], axis=1)


def format_rows(columns: Sequence[np.ndarray]) -> bytes:
    """Tab-separated, newline-terminated lines from columns of equal length n.

    Each column is (n,) non-negative integers, (n,) fixed-width bytes (numpy ``S`` dtype, e.g.
    chromosome names or label letters; no NUL bytes), or (n, width) uint8 text already rendered
    and NUL-padded (e.g. by :func:`fixed_point`).
    """
    n = len(columns[0])
    blocks = []
    for i, column in enumerate(columns):
        column = np.asarray(column)
        if column.ndim == 2 and column.dtype == np.uint8:
            block = column
        elif column.dtype.kind == "S":
            block = column.reshape(n, 1).view(np.uint8).reshape(n, column.dtype.itemsize)
        else:
            block = _digits(column)
        if i:
            blocks.append(np.broadcast_to(_TAB, (n, 1)))
        blocks.append(block)
    blocks.append(np.broadcast_to(_NEWLINE, (n, 1)))
    table = np.concatenate(blocks, axis=1)
    return table[table != 0].tobytes()
