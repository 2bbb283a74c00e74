"""One input pipeline for both model families: samples -> named numpy batches -> Keras.

The pipeline knows input specifications, not models. A *view* (the view protocol below; each
family's lives beside its model: :class:`~fiddle_factornet.factornet.view.FactorNetView`,
:class:`~fiddle_factornet.fiddle.view.FiddleView`) turns a batch of samples into named arrays:

    view.input_shapes(samples) -> {input name: shape without the batch axis}
    view.target_shape(samples) -> target shape without the batch axis
    view.read(samples, offsets, allocate) -> ({input name: (n, ...) array}, (n, ...) targets)

Views read tracks through :class:`TrackInput` (one track set per cell type) and per-sample
vectors through :class:`VectorInput`.

:func:`training_dataset` and :func:`evaluation_dataset` hand a view's batches to Keras in the form
the active backend takes best: under TensorFlow a ``tf.data.Dataset`` with an explicit signature
(batches assembled in numpy, vectorised, into per-thread reusable buffers, by parallel map calls,
and prefetched); under JAX and torch a ``keras.utils.PyDataset`` of the same batches, read ahead
by threads (:class:`NumpyBatches`), so that nothing imports TensorFlow. Training reshuffles and
re-shifts every epoch and takes each epoch's samples from the caller (fresh negatives); evaluation
keeps the order, shifts nothing and yields every sample once, the last partial batch included.
Everything depends only on the seed, the epoch and the batch number, never on the backend.

Several devices (``replicas`` > 1, :mod:`fiddle_factornet.runs.devices`): the batch size stays the
global batch, split by Keras among the replicas. A batch of b rows that does not split evenly (the
last, partial batch of a pass; any batch when the batch size is not a multiple of the replicas) is
padded to the next multiple p of ``replicas`` by repeating its last row, with sample weight 0 (JAX
shards only batch axes that divide evenly; TensorFlow would split it unevenly, and weigh the
replicas' mean losses equally). Every batch then carries sample weights: in training its b rows
weigh p / b, so that the batch's loss and gradient are the mean over its b rows, as on one
device (Keras' running means of the training loss and metrics weigh that batch's rows by p / b);
in evaluation they weigh 1, so that every (weighted) metric is exact, while Keras' mean loss over
a pass counts the padding rows as rows of loss 0, n / (n + :func:`padding_rows`) times the mean
over the n samples (the run layer scales it back). Padding rows do take part in the batch
statistics of their batch (BatchNormalization, in training). One replica: no padding, no
weights, as ever.

Under TensorFlow the dataset's auto-shard policy is ``DATA`` when there are several replicas:
``tf.distribute`` splits each global batch into one slice per replica (its *rebatching* of a
dataset whose batch size it cannot see) and, over several workers
(``MultiWorkerMirroredStrategy``), each worker keeps its replicas' slices of every global batch:
the global batch is the same as on one machine, every worker sees different rows of it (each
worker assembles the whole batch and drops the others' rows; ``FILE`` sharding does not apply,
the batches not being read from files by tf.data, and ``OFF`` would give every worker the same
rows).

An exception raised while reading a batch ends the dataset's consumer at once: later batches are
not read, and inside :func:`reader_errors` the consumer (``model.fit``, ``model.predict``, a loop
over the dataset) raises that exception itself, a file's read error as an InputError naming the
file, instead of TensorFlow's multi-line wrapper of it (under JAX and torch the exception comes
out as itself anyway). :func:`check_model_inputs` refuses a model that wants inputs the view does
not make before any batch is read.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import itertools
import math
import os
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from .data.genome import Windows
from .data.samples import Samples
from .data.tracks import TrackSet
from .errors import InputError


@dataclass(frozen=True)
class TrackInput:
    """Tracks read for every sample, one :class:`TrackSet` per cell type (the sample's ``cell``)."""

    name: str
    per_cell: tuple[TrackSet, ...]

    @property
    def width(self) -> int:
        return len(self.per_cell[0])

    @property
    def rc_order(self) -> np.ndarray:
        return self.per_cell[0].rc_order

    def read(self, windows: Windows, cells: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Track rows of the windows into ``out`` (n, L, width) float32 (a view is fine).

        Each run of consecutive samples of one cell type is read straight into its slice of ``out``
        (training batches are sorted by cell type, so there are few runs).
        """
        if len(self.per_cell) == 1:
            return self.per_cell[0].rows(windows, out=out)
        edges = np.concatenate([[0], np.flatnonzero(np.diff(cells)) + 1, [len(cells)]])
        for lo, hi in zip(edges[:-1], edges[1:]):
            run = Windows(windows.chrom_names, windows.chrom[lo:hi], windows.start[lo:hi],
                          windows.length)
            self.per_cell[cells[lo]].rows(run, out=out[lo:hi])
        return out


@dataclass(frozen=True)
class VectorInput:
    """A vector per sample: per cell type (``per_cell`` (n_cells, m)), else ``Samples.extras[name]``."""

    name: str
    per_cell: np.ndarray | None = None

    def read(self, samples: Samples) -> np.ndarray:
        """(n, m) float32."""
        if self.per_cell is not None:
            return np.asarray(self.per_cell, np.float32)[samples.cell]
        return samples.extras[self.name]

    def width(self, samples: Samples) -> int:
        return self.per_cell.shape[1] if self.per_cell is not None else samples.extras[self.name].shape[1]


class _Buffers:
    """Reusable output arrays, one set per thread, so batches are assembled without page faults."""

    def __init__(self):
        self._local = threading.local()

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        arrays = self._local.__dict__.setdefault("arrays", {})
        array = arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = arrays[name] = np.empty(shape, dtype)
        return array


def fresh(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.empty(shape, dtype)


Allocate = Callable[[str, tuple, object], np.ndarray]


def onehot_table(width: int) -> np.ndarray:
    """(5, width) float32: rows of base codes A, C, G, T, N as one-hot in the first 4 columns."""
    table = np.zeros((5, width), np.float32)
    table[np.arange(4), np.arange(4)] = 1.0
    return table


def steps(n_samples: int, batch_size: int) -> int:
    """Batches needed for ``n_samples``, the last one possibly partial."""
    return math.ceil(n_samples / batch_size)


class _EpochPlans:
    """Each epoch's samples in their shuffled order (within a batch, grouped by cell type) and
    their random shifts; the last few epochs kept."""

    def __init__(self, source: Callable[[int], Samples], seed: int, batch_size: int, keep: int = 3):
        self._source, self._seed, self._batch_size, self._keep = source, seed, batch_size, keep
        self._plans: OrderedDict[int, tuple[Samples, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, epoch: int) -> tuple[Samples, np.ndarray]:
        with self._lock:
            if epoch not in self._plans:
                samples = self._source(epoch)
                rng = np.random.default_rng([self._seed, epoch])
                order = rng.permutation(len(samples))
                # within each batch, samples of one cell type together (tracks read per run)
                batch = np.arange(len(order)) // self._batch_size
                order = order[np.lexsort((samples.cell[order], batch))]
                samples = samples.take(order)
                offsets = rng.integers(-samples.shift, samples.shift.astype(np.int64) + 1)
                self._plans[epoch] = (samples, offsets)
                while len(self._plans) > self._keep:
                    self._plans.popitem(last=False)
            return self._plans[epoch]


def _one_line(error: BaseException) -> str:
    """An InputError's message, else ``Type: message``; first lines only."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else ""
    if isinstance(error, InputError):
        return line
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def _file_error(error: Exception) -> Exception:
    """A file's read error (an OSError naming the file) as an InputError naming it; any other
    exception as it is."""
    if isinstance(error, OSError) and error.filename is not None:
        converted = InputError(f"{error.filename}: cannot read ({error.strerror or error})")
        converted.__cause__ = error
        return converted
    return error


_READER_ERROR = "batch reader error"
_failures: OrderedDict[int, Exception] = OrderedDict()  # the last few reader exceptions, by key
_failures_lock = threading.Lock()
_failure_keys = itertools.count(1)


def _remember(error: Exception) -> str:
    """Keep a reader's exception for :func:`reader_errors`; the one line that TF is to carry."""
    error = _file_error(error)
    with _failures_lock:
        key = next(_failure_keys)
        _failures[key] = error
        while len(_failures) > 16:
            _failures.popitem(last=False)
    return f"{_READER_ERROR} {key}: {_one_line(error)}"


def _recall(error: BaseException) -> Exception | None:
    """The reader's exception that TF's ``error`` wraps (handed out once), or None."""
    found = re.search(rf"{_READER_ERROR} (\d+): ", str(error))
    with _failures_lock:
        return _failures.pop(int(found.group(1)), None) if found else None


class reader_errors(contextlib.AbstractContextManager):
    """Around the consumer of a dataset made here (``model.fit``, ``model.predict``, a loop over
    the dataset): an exception raised while reading a batch comes out as itself (an InputError
    stays one; a file's read error is an InputError naming the file), not wrapped by TensorFlow."""

    def __exit__(self, kind, error, traceback):
        original = _recall(error) if isinstance(error, Exception) else None
        if original is None:
            return None
        # keep no reference to Keras's frames, which hold the failed iterator (see _collect_at_exit)
        error.__traceback__ = None
        del traceback
        raise original from None


@functools.cache
def _collect_at_exit() -> None:
    """Have failed tf.data iterators (kept alive in reference cycles by an exception's frames)
    freed before the interpreter shuts down: destroyed during shutdown, an iterator waits for
    reader calls that can no longer take the GIL, and the process never exits. Registered after
    TensorFlow's own exit handlers, so it runs before them."""
    atexit.register(gc.collect)


ReadBatch = Callable[[int, Allocate], tuple[dict, np.ndarray]]


def _for_keras(view, example: Samples, n_batches: int, read_batch: ReadBatch,
               parallel: int | None, weighted: bool = False):
    """``n_batches`` batches, batch i assembled by ``read_batch(i, allocate)`` (``weighted``:
    with sample weights), in the form the active Keras backend takes: a ``tf.data.Dataset`` under
    TensorFlow, else a :class:`NumpyBatches`."""
    if keras.backend.backend() == "tensorflow":
        return _to_tf(view, example, n_batches, read_batch, parallel, weighted)
    return NumpyBatches(n_batches, read_batch, parallel or default_readers())


def _batch_rows(index: int, batch_size: int, n_samples: int, replicas: int,
                training: bool) -> tuple[slice | np.ndarray, np.ndarray | None]:
    """The rows of batch ``index`` and their sample weights: one replica, the slice and None;
    several, the rows padded to a multiple p of ``replicas`` by repeating the last one, (p,)
    int64, and weights (p,) float32: 0 for the padding, else p / b in ``training`` (b rows), 1
    in evaluation (see the module's description)."""
    rows = slice(index * batch_size, (index + 1) * batch_size)
    if replicas == 1:
        return rows, None
    padded = padded_rows(rows.start, min(rows.stop, n_samples), replicas)
    real = min(rows.stop, n_samples) - rows.start
    weights = np.zeros(len(padded), np.float32)
    weights[:real] = len(padded) / real if training else 1.0
    return padded, weights


def padding_rows(n_samples: int, batch_size: int, replicas: int) -> int:
    """Rows of padding in a pass of :func:`evaluation_dataset` over ``n_samples`` samples."""
    if replicas == 1:
        return 0
    full, last = divmod(n_samples, batch_size)
    return full * (-batch_size % replicas) + (-last % replicas)


def padded_rows(start: int, stop: int, replicas: int) -> np.ndarray:
    """Rows ``start .. stop - 1`` padded to a multiple of ``replicas`` rows by repeating the last
    one: (p,) int64."""
    padded = -(-(stop - start) // replicas) * replicas
    return np.minimum(np.arange(start, start + padded), stop - 1)


def _weighted(batch: tuple[dict, np.ndarray], weights: np.ndarray | None):
    """``(inputs, targets)``, with ``weights`` as a third item when there are any."""
    return batch if weights is None else (*batch, weights)


class NumpyBatches(keras.utils.PyDataset):
    """Batches as numpy ``(inputs, targets)`` for Keras under any backend (``model.fit``,
    ``model.predict``, a loop): batch i is ``read_batch(i, fresh)``, and the next ``2 * threads``
    batches are read ahead by ``threads`` threads while the model works on this one.

    Asking for any other batch than the next drops the batches read ahead (a new pass over the
    data starts over). A reader's exception comes out of the batch's request as itself, a file's
    read error as an InputError naming the file.
    """

    def __init__(self, n_batches: int, read_batch: ReadBatch, threads: int):
        super().__init__()  # one Keras worker: reading ahead is done here, in order
        self._n, self._read_batch, self._threads = n_batches, read_batch, threads
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: dict[int, Future] = {}

    def __len__(self) -> int:
        return self._n

    def _read(self, index: int):
        try:
            return self._read_batch(index, fresh)
        except Exception as error:
            raise _file_error(error) from None

    def __getitem__(self, index: int):
        if not 0 <= index < self._n:
            raise IndexError(f"batch {index} of {self._n}")
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="batch-reader")
        wanted = range(index, min(index + 1 + 2 * self._threads, self._n))
        for stale in [i for i in self._ahead if i not in wanted]:
            self._ahead.pop(stale).cancel()
        for i in wanted:
            if i not in self._ahead:
                self._ahead[i] = self._pool.submit(self._read, i)
        return self._ahead.pop(index).result()


def _to_tf(view, example: Samples, n_batches: int, read_batch: ReadBatch, parallel: int | None,
           weighted: bool = False):
    """A tf.data.Dataset of ``n_batches`` batches, batch i assembled by ``read_batch(i, allocate)``
    (``weighted``: ``(inputs, targets, weights)``, auto-sharded by ``DATA``).

    The first batch that fails makes every later one fail at once with the same message.
    """
    import tensorflow as tf

    _collect_at_exit()
    shapes = view.input_shapes(example)
    names = list(shapes)
    target_shape = view.target_shape(example)
    buffers = _Buffers()
    failed: list[str] = []  # the first failure's message

    def numpy_batch(index):
        if failed:
            raise RuntimeError(failed[0])
        try:
            inputs, targets, *weights = read_batch(int(index), buffers.get)
        except Exception as error:
            failed.append(_remember(error))
            raise RuntimeError(failed[0]) from None
        return [inputs[name] for name in names] + [np.asarray(targets, np.float32), *weights]

    def structured(index):
        arrays = tf.numpy_function(numpy_batch, [index],
                                   [tf.float32] * (len(names) + 1 + weighted), stateful=False)
        inputs = {name: tf.ensure_shape(array, (None, *shapes[name]), name=name)
                  for name, array in zip(names, arrays)}
        targets = tf.ensure_shape(arrays[len(names)], (None, *target_shape))
        if weighted:
            return inputs, targets, tf.ensure_shape(arrays[-1], (None,))
        return inputs, targets

    dataset = tf.data.Dataset.range(n_batches).map(
        structured, num_parallel_calls=parallel or default_readers(), deterministic=True)
    if weighted:  # several replicas: see the module's description
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = \
            tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
    return dataset.prefetch(tf.data.AUTOTUNE)


def default_readers() -> int:
    """Batch-reading threads: one per usable core beyond the first (which trains), at least one.

    Readers are Python/numpy and share the GIL, so more threads than spare cores only thrash: on
    one core, one reader assembled FactorNet batches 1.5x faster than tf.data's AUTOTUNE did.
    """
    return max(1, len(os.sched_getaffinity(0)) - 1)


def training_dataset(view, source: Samples | Callable[[int], Samples], batch_size: int,
                     epochs: int, seed: int = 0, first_epoch: int = 0,
                     parallel: int | None = None, replicas: int = 1):
    """Training batches ``(inputs, targets)`` for ``epochs`` epochs (see :func:`_for_keras`);
    for several ``replicas``, ``(inputs, targets, weights)`` (see the module's description).

    ``source`` gives each epoch's samples (``sampler.epoch``), or is one fixed table. Every epoch
    is shuffled and every sample moved by a random offset within its ``shift``, both drawn from
    ``(seed, epoch)``. All epochs must have the same number of samples: pass
    ``steps_per_epoch=steps(len(samples), batch_size)`` to ``model.fit``.
    """
    plans = _EpochPlans(source if callable(source) else (lambda epoch: source), seed, batch_size)
    first, _ = plans(first_epoch)
    per_epoch = steps(len(first), batch_size)

    def read_batch(index: int, allocate: Allocate):
        epoch, step = divmod(index, per_epoch)
        samples, offsets = plans(first_epoch + epoch)
        if len(samples) != len(first):
            raise ValueError(f"epoch {first_epoch + epoch} has {len(samples)} samples, "
                             f"epoch {first_epoch} had {len(first)}")
        rows, weights = _batch_rows(step, batch_size, len(samples), replicas, training=True)
        return _weighted(view.read(samples.take(rows), offsets[rows], allocate), weights)

    return _for_keras(view, first, epochs * per_epoch, read_batch, parallel, replicas > 1)


def evaluation_dataset(view, samples: Samples, batch_size: int, parallel: int | None = None,
                       offsets: Callable[[], np.ndarray] | None = None, replicas: int = 1):
    """Every sample once, in order, the last partial batch kept (see :func:`_for_keras`); for
    several ``replicas``, with sample weights (see the module's description).

    Unshifted, or moved by ``offsets()`` (n,) bp, asked for anew in every pass over the data (a
    validation set jittered afresh each epoch: :class:`fiddle_factornet.runs.training.Jitter`).
    """

    def read_batch(index: int, allocate: Allocate):
        rows, weights = _batch_rows(index, batch_size, len(samples), replicas, training=False)
        return _weighted(view.read(samples.take(rows), 0 if offsets is None else offsets()[rows],
                                   allocate), weights)

    return _for_keras(view, samples, steps(len(samples), batch_size), read_batch, parallel,
                      replicas > 1)


def numpy_batches(view, samples: Samples, batch_size: int):
    """The evaluation batches as numpy ``(inputs, targets)`` pairs (fresh arrays, any backend).

    A file's read error is an InputError naming the file."""
    for index in range(steps(len(samples), batch_size)):
        try:
            batch = view.read(samples.take(slice(index * batch_size, (index + 1) * batch_size)))
        except OSError as error:
            raise _file_error(error)
        yield batch


def check_model_inputs(model, view, samples: Samples, source: str = "the model") -> None:
    """Refuse, before any batch is read, a Keras model that wants an input the view does not make
    for ``samples`` or one of another shape: an InputError naming the input and what the view
    makes, prefixed by ``source`` (e.g. the model's file)."""
    try:
        wanted = model.input  # a dict, a list or one tensor; undefined for an unbuilt model
    except (AttributeError, ValueError):
        return
    if not isinstance(wanted, dict):
        wanted = {tensor.name: tensor for tensor in
                  (wanted if isinstance(wanted, (list, tuple)) else [wanted])}
    made = view.input_shapes(samples)
    listed = ", ".join(f"{name} {shape}" for name, shape in made.items()) or "nothing"
    for name, tensor in wanted.items():
        shape = tuple(tensor.shape[1:])
        if name not in made:
            raise InputError(f"{source}: wants an input {name!r} {shape} that the data does not "
                             f"provide (it provides {listed})")
        if len(shape) != len(made[name]) or any(
                want is not None and want != have for want, have in zip(shape, made[name])):
            raise InputError(f"{source}: wants input {name!r} of shape {shape}, the data provides "
                             f"{made[name]}")

