"""Memory-mapped caches of per-chromosome arrays (genome base codes, track coverage).

A cache holds one value per base for every chromosome of a source file, the chromosomes laid end
to end in one flat binary file that is memory-mapped read-only, plus a JSON sidecar that records
the source file's signature (path, size, mtime). It is built once, reused while the signature
matches, and rebuilt when the source changes. Both files are written under temporary names and
renamed when complete, the sidecar last, so a build that dies leaves no cache that looks valid.

Caches live in ``$FIDDLE_FACTORNET_CACHE`` (default ``~/.cache/fiddle_factornet``) unless a
directory is given. A cache folder that cannot be created or written is an InputError naming
it (a valid cache is still used from a read-only folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from tqdm.auto import tqdm

from ..errors import InputError
from .files import file_signature

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
CACHE_ENV = "FIDDLE_FACTORNET_CACHE"
BUILD_CHUNK = 1 << 24  # bases per read while building

#: fill_chunk(name, start, end) -> values of that chromosome slice, shape (end - start,)
ChunkReader = Callable[[str, int, int], np.ndarray]


def default_cache_dir() -> Path:
    """The cache directory: ``$FIDDLE_FACTORNET_CACHE`` or ``~/.cache/fiddle_factornet``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fiddle_factornet")


@dataclass(frozen=True)
class FlatArray:
    """Per-chromosome arrays stored end to end.

    Attributes
    ----------
    data : (total,) array, usually a read-only ``np.memmap``.
    names : chromosome names, in storage order.
    lengths : (n_chroms,) int64 chromosome lengths.
    offsets : (n_chroms,) int64 start of each chromosome in ``data``.
    """

    data: np.ndarray
    names: tuple[str, ...]
    lengths: np.ndarray
    offsets: np.ndarray

    def gather(self, ids: np.ndarray, starts: np.ndarray, length: int, fill,
               out: np.ndarray | None = None) -> np.ndarray:
        """Windows ``[start, start + length)`` of chromosomes ``ids``: (n, length) ``data.dtype``.

        ``ids`` (n,) index ``names``; ``starts`` (n,) may be negative or run past the end, where
        bases get ``fill``.
        """
        ids = np.asarray(ids, dtype=np.int64)
        return gather_windows(self.data, self.offsets[ids], self.lengths[ids], starts, length,
                              fill, out)


def gather_windows(data: np.ndarray, base, chrom_len, starts: np.ndarray, length: int, fill,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Rows ``data[base + s : base + s + length]`` for each start ``s``, vectorised.

    Parameters
    ----------
    data : (m,) values of one or more chromosomes, ``base`` being where a chromosome's position 0
        sits in ``data`` (scalar or (n,)).
    chrom_len : chromosome length(s), scalar or (n,); positions outside ``[0, chrom_len)`` get
        ``fill`` and are never read.
    starts : (n,) window starts.
    out : optional preallocated (n, length) array of ``data.dtype``.

    Returns
    -------
    (n, length) array of ``data.dtype``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    base = np.broadcast_to(np.asarray(base, dtype=np.int64), starts.shape)
    chrom_len = np.broadcast_to(np.asarray(chrom_len, dtype=np.int64), starts.shape)
    if out is None:
        out = np.empty((len(starts), length), dtype=data.dtype)
    inside = (starts >= 0) & (starts + length <= chrom_len)
    if len(data) >= length and inside.any():
        # whole rows of a no-copy view of all windows: one contiguous copy per window
        rows = slice(None) if inside.all() else np.flatnonzero(inside)
        out[rows] = sliding_window_view(data, length)[(base + starts)[rows]]
    edge = np.flatnonzero(~inside)
    if edge.size:  # windows that run off a chromosome end: per-base positions, off-end = fill
        pos = starts[edge, None] + np.arange(length, dtype=np.int64)
        off_end = (pos < 0) | (pos >= chrom_len[edge, None])
        # mode="clip" keeps off-end positions (filled below) from reading outside ``data``
        out[edge] = np.take(data, pos + base[edge, None], mode="clip")
        out[edge] = np.where(off_end, np.asarray(fill, dtype=out.dtype), out[edge])
    return out


@contextlib.contextmanager
def _writing(folder: Path, cache_dir) -> Iterator[None]:
    """Turn a failure to write the cache folder into an InputError that says how to change it."""
    try:
        yield
    except OSError as error:
        change = ("pass a writable cache folder" if cache_dir is not None else
                  f"set {CACHE_ENV} to a writable folder")
        raise InputError(f"{folder}: cannot write the cache folder ({error.strerror or error}); "
                         f"{change}, or read without a cache") from None


def _cache_paths(source: Path, kind: str, cache_dir: Path | None) -> tuple[Path, Path]:
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
    stem = directory / f"{source.name}.{key}.{kind}"
    return stem.with_name(stem.name + ".bin"), stem.with_name(stem.name + ".json")


def _open(data_path: Path, dtype: np.dtype, total: int) -> np.ndarray:
    if total == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(data_path, dtype=dtype, mode="r", shape=(total,))


def cached_flat_array(source: str | os.PathLike, kind: str, dtype, names: Sequence[str],
                      lengths: Sequence[int], read_chunk: ChunkReader,
                      cache_dir: str | os.PathLike | None = None,
                      build: bool = True) -> FlatArray | None:
    """Open the cache of ``source`` for ``kind``, building it first when missing or stale
    (with ``build=False``: None instead of building).

    Parameters
    ----------
    source : the file the cache is derived from; its signature decides staleness.
    kind : what the cache holds (e.g. ``"seq-u8"``, ``"cov-float16"``); part of the file name.
    names, lengths : the chromosomes to store and their lengths.
    read_chunk : reads values of one chromosome slice from the source, as ``dtype``.
    """
    source = Path(source)
    dtype = np.dtype(dtype)
    names = tuple(names)
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    total = int(lengths.sum())
    data_path, meta_path = _cache_paths(source, kind, cache_dir)
    expected = {"format": CACHE_FORMAT, "kind": kind, "dtype": dtype.str,
                "source": file_signature(source), "names": list(names),
                "lengths": lengths.tolist()}
    try:
        exists = meta_path.is_file() and data_path.is_file()
    except OSError:  # a folder that cannot be searched holds no cache to use
        exists = False
    if exists:
        try:
            found = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            found = None
        if found == expected and data_path.stat().st_size == total * dtype.itemsize:
            logger.debug("using cache %s", data_path)
            return FlatArray(_open(data_path, dtype, total), names, lengths, offsets)
        logger.info("cache %s is stale (source changed)", data_path)
    if not build:
        return None

    folder = data_path.parent
    tmp_data = data_path.with_name(f".{data_path.name}.tmp-{os.getpid()}")
    tmp_meta = meta_path.with_name(f".{meta_path.name}.tmp-{os.getpid()}")
    logger.info("building %s cache of %s (%d chromosomes, %.1f Mbp) in %s",
                kind, source, len(names), total / 1e6, data_path)
    try:
        with _writing(folder, cache_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if total:
                array = np.memmap(tmp_data, dtype=dtype, mode="w+", shape=(total,))
        if total:
            with tqdm(total=total, unit="bp", unit_scale=True, desc=f"cache {source.name}",
                      disable=None) as progress:
                for name, length, offset in zip(names, lengths.tolist(), offsets.tolist()):
                    for lo in range(0, length, BUILD_CHUNK):
                        hi = min(lo + BUILD_CHUNK, length)
                        array[offset + lo: offset + hi] = read_chunk(name, lo, hi)
                        progress.update(hi - lo)
        with _writing(folder, cache_dir):
            if total:
                array.flush()
                del array
            else:
                tmp_data.write_bytes(b"")
            tmp_meta.write_text(json.dumps(expected))
            os.replace(tmp_data, data_path)
            os.replace(tmp_meta, meta_path)
    finally:
        for tmp in (tmp_data, tmp_meta):
            with contextlib.suppress(OSError):  # also where the folder cannot be searched
                tmp.unlink(missing_ok=True)
    return FlatArray(_open(data_path, dtype, total), names, lengths, offsets)
