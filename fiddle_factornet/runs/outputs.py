"""Outputs that cannot hurt the user's data.

Every output (a file, a group of files, or a folder) is written under a temporary name beside its
final place and renamed when complete; an existing output is replaced only when the caller asked
for it, and only at that final step, so a failed, killed or interrupted run leaves it as it was.
An output that is, contains or lies inside one of the run's inputs is refused before any work, and
a lock file beside the output keeps a second process from writing it at the same time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import InputError
from .record import RunRecord, record_path

logger = logging.getLogger(__name__)

#: files that mark a folder as one this package wrote (and so may replace when asked to)
FOLDER_MARKERS = ("run.json", "config.json", "args.json")


def _resolved(path: str | os.PathLike) -> Path:
    return Path(path).expanduser().resolve()


def refuse_inputs(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None]) -> None:
    """Raise InputError when ``output`` is, contains or lies inside one of ``inputs``."""
    out = _resolved(output)
    given = [(source, _resolved(source)) for source in inputs if source is not None]
    for source, path in given:
        if out == path:
            raise InputError(f"{output}: the output would replace an input of this run ({source})")
    for source, path in given:
        if out in path.parents:
            raise InputError(f"{output}: the output folder contains an input of this run ({source})")
        if path in out.parents and path.is_dir():
            raise InputError(f"{output}: the output lies inside an input folder of this run "
                             f"({source})")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def output_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold ``.<name>.lock`` beside ``path`` for the block; refuse when another live process holds it.

    A lock left by a process that no longer runs (killed) on this host is taken over.
    """
    path = Path(os.path.abspath(path))
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
            except (OSError, ValueError):
                holder = {}
            if holder.get("host") == me["host"] and not _pid_alive(int(holder.get("pid", 0))):
                logger.warning("%s: taking over the lock of a run that ended without releasing it "
                               "(pid %s)", path, holder.get("pid"))
                lock.unlink(missing_ok=True)
                continue
            raise InputError(f"{path}: another run is writing this output (pid {holder.get('pid')} "
                             f"on {holder.get('host')}, since {holder.get('since')}; lock "
                             f"{lock})") from None
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
        break
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def check_replaceable(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing output unless ``overwrite``; refuse to replace a folder this package did
    not write (one without a run record), whatever ``overwrite`` says."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return path
    if not overwrite:
        raise InputError(f"{path}: output exists (it is replaced only when asked to)",
                         setting="overwrite")
    if path.is_dir() and any(path.iterdir()) and \
            not any((path / marker).is_file() for marker in FOLDER_MARKERS):
        raise InputError(f"{path}: exists and is not a folder this package wrote (no run.json); "
                         "not replaced")
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def swap_in(tmp: Path, path: Path) -> None:
    """Move the finished ``tmp`` to ``path``, replacing what is there (file or folder)."""
    if path.is_dir() and not path.is_symlink():
        old = path.with_name(f".{path.name}.replaced-{os.getpid()}")
        os.rename(path, old)
        os.rename(tmp, path)
        _remove(old)
    else:
        os.replace(tmp, path)


def check_outputs(paths: Sequence[str | os.PathLike], overwrite: bool = False,
                  inputs: Iterable[str | os.PathLike | None] = ()) -> list[Path]:
    """Refuse outputs that are, contain or lie inside an input, or that exist (unless
    ``overwrite``): the checks a run makes before any work. Returns the paths, absolute."""
    paths = [Path(os.path.abspath(p)) for p in paths]
    inputs = list(inputs)
    for path in paths:
        refuse_inputs(path, inputs)
        check_replaceable(path, overwrite)
    return paths


@contextlib.contextmanager
def safe_outputs(paths: Sequence[str | os.PathLike], overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike | None] = ()) -> Iterator[list[Path]]:
    """Write a group of output files: yields one temporary path per output, renamed into place
    together when the block succeeds (and removed when it fails).

    Checks first (before the caller does any work): no output is, contains or lies inside an
    input; existing outputs only with ``overwrite``; no other process writing them.
    """
    paths = check_outputs(paths, overwrite, inputs)
    with contextlib.ExitStack() as stack:
        for path in sorted(set(paths)):
            stack.enter_context(output_lock(path))
        for path in paths:  # re-checked under the lock: another run may have just finished
            check_replaceable(path, overwrite)
        tmps = [path.with_name(f".{path.name}.tmp-{os.getpid()}") for path in paths]
        try:
            yield tmps
            for tmp, path in zip(tmps, paths):
                if tmp.exists():
                    swap_in(tmp, path)
        except OSError as error:
            if error.filename is None:  # a write to an open file: name the output it was for
                raise OSError(error.errno, error.strerror, str(paths[0])) from error
            raise
        finally:
            for tmp in tmps:
                _remove(tmp)


@contextlib.contextmanager
def safe_output(path: str | os.PathLike, overwrite: bool = False,
                inputs: Iterable[str | os.PathLike | None] = ()) -> Iterator[Path]:
    """One output file or folder: :func:`safe_outputs` for one path (the caller makes a folder
    at the temporary path when the output is a folder)."""
    with safe_outputs([path], overwrite, inputs) as (tmp,):
        yield tmp


@contextlib.contextmanager
def recorded_outputs(paths: Sequence[str | os.PathLike], record: RunRecord,
                     overwrite: bool = False, inputs: Iterable[str | os.PathLike | None] = (),
                     record_at: str | os.PathLike | None = None) -> Iterator[list[Path]]:
    """:func:`safe_outputs` for ``paths`` plus their run record, written when they are complete
    (at ``record_at``; default ``<first output>.run.json``)."""
    record_file = Path(record_at) if record_at is not None else record_path(paths[0])
    with safe_outputs([*paths, record_file], overwrite, inputs) as tmps:
        yield tmps[:-1]
        record.update(outputs=[str(_resolved(path)) for path in paths])
        tmps[-1].write_text(record.text())
