"""Evaluating a FIDDLE model on held-out windows, as the paper did.

Per window: the KL divergence of the target profile from the prediction (both clipped to
[1e-7, 1]) and bin accuracy — the L positions are cut into 10 bins and a prediction is correct when
its argmax falls in the target's bin (``floor(10 * argmax / L)``). Two reference rows on the same
windows: *random* (a uniformly random argmax, about 10 %) and *replicate* (a second TSS-seq
replicate scored as if it were the prediction, when the manifest has one).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..errors import InputError
from ..data.files import atomic_output, check_output
from ..data.genome import ChromSizes
from ..data.intervals import read_bed
from .view import FiddleView
from ..pipeline import evaluation_dataset, numpy_batches
from ..data.samples import Samples
from ..data.tables import fixed_point, format_rows
from .manifest import TrackManifest, fiddle_view, view_sizes
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


def read_regions(path: str | Path, sizes: ChromSizes) -> Samples:
    """Windows from a BED6 (strand in column 6), as written by FIDDLE's training."""
    table = read_bed(path, sizes)
    return Samples.build(sizes.names, sizes.ids(list(table["chrom"])), table["start"], table["end"],
                         0, 0, np.zeros((len(table), 0)),
                         strand=np.where(table["strand"] == "-", -1, 1))


@dataclass(frozen=True)
class ModelOnWindows:
    """A trained FIDDLE model folder, ready to score windows: its model, config, manifest, the
    pipeline view it was trained with, and the windows (its test set, or others given)."""

    model: keras.Model
    config: dict
    manifest: TrackManifest
    view: FiddleView
    samples: Samples

    @classmethod
    def open(cls, model_dir: str | Path, regions: str | None = None,
             manifest: str | None = None) -> "ModelOnWindows":
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file() or not (model_dir / "model.keras").is_file():
            raise InputError(f"{model_dir}: not a FIDDLE model folder (config.json or model.keras "
                             "missing)")
        config = json.loads((model_dir / "config.json").read_text())
        tracks = TrackManifest.read(manifest or config["training"]["manifest"])
        view = fiddle_view(tracks, config["inputs"], config["target"],
                           config["regions"]["length"], "auto", config.get("controls", ()))
        samples = read_regions(regions or model_dir / "test_regions.bed", view_sizes(view))
        return cls(keras.models.load_model(model_dir / "model.keras"), config, tracks, view, samples)


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
                    n_profiles: int = 6, overwrite: bool = False) -> FiddleEvaluation:
    """Score a FIDDLE model folder on its test windows (or ``regions``); write
    PREFIX.regions.tsv, PREFIX.summary.json, PREFIX.learning_curve.png, PREFIX.profiles.png."""
    outputs = {kind: Path(f"{output_prefix}.{kind}") for kind in
               ("regions.tsv", "summary.json", "learning_curve.png", "profiles.png")}
    for path in outputs.values():
        check_output(path, overwrite)
    scored = ModelOnWindows.open(model_dir, regions, manifest)
    tracks, samples = scored.manifest, scored.samples
    # one pass through the pipeline: each batch's inputs predicted, its targets kept
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
    replicates = tracks.role("replicate")
    if replicates:
        replicate_view = fiddle_view(tracks, (), replicates[0].name, target.shape[1], "auto")
        replicate = np.concatenate([t for _, t in numpy_batches(replicate_view, samples, 4096)])
        rows["replicate"] = {"bin_accuracy": float(np.mean(profile_bins(replicate) == truth)),
                             "mean_kl": float(kl_per_region(target, replicate).mean())}
    evaluation = FiddleEvaluation(len(samples), rows)
    _write_regions_table(outputs["regions.tsv"], samples, kl, predicted, truth, overwrite)
    with atomic_output(outputs["summary.json"], overwrite) as tmp:
        tmp.write_text(json.dumps({"windows": len(samples), **rows}, indent=1))
    _plot_learning_curve(Path(model_dir) / "learning_curve.csv", outputs["learning_curve.png"],
                         overwrite)
    _plot_profiles(target[:n_profiles], prediction[:n_profiles], samples.take(slice(n_profiles)),
                   outputs["profiles.png"], overwrite)
    logger.info("evaluated %s on %d windows:\n%s", model_dir, len(samples), evaluation.table())
    return evaluation


def _write_regions_table(path: Path, samples: Samples, kl, predicted, truth, overwrite) -> None:
    body = format_rows([*region_columns(samples), fixed_point(kl), predicted, truth,
                        (predicted == truth).astype(np.int64)])
    with atomic_output(path, overwrite) as tmp:
        tmp.write_bytes(b"chrom\tstart\tend\tstrand\tkl\tpredicted_bin\ttarget_bin\tcorrect\n" + body)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_learning_curve(curve_csv: Path, path: Path, overwrite: bool) -> None:
    data = np.genfromtxt(curve_csv, delimiter=",", names=True, ndmin=1)
    plt = _figure()
    figure, axes = plt.subplots(figsize=(5, 3.5))
    axes.plot(data["samples_seen"], data["train_kl"], marker="o", label="training")
    axes.plot(data["samples_seen"], data["valid_kl"], marker="o", label="held out")
    axes.set(xlabel="training samples seen", ylabel="KL divergence", title="Learning curve")
    axes.legend()
    figure.tight_layout()
    with atomic_output(path, overwrite) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)


def _plot_profiles(target, prediction, samples: Samples, path: Path, overwrite: bool) -> None:
    plt = _figure()
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
    with atomic_output(path, overwrite) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
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
