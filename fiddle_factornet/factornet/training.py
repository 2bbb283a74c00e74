"""Training FactorNet: data set-up from cell-type folders, its compile choices, and the model
folder it writes through the run layer (:mod:`fiddle_factornet.runs.training`): the original's
``chip.txt``, ``bigwig.txt``, ``feature.txt``, ``meta.txt`` beside the run layer's ``run.json``,
``model.keras`` (best weights), ``best.weights.h5``, ``final.weights.h5``, ``history.json``,
``history.csv`` and TensorBoard ``logs/``."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from .bins import NO_BLACKLIST, NO_BLACKLIST_WARNING, BinGrid, read_blacklist
from .celltype import CellTypeFolder, check_consistent
from ..errors import InputError
from ..data.genome import Genome
from .view import FactorNetView
from ..pipeline import (TrackInput, VectorInput, check_model_inputs, evaluation_dataset, steps,
                        training_dataset)
from .samplers import (MultiTaskSampler, SamplingConfig, SingleTaskSampler, TFPeaks)
from ..data.samples import Samples
from ..data.splits import ChromSplit, DEFAULT_TEST, DEFAULT_VALID
from ..data.tracks import TrackSet
from ..runs.devices import open_devices
from ..runs.record import RunRecord, absolute, describe_device, path_field, settings_record
from ..runs.training import FitConfig, Jitter, TaskConfig, TrainingRun
from .annotations import Annotations
from .model import FactorNetConfig, build_factornet
from .motifs import inject_pwm, read_meme

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """Everything a training run depends on (recorded in the model folder's run.json)."""

    input_dirs: tuple[str, ...] = path_field()
    genome: str = path_field()
    output_dir: str = path_field()
    overwrite: bool = False
    resume: bool = False                # go on with the interrupted run in <output_dir>.partial
    valid_input_dirs: tuple[str, ...] = path_field(())
    valid_chroms: tuple[str, ...] = DEFAULT_VALID
    test_chroms: tuple[str, ...] = DEFAULT_TEST
    factor: str | None = None          # None: multi-task over every TF of the one folder
    blacklist: str | None = path_field(None)  # None: not given (a warning); "none": deliberately
    meta: bool = False
    annotations_dir: str | None = path_field(None)  # folder holding the six annotation BEDs
    annotate_peaks: bool = False       # positives' annotations over the whole peak (the original)
    motif_db: str | None = path_field(None)         # MEME file holding the factor's motif
    epochs: int = 100
    patience: int = 20
    learning_rate: float = 1e-3
    batch_size: int = 100
    negatives: int = 1
    seed: int = 420
    cache: bool | str = True
    autosomes_x: bool = True
    devices: int | str = 1             # a count, or "all" (every GPU): runs.devices
    architecture: FactorNetConfig = field(default_factory=FactorNetConfig)


#: FactorNet's compile choices (the original's): Adam, binary cross-entropy; accuracy and auPR
TASK = TaskConfig("binary_crossentropy", ("binary_accuracy", "auprc"))


def compile_factornet(model: keras.Model, learning_rate: float) -> keras.Model:
    """:data:`TASK` compiled into ``model``."""
    return TASK.compile(model, learning_rate)


@dataclass
class TrainingData:
    """What the model trains on: the view, each epoch's samples, the validation samples."""

    view: FactorNetView
    epoch_samples: Callable[[int], Samples]
    validation: Samples
    tfs: tuple[str, ...]
    folders: tuple[CellTypeFolder, ...]
    valid_folders: tuple[CellTypeFolder, ...]
    architecture: FactorNetConfig


def read_cell_types(settings: TrainSettings) -> tuple[tuple[CellTypeFolder, ...], ...]:
    """The training and validation cell-type folders, read and checked against each other."""
    folders = tuple(CellTypeFolder.read(d) for d in settings.input_dirs)
    valid_folders = tuple(CellTypeFolder.read(d) for d in settings.valid_input_dirs)
    check_consistent(folders + valid_folders)
    if settings.factor is None and (len(folders) != 1 or valid_folders):
        raise InputError("multi-task training (no factor) takes exactly one cell-type folder and "
                         "no validation cell types", setting="input_dirs")
    if settings.meta and not folders[0].meta_names:
        raise InputError(f"{folders[0].path / 'meta.txt'}: no meta features, but the model is to "
                         "use them", setting="meta")
    return folders, valid_folders


def load_training_data(settings: TrainSettings, folders: tuple[CellTypeFolder, ...],
                       valid_folders: tuple[CellTypeFolder, ...]) -> TrainingData:
    """Read the peaks, genome and tracks; set up samplers and the pipeline's view."""
    cells = folders + valid_folders
    genome = Genome(settings.genome, cache=settings.cache)
    sizes = genome.sizes.autosomes_and_x() if settings.autosomes_x else genome.sizes
    split = ChromSplit(settings.valid_chroms, settings.test_chroms).check(sizes)
    arch = settings.architecture
    blacklist = read_blacklist(settings.blacklist, sizes, arch.input_length)
    grid = BinGrid(sizes)
    sampling = SamplingConfig(arch.input_length, settings.negatives, seed=settings.seed)
    annotations = Annotations.read(settings.annotations_dir, sizes) \
        if settings.annotations_dir else None
    if settings.factor is not None:
        tfs = (settings.factor,)
        peaks = [TFPeaks(*folder.peaks(settings.factor, sizes)) for folder in folders]
        valid_peaks = [TFPeaks(*folder.peaks(settings.factor, sizes)) for folder in valid_folders]
        sampler = SingleTaskSampler(grid, peaks, split, blacklist, sampling, valid_peaks or None,
                                    annotations, settings.annotate_peaks)
    else:
        tfs = folders[0].tfs
        sampler = MultiTaskSampler(grid, [TFPeaks(*folders[0].peaks(tf, sizes)) for tf in tfs],
                                   split, blacklist, sampling, annotations)
    vectors = []
    if settings.meta:
        vectors.append(VectorInput("meta", np.array([c.meta_values for c in cells], np.float32)))
    if annotations is not None:
        vectors.append(VectorInput("annotations"))
    tracks = TrackInput("tracks", tuple(TrackSet(c.bigwig_files, c.track_names, settings.cache, sizes=sizes)
                                        for c in cells)) if folders[0].track_names else None
    view = FactorNetView(genome, tracks, tuple(vectors), arch.input_length)
    architecture = replace(arch, n_tracks=len(folders[0].track_names), n_tasks=len(tfs),
                           n_meta=len(folders[0].meta_names) if settings.meta else 0,
                           n_annotations=6 if settings.annotations_dir else 0)
    return TrainingData(view, sampler.epoch, sampler.validation(), tfs, folders, valid_folders,
                        architecture)


def train(settings: TrainSettings) -> dict[str, list[float]]:
    """Train a FactorNet model and write its folder; returns the history.

    An existing folder is refused unless ``overwrite``; it is replaced only when the new one is
    complete (see :mod:`fiddle_factornet.runs.training`). ``devices``: see
    :mod:`fiddle_factornet.runs.devices` (set up first, before the engine starts).
    """
    devices = open_devices(settings.devices)
    folders, valid_folders = read_cell_types(settings)
    blacklist = None if settings.blacklist == NO_BLACKLIST else settings.blacklist
    inputs = [settings.genome, blacklist, settings.annotations_dir, settings.motif_db,
              *(path for folder in folders + valid_folders for path in folder.files)]
    record = RunRecord("factornet training", {**settings_record(settings),
                                              "blacklist": absolute(blacklist) or settings.blacklist},
                       describe_device(), family="factornet", distribution=devices.record())
    if settings.blacklist is None:
        record.update(warnings=[NO_BLACKLIST_WARNING])
    fit = FitConfig(settings.epochs, settings.patience, settings.learning_rate,
                    settings.batch_size, settings.seed)

    with TrainingRun(settings.output_dir, record, settings.overwrite, settings.resume,
                     inputs, devices) as run:
        data = load_training_data(settings, folders, valid_folders)
        motif = _factor_motif(settings, data.architecture) if settings.motif_db else None
        record.update(architecture=asdict(data.architecture), tfs=list(data.tfs))

        def build() -> keras.Model:
            model = build_factornet(data.architecture)
            if motif is not None:
                inject_pwm(model, motif)
            return compile_factornet(model, settings.learning_rate)

        keras.utils.set_random_seed(settings.seed)  # weights, dropout: reproducible from the seed
        model = run.model(build)
        check_model_inputs(model, data.view, data.validation, str(run.path / "checkpoint.keras"))
        _write_description(run.path, settings, data)
        per_epoch_samples = len(data.epoch_samples(0))  # every epoch draws as many
        per_epoch = steps(per_epoch_samples, settings.batch_size)
        logger.info("training on %s (%d replicas): %d samples an epoch (%d batches), %d "
                    "validation samples", record.data["device"], devices.replicas,
                    per_epoch_samples, per_epoch, len(data.validation))
        jitter = Jitter(data.validation, settings.seed)  # multi-task validation: ±20 bp anew
        history = run.fit(
            model, lambda first, n: training_dataset(data.view, data.epoch_samples,
                                                     settings.batch_size, n, settings.seed, first,
                                                     replicas=devices.replicas),
            per_epoch, evaluation_dataset(data.view, data.validation, settings.batch_size,
                                          offsets=jitter.offsets, replicas=devices.replicas),
            len(data.validation), fit, callbacks=[jitter])
        run.commit()
    return history


def _factor_motif(settings: TrainSettings, architecture: FactorNetConfig) -> np.ndarray:
    """The factor's PWM from the MEME file, checked against the kernels."""
    if settings.factor is None:
        raise InputError("a motif to inject needs a factor (single-task training)",
                         setting="motif_db")
    motif = read_meme(settings.motif_db).get(settings.factor.upper())
    if motif is None:
        raise InputError(f"{settings.motif_db}: no motif named {settings.factor}")
    if len(motif) > architecture.kernel_width:
        raise InputError(f"{settings.motif_db}: the {settings.factor} motif is {len(motif)} bp, "
                         f"wider than the kernels ({architecture.kernel_width} bp)",
                         setting="kernel_width")
    return motif


def _write_description(out: Path, settings: TrainSettings, data: TrainingData) -> None:
    """The original's description files: output TFs, track names, features, meta names."""
    features = (["bigwig"] if data.architecture.n_tracks else []) + \
        (["meta"] if settings.meta else []) + (["gencode"] if settings.annotations_dir else [])
    (out / "chip.txt").write_text("".join(f"{tf}\n" for tf in data.tfs))
    (out / "bigwig.txt").write_text("".join(f"{n}\n" for n in data.folders[0].track_names))
    (out / "feature.txt").write_text("".join(f"{f}\n" for f in features))
    if settings.meta:
        (out / "meta.txt").write_text("".join(f"{n}\n" for n in data.folders[0].meta_names))
