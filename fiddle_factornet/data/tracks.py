"""Single-nucleotide signal tracks (bigWig) read as rows for batches of windows.

A :class:`TrackSet` holds k bigWig tracks and returns float32 rows ``(n, L, k)``: NaN and uncovered
bases are 0, bases off a chromosome end are 0, and a chromosome a bigWig lacks gives zeros with one
warning naming it (:meth:`TrackSet.check_chromosomes` refuses a bigWig named for another genome:
'chr' prefixes that differ, or most chromosomes missing). An infinite value is an error naming the
file and the base. Track names ending ``_fwd``/``_rev`` form stranded pairs that swap channels under
reverse complement.

Rows come either straight from the bigWig files (windows that lie close together are read in one
call) or from an optional memory-mapped coverage cache per track. The cache stores ``float16`` by
default: 11 significant bits, so values are kept to a relative error of at most 2**-11 (0.05 %)
for |v| >= 6.1e-5 and an absolute error below 3e-8 under that; integer counts up to 2048 are
exact; values beyond 65504 cannot be stored and stop the build (use ``cache_dtype=np.float32``,
lossless, at twice the size).

Missing values: a bigWig can store NaN as a value, which is not the same as leaving a base
uncovered (bigWig's way of saying "no signal"). Rows read NaN as 0 like uncovered bases;
:meth:`TrackSet.missing` and :func:`stored_nan_intervals` tell where NaN is stored, for callers
that skip such windows instead (FIDDLE).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np
import pyBigWig

from .cache import FlatArray, cached_flat_array, gather_windows
from ..errors import InputError
from .files import require_file
from .genome import _NON_PRIMARY, ChromSizes, Windows, prefix_hint

logger = logging.getLogger(__name__)

STRAND_PAIR = {"_fwd": "_rev", "_rev": "_fwd"}
MAX_SPAN = 1 << 20  # longest stretch read from a bigWig in one call when windows are close
MERGE_GAP = 1 << 12  # windows closer than this are read in one call
#: a bigWig lacking more than this share of the chromosomes used is refused (fewer: one warning)
MISSING_CHROMOSOMES_LIMIT = 0.5


def reverse_complement_order(names: Sequence[str], source: str = "track names") -> np.ndarray:
    """Channel order of tracks under reverse complement: (k,) int, stranded pairs swapped.

    ``rows_rc = rows[:, ::-1, order]``. A ``_fwd`` track without its ``_rev`` partner (or the
    reverse) is an InputError naming ``source``.
    """
    names = list(names)
    order = np.arange(len(names))
    for i, name in enumerate(names):
        suffix = name[-4:]
        if suffix in STRAND_PAIR:
            partner = name[:-4] + STRAND_PAIR[suffix]
            if partner not in names:
                raise InputError(f"{source}: stranded track {name!r} has no partner {partner!r}")
            order[i] = names.index(partner)
    return order


def read_values(handle, chrom: str, start: int, end: int,
                path: str | os.PathLike = "bigWig file") -> np.ndarray:
    """(end - start,) float32 values of a bigWig; NaN and uncovered bases are 0 (pyBigWig gives an
    empty array for a chromosome without any data). A read that fails (a truncated or corrupt
    file) is an InputError naming ``path``."""
    try:
        values = handle.values(chrom, start, end, numpy=True)
    except RuntimeError:
        values = None
    if values is None:
        raise InputError(f"{path}: cannot read {chrom}:{start}-{end}: a truncated or corrupt "
                         "bigWig file")
    if len(values) != end - start:
        return np.zeros(end - start, np.float32)
    infinite = np.isinf(values)
    if infinite.any():
        at = int(np.argmax(infinite))
        raise InputError(f"{path}: infinite value ({values[at]}) on {chrom} at base {start + at} "
                         "(0-based); track values must be finite")
    return np.nan_to_num(values.astype(np.float32, copy=False), nan=0.0)


def stored_nan_intervals(handle, chrom: str, start: int, end: int,
                         path: str | os.PathLike = "bigWig file") -> tuple[np.ndarray, np.ndarray]:
    """Where a bigWig stores NaN values within ``[start, end)`` of ``chrom``: (m,) int64 starts
    and ends, sorted, disjoint, clipped to the range. Uncovered bases are not included (bigWig's
    convention: no entry, no signal). Read in pieces of at most MAX_SPAN bp; a read that fails is
    an InputError naming ``path``."""
    starts, ends = [], []
    for lo in range(start, end, MAX_SPAN):
        hi = min(lo + MAX_SPAN, end)
        try:
            entries = handle.intervals(chrom, lo, hi)
        except RuntimeError:
            raise InputError(f"{path}: cannot read {chrom}:{lo}-{hi}: a truncated or corrupt "
                             "bigWig file") from None
        if not entries:
            continue
        table = np.asarray(entries, dtype=np.float64).reshape(-1, 3)
        nan = np.isnan(table[:, 2])
        if nan.any():
            starts.append(np.clip(table[nan, 0], lo, hi).astype(np.int64))
            ends.append(np.clip(table[nan, 1], lo, hi).astype(np.int64))
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(starts), np.concatenate(ends)


def _index_lookup(chroms: dict[str, int]):
    """names -> (len(names),) int indices into ``chroms`` (0 for absent names, which callers mask)."""
    index = {name: i for i, name in enumerate(chroms)}
    return lambda names: np.array([index.get(name, 0) for name in names], dtype=np.int64)


def open_bigwig(path: str | os.PathLike):
    """Open a bigWig with pyBigWig; a missing or non-bigWig file is an InputError."""
    path = require_file(path, "bigWig file")
    try:
        handle = pyBigWig.open(str(path))
    except RuntimeError:
        handle = None
    if handle is None or not handle.isBigWig():
        raise InputError(f"{path}: not a bigWig file, or a truncated one")
    return handle


class TrackSet:
    """k bigWig tracks, read as rows for batches of windows.

    Parameters
    ----------
    files : the bigWig files, one per track.
    names : track names (default: file stems); ``_fwd``/``_rev`` suffixes mark stranded pairs.
    cache : serve rows from a memory-mapped coverage cache per track (built on first use, rebuilt
        when the bigWig changes) instead of decompressing bigWig blocks for every batch;
        ``"auto"``: from the caches when valid ones exist for every track, else from the bigWigs.
    cache_dtype : the cache's value type (``float16``: see the module docstring for its precision).
    sizes : the chromosomes to be read; when given, the bigWigs are checked against them
        (:meth:`check_chromosomes`) before any cache is built.
    """

    def __init__(self, files: Sequence[str | os.PathLike], names: Sequence[str] | None = None,
                 cache: bool | str = False, cache_dir: str | os.PathLike | None = None,
                 cache_dtype=np.float16, sizes: ChromSizes | None = None):
        self.files = tuple(Path(f) for f in files)
        self.names = tuple(names) if names is not None else tuple(f.stem for f in self.files)
        if len(self.names) != len(self.files):
            raise InputError(f"{len(self.files)} bigWig files but {len(self.names)} track names")
        self.rc_order = reverse_complement_order(self.names)
        self._local = threading.local()
        self._chroms = [open_bigwig(f).chroms() for f in self.files]
        self._warned: set[tuple[int, str]] = set()
        self._flats: list[FlatArray] | None = None
        self._flat_ids = [_index_lookup(chroms) for chroms in self._chroms]
        if sizes is not None:
            self.check_chromosomes(sizes)
        if cache:
            dtype = np.dtype(cache_dtype)
            flats = [cached_flat_array(f, f"cov-{dtype.name}", dtype, list(chroms),
                                       list(chroms.values()), self._chunk_reader(k, dtype),
                                       cache_dir, build=cache != "auto")
                     for k, (f, chroms) in enumerate(zip(self.files, self._chroms))]
            self._flats = flats if all(flat is not None for flat in flats) else None

    def __len__(self) -> int:
        return len(self.files)

    @property
    def chromosomes(self) -> set[str]:
        """The chromosomes every one of the bigWigs has."""
        return set.intersection(*(set(chroms) for chroms in self._chroms)) if self._chroms else set()

    def check_chromosomes(self, sizes: ChromSizes) -> "TrackSet":
        """Check every bigWig against the chromosomes used, ``sizes`` (the non-primary contigs
        among them, chrY, chrM, ``*_random``, ``chrUn*``..., do not count). Returns self.

        A used chromosome that a bigWig lacks while it holds the same name with or without 'chr',
        and a bigWig lacking more than half (:data:`MISSING_CHROMOSOMES_LIMIT`) of the used
        chromosomes, are InputErrors naming the file; a few missing chromosomes are one warning
        per bigWig (their rows are zeros).
        """
        used = [name for name in sizes.names if not _NON_PRIMARY.search(name)] or list(sizes.names)
        for k, (path, chroms) in enumerate(zip(self.files, self._chroms)):
            missing = [name for name in used if name not in chroms]
            for name in missing:
                other = name[3:] if name.startswith("chr") else "chr" + name
                if other in chroms:
                    raise InputError(f"{path}: chromosome {other!r} is not in the genome "
                                     f"({sizes.source}){prefix_hint(other, sizes)}")
            if len(missing) > MISSING_CHROMOSOMES_LIMIT * len(used):
                shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
                raise InputError(f"{path}: lacks {len(missing)} of the {len(used)} chromosomes "
                                 f"used ({shown}): a bigWig for another genome than "
                                 f"{sizes.source}?")
            if missing:
                logger.warning("%s lacks %d of the %d chromosomes used (%s): rows there are "
                               "zeros", path, len(missing), len(used), ", ".join(missing))
                self._warned.update((k, name) for name in missing)
        return self

    def _handle(self, k: int):
        """pyBigWig handle of track k for this thread (handles are not shared between threads)."""
        handles = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = [open_bigwig(f) for f in self.files]
        return handles[k]

    def _chunk_reader(self, k: int, dtype: np.dtype):
        limit = np.finfo(dtype).max

        def read(name: str, start: int, end: int) -> np.ndarray:
            values = read_values(self._handle(k), name, start, end, self.files[k])
            peak = np.abs(values).max(initial=0.0)
            if peak > limit:
                raise InputError(f"{self.files[k]}: value {peak:g} on {name} does not fit the "
                                 f"{dtype.name} track cache; use a float32 cache")
            return values.astype(dtype)
        return read

    def _present(self, k: int, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
        """For track k: per-window chromosome length (0 when absent) and a mask of windows present."""
        chroms = self._chroms[k]
        lengths = np.array([chroms.get(name, -1) for name in windows.chrom_names], dtype=np.int64)
        used = np.unique(windows.chrom)
        for cid in used[lengths[used] < 0]:
            name = windows.chrom_names[cid]
            if (k, name) not in self._warned:
                self._warned.add((k, name))
                logger.warning("%s has no chromosome %s: its rows are zeros", self.files[k], name)
        per_window = lengths[windows.chrom]
        return per_window, per_window >= 0

    def rows(self, windows: Windows, out: np.ndarray | None = None) -> np.ndarray:
        """Track rows of the windows: (n, L, k) float32."""
        if out is None:
            out = np.empty((len(windows), windows.length, len(self)), dtype=np.float32)
        for k in range(len(self)):
            chrom_len, present = self._present(k, windows)
            everywhere = bool(present.all())
            if not everywhere:
                out[~present, :, k] = 0.0
                if not present.any():
                    continue
            if self._flats is not None:
                flat = self._flats[k]
                ids = self._flat_ids[k](windows.chrom_names)[windows.chrom]
                if everywhere:
                    out[:, :, k] = flat.gather(ids, windows.start, windows.length, 0)
                else:
                    out[present, :, k] = flat.gather(ids[present], windows.start[present],
                                                     windows.length, 0)
            else:
                self._read_direct(k, windows, chrom_len, present, out)
        return out

    def _read_direct(self, k: int, windows: Windows, chrom_len: np.ndarray, present: np.ndarray,
                     out: np.ndarray) -> None:
        """Fill out[..., k] from the bigWig, one read per run of nearby windows."""
        handle = self._handle(k)
        for cid, rows, span_lo, span_hi, size in _spans(windows, chrom_len, present):
            if span_hi > span_lo:
                values = read_values(handle, windows.chrom_names[cid], span_lo, span_hi,
                                     self.files[k])
            else:
                values = np.zeros(1, np.float32)
            out[rows, :, k] = gather_windows(values, -span_lo, size, windows.start[rows],
                                             windows.length, 0.0)

    def missing(self, windows: Windows) -> np.ndarray:
        """(n,) bool: the windows holding a base where one of the tracks stores NaN (a missing
        value; see the module docstring). Read from the bigWigs (never the caches), one read per
        run of nearby windows as :meth:`rows` does; a chromosome a track lacks holds no NaN."""
        hit = np.zeros(len(windows), dtype=bool)
        for k in range(len(self)):
            chrom_len, present = self._present(k, windows)
            for cid, rows, span_lo, span_hi, _ in _spans(windows, chrom_len, present):
                if span_hi <= span_lo:
                    continue
                starts, ends = stored_nan_intervals(self._handle(k), windows.chrom_names[cid],
                                                    span_lo, span_hi, self.files[k])
                if len(starts):
                    first = windows.start[rows]
                    # NaN runs starting before the window's end minus those ending before it
                    hit[rows] |= (np.searchsorted(starts, first + windows.length, side="left")
                                  > np.searchsorted(ends, first, side="right"))
        return hit

    def reverse_complement(self, rows: np.ndarray) -> np.ndarray:
        """Rows of the reverse-complement strand: (n, L, k) -> (n, L, k), pairs swapped."""
        return rows[:, ::-1, self.rc_order]


def _spans(windows: Windows, chrom_len: np.ndarray, present: np.ndarray):
    """Runs of nearby windows of one chromosome, to read with one call each: yields (chromosome
    index, window rows (m,), first base, end base, chromosome length) for the ``present`` windows
    (``chrom_len`` (n,) per window)."""
    for cid in np.unique(windows.chrom[present]):
        rows = np.flatnonzero(present & (windows.chrom == cid))
        rows = rows[np.argsort(windows.start[rows], kind="stable")]
        size = int(chrom_len[rows[0]])
        lo = np.clip(windows.start[rows], 0, size)
        hi = np.clip(windows.start[rows] + windows.length, 0, size)
        breaks = np.flatnonzero((lo[1:] > hi[:-1] + MERGE_GAP)
                                | (lo[1:] // MAX_SPAN != lo[:-1] // MAX_SPAN)) + 1
        for span in np.split(np.arange(len(rows)), breaks):
            yield cid, rows[span], int(lo[span[0]]), int(hi[span].max()), size
