"""One training run, the same for every model family.

A run writes its model folder as ``<output>.partial`` beside the final place and renames it into
place when training is over, so a failed, killed or interrupted run leaves an existing output as
it was. After every epoch the partial folder holds the best weights so far (``best.weights.h5``,
by validation loss), a checkpoint of the whole model with its optimizer state
(``checkpoint.keras``) and the progress (``progress.json``: epochs done, best loss, patience used,
history), so that an interrupted run can be resumed: it goes on from the last completed epoch and,
the epochs being drawn from (seed, epoch), does what the uninterrupted run would have done.

On several devices (:mod:`.devices`) the model is built, loaded (a resumed run's checkpoint
included) and trained in the devices' scope; a resumed run may use other devices than the
interrupted one. Of the workers of several machines only the chief writes ``<output>.partial``
and the model folder; every other worker writes the same files to a temporary folder of its own
and removes it at the end, however the run ends, and resumes from the chief's
``<output>.partial`` (so a resumed multi-worker run needs the output's folder on a file system
that every worker sees).

The finished folder holds ``model.keras`` (best weights), ``best.weights.h5``,
``final.weights.h5``, ``history.json``, ``history.csv``, TensorBoard ``logs/`` (under the
TensorFlow backend: TensorBoard's writer is TensorFlow's), whatever the family adds, and the run
record ``run.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import keras
import numpy as np

from ..data.samples import Samples
from ..errors import InputError
from ..pipeline import padding_rows, reader_errors
from .devices import Devices
from .outputs import check_replaceable, output_lock, refuse_inputs, swap_in
from .record import RECORD_NAME, RunRecord, read_record

logger = logging.getLogger(__name__)

PROGRESS = "progress.json"
CHECKPOINT = "checkpoint.keras"

#: metrics by name: a Keras name, or a factory for a configured metric
_METRICS: dict[str, Callable[[], Any]] = {
    "auprc": lambda: keras.metrics.AUC(curve="PR", name="auprc"),
}
_LOSSES: dict[str, Callable[[], Any]] = {
    "kl_divergence": keras.losses.KLDivergence,  # clips both to [1e-7, 1]
}


@dataclass(frozen=True)
class TaskConfig:
    """A family's compile choices, kept apart from its architecture: optimizer, loss, metrics.

    The metrics are compiled as Keras' ``weighted_metrics``: the same figures without sample
    weights (one device), and the padding rows of several devices' batches, weighted 0, left out
    (:mod:`fiddle_factornet.pipeline`)."""

    loss: str
    metrics: tuple[str, ...] = ()
    optimizer: str = "adam"

    def compile(self, model: keras.Model, learning_rate: float) -> keras.Model:
        optimizer = keras.optimizers.get({"class_name": self.optimizer,
                                          "config": {"learning_rate": learning_rate}})
        loss = _LOSSES[self.loss]() if self.loss in _LOSSES else self.loss
        model.compile(optimizer, loss, weighted_metrics=[_METRICS[m]() if m in _METRICS else m
                                                         for m in self.metrics])
        return model


@dataclass(frozen=True)
class FitConfig:
    """How long and how a run trains."""

    epochs: int
    patience: int
    learning_rate: float
    batch_size: int
    seed: int


class Jitter(keras.callbacks.Callback):
    """Moves for samples that may move (``shift`` > 0), drawn afresh for every epoch from
    (seed, epoch): give :meth:`offsets` to ``evaluation_dataset`` and this callback to the run, and
    the validation windows are jittered anew in every validation pass, as the original
    FactorNet's multi-task validation was."""

    def __init__(self, samples: Samples, seed: int):
        super().__init__()
        self.shift, self.seed = samples.shift.astype(np.int64), seed
        self._offsets = np.zeros(len(samples), np.int64)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        rng = np.random.default_rng([self.seed, 7, epoch])  # 7: apart from training's draws
        self._offsets = rng.integers(-self.shift, self.shift + 1)

    def offsets(self) -> np.ndarray:
        """(n,) int64: this epoch's moves."""
        return self._offsets


def partial_path(output: str | os.PathLike) -> Path:
    """Where a training run writes before it is complete: ``<output>.partial``."""
    output = Path(os.path.abspath(output))
    return output.with_name(f"{output.name}.partial")


def write_atomic(path: Path, text: str) -> None:
    """Replace a file of a folder being written (e.g. progress, a curve) in one step."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class _Progress(keras.callbacks.Callback):
    """Best weights by validation loss, early stopping, and the state a resumed run needs, saved
    after every epoch (the same rules as Keras' ModelCheckpoint and EarlyStopping)."""

    def __init__(self, folder: Path, patience: int, state: dict[str, Any]):
        super().__init__()
        self.folder, self.patience, self.state = folder, patience, state

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = {key: float(value) for key, value in (logs or {}).items()}
        state = self.state
        for key, value in logs.items():
            state["history"].setdefault(key, []).append(value)
        loss = logs.get("val_loss", math.nan)
        if loss < state["best"]:
            state.update(best=loss, best_epoch=epoch + 1, wait=0)
            self.model.save_weights(self.folder / ".best.tmp.weights.h5")
            os.replace(self.folder / ".best.tmp.weights.h5", self.folder / "best.weights.h5")
        else:
            state["wait"] += 1
        if state["wait"] >= self.patience and epoch > 0:
            state["stopped_early"] = True
            self.model.stop_training = True
        state["seed_states"] = [keras.ops.convert_to_numpy(generator.state).tolist()
                                for generator in _seed_generators(self.model)]
        self.model.save(self.folder / f".{CHECKPOINT}.tmp.keras")
        os.replace(self.folder / f".{CHECKPOINT}.tmp.keras", self.folder / CHECKPOINT)
        state["epochs_done"] = epoch + 1
        write_atomic(self.folder / PROGRESS, json.dumps(state, indent=1))
        _write_history_csv(self.folder / "history.csv", state["history"])


class _PaddedValidationLoss(keras.callbacks.Callback):
    """On several devices, Keras' validation loss over batches padded to a multiple of the
    replicas (the mean over n + padding rows, the padding's loss 0) times ``scale``, (n +
    padding) / n: the mean over the n samples, as on one device; called before every other
    callback, which sees the result (:mod:`fiddle_factornet.pipeline`)."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if logs is not None and "val_loss" in logs:
            logs["val_loss"] = float(logs["val_loss"]) * self.scale


def _seed_generators(model: keras.Model) -> list:
    """Every random-seed generator of the model (dropout layers, LSTM cells), in a fixed order.

    Keras saves neither their states with the model nor in its weights, yet they decide every
    later dropout mask: a resumed run restores them to continue as the uninterrupted run did.
    """
    return [generator for layer in model._flatten_layers(include_self=True, recursive=True)
            for generator in getattr(layer, "_seed_generators", ())]


def _tensorboard(folder: Path) -> list[keras.callbacks.Callback]:
    """TensorBoard logs in ``folder/logs`` under the TensorFlow backend (its writer needs
    TensorFlow); none under JAX and torch, where ``history.csv`` holds the curves."""
    if keras.backend.backend() != "tensorflow":
        return []
    return [keras.callbacks.TensorBoard(folder / "logs")]


def _write_history_csv(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    rows = zip(*(history[key] for key in keys))
    write_atomic(path, "epoch," + ",".join(keys) + "\n" + "".join(
        f"{epoch}," + ",".join(repr(v) for v in row) + "\n" for epoch, row in enumerate(rows)))


class TrainingRun:
    """A model folder being trained: ``with TrainingRun(...) as run:`` checks and locks the
    output, makes (or, with ``resume``, reopens) the partial folder; :meth:`fit` trains;
    :meth:`commit` writes the record and moves the folder into place.

    ``record`` is the run record (settings, architecture, family); a resumed run must have the
    same settings as the interrupted one, apart from ``resume`` itself, ``epochs`` and
    ``devices``. ``devices``: where it trains (:func:`.devices.open_devices`); ``path`` is where
    this process writes: ``<output>.partial``, or a temporary folder on a worker that is not the
    chief.
    """

    def __init__(self, output: str | os.PathLike, record: RunRecord, overwrite: bool = False,
                 resume: bool = False, inputs: Iterable[str | os.PathLike | None] = (),
                 devices: Devices = Devices()):
        self.output, self.record = Path(os.path.abspath(output)), record
        self.overwrite, self.resume, self.inputs = overwrite, resume, list(inputs)
        self.devices = devices
        self.partial = self.path = partial_path(self.output)
        self.state: dict[str, Any] = {"epochs_done": 0, "best": math.inf, "best_epoch": 0,
                                      "wait": 0, "stopped_early": False, "history": {}}
        self._lock = None
        self._committed = False

    def __enter__(self) -> "TrainingRun":
        refuse_inputs(self.output, self.inputs)
        refuse_inputs(self.path, self.inputs)
        if not self.devices.chief:
            self.path = Path(tempfile.mkdtemp(prefix="ffn-worker-"))
            logger.info("not the chief worker: writing to %s, removed at the end", self.path)
            try:
                if self.resume:
                    self._reopen()
            except BaseException:
                shutil.rmtree(self.path, ignore_errors=True)
                raise
            return self
        self._lock = output_lock(self.output)
        self._lock.__enter__()
        try:
            check_replaceable(self.output, self.overwrite)
            if self.resume:
                self._reopen()
            elif self.path.exists():
                raise InputError(f"{self.path}: an interrupted run of this output is here; resume "
                                 "it or remove it", setting="resume")
            else:
                self.path.mkdir(parents=True)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def _reopen(self) -> None:
        progress = self.partial / PROGRESS
        if not progress.is_file() or not (self.partial / CHECKPOINT).is_file():
            raise InputError(f"{self.partial}: no interrupted run to resume here (no {PROGRESS} "
                             f"and {CHECKPOINT})", setting="resume")
        before = read_record(self.partial / RECORD_NAME)["settings"]
        now = self.record.data["settings"]
        for key in sorted(set(before) | set(now)):
            if key not in ("resume", "epochs", "overwrite", "devices") and \
                    before.get(key) != now.get(key):
                raise InputError(f"{self.partial}: the interrupted run had {key}="
                                 f"{before.get(key)!r}, this one {key}={now.get(key)!r}; resume "
                                 "with the same settings", setting=key)
        self.state = json.loads(progress.read_text())
        logger.info("resuming %s after epoch %d", self.partial, self.state["epochs_done"])

    def __exit__(self, kind, error, trace) -> None:
        if not self.devices.chief:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            if error is not None and not self._committed:
                if self.state["epochs_done"] or self.resume:
                    logger.error("the run stopped after %d complete epochs; its partial folder, with "
                                 "the best weights so far, is %s (resume it to go on)",
                                 self.state["epochs_done"], self.path)
                elif self.path.exists():
                    shutil.rmtree(self.path, ignore_errors=True)
        finally:
            self._lock.__exit__(None, None, None)

    def model(self, build: Callable[[], keras.Model]) -> keras.Model:
        """The model to train, in the devices' scope: ``build()`` (compiled) for a new run, the
        checkpoint when resuming."""
        if self.state["epochs_done"]:
            with self.devices.scope():
                model = keras.models.load_model(self.partial / CHECKPOINT)
                for generator, value in zip(_seed_generators(model), self.state["seed_states"],
                                            strict=True):
                    generator.state.assign(value)
            return model
        with self.devices.scope():
            model = build()
        self.record.write(self.path / RECORD_NAME)  # so that a resumed run can check its settings
        return model

    def fit(self, model: keras.Model, batches: Callable[[int, int], Any], steps_per_epoch: int,
            validation: Any, validation_samples: int, fit: FitConfig,
            callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict[str, list[float]]:
        """Train from the last completed epoch to ``fit.epochs`` (or early stopping).

        ``batches(first_epoch, n_epochs)`` gives the training batches of epochs
        ``first_epoch .. first_epoch + n_epochs - 1``; ``validation``: the
        ``validation_samples`` validation samples in batches of ``fit.batch_size``, for as many
        replicas as the run's devices have (:func:`fiddle_factornet.pipeline.evaluation_dataset`);
        ``callbacks``: the family's own Keras callbacks, called after the run's (best weights,
        progress, TensorBoard).
        """
        done = self.state["epochs_done"]
        if done < fit.epochs and not self.state["stopped_early"]:
            padding = padding_rows(validation_samples, fit.batch_size, self.devices.replicas)
            every = [*([_PaddedValidationLoss(1 + padding / validation_samples)] if padding
                       else []),
                     _Progress(self.path, fit.patience, self.state), *_tensorboard(self.path),
                     *callbacks]
            with reader_errors(), self.devices.scope():  # a reader's error: itself, one line
                model.fit(batches(done, fit.epochs - done), initial_epoch=done, epochs=fit.epochs,
                          steps_per_epoch=steps_per_epoch, validation_data=validation,
                          callbacks=every, shuffle=False,
                          verbose=1 if sys.stderr.isatty() else 2)
        if not (self.path / "best.weights.h5").is_file():
            raise InputError(f"{self.path}: the validation loss was never a number (NaN in every "
                             "epoch): check the inputs for NaN or infinite values")
        model.save_weights(self.path / "final.weights.h5")
        model.load_weights(self.path / "best.weights.h5")
        model.save(self.path / "model.keras")
        history = self.state["history"]
        (self.path / "history.json").write_text(json.dumps(history, indent=1))
        logger.info("trained %d epochs; best validation loss %.4f after epoch %d",
                    self.state["epochs_done"], self.state["best"], self.state["best_epoch"])
        return history

    def commit(self) -> Path:
        """Write the run record and move the finished folder into place (a worker that is not
        the chief: nothing, its folder is removed on leaving)."""
        if not self.devices.chief:
            return self.output
        for name in (CHECKPOINT, PROGRESS):
            (self.path / name).unlink(missing_ok=True)
        self.record.update(epochs_done=self.state["epochs_done"],
                           stopped_early=self.state["stopped_early"],
                           best_epoch=self.state["best_epoch"], best_val_loss=self.state["best"])
        self.record.write(self.path / RECORD_NAME)
        check_replaceable(self.output, self.overwrite)
        swap_in(self.path, self.output)
        self._committed = True
        logger.info("model folder written: %s", self.output)
        return self.output
