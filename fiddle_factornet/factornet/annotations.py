"""FactorNet's per-bin annotation features (``-g``): six booleans from GENCODE v19 and CpG BEDs."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..data.genome import ChromSizes
from ..data.intervals import IntervalSet
from ..data.samples import Samples

#: the six features, in the original's order, and their files in FactorNet's resources folder
ANNOTATION_FILES = (
    ("cpg_island", "cpgisland.bed.gz"),
    ("cds", "wgEncodeGencodeBasicV19.cds.merged.bed.gz"),
    ("intron", "wgEncodeGencodeBasicV19.intron.merged.bed.gz"),
    ("promoter", "wgEncodeGencodeBasicV19.promoter.merged.bed.gz"),
    ("utr5", "wgEncodeGencodeBasicV19.utr5.merged.bed.gz"),
    ("utr3", "wgEncodeGencodeBasicV19.utr3.merged.bed.gz"),
)


@dataclass(frozen=True)
class Annotations:
    """The annotation interval sets; ``features`` marks which of them each region overlaps."""

    names: tuple[str, ...]
    sets: tuple[IntervalSet, ...]

    @classmethod
    def read(cls, folder: str | os.PathLike, sizes: ChromSizes) -> "Annotations":
        folder = Path(folder)
        return cls(tuple(name for name, _ in ANNOTATION_FILES),
                   tuple(IntervalSet.read(folder / file, sizes) for _, file in ANNOTATION_FILES))

    def features(self, samples: Samples) -> np.ndarray:
        """(n, 6) float32: 1 where the sample's region overlaps the annotation, else 0."""
        return np.stack([samples.overlapping(intervals) for intervals in self.sets],
                        axis=1).astype(np.float32).reshape(len(samples), len(self.sets))

    def annotate(self, samples: Samples) -> Samples:
        """``samples`` with their features as ``extras["annotations"]``."""
        return replace(samples, extras={**samples.extras, "annotations": self.features(samples)})
