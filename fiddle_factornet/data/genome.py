"""Chromosome sizes, genomic windows, and a FASTA genome served as base codes and one-hot rows.

Bases are stored as ``uint8`` codes A=0, C=1, G=2, T=3, N=4 (N stands for every other letter;
lowercase soft-masked bases are read as uppercase). One-hot rows are in A, C, G, T order, with N
an all-zero row; in that order the reverse complement of a one-hot window is the window reversed
along both the position and the channel axis.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pyfaidx

from .cache import FlatArray, cached_flat_array, default_cache_dir
from ..errors import InputError
from .files import open_text, require_file

logger = logging.getLogger(__name__)

BASES = "ACGT"
N_CODE = 4
#: byte value -> base code
CODE_OF_BYTE = np.full(256, N_CODE, dtype=np.uint8)
for _code, _base in enumerate(BASES):
    CODE_OF_BYTE[ord(_base)] = CODE_OF_BYTE[ord(_base.lower())] = _code
#: base code -> code of the complementary base
COMPLEMENT_CODE = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)
#: base code -> one-hot row (N -> zeros)
ONEHOT_OF_CODE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])

# Chromosome names that are not primary assembly chromosomes, dropped (with a warning) rather
# than refused when a peak or region file names them but the chromosome set does not hold them.
_NON_PRIMARY = re.compile(r"^(chr)?(Y|M|MT|EBV)$|_|^(chr)?Un|^GL|^KI|^JH", re.IGNORECASE)
_AUTOSOME_OR_X = re.compile(r"^(chr)?([0-9]+|X)$")


def encode(sequence: str | bytes) -> np.ndarray:
    """Base codes of a sequence: (len,) uint8."""
    if isinstance(sequence, str):
        sequence = sequence.encode("ascii", errors="replace")
    return CODE_OF_BYTE[np.frombuffer(sequence, dtype=np.uint8)]


def onehot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot rows of base codes: (..., L) -> (..., L, 4) in A, C, G, T order, N = zeros."""
    return ONEHOT_OF_CODE.astype(dtype, copy=False)[codes]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement along the last axis of base codes: (..., L) -> (..., L)."""
    return COMPLEMENT_CODE[codes[..., ::-1]]


def reverse_complement_onehot(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot windows: (..., L, 4) -> (..., L, 4), a copy."""
    return np.ascontiguousarray(x[..., ::-1, ::-1])


@dataclass(frozen=True)
class ChromSizes:
    """Chromosome names and lengths, in file order; ``source`` names where they came from.

    ``left_out`` holds the genome's chromosomes that a :meth:`select` left out: files may name
    them, and their rows are dropped rather than refused.
    """

    names: tuple[str, ...]
    lengths: tuple[int, ...]
    source: str = "<chromosome sizes>"
    left_out: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ChromSizes":
        """Read a chrom.sizes file or a FASTA index (.fai): name and length in the first columns."""
        names, lengths = [], []
        with open_text(path) as handle:
            for line_no, line in enumerate(handle, 1):
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                if len(fields) < 2 or not fields[1].isdigit():
                    raise InputError(f"{path}: line {line_no}: expected 'name<TAB>length', "
                                     f"got {line.rstrip()!r}")
                names.append(fields[0])
                lengths.append(int(fields[1]))
        if not names:
            raise InputError(f"{path}: no chromosomes")
        duplicated = _first_duplicate(names)
        if duplicated:
            raise InputError(f"{path}: chromosome {duplicated!r} is listed twice")
        return cls(tuple(names), tuple(lengths), str(path))

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: str) -> bool:
        return name in self._index

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def length(self, name: str) -> int:
        return self.lengths[self.ids([name])[0]]

    def ids(self, names: Sequence[str]) -> np.ndarray:
        """Indices of ``names`` in this set: (len(names),) int64; unknown name -> InputError."""
        index = self._index
        unknown = [name for name in names if name not in index]
        if unknown:
            raise InputError(f"chromosome {unknown[0]!r} is not in {self.source}"
                             f"{prefix_hint(unknown[0], self)}")
        return np.array([index[name] for name in names], dtype=np.int64)

    def select(self, names: Iterable[str]) -> "ChromSizes":
        """The chromosomes ``names``, in the order given (unknown name -> InputError)."""
        names = tuple(names)
        ids = self.ids(names)
        left_out = tuple(name for name in self.names + self.left_out if name not in set(names))
        return ChromSizes(names, tuple(self.lengths[i] for i in ids), self.source, left_out)

    def autosomes_and_x(self) -> "ChromSizes":
        """FactorNet's default chromosome set: autosomes and X (``chr1``..``chr22``, ``chrX``)."""
        return self.select(name for name in self.names if _AUTOSOME_OR_X.match(name))


def load_chrom_sizes(path: str | os.PathLike) -> ChromSizes:
    """Chromosome sizes from a chrom.sizes file, a .fai index, or a FASTA (plain or bgzipped)."""
    with open_text(path) as handle:
        is_fasta = handle.read(1) == ">"
    return Genome(path, cache=False).sizes if is_fasta else ChromSizes.read(path)


def _first_duplicate(names: Sequence[str]) -> str | None:
    seen = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def prefix_hint(name: str, sizes: ChromSizes) -> str:
    """A suggestion for ``name`` when it differs from a known chromosome only by 'chr'."""
    if "chr" + name in sizes:
        return f"; the genome calls it 'chr{name}': add the 'chr' prefix to the file's names"
    if name.startswith("chr") and name[3:] in sizes:
        return f"; the genome calls it '{name[3:]}': remove the 'chr' prefix from the file's names"
    return ""


def check_chromosomes(path: str | os.PathLike, names: Iterable[str], sizes: ChromSizes) -> set[str]:
    """Check the chromosome names a file uses against a chromosome set.

    Returns the names whose rows are to be dropped: chromosomes of the genome outside the set
    (``sizes.left_out``) and non-primary contigs (chrY, chrM, ``*_random``, chrUn...) that the set
    lacks, which FactorNet leaves out. Any other unknown name is an InputError that names the file
    and the first such chromosome, with a hint when only a 'chr' prefix differs.
    """
    dropped = set()
    for name in names:
        if name in sizes:
            continue
        hint = prefix_hint(name, sizes)
        if not hint and (name in sizes.left_out or _NON_PRIMARY.search(name)):
            dropped.add(name)
            continue
        raise InputError(f"{path}: chromosome {name!r} is not in the genome ({sizes.source}){hint}")
    if dropped:
        logger.info("%s: leaving out rows on chromosomes outside the chromosome set: %s", path,
                    ", ".join(sorted(dropped)))
    return dropped


@dataclass(frozen=True)
class Windows:
    """``n`` genomic windows of one length.

    Attributes
    ----------
    chrom_names : the chromosomes the windows refer to.
    chrom : (n,) int indices into ``chrom_names``.
    start : (n,) int64 0-based starts; a window may start before 0 or run past its chromosome.
    length : window length L in bp.
    """

    chrom_names: tuple[str, ...]
    chrom: np.ndarray
    start: np.ndarray
    length: int

    def __len__(self) -> int:
        return len(self.start)


class Genome:
    """A FASTA genome (plain or bgzipped), read through pyfaidx.

    With ``cache=True`` (default) base codes come from a memory-mapped cache of one byte per base,
    built on first use and rebuilt when the FASTA changes; with ``cache="auto"`` from that cache
    when a valid one exists, else from the FASTA; with ``cache=False`` each window is read from
    the FASTA. Either way the whole genome is never held in memory.
    """

    def __init__(self, fasta: str | os.PathLike, cache: bool | str = True,
                 cache_dir: str | os.PathLike | None = None):
        self.path = require_file(fasta, "FASTA file")
        self._fasta = _open_fasta(self.path, cache_dir)
        index = self._fasta.faidx.index
        self.sizes = ChromSizes(tuple(index), tuple(int(record.rlen) for record in index.values()),
                                str(self.path))
        self._flat: FlatArray | None = None
        if cache:
            self._flat = cached_flat_array(self.path, "seq-u8", np.uint8, self.sizes.names,
                                           self.sizes.lengths, self._read_codes, cache_dir,
                                           build=cache != "auto")

    def _read_codes(self, name: str, start: int, end: int) -> np.ndarray:
        return encode(self._fasta[name][start:end])

    def codes(self, windows: Windows, out: np.ndarray | None = None) -> np.ndarray:
        """Base codes of the windows: (n, L) uint8; bases off a chromosome end are N."""
        ids = self.sizes.ids(windows.chrom_names)[windows.chrom]
        if self._flat is not None:
            return self._flat.gather(ids, windows.start, windows.length, N_CODE, out)
        if out is None:
            out = np.empty((len(windows), windows.length), dtype=np.uint8)
        out.fill(N_CODE)
        lengths = np.asarray(self.sizes.lengths, dtype=np.int64)[ids]
        lo = np.clip(windows.start, 0, lengths)
        hi = np.clip(windows.start + windows.length, 0, lengths)
        for row, (chrom_id, a, b, start) in enumerate(zip(ids, lo, hi, windows.start)):
            if b > a:
                out[row, a - start: b - start] = self._read_codes(self.sizes.names[chrom_id], a, b)
        return out

    def onehot(self, windows: Windows, dtype=np.float32) -> np.ndarray:
        """One-hot windows: (n, L, 4) in A, C, G, T order; N and off-end bases are zero rows."""
        return onehot(self.codes(windows), dtype)

    def sequence(self, chrom: str, start: int, end: int) -> str:
        """The sequence of one interval as uppercase A/C/G/T/N letters (off-end bases are N)."""
        window = Windows((chrom,), np.zeros(1, np.int64), np.array([start], np.int64), end - start)
        return bytes(np.frombuffer(b"ACGTN", np.uint8)[self.codes(window)[0]]).decode()


def _open_fasta(path: Path, cache_dir) -> pyfaidx.Fasta:
    """pyfaidx.Fasta of ``path``; its index goes to the cache directory when the FASTA's is read-only."""
    options = dict(as_raw=True, sequence_always_upper=False, build_index=True)
    index = Path(str(path) + ".fai")
    if not index.exists() and not os.access(path.parent, os.W_OK):
        directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        options["indexname"] = str(directory / (path.name + ".fai"))
        options["gzi_indexname"] = str(directory / (path.name + ".gzi"))
    try:
        return pyfaidx.Fasta(str(path), **options)
    except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError,
            OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"{path}: cannot read as FASTA: {message}") from error
