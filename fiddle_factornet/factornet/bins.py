"""Genome bins, ENCODE-DREAM labels and the FactorNet blacklist, vectorised.

The genome is cut into bins of ``width`` bp (200) every ``step`` bp (50), whole bins only: bin k of
a chromosome is ``[k * step, k * step + width)``. Bins are numbered globally, chromosome after
chromosome in the order of the chromosome set.

Labels per bin and TF, as in the ENCODE-DREAM challenge: **B** (bound) when one conservative peak
covers at least ``width // 2 + 1`` bp (101) of the bin; **A** (ambiguous) when the bin is not B but
overlaps a relaxed peak or a conservative peak; **U** (unbound) otherwise. Without a relaxed file the
conservative peaks stand in for it, as in the original.

Every interval marks a contiguous range of bin indices, so a whole genome is labelled with one
difference array and a cumulative sum per chromosome: no loop over bins or peaks.
"""

from __future__ import annotations

import gzip
import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from ..data.genome import ChromSizes, load_chrom_sizes
from ..data.intervals import IntervalSet
from ..data.tables import format_rows
from ..errors import InputError
from ..runs.outputs import recorded_outputs, safe_output
from ..runs.record import RECORD_NAME, RunRecord, absolute
from .celltype import CellTypeFolder

logger = logging.getLogger(__name__)

BIN_WIDTH = 200
BIN_STEP = 50
LABEL_U, LABEL_A, LABEL_B = 0, 1, 2
#: label code -> the challenge's letter
LABEL_LETTERS = np.array([b"U", b"A", b"B"], dtype="S1")


@dataclass(frozen=True)
class BinGrid:
    """Bins of ``width`` bp every ``step`` bp over the chromosomes of ``sizes``."""

    sizes: ChromSizes
    width: int = BIN_WIDTH
    step: int = BIN_STEP

    @cached_property
    def counts(self) -> np.ndarray:
        """(n_chroms,) int64 number of bins per chromosome."""
        lengths = np.asarray(self.sizes.lengths, dtype=np.int64)
        return np.maximum((lengths - self.width) // self.step + 1, 0)

    @cached_property
    def offsets(self) -> np.ndarray:
        """(n_chroms + 1,) int64 global index of each chromosome's first bin, then the total."""
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    @property
    def total(self) -> int:
        return int(self.offsets[-1])

    @property
    def min_overlap(self) -> int:
        """Overlap that makes a bin bound: more than half the bin (101 bp of 200)."""
        return self.width // 2 + 1

    def chrom_slice(self, chrom: str) -> slice:
        """The global bin indices of ``chrom``."""
        i = self.sizes.ids([chrom])[0]
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def locate(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chromosome (index into ``sizes.names``) and start of global bins: two (n,) int64 arrays."""
        index = np.asarray(index, dtype=np.int64)
        chrom = np.searchsorted(self.offsets, index, side="right") - 1
        return chrom, (index - self.offsets[chrom]) * self.step

    def covered(self, chrom: str, starts: np.ndarray, ends: np.ndarray,
                min_overlap: int = 1) -> np.ndarray:
        """Bins of ``chrom`` that one interval overlaps by >= ``min_overlap`` bp: (n_bins,) bool.

        A bin at b overlaps ``[s, e)`` by ``min(b + width, e) - max(b, s)``, which is at least m
        exactly when ``s - width + m <= b <= e - m`` and ``e - s >= m``.
        """
        n = int(self.counts[self.sizes.ids([chrom])[0]])
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        long_enough = ends - starts >= min_overlap
        first = np.maximum(-((self.width - min_overlap - starts) // self.step), 0)  # ceil division
        last = np.minimum((ends - min_overlap) // self.step, n - 1)
        keep = long_enough & (first <= last)
        marks = np.bincount(first[keep], minlength=n + 1)[: n + 1] \
            - np.bincount(last[keep] + 1, minlength=n + 1)[: n + 1]
        return np.cumsum(marks[:n]) > 0

    def covered_by_set(self, intervals: IntervalSet, min_overlap: int = 1) -> np.ndarray:
        """Global mask of bins that an interval of the set overlaps: (total,) bool."""
        mask = np.zeros(self.total, dtype=bool)
        for name in self.sizes.names:
            starts, ends = intervals.intervals(name)
            mask[self.chrom_slice(name)] = self.covered(name, starts, ends, min_overlap)
        return mask


def _by_chrom(peaks: pd.DataFrame | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if peaks is None:
        return {}
    starts, ends = peaks["start"].to_numpy(), peaks["end"].to_numpy()
    return {name: (starts[rows], ends[rows])
            for name, rows in peaks.groupby("chrom", sort=False).indices.items()}


PeakSet = tuple[pd.DataFrame, "pd.DataFrame | None"]


def iter_chrom_labels(grid: BinGrid, peak_sets: Sequence[PeakSet],
                      chroms: Sequence[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """ENCODE-DREAM labels, one chromosome at a time.

    Parameters
    ----------
    peak_sets : one ``(conservative, relaxed or None)`` pair of peak tables per label column.
    chroms : the chromosomes to label, in order (default: all of ``grid.sizes``).

    Yields
    ------
    (chromosome, labels): labels is (n_bins_of_chrom, len(peak_sets)) uint8 of ``LABEL_U`` /
    ``LABEL_A`` / ``LABEL_B``, rows in bin order.
    """
    grouped = [(_by_chrom(conservative), _by_chrom(relaxed)) for conservative, relaxed in peak_sets]
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for name in chroms if chroms is not None else grid.sizes.names:
        n_bins = int(grid.counts[grid.sizes.ids([name])[0]])
        labels = np.empty((n_bins, len(peak_sets)), dtype=np.uint8)
        for column, (conservative, relaxed) in enumerate(grouped):
            cons = conservative.get(name, empty)
            bound = grid.covered(name, *cons, grid.min_overlap)
            near = relaxed.get(name, empty)
            touched = grid.covered(name, np.concatenate([cons[0], near[0]]),
                                   np.concatenate([cons[1], near[1]]), 1)
            labels[:, column] = np.where(bound, LABEL_B, np.where(touched, LABEL_A, LABEL_U))
        yield name, labels


def label_bins(grid: BinGrid, peak_sets: Sequence[PeakSet]) -> np.ndarray:
    """Labels of every bin of the grid: (grid.total, len(peak_sets)) uint8 (see iter_chrom_labels)."""
    labels = np.empty((grid.total, len(peak_sets)), dtype=np.uint8)
    for name, chrom_labels in iter_chrom_labels(grid, peak_sets):
        labels[grid.chrom_slice(name)] = chrom_labels
    return labels


def make_blacklist(blacklist: IntervalSet, sizes: ChromSizes, flank: int) -> IntervalSet:
    """FactorNet's blacklist: regions widened by ``flank`` (= L) on both sides, plus the first and
    last ``flank`` bp of every chromosome of ``sizes``."""
    names = list(sizes.names)
    lengths = np.asarray(sizes.lengths, dtype=np.int64)
    chrom_ends = IntervalSet.from_arrays(
        names + names, np.concatenate([np.zeros(len(names), np.int64), np.maximum(lengths - flank, 0)]),
        np.concatenate([np.minimum(flank, lengths), lengths]))
    inside = IntervalSet({name: blacklist.intervals(name) for name in names})
    return inside.widen(flank, sizes).union(chrom_ends)


#: the blacklist value that says, explicitly, "no blacklist"
NO_BLACKLIST = "none"
NO_BLACKLIST_WARNING = ("no blacklist given: only the chromosome ends are left out (the original "
                        "always applied FactorNet's blacklist; give 'none' to say this is intended)")


def read_blacklist(path: str | os.PathLike | None, sizes: ChromSizes, flank: int) -> IntervalSet:
    """FactorNet's blacklist (:func:`make_blacklist`) from a BED of regions.

    The original always applied one. ``path`` None (not given) applies only the chromosome ends
    and says so in one warning; :data:`NO_BLACKLIST` ("none") does the same, deliberately, silently.
    """
    if path is None:
        logger.warning(NO_BLACKLIST_WARNING)
    regions = IntervalSet({}) if path is None or str(path) == NO_BLACKLIST else \
        IntervalSet.read(path, sizes)
    return make_blacklist(regions, sizes, flank)


def write_label_table(path: str | os.PathLike, grid: BinGrid, chroms: Sequence[str],
                      column_names: Sequence[str], peak_sets: Sequence[PeakSet],
                      overwrite: bool = False, skip: IntervalSet | None = None,
                      chunk_rows: int = 1 << 20) -> int:
    """Write an ENCODE-DREAM label file: gzipped TSV, header ``chr start stop <columns>``.

    One row per bin of ``chroms`` (chromosome order, then position) except bins touching ``skip``
    (e.g. the blacklist, as in the challenge's test regions), one B/U/A column per peak set;
    streamed one chromosome at a time and written safely
    (:func:`~fiddle_factornet.runs.outputs.safe_output`). Returns the number of rows.
    """
    with safe_output(path, overwrite) as tmp:
        return _write_label_rows(tmp, path, grid, chroms, column_names, peak_sets, skip, chunk_rows)


def _write_label_rows(tmp: Path, path, grid: BinGrid, chroms: Sequence[str],
                      column_names: Sequence[str], peak_sets: Sequence[PeakSet],
                      skip: IntervalSet | None = None, chunk_rows: int = 1 << 20) -> int:
    rows = 0
    with gzip.open(tmp, "wb", compresslevel=4) as out:
        out.write(("\t".join(["chr", "start", "stop", *column_names]) + "\n").encode())
        for name, labels in iter_chrom_labels(grid, peak_sets, chroms):
            starts = np.arange(len(labels), dtype=np.int64) * grid.step
            if skip is not None:
                kept = ~skip.overlaps(name, starts, starts + grid.width)
                starts, labels = starts[kept], labels[kept]
            letters = LABEL_LETTERS[labels]
            for lo in range(0, len(labels), chunk_rows):
                part = slice(lo, lo + chunk_rows)
                chrom = np.full(len(starts[part]), name.encode(), dtype=f"S{len(name.encode())}")
                out.write(format_rows([chrom, starts[part], starts[part] + grid.width,
                                       *(letters[part, j] for j in range(labels.shape[1]))]))
            rows += len(labels)
            logger.info("%s: %s labelled (%d bins)", path, name, len(labels))
    return rows


def write_label_files(input_dirs: Sequence[str | os.PathLike], output: str | os.PathLike,
                      genome: str | os.PathLike, factor: str | None = None,
                      chroms: Sequence[str] | None = None, autosomes_x: bool = True,
                      allow_missing_relaxed: bool = False, overwrite: bool = False) -> Path:
    """Label files of cell-type folders, with their run record.

    With ``factor``: one file ``output`` with a column per cell type (and ``output``.run.json).
    Without: one folder ``output`` holding ``<TF>.labels.tsv.gz`` for every TF of the one folder
    given, and run.json. ``genome``: chromosome sizes (a chrom.sizes file, a .fai or the FASTA);
    ``chroms``: the chromosomes to label, in order (default: all, autosomes and X only with
    ``autosomes_x``). Returns ``output``.
    """
    sizes = load_chrom_sizes(genome)
    if autosomes_x:
        sizes = sizes.autosomes_and_x()
    chroms = sizes.select(chroms).names if chroms else sizes.names
    folders = [CellTypeFolder.read(d, allow_missing_relaxed, need_bigwigs=False)
               for d in input_dirs]
    if factor is None and len(folders) != 1:
        raise InputError("labelling several cell-type folders needs the TF to label",
                         setting="factor")
    record = RunRecord("factornet labels", {
        "input_dirs": [absolute(d) for d in input_dirs], "output": absolute(output),
        "genome": absolute(genome), "factor": factor, "chroms": list(chroms),
        "autosomes_x": autosomes_x, "allow_missing_relaxed": allow_missing_relaxed,
        "overwrite": overwrite})
    inputs = [genome, *(path for folder in folders for path in folder.files)]
    grid = BinGrid(sizes)
    names = [folder.name for folder in folders]

    def label(path: Path, written_as: Path, tf: str) -> None:
        rows = _write_label_rows(path, written_as, grid, chroms, names,
                                 [folder.peaks(tf, sizes) for folder in folders])
        logger.info("wrote %s: %d bins x %d cell types (%s)", written_as, rows, len(folders), tf)

    output = Path(output)
    if factor is not None:
        with recorded_outputs([output], record, overwrite, inputs) as (tmp,):
            label(tmp, output, factor)
    else:
        with safe_output(output, overwrite, inputs) as tmp:
            tmp.mkdir()
            for tf in folders[0].tfs:
                label(tmp / f"{tf}.labels.tsv.gz", output / f"{tf}.labels.tsv.gz", tf)
            record.write(tmp / RECORD_NAME)
    return output
