"""Small file helpers: transparent gzip reading, atomic outputs, change detection."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
from pathlib import Path
from typing import Iterator

from ..errors import InputError

GZIP_MAGIC = b"\x1f\x8b"


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


def open_text(path: str | os.PathLike) -> io.TextIOBase:
    """Open a plain or gzipped text file for reading."""
    path = require_file(path)
    if is_gzipped(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="ascii", errors="replace")
    return open(path, "rt", encoding="ascii", errors="replace")


def file_signature(path: str | os.PathLike) -> dict:
    """What identifies a version of a file for caching: absolute path, size, mtime (ns)."""
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def check_output(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing output unless ``overwrite``; return the path."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(f"{path}: output exists; pass the overwrite flag to replace it")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only when the block succeeds.

    A failure leaves neither a half-written output nor the temporary file behind.
    """
    path = check_output(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
