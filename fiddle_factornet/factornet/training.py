"""Training FactorNet: data set-up from cell-type folders, compile settings, callbacks, and the
model folder it writes (``chip.txt``, ``bigwig.txt``, ``feature.txt``, ``meta.txt``, ``config.json``,
``model.keras`` with the best weights, ``best.weights.h5``, ``final.weights.h5``, ``history.json``,
``history.csv``, TensorBoard ``logs/``)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from .bins import BinGrid, make_blacklist
from ..callbacks import build_callbacks, describe_devices
from .celltype import CellTypeFolder, check_consistent
from ..errors import InputError
from ..data.genome import Genome
from ..data.intervals import IntervalSet
from .view import FactorNetView
from ..pipeline import TrackInput, VectorInput, evaluation_dataset, steps, training_dataset
from .samplers import (MultiTaskSampler, SamplingConfig, SingleTaskSampler, TFPeaks)
from ..data.samples import Samples
from ..data.splits import ChromSplit, DEFAULT_TEST, DEFAULT_VALID
from ..data.tracks import TrackSet
from .annotations import Annotations
from .model import FactorNetConfig, build_factornet
from .motifs import inject_pwm, read_meme

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """Everything a training run depends on (written to the model folder's config.json)."""

    input_dirs: tuple[str, ...]
    genome: str
    output_dir: str
    overwrite: bool = False
    valid_input_dirs: tuple[str, ...] = ()
    valid_chroms: tuple[str, ...] = DEFAULT_VALID
    test_chroms: tuple[str, ...] = DEFAULT_TEST
    factor: str | None = None          # None: multi-task over every TF of the one folder
    blacklist: str | None = None
    meta: bool = False
    annotations_dir: str | None = None  # -g: folder holding the six annotation BEDs
    motif_db: str | None = None         # -mo: MEME file holding the factor's motif
    epochs: int = 100
    patience: int = 20
    learning_rate: float = 1e-3
    batch_size: int = 100
    negatives: int = 1
    seed: int = 420
    cache: bool | str = True
    autosomes_x: bool = True
    architecture: FactorNetConfig = field(default_factory=FactorNetConfig)


def compile_factornet(model: keras.Model, learning_rate: float) -> keras.Model:
    """Adam and binary cross-entropy, as the original; accuracy and auPR as metrics."""
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy",
                  metrics=["binary_accuracy", keras.metrics.AUC(curve="PR", name="auprc")])
    return model


@dataclass
class TrainingData:
    """What the model trains on: the view, each epoch's samples, the validation samples."""

    view: FactorNetView
    epoch_samples: Callable[[int], Samples]
    validation: Samples
    tfs: tuple[str, ...]
    folders: tuple[CellTypeFolder, ...]
    architecture: FactorNetConfig


def load_training_data(settings: TrainSettings) -> TrainingData:
    """Read the folders, peaks, genome and tracks; set up samplers and the pipeline's view."""
    folders = tuple(CellTypeFolder.read(d) for d in settings.input_dirs)
    valid_folders = tuple(CellTypeFolder.read(d) for d in settings.valid_input_dirs)
    cells = folders + valid_folders
    check_consistent(cells)
    if settings.factor is None and (len(folders) != 1 or valid_folders):
        raise InputError("multi-task training (no -f) takes exactly one cell-type folder and no -vi")
    if settings.meta and not folders[0].meta_names:
        raise InputError(f"{folders[0].path / 'meta.txt'}: -m needs meta features, found none")
    genome = Genome(settings.genome, cache=settings.cache)
    sizes = genome.sizes.autosomes_and_x() if settings.autosomes_x else genome.sizes
    split = ChromSplit(settings.valid_chroms, settings.test_chroms).check(sizes)
    arch = settings.architecture
    blacklist = make_blacklist(IntervalSet.read(settings.blacklist, sizes) if settings.blacklist
                               else IntervalSet({}), sizes, arch.input_length)
    grid = BinGrid(sizes)
    sampling = SamplingConfig(arch.input_length, settings.negatives, seed=settings.seed)
    if settings.factor is not None:
        tfs = (settings.factor,)
        peaks = [TFPeaks(*folder.peaks(settings.factor, sizes)) for folder in folders]
        valid_peaks = [TFPeaks(*folder.peaks(settings.factor, sizes)) for folder in valid_folders]
        sampler = SingleTaskSampler(grid, peaks, split, blacklist, sampling, valid_peaks or None)
    else:
        tfs = folders[0].tfs
        sampler = MultiTaskSampler(grid, [TFPeaks(*folders[0].peaks(tf, sizes)) for tf in tfs],
                                   split, blacklist, sampling)
    vectors = []
    if settings.meta:
        vectors.append(VectorInput("meta", np.array([c.meta_values for c in cells], np.float32)))
    epoch_samples, validation = sampler.epoch, sampler.validation()
    if settings.annotations_dir:
        annotations = Annotations.read(settings.annotations_dir, sizes)
        epoch_samples = lambda epoch: annotations.annotate(sampler.epoch(epoch))  # noqa: E731
        validation = annotations.annotate(validation)
        vectors.append(VectorInput("annotations"))
    tracks = TrackInput("tracks", tuple(TrackSet(c.bigwig_files, c.track_names, cache=settings.cache)
                                        for c in cells)) if folders[0].track_names else None
    view = FactorNetView(genome, tracks, tuple(vectors), arch.input_length)
    architecture = replace(arch, n_tracks=len(folders[0].track_names), n_tasks=len(tfs),
                           n_meta=len(folders[0].meta_names) if settings.meta else 0,
                           n_annotations=6 if settings.annotations_dir else 0)
    return TrainingData(view, epoch_samples, validation, tfs, folders, architecture)


def train(settings: TrainSettings) -> dict[str, list[float]]:
    """Train a FactorNet model and write its folder; returns the history.

    An existing folder is refused unless ``overwrite``; the folder is made only once every input
    has been read and checked.
    """
    out = Path(settings.output_dir)
    if out.exists() and not settings.overwrite:
        raise InputError(f"{out}: output folder exists; use -oc to overwrite it")
    data = load_training_data(settings)
    keras.utils.set_random_seed(settings.seed)  # weights, dropout: reproducible from the seed
    model = build_factornet(data.architecture)
    if settings.motif_db:
        if settings.factor is None:
            raise InputError("-mo needs a factor (-f) whose motif to inject")
        motif = read_meme(settings.motif_db).get(settings.factor.upper())
        if motif is None:
            raise InputError(f"{settings.motif_db}: no motif named {settings.factor}")
        if len(motif) > data.architecture.kernel_width:
            raise InputError(f"{settings.motif_db}: the {settings.factor} motif is {len(motif)} bp, "
                             f"wider than the kernels (-w {data.architecture.kernel_width})")
        inject_pwm(model, motif)
    compile_factornet(model, settings.learning_rate)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _write_description(out, settings, data)
    per_epoch_samples = len(data.epoch_samples(0))  # every epoch draws as many
    per_epoch = steps(per_epoch_samples, settings.batch_size)
    train_data = training_dataset(data.view, data.epoch_samples, settings.batch_size,
                                  settings.epochs, settings.seed)
    valid_data = evaluation_dataset(data.view, data.validation, settings.batch_size)
    logger.info("training on %s: %d samples an epoch (%d batches), %d validation samples",
                describe_devices(), per_epoch_samples, per_epoch, len(data.validation))
    history = model.fit(train_data, epochs=settings.epochs, steps_per_epoch=per_epoch,
                        validation_data=valid_data, callbacks=build_callbacks(out, settings.patience),
                        shuffle=False, verbose=1 if sys.stderr.isatty() else 2)
    model.save_weights(out / "final.weights.h5")
    model.load_weights(out / "best.weights.h5")
    model.save(out / "model.keras")
    history = {key: [float(v) for v in values] for key, values in history.history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=1))
    logger.info("model folder written: %s (best val_loss %.4f)", out, min(history["val_loss"]))
    return history


def _write_description(out: Path, settings: TrainSettings, data: TrainingData) -> None:
    """The original's description files and the resolved configuration."""
    features = (["bigwig"] if data.architecture.n_tracks else []) + \
        (["meta"] if settings.meta else []) + (["gencode"] if settings.annotations_dir else [])
    (out / "chip.txt").write_text("".join(f"{tf}\n" for tf in data.tfs))
    (out / "bigwig.txt").write_text("".join(f"{n}\n" for n in data.folders[0].track_names))
    (out / "feature.txt").write_text("".join(f"{f}\n" for f in features))
    if settings.meta:
        (out / "meta.txt").write_text("".join(f"{n}\n" for n in data.folders[0].meta_names))
    config = {"architecture": asdict(data.architecture),
              "training": {k: v for k, v in asdict(settings).items() if k != "architecture"}}
    (out / "config.json").write_text(json.dumps(config, indent=1))
