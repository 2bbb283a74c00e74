"""BED / narrowPeak reading and interval-set arithmetic, in numpy (no bedtools).

Readers return a ``pandas.DataFrame`` with named columns (``chrom``, ``start``, ``end``, then the
BED6 / narrowPeak columns a file has); ``track``, ``browser`` and ``#`` header lines are skipped and
gzipped files are read transparently. An :class:`IntervalSet` is a per-chromosome set of merged,
sorted half-open intervals that answers overlap queries for whole arrays at once.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .files import GZIP_ERRORS, compression, gzip_error, open_text, require_file
from .genome import ChromSizes, check_chromosomes

logger = logging.getLogger(__name__)

BED_COLUMNS = ("chrom", "start", "end", "name", "score", "strand")
NARROWPEAK_COLUMNS = BED_COLUMNS + ("signal", "p_value", "q_value", "summit")
_HEADER_PREFIXES = ("track", "browser", "#")


def header_line_count(path) -> int:
    """Number of leading header (track/browser/#) or blank lines."""
    count = 0
    with open_text(path) as handle:
        for line in handle:
            if line.strip() and not line.startswith(_HEADER_PREFIXES):
                break
            count += 1
    return count


def iter_bed(path: str | os.PathLike, sizes: ChromSizes | None = None,
             chunk_rows: int = 1_000_000) -> Iterator[pd.DataFrame]:
    """Read a BED-like file (BED3+, narrowPeak; plain or gzipped) in chunks of rows.

    Yields DataFrames with columns ``chrom`` (str), ``start``, ``end`` (int64) and the further
    standard columns present (as text), plus ``line`` (1-based line number in the file). With ``sizes``,
    chromosome names are checked (see :func:`genome.check_chromosomes`), rows on dropped
    non-primary contigs are left out, and intervals past a chromosome end are refused.
    """
    path = require_file(path, "interval file")
    skip = header_line_count(path)
    try:
        reader = pd.read_csv(path, sep="\t", header=None, skiprows=skip, dtype=str,
                             chunksize=chunk_rows, compression=compression(path), na_filter=False,
                             keep_default_na=False, comment=None, engine="c")
        first_line = skip + 1
        checked: set[str] = set()
        dropped: set[str] = set()
        for chunk in reader:
            yield _parse_chunk(path, chunk, first_line, sizes, checked, dropped)
            first_line += len(chunk)
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: malformed line: {str(error).strip().splitlines()[-1]}") from error
    except GZIP_ERRORS as error:
        raise gzip_error(path, error) from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not a text file ({error})") from None


def read_bed(path: str | os.PathLike, sizes: ChromSizes | None = None) -> pd.DataFrame:
    """The whole of a BED-like file as one DataFrame (see :func:`iter_bed`); ``attrs["source"]``
    names the file."""
    chunks = list(iter_bed(path, sizes))
    if not chunks:
        table = pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype=np.int64),
                              "end": pd.Series(dtype=np.int64), "line": pd.Series(dtype=np.int64)})
    else:
        table = pd.concat(chunks, ignore_index=True)
    table.attrs["source"] = str(path)
    return table


def _parse_chunk(path, chunk: pd.DataFrame, first_line: int, sizes: ChromSizes | None,
                 checked: set[str], dropped: set[str]) -> pd.DataFrame:
    if chunk.shape[1] < 3:
        raise InputError(f"{path}: line {first_line}: expected at least 3 tab-separated columns "
                         f"(chrom, start, end), found {chunk.shape[1]}")
    names = NARROWPEAK_COLUMNS if chunk.shape[1] == len(NARROWPEAK_COLUMNS) else BED_COLUMNS
    chunk = chunk.iloc[:, :min(chunk.shape[1], len(names))]
    chunk.columns = names[:chunk.shape[1]]
    lines = np.arange(first_line, first_line + len(chunk), dtype=np.int64)
    frame = {"chrom": chunk["chrom"].to_numpy(dtype=object)}
    for column in ("start", "end"):
        values = pd.to_numeric(chunk[column], errors="coerce")
        bad = values.isna().to_numpy() | (values.to_numpy() < 0) | (values.to_numpy() % 1 != 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"{path}: line {lines[row]}: {column} {chunk[column].iloc[row]!r} "
                             "is not a non-negative integer")
        frame[column] = values.to_numpy(dtype=np.int64)
    backwards = frame["end"] < frame["start"]
    if backwards.any():
        row = int(np.argmax(backwards))
        raise InputError(f"{path}: line {lines[row]}: end {frame['end'][row]} is before start "
                         f"{frame['start'][row]}")
    for column in names[3:chunk.shape[1]]:
        frame[column] = chunk[column].to_numpy()
    frame["line"] = lines
    table = pd.DataFrame(frame)
    if sizes is not None:
        new = [name for name in pd.unique(table["chrom"]) if name not in checked]
        dropped |= check_chromosomes(path, new, sizes)
        checked.update(new)
        if dropped:
            table = table[~table["chrom"].isin(dropped)]
        chrom_len = np.asarray(sizes.lengths)[sizes.ids(table["chrom"].tolist())] \
            if len(table) else np.zeros(0, np.int64)
        past = table["end"].to_numpy() > chrom_len
        if past.any():
            row = table.iloc[int(np.argmax(past))]
            raise InputError(f"{path}: line {row['line']}: end {row['end']} is past the end of "
                             f"{row['chrom']} ({sizes.length(row['chrom'])} bp in {sizes.source})")
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class IntervalSet:
    """Merged, sorted, half-open intervals per chromosome.

    ``by_chrom[name] = (starts, ends)``, two (m,) int64 arrays with ``starts[i] < ends[i] <
    starts[i + 1]`` (touching intervals are merged).
    """

    by_chrom: Mapping[str, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def from_arrays(cls, chroms, starts, ends) -> "IntervalSet":
        """Merge intervals given as parallel arrays (chromosome names, starts, ends)."""
        chroms = np.asarray(chroms, dtype=object)
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        by_chrom = {}
        for name in pd.unique(chroms):
            keep = chroms == name
            by_chrom[name] = merge_intervals(starts[keep], ends[keep])
        return cls(by_chrom)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "IntervalSet":
        """Merge the intervals of a table with ``chrom``, ``start``, ``end`` columns."""
        return cls.from_arrays(frame["chrom"].to_numpy(), frame["start"].to_numpy(),
                               frame["end"].to_numpy())

    @classmethod
    def read(cls, path: str | os.PathLike, sizes: ChromSizes | None = None) -> "IntervalSet":
        """Merge the intervals of a BED-like file."""
        return cls.from_frame(read_bed(path, sizes))

    def __len__(self) -> int:
        return sum(len(starts) for starts, _ in self.by_chrom.values())

    def intervals(self, chrom: str) -> tuple[np.ndarray, np.ndarray]:
        """The merged (starts, ends) on ``chrom``; empty arrays when there are none."""
        empty = np.zeros(0, np.int64)
        return self.by_chrom.get(chrom, (empty, empty))

    def widen(self, by: int, sizes: ChromSizes | None = None) -> "IntervalSet":
        """Every interval widened by ``by`` bp on both sides (clipped to the chromosome), merged."""
        widened = {}
        for name, (starts, ends) in self.by_chrom.items():
            limit = sizes.length(name) if sizes is not None and name in sizes else np.iinfo(np.int64).max
            widened[name] = merge_intervals(np.maximum(starts - by, 0), np.minimum(ends + by, limit))
        return IntervalSet(widened)

    def union(self, *others: "IntervalSet") -> "IntervalSet":
        """The union of this set and ``others``."""
        sets = (self,) + others
        names = list(dict.fromkeys(itertools.chain.from_iterable(s.by_chrom for s in sets)))
        merged = {}
        for name in names:
            parts = [s.intervals(name) for s in sets]
            merged[name] = merge_intervals(np.concatenate([p[0] for p in parts]),
                                           np.concatenate([p[1] for p in parts]))
        return IntervalSet(merged)

    def overlaps(self, chrom: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Whether each query ``[start, end)`` on ``chrom`` overlaps the set by >= 1 bp: (n,) bool."""
        set_starts, set_ends = self.intervals(chrom)
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        # the first set interval ending after the query start is the only candidate
        i = np.searchsorted(set_ends, starts, side="right")
        hit = i < len(set_starts)
        hit[hit] = set_starts[i[hit]] < ends[hit]
        return hit & (ends > starts)


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping or touching half-open intervals: returns sorted (starts, ends), int64."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    first = np.flatnonzero(np.concatenate([[True], starts[1:] > reach[:-1]]))
    last = np.append(first[1:] - 1, len(starts) - 1)
    return starts[first], reach[last]


def coverage_mask(length: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(length,) bool: the bases of ``[0, length)`` inside any interval ``[start, end)``."""
    marks = np.zeros(length + 1, np.int64)
    np.add.at(marks, np.clip(starts, 0, length), 1)
    np.add.at(marks, np.clip(ends, 0, length), -1)
    return np.cumsum(marks[:length]) > 0
