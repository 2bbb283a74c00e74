"""Attributions of a FactorNet model folder's predictions for the regions of a BED (``ffn-attribute``).

Each region is scored in the model's input window (L bp centred on the region, read as prediction
reads it: tracks of the cell type, meta and annotation inputs at the region's values) and
attributed by the chosen methods of :mod:`fiddle_factornet.interpret.attribution`. One output
folder, written aside and renamed into place when complete, holds:

- ``attributions.npz``: NumPy's zipped archive (``np.load``, no pickle; chosen over HDF5 because
  the arrays are read whole and numpy alone opens it). Per region: ``region`` (the BED's name, else
  ``chrom:start-end``), ``chrom``, ``start``, ``end`` (the BED's), ``window_start`` (the window is
  ``[window_start, window_start + L)``), ``score`` (the model's probability); the inputs,
  ``onehot`` (n, L, 4) uint8 (A, C, G, T; N all 0) and ``tracks`` (n, L, k) with ``track_names``
  (k,), plus ``meta`` / ``annotations`` when the model reads them; per method ``<m>_dna``
  (n, L, 4), ``<m>_tracks`` (n, L, k) and ``<m>_position`` (n, L) (its per-position summary,
  :func:`~fiddle_factornet.interpret.attribution.position_summary`); with ``ig``,
  ``ig_baseline_score``, ``ig_steps`` and ``ig_gap`` (n,) (completeness gap); ``methods``,
  ``baseline``.
- ``bigwig/<m>.bw`` (the per-position summary) and ``bigwig/<m>.<track>.bw`` (the attribution of
  each track) over the regions' windows, on the genome's chromosome sizes; where windows overlap,
  a base gets the mean of the overlapping windows' values; bases off a chromosome are left out.
- ``plots/<i>_<chrom>_<start>_<end>.png`` (every region, or the first ``plots``): per method, a
  logo of the central ``plot_width`` bp, the present base's letter as high as its per-position
  summary (below the axis when negative), every track's signal beneath.
- ``regions.tsv``: region, coordinates, score (IG's baseline score, gap and steps) and per method
  the ``TOP`` positions of highest summary, as ``<0-based position><base>=<value>``.
- ``run.json``: the run record.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data.genome import BASES, ChromSizes
from ..data.intervals import iter_bed
from ..data.samples import Samples
from ..data.writers import write_window_bigwig
from ..errors import InputError
from ..factornet.celltype import CellTypeFolder
from ..factornet.folder import FactorNetModel
from ..factornet.prediction import ModelData, bed_samples
from ..pipeline import check_model_inputs, numpy_batches
from ..runs.outputs import safe_output
from ..runs.record import RECORD_NAME, RunRecord, absolute, describe_device
from .attribution import (BASELINES, IG_ATOL, IG_RTOL, METHODS, Attributions, FactorNetAttribution,
                          position_summary, strand_permutation)

logger = logging.getLogger(__name__)

NPZ_NAME, TABLE_NAME, BIGWIG_DIR, PLOT_DIR = ("attributions.npz", "regions.tsv", "bigwig", "plots")
#: positions listed per method in regions.tsv
TOP = 5


def check_methods(methods: Sequence[str] | str) -> tuple[str, ...]:
    """The attribution methods asked for (a sequence or a comma-separated string), each once, in
    order; an unknown or missing one is an InputError."""
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods)]
    names = list(dict.fromkeys(name for name in names if name))
    unknown = [name for name in names if name not in METHODS]
    if unknown or not names:
        what = f"unknown attribution method {unknown[0]!r}" if unknown else "no attribution method"
        raise InputError(f"{what} (choose from {', '.join(METHODS)})", setting="methods")
    return tuple(names)


def attribute_regions(model_dir, cell_dir, tf: str, regions, output, genome: str,
                      annotations_dir: str | None = None, methods: Sequence[str] | str = METHODS,
                      baseline: str = "zero", ig_steps: int = 64, ig_rtol: float = IG_RTOL,
                      batch_size: int = 256, cache: bool | str = "auto", overwrite: bool = False,
                      plot_width: int = 200, plots: int | None = None) -> int:
    """Attribute ``tf``'s prediction in the cell type for every region of the BED ``regions``;
    write the output folder ``output`` (see the module docstring), with plots of the first
    ``plots`` regions (None: all). Returns the number of regions.
    """
    methods = check_methods(methods)
    if baseline not in BASELINES:
        raise InputError(f"unknown baseline {baseline!r} (choose from {', '.join(BASELINES)})",
                         setting="baseline")
    for name, value in (("ig_steps", ig_steps), ("batch_size", batch_size),
                        ("plot_width", plot_width)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, not {value}", setting=name)
    if not ig_rtol >= 0:
        raise InputError(f"ig_rtol must be at least 0, not {ig_rtol}", setting="ig_rtol")
    cell = CellTypeFolder.read(cell_dir)
    settings = {
        "model_dir": absolute(model_dir), "cell_dir": absolute(cell_dir), "tf": tf,
        "regions": absolute(regions), "output": absolute(output), "genome": absolute(genome),
        "annotations_dir": absolute(annotations_dir), "methods": list(methods),
        "baseline": baseline, "ig_steps": ig_steps, "ig_rtol": ig_rtol, "batch_size": batch_size,
        "cache": cache, "overwrite": overwrite, "plot_width": plot_width, "plots": plots}
    record = RunRecord("factornet attribution", settings)
    inputs = [model_dir, regions, genome, annotations_dir, *cell.files]
    with safe_output(output, overwrite, inputs) as tmp:
        folder = FactorNetModel.load(model_dir)
        column = folder.output_index(tf)
        data = ModelData.open(folder, cell, genome, annotations_dir, cache)
        samples, names = read_regions(regions, data.sizes)
        samples = data.annotate(samples)
        check_model_inputs(folder.model, data.view, samples, str(folder.path / "model.keras"))
        record.update(device=describe_device())
        windows, result = _attribute(folder.model, column, data.view, samples, methods, baseline,
                                     ig_steps, ig_rtol, batch_size)
        tmp.mkdir()
        write_outputs(tmp, samples, names, data.sizes, data.view.length, cell.track_names,
                      windows, result, baseline, plot_width, plots)
        record.update(regions=len(samples), **_ig_summary(result, ig_rtol))
        record.write(tmp / RECORD_NAME)
    logger.info("wrote %s: %s attributions of %s in %s for %d regions", output,
                ", ".join(methods), tf, cell.name, len(samples))
    return len(samples)


def read_regions(path, sizes: ChromSizes) -> tuple[Samples, np.ndarray]:
    """The BED's regions as samples, and their names (n,) (the BED's name column, else
    ``chrom:start-end``); a BED without regions is an InputError."""
    parts, names = [], []
    for chunk in iter_bed(path):
        parts.append(bed_samples(path, chunk, sizes))
        label = chunk["chrom"] + ":" + chunk["start"].astype(str) + "-" + chunk["end"].astype(str)
        if "name" in chunk:
            label = label.where(chunk["name"].isin(["", "."]), chunk["name"])
        names.append(label.to_numpy(str))
    if not parts:
        raise InputError(f"{path}: no regions to attribute")
    return Samples.concat(parts), np.concatenate(names)


def _attribute(model, column: int, view, samples: Samples, methods, baseline: str, steps: int,
               rtol: float, batch_size: int) -> tuple[dict[str, np.ndarray], Attributions]:
    """The windows' inputs (by name, without ``reverse``) and their attributions."""
    order = view.tracks.rc_order if view.tracks else ()
    attribution = FactorNetAttribution(model, column, strand_permutation(order), batch_size)
    # regions read at a time: a batch for the gradients alone; with IG or ISM, whose work per
    # region is (steps + 1) path points or 3 L variants and more, what one IG gradient call takes
    per_read = batch_size if set(methods) <= {"saliency", "gradxinput"} else \
        max(1, batch_size // (steps + 1))
    windows, parts = [], []
    with tqdm(total=len(samples), unit=" regions", desc="attribute", disable=None) as progress:
        for inputs, _ in numpy_batches(view, samples, per_read):
            parts.append(attribution.attribute(inputs, methods, baseline, steps, rtol))
            windows.append({name: value for name, value in inputs.items() if name != "reverse"})
            progress.update(len(inputs["forward"]))
    return ({name: np.concatenate([w[name] for w in windows]) for name in windows[0]},
            Attributions.concat(parts))


def _ig_summary(result: Attributions, rtol: float) -> dict:
    """What the run record says of integrated gradients' completeness (nothing without ``ig``)."""
    if result.ig is None:
        return {}
    gap = np.abs(result.ig.gap())
    incomplete = int(result.ig.incomplete(rtol, IG_ATOL).sum()) if rtol else 0
    if incomplete:
        logger.warning("integrated gradients: %d of %d windows keep a completeness gap above %g "
                       "of score - baseline score after %d steps (largest gap %.3g)", incomplete,
                       len(gap), rtol, result.ig.steps.max(), gap.max())
    return {"ig_max_gap": float(gap.max()), "ig_incomplete_windows": incomplete,
            "ig_max_steps_used": int(result.ig.steps.max())}


# ---------------------------------------------------------------------------------------------
# writing


def write_outputs(folder: Path, samples: Samples, names: np.ndarray, sizes: ChromSizes,
                  length: int, track_names: Sequence[str], windows: dict[str, np.ndarray],
                  result: Attributions, baseline: str, plot_width: int,
                  plots: int | None = None) -> None:
    """The NPZ, bigWigs, table and plots (of the first ``plots`` regions; None: all) of the
    module docstring into ``folder``."""
    forward = windows["forward"]
    onehot, tracks = forward[..., :4], forward[..., 4:]
    window_start = samples.windows(length).start
    summaries = {method: position_summary(method, values, onehot)
                 for method, values in result.values.items()}
    _write_npz(folder / NPZ_NAME, samples, names, window_start, track_names, windows, result,
               summaries, baseline)
    (folder / BIGWIG_DIR).mkdir()
    chroms = list(zip(sizes.names, sizes.lengths))
    for method, (dna, track_values) in summaries.items():
        write_window_bigwig(folder / BIGWIG_DIR / f"{method}.bw", chroms, samples.chrom,
                            window_start, dna)
        for j, track in enumerate(track_names):
            write_window_bigwig(folder / BIGWIG_DIR / f"{method}.{track}.bw", chroms,
                                samples.chrom, window_start, track_values[..., j])
    _write_table(folder / TABLE_NAME, samples, names, window_start, onehot, result, summaries)
    (folder / PLOT_DIR).mkdir()
    width = min(plot_width, length)
    first = (length - width) // 2
    view = slice(first, first + width)
    for i in tqdm(range(len(samples) if plots is None else min(plots, len(samples))),
                  unit=" plots", desc="plot", disable=None):
        chrom = samples.chrom_names[samples.chrom[i]]
        plot_region(folder / PLOT_DIR / f"{i:04d}_{chrom}_{samples.start[i]}_{samples.end[i]}.png",
                    f"{names[i]}  score {result.scores[i]:.4g}",
                    {method: dna[i, view, None] * onehot[i, view]
                     for method, (dna, _) in summaries.items()},
                    tracks[i, view], track_names, int(window_start[i]) + first)


def _write_npz(path: Path, samples: Samples, names: np.ndarray, window_start: np.ndarray,
               track_names: Sequence[str], windows: dict[str, np.ndarray], result: Attributions,
               summaries: dict, baseline: str) -> None:
    forward = windows["forward"]
    arrays = {
        "region": names, "chrom": np.asarray(samples.chrom_names, str)[samples.chrom],
        "start": samples.start, "end": samples.end, "window_start": window_start,
        "score": result.scores, "onehot": forward[..., :4].astype(np.uint8),
        "tracks": forward[..., 4:], "track_names": np.asarray(track_names, str).reshape(-1),
        "methods": np.asarray(list(result.values), str), "baseline": np.asarray(baseline),
        **{name: value for name, value in windows.items() if name != "forward"}}
    for method, values in result.values.items():
        arrays[f"{method}_dna"], arrays[f"{method}_tracks"] = values[..., :4], values[..., 4:]
        arrays[f"{method}_position"] = summaries[method][0]
    if result.ig is not None:
        arrays.update(ig_baseline_score=result.ig.baseline_scores, ig_steps=result.ig.steps,
                      ig_gap=result.ig.gap())
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _write_table(path: Path, samples: Samples, names: np.ndarray, window_start: np.ndarray,
                 onehot: np.ndarray, result: Attributions, summaries: dict) -> None:
    table = pd.DataFrame({
        "region": names, "chrom": np.asarray(samples.chrom_names)[samples.chrom],
        "start": samples.start, "end": samples.end, "window_start": window_start,
        "score": result.scores})
    if result.ig is not None:
        table["ig_baseline_score"] = result.ig.baseline_scores
        table["ig_gap"] = result.ig.gap()
        table["ig_steps"] = result.ig.steps
    letters = np.array(list(BASES + "N"))[np.where(onehot.any(-1), onehot.argmax(-1), 4)]
    rows = np.arange(len(names))[:, None]
    for method, (dna, _) in summaries.items():
        top = np.argsort(-dna, axis=1, kind="stable")[:, :TOP]
        table[f"top_{method}"] = [
            ",".join(f"{p}{b}={v:.3g}" for p, b, v in zip(*cells)) for cells in
            zip((window_start[:, None] + top).tolist(), letters[rows, top].tolist(),
                dna[rows, top].tolist())]
    table.to_csv(path, sep="\t", index=False, float_format="%.6g")


def plot_region(path: Path, title: str, heights: dict[str, np.ndarray], tracks: np.ndarray,
                track_names: Sequence[str], first_position: int) -> None:
    """One PNG: a logo per method (heights (w, 4) by method name) and each track (w, k) beneath,
    x in genomic coordinates from ``first_position``."""
    from matplotlib.figure import Figure

    from .plots import draw_logo

    width = len(tracks)
    rows = len(heights) + tracks.shape[1]
    figure = Figure(figsize=(max(8.0, width / 16), 1.3 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, 1, sharex=True))
    for ax, (method, matrix) in zip(axes, heights.items()):
        draw_logo(ax, matrix, first_position)
        ax.set_ylabel(method)
    x = np.arange(first_position, first_position + width)
    for ax, j in zip(axes[len(heights):], range(tracks.shape[1])):
        ax.fill_between(x, tracks[:, j], step="mid", color="0.35", linewidth=0)
        ax.set_ylabel(track_names[j])
    axes[0].set_title(title, loc="left", fontsize=10)
    axes[-1].set_xlabel("position (0-based)")
    figure.savefig(path, format="png", dpi=100)
