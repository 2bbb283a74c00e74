"""FIDDLE's track manifest: which tracks exist, their role and kind, and their files.

A tab-separated file with a header ``name  role  kind  files``, one track a line:

- ``role``: ``input`` (fed to the model), ``target`` (predicted; exactly one), ``replicate`` (a
  second measurement of the target, scored as if it were a prediction);
- ``kind``: ``dna`` (one-hot sequence; ``files`` is the FASTA), ``stranded`` (``files`` is two
  bigWigs, plus strand then minus strand, comma-separated), ``merged`` (one bigWig);
- ``files``: paths relative to the manifest's folder.

Example: the demo's ``fiddle/tracks.tsv``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..data.genome import ChromSizes, Genome
from .view import FIDDLE_DNA_N, FiddleView, check_controls
from ..pipeline import TrackInput
from ..data.samples import Samples
from ..data.tracks import TrackSet, open_bigwig

logger = logging.getLogger(__name__)

ROLES = ("input", "target", "replicate")
#: what to do with a window holding a missing value (NaN stored in a bigWig): the original's
#: ``skip`` (leave the window out) or ``zero`` (read NaN as 0, as an uncovered base)
MISSING = ("skip", "zero")
KINDS = {"dna": 1, "stranded": 2, "merged": 1}  # kind -> number of files


@dataclass(frozen=True)
class Track:
    """One line of the manifest, its files resolved."""

    name: str
    role: str
    kind: str
    files: tuple[Path, ...]


@dataclass(frozen=True)
class TrackManifest:
    path: Path
    tracks: tuple[Track, ...]
    #: tracks left out by a lenient read (``require_all=False``) for a missing file: name ->
    #: (line, file)
    absent: tuple[tuple[str, int, Path], ...] = ()

    @classmethod
    def read(cls, path: str | os.PathLike | None, require_all: bool = True) -> "TrackManifest":
        """Read and check a manifest; every problem is an InputError naming the file and line.

        ``require_all=False`` (inference: only a model's inputs are read) leaves out, instead of
        refusing, a track whose files are missing, and does not require a target. ``path`` None
        (a model trained from the authors' HDF5 datasets records no manifest) is an InputError."""
        if path is None:
            raise InputError("no track manifest given (a model trained from HDF5 datasets names "
                             "none: give one naming its inputs' tracks)", setting="manifest")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: track manifest not found")
        lines = path.read_text().splitlines()
        if not lines or lines[0].split("\t") != ["name", "role", "kind", "files"]:
            raise InputError(f"{path}: line 1: expected the header 'name<TAB>role<TAB>kind<TAB>files'")
        tracks, absent = [], []
        for line_no, line in enumerate(lines[1:], 2):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 4:
                raise InputError(f"{path}: line {line_no}: expected 4 tab-separated columns")
            name, role, kind, files = fields
            if role not in ROLES:
                raise InputError(f"{path}: line {line_no}: role {role!r} is not one of {', '.join(ROLES)}")
            if kind not in KINDS:
                raise InputError(f"{path}: line {line_no}: kind {kind!r} is not one of "
                                 f"{', '.join(KINDS)}")
            paths = tuple(path.parent / f for f in files.split(","))
            if len(paths) != KINDS[kind]:
                raise InputError(f"{path}: line {line_no}: a {kind} track takes {KINDS[kind]} "
                                 f"file(s), found {len(paths)}")
            if kind == "dna" and role != "input":
                raise InputError(f"{path}: line {line_no}: DNA can only be an input")
            if any(t.name == name for t in tracks) or any(a[0] == name for a in absent):
                raise InputError(f"{path}: line {line_no}: track name {name!r} appears twice")
            missing = [p for p in paths if not p.is_file()]
            if missing and require_all:
                raise InputError(f"{path}: line {line_no}: {missing[0]} not found")
            if missing:
                absent.append((name, line_no, missing[0]))
                logger.info("%s: line %d: track %r left out (%s not found)", path, line_no, name,
                            missing[0])
                continue
            tracks.append(Track(name, role, kind, paths))
        if require_all and sum(t.role == "target" for t in tracks) != 1:
            raise InputError(f"{path}: exactly one track must have the role 'target'")
        return cls(path, tuple(tracks), tuple(absent))

    @property
    def files(self) -> tuple[Path, ...]:
        """The manifest and every file it names: a run's inputs."""
        return (self.path, *(f for track in self.tracks for f in track.files))

    def track(self, name: str) -> Track:
        for track in self.tracks:
            if track.name == name:
                return track
        for absent, line_no, missing in self.absent:
            if absent == name:
                raise InputError(f"{self.path}: line {line_no}: {missing} not found")
        raise InputError(f"{self.path}: no track named {name!r} "
                         f"(it has: {', '.join(t.name for t in self.tracks)})")

    def has(self, name: str) -> bool:
        """Whether the manifest lists the track ``name`` with its files."""
        return any(track.name == name for track in self.tracks)

    def role(self, role: str) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.role == role)


def fiddle_view(manifest: TrackManifest, inputs: Sequence[str], target: str | None = None,
                length: int = 500, cache: bool | str = True,
                controls: Sequence[str] = (), dna_n: float = FIDDLE_DNA_N,
                with_target: bool = True) -> FiddleView:
    """The pipeline's view of the named input tracks and the target (default: the manifest's)
    — or of a replicate named as ``target``, to score it as if it were a prediction — plus the
    control inputs named (``pipeline.CONTROLS``); an N in the DNA is ``dna_n`` in each row.
    ``with_target=False``: no target read (inference where it was never measured)."""
    def track_input(track: Track) -> TrackInput:
        names = [f"{track.name}_fwd", f"{track.name}_rev"] if track.kind == "stranded" else [track.name]
        return TrackInput(track.name, (TrackSet(track.files, names, cache=cache),))

    chosen = [manifest.track(name) for name in inputs]
    dna = [t for t in chosen if t.kind == "dna"]
    goal = (manifest.track(target) if target else manifest.role("target")[0]) \
        if with_target else None
    if goal is not None and goal.kind != "stranded":
        raise InputError(f"{manifest.path}: the target {goal.name!r} must be a stranded track")
    check_controls(controls)
    return FiddleView(Genome(dna[0].files[0], cache=cache) if dna else None,
                      tuple(track_input(t) for t in chosen if t.kind != "dna"),
                      track_input(goal) if goal is not None else None,
                      length, dna[0].name if dna else "dna", tuple(controls), float(dna_n))


def view_sizes(view: FiddleView) -> ChromSizes:
    """The chromosome sizes a view reads from: its genome's, else its first bigWig's."""
    if view.genome is not None:
        return view.genome.sizes
    track = (view.tracks or (view.target,))[0].per_cell[0]
    chroms = open_bigwig(track.files[0]).chroms()
    return ChromSizes(tuple(chroms), tuple(chroms.values()), str(track.files[0]))


def missing_windows(manifest: TrackManifest, target: str | None, samples: Samples, length: int,
                    only: Sequence[str] | None = None) -> np.ndarray:
    """(n,) bool: the windows of ``samples`` (length ``length``) holding a missing value, a NaN
    stored in one of the bigWigs of any input track of the manifest (all of them, not only a
    model's: the original made one dataset for all its models, so models of one study keep the
    same windows) or of the target (default: the manifest's); ``only``: the tracks named instead
    (inference: a model's inputs). One pass over each track per chromosome; the count per track
    and the total are logged."""
    if only is not None:
        tracks = [t for t in map(manifest.track, only) if t.kind != "dna"]
    else:
        goal = manifest.track(target) if target else manifest.role("target")[0]
        tracks = [t for t in manifest.role("input") if t.kind != "dna"] + [goal]
    windows = samples.windows(length)
    missing = np.zeros(len(samples), dtype=bool)
    for track in tracks:
        hit = TrackSet(track.files).missing(windows)
        if hit.any():
            logger.info("%s: %d windows hold missing values (NaN)", track.name, int(hit.sum()))
        missing |= hit
    logger.info("%d of %d windows dropped: they hold missing values (NaN) in %s",
                int(missing.sum()), len(samples), ", ".join(t.name for t in tracks))
    return missing


def drop_missing(manifest: TrackManifest, target: str | None, samples: Samples,
                 length: int) -> tuple[Samples, int]:
    """The windows of ``samples`` without a missing value (:func:`missing_windows`), and how many
    were dropped."""
    missing = missing_windows(manifest, target, samples, length)
    return samples.take(~missing), int(missing.sum())
