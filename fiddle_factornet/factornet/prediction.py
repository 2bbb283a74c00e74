"""Prediction with a trained FactorNet model folder: ENCODE-DREAM submission files.

The regions (a BED, e.g. the challenge's ladder or test regions: tens of millions of bins) are
streamed in chunks; each chunk's bins are scored through the evaluation pipeline, bins touching
the blacklist score 0 and keep their row, and the rows go out in the BED's order as
``chrom start end probability`` (scientific notation, 9 significant digits by default; the
original's 4 with ``score_digits=4``) to a gzipped file renamed into place when complete. A region
must lie on a chromosome of the genome, with ``start < end <=`` the chromosome's length.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .bins import NO_BLACKLIST, NO_BLACKLIST_WARNING, read_blacklist
from .celltype import CellTypeFolder
from ..errors import InputError
from ..runs.outputs import recorded_outputs
from ..runs.record import RunRecord, absolute, describe_device
from ..data.genome import Genome, prefix_hint
from ..data.intervals import iter_bed
from .view import FactorNetView
from ..pipeline import TrackInput, VectorInput, check_model_inputs, evaluation_dataset, reader_errors
from ..data.samples import Samples
from ..data.tables import format_rows, scientific
from ..data.tracks import TrackSet
from .annotations import Annotations
from .evaluation import SCORE_DIGITS, check_score_digits
from .folder import FactorNetModel

logger = logging.getLogger(__name__)

CHUNK_ROWS = 500_000


def predict_regions(model_dir, cell_dir, tf: str, regions, output, genome: str,
                    blacklist: str | None = None, annotations_dir: str | None = None,
                    batch_size: int = 1000, cache: bool | str = "auto",
                    overwrite: bool = False, score_digits: int = SCORE_DIGITS) -> int:
    """Score every bin of ``regions`` for ``tf`` in the cell type; write the submission file, its
    probabilities with ``score_digits`` significant digits.

    Returns the number of rows written.
    """
    check_score_digits(score_digits)
    cell = CellTypeFolder.read(cell_dir)
    record = RunRecord("factornet prediction", {
        "model_dir": absolute(model_dir), "cell_dir": absolute(cell_dir), "tf": tf,
        "regions": absolute(regions), "output": absolute(output), "genome": absolute(genome),
        "blacklist": blacklist if blacklist == NO_BLACKLIST else absolute(blacklist), "annotations_dir": absolute(annotations_dir),
        "batch_size": batch_size, "cache": cache, "overwrite": overwrite,
        "score_digits": score_digits})
    if blacklist is None:
        record.update(warnings=[NO_BLACKLIST_WARNING])
    inputs = [model_dir, regions, genome, None if blacklist == NO_BLACKLIST else blacklist,
              annotations_dir, *cell.files]
    with recorded_outputs([output], record, overwrite, inputs) as (tmp,):
        folder = FactorNetModel.load(model_dir)
        record.update(device=describe_device())
        rows = _predict_to(tmp, folder, cell, tf, regions, genome, blacklist, annotations_dir,
                           batch_size, cache, score_digits)
    logger.info("wrote %s: %d bins (%s in %s)", output, rows, tf, cell.name)
    return rows


def _predict_to(path: Path, folder: FactorNetModel, cell: CellTypeFolder, tf: str, regions,
                genome: str, blacklist: str | None, annotations_dir: str | None, batch_size: int,
                cache: bool | str, score_digits: int) -> int:
    """The submission rows, gzipped, into ``path``; returns their number."""
    column = folder.output_index(tf)
    folder.check_cell_type(cell)
    if "gencode" in folder.features and not annotations_dir:
        raise InputError(f"{folder.path}: the model uses annotation features; give their folder",
                         setting="annotations_dir")
    reference = Genome(genome, cache=cache)
    sizes = reference.sizes
    arch = folder.architecture
    bad = read_blacklist(blacklist, sizes, arch.input_length)
    vectors = []
    if "meta" in folder.features:
        vectors.append(VectorInput("meta", np.array([cell.meta_values], np.float32)))
    annotations = None
    if "gencode" in folder.features:
        annotations = Annotations.read(annotations_dir, sizes)
        vectors.append(VectorInput("annotations"))
    tracks = TrackInput("tracks", (TrackSet(cell.bigwig_files, cell.track_names, cache=cache,
                                            sizes=sizes),)) \
        if cell.track_names else None
    view = FactorNetView(reference, tracks, tuple(vectors), arch.input_length)
    rows = 0
    with gzip.open(path, "wb", compresslevel=4) as out, \
            tqdm(unit=" bins", unit_scale=True, desc=f"predict {tf}", disable=None) as progress:
        for chunk in iter_bed(regions, chunk_rows=CHUNK_ROWS):
            samples = _chunk_samples(regions, chunk, sizes)
            scores = np.zeros(len(samples), np.float32)
            clear = ~samples.overlapping(bad)
            if clear.any():
                keep = samples.take(clear)
                if annotations is not None:
                    keep = annotations.annotate(keep)
                check_model_inputs(folder.model, view, keep, str(folder.path / "model.keras"))
                with reader_errors():
                    scores[clear] = folder.model.predict(evaluation_dataset(view, keep, batch_size),
                                                         verbose=0)[:, column]
            names = chunk["chrom"].to_numpy().astype("S")
            out.write(format_rows([names, samples.start, samples.end,
                                   scientific(scores, score_digits)]))
            rows += len(samples)
            progress.update(len(samples))
    return rows


def _chunk_samples(path, chunk, sizes) -> Samples:
    """The regions of one chunk of :func:`iter_bed` rows as samples; a row on a chromosome the
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
