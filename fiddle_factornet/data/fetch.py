"""Fetch the public files that ``data_manifest.txt`` lists: resumable, verified, atomic downloads.

The manifest is a tab-separated table (``#`` starts a comment line) with the columns name, group,
url, size_bytes, md5, destination and note; ``-`` marks an unknown size or md5. Each download goes
to ``<destination>.partial`` and is renamed into place only once its size and md5 (where known)
match. An existing ``.partial`` is continued with an HTTP Range request; a server that answers with
the whole file instead is read from the start. A connection dropped in the middle of a file is
resumed (``retries`` times). A file already in place and valid is not fetched again. Entries whose
note starts with ``login:`` (Synapse) or ``manual:`` (a web page) are not downloaded: their result
carries the instruction to get them. Entries sharing a url are fetched once; the other destinations
become symbolic links to that copy.

Failures (unreachable host, HTTP error, checksum mismatch, full disk) are one line each in the
file's result; the other files are still fetched.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from tqdm.auto import tqdm

from .. import __version__
from ..errors import InputError
from .files import require_file

logger = logging.getLogger(__name__)

COLUMNS = ("name", "group", "url", "size_bytes", "md5", "destination", "note")
UNKNOWN = "-"
#: the word that selects every entry
ALL = "all"
#: note prefixes of the entries that are not downloaded
LOGIN, MANUAL = "login:", "manual:"
#: hosts that serve web pages, not files: their entries must be marked login: or manual:
PAGE_HOSTS = ("synapse.org", "drive.google.com")
CHUNK = 1 << 20
USER_AGENT = f"fiddle_factornet/{__version__} (ffn-fetch)"
MD5_PATTERN = re.compile(r"[0-9a-f]{32}")
SYNAPSE_ID = re.compile(r"\bsyn\d+\b")
#: what reading a response raises when the connection breaks in the middle of a file
DROPPED = (http.client.IncompleteRead, ConnectionError, TimeoutError, socket.timeout)


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the manifest; ``size`` and ``md5`` are None when unknown."""

    name: str
    group: str
    url: str
    size: int | None
    md5: str | None
    destination: str
    note: str = ""

    @property
    def access(self) -> str:
        """``download``, ``login`` (behind a login) or ``manual`` (a web page)."""
        if self.note.startswith(LOGIN):
            return "login"
        if self.note.startswith(MANUAL):
            return "manual"
        return "download"

    def path(self, root: str | os.PathLike) -> Path:
        """Where the file goes under ``root``."""
        return Path(root) / self.destination

    def instruction(self, root: str | os.PathLike) -> str | None:
        """How to get a file that is not downloaded here (None for a download)."""
        target = self.path(root)
        if self.access == "login":
            synapse = SYNAPSE_ID.search(self.url)
            if synapse:
                return (f"synapse get {synapse.group()} --downloadLocation {target.parent} "
                        f"(synapseclient, after `synapse login`; the file must end up as {target}) "
                        f"or download {self.url} in a browser")
            return f"sign in at {self.url} and save the file as {target}"
        if self.access == "manual":
            return f"{self.note[len(MANUAL):].strip()} ({self.url}; put it at {target})"
        return None


@dataclass
class FileResult:
    """What became of one entry: ``status`` is fetched, linked, present, login, manual or failed;
    ``transferred``: bytes downloaded in this run; ``message``: the error or the instruction;
    ``setting``: the parameter that would change the outcome, if one would."""

    entry: ManifestEntry
    status: str
    path: Path
    transferred: int = 0
    message: str = ""
    setting: str | None = None


@dataclass
class FetchSummary:
    """The results of one :func:`fetch_entries` call, in manifest order."""

    results: list[FileResult] = field(default_factory=list)

    def of(self, status: str) -> list[FileResult]:
        return [result for result in self.results if result.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.of("failed")

    @property
    def transferred(self) -> int:
        return sum(result.transferred for result in self.results)

    def text(self, setting_flags: Mapping[str, str] | None = None) -> str:
        """The summary: one count line, then each file to get by hand and each failure
        (``setting_flags``: parameter -> the option that sets it, named after a failure)."""
        setting_flags = setting_flags or {}
        counts = [f"fetched {len(self.of('fetched'))} ({human_size(self.transferred)})",
                  f"linked {len(self.of('linked'))}",
                  f"already present {len(self.of('present'))}",
                  f"needs login {len(self.of('login'))}",
                  f"manual {len(self.of('manual'))}",
                  f"failed {len(self.failed)}"]
        lines = ["summary: " + ", ".join(counts)]
        for status, title in (("login", "needs login"), ("manual", "to get by hand"),
                              ("failed", "failed")):
            for result in self.of(status):
                hint = setting_flags.get(result.setting) if result.setting else None
                lines.append(f"{title}: {result.entry.name}: {result.message}"
                             + (f" (see {hint})" if hint else ""))
        return "\n".join(lines) + "\n"


class FetchError(Exception):
    """A download that failed: a one-line message."""


class _Dropped(Exception):
    """The connection broke in the middle of a file (what was received is in the .partial)."""

    def __init__(self, position: int, received: int):
        super().__init__(position, received)
        self.position, self.received = position, received


def human_size(n: int | None) -> str:
    """``1.5 MB`` (decimal units); ``-`` for None."""
    if n is None:
        return UNKNOWN
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000:
            break
    return f"{value:.1f} {unit}"


def default_manifest() -> Path:
    """The ``data_manifest.txt`` of the source checkout this package runs from."""
    import fiddle_factornet

    path = Path(fiddle_factornet.__file__).resolve().parents[1] / "data_manifest.txt"
    if not path.is_file():
        raise InputError(f"{path}: no data_manifest.txt beside this installation of the package "
                         "(give the manifest's path)", setting="manifest")
    return path


# ---------------------------------------------------------------------------------------------
# the manifest


def _optional(value: str) -> str | None:
    return None if value == UNKNOWN else value


def _parse_line(fields: list[str], where: str) -> ManifestEntry:
    name, group, url, size, md5, destination, note = fields
    for column, value in (("name", name), ("group", group)):
        if not value or re.search(r"[\s,]", value):
            raise InputError(f"{where}: bad {column} {value!r} (empty, or holds a space or comma)")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"{where}: bad url {url!r} (an http or https address is needed)")
    if size != UNKNOWN and not size.isdigit():
        raise InputError(f"{where}: bad size_bytes {size!r} (a number of bytes, or - when unknown)")
    if md5 != UNKNOWN and not MD5_PATTERN.fullmatch(md5):
        raise InputError(f"{where}: bad md5 {md5!r} (32 lower-case hex digits, or - when unknown)")
    dest = Path(destination)
    if not destination or dest.is_absolute() or ".." in dest.parts or "{" in destination:
        raise InputError(f"{where}: bad destination {destination!r} (a relative path without "
                         "'..' or placeholders)")
    entry = ManifestEntry(name, group, url, None if size == UNKNOWN else int(size), _optional(md5),
                          destination, note)
    host = parsed.hostname or ""
    if entry.access == "download" and any(host == page or host.endswith("." + page)
                                          for page in PAGE_HOSTS):
        raise InputError(f"{where}: {url} is a web page, not a file: start the note with "
                         f"'{LOGIN}' or '{MANUAL}'")
    return entry


def read_manifest(path: str | os.PathLike) -> list[ManifestEntry]:
    """The entries of a manifest file; a malformed line is an InputError naming ``file:line``."""
    path = require_file(path, "manifest")
    entries: list[ManifestEntry] = []
    names: dict[str, int] = {}
    destinations: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            where = f"{path}:{number}"
            fields = line.split("\t")
            if len(fields) == len(COLUMNS) - 1:
                fields.append("")
            if len(fields) != len(COLUMNS):
                raise InputError(f"{where}: {len(fields)} tab-separated columns, expected "
                                 f"{len(COLUMNS)} ({', '.join(COLUMNS)})")
            entry = _parse_line(fields, where)
            for seen, key, column in ((names, entry.name, "name"),
                                      (destinations, os.path.normpath(entry.destination),
                                       "destination")):
                if key in seen:
                    raise InputError(f"{where}: {column} {key!r} already on line {seen[key]}")
                seen[key] = number
            entries.append(entry)
    if not entries:
        raise InputError(f"{path}: no entries")
    return entries


def groups(entries: Sequence[ManifestEntry]) -> list[str]:
    """The groups, in manifest order."""
    return list(dict.fromkeys(entry.group for entry in entries))


def select_entries(entries: Sequence[ManifestEntry], wanted: Sequence[str]) -> list[ManifestEntry]:
    """The entries named in ``wanted`` (entry names, group names or ``all``), in manifest order."""
    wanted = [word.strip() for word in wanted if word.strip()]
    known = ", ".join(groups(entries))
    if not wanted:
        raise InputError(f"nothing asked for: name entries or groups ({known}; or {ALL})")
    unknown = [word for word in wanted if word != ALL and
               not any(word in (entry.name, entry.group) for entry in entries)]
    if unknown:
        raise InputError(f"unknown name or group: {', '.join(unknown)} (groups: {known}; "
                         f"{ALL}: every entry)")
    words = set(wanted)
    return [entry for entry in entries
            if ALL in words or entry.name in words or entry.group in words]


# ---------------------------------------------------------------------------------------------
# checking files


def file_md5(path: str | os.PathLike) -> str:
    """The md5 of a file, as 32 hex digits."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mismatch(path: str | os.PathLike, entry: ManifestEntry) -> str | None:
    """None when the file's size and md5 are those of the manifest (where it knows them), else
    what differs, naming both values."""
    size = os.path.getsize(path)
    if entry.size is not None and size != entry.size:
        return f"size {size} bytes, expected {entry.size}"
    if entry.md5 is not None:
        digest = file_md5(path)
        if digest != entry.md5:
            return f"md5 {digest}, expected {entry.md5}"
    return None


def partial_path(path: Path) -> Path:
    """Where a download to ``path`` is kept until it is verified."""
    return path.with_name(path.name + ".partial")


def entry_status(entry: ManifestEntry, root: str | os.PathLike) -> str:
    """``valid`` (in place; its known size/md5 match), ``present`` (in place; nothing known to
    check), ``invalid: <what differs>``, ``partial: <bytes>``, ``missing``, ``needs login`` or
    ``manual``."""
    path = entry.path(root)
    if entry.access != "download":
        return "present" if path.exists() else {"login": "needs login"}.get(entry.access,
                                                                             entry.access)
    if path.is_file():
        if entry.size is None and entry.md5 is None:
            return "present"
        problem = mismatch(path, entry)
        return "valid" if problem is None else f"invalid: {problem}"
    partial = partial_path(path)
    if partial.is_file():
        return f"partial: {human_size(partial.stat().st_size)}"
    return "missing"


def listing(entries: Sequence[ManifestEntry], root: str | os.PathLike) -> str:
    """A table of the entries by group: name, size, status and destination under ``root``."""
    lines = []
    for group in groups(entries):
        members = [entry for entry in entries if entry.group == group]
        sizes = [entry.size for entry in members if entry.size is not None]
        unknown = len(members) - len(sizes)
        size = f"{human_size(sum(sizes))}" + (f" + {unknown} of unknown size" if unknown else "")
        lines.append(f"{group}: {len(members)} entr{'y' if len(members) == 1 else 'ies'}, "
                     + (size if sizes else "size unknown"))
        rows = [(entry.name, human_size(entry.size), entry_status(entry, root),
                 str(entry.path(root))) for entry in members]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines += ["  " + "  ".join(value.ljust(width) for value, width in zip(row, widths))
                  + "  " + row[3] for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# downloading


def _write_chunk(handle, chunk: bytes) -> None:
    handle.write(chunk)


def _open(url: str, offset: int, timeout: float):
    """The HTTP response for ``url`` from byte ``offset`` (None when the server says that the file
    has no byte ``offset``: HTTP 416); one-line FetchErrors."""
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    host = urllib.parse.urlsplit(url).netloc
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return None
        raise FetchError(f"{url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = getattr(error.reason, "strerror", None) or error.reason
        raise FetchError(f"{url}: cannot reach {host} ({reason})") from None
    except (TimeoutError, socket.timeout):
        raise FetchError(f"{url}: no answer from {host} within {timeout:g} s") from None
    except (http.client.HTTPException, ConnectionError) as error:
        raise FetchError(f"{url}: {host} broke the connection ({type(error).__name__}: "
                         f"{error})") from None


def _transfer(entry: ManifestEntry, partial: Path, progress: bool, timeout: float) -> int:
    """Download ``entry`` into ``partial``, continuing it when it exists: the bytes received."""
    offset = partial.stat().st_size if partial.exists() else 0
    response = _open(entry.url, offset, timeout)
    if response is None:  # the .partial is as long as the file, or longer: start again
        logger.info("%s: the server has no bytes past %d: starting again", entry.name, offset)
        partial.unlink()
        offset, response = 0, _open(entry.url, 0, timeout)
    with response:
        if offset and response.status == 206:
            first = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
            if first is None or int(first.group(1)) != offset:
                raise FetchError(f"{entry.url}: the server resumed at another byte than "
                                 f"{offset} ({response.headers.get('Content-Range')})")
            mode = "ab"
        else:
            if offset:
                logger.info("%s: the server sent the whole file instead of bytes %d-: starting "
                            "again", entry.name, offset)
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        length = int(length) if length is not None and length.isdigit() else None
        total = offset + length if length is not None else entry.size
        if entry.size is not None and total != entry.size:
            partial.unlink(missing_ok=True)
            raise FetchError(f"{entry.url}: the server offers {total} bytes, the manifest says "
                             f"{entry.size}")
        received = 0
        partial.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, mode) as handle, \
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=entry.name,
                     leave=False, disable=None if progress else True) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except DROPPED:
                    raise _Dropped(offset + received, received) from None
                if not chunk:
                    break
                _write_chunk(handle, chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if length is not None and received < length:
            raise _Dropped(offset + received, received)
    return received


def _download(entry: ManifestEntry, path: Path, progress: bool, retries: int,
              timeout: float) -> int:
    """Download ``entry`` to ``path`` through its .partial, verify it, rename it: the bytes
    received in this run."""
    partial = partial_path(path)
    if partial.exists() and entry.size is not None and partial.stat().st_size > entry.size:
        partial.unlink()
    received = 0
    for attempt in range(retries + 1):
        if partial.exists() and entry.size is not None and partial.stat().st_size == entry.size:
            break  # a previous run received every byte and stopped before the rename
        try:
            received += _transfer(entry, partial, progress, timeout)
            break
        except _Dropped as dropped:
            received += dropped.received
            if attempt == retries:
                raise FetchError(f"{entry.url}: the connection broke after byte {dropped.position}"
                                 f" ({retries} resumes tried); {partial} is kept: fetch again to "
                                 "resume") from None
            logger.warning("%s: the connection broke after byte %d; resuming", entry.name,
                           dropped.position)
    problem = mismatch(partial, entry)
    if problem is not None:
        partial.unlink()
        raise FetchError(f"{path}: {problem}; the download was deleted")
    os.replace(partial, path)
    return received


def _link(source: Path, path: Path) -> None:
    """Make ``path`` a relative symbolic link to ``source``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.link-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(source, path.parent), tmp)
    os.replace(tmp, path)


def _fetch_one(entry: ManifestEntry, root: Path, copies: dict[str, Path], overwrite: bool,
               progress: bool, retries: int, timeout: float) -> FileResult:
    path = entry.path(root)
    if entry.access != "download":
        if path.exists():
            return FileResult(entry, "present", path)
        return FileResult(entry, entry.access, path, message=entry.instruction(root))
    if path.exists():
        problem = mismatch(path, entry)
        if problem is None:
            copies.setdefault(entry.url, path)
            return FileResult(entry, "present", path)
        if not overwrite:
            return FileResult(entry, "failed", path, setting="overwrite", message=(
                f"{path}: exists but does not match the manifest ({problem}); left in place "
                "(it is replaced only when overwriting is asked for)"))
    source = copies.get(entry.url)
    if source is not None:
        _link(source, path)
        return FileResult(entry, "linked", path, message=f"-> {source}")
    try:
        received = _download(entry, path, progress, retries, timeout)
    except FetchError as error:
        return FileResult(entry, "failed", path, message=str(error))
    except OSError as error:
        partial = partial_path(path)
        if error.errno == errno.ENOSPC:
            kept = partial.stat().st_size if partial.exists() else 0
            message = (f"{partial}: disk full after {kept} bytes; the partial file is kept: "
                       "free some space and fetch again to resume")
        else:
            message = f"{error.filename or partial}: {error.strerror or error}"
        return FileResult(entry, "failed", path, message=message)
    copies[entry.url] = path
    return FileResult(entry, "fetched", path, transferred=received)


def fetch_entries(entries: Sequence[ManifestEntry], root: str | os.PathLike,
                  progress: bool = True, overwrite: bool = False, retries: int = 3,
                  timeout: float = 60.0) -> FetchSummary:
    """Fetch ``entries`` under ``root``: each one's result in the summary, failures as one-line
    messages (logged too). ``overwrite``: replace files in place that do not match the manifest
    (else they are left and reported); ``retries``: resumes tried after a broken connection;
    ``timeout``: seconds to wait for a server."""
    root = Path(root)
    copies: dict[str, Path] = {}
    summary = FetchSummary()
    for entry in entries:
        result = _fetch_one(entry, root, copies, overwrite, progress, retries, timeout)
        summary.results.append(result)
        if result.status == "failed":
            logger.error("%s: %s", entry.name, result.message)
        elif result.status in ("fetched", "linked"):
            logger.info("%s: %s %s", entry.name, result.status, result.path)
    return summary
