"""Training FIDDLE: windows around gene starts, split, the model, its compile choices, and its
folder, written through the run layer (:mod:`fiddle_factornet.runs.training`): ``run.json``
(settings, architecture, inputs, target), ``model.keras`` (best weights), ``best.weights.h5``,
``final.weights.h5``, ``history.json``/``history.csv``, TensorBoard ``logs/``, and FIDDLE's own
``learning_curve.csv`` (held-out KL against training samples seen) and validation and test windows
as BED6 (``valid_regions.bed``, ``test_regions.bed``: chrom, start, end, ., 0, strand).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np

from ..errors import InputError
from ..runs.models import open_model_folder
from ..runs.record import RunRecord, describe_device, path_field, settings_record
from ..runs.training import FitConfig, TaskConfig, TrainingRun
from ..pipeline import evaluation_dataset, numpy_batches, steps, training_dataset
from ..data.samples import Samples
from ..data.splits import ChromSplit, DEFAULT_TEST, DEFAULT_VALID
from ..data.tables import format_rows
from .manifest import TrackManifest, fiddle_view, view_sizes
from .model import FiddleConfig, build_fiddle, transfer_module
from .regions import (RegionConfig, gene_windows, read_genes, region_columns, split_by_chromosome,
                      split_shuffled)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiddleTrainSettings:
    """Everything a FIDDLE training run depends on (recorded in the model folder's run.json)."""

    manifest: str = path_field()
    genes: str = path_field()
    output_dir: str = path_field()
    inputs: tuple[str, ...] = ()       # default: every input track of the manifest
    target: str | None = None          # default: the manifest's target
    controls: tuple[str, ...] = ()     # extra control inputs: "target" and/or "noise"
    overwrite: bool = False
    resume: bool = False               # go on with the interrupted run in <output_dir>.partial
    split: str = "shuffle"             # or "chromosome"
    n_valid: int = 1000
    n_test: int = 1000
    valid_chroms: tuple[str, ...] = DEFAULT_VALID
    test_chroms: tuple[str, ...] = DEFAULT_TEST
    epochs: int = 50
    patience: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    cache: bool | str = True
    regions: RegionConfig = field(default_factory=RegionConfig)
    reload: str | None = path_field(None)  # a trained FIDDLE model folder to take modules from
    reload_modules: tuple[str, ...] = ()  # which tracks' modules (default: every shared one)
    freeze: bool = False               # keep the reloaded modules fixed (else fine-tune them)
    module_filters: tuple[int, int] = (80, 40)
    scaffold_filters: int = 20
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


def train_fiddle(settings: FiddleTrainSettings) -> dict[str, list[float]]:
    """Train a FIDDLE model and write its folder; returns the history."""
    manifest = TrackManifest.read(settings.manifest)
    inputs = settings.inputs or tuple(t.name for t in manifest.role("input"))
    target = settings.target or manifest.role("target")[0].name
    record = RunRecord("fiddle training", settings_record(settings), describe_device(),
                       family="fiddle", inputs=list(inputs), controls=list(settings.controls),
                       target=target)
    sources = [settings.genes, settings.reload, *manifest.files]
    with TrainingRun(settings.output_dir, record, settings.overwrite, settings.resume,
                     sources) as run:
        view = fiddle_view(manifest, inputs, settings.target, settings.regions.length,
                           settings.cache, settings.controls)
        sizes = view_sizes(view)
        with_data = set.intersection(*(t.per_cell[0].chromosomes
                                       for t in view.tracks + (view.target,)))
        windows = gene_windows(read_genes(settings.genes, sizes), sizes, settings.regions,
                               [name for name in sizes.names if name in with_data])
        if settings.split == "chromosome":
            parts = split_by_chromosome(windows, ChromSplit(settings.valid_chroms,
                                                            settings.test_chroms).check(sizes), sizes)
        else:
            parts = split_shuffled(windows, settings.n_valid, settings.n_test, settings.seed)
        _refuse_empty_target(view, parts["train"], manifest)
        rows = tuple((name, shape[1]) for name, shape in view.input_shapes(windows).items())
        architecture = FiddleConfig(rows, settings.regions.length, settings.module_filters,
                                    settings.scaffold_filters, representation=settings.representation,
                                    dropout=settings.dropout)
        record.update(architecture=asdict(architecture))

        def build() -> keras.Model:
            model = build_fiddle(architecture)
            if settings.reload:
                _reload_modules(model, settings)
            return TASK.compile(model, settings.learning_rate)

        keras.utils.set_random_seed(settings.seed)
        model = run.model(build)
        write_regions(run.path / "valid_regions.bed", parts["valid"])
        write_regions(run.path / "test_regions.bed", parts["test"])
        train = parts["train"]
        logger.info("training FIDDLE on %s: inputs %s; %d training, %d validation, %d test windows",
                    record.data["device"], ", ".join(inputs), len(train), len(parts["valid"]),
                    len(parts["test"]))
        fit = FitConfig(settings.epochs, settings.patience, settings.learning_rate,
                        settings.batch_size, settings.seed)
        history = run.fit(
            model, lambda first, n: training_dataset(view, train, settings.batch_size, n,
                                                     settings.seed, first),
            steps(len(train), settings.batch_size),
            evaluation_dataset(view, parts["valid"], settings.batch_size), fit)
        seen = (np.arange(len(history["loss"])) + 1) * len(train)
        (run.path / "learning_curve.csv").write_text("samples_seen,train_kl,valid_kl\n" + "".join(
            f"{s},{t:.6f},{v:.6f}\n" for s, t, v in zip(seen, history["loss"],
                                                         history["val_loss"])))
        run.commit()
    return history


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
    wanted = settings.reload_modules or tuple(i.name for i in model.inputs if i.name in have)
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
