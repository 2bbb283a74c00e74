"""Training FIDDLE: windows around gene starts, split, the model, its compile choices, and its
folder, written through the run layer (:mod:`fiddle_factornet.runs.training`): ``run.json``
(settings, architecture, inputs, target), ``model.keras`` (best weights), ``best.weights.h5``,
``final.weights.h5``, ``history.json``/``history.csv``, TensorBoard ``logs/``, and FIDDLE's own
``learning_curve.csv`` (held-out KL against training samples seen, every ``curve_every`` samples:
see :class:`LearningCurve`) and validation and test windows as BED6 (``valid_regions.bed``,
``test_regions.bed``: chrom, start, end, ., 0, strand).

Defaults follow the original: windows holding a missing value (NaN) are left out
(``missing="skip"``), an N in the DNA is 0.25 in each row (``dna_n``), only non-overlapping genes
(``RegionConfig.non_overlapping``), batches of 20 (the released code's).

Instead of a track manifest and genes, ``hdf5`` names the authors' HDF5 datasets (their folder or
split files: :mod:`.published`): the windows are their rows, training on every row of the training
file, validation on the first ``n_valid`` of the validation file; the settings that make windows
(genes, split, regions, missing, dna_n) do not apply, and no regions BED is written.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np

from ..errors import InputError
from ..runs.models import open_model_folder
from ..runs.devices import open_devices
from ..runs.record import RunRecord, describe_device, path_field, settings_record
from ..runs.training import FitConfig, TaskConfig, TrainingRun, write_atomic
from ..pipeline import evaluation_dataset, numpy_batches, padded_rows, steps, training_dataset
from ..data.samples import Samples
from ..data.splits import ChromSplit, DEFAULT_TEST, DEFAULT_VALID
from ..data.tables import format_rows
from .evaluation import kl_per_region
from .manifest import MISSING, TrackManifest, drop_missing, fiddle_view, view_sizes
from .model import FiddleConfig, build_fiddle, transfer_module
from .published import training_data
from .view import FIDDLE_DNA_N, FiddleView
from .regions import (RegionConfig, gene_windows, read_genes, region_columns, split_by_chromosome,
                      split_shuffled)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiddleTrainSettings:
    """Everything a FIDDLE training run depends on (recorded in the model folder's run.json)."""

    manifest: str | None = path_field()  # None with hdf5
    genes: str | None = path_field()     # None with hdf5
    output_dir: str = path_field()
    hdf5: tuple[str, ...] = path_field(())  # the authors' HDF5 datasets: folder or split files
    inputs: tuple[str, ...] = ()       # default: every input track of the manifest
    target: str | None = None          # default: the manifest's target (HDF5: tssseq)
    controls: tuple[str, ...] = ()     # extra control inputs: "target" and/or "noise"
    overwrite: bool = False
    resume: bool = False               # go on with the interrupted run in <output_dir>.partial
    split: str = "shuffle"             # or "chromosome"
    n_valid: int = 1000                # HDF5: the first n_valid rows of the validation file
    n_test: int = 1000
    valid_chroms: tuple[str, ...] = DEFAULT_VALID
    test_chroms: tuple[str, ...] = DEFAULT_TEST
    epochs: int = 50
    patience: int = 5
    batch_size: int = 20               # the released code's
    learning_rate: float = 1e-3
    seed: int = 0
    cache: bool | str = True
    devices: int | str = 1             # a count, or "all" (every GPU): runs.devices
    regions: RegionConfig = field(default_factory=RegionConfig)
    curve_every: int = 2000            # learning-curve point every N training samples; 0: per epoch
    missing: str = "skip"              # windows with a NaN in a track or the target: skip or zero
    dna_n: float = FIDDLE_DNA_N        # an N in the DNA: this value in each of the 4 rows
    reload: str | None = path_field(None)  # a trained FIDDLE model folder to take modules from
    reload_modules: tuple[str, ...] = ()  # which tracks' modules (default: every shared one)
    freeze: bool = False               # keep the reloaded modules fixed (else fine-tune them)
    module_filters: tuple[int, int] = (80, 40)
    scaffold_filters: int = 20
    kernel_width: int = 5
    representation: int = 500
    dropout: float = 0.5


def write_regions(path: Path, samples: Samples) -> None:
    """Windows as BED6 (chrom, start, end, ., 0, strand)."""
    chrom, start, end, strand = region_columns(samples)
    n = len(samples)
    path.write_bytes(format_rows([chrom, start, end, np.full(n, b"."), np.zeros(n, np.int64),
                                  strand]))


#: FIDDLE's compile choices (the paper's): Adam, KL divergence of the target from the prediction
TASK = TaskConfig("kl_divergence")


class LearningCurve(keras.callbacks.Callback):
    """The learning curve, written to ``path`` as ``samples_seen,train_kl,valid_kl`` rows: a point
    every ``every`` training samples (at the end of the batch that reaches the next multiple)
    and at the end of every epoch; ``every=0``: at the end of every epoch only.

    - ``samples_seen``: training samples seen since the run began (epochs before included);
    - ``train_kl``: the mean training loss (KL divergence, dropout active, as Keras reports it)
      over the samples seen since the previous point (for epoch-end points alone: the epoch's);
    - ``valid_kl``: the mean KL divergence of the validation windows, ``valid_inputs`` (name ->
      (m, L, H)) and ``valid_target`` (m, L), predicted in inference mode (at the end of an
      epoch: Keras' ``val_loss``, the same figure).

    The file is rewritten at every point; a resumed run keeps the points of its complete epochs.
    On several ``replicas`` the validation windows are predicted padded to a multiple of them
    (the last window repeated), in batches of a multiple of them.
    """

    def __init__(self, path: Path, n_train: int, batch_size: int, every: int,
                 valid_inputs: dict[str, np.ndarray], valid_target: np.ndarray,
                 replicas: int = 1):
        super().__init__()
        self.path, self.n_train, self.batch_size, self.every = path, n_train, batch_size, every
        rows = padded_rows(0, len(valid_target), replicas) if len(valid_target) else slice(None)
        self.valid_inputs = {name: x[rows] for name, x in valid_inputs.items()}
        self.valid_target, self._predict_batch = valid_target, -(-256 // replicas) * replicas
        self.rows: list[tuple[int, float, float]] | None = None
        self._epoch_start = 0
        self._last = (0, 0.0)  # (samples into the epoch, their summed loss) at the last point

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch_start = epoch * self.n_train
        self._last = (0, 0.0)
        if self.rows is None:  # the first epoch of this fit: keep the complete epochs' points
            self.rows = [row for row in _read_curve(self.path) if row[0] <= self._epoch_start]

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if not self.every or not logs or "loss" not in logs:
            return
        within = min((batch + 1) * self.batch_size, self.n_train)
        before = min(batch * self.batch_size, self.n_train)
        start = self._epoch_start
        if within >= self.n_train or (start + within) // self.every == (start + before) // self.every:
            return  # no multiple of ``every`` reached (or the epoch's end, recorded there)
        prediction = self.model.predict(self.valid_inputs, batch_size=self._predict_batch,
                                        verbose=0)[:len(self.valid_target)]
        self._add(within, float(logs["loss"]),
                  float(kl_per_region(self.valid_target, prediction).mean()))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        self._add(self.n_train, float(logs.get("loss", np.nan)),
                  float(logs.get("val_loss", np.nan)))

    def _add(self, within: int, running_mean: float, valid_kl: float) -> None:
        """A point ``within`` samples into the epoch; ``running_mean``: Keras' mean loss since
        the epoch began (weighted by batch size), from which the mean since the last point comes."""
        total = running_mean * within
        last_within, last_total = self._last
        train_kl = (total - last_total) / (within - last_within)
        self._last = (within, total)
        self.rows.append((self._epoch_start + within, train_kl, valid_kl))
        write_atomic(self.path, CURVE_HEADER + "".join(f"{s},{t:.6f},{v:.6f}\n"
                                                       for s, t, v in self.rows))


CURVE_HEADER = "samples_seen,train_kl,valid_kl\n"


def _read_curve(path: Path) -> list[tuple[int, float, float]]:
    """The rows of a learning_curve.csv (none when there is no file)."""
    if not path.is_file():
        return []
    return [(int(s), float(t), float(v)) for s, t, v in
            (line.split(",") for line in path.read_text().splitlines()[1:] if line)]


def train_fiddle(settings: FiddleTrainSettings) -> dict[str, list[float]]:
    """Train a FIDDLE model and write its folder; returns the history. ``devices``: see
    :mod:`fiddle_factornet.runs.devices` (set up first, before the engine starts)."""
    devices = open_devices(settings.devices)
    if settings.missing not in MISSING:
        raise InputError(f"missing={settings.missing!r} is not one of {', '.join(MISSING)}",
                         setting="missing")
    if settings.curve_every < 0:
        raise InputError(f"curve_every={settings.curve_every} must be >= 0 (0: once per epoch)",
                         setting="curve_every")
    if settings.hdf5 and (settings.manifest or settings.genes):
        raise InputError("give the authors' HDF5 datasets or a track manifest and genes, not both",
                         setting="hdf5")
    if settings.hdf5:
        view, parts = training_data(settings.hdf5, settings.inputs, settings.target,
                                    settings.controls, settings.n_valid)
        inputs, target = tuple(name for name, _ in view.inputs), view.target
        sources = [settings.reload, *view.files]
    else:
        if not settings.manifest or not settings.genes:
            raise InputError("give a track manifest and genes (or the authors' HDF5 datasets)",
                             setting="genes" if settings.manifest else "manifest")
        manifest = TrackManifest.read(settings.manifest)
        inputs = settings.inputs or tuple(t.name for t in manifest.role("input"))
        target = settings.target or manifest.role("target")[0].name
        sources = [settings.genes, settings.reload, *manifest.files]
    record = RunRecord("fiddle training", settings_record(settings), describe_device(),
                       family="fiddle", inputs=list(inputs), controls=list(settings.controls),
                       target=target, distribution=devices.record())
    with TrainingRun(settings.output_dir, record, settings.overwrite, settings.resume,
                     sources, devices) as run:
        if settings.hdf5:
            record.update(windows=sum(map(len, parts.values())), windows_dropped_missing=0)
        else:
            view, parts = _manifest_windows(settings, manifest, inputs, record)
        rows = tuple((name, shape[1]) for name, shape in view.input_shapes(parts["train"]).items())
        architecture = FiddleConfig(rows, view.length, settings.module_filters,
                                    settings.scaffold_filters, kernel_width=settings.kernel_width,
                                    representation=settings.representation,
                                    dropout=settings.dropout)
        record.update(architecture=asdict(architecture))

        def build() -> keras.Model:
            model = build_fiddle(architecture)
            if settings.reload:
                _reload_modules(model, settings)
            return TASK.compile(model, settings.learning_rate)

        keras.utils.set_random_seed(settings.seed)
        model = run.model(build)
        if not settings.hdf5:
            write_regions(run.path / "valid_regions.bed", parts["valid"])
            write_regions(run.path / "test_regions.bed", parts["test"])
        train = parts["train"]
        logger.info("training FIDDLE on %s (%d replicas): inputs %s; %d training, %d validation "
                    "windows", record.data["device"], devices.replicas, ", ".join(inputs),
                    len(train), len(parts["valid"]))
        fit = FitConfig(settings.epochs, settings.patience, settings.learning_rate,
                        settings.batch_size, settings.seed)
        valid_inputs, valid_target = _as_arrays(view, parts["valid"]) if settings.curve_every \
            else ({}, np.zeros((0, view.length), np.float32))
        curve = LearningCurve(run.path / "learning_curve.csv", len(train), settings.batch_size,
                              settings.curve_every, valid_inputs, valid_target, devices.replicas)
        history = run.fit(
            model, lambda first, n: training_dataset(view, train, settings.batch_size, n,
                                                     settings.seed, first,
                                                     replicas=devices.replicas),
            steps(len(train), settings.batch_size),
            evaluation_dataset(view, parts["valid"], settings.batch_size,
                               replicas=devices.replicas), len(parts["valid"]), fit,
            callbacks=(curve,))
        run.commit()
    return history


def _manifest_windows(settings: FiddleTrainSettings, manifest: TrackManifest,
                      inputs: tuple[str, ...],
                      record: RunRecord) -> tuple[FiddleView, dict[str, Samples]]:
    """The view of the manifest's tracks and the windows around the genes' starts, split into
    "train", "valid" and "test"; the windows' counts recorded."""
    view = fiddle_view(manifest, inputs, settings.target, settings.regions.length,
                       settings.cache, settings.controls, settings.dna_n)
    sizes = view_sizes(view)
    with_data = set.intersection(*(t.per_cell[0].chromosomes
                                   for t in view.tracks + (view.target,)))
    windows = gene_windows(read_genes(settings.genes, sizes), sizes, settings.regions,
                           [name for name in sizes.names if name in with_data])
    dropped = 0
    if settings.missing == "skip":
        windows, dropped = drop_missing(manifest, settings.target, windows,
                                        settings.regions.length)
    record.update(windows=len(windows), windows_dropped_missing=dropped)
    if settings.split == "chromosome":
        parts = split_by_chromosome(windows, ChromSplit(settings.valid_chroms,
                                                        settings.test_chroms).check(sizes), sizes)
    else:
        parts = split_shuffled(windows, settings.n_valid, settings.n_test, settings.seed)
    _refuse_empty_target(view, parts["train"], manifest)
    return view, parts


def _as_arrays(view, windows: Samples) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The view's inputs (name -> (n, L, H)) and targets (n, L) of ``windows``, read once."""
    batches = list(numpy_batches(view, windows, 4096))
    return ({name: np.concatenate([x[name] for x, _ in batches]) for name in batches[0][0]},
            np.concatenate([t for _, t in batches]))


def _refuse_empty_target(view, windows: Samples, manifest: TrackManifest) -> None:
    """A target with no signal in any training window cannot be learnt: say so, naming it."""
    target_only = replace(view, genome=None, tracks=(), controls=())
    for _, profile in numpy_batches(target_only, windows, 4096):
        if (profile.max(axis=1) > profile.min(axis=1)).any():
            return
    raise InputError(f"{manifest.path}: the target track {view.target.name!r} is zero in every "
                     f"one of the {len(windows)} training windows")


def _reload_modules(model: keras.Model, settings: FiddleTrainSettings) -> None:
    """Copy trained modules from ``settings.reload`` into ``model``, frozen or to fine-tune."""
    source_dir = Path(settings.reload)
    source = open_model_folder(source_dir, "fiddle").load_model()
    have = {layer.name[:-len("_module")] for layer in source.layers if layer.name.endswith("_module")}
    mine = [i.name for i in model.inputs]
    wanted = settings.reload_modules or tuple(name for name in mine if name in have)
    if not wanted:
        raise InputError(f"{source_dir}: shares no module with this model: it has modules for "
                         f"{', '.join(sorted(have)) or 'no track'}, this model's inputs are "
                         f"{', '.join(mine)}", setting="reload")
    for name in wanted:
        if name not in have:
            raise InputError(f"{source_dir}: has no module for track {name!r} "
                             f"(it has: {', '.join(sorted(have))})")
        try:
            transfer_module(source, model, name, trainable=not settings.freeze)
        except ValueError as error:
            raise InputError(f"{source_dir}: the {name} module does not fit this model "
                             f"({str(error).splitlines()[0]})") from None
    logger.info("reloaded modules %s from %s (%s)", ", ".join(wanted), source_dir,
                "frozen" if settings.freeze else "fine-tuned")
