"""Small file helpers: transparent gzip reading, required files, change detection.

(Outputs are written through :mod:`fiddle_factornet.runs.outputs`.)
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import zlib
from pathlib import Path

from ..errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
GZIP_SUFFIXES = (".gz", ".bgz")
#: what reading a truncated or corrupt gzip file raises (BadGzipFile is an OSError)
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def is_gzipped(path: str | os.PathLike) -> bool:
    """True when the file starts with the gzip magic bytes (plain gzip and BGZF alike)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise InputError when it is not an existing file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    return path


def compression(path: str | os.PathLike) -> str | None:
    """``"gzip"`` when the file is gzip-compressed (by its magic bytes), else None; a file named
    ``.gz`` that is not gzip-compressed is an InputError."""
    if is_gzipped(path):
        return "gzip"
    if Path(path).suffix in GZIP_SUFFIXES:
        raise InputError(f"{path}: not a gzip file, though its name ends in {Path(path).suffix}")
    return None


def gzip_error(path: str | os.PathLike, error: Exception) -> InputError:
    """The InputError for a gzip file whose decompression failed with ``error``."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(f"{path}: truncated or corrupt gzip file ({detail})")


def _naming_file(method):
    """A GzipFile method whose decompression errors are InputErrors naming the file."""
    @functools.wraps(method)
    def checked(self, *args):
        try:
            return method(self, *args)
        except GZIP_ERRORS as error:
            raise gzip_error(self.name, error) from None
    return checked


class _GzipReader(gzip.GzipFile):
    """A GzipFile whose decompression errors are InputErrors naming the file."""

    read = _naming_file(gzip.GzipFile.read)
    read1 = _naming_file(gzip.GzipFile.read1)
    peek = _naming_file(gzip.GzipFile.peek)
    readline = _naming_file(gzip.GzipFile.readline)


def open_text(path: str | os.PathLike) -> io.TextIOBase:
    """Open a plain or gzipped text file for reading (see :func:`compression`); a truncated or
    corrupt gzip file is an InputError when read."""
    path = require_file(path)
    if compression(path):
        return io.TextIOWrapper(_GzipReader(path, "rb"), encoding="ascii", errors="replace")
    return open(path, "rt", encoding="ascii", errors="replace")


def file_signature(path: str | os.PathLike) -> dict:
    """What identifies a version of a file for caching: absolute path, size, mtime (ns)."""
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
