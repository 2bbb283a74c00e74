"""FIDDLE's published datasets: the authors' HDF5 files, read through the pipeline's view.

**The layout**, as ueser/FIDDLE writes it (``fiddle/data_prep/create_hdf5.py``,
``data_prep.py``), reads it (``fiddle/main.py``, ``io_tools.MultiModalData``, ``analysis.py``)
and lists the published quick-start files (``fiddle/guide.ipynb``):

- One file per split, side by side in one folder: ``train.h5``, ``validation.h5``, ``test.h5``
  (``main.py`` opens ``<dataDir>/<DataName>/train.h5`` and ``validation.h5``, ``analysis.py``
  ``test.h5``; the README's download link calls the first ``training.h5``). The three are a
  random shuffle of one set of windows (validation 5 %, test 10 %; the published ones hold
  109,650 / 6,450 / 12,900 rows), so rows are in no particular order.
- One dataset per track at the file's root, named as the track's key in
  ``configurations.json`` (``dnaseq``, ``netseq``, ``mnaseseq``, ``chipseq``, ``rnaseq``,
  ``tssseq``, ``chipnexus``; the published files add ``randinp``, a random input), of shape
  (N, H, L, 1) — window, track row, position, channel — and dtype float32 (``<f4``, h5py's
  default for ``create_dataset``), L = 500. Row i of every dataset of a file is the same window.
- H = 4 for DNA: rows A, C, G, T one-hot, an N 0.25 in each row. H = 2 for a stranded track:
  row 0 the sense strand (the gene's), row 1 the antisense one. H = 1 for an unstranded one
  (RNA-seq). Every window is stored in its gene's orientation, position 0 at its 5' end: a
  minus-strand gene's window reversed, its strand rows swapped, its DNA reverse complemented
  (``fliplr`` / ``flipud(fliplr(...))`` in ``create_hdf5.py``).
- Values are raw counts, not normalised; windows holding a NaN in any track were left out when
  the files were made.
- Region info: ``info`` (N, 4) float32 in the published files — chromosome number (1-based, in
  the annotation's order: chrI = 1 ... chrXVI = 16 for sacCer3), strand (+1 / -1), gene index
  (row of the annotation), window start (0-based genome coordinate). ``create_hdf5.py`` writes
  none (``data_prep.py`` a ``quality`` class (N,) instead), so it is optional here.

**How the original read them, and so do we:** the inputs are the datasets named (as stored,
nothing normalised); the target is ``tssseq`` (``Outputs``) read with ``Strand: Single``: its
row 0 only, made a distribution when training, ``(counts + 1e-7) / sum(counts + 1e-7)``
(``models.transform_track``, Keras' ``epsilon()``; uniform for a window without reads) — where the
bigWig view (:func:`~fiddle_factornet.fiddle.view.sense_profile`) follows the paper-era code's
``counts / (sum + 1e-5)``; the two differ by far less than 1e-3. Validation is on the first
``min(N, 1000)`` rows of ``validation.h5``; the test set is every row of ``test.h5``. One
departure: ``main.py`` cycled through ``train.h5`` in file order (shuffled once when the file was
made), batches of 20, never reaching its last rows; training here goes through every row once an
epoch, reshuffled every epoch, as it does for bigWig tracks.

**Through the view:** :class:`PublishedView` gives what :class:`~.view.FiddleView` gives — an
input per track named as its dataset, (n, L, H) float32 (the transpose of a stored (H, L)
window), the target (n, L) a distribution, control inputs — reading only the batch's rows (h5py
slicing; nothing is loaded whole but the small ``info``). Its samples (:func:`file_samples`)
name a row by ``cell`` (which file of the view) and ``extras["row"]``; their coordinates come
from ``info`` (chromosomes named by their number), or, without it, are the row: chromosome
``row``, start = the row number, end = start + 1.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from ..data.samples import Samples
from ..errors import InputError
from ..pipeline import Allocate, fresh
from .view import add_controls, check_controls

logger = logging.getLogger(__name__)

#: the splits' files in the authors' folder (``main.py``'s names; the README's download link
#: calls the training file ``training.h5``)
SPLIT_FILES = {"train": ("train.h5", "training.h5"), "valid": ("validation.h5",),
               "test": ("test.h5",)}
#: the original's target (``configurations.json``: ``Outputs``)
TARGET = "tssseq"
INFO = "info"
#: Keras' ``epsilon()``, added to every count of the target before normalising (the original's)
TARGET_EPSILON = np.float32(1e-7)
#: the Samples extra naming a window's row in its file (float32: exact below 2**24 rows)
ROW = "row"
MAX_ROWS = 2 ** 24


def split_files(paths: Sequence[str | Path]) -> dict[str, Path | None]:
    """The split files named by ``paths``: the authors' folder (train.h5, validation.h5,
    test.h5), or the files TRAIN.h5, VALIDATION.h5 and optionally TEST.h5; split -> file
    (``test`` None when not given)."""
    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        found = {}
        for split, names in SPLIT_FILES.items():
            present = [folder / name for name in names if (folder / name).is_file()]
            if not present:
                raise InputError(f"{folder}: no {' or '.join(names)} (the authors' folder holds "
                                 "train.h5, validation.h5 and test.h5)", setting="hdf5")
            found[split] = present[0]
        return found
    if len(paths) not in (2, 3):
        raise InputError(f"{', '.join(map(str, paths))}: give the authors' folder (train.h5, "
                         "validation.h5, test.h5) or the files TRAIN.h5,VALIDATION.h5[,TEST.h5]",
                         setting="hdf5")
    return dict(zip(SPLIT_FILES, [*paths, None][:3]))


def open_hdf5(path: str | Path) -> h5py.File:
    """``path`` opened for reading; a missing file or one that is not HDF5 is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise InputError(f"{path}: not an HDF5 file ({reason})") from None


def _listing(handle: h5py.File) -> str:
    """The file's root datasets with their shapes, for messages."""
    items = [f"{name} {tuple(item.shape)}" for name, item in handle.items()
             if isinstance(item, h5py.Dataset)]
    return ", ".join(items) or "no datasets"


def track_layout(handle: h5py.File, path: Path,
                 names: Sequence[str]) -> tuple[int, int, dict[str, int]]:
    """Check that the datasets ``names`` of an open file are FIDDLE tracks, (N, H, L, 1) of
    numbers with one N and one L, and that ``info``, when there, is (N, 4): returns N, L and
    name -> H. Any problem is an InputError naming the file, the dataset and its shape."""
    rows = length = None
    heights = {}
    for name in names:
        item = handle.get(name)
        if not isinstance(item, h5py.Dataset):
            raise InputError(f"{path}: no dataset {name!r} (it has: {_listing(handle)})")
        shape = tuple(item.shape)
        if len(shape) != 4 or shape[3] != 1 or 0 in shape:
            raise InputError(f"{path}: dataset {name!r} has shape {shape}, not (windows, rows, "
                             "length, 1) as FIDDLE's create_hdf5.py writes a track")
        if item.dtype.kind not in "fiu":
            raise InputError(f"{path}: dataset {name!r} {shape} holds {item.dtype}, not numbers")
        if rows is None:
            rows, length = shape[0], shape[2]
        elif shape[0] != rows or shape[2] != length:
            raise InputError(f"{path}: dataset {name!r} has shape {shape}: {shape[0]} windows of "
                             f"{shape[2]} bp, where {names[0]!r} has {rows} of {length}")
        heights[name] = shape[1]
    if rows >= MAX_ROWS:
        raise InputError(f"{path}: {rows} windows, more than the {MAX_ROWS} a file can have here")
    info = handle.get(INFO)
    if info is not None and (not isinstance(info, h5py.Dataset) or tuple(info.shape) != (rows, 4)):
        raise InputError(f"{path}: {INFO!r} has shape {getattr(info, 'shape', None)}, not "
                         f"({rows}, 4) (chromosome, strand, gene, start for each window)")
    return rows, length, heights


def default_inputs(handle: h5py.File, target: str) -> tuple[str, ...]:
    """Every track-shaped (4-D) dataset of the file but the target, in the file's order."""
    return tuple(name for name, item in handle.items() if isinstance(item, h5py.Dataset)
                 and item.ndim == 4 and name != target)


def file_samples(handle: h5py.File, path: Path, cell: int, rows: int, length: int) -> Samples:
    """The first ``rows`` windows (``length`` bp) of an open file as Samples: ``cell`` the file's
    index in the view, ``extras["row"]`` the row, coordinates from ``info`` (chromosomes named by
    number) or, without it, chromosome ``row`` and start = the row number, end = start + 1."""
    row = np.arange(rows)
    if INFO not in handle:
        return Samples.build(("row",), 0, row, row + 1, 0, cell, np.zeros((rows, 0)),
                             extras={ROW: row})
    info = handle[INFO][:rows].astype(np.float64)  # (rows, 4): small, read whole
    if not np.isfinite(info).all():
        raise InputError(f"{path}: {INFO!r} holds a value that is not a number")
    numbers, chrom = np.unique(info[:, 0].astype(np.int64), return_inverse=True)
    start = info[:, 3].astype(np.int64)
    return Samples.build(tuple(str(n) for n in numbers), chrom, start, start + length, 0, cell,
                         np.zeros((rows, 0)), strand=np.where(info[:, 1] < 0, -1, 1),
                         extras={ROW: row})


def published_profile(counts: np.ndarray) -> np.ndarray:
    """(n, L) counts -> (n, L) the original's target distribution, (counts + 1e-7) / their sum
    (in place)."""
    counts += TARGET_EPSILON
    counts /= counts.sum(axis=1, keepdims=True)
    return counts


#: the authors' name of the DNA dataset (configurations.json)
DNA_DATASET = "dnaseq"


@dataclass(frozen=True)
class PublishedView:
    """FIDDLE's inputs from the authors' HDF5 files (the view protocol of
    :mod:`fiddle_factornet.pipeline`): one (n, L, H) float32 input per dataset of ``inputs``
    ((name, H) pairs), the target dataset's row 0 as a distribution (n, L), and the ``controls``
    as :class:`~.view.FiddleView` makes them. A sample's ``cell`` picks its file in ``files``,
    its ``extras["row"]`` the row; samples do not move (offsets are ignored: always 0 here)."""

    files: tuple[Path, ...]
    inputs: tuple[tuple[str, int], ...]
    target: str
    length: int = 500
    controls: tuple[str, ...] = ()
    _handles: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False,
                                  compare=False)

    @property
    def dna_inputs(self) -> tuple[str, ...]:
        """The inputs holding one-hot DNA: the authors' ``dnaseq`` dataset, when read."""
        return tuple(name for name, _ in self.inputs if name == DNA_DATASET)

    def input_shapes(self, samples: Samples) -> dict[str, tuple[int, ...]]:
        shapes = {name: (self.length, height) for name, height in self.inputs}
        shapes.update({f"control_{c}": (self.length, 1) for c in self.controls})
        return shapes

    def target_shape(self, samples: Samples) -> tuple[int, ...]:
        return (self.length,)

    def read(self, samples: Samples, offsets: np.ndarray | int = 0,
             allocate: Allocate = fresh) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Inputs and target profiles of the rows ``samples`` name, read from their files in
        increasing row order (one slice when the rows are consecutive)."""
        n, length = len(samples), self.length
        inputs = {name: allocate(name, (n, length, height), np.float32)
                  for name, height in self.inputs}
        counts = allocate("target", (n, length), np.float32)
        row = samples.extras[ROW][:, 0].astype(np.int64)
        edges = np.concatenate([[0], np.flatnonzero(np.diff(samples.cell)) + 1, [n]])
        for lo, hi in zip(edges[:-1], edges[1:]):
            if hi == lo:
                continue
            handle = self._handle(int(samples.cell[lo]))
            order = np.argsort(row[lo:hi], kind="stable")
            wanted = row[lo:hi][order]
            where = slice(wanted[0], wanted[-1] + 1) if wanted[-1] - wanted[0] == hi - lo - 1 \
                else wanted
            for name, out in inputs.items():
                out[lo:hi][order] = handle[name][where, :, :, 0].transpose(0, 2, 1)
            counts[lo:hi][order] = handle[self.target][where, 0, :, 0]
        profile = published_profile(counts)
        add_controls(inputs, self.controls, profile, np.concatenate([row, samples.cell]))
        return inputs, profile

    def _handle(self, index: int) -> h5py.File:
        """The file ``files[index]``, opened once (h5py serialises reads from several threads)."""
        with self._lock:
            if index not in self._handles:
                self._handles[index] = open_hdf5(self.files[index])
            return self._handles[index]


def open_published(files: Sequence[Path], inputs: Sequence[str], target: str | None,
                   controls: Sequence[str] = ()) -> tuple[PublishedView, list[int]]:
    """The view of the HDF5 files ``files`` (each checked: :func:`track_layout`; the inputs'
    rows and the window length the same in all) and each file's number of windows. ``inputs``:
    default every track of the first file but the target (default ``tssseq``)."""
    check_controls(controls)
    target = target or TARGET
    counts, first = [], None
    for path in files:
        with open_hdf5(path) as handle:
            names = first[1] if first else tuple(inputs) or default_inputs(handle, target)
            if first is None and not names:
                raise InputError(f"{path}: no track but the target {target!r} to take as input "
                                 f"(it has: {_listing(handle)})", setting="inputs")
            rows, length, heights = track_layout(handle, Path(path), (target, *names))
            if first is None:
                first = (Path(path), names, length, heights)
            elif (length, heights) != first[2:]:
                changed = next((n for n in names if heights[n] != first[3][n]), target)
                raise InputError(f"{path}: dataset {changed!r} is {heights[changed]} x {length}, "
                                 f"in {first[0]} {first[3][changed]} x {first[2]}")
            counts.append(rows)
    _, names, length, heights = first
    view = PublishedView(tuple(Path(p) for p in files), tuple((n, heights[n]) for n in names),
                         target, length, tuple(controls))
    return view, counts


def training_data(paths: Sequence[str | Path], inputs: Sequence[str], target: str | None,
                  controls: Sequence[str],
                  n_valid: int) -> tuple[PublishedView, dict[str, Samples]]:
    """The view of the authors' split files (:func:`split_files`) and the windows of training
    (every row of the training file) and validation (its first ``n_valid`` rows: the original's
    1000), by split ("train", "valid"); the test file, when given, is checked too."""
    files = split_files(paths)
    given = [path for path in files.values() if path is not None]
    view, counts = open_published(given, inputs, target, controls)
    parts = {}
    for cell, split in enumerate(("train", "valid")):
        rows = counts[cell] if split == "train" else min(counts[cell], n_valid)
        with open_hdf5(files[split]) as handle:
            parts[split] = file_samples(handle, files[split], cell, rows, view.length)
    logger.info("%s: %d training windows; %s: the first %d of its %d windows to validate on",
                files["train"], counts[0], files["valid"], len(parts["valid"]), counts[1])
    return view, parts


def file_rows(path: str | Path, inputs: Sequence[str], target: str | None,
              controls: Sequence[str] = ()) -> tuple[PublishedView, Samples]:
    """The view of one HDF5 file (e.g. the test split) and all its windows."""
    view, (rows,) = open_published([Path(path)], inputs, target, controls)
    with open_hdf5(path) as handle:
        return view, file_samples(handle, Path(path), 0, rows, view.length)
