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


#: the most significant digits :func:`scientific` writes (17 round-trip every float64)
MAX_SIGNIFICANT = 17
# scaled values this close to a rounding midpoint (relative to their size) are rounded exactly
_MIDPOINT_MARGIN = 2.0 ** -46
_POWERS_OF_TEN = np.array([float(f"1e{k}") for k in range(-300, 301)])  # correctly rounded


def scientific(values: np.ndarray, significant: int = 9) -> np.ndarray:
    """Finite numbers in scientific notation with ``significant`` digits, for
    :func:`format_rows`: (n,) -> (n, width) uint8, NUL-padded, e.g. 0.5 -> ``5.00000000e-01``.

    The text is exactly Python's ``'%.{significant - 1}e' % float(v)`` (the value's exact binary
    value correctly rounded, halves to even; a two-digit exponent, three past 99). 9 digits
    round-trip every float32, 17 every float64. Digits come from one float64 scaling per value;
    the few values whose scaled value lies within 2**-46 (relative) of a rounding midpoint, where
    that scaling could round the wrong way, are rounded by Python, once per distinct value.
    """
    if not 1 <= significant <= MAX_SIGNIFICANT:
        raise ValueError(f"significant digits must be 1..{MAX_SIGNIFICANT}, not {significant}")
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(values).all():
        raise ValueError("only finite numbers can be written in scientific notation")
    places = significant - 1
    magnitude = np.abs(values)
    nonzero = np.flatnonzero(magnitude)
    mantissa = np.zeros(len(values), np.int64)
    exponent = np.zeros(len(values), np.int64)
    if len(nonzero):
        m, e = _mantissas(magnitude[nonzero], places)
        mantissa[nonzero], exponent[nonzero] = m, e
    # [-] d [. d...] e +|- [d] d d: the sign and a third exponent digit only where needed
    negative = np.signbit(values)
    sign = int(bool(negative.any()))
    size = np.abs(exponent).astype(np.uint16)
    hundreds = int(bool(len(size)) and int(size.max()) >= 100)
    point = int(places > 0)
    text = np.empty((len(values), sign + significant + point + 4 + hundreds), np.uint8)
    if sign:
        text[:, 0] = np.where(negative, ord("-"), 0)
    digits = _padded_digits(mantissa, significant)
    text[:, sign] = digits[:, 0]
    if point:
        text[:, sign + 1] = ord(".")
        text[:, sign + 2:sign + 1 + significant] = digits[:, 1:]
    at = sign + point + significant
    text[:, at] = ord("e")
    text[:, at + 1] = np.where(exponent < 0, ord("-"), ord("+"))
    if hundreds:
        text[:, at + 2] = np.where(size >= 100, size // 100 + ord("0"), 0)
    text[:, -2] = (size // 10) % 10 + ord("0")  # at least two digits: 5 -> "05"
    text[:, -1] = size % 10 + ord("0")
    return text


def _mantissas(magnitude: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive finite (n,) -> the integer mantissas (n,) in [10**places, 10**(places + 1)) and
    decimal exponents (n,) int64 of their correctly rounded scientific notation."""
    low, high = 10 ** places, 10 ** (places + 1)
    exponent = np.floor(np.log10(magnitude)).astype(np.int64)
    scaled = _scale(magnitude, places - exponent)
    rounded = np.rint(scaled)
    # log10 can be one off next to a power of ten: correct the exponent there and scale again
    for _ in range(2):
        off = np.flatnonzero((rounded < low) | (rounded > high))
        if not len(off):
            break
        exponent[off] += np.where(rounded[off] > high, 1, -1)
        scaled[off] = _scale(magnitude[off], places - exponent[off])
        rounded[off] = np.rint(scaled[off])
    mantissa = rounded.astype(np.int64)
    carry = mantissa == high  # 9.99...95 rounds up to 10.0...: 1.0 at the next power
    mantissa[carry] = low
    exponent[carry] += 1
    midpoint = np.abs(scaled - np.floor(scaled) - 0.5) <= scaled * _MIDPOINT_MARGIN
    hard = np.flatnonzero(midpoint | (mantissa < low) | (mantissa > high))
    if len(hard):
        distinct, inverse = np.unique(magnitude[hard], return_inverse=True)
        exact = [("%.*e" % (places, value)).split("e") for value in distinct.tolist()]
        mantissa[hard] = np.array([int(m.replace(".", "")) for m, _ in exact], np.int64)[inverse]
        exponent[hard] = np.array([int(e) for _, e in exact], np.int64)[inverse]
    return mantissa, exponent


def _scale(magnitude: np.ndarray, power: np.ndarray) -> np.ndarray:
    """magnitude * 10**power in float64 (a few ulp off): (n,), (n,) int -> (n,). A power past
    ±300 (values under 1e-292 or over 1e300) takes a second step, so that none overflows."""
    first = np.clip(power, -300, 300)
    scaled = magnitude * _POWERS_OF_TEN[first + 300]
    beyond = np.flatnonzero(first != power)
    scaled[beyond] *= _POWERS_OF_TEN[power[beyond] - first[beyond] + 300]
    return scaled


def _padded_digits(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers below 10**width, zero-padded on the left:
    (n,) -> (n, width) uint8; one division of the whole vector per digit."""
    out = np.empty((len(values), width), np.uint8)
    rest = values.astype(np.uint32 if width <= 9 else np.uint64)
    for column in range(width - 1, -1, -1):
        quotient = rest // 10
        out[:, column] = rest - quotient * 10
        rest = quotient
    out += ord("0")
    return out


def format_rows(columns: Sequence[np.ndarray]) -> bytes:
    """Tab-separated, newline-terminated lines from columns of equal length n.

    Each column is (n,) non-negative integers, (n,) fixed-width bytes (numpy ``S`` dtype, e.g.
    chromosome names or label letters; no NUL bytes), or (n, width) uint8 text already rendered
    and NUL-padded (e.g. by :func:`fixed_point` or :func:`scientific`).
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
