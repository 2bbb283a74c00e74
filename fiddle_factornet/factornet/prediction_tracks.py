"""Genome-browser tracks of bin scores (predictions, bagged predictions): bigWig and bedGraph.

**The rule.** Each 50 bp step carries the score of the bin centred on it: a bin ``[s, e)`` covers
``[c - 25, c + 25)`` with ``c = (s + e) // 2``, so the challenge's bin ``[s, s + 200)`` covers
``[s + 75, s + 125)``; the bins of a 200/50 grid tile the genome, each base showing the score of
the bin whose centre is nearest. Bins farther apart than 50 bp (a BED of scattered regions) leave
gaps without data. Bins closer than 50 bp or off the 50 bp lattice would overlap: in genome order
each interval then ends where the next one begins (the later bin wins the bases they share; a bin
listed twice shows its later row). Intervals are clipped to the chromosome, and neighbouring
intervals with equal scores (the zeros of a blacklisted stretch) merge into one.

**The files**, as UCSC's ``bedGraphToBigWig`` and IGV expect: intervals sorted in the genome's
chromosome order, then by position, none overlapping; the bigWig's header lists every chromosome of
the genome with its size, in the genome's order, and it carries zoom levels; the bedGraph (gzipped
when its name ends in ``.gz``; no track line) holds the same intervals as ``chrom start end
score``, scores with the submission's significant digits. Rows may come in any order, chunk by
chunk: they wait on disk, one file per chromosome beside the output, until the track is written one
chromosome at a time, so memory holds one chromosome's bins. Gzipped files carry neither a name nor
a time in their header (:func:`gzip_output`): the same rows give the same bytes.

**Shards** (:mod:`~.shards`): the track of a shard of the bins holds that shard's intervals alone;
the tracks of consecutive shards merge into the whole one (:func:`tile` over their intervals) when
on every chromosome the later shards' bins lie after the earlier ones' (:meth:`TrackRows.centres`
says where each shard's bins lie).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pyBigWig

from ..data.genome import ChromSizes
from ..data.tables import format_rows, scientific
from .bins import BIN_STEP

#: the width each bin's score covers, centred on the bin
TRACK_STEP = BIN_STEP
#: intervals handed to pyBigWig or formatted at once
_WRITE_ROWS = 1 << 20


@contextlib.contextmanager
def gzip_output(path: str | os.PathLike) -> Iterator[gzip.GzipFile]:
    """A gzip file written at ``path`` (level 4), its header without a file name or a time, so
    that the same content always gives the same bytes."""
    with open(path, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", compresslevel=4, fileobj=raw, mtime=0) as out:
        yield out


def tile(start: np.ndarray, end: np.ndarray,
         score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals sorted by start (m,) each, made a track: each ends where the next begins at the
    latest, empty ones dropped, touching neighbours with equal scores joined."""
    end = end.copy()
    end[:-1] = np.minimum(end[:-1], start[1:])
    kept = end > start
    start, end, score = start[kept], end[kept], score[kept]
    joined = (start[1:] == end[:-1]) & (score[1:] == score[:-1])
    first = np.append(True, ~joined)
    last = np.append(~joined, True)
    return start[first], end[last], score[first]


class TrackRows:
    """Bin scores collected for a track, kept on disk per chromosome in ``folder``; the count of
    intervals written, ``written``, is set once the track is (:func:`score_tracks`)."""

    def __init__(self, sizes: ChromSizes, folder: Path):
        self.sizes, self.folder = sizes, folder
        self._seen = np.zeros(len(sizes), dtype=bool)
        self._lowest = np.full(len(sizes), np.iinfo(np.int64).max)
        self._highest = np.full(len(sizes), np.iinfo(np.int64).min)
        self.written: int | None = None

    def _files(self, chrom_id: int) -> tuple[Path, Path]:
        return self.folder / f"{chrom_id}.centre", self.folder / f"{chrom_id}.score"

    def add(self, chrom: np.ndarray, start: np.ndarray, end: np.ndarray, score: np.ndarray) -> None:
        """Bins (n,) each: ``chrom`` indices into ``sizes``, ``start``, ``end``, ``score``."""
        centre = (np.asarray(start, np.int64) + np.asarray(end, np.int64)) // 2
        score = np.asarray(score, np.float32)
        for cid in np.unique(chrom):
            rows = chrom == cid
            for path, values in zip(self._files(int(cid)), (centre[rows], score[rows])):
                with open(path, "ab") as handle:
                    values.tofile(handle)
            self._lowest[cid] = min(self._lowest[cid], centre[rows].min())
            self._highest[cid] = max(self._highest[cid], centre[rows].max())
        self._seen[np.unique(chrom)] = True

    def centres(self) -> dict[str, list[int]]:
        """Per chromosome with bins, in the genome's order: its bins' lowest and highest centre."""
        return {self.sizes.names[cid]: [int(self._lowest[cid]), int(self._highest[cid])]
                for cid in np.flatnonzero(self._seen)}

    def intervals(self) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """Per chromosome with bins, in the genome's order: its name, the starts, ends (m,) int64
        and scores (m,) float32 of the track's intervals (see the module docstring)."""
        for cid in np.flatnonzero(self._seen):
            centre_file, score_file = self._files(int(cid))
            centre = np.fromfile(centre_file, np.int64)
            score = np.fromfile(score_file, np.float32)
            order = np.argsort(centre, kind="stable")
            centre, score = centre[order], score[order]
            size = self.sizes.lengths[cid]
            start = np.clip(centre - TRACK_STEP // 2, 0, size)
            end = np.clip(centre - TRACK_STEP // 2 + TRACK_STEP, 0, size)
            yield (self.sizes.names[cid], *tile(start, end, score))


Intervals = Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]]


def write_bigwig_track(path: str | os.PathLike, sizes: ChromSizes, intervals: Intervals) -> int:
    """The bigWig of ``intervals`` (per chromosome, in ``sizes``' order: its name, starts, ends
    and scores, (m,) each; header: the genome's chromosomes and sizes; zoom levels). Returns the
    number of intervals."""
    handle = pyBigWig.open(str(path), "w")
    written = 0
    try:
        handle.addHeader(list(zip(sizes.names, sizes.lengths)))
        for name, start, end, score in intervals:
            for lo in range(0, len(start), _WRITE_ROWS):
                part = slice(lo, lo + _WRITE_ROWS)
                handle.addEntries([name] * len(start[part]), start[part], ends=end[part],
                                  values=score[part].astype(np.float64))
            written += len(start)
    finally:
        handle.close()
    return written


def write_bedgraph_track(path: str | os.PathLike, intervals: Intervals, score_digits: int,
                         compress: bool = False) -> int:
    """The bedGraph of ``intervals`` (as :func:`write_bigwig_track`), gzipped with ``compress``.
    Returns the number of intervals."""
    written = 0
    with (gzip_output(path) if compress else open(path, "wb")) as out:
        for name, start, end, score in intervals:
            label = np.bytes_(name.encode())
            for lo in range(0, len(start), _WRITE_ROWS):
                part = slice(lo, lo + _WRITE_ROWS)
                out.write(format_rows([np.full(len(start[part]), label), start[part], end[part],
                                       scientific(score[part], score_digits)]))
            written += len(start)
    return written


@contextlib.contextmanager
def score_tracks(sizes: ChromSizes, bigwig: Path | None, bedgraph: Path | None,
                 score_digits: int, compress_bedgraph: bool = False) -> Iterator[TrackRows | None]:
    """Collect bin scores (:meth:`TrackRows.add`) in the block, then write them as a bigWig at
    ``bigwig`` and/or a bedGraph at ``bedgraph`` (gzipped with ``compress_bedgraph``); None skips
    one. Yields None when neither is asked for."""
    if bigwig is None and bedgraph is None:
        yield None
        return
    beside = Path(bigwig if bigwig is not None else bedgraph)
    with tempfile.TemporaryDirectory(prefix=f".{beside.name}.rows-", dir=beside.parent) as folder:
        rows = TrackRows(sizes, Path(folder))
        yield rows
        if bigwig is not None:
            rows.written = write_bigwig_track(bigwig, sizes, rows.intervals())
        if bedgraph is not None:
            rows.written = write_bedgraph_track(bedgraph, rows.intervals(), score_digits,
                                                compress_bedgraph)
