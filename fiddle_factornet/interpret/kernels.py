"""First-layer kernels as motifs and footprints: the original FactorNet's ``visualize.py``,
vectorised and streamed.

For every kernel of the first convolution (``conv`` in the ``strand_trunk``; ReLU outputs), in
every window and on both strands (the ``forward`` and ``reverse`` inputs), the input rows under the
kernel's maximal activation, ``[argmax, argmax + w)`` of the one-hot bases and the tracks, are
added to the kernel's sums when that maximum is > 0, and count as one site (``nsites``). The summed
bases over their column totals are the kernel's position-probability matrix; the summed tracks
over ``nsites`` its mean track profile (the DNase footprint). The per-position dense layer
(``conv_dense``, the original's ``timedistributed_1``) is read the same way: its argmax positions
index the convolution's, so its sites are w wide too.

The windows are those of a BED's regions (centred on each) or every bin (200 bp every 50 bp) of the
chosen chromosomes (the original's default: chr11), less those touching the blacklist (widened by
L, as for prediction); they stream chunk by chunk through the input pipeline and the model in batches.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data.genome import ChromSizes
from ..data.intervals import IntervalSet
from ..data.samples import Samples
from ..errors import InputError
from ..factornet.bins import NO_BLACKLIST, NO_BLACKLIST_WARNING, read_blacklist
from ..factornet.celltype import CellTypeFolder
from ..factornet.folder import FactorNetModel
from ..factornet.motifs import write_meme
from ..factornet.prediction import ALL_CHROMS, ModelData, chromosome_list, region_chunks
from ..factornet.view import FactorNetView
from ..pipeline import evaluation_dataset, reader_errors
from ..runs.outputs import safe_output
from ..runs.record import RECORD_NAME, RunRecord, absolute, describe_device
from .logos import kernel_figure, logo_sheet
from .matching import JASPAR, NO_DATABASE, TRIM_BITS, MotifDatabase, match_motifs, motif_database
from .plots import information_content

logger = logging.getLogger(__name__)

STRANDS = ("forward", "reverse")
#: the layers read, and the suffix of their output files (the original's motifs.txt, motifs2.txt)
LAYERS = {"conv": "", "conv_dense": "2"}
#: the original's default: the windows of one chromosome
DEFAULT_CHROMS = ("chr11",)


@dataclass
class KernelSites:
    """What one layer's kernels collected over ``windows`` windows (each read on both strands):
    ``sums`` (k, w, channels) float64, the input rows (4 one-hot bases, then the tracks) under
    each kernel's maximal activations; ``nsites`` (k,) int64, how many windows and strands had
    a maximum > 0."""

    sums: np.ndarray
    nsites: np.ndarray
    windows: int = 0

    @classmethod
    def empty(cls, kernels: int, width: int, channels: int) -> "KernelSites":
        return cls(np.zeros((kernels, width, channels)), np.zeros(kernels, np.int64))

    def add(self, windows: np.ndarray, best: np.ndarray, peak: np.ndarray) -> None:
        """Add one strand of a batch: ``windows`` (n, L, channels) its inputs, ``best`` (n, k) each
        kernel's argmax position, ``peak`` (n, k) its maximum (a site where > 0)."""
        n, length, channels = windows.shape
        hit = peak > 0
        first = np.arange(n)[:, None] * length + best  # (n, k) rows of the flattened batch
        rows = np.take(windows.reshape(n * length, channels),
                       first[:, :, None] + np.arange(self.sums.shape[1]), axis=0)  # (n, k, w, c)
        self.sums += np.einsum("nk,nkwc->kwc", hit.astype(rows.dtype), rows)
        self.nsites += hit.sum(axis=0)

    @property
    def ppm(self) -> np.ndarray:
        """(k, w, 4) position-probability matrices: the summed bases over their column totals
        (uniform in a column without a base: a kernel without sites)."""
        bases = self.sums[..., :4]
        total = bases.sum(axis=-1, keepdims=True)
        return np.divide(bases, total, out=np.full_like(bases, 0.25), where=total > 0)

    @property
    def bits(self) -> np.ndarray:
        """(k,) the information content of each kernel's matrix (0 without sites)."""
        ppm = self.ppm
        return information_content(ppm.reshape(-1, 4)).reshape(ppm.shape[:2]).sum(axis=1)

    @property
    def footprints(self) -> np.ndarray:
        """(k, w, tracks) the mean track rows over each kernel's sites (NaN without sites)."""
        with np.errstate(invalid="ignore"):
            return self.sums[..., 4:] / self.nsites[:, None, None]


class KernelReader:
    """The maximal activations of a FactorNet model's first two layers (:data:`LAYERS` of its
    ``strand_trunk``) on both strands of windows, turned into :class:`KernelSites`."""

    def __init__(self, model, source: str = "the model"):
        """``model``: a FactorNet Keras model; ``source`` names it in errors (its file)."""
        import keras

        try:
            trunk = model.get_layer("strand_trunk")
            layers = {name: trunk.get_layer(name) for name in LAYERS}
        except ValueError:
            raise InputError(f"{source}: no first convolution to read (no 'conv' and 'conv_dense' "
                             "layers in a 'strand_trunk' sub-model, as FactorNet has)") from None
        conv = layers["conv"]
        if not isinstance(conv, keras.layers.Conv1D):
            raise InputError(f"{source}: the first layer is a {type(conv).__name__}, not a "
                             "convolution")
        self.width = int(conv.kernel_size[0])
        self.length, self.channels = trunk.input.shape[1:]
        self.kernels = {name: int(layer.output.shape[-1]) for name, layer in layers.items()}
        summary = []
        for layer in layers.values():  # (n, positions, k) -> where and how high each maximum is
            summary += [keras.ops.argmax(layer.output, axis=1), keras.ops.max(layer.output, axis=1)]
        per_strand = keras.Model(trunk.input, summary, name="kernel_maxima")
        inputs = {strand: keras.Input((self.length, self.channels), name=strand)
                  for strand in STRANDS}
        outputs = {}
        for strand in STRANDS:
            values = iter(per_strand(inputs[strand]))
            for name in LAYERS:
                outputs[f"{strand}_{name}_best"] = next(values)
                outputs[f"{strand}_{name}_peak"] = next(values)
        self._maxima = keras.Model(inputs, outputs, name="kernel_maxima_both_strands")

    def collect(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, KernelSites]:
        """The sites of every kernel over ``batches`` of (forward, reverse) windows, each
        (n, L, channels) float32: {layer name: KernelSites}."""
        sites = {name: KernelSites.empty(k, self.width, self.channels)
                 for name, k in self.kernels.items()}
        for forward, reverse in batches:
            maxima = self._maxima.predict_on_batch({"forward": forward, "reverse": reverse})
            for strand, windows in zip(STRANDS, (forward, reverse)):
                for name, layer_sites in sites.items():
                    layer_sites.add(windows, np.asarray(maxima[f"{strand}_{name}_best"]),
                                    np.asarray(maxima[f"{strand}_{name}_peak"]))
            for layer_sites in sites.values():
                layer_sites.windows += len(forward)
        return sites


def window_regions(bed: str | os.PathLike | None, chroms: Sequence[str], sizes: ChromSizes,
                   blacklist: IntervalSet) -> Iterator[Samples]:
    """Chunks of the regions to centre windows on: the BED's rows (any row on a chromosome the
    genome lacks is an InputError) or, without a BED, every bin of the chromosomes
    (:func:`~fiddle_factornet.factornet.prediction.region_chunks`); only those on ``chroms`` and
    clear of ``blacklist``."""
    wanted = sizes.ids(list(chroms))
    for samples in region_chunks(bed, chroms, sizes):
        if bed is not None:
            samples = samples.take(np.isin(samples.chrom, wanted))
        yield samples.take(~samples.overlapping(blacklist))


def window_batches(view: FactorNetView, regions: Iterable[Samples], batch_size: int,
                   progress: tqdm | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(forward, reverse) (n, L, channels) float32 batches of the windows of ``regions``, read in
    parallel through the input pipeline; a reader's error comes out as itself (an InputError naming
    the file)."""
    for samples in regions:
        if not len(samples):
            continue
        with reader_errors():
            for inputs, _ in evaluation_dataset(view, samples, batch_size):
                forward, reverse = np.asarray(inputs["forward"]), np.asarray(inputs["reverse"])
                if progress is not None:
                    progress.update(len(forward))
                yield forward, reverse


def read_kernel_sites(folder: FactorNetModel, cell: CellTypeFolder, genome: str,
                      bed: str | None = None, chroms: Sequence[str] | None = DEFAULT_CHROMS,
                      blacklist: str | None = None, annotations_dir: str | None = None,
                      batch_size: int = 500, cache: bool | str = "auto") -> dict[str, KernelSites]:
    """The sites of the model's kernels (:data:`LAYERS`) over the windows of the cell type:
    centred on ``bed``'s regions (default: every bin) on ``chroms`` (None or "all": all), clear of the
    ``blacklist`` (as for prediction: None, none with a warning; ``"none"``, deliberately none)."""
    reader = KernelReader(folder.model, str(folder.path / "model.keras"))
    data = ModelData.open(folder, cell, genome, annotations_dir, cache)
    chroms = chromosome_list(ALL_CHROMS if chroms is None else chroms, data.sizes)
    bad = read_blacklist(blacklist, data.sizes, folder.architecture.input_length)
    view = replace(data.view, vectors=())  # the first layers read the windows only
    with tqdm(unit=" windows", unit_scale=True, desc="kernel motifs", disable=None) as progress:
        sites = reader.collect(window_batches(
            view, window_regions(bed, chroms, data.sizes, bad), batch_size, progress))
    if not sites["conv"].windows:
        raise InputError(f"{bed or genome}: no windows on {', '.join(chroms)} clear of the "
                         "blacklist", setting="bed" if bed else "chroms")
    logger.info("%d windows read on %s", sites["conv"].windows, ", ".join(chroms))
    return sites


def kernel_motifs(model_dir, cell_dir, genome: str, output, bed: str | None = None,
                  chroms: Sequence[str] | None = DEFAULT_CHROMS, blacklist: str | None = None,
                  annotations_dir: str | None = None, batch_size: int = 500,
                  motif_db: str = JASPAR, top: int = 5, trim_bits: float = TRIM_BITS,
                  cache: bool | str = "auto", overwrite: bool = False) -> dict[str, KernelSites]:
    """Motifs and footprints of a FactorNet model folder's kernels in a cell type
    (:func:`read_kernel_sites`), written to the folder ``output`` with their run record (see
    :func:`write_kernel_outputs`); ``motif_db``: ``"jaspar"``, ``"none"`` or a MEME file, matched
    after trimming end columns under ``trim_bits`` bits, ``top`` matches per kernel.
    """
    cell = CellTypeFolder.read(cell_dir)
    database_file = None if motif_db in (JASPAR, NO_DATABASE) else motif_db
    record = RunRecord("factornet kernel motifs", {
        "model_dir": absolute(model_dir), "cell_dir": absolute(cell_dir),
        "genome": absolute(genome), "output": absolute(output), "bed": absolute(bed),
        "chroms": None if chroms is None else list(chroms),
        "blacklist": blacklist if blacklist == NO_BLACKLIST else absolute(blacklist),
        "annotations_dir": absolute(annotations_dir), "batch_size": batch_size,
        "motif_db": absolute(database_file) or motif_db, "top": top, "trim_bits": trim_bits,
        "cache": cache, "overwrite": overwrite})
    if blacklist is None:
        record.update(warnings=[NO_BLACKLIST_WARNING])
    inputs = [model_dir, bed, genome, None if blacklist == NO_BLACKLIST else blacklist,
              annotations_dir, database_file, *cell.files]
    with safe_output(output, overwrite, inputs) as tmp:
        folder = FactorNetModel.load(model_dir)
        database = motif_database(motif_db)
        record.update(device=describe_device())
        sites = read_kernel_sites(folder, cell, genome, bed, chroms, blacklist, annotations_dir,
                                  batch_size, cache)
        record.update(windows=sites["conv"].windows, motif_database=None if database is None else {
            "description": database.description, "motifs": len(database),
            "tomtom": f"memelite {importlib.metadata.version('memelite')}"})
        tmp.mkdir()
        write_kernel_outputs(tmp, sites, folder.track_names, database, top, trim_bits)
        record.write(tmp / RECORD_NAME)
    logger.info("wrote %s", output)
    return sites


def _file_name(track: str) -> str:
    return re.sub(r"[^\w.-]", "_", track)


def write_kernel_outputs(folder: Path, sites: dict[str, KernelSites], track_names: Sequence[str],
                         database: MotifDatabase | None, top: int = 5,
                         trim_bits: float = TRIM_BITS) -> None:
    """Into ``folder``, per layer (file suffix ``2`` for ``conv_dense``, as the original):
    ``motifs.meme`` (kernels with sites), ``<track>_meansignal.npy`` (kernels, w); for both:
    ``kernels.tsv`` (sites and bits of every kernel), ``footprints.tsv``, ``matches.tsv`` (with a
    database); for the first layer, ``logos/kernel_<i>.png`` and ``logo_sheet.png``."""
    summaries, footprints, matches = [], [], []
    for layer, suffix in LAYERS.items():
        layer_sites = sites[layer]
        ppm, nsites, means = layer_sites.ppm, layer_sites.nsites, layer_sites.footprints
        kept = np.flatnonzero(nsites)
        write_meme(folder / f"motifs{suffix}.meme", [f"M{k} O{k}" for k in kept], ppm[kept],
                   nsites[kept])
        for t, track in enumerate(track_names):
            np.save(folder / f"{_file_name(track)}_meansignal{suffix}.npy", means[..., t])
        k, w, tracks = means.shape
        kernel, position, track = np.indices((k, w, tracks)).reshape(3, -1)
        footprints.append(pd.DataFrame({
            "layer": layer, "kernel": kernel, "track": np.asarray(track_names, object)[track],
            "position": position, "mean": means.ravel()}))
        summaries.append(pd.DataFrame({"layer": layer, "kernel": np.arange(k), "nsites": nsites,
                                       "bits": layer_sites.bits}))
        if database is not None:
            found = match_motifs([ppm[i] if nsites[i] else None for i in range(k)], database,
                                 top, trim_bits)
            matches.append(found.assign(layer=layer)[["layer", *found.columns]])
    pd.concat(summaries).to_csv(folder / "kernels.tsv", sep="\t", index=False,
                                float_format="%.4f")
    pd.concat(footprints).to_csv(folder / "footprints.tsv", sep="\t", index=False,
                                 float_format="%.6g", na_rep="NaN")
    best = None
    if database is not None:
        table = pd.concat(matches)
        with open(folder / "matches.tsv", "w") as out:
            out.write(f"# kernel motifs trimmed of end columns under {trim_bits:g} bits (kept: "
                      f"kernel positions query_start..query_end) matched by TOMTOM (memelite, "
                      f"columns compared by Pearson correlation, both strands) to {database.description}, "
                      f"{len(database)} motifs\n")
            table.to_csv(out, sep="\t", index=False, float_format="%.4g")
        best = table[(table["layer"] == "conv") & (table["rank"] == 1)].set_index("kernel")
    _write_logos(folder, sites["conv"], track_names, best)


def _write_logos(folder: Path, sites: KernelSites, track_names: Sequence[str],
                 best: pd.DataFrame | None) -> None:
    """``logos/kernel_<i>.png`` for every kernel with sites, and ``logo_sheet.png`` sorted by
    best match q-value (with matches; kernels without one after) then information content."""
    (folder / "logos").mkdir()
    ppm, means = sites.ppm, sites.footprints
    kernels = np.flatnonzero(sites.nsites)
    titles = {}
    for k in kernels:
        titles[k] = f"kernel {k}: {sites.nsites[k]} sites"
        if best is not None and k in best.index:
            titles[k] += f", {best.at[k, 'target_name']} (q = {best.at[k, 'q_value']:.2g})"
        kernel_figure(folder / "logos" / f"kernel_{k}.png", ppm[k],
                      {name: means[k, :, t] for t, name in enumerate(track_names)}, titles[k])
    bits = sites.bits[kernels]
    q_values = np.array([best.at[k, "q_value"] if best is not None and k in best.index else np.inf
                         for k in kernels])
    order = kernels[np.lexsort((-bits, q_values))]
    logo_sheet(folder / "logo_sheet.png", [ppm[k] for k in order], [titles[k] for k in order])
