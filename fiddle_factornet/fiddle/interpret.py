"""Reading a trained FIDDLE model on given windows: which input its predicted peak leans on, and
what each module passes to the scaffold.

**Score.** For each window, the predicted probability at the peak of its predicted profile,
``S(x) = prediction(x)[peak]``; the peak (argmax of the prediction on the real inputs) is fixed
before differentiating or editing, so S is one smooth function of the inputs per window.

**Attributions** of S to every input track, each shaped like the track's input, (n, L, H), in the
window's own orientation (the gene's: position 0 is the window's 5' end on the gene's strand, so a
minus-strand window runs from ``end - 1`` down to ``start``; its DNA is reverse-complemented;
stranded tracks' rows are (gene's strand, other strand)):

- ``gradient``: dS/dx;
- ``gradxinput``: x * dS/dx;
- ``ism`` (in-silico mutagenesis): S(edited) - S(x) for single edits. DNA: each position set to
  each base's one-hot other than its own ([p, b]: the effect of base b at p; 0 at the reference
  base; at an N, FIDDLE's 0.25 row, all four bases are edits). Signal tracks: each value set to 0
  in turn, "no reads here" ([p, h]; 0 where the value is 0 already). The edits run in batches;
  only the edited track's module and the scaffold run again, the other modules' representations
  are computed once per window.

**Summary**: per window and track, the total |gradient x input| over the track and its share of
the total over all tracks (which input the peak leans on); with ISM, the same from |ISM|.

**Files** (:func:`attribute_windows`): ``attributions.h5``: per window ``chrom``, ``start``,
``end``, ``strand``, ``peak``, ``score`` (n,) and ``prediction`` (n, L); per track and method
``<track>/<method>`` (n, L, H), the group's ``rows`` attribute naming the rows;
``representations.h5`` (below); ``summary.tsv``; ``plots/``, one PNG per window (the first N):
target and predicted profiles with the peak marked, each track's gradient x input beneath.

**Representations** (the original's ``analysis.py`` wrote ``representations.h5``, one dataset per
input track holding its module's representation, rows in the test set's order, and the
predictions to ``predictions.h5``): here, one dataset per input track, (n, R), the output of its
module's last layer ``<track>_representation``; ``scaffold_input``, (n, R, N), the
representations stacked in the order of the ``tracks`` attribute, which the scaffold convolves;
``prediction``, (n, L); and the windows' ``chrom``, ``start``, ``end``, ``strand``. (The
original also wrote ``decoder_<target>``, its scaffold's own dense representation: our scaffold,
the paper's, has no such layer.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Mapping, Sequence

import h5py
import keras
import numpy as np
from tqdm.auto import tqdm

from ..data.genome import BASES
from ..data.samples import Samples
from ..data.tables import fixed_point, format_rows, scientific
from ..errors import InputError
from ..interpret.attribution import variant_scores
from ..interpret.gradients import input_gradients
from ..pipeline import check_model_inputs, numpy_batches
from ..runs.outputs import safe_output
from ..runs.record import RECORD_NAME, absolute
from .evaluation import ModelOnWindows, pyplot
from .regions import region_columns

logger = logging.getLogger(__name__)

#: attribution methods, in the order they are computed and written
METHODS = ("gradient", "gradxinput", "ism")
#: the extra input of :class:`PeakScore` (no track has this name)
PEAK = "_peak_position"

#: what the score is, as written into attributions.h5
SCORE = "predicted probability at the peak (argmax) of the predicted profile, peak fixed"


@dataclass(frozen=True)
class FiddleParts:
    """A FIDDLE model cut at its representations: ``modules``, track -> sub-model
    (n, L, H) -> (n, R); ``scaffold``, (n, R, N) -> (n, L), whose input is the representations
    stacked in ``tracks`` order."""

    model: keras.Model
    tracks: tuple[str, ...]
    modules: dict[str, keras.Model]
    scaffold: keras.Model

    @classmethod
    def of(cls, model: keras.Model) -> "FiddleParts":
        tracks = tuple(layer.name[:-len("_module")] for layer in model.layers
                       if layer.name.endswith("_module"))
        scaffold = keras.Model(model.get_layer("scaffold_conv").input, model.output,
                               name="scaffold")
        return cls(model, tracks, {name: model.get_layer(f"{name}_module") for name in tracks},
                   scaffold)

    def representations(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One batch through the model: {track: (n, R), "scaffold_input": (n, R, N),
        "prediction": (n, L)} from the inputs (track -> (n, L, H))."""
        result = {name: np.asarray(self.modules[name].predict_on_batch(inputs[name]))
                  for name in self.tracks}
        stacked = np.stack([result[name] for name in self.tracks], axis=-1)
        return {**result, "scaffold_input": stacked,
                "prediction": np.asarray(self.scaffold.predict_on_batch(stacked))}


def check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    """The methods asked for, in :data:`METHODS` order; an unknown one is an InputError."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown attribution method {unknown[0]!r}: choose from "
                         f"{', '.join(METHODS)}", setting="methods")
    if not methods:
        raise InputError(f"no attribution method given: choose from {', '.join(METHODS)}",
                         setting="methods")
    return tuple(m for m in METHODS if m in methods)


@dataclass(frozen=True)
class PeakScore:
    """The predicted probability at a given position of each window: (n,) backend tensor of the
    model's inputs plus ``PEAK`` (n, L), a one-hot row marking each window's position. One object
    per model (equal ones compare equal), so its compiled gradient is reused."""

    model: keras.Model

    def __call__(self, tensors: dict):
        inputs = {name: value for name, value in tensors.items() if name != PEAK}
        return keras.ops.sum(self.model(inputs, training=False) * tensors[PEAK], axis=1)


def peak_gradients(model: keras.Model, inputs: Mapping[str, np.ndarray],
                   peaks: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Scores S = prediction[peak], (n,), and dS/dx for every input, track -> (n, L, H).

    ``peaks``: (n,) the fixed position of each window's score."""
    length = model.output.shape[-1]
    marks = np.eye(length, dtype=np.float32)[peaks]
    return input_gradients(PeakScore(model), {**inputs, PEAK: marks}, list(inputs))


def ism_edits(x: np.ndarray, dna: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The single edits of ISM on one track's inputs ``x`` (n, L, H): window, position and row
    (the base, for DNA) of each edit, (m,) each, and the edited position's new row, (m, H).

    DNA: each position's row becomes each base's one-hot that differs from it; a signal track:
    each value that is not 0 becomes 0."""
    n, length, rows = x.shape
    eye = np.eye(rows, dtype=x.dtype)
    if dna:
        candidates = np.broadcast_to(eye, (n, length, rows, rows))
        changed = (x[:, :, None, :] != candidates).any(axis=-1)
    else:
        candidates = x[:, :, None, :] * (1 - eye)  # [w, p, h]: the row with value h set to 0
        changed = x != 0
    window, position, row = np.nonzero(changed)
    return window, position, row, candidates[window, position, row]


def in_silico_mutagenesis(parts: FiddleParts, inputs: Mapping[str, np.ndarray],
                          peaks: np.ndarray, base: Mapping[str, np.ndarray],
                          dna: Collection[str] = ("dna",),
                          batch_size: int = 128) -> dict[str, np.ndarray]:
    """S(edited) - S(x) for every single edit of every track (see :func:`ism_edits`): track ->
    (n, L, H), 0 where no edit applies.

    ``base``: :meth:`FiddleParts.representations` of ``inputs``; ``peaks`` (n,); ``dna``: the
    names of DNA inputs. Edits of one track go through its module and the scaffold only, in
    batches of ``batch_size``."""
    reference = base["prediction"][np.arange(len(peaks)), peaks]
    held = {"scaffold_input": base["scaffold_input"], "peak": peaks}
    effects = {}
    for column, name in enumerate(parts.tracks):
        window, position, row, new_rows = ism_edits(inputs[name], name in dna)
        effect = np.zeros(inputs[name].shape, np.float32)
        effect[window, position, row] = variant_scores(
            _edited_score(parts, column), {**held, "track": inputs[name]}, "track", window,
            position, new_rows, chunk=batch_size) - reference[window]
        effects[name] = effect
    return effects


def _edited_score(parts: FiddleParts, column: int):
    """The scores of windows whose track ``parts.tracks[column]`` was edited, for
    :func:`~fiddle_factornet.interpret.attribution.variant_scores`: {"track": (m, L, H) edited
    inputs, "scaffold_input": (m, R, N) the windows' representations, "peak": (m,)} -> (m,)."""
    module = parts.modules[parts.tracks[column]]

    def score(batch: dict) -> np.ndarray:
        stacked = batch["scaffold_input"]  # the windows' own copy
        stacked[..., column] = module.predict_on_batch(batch["track"])
        profile = np.asarray(parts.scaffold.predict_on_batch(stacked))
        return profile[np.arange(len(profile)), batch["peak"]]

    return score


@dataclass(frozen=True)
class PeakAttributions:
    """One batch of n windows: ``representations`` (see :meth:`FiddleParts.representations`),
    ``peak`` (n,) and ``score`` (n,), and ``methods``: method -> track -> (n, L, H)."""

    representations: dict[str, np.ndarray]
    peak: np.ndarray
    score: np.ndarray
    methods: dict[str, dict[str, np.ndarray]]


def attribute_peaks(parts: FiddleParts, inputs: Mapping[str, np.ndarray], ism: bool = True,
                    dna: Collection[str] = ("dna",), batch_size: int = 128) -> PeakAttributions:
    """Representations, peaks, scores, gradient and gradient x input (and ISM with ``ism``) of
    one batch of windows' inputs (track -> (n, L, H)); ``dna``: the names of DNA inputs."""
    base = parts.representations(inputs)
    peaks = base["prediction"].argmax(axis=1)
    scores, gradients = peak_gradients(parts.model, inputs, peaks)
    methods = {"gradient": gradients,
               "gradxinput": {name: gradients[name] * inputs[name] for name in parts.tracks}}
    if ism:
        methods["ism"] = in_silico_mutagenesis(parts, inputs, peaks, base, dna, batch_size)
    return PeakAttributions(base, peaks, scores, methods)


def track_totals(attributions: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per track, the total |attribution| of each window, (n,), and its share of the total over
    all tracks, (n,) (0 where every track's total is 0)."""
    totals = {name: np.abs(a).sum(axis=(1, 2), dtype=np.float64) for name, a in attributions.items()}
    whole = sum(totals.values())
    safe = np.where(whole > 0, whole, 1.0)
    return {name: (total, np.where(whole > 0, total / safe, 0.0)) for name, total in totals.items()}


def attribute_windows(model_dir: str | Path, output_dir: str | Path, regions: str | None = None,
                      manifest: str | None = None, methods: Sequence[str] = METHODS,
                      batch_size: int = 128, n_plots: int = 6,
                      overwrite: bool = False) -> Path:
    """Attribute a FIDDLE model folder's predicted peaks to its inputs on its test windows (or
    ``regions``, BED6 as wide as the model's window) and export the modules' representations.

    Writes the folder ``output_dir``: attributions.h5, representations.h5, summary.tsv,
    ``plots/`` (the first ``n_plots`` windows) and run.json."""
    methods = check_methods(methods)
    scored = ModelOnWindows.open(model_dir, regions, manifest)
    if not len(scored.samples):
        raise InputError(f"{scored.regions}: no windows to attribute", setting="regions")
    record = scored.record("fiddle attribution", methods=list(methods), batch_size=batch_size,
                           n_plots=n_plots, output_dir=absolute(output_dir))
    with safe_output(output_dir, overwrite, scored.inputs()) as tmp:
        tmp.mkdir()
        _attribute_into(scored, tmp, methods, batch_size, n_plots)
        record.update(outputs=[absolute(output_dir)])
        record.write(tmp / RECORD_NAME)
    logger.info("attributions of %d windows written to %s", len(scored.samples), output_dir)
    return Path(output_dir)


def _attribute_into(scored: ModelOnWindows, folder: Path, methods: tuple[str, ...],
                    batch_size: int, n_plots: int) -> None:
    samples, view = scored.samples, scored.view
    check_model_inputs(scored.model, view, samples, str(scored.folder.path / "model.keras"))
    parts = FiddleParts.of(scored.model)
    dna = view.dna_inputs
    shapes = view.input_shapes(samples)
    summarised = tuple(m for m in ("gradxinput", "ism") if m == "gradxinput" or m in methods)
    totals, plotted = [], []
    with h5py.File(folder / "attributions.h5", "w") as attributions, \
            h5py.File(folder / "representations.h5", "w") as representations, \
            tqdm(total=len(samples), unit=" windows", desc="attribute", disable=None) as progress:
        _prepare_attributions(attributions, samples, parts.tracks, shapes, methods, dna)
        prepare_representations(representations, samples, parts, shapes)
        for first, (inputs, target) in zip(range(0, len(samples), batch_size),
                                           numpy_batches(view, samples, batch_size)):
            rows = slice(first, first + len(target))
            found = attribute_peaks(parts, inputs, "ism" in methods, dna, batch_size)
            for key, values in found.representations.items():
                representations[key][rows] = values
            for key, values in (("peak", found.peak), ("score", found.score),
                                ("prediction", found.representations["prediction"])):
                attributions[key][rows] = values
            for method in methods:
                for name in parts.tracks:
                    attributions[f"{name}/{method}"][rows] = found.methods[method][name]
            totals.append({method: track_totals(found.methods[method]) for method in summarised})
            plotted += [(target[i], found.representations["prediction"][i], found.peak[i],
                         {name: found.methods["gradxinput"][name][i] for name in parts.tracks})
                        for i in range(min(len(target), n_plots - first))]
            progress.update(len(target))
        _write_summary(folder / "summary.tsv", samples, attributions["peak"][:],
                       attributions["score"][:], parts.tracks, summarised, totals)
    if plotted:
        (folder / "plots").mkdir()
    for i, (target, prediction, peak, per_track) in enumerate(plotted):
        _plot_window(folder / "plots" / _plot_name(samples, i), samples, i, target, prediction,
                     peak, per_track)


def write_windows(h5: h5py.File, samples: Samples) -> None:
    """The windows' chrom, start, end, strand as datasets (n,)."""
    for key, column in zip(("chrom", "start", "end", "strand"), region_columns(samples)):
        h5.create_dataset(key, data=column)


def _row_names(name: str, rows: int, dna: Collection[str]) -> list[str]:
    if name in dna:
        return list(BASES)
    return ["gene_strand", "other_strand"] if rows == 2 else [name]


def _prepare_attributions(h5: h5py.File, samples: Samples, tracks: Sequence[str],
                          shapes: Mapping[str, tuple[int, ...]], methods: Sequence[str],
                          dna: Collection[str]) -> None:
    n, length = len(samples), shapes[tracks[0]][0]
    write_windows(h5, samples)
    h5.create_dataset("peak", (n,), np.int64)
    h5.create_dataset("score", (n,), np.float32)
    h5.create_dataset("prediction", (n, length), np.float32)
    h5.attrs.update(score=SCORE, methods=list(methods), tracks=list(tracks),
                    orientation="the gene's: position 0 is the window's 5' end on its strand")
    for name in tracks:
        group = h5.create_group(name)
        group.attrs["rows"] = _row_names(name, shapes[name][1], dna)
        for method in methods:
            group.create_dataset(method, (n, *shapes[name]), np.float32)


def prepare_representations(h5: h5py.File, samples: Samples, parts: FiddleParts,
                            shapes: Mapping[str, tuple[int, ...]]) -> None:
    """representations.h5's datasets for ``samples`` (see the module's docstring), the windows'
    coordinates written, the rest to fill batch by batch; ``shapes``: the view's input shapes."""
    n = len(samples)
    width = parts.modules[parts.tracks[0]].output.shape[-1]
    write_windows(h5, samples)
    for name in parts.tracks:
        h5.create_dataset(name, (n, width), np.float32).attrs["layer"] = f"{name}_representation"
    h5.create_dataset("scaffold_input", (n, width, len(parts.tracks)), np.float32)
    h5.create_dataset("prediction", (n, shapes[parts.tracks[0]][0]), np.float32)
    h5.attrs["tracks"] = list(parts.tracks)


def _write_summary(path: Path, samples: Samples, peaks: np.ndarray, scores: np.ndarray,
                   tracks: Sequence[str], methods: Sequence[str], totals: list[dict]) -> None:
    """summary.tsv: per window, peak and score, then per method and track the total
    |attribution| and its share (``totals``: per batch, :func:`track_totals` by method)."""
    header = ["chrom", "start", "end", "strand", "peak", "score"]
    columns = region_columns(samples) + [peaks, scientific(scores)]
    for method in methods:
        for name in tracks:
            total = np.concatenate([batch[method][name][0] for batch in totals])
            share = np.concatenate([batch[method][name][1] for batch in totals])
            header += [f"{name}_{method}_total", f"{name}_{method}_share"]
            columns += [scientific(total), fixed_point(share)]
    path.write_bytes(("\t".join(header) + "\n").encode() + format_rows(columns))


def _window_label(samples: Samples, i: int) -> tuple[str, int, int, str]:
    return (samples.chrom_names[samples.chrom[i]], int(samples.start[i]), int(samples.end[i]),
            "-" if samples.strand[i] < 0 else "+")


def _plot_name(samples: Samples, i: int) -> str:
    chrom, start, end, strand = _window_label(samples, i)
    return f"{i + 1:04d}_{chrom}_{start}-{end}{'_minus' if strand == '-' else ''}.png"


def _plot_window(path: Path, samples: Samples, i: int, target: np.ndarray, prediction: np.ndarray,
                 peak: int, per_track: Mapping[str, np.ndarray]) -> None:
    """The target and predicted profiles with the peak marked, and beneath, each track's
    gradient x input per position (summed over the DNA's rows; a stranded track's two rows
    apart)."""
    plt = pyplot()
    figure, axes = plt.subplots(1 + len(per_track), 1, figsize=(8, 1.5 * (1 + len(per_track))),
                                sharex=True, squeeze=False)
    axes = axes[:, 0]
    chrom, start, end, strand = _window_label(samples, i)
    axes[0].plot(target, color="black", label="target")
    axes[0].plot(prediction, color="tab:red", label="prediction")
    axes[0].set_title(f"{chrom}:{start}-{end} ({strand}); peak at {peak}, "
                      f"p = {prediction[peak]:.3g}", fontsize=9)
    axes[0].legend(fontsize=7)
    for ax, (name, values) in zip(axes[1:], per_track.items()):
        if values.shape[1] == 2:
            ax.plot(values[:, 0], linewidth=0.8, label="gene's strand")
            ax.plot(values[:, 1], linewidth=0.8, label="other strand")
            ax.legend(fontsize=6)
        else:
            ax.plot(values.sum(axis=1), linewidth=0.8)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_ylabel(name, fontsize=8)
    for ax in axes:
        ax.axvline(peak, color="tab:red", linestyle=":", linewidth=0.8)
    axes[-1].set_xlabel("position in the window, gene's orientation (bp); tracks: gradient x input")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
