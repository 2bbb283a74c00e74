"""FIDDLE inference: a trained model's predicted TSS-seq profiles for genes or regions where the
target was never measured, per window and as genome-browser tracks.

**Windows.** From genes (BED6 with strand, or GFF3 ``gene`` features): the windows the model was
trained on, made as training made them (:func:`~.regions.gene_windows` with the model's window
length, offsets and step, and its rule on overlapping genes), on the chromosomes every input
track has. From regions (stranded BED6, each at least the model's window length L wide; a strand
other than ``-`` is read as ``+``, as ``ffn-fiddle-evaluate`` reads windows): each region tiled
with windows of L every ``step`` bp from its 5' end on its strand (its start for ``+``, its end
for ``-``), plus one window flush with its 3' end when the steps do not reach it, so that every
base of the region is predicted; a region exactly L wide is one window. ``step`` is the model's
window step (20 bp) unless given, for genes too (between a gene's window starts). Each window
is read in its strand's orientation, as in training (a minus-strand window reversed, its DNA
complemented, its strand rows swapped). A model trained to leave out windows holding a missing
value (a NaN stored in an input bigWig) leaves them out here too.

**Tracks.** Only the model's input tracks are read: the manifest (default: the one the model
trained with) may lack the target's row or its files. When the target is there, the KL divergence
and bin accuracy over the predicted windows are reported as ``ffn-fiddle-evaluate`` reports them.

**Files** (:func:`predict_fiddle`, one folder):

- ``profiles.h5``: per window ``chrom``, ``start``, ``end`` (0-based, half-open), ``strand``,
  ``name`` (the gene's, or the region's BED name), (n,) each, and ``profile``, (n, L) float32, the
  predicted probability of each position in the window's orientation (position 0 is its 5' end on
  its strand: a minus-strand window runs from ``end - 1`` down to ``start``); windows in the order
  of the genes (offsets in order) or regions (5' to 3').
- ``predicted.plus.bw``, ``predicted.minus.bw``: the profiles of the plus- and of the minus-strand
  windows on genome coordinates (a minus-strand profile reversed). A base in several windows of one
  strand gets the mean of their predictions; a base in none is left uncovered. Values are
  probabilities within each window (a window's sum to 1), not counts. Chromosome sizes are the
  genome's (the first input bigWig's for a model without DNA). The profiles are read back whole
  to write them: memory grows with the number of windows (n x L float32, and per strand its
  per-base positions).
- ``representations.h5`` (on request): each module's representation, the scaffold's input and the
  prediction per window, as :mod:`.interpret` writes it (the original's ``analysis.py``).
- ``metrics.json`` (when the target is available): windows, target, and the ``prediction`` row of
  ``ffn-fiddle-evaluate``'s summary (``bin_accuracy``, ``mean_kl``).
- ``run.json``.
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data.genome import ChromSizes
from ..data.intervals import read_bed
from ..data.samples import Samples
from ..data.writers import write_window_bigwig
from ..errors import InputError
from ..pipeline import check_model_inputs, evaluation_dataset, reader_errors
from ..runs.models import ModelFolder, open_model_folder
from ..runs.outputs import safe_output
from ..runs.record import RECORD_NAME, RunRecord, absolute, describe_device
from .evaluation import FiddleEvaluation, kl_per_region, profile_bins, read_regions
from .interpret import FiddleParts, prepare_representations, write_windows
from .manifest import TrackManifest, fiddle_view, missing_windows, view_sizes
from .regions import RegionConfig, gene_windows, read_genes
from .view import FiddleView

logger = logging.getLogger(__name__)

#: the predicted tracks, by strand
BIGWIGS = {1: "predicted.plus.bw", -1: "predicted.minus.bw"}


@dataclass(frozen=True)
class InferenceInputs:
    """What a FIDDLE model folder reads to predict: the view of its input tracks (and of its
    target when the manifest has it: ``has_target``), and the manifest and track files read."""

    view: FiddleView
    manifest: TrackManifest
    files: tuple[Path, ...]
    has_target: bool


def inference_inputs(folder: ModelFolder, manifest: str | None = None) -> InferenceInputs:
    """The view a FIDDLE model folder's windows are read with, from ``manifest`` (default: the
    one the model trained with; it may lack the target's row or files), as the model was trained
    (its ``dna_n`` and controls)."""
    record, settings = folder.record, folder.record["settings"]
    tracks = TrackManifest.read(manifest or settings["manifest"], require_all=False)
    has_target = tracks.has(record["target"])
    if not has_target:
        logger.info("%s: no target track %r, or not its files: profiles are predicted, not "
                    "scored", tracks.path, record["target"])
    controls = tuple(record.get("controls", ()))
    if not has_target and "target" in controls:
        raise InputError(f"{folder.path}: the model takes the target itself as an input (control "
                         f"'target'), which {tracks.path} lacks", setting="manifest")
    # a record without dna_n was made before the setting: N was 0
    view = fiddle_view(tracks, record["inputs"], record["target"] if has_target else None,
                       settings["regions"]["length"], "auto", controls,
                       settings.get("dna_n", 0.0), with_target=has_target)
    read = [tracks.track(name) for name in (*record["inputs"], *[record["target"]][:has_target])]
    return InferenceInputs(view, tracks, (tracks.path, *(f for t in read for f in t.files)),
                           has_target)


def tile_regions(regions: Samples, length: int, step: int) -> tuple[Samples, np.ndarray]:
    """Windows of ``length`` bp every ``step`` bp from each region's 5' end on its strand, plus
    one flush with its 3' end when the steps do not reach it (regions at least ``length`` wide):
    the windows, 5' to 3' region by region, and (m,) the region of each."""
    room = regions.end - regions.start - length
    count = room // step + 1 + (room % step > 0)
    region = np.repeat(np.arange(len(regions)), count)
    k = np.arange(len(region)) - np.repeat(np.cumsum(count) - count, count)
    offset = np.minimum(k * step, room[region])
    minus = regions.strand[region] < 0
    start = np.where(minus, regions.end[region] - length - offset, regions.start[region] + offset)
    return Samples.build(regions.chrom_names, regions.chrom[region], start, start + length, 0, 0,
                         np.zeros((len(region), 0)), strand=regions.strand[region]), region


def region_windows(path: str | Path, sizes: ChromSizes, length: int,
                   step: int) -> tuple[Samples, np.ndarray]:
    """The windows tiling the regions of a stranded BED6 (see :func:`tile_regions`) and (m,) the
    name of each window's region; a region narrower than ``length`` is an InputError."""
    regions = read_regions(path, sizes)
    table = read_bed(path, sizes)
    width = regions.end - regions.start
    narrow = np.flatnonzero(width < length)
    if len(narrow):
        row = table.iloc[narrow[0]]
        raise InputError(f"{path}: line {row['line']}: region {row['chrom']}:{row['start']}-"
                         f"{row['end']} is {width[narrow[0]]} bp wide, narrower than the model's "
                         f"{length} bp window ({len(narrow)} of {len(table)} regions are)",
                         setting="regions")
    windows, region = tile_regions(regions, length, step)
    logger.info("%d windows of %d bp every %d bp in %d regions", len(windows), length, step,
                len(regions))
    return windows, table["name"].to_numpy(dtype=str)[region]


def gene_names(samples: Samples, genes: pd.DataFrame, config: RegionConfig) -> np.ndarray:
    """(n,) the name of the gene around whose start each window of :func:`gene_windows` lies (the
    first in ``genes`` with its start there, for a window two gene starts share)."""
    def key(chrom, plus, tss):  # one int64 per (chromosome, strand, position)
        return (np.asarray(chrom, np.int64) * 2 + plus) * (1 << 40) + tss

    plus = (genes["strand"] == "+").to_numpy()
    chrom = genes["chrom"].map({name: i for i, name in enumerate(samples.chrom_names)})
    keys = key(chrom.to_numpy(), plus, np.where(plus, genes["start"], genes["end"] - 1))
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    # each window's gene start for each offset: start - offset (+), start + offset + L - 1 (-)
    forward = samples.strand[:, None] > 0
    starts = np.where(forward, samples.start[:, None] - config.offsets,
                      samples.start[:, None] + config.offsets + config.length - 1)
    wanted = key(samples.chrom[:, None], forward, starts)
    at = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    gene = np.where(ordered[at] == wanted, order[at], len(genes)).min(axis=1)
    return genes["name"].fillna(".").to_numpy(dtype=str)[gene]


def predict_fiddle(model_dir: str | Path, output_dir: str | Path, genes: str | None = None,
                   regions: str | None = None, manifest: str | None = None,
                   step: int | None = None, overlapping_genes: bool = False,
                   representations: bool = False, batch_size: int = 256,
                   overwrite: bool = False) -> FiddleEvaluation | None:
    """Predict a FIDDLE model folder's profiles in the windows of ``genes`` (BED6/GFF3) or
    ``regions`` (stranded BED6) and write the folder ``output_dir`` (see the module's docstring).

    ``step``: between windows (default: the model's window step); ``overlapping_genes``: also
    genes that overlap another gene (default: as the model was trained). Returns the KL divergence
    and bin accuracy when the target is available, else None."""
    if (genes is None) == (regions is None):
        raise InputError("give the genes or the regions to predict (one of them)", setting="genes")
    if step is not None and step < 1:
        raise InputError(f"step={step} must be >= 1", setting="step")
    folder = open_model_folder(model_dir, "fiddle")
    settings = folder.record["settings"]
    read = inference_inputs(folder, manifest)
    view, sizes = read.view, view_sizes(read.view)
    # a record without them was made before these settings: every gene used, NaN read as 0
    trained = RegionConfig(**{"non_overlapping": False, **settings["regions"]})
    config = replace(trained, step=step or trained.step,
                     non_overlapping=trained.non_overlapping and not overlapping_genes)
    samples, names = _windows(view, sizes, config, genes, regions)
    dropped = 0
    if settings.get("missing", "zero") == "skip":  # as the model's training left them out
        missing = missing_windows(read.manifest, None, samples, view.length,
                                  only=folder.record["inputs"])
        dropped = int(missing.sum())
        samples, names = samples.take(~missing), names[~missing]
    if not len(samples):
        raise InputError(f"{genes or regions}: no windows to predict",
                         setting="genes" if genes else "regions")
    record = RunRecord("fiddle prediction", {
        "model_dir": absolute(folder.path), "genes": absolute(genes), "regions": absolute(regions),
        "manifest": absolute(read.manifest.path), "window_config": asdict(config),
        "representations": representations, "batch_size": batch_size,
        "output_dir": absolute(output_dir)}, describe_device(), windows=len(samples),
        windows_dropped_missing=dropped,
        target=folder.record["target"] if read.has_target else None)
    with safe_output(output_dir, overwrite, [folder.path, genes, regions, *read.files]) as tmp:
        tmp.mkdir()
        evaluation = _predict_into(folder, view, samples, names, sizes, tmp, read.has_target,
                                   representations, batch_size)
        if evaluation is not None:
            (tmp / "metrics.json").write_text(json.dumps(
                {"windows": evaluation.n_windows, "target": folder.record["target"],
                 **evaluation.rows}, indent=1))
            record.update(metrics=evaluation.rows)
        record.update(outputs=[absolute(output_dir)])
        record.write(tmp / RECORD_NAME)
    logger.info("predicted profiles of %d windows written to %s", len(samples), output_dir)
    return evaluation


def _windows(view: FiddleView, sizes: ChromSizes, config: RegionConfig, genes: str | None,
             regions: str | None) -> tuple[Samples, np.ndarray]:
    """The windows of the genes (on chromosomes every input track has), else of the regions, and
    the name of each."""
    if genes is None:
        return region_windows(regions, sizes, config.length, config.step)
    table = read_genes(genes, sizes)
    with_data = set.intersection(*(t.per_cell[0].chromosomes for t in view.tracks)) \
        if view.tracks else set(sizes.names)
    samples = gene_windows(table, sizes, config, [n for n in sizes.names if n in with_data])
    return samples, gene_names(samples, table, config)


def _predict_into(folder: ModelFolder, view: FiddleView, samples: Samples, names: np.ndarray,
                  sizes: ChromSizes, out: Path, has_target: bool, representations: bool,
                  batch_size: int) -> FiddleEvaluation | None:
    """Predict ``samples`` batch by batch into ``out``'s HDF5 files, then the two bigWigs."""
    model = folder.load_model()
    check_model_inputs(model, view, samples, str(folder.path / "model.keras"))
    parts = FiddleParts.of(model) if representations else None
    n, length = len(samples), view.length
    kl, hits = [], []
    with h5py.File(out / "profiles.h5", "w") as profiles, \
            h5py.File(out / "representations.h5", "w") if parts else nullcontext() as modules, \
            tqdm(total=n, unit=" windows", desc="predict", disable=None) as progress, \
            reader_errors():
        write_windows(profiles, samples)
        profiles.create_dataset("name", data=np.char.encode(names, "utf-8"))
        profile = profiles.create_dataset("profile", (n, length), np.float32)
        profiles.attrs["orientation"] = "the window's: position 0 is its 5' end on its strand"
        if parts:
            prepare_representations(modules, samples, parts, view.input_shapes(samples))
        first = 0
        for inputs, target in evaluation_dataset(view, samples, batch_size):
            rows = slice(first, first + len(target))
            if parts:
                found = parts.representations(inputs)
                for key, values in found.items():
                    modules[key][rows] = values
                prediction = found["prediction"]
            else:
                prediction = np.asarray(model.predict_on_batch(inputs))
            profile[rows] = prediction
            if has_target:
                target = np.asarray(target)
                kl.append(kl_per_region(target, prediction))
                hits.append(profile_bins(prediction) == profile_bins(target))
            first += len(target)
            progress.update(len(target))
        predicted = profile[:]
    chroms = list(zip(sizes.names, sizes.lengths))
    for sign, name in BIGWIGS.items():
        rows = samples.strand == sign
        values = predicted[rows]
        write_window_bigwig(out / name, chroms, samples.chrom[rows], samples.start[rows],
                            values if sign > 0 else values[:, ::-1])
    if not has_target:
        return None
    return FiddleEvaluation(n, {"prediction": {"bin_accuracy": float(np.concatenate(hits).mean()),
                                               "mean_kl": float(np.concatenate(kl).mean())}})
