"""FactorNet's cell-type folder: ``bigwig.txt``, ``chip.txt`` and ``meta.txt``, read and validated.

- ``bigwig.txt``: bigWig file (relative to the folder), track name; one track a line.
- ``chip.txt``: conservative peak file, TF name, optional relaxed peak file.
- ``meta.txt``: value, feature name (e.g. gene-expression PCs); values must be finite numbers.

Each file is optional (a folder to predict on has no ``chip.txt``). Cell types used together must
have identical track names and meta names, in the same order. A conservative peak file without
peaks is an error when it is read (:meth:`CellTypeFolder.peaks`): a ChIP-seq experiment without
peaks is a mistake, not a result.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import InputError
from ..data.genome import ChromSizes
from ..data.intervals import read_bed
from ..data.tracks import reverse_complement_order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChipFiles:
    """One TF's peak files in a cell type; ``relaxed`` is None when not given (or absent and allowed)."""

    tf: str
    conservative: Path
    relaxed: Path | None


@dataclass(frozen=True)
class CellTypeFolder:
    """A validated cell-type folder; ``name`` is the folder's name."""

    path: Path
    name: str
    bigwig_files: tuple[Path, ...]
    track_names: tuple[str, ...]
    chip: tuple[ChipFiles, ...]
    meta_names: tuple[str, ...]
    meta_values: tuple[float, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        """The folder and every file it names (bigWigs, peak files): a run's inputs."""
        peaks = [p for chip in self.chip for p in (chip.conservative, chip.relaxed) if p is not None]
        return (self.path, *self.bigwig_files, *peaks)

    @classmethod
    def read(cls, path: str | os.PathLike, allow_missing_relaxed: bool = False,
             need_bigwigs: bool = True) -> "CellTypeFolder":
        """Read and validate a folder; every problem is an InputError naming the file at fault.

        ``need_bigwigs=False`` accepts bigWig files that are not there (for work on peaks only).
        ``allow_missing_relaxed``: a relaxed peak file named in chip.txt but absent is skipped with a
        warning (the conservative peaks then stand in for it) instead of being an error.
        """
        path = Path(path)
        if not path.is_dir():
            raise InputError(f"{path}: cell-type folder not found")
        bigwig = _read_table(path / "bigwig.txt", (2,), "bigWig file, track name")
        chip = _read_table(path / "chip.txt", (2, 3), "conservative peaks, TF[, relaxed peaks]")
        meta = _read_table(path / "meta.txt", (2,), "value, feature name")

        track_names = tuple(name for _, (_, name) in bigwig)
        _refuse_duplicates(path / "bigwig.txt", "track name", track_names)
        reverse_complement_order(track_names, str(path / "bigwig.txt"))
        bigwig_files = tuple(_existing(path, file, "bigwig.txt", line) if need_bigwigs else path / file
                             for line, (file, _) in bigwig)

        _refuse_duplicates(path / "chip.txt", "TF", [fields[1] for _, fields in chip])
        chip_files = []
        for line, fields in chip:
            relaxed = None
            if len(fields) == 3:
                if (path / fields[2]).is_file() or not allow_missing_relaxed:
                    relaxed = _existing(path, fields[2], "chip.txt", line)
                else:
                    logger.warning("%s: line %d: relaxed peaks %s not found; the conservative peaks "
                                   "stand in for them", path / "chip.txt", line, fields[2])
            chip_files.append(ChipFiles(fields[1], _existing(path, fields[0], "chip.txt", line),
                                        relaxed))

        meta_names = tuple(name for _, (_, name) in meta)
        _refuse_duplicates(path / "meta.txt", "feature name", meta_names)
        meta_values = []
        for line, (value, _) in meta:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise InputError(f"{path / 'meta.txt'}: line {line}: value {value!r} is not a "
                                 "finite number")
            meta_values.append(number)
        return cls(path, path.resolve().name, bigwig_files, track_names, tuple(chip_files),
                   meta_names, tuple(meta_values))

    @property
    def tfs(self) -> tuple[str, ...]:
        return tuple(entry.tf for entry in self.chip)

    def chip_for(self, tf: str) -> ChipFiles:
        """The peak files of ``tf``; InputError when chip.txt lacks it."""
        for entry in self.chip:
            if entry.tf == tf:
                return entry
        listed = ", ".join(self.tfs) or "none"
        raise InputError(f"{self.path / 'chip.txt'}: no TF {tf!r} (listed: {listed})")

    def peaks(self, tf: str, sizes: ChromSizes) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Conservative and relaxed (or None) peak tables of ``tf``, checked against ``sizes``;
        conservative peaks there must be (:func:`require_peaks`)."""
        entry = self.chip_for(tf)
        conservative = read_bed(entry.conservative, sizes)
        require_peaks(conservative, sizes)
        relaxed = read_bed(entry.relaxed, sizes) if entry.relaxed is not None else None
        return conservative, relaxed


def require_peaks(conservative: pd.DataFrame, sizes: ChromSizes | None = None) -> None:
    """An InputError naming the file (``attrs["source"]`` of :func:`read_bed`'s table) when a
    conservative peak table has no rows: an empty file, or, with ``sizes``, one whose peaks all
    lie on chromosomes outside them (which :func:`read_bed` leaves out)."""
    if len(conservative):
        return
    source = conservative.attrs.get("source", "conservative peaks")
    if sizes is not None and os.path.isfile(source) and len(read_bed(source)):
        used = ", ".join(sizes.names[:3]) + (", ..." if len(sizes) > 3 else "")
        raise InputError(f"{source}: none of its peaks lies on the chromosomes used ({used} of "
                         f"{sizes.source})")
    raise InputError(f"{source}: no peaks; a conservative peak file needs peaks (a ChIP-seq "
                     "experiment without peaks is a mistake)")


def check_consistent(folders: Sequence[CellTypeFolder]) -> None:
    """Cell types used together must share track names and meta names, in the same order."""
    first = folders[0]
    for other in folders[1:]:
        for what, file, attribute in (("track names", "bigwig.txt", "track_names"),
                                      ("meta names", "meta.txt", "meta_names")):
            if getattr(other, attribute) != getattr(first, attribute):
                raise InputError(
                    f"{other.path / file}: {what} {list(getattr(other, attribute))} differ from "
                    f"{list(getattr(first, attribute))} in {first.path / file}; cell types used "
                    "together need the same names in the same order")


def _read_table(path: Path, widths: tuple[int, ...], columns: str) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment lines of a small whitespace-separated file, as (line, fields)."""
    if not path.is_file():
        return []
    rows = []
    with open(path) as handle:
        for line_no, line in enumerate(handle, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) not in widths:
                raise InputError(f"{path}: line {line_no}: expected {columns} "
                                 f"({' or '.join(map(str, widths))} columns), found {len(fields)}")
            rows.append((line_no, fields))
    return rows


def _refuse_duplicates(path: Path, what: str, names: Sequence[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise InputError(f"{path}: {what} {name!r} appears twice")
        seen.add(name)


def _existing(folder: Path, file: str, listing: str, line: int) -> Path:
    target = folder / file
    if not target.is_file():
        raise InputError(f"{folder / listing}: line {line}: {file} not found in {folder}")
    return target
