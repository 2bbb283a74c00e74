"""Prediction with a trained FactorNet model folder: ENCODE-DREAM submission files.

The regions (a BED, e.g. the challenge's ladder or test regions: tens of millions of bins) are
streamed in chunks; each chunk's bins are scored through the evaluation pipeline, bins touching
the blacklist score 0 and keep their row, and the rows go out in the BED's order as
``chrom start end probability`` (6 decimals) to a gzipped file renamed into place when complete.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from tqdm.auto import tqdm

from .bins import make_blacklist
from .celltype import CellTypeFolder
from ..errors import InputError
from ..data.files import atomic_output
from ..data.genome import Genome, prefix_hint
from ..data.intervals import IntervalSet, iter_bed
from .view import FactorNetView
from ..pipeline import TrackInput, VectorInput, evaluation_dataset
from ..data.samples import Samples
from ..data.tables import fixed_point, format_rows
from ..data.tracks import TrackSet
from .annotations import Annotations
from .convert import HARD_SIGMOID_NAME, keras1_hard_sigmoid
from .model import FactorNetConfig

logger = logging.getLogger(__name__)

CHUNK_ROWS = 500_000


def _lines(path: Path) -> tuple[str, ...]:
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


@dataclass(frozen=True)
class ModelFolder:
    """A trained model and what it was trained on (see ``training``'s folder layout)."""

    path: Path
    model: keras.Model
    architecture: FactorNetConfig
    tfs: tuple[str, ...]
    track_names: tuple[str, ...]
    meta_names: tuple[str, ...]
    features: tuple[str, ...]

    @classmethod
    def load(cls, path) -> "ModelFolder":
        path = Path(path)
        for name in ("config.json", "model.keras", "chip.txt", "bigwig.txt", "feature.txt"):
            if not (path / name).is_file():
                raise InputError(f"{path}: not a FactorNet model folder ({name} is missing)")
        features = _lines(path / "feature.txt")
        meta_names = _lines(path / "meta.txt") if "meta" in features else ()
        architecture = FactorNetConfig(**json.loads((path / "config.json").read_text())["architecture"])
        model = keras.models.load_model(path / "model.keras",  # converted originals' activation
                                        custom_objects={HARD_SIGMOID_NAME: keras1_hard_sigmoid})
        return cls(path, model, architecture,
                   _lines(path / "chip.txt"), _lines(path / "bigwig.txt"), meta_names, features)

    def check_cell_type(self, cell: CellTypeFolder) -> None:
        """The folder must provide the tracks and meta features the model was trained on."""
        if cell.track_names != self.track_names:
            raise InputError(f"{cell.path / 'bigwig.txt'}: track names {list(cell.track_names)} "
                             f"differ from the model's {list(self.track_names)} ({self.path})")
        if "meta" in self.features and cell.meta_names != self.meta_names:
            raise InputError(f"{cell.path / 'meta.txt'}: meta names {list(cell.meta_names)} differ "
                             f"from the model's {list(self.meta_names)} ({self.path})")

    def output_index(self, tf: str) -> int:
        if tf not in self.tfs:
            raise InputError(f"{self.path / 'chip.txt'}: the model does not predict {tf!r} "
                             f"(it predicts {', '.join(self.tfs)})")
        return self.tfs.index(tf)


def predict_regions(model_dir, cell_dir, tf: str, regions, output, genome: str,
                    blacklist: str | None = None, annotations_dir: str | None = None,
                    batch_size: int = 1000, cache: bool | str = "auto",
                    overwrite: bool = False) -> int:
    """Score every bin of ``regions`` for ``tf`` in the cell type; write the submission file.

    Returns the number of rows written.
    """
    folder = ModelFolder.load(model_dir)
    column = folder.output_index(tf)
    cell = CellTypeFolder.read(cell_dir)
    folder.check_cell_type(cell)
    if "gencode" in folder.features and not annotations_dir:
        raise InputError(f"{folder.path}: the model uses annotation features; give their folder")
    reference = Genome(genome, cache=cache)
    sizes = reference.sizes
    arch = folder.architecture
    bad = make_blacklist(IntervalSet.read(blacklist, sizes) if blacklist else IntervalSet({}),
                         sizes, arch.input_length)
    vectors = []
    if "meta" in folder.features:
        vectors.append(VectorInput("meta", np.array([cell.meta_values], np.float32)))
    annotations = None
    if "gencode" in folder.features:
        annotations = Annotations.read(annotations_dir, sizes)
        vectors.append(VectorInput("annotations"))
    tracks = TrackInput("tracks", (TrackSet(cell.bigwig_files, cell.track_names, cache=cache),)) \
        if cell.track_names else None
    view = FactorNetView(reference, tracks, tuple(vectors), arch.input_length)
    rows = 0
    with atomic_output(output, overwrite) as tmp, gzip.open(tmp, "wb", compresslevel=4) as out, \
            tqdm(unit=" bins", unit_scale=True, desc=f"predict {tf}", disable=None) as progress:
        for chunk in iter_bed(regions, chunk_rows=CHUNK_ROWS):
            samples = _chunk_samples(regions, chunk, sizes)
            scores = np.zeros(len(samples), np.float32)
            clear = ~samples.overlapping(bad)
            if clear.any():
                keep = samples.take(clear)
                if annotations is not None:
                    keep = annotations.annotate(keep)
                scores[clear] = folder.model.predict(evaluation_dataset(view, keep, batch_size),
                                                     verbose=0)[:, column]
            names = chunk["chrom"].to_numpy().astype("S")
            out.write(format_rows([names, samples.start, samples.end, fixed_point(scores)]))
            rows += len(samples)
            progress.update(len(samples))
    logger.info("wrote %s: %d bins (%s in %s)", output, rows, tf, cell.name)
    return rows


def _chunk_samples(path, chunk, sizes) -> Samples:
    distinct, row_name = np.unique(chunk["chrom"].to_numpy(), return_inverse=True)
    unknown = [name for name in distinct if name not in sizes]
    if unknown:
        raise InputError(f"{path}: chromosome {unknown[0]!r} is not in the genome "
                         f"({sizes.source}){prefix_hint(unknown[0], sizes)}")
    chrom = sizes.ids(list(distinct))[row_name]
    n = len(chunk)
    return Samples.build(sizes.names, chrom, chunk["start"].to_numpy(), chunk["end"].to_numpy(),
                         0, 0, np.zeros((n, 1)))
