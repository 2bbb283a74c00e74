"""Prediction with a trained FactorNet model folder: ENCODE-DREAM submission files and tracks.

**Bins.** Either a BED's rows (e.g. the challenge's ladder or test regions: tens of millions of
bins), kept in its order, or, without a BED, every bin of chosen chromosomes (``chroms``; "all":
every chromosome of the genome): 200 bp every 50 bp, whole bins only (:class:`~.bins.BinGrid`),
made chunk by chunk, never all at once. A region must lie on a chromosome of the genome, with
``start < end <=`` the chromosome's length; a requested chromosome the genome lacks is an error.
Bins are streamed in chunks of :data:`CHUNK_ROWS`; bins touching the blacklist score 0 and keep
their row.

**Shards** (:mod:`~.shards`): ``shard`` K of N scores one contiguous run of the bins, by position
in the whole list: rows ``[(K - 1) T // N, K T // N)`` of the T bins (counted first: arithmetic for
chromosomes, a pass over the BED's lines). Its chunks are the whole run's chunks cut to its rows,
and each bin takes the path it takes in the whole run, so a shard's scores are those the whole run
gives its bins, bit for bit (on the same device and software), and :func:`~.shards.merge_shards`
joins the shards' outputs into the whole run's files.

**Paths.** By default consecutive bins share the convolution (the stretch path,
:mod:`~.stretch`: runs of at least 4 bins of one width on one lattice, e.g. a 200/50 grid), the
others (isolated bins) take the per-window path through the evaluation pipeline, in batches of
exactly ``batch_size`` (the last one padded), so that a bin's score does not depend on the bins
batched with it; ``stretch=False`` takes the per-window path for every bin. Both give the same
scores (within 1e-5). The run record says how many bins took each path.

**Outputs**, at least one: the submission ``output``, ``chrom start end probability`` in the bins'
order (gzipped; scientific notation, 9 significant digits by default, the original's 4 with
``score_digits=4``; gzip headers without a name or time: the same scores, the same bytes), and on
request a bigWig and/or a bedGraph of the same scores (:mod:`~.prediction_tracks`: each 50 bp step
carries the score of the bin centred on it, bin ``[s, s + 200)`` on ``[s + 75, s + 125)``). Each
is written under a temporary name and renamed into place when complete, with one run record beside
the first (a shard's: beside each, which records the shard); an existing one is refused unless
``overwrite``.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from .bins import NO_BLACKLIST, NO_BLACKLIST_WARNING, BinGrid, read_blacklist
from .celltype import CellTypeFolder
from ..errors import InputError
from ..runs.outputs import recorded_outputs
from ..runs.record import RunRecord, absolute, describe_device
from ..data.genome import ChromSizes, Genome, load_chrom_sizes, prefix_hint
from ..data.intervals import iter_bed
from .view import FactorNetView
from ..pipeline import TrackInput, VectorInput, check_model_inputs, evaluation_dataset, reader_errors
from ..data.samples import Samples
from ..data.tables import format_rows, scientific
from ..data.tracks import TrackSet
from .annotations import Annotations
from .evaluation import SCORE_DIGITS, check_score_digits
from .folder import FactorNetModel
from .prediction_tracks import gzip_output, score_tracks
from .shards import Shard, count_bins
from .stretch import SharedConvolution

logger = logging.getLogger(__name__)

CHUNK_ROWS = 500_000
#: the ``chroms`` value that asks for every chromosome of the genome
ALL_CHROMS = "all"


def predict_regions(model_dir, cell_dir, tf: str, regions, output, genome: str,
                    blacklist: str | None = None, annotations_dir: str | None = None,
                    batch_size: int = 1000, cache: bool | str = "auto",
                    overwrite: bool = False, score_digits: int = SCORE_DIGITS,
                    chroms: Sequence[str] | str | None = None, bigwig=None, bedgraph=None,
                    stretch: bool = True, shard: Shard | None = None) -> int:
    """Score bins for ``tf`` in the cell type and write the submission and/or tracks.

    Parameters
    ----------
    regions : a BED of the bins, or None with ``chroms``.
    chroms : without a BED, the chromosomes whose every 200/50 bin is scored, in order, or
        ``"all"`` (every chromosome of the genome, in its order).
    output : the submission file (None: none; then ``bigwig`` or ``bedgraph`` is needed).
    bigwig, bedgraph : browser tracks of the scores (None: none); the bedGraph is gzipped when
        its name ends in .gz.
    score_digits : significant digits of the written probabilities.
    stretch : share the convolution between consecutive bins (default) or score every bin alone.
    shard : score only this shard of the bins (None: all of them).

    Returns the number of bins scored.
    """
    check_score_digits(score_digits)
    if regions is not None and chroms:
        raise InputError("give either a BED of regions or chromosomes to cover, not both",
                         setting="regions")
    if regions is None and not chroms:
        raise InputError("no bins to score: give a BED of regions or chromosomes to cover",
                         setting="regions")
    named = {name: path for name, path in (("output", output), ("bigwig", bigwig),
                                           ("bedgraph", bedgraph)) if path is not None}
    if not named:
        raise InputError("nothing to write: give the submission output, a bigWig or a bedGraph",
                         setting="output")
    cell = CellTypeFolder.read(cell_dir)
    if regions is None:
        chroms = chromosome_list(chroms, load_chrom_sizes(genome))
    record = RunRecord("factornet prediction", {
        "model_dir": absolute(model_dir), "cell_dir": absolute(cell_dir), "tf": tf,
        "regions": absolute(regions), "chroms": None if chroms is None else list(chroms),
        "output": absolute(output), "bigwig": absolute(bigwig), "bedgraph": absolute(bedgraph),
        "genome": absolute(genome),
        "blacklist": blacklist if blacklist == NO_BLACKLIST else absolute(blacklist),
        "annotations_dir": absolute(annotations_dir), "batch_size": batch_size, "cache": cache,
        "overwrite": overwrite, "score_digits": score_digits, "stretch": stretch,
        "shard": None if shard is None else str(shard)})
    if blacklist is None:
        record.update(warnings=[NO_BLACKLIST_WARNING])
    inputs = [model_dir, regions, genome, None if blacklist == NO_BLACKLIST else blacklist,
              annotations_dir, *cell.files]
    with contextlib.ExitStack() as stack:
        if shard is None:
            tmps = stack.enter_context(recorded_outputs(list(named.values()), record, overwrite,
                                                        inputs))
        else:  # a record beside each output, so that each merges on its own
            tmps = [stack.enter_context(recorded_outputs([path], record, overwrite, inputs))[0]
                    for path in named.values()]
        tmp = dict(zip(named, tmps))
        rows = None
        if shard is not None:
            total = count_bins(regions, chroms, load_chrom_sizes(genome))
            rows = shard.rows(total)
            record.update(shard=shard.record(total))
            logger.info("shard %s: bins %d to %d of %d", shard, rows.start, rows.stop - 1, total)
        folder = FactorNetModel.load(model_dir)  # a model's name too (runs.models)
        record.data["settings"]["model_dir"] = absolute(folder.path)
        record.update(device=describe_device())
        run = _Prediction(folder, cell, tf, genome, blacklist, annotations_dir, batch_size, cache,
                          score_digits, stretch)
        counts, tracks = run.write(regions, chroms, rows, tmp.get("output"), tmp.get("bigwig"),
                                   tmp.get("bedgraph"), str(bedgraph).endswith(".gz"))
        record.update(bins=counts, **({} if tracks is None else {"tracks": tracks}))
    logger.info("wrote %s: %d bins (%s in %s; %d on the stretch path, %d per window, %d "
                "blacklisted)", ", ".join(map(str, named.values())), counts["total"], tf, cell.name,
                counts["stretch"], counts["per_window"], counts["blacklisted"])
    return counts["total"]


def chromosome_list(chroms: Sequence[str] | str, sizes: ChromSizes) -> tuple[str, ...]:
    """``chroms`` (names, or one comma-separated string) checked against the genome; ``"all"``
    (alone): every chromosome, in the genome's order. A chromosome the genome lacks is an
    InputError."""
    chroms = chroms.split(",") if isinstance(chroms, str) else list(chroms)
    if chroms == [ALL_CHROMS]:
        chroms = sizes.names
    for name in chroms:
        if name not in sizes:
            raise InputError(f"chromosome {name!r} is not in the genome ({sizes.source})"
                             f"{prefix_hint(name, sizes)}", setting="chroms")
    return tuple(chroms)


@dataclass(frozen=True)
class ModelData:
    """What a FactorNet model reads in a cell type: the view of its inputs, the genome's sizes and
    the annotations that feed its ``annotations`` input (None when it has none)."""

    view: FactorNetView
    sizes: ChromSizes
    annotations: Annotations | None = None

    @classmethod
    def open(cls, folder: FactorNetModel, cell: CellTypeFolder, genome: str,
             annotations_dir: str | None = None, cache: bool | str = "auto") -> "ModelData":
        """The inputs ``folder``'s model wants, from ``cell`` and ``genome``; the cell type must
        provide the model's tracks and meta features, ``annotations_dir`` its annotations."""
        folder.check_cell_type(cell)
        if "gencode" in folder.features and not annotations_dir:
            raise InputError(f"{folder.path}: the model uses annotation features; give their "
                             "folder", setting="annotations_dir")
        reference = Genome(genome, cache=cache)
        sizes = reference.sizes
        vectors = []
        if "meta" in folder.features:
            vectors.append(VectorInput("meta", np.array([cell.meta_values], np.float32)))
        annotations = None
        if "gencode" in folder.features:
            annotations = Annotations.read(annotations_dir, sizes)
            vectors.append(VectorInput("annotations"))
        tracks = TrackInput("tracks", (TrackSet(cell.bigwig_files, cell.track_names, cache=cache,
                                                sizes=sizes),)) if cell.track_names else None
        view = FactorNetView(reference, tracks, tuple(vectors), folder.architecture.input_length)
        return cls(view, sizes, annotations)

    def annotate(self, samples: Samples) -> Samples:
        """``samples`` with the per-region values the model's vector inputs read."""
        return samples if self.annotations is None else self.annotations.annotate(samples)


@dataclass(frozen=True)
class _Prediction:
    """One prediction run's settings, with the model loaded."""

    folder: FactorNetModel
    cell: CellTypeFolder
    tf: str
    genome: str
    blacklist: str | None
    annotations_dir: str | None
    batch_size: int
    cache: bool | str
    score_digits: int
    stretch: bool

    def write(self, regions, chroms: Sequence[str] | None, rows: range | None,
              submission: Path | None, bigwig: Path | None, bedgraph: Path | None,
              compress_bedgraph: bool) -> tuple[dict, dict | None]:
        """Score the bins of ``regions`` (a BED) or of ``chroms`` (only bins ``rows`` of them, a
        shard's; None: all) into the outputs given (paths or None). Returns the counts of bins
        (total, stretch, per_window, blacklisted) and, with a track, its intervals and the lowest
        and highest bin centre on each chromosome (None without)."""
        folder = self.folder
        column = folder.output_index(self.tf)
        data = ModelData.open(folder, self.cell, self.genome, self.annotations_dir, self.cache)
        bad = read_blacklist(self.blacklist, data.sizes, folder.architecture.input_length)
        shared = SharedConvolution.of(folder.model) if self.stretch else None
        names = np.array(data.sizes.names, dtype="S")
        counts = dict(total=0, stretch=0, per_window=0, blacklisted=0)
        source = regions if regions is not None else f"the bins of {', '.join(chroms)}"
        widths_said = False
        with contextlib.ExitStack() as stack:
            out = None if submission is None else stack.enter_context(gzip_output(submission))
            tracks = stack.enter_context(score_tracks(data.sizes, bigwig, bedgraph,
                                                      self.score_digits, compress_bedgraph))
            progress = stack.enter_context(tqdm(unit=" bins", unit_scale=True, disable=None,
                                                desc=f"predict {self.tf}"))
            for offset, samples in numbered_chunks(regions, chroms, data.sizes, rows):
                clear = ~samples.overlapping(bad)
                on_stretch = np.zeros(len(samples), bool)
                if shared is not None and clear.any():
                    on_stretch[clear] = shared.covers(samples.take(clear))
                if rows is not None:  # the shard's bins, on the paths of the whole chunk
                    mine = slice(max(rows.start - offset, 0), min(rows.stop - offset, len(samples)))
                    samples, clear, on_stretch = samples.take(mine), clear[mine], on_stretch[mine]
                scores = np.zeros(len(samples), np.float32)
                if clear.any():
                    keep = data.annotate(samples.take(clear))
                    check_model_inputs(folder.model, data.view, keep,
                                       str(folder.path / "model.keras"))
                    if shared is not None and not widths_said:
                        widths_said = _say_mixed_widths(source, keep)
                    predicted, stretched = predict_samples(folder.model, data.view, keep,
                                                           self.batch_size, shared, progress,
                                                           on_stretch[clear])
                    scores[clear] = predicted[:, column]
                    counts["stretch"] += stretched
                    counts["per_window"] += len(keep) - stretched
                counts["blacklisted"] += len(samples) - int(clear.sum())
                progress.update(len(samples) - int(clear.sum()))
                if out is not None:
                    out.write(format_rows([names[samples.chrom], samples.start, samples.end,
                                           scientific(scores, self.score_digits)]))
                if tracks is not None:
                    tracks.add(samples.chrom, samples.start, samples.end, scores)
                counts["total"] += len(samples)
        if rows is not None and counts["total"] != len(rows):
            raise InputError(f"{source}: ended after {rows.start + counts['total']} of the "
                             f"{rows.stop} rows counted before: has it changed since?")
        return counts, None if tracks is None else {"intervals": tracks.written,
                                                    "centres": tracks.centres()}


def _say_mixed_widths(source, samples: Samples) -> bool:
    """Log, once, that the bins are not all of one width; True when it did."""
    width = samples.end - samples.start
    if (width == width[0]).all():
        return False
    other = int(width[np.argmax(width != width[0])])
    logger.info("%s: bins of different widths (%d and %d bp): only runs of consecutive bins of one "
                "width share the convolution, the others are scored per window", source,
                int(width[0]), other)
    return True


def predict_samples(model, view: FactorNetView, samples: Samples, batch_size: int,
                    shared: SharedConvolution | None = None, progress=None,
                    on_stretch: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """The model's outputs for ``samples``: (n, n_tasks) float32, and how many rows took the
    stretch path. With ``shared``, the rows ``on_stretch`` (n,) bool take it (default: those in
    runs of consecutive bins, :meth:`SharedConvolution.covers`), the others the per-window path,
    in batches of ``batch_size`` (the last one padded with copies of the last row); without, all
    go per window. ``progress`` (a tqdm bar) counts the rows."""
    if on_stretch is None:
        on_stretch = shared.covers(samples) if shared is not None else np.zeros(len(samples), bool)
    out = None
    for rows, path in ((~on_stretch, "per_window"), (on_stretch, "stretch")):
        if not rows.any():
            continue
        part = samples.take(rows)
        if path == "stretch":
            scores = shared.predict(view, part, batch_size, progress)
        else:
            padded = np.minimum(np.arange(len(part) - len(part) % -batch_size), len(part) - 1)
            with reader_errors():
                scores = model.predict(evaluation_dataset(view, part.take(padded), batch_size),
                                       verbose=0)[:len(part)]
            if progress is not None:
                progress.update(len(part))
        if out is None:
            out = np.empty((len(samples), scores.shape[1]), np.float32)
        out[rows] = scores
    return out, int(on_stretch.sum())


def region_chunks(regions, chroms: Sequence[str] | None, sizes: ChromSizes) -> Iterator[Samples]:
    """The bins to score in chunks of at most :data:`CHUNK_ROWS`: the rows of the BED ``regions``
    in its order (see :func:`bed_samples`), or, with ``regions`` None, every bin of
    :class:`~.bins.BinGrid` on ``chroms``, in order (a BED's chunks: :data:`CHUNK_ROWS` rows;
    chromosomes': :data:`CHUNK_ROWS` bins from each chromosome's first)."""
    for _, samples in numbered_chunks(regions, chroms, sizes):
        yield samples


def numbered_chunks(regions, chroms: Sequence[str] | None, sizes: ChromSizes,
                    rows: range | None = None) -> Iterator[tuple[int, Samples]]:
    """The chunks of :func:`region_chunks` that hold bins of ``rows`` (indices into the whole
    list of bins; None: all), each with the index of its first bin. Chunks before ``rows`` are
    skipped unmade (a BED's: read, not checked); reading stops after ``rows``."""
    begin, stop = (0, np.inf) if rows is None else (rows.start, rows.stop)
    if stop <= begin:
        return
    offset = 0
    if regions is not None:
        for chunk in iter_bed(regions, chunk_rows=CHUNK_ROWS):
            if offset >= stop:
                return
            if offset + len(chunk) > begin:
                yield offset, bed_samples(regions, chunk, sizes)
            offset += len(chunk)
        return
    grid = BinGrid(sizes)
    for name in chroms:
        span = grid.chrom_slice(name)
        for lo in range(span.start, span.stop, CHUNK_ROWS):
            first, hi = offset + lo - span.start, min(lo + CHUNK_ROWS, span.stop)
            if first >= stop:
                return
            if first + hi - lo > begin:
                chrom, start = grid.locate(np.arange(lo, hi))
                yield first, Samples.build(sizes.names, chrom, start, start + grid.width, 0, 0,
                                           np.zeros((len(start), 1)))
        offset += span.stop - span.start


def bed_samples(path, chunk, sizes: ChromSizes) -> Samples:
    """The regions of one chunk of :func:`iter_bed` rows (of the BED ``path``) as samples; a row on a chromosome the
    genome lacks, an empty row (start >= end) or one ending past its chromosome is an InputError
    naming the file, the line and the row."""
    distinct, row_name = np.unique(chunk["chrom"].to_numpy(), return_inverse=True)
    unknown = [name for name in distinct if name not in sizes]
    if unknown:
        raise InputError(f"{path}: chromosome {unknown[0]!r} is not in the genome "
                         f"({sizes.source}){prefix_hint(unknown[0], sizes)}")
    chrom = sizes.ids(list(distinct))[row_name]
    start, end = chunk["start"].to_numpy(), chunk["end"].to_numpy()
    length = np.asarray(sizes.lengths, np.int64)[chrom]
    for bad, problem in ((start >= end, "is empty: a region needs start < end"),
                         (end > length, "ends past the end of {name} ({length} bp in {source})")):
        if bad.any():
            row = int(np.argmax(bad))
            name = sizes.names[chrom[row]]
            problem = problem.format(name=name, length=length[row], source=sizes.source)
            raise InputError(f"{path}: line {chunk['line'].iloc[row]}: {name}:{start[row]}-"
                             f"{end[row]} {problem}")
    return Samples.build(sizes.names, chrom, start, end, 0, 0, np.zeros((len(chunk), 1)))
