"""Writers of the file formats the package reads: FASTA, bigWig, BED / narrowPeak.

Used by the demo-data generator, by the tests (which build their own tiny files) and for
per-base tracks over windows (attributions, predicted profiles).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pyBigWig


def write_fasta(path: str | os.PathLike, sequences: Mapping[str, str], line_width: int = 60,
                bgzip: bool = False) -> Path:
    """Write sequences as FASTA (``bgzip=True``: BGZF-compressed, readable by pyfaidx)."""
    path = Path(path)
    lines = []
    for name, sequence in sequences.items():
        lines.append(f">{name}\n")
        lines.extend(sequence[i:i + line_width] + "\n" for i in range(0, len(sequence), line_width))
    text = "".join(lines).encode("ascii")
    if bgzip:
        from Bio import bgzf
        with bgzf.BgzfWriter(str(path), "wb") as handle:
            handle.write(text)
    else:
        path.write_bytes(text)
    return path


def write_bigwig(path: str | os.PathLike, chrom_sizes: Sequence[tuple[str, int]],
                 values: Mapping[str, np.ndarray]) -> Path:
    """Write per-base values as a bigWig; NaN bases are left uncovered.

    ``values[chrom]`` is a (length,) float array for the chromosomes that have data; runs of equal
    values become one bedGraph-like entry each.
    """
    path = Path(path)
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(chrom_sizes), maxZooms=0)
    for name, _ in chrom_sizes:
        if name not in values:
            continue
        array = np.asarray(values[name], dtype=np.float64)
        change = np.flatnonzero((array[1:] != array[:-1]) & ~(np.isnan(array[1:]) & np.isnan(array[:-1]))) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(array)]])
        run_values = array[starts]
        covered = ~np.isnan(run_values)
        if covered.any():
            handle.addEntries([name] * int(covered.sum()), starts[covered].tolist(),
                              ends=ends[covered].tolist(), values=run_values[covered].tolist())
    handle.close()
    return path


def write_bed(path: str | os.PathLike, rows: Sequence[Sequence], header: str = "") -> Path:
    """Write tab-separated rows (BED, narrowPeak, ...), gzipped when the name ends in ``.gz``."""
    path = Path(path)
    text = header + "".join("\t".join(str(field) for field in row) + "\n" for row in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def narrowpeak_row(chrom: str, start: int, end: int, score: float = 0.0) -> tuple:
    """A narrowPeak row with the summit at the centre (signal, p and q values = ``score``)."""
    return (chrom, start, end, ".", 0, ".", score, score, score, (end - start) // 2)


def write_window_bigwig(path: str | os.PathLike, chrom_sizes: Sequence[tuple[str, int]],
                        chrom: np.ndarray, window_start: np.ndarray, values: np.ndarray) -> Path:
    """Per-base values (n, L) of n windows (chromosome index ``chrom`` (n,) into ``chrom_sizes``,
    first base ``window_start`` (n,)) as a bigWig: a base in several windows gets their mean;
    bases off a chromosome and outside every window are left uncovered."""
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(chrom_sizes))
    offsets = np.arange(values.shape[1])
    for cid in np.unique(chrom):  # header order: chromosome indices ascend
        name, size = chrom_sizes[cid]
        rows = chrom == cid
        positions = (window_start[rows, None] + offsets).ravel()
        keep = (positions >= 0) & (positions < size)
        bases, which = np.unique(positions[keep], return_inverse=True)
        mean = np.bincount(which, values[rows].ravel()[keep]) / np.bincount(which)
        handle.addEntries([name] * len(bases), bases.tolist(), ends=(bases + 1).tolist(),
                          values=mean.tolist())
    handle.close()
    return Path(path)
