"""Evaluating a FIDDLE model on held-out windows, as the paper did.

Per window: the KL divergence of the target profile from the prediction (both clipped to
[1e-7, 1]) and bin accuracy — the L positions are cut into 10 bins and a prediction is correct when
its argmax falls in the target's bin (``floor(10 * argmax / L)``). Two reference rows on the same
windows: *random* (a uniformly random argmax, about 10 %) and *replicate* (a second TSS-seq
replicate scored as if it were the prediction, when the manifest has one).

The windows are the model's test windows or others given (BED6), each exactly as wide as the
model's window; they are read as the model was trained (its ``dna_n``), and, when it left out
windows holding missing values (``missing="skip"``), such windows are left out here too. Or they
are the rows of one of the authors' HDF5 files (:mod:`.published`): by default, for a model
trained from such files, every row of its test file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import keras
import numpy as np

from ..errors import InputError
from ..runs.models import ModelFolder, open_model_folder
from ..runs.outputs import recorded_outputs
from ..runs.record import RunRecord, absolute, describe_device
from ..data.genome import ChromSizes
from ..data.intervals import read_bed
from .view import FiddleView
from ..pipeline import check_model_inputs, evaluation_dataset, numpy_batches, reader_errors
from ..data.samples import Samples
from ..data.tables import fixed_point, format_rows
from .manifest import TrackManifest, drop_missing, fiddle_view, view_sizes
from .published import PublishedView, file_rows, split_files
from .regions import region_columns

logger = logging.getLogger(__name__)

N_BINS = 10
EPSILON = 1e-7


def kl_per_region(target: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """(n, L), (n, L) -> (n,) KL(target || prediction), both clipped to [1e-7, 1]."""
    t = np.clip(target, EPSILON, 1.0)
    p = np.clip(prediction, EPSILON, 1.0)
    return np.sum(t * np.log(t / p), axis=1)


def profile_bins(profiles: np.ndarray) -> np.ndarray:
    """(n, L) -> (n,) the bin (of 10) holding each profile's maximum."""
    return profiles.argmax(axis=1) * N_BINS // profiles.shape[1]


def read_regions(path: str | Path, sizes: ChromSizes, length: int | None = None) -> Samples:
    """Windows from a BED6 (strand in column 6), as written by FIDDLE's training; with
    ``length``, a window of another width is an InputError naming the file, line and width."""
    table = read_bed(path, sizes)
    if not len(table):
        raise InputError(f"{path}: no windows (the file has no BED rows)", setting="regions")
    if "strand" not in table:
        raise InputError(f"{path}: line {table['line'].iloc[0]}: a window needs its strand "
                         "(BED6: chrom, start, end, name, score, strand)", setting="regions")
    if length is not None:
        width = (table["end"] - table["start"]).to_numpy()
        wrong = np.flatnonzero(width != length)
        if len(wrong):
            row = table.iloc[wrong[0]]
            raise InputError(f"{path}: line {row['line']}: window {row['chrom']}:{row['start']}-"
                             f"{row['end']} is {width[wrong[0]]} bp wide, not the model's "
                             f"{length} bp ({len(wrong)} of {len(table)} windows are)",
                             setting="regions")
    return Samples.build(sizes.names, sizes.ids(list(table["chrom"])), table["start"], table["end"],
                         0, 0, np.zeros((len(table), 0)),
                         strand=np.where(table["strand"] == "-", -1, 1))


@dataclass(frozen=True)
class ModelOnWindows:
    """A trained FIDDLE model folder, ready to score windows: its model, config, manifest (None
    for the rows of an HDF5 file), the pipeline view it was trained with, and the windows (its
    test set, or others given) with their file (a BED6, or the HDF5 file)."""

    folder: ModelFolder
    manifest: TrackManifest | None
    view: FiddleView | PublishedView
    samples: Samples
    regions: Path
    dropped: int = 0  # windows left out for holding missing values

    @classmethod
    def open(cls, model_dir: str | Path, regions: str | None = None,
             manifest: str | None = None, hdf5: str | None = None) -> "ModelOnWindows":
        """The windows of ``regions`` (BED6) read through ``manifest``, or the rows of the HDF5
        file ``hdf5``; by default the model's test windows, read as it was trained."""
        folder = open_model_folder(model_dir, "fiddle")
        record = folder.record
        settings = record["settings"]
        if hdf5 is not None or (settings.get("hdf5") and regions is None and manifest is None):
            if regions is not None or manifest is not None:
                raise InputError("score the windows of a BED through a manifest, or the rows of "
                                 "an HDF5 file, not both", setting="hdf5")
            path = Path(hdf5) if hdf5 is not None else split_files(settings["hdf5"])["test"]
            if path is None:
                raise InputError(f"{folder.path}: trained from HDF5 datasets without a test "
                                 "file: name the file whose rows to score", setting="hdf5")
            view, samples = file_rows(path, record["inputs"], record["target"],
                                      record.get("controls", ()))
            return cls(folder, None, view, samples, path)
        length = settings["regions"]["length"]
        tracks = TrackManifest.read(manifest or settings["manifest"])
        # a record without them was made before these settings: N was 0, NaN read as 0
        view = fiddle_view(tracks, record["inputs"], record["target"], length, "auto",
                           record.get("controls", ()), settings.get("dna_n", 0.0))
        regions = Path(regions or folder.path / "test_regions.bed")
        samples = read_regions(regions, view_sizes(view), length)
        dropped = 0
        if settings.get("missing", "zero") == "skip":
            samples, dropped = drop_missing(tracks, record["target"], samples, length)
        return cls(folder, tracks, view, samples, regions, dropped)

    @cached_property
    def model(self) -> keras.Model:
        return self.folder.load_model()

    def inputs(self) -> list[Path]:
        """The files this scoring reads: the model folder, the windows, the tracks."""
        return [self.folder.path, self.regions, *(self.manifest.files if self.manifest else ())]

    def record(self, what: str, **settings) -> RunRecord:
        """The run record of a command that scores this model on these windows."""
        return RunRecord(what, {"model_dir": absolute(self.folder.path),
                                "regions": absolute(self.regions),
                                "manifest": absolute(self.manifest and self.manifest.path),
                                **settings},
                         describe_device(), windows=len(self.samples),
                         windows_dropped_missing=self.dropped)


@dataclass(frozen=True)
class FiddleEvaluation:
    """Figures on the evaluated windows: per-row (prediction, random, replicate) summaries."""

    n_windows: int
    rows: dict[str, dict[str, float]]  # row -> {"bin_accuracy": ..., "mean_kl": ...}

    def table(self) -> str:
        lines = [f"{self.n_windows} windows", f"{'':12s} {'bin accuracy':>12s} {'mean KL':>9s}"]
        for name, figures in self.rows.items():
            kl = figures.get("mean_kl")
            lines.append(f"{name:12s} {figures['bin_accuracy']:12.1%} "
                         f"{'' if kl is None else f'{kl:9.4f}'}")
        return "\n".join(lines)


def evaluate_fiddle(model_dir: str | Path, output_prefix: str | Path, regions: str | None = None,
                    manifest: str | None = None, batch_size: int = 64, seed: int = 0,
                    n_profiles: int = 6, overwrite: bool = False,
                    hdf5: str | None = None) -> FiddleEvaluation:
    """Score a FIDDLE model folder on its test windows (or ``regions``, or the rows of the HDF5
    file ``hdf5``); write PREFIX.regions.tsv, PREFIX.summary.json, PREFIX.learning_curve.png,
    PREFIX.profiles.png."""
    kinds = ("regions.tsv", "summary.json", "learning_curve.png", "profiles.png")
    scored = ModelOnWindows.open(model_dir, regions, manifest, hdf5)
    record = scored.record("fiddle evaluation", batch_size=batch_size, seed=seed,
                           n_profiles=n_profiles, output_prefix=absolute(output_prefix))
    with recorded_outputs([f"{output_prefix}.{kind}" for kind in kinds], record, overwrite,
                          scored.inputs(), record_at=f"{output_prefix}.run.json") as tmps:
        outputs = dict(zip(kinds, tmps))
        evaluation = _evaluate_into(scored, outputs, batch_size, seed, n_profiles)
    logger.info("evaluated %s on %d windows:\n%s", model_dir, len(scored.samples),
                evaluation.table())
    return evaluation


def _evaluate_into(scored: ModelOnWindows, outputs: dict[str, Path], batch_size: int, seed: int,
                   n_profiles: int) -> FiddleEvaluation:
    tracks, samples = scored.manifest, scored.samples
    # one pass through the pipeline: each batch's inputs predicted, its targets kept
    check_model_inputs(scored.model, scored.view, samples,
                       str(scored.folder.path / "model.keras"))
    with reader_errors():
        pairs = [(scored.model.predict_on_batch(x), y) for x, y in
                 evaluation_dataset(scored.view, samples, batch_size)]
    prediction = np.concatenate([np.asarray(p) for p, _ in pairs])
    target = np.concatenate([np.asarray(t) for _, t in pairs])
    kl = kl_per_region(target, prediction)
    truth, predicted = profile_bins(target), profile_bins(prediction)
    rng = np.random.default_rng(seed)
    rows = {"prediction": {"bin_accuracy": float(np.mean(predicted == truth)),
                           "mean_kl": float(kl.mean())},
            "random": {"bin_accuracy": float(np.mean(
                rng.integers(0, target.shape[1], len(target)) * N_BINS // target.shape[1] == truth))}}
    replicates = tracks.role("replicate") if tracks is not None else ()
    if replicates:
        replicate_view = fiddle_view(tracks, (), replicates[0].name, target.shape[1], "auto")
        replicate = np.concatenate([t for _, t in numpy_batches(replicate_view, samples, 4096)])
        rows["replicate"] = {"bin_accuracy": float(np.mean(profile_bins(replicate) == truth)),
                             "mean_kl": float(kl_per_region(target, replicate).mean())}
    evaluation = FiddleEvaluation(len(samples), rows)
    _write_regions_table(outputs["regions.tsv"], samples, kl, predicted, truth)
    outputs["summary.json"].write_text(json.dumps({"windows": len(samples), **rows}, indent=1))
    _plot_learning_curve(scored.folder.path / "learning_curve.csv", outputs["learning_curve.png"])
    _plot_profiles(target[:n_profiles], prediction[:n_profiles], samples.take(slice(n_profiles)),
                   outputs["profiles.png"])
    return evaluation


def _write_regions_table(path: Path, samples: Samples, kl, predicted, truth) -> None:
    body = format_rows([*region_columns(samples), fixed_point(kl), predicted, truth,
                        (predicted == truth).astype(np.int64)])
    path.write_bytes(b"chrom\tstart\tend\tstrand\tkl\tpredicted_bin\ttarget_bin\tcorrect\n" + body)


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_learning_curve(curve_csv: Path, path: Path) -> None:
    """Training and held-out KL against training samples seen (markers when few points)."""
    data = np.genfromtxt(curve_csv, delimiter=",", names=True, ndmin=1)
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(5, 3.5))
    marker = "o" if len(data) <= 30 else None
    axes.plot(data["samples_seen"], data["train_kl"], marker=marker, label="training")
    axes.plot(data["samples_seen"], data["valid_kl"], marker=marker, label="held out")
    axes.set(xlabel="training samples seen", ylabel="KL divergence", title="Learning curve")
    axes.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k" if abs(x) >= 1000 else f"{x:g}")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=120)
    plt.close(figure)


def _plot_profiles(target, prediction, samples: Samples, path: Path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(len(target), 1, figsize=(7, 1.6 * len(target)), sharex=True,
                                squeeze=False)
    for row, ax in enumerate(axes[:, 0]):
        ax.plot(target[row], color="black", label="target (TSS-seq)")
        ax.plot(prediction[row], color="tab:red", label="prediction")
        name = samples.chrom_names[samples.chrom[row]]
        ax.set_title(f"{name}:{samples.start[row]}-{samples.end[row]} "
                     f"({'-' if samples.strand[row] < 0 else '+'})", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    axes[-1, 0].set_xlabel("position in the window, gene's orientation (bp)")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)


def study_table(summaries: dict[str, str | Path]) -> str:
    """Bin accuracy and mean KL of several models evaluated on the same windows (their
    ``.summary.json`` by model name), between the random row and the replicate row."""
    loaded = {name: json.loads(Path(path).read_text()) for name, path in summaries.items()}
    first = next(iter(loaded.values()))
    if any(s["windows"] != first["windows"] for s in loaded.values()):
        raise InputError("the summaries compared were made on different numbers of windows")
    lines = [f"{first['windows']} held-out windows",
             f"{'model':24s} {'bin accuracy':>12s} {'mean KL':>9s}",
             f"{'random':24s} {first['random']['bin_accuracy']:12.1%}"]
    lines += [f"{name:24s} {s['prediction']['bin_accuracy']:12.1%} {s['prediction']['mean_kl']:9.4f}"
              for name, s in loaded.items()]
    if "replicate" in first:
        lines.append(f"{'replicate':24s} {first['replicate']['bin_accuracy']:12.1%} "
                     f"{first['replicate']['mean_kl']:9.4f}")
    return "\n".join(lines)
