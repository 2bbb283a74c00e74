"""The sample record both model families train on: regions with their shift range, cell type,
strand, targets and per-sample vectors, as columns (no Python objects per sample)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Mapping, Sequence

import numpy as np

from .genome import Windows
from .intervals import IntervalSet


@dataclass(frozen=True)
class Samples:
    """``n`` samples: a region, how far it may move, its cell type and its targets.

    Attributes
    ----------
    chrom_names : chromosome names the ``chrom`` column indexes.
    chrom : (n,) int32.
    start, end : (n,) int64 the region (a 200 bp bin for FactorNet).
    shift : (n,) int32 the largest random shift (either way, in bp) allowed in training; 0 = fixed.
    cell : (n,) int16 index of the cell type (folder) the sample comes from.
    targets : (n, n_tasks) float32.
    strand : (n,) int8 the region's strand: 1, -1, or 0 when it has none (FactorNet bins).
    extras : per-sample vectors by name, each (n, m) float32 (e.g. annotation features).
    """

    chrom_names: tuple[str, ...]
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    shift: np.ndarray
    cell: np.ndarray
    targets: np.ndarray
    strand: np.ndarray
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.start)

    _ROWS: ClassVar[tuple[str, ...]] = ("chrom", "start", "end", "shift", "cell", "targets", "strand")

    @classmethod
    def build(cls, chrom_names, chrom, start, end, shift, cell, targets, strand=0,
              extras: Mapping[str, np.ndarray] | None = None) -> "Samples":
        """Samples with every column cast to its documented dtype (scalars broadcast)."""
        n = len(start)
        column = lambda values, dtype: np.broadcast_to(np.asarray(values, dtype), (n,)).copy()
        return cls(tuple(chrom_names), column(chrom, np.int32), column(start, np.int64),
                   column(end, np.int64), column(shift, np.int32), column(cell, np.int16),
                   np.asarray(targets, np.float32).reshape(n, -1), column(strand, np.int8),
                   {name: np.asarray(v, np.float32).reshape(n, -1) for name, v in (extras or {}).items()})

    def take(self, index: np.ndarray) -> "Samples":
        """The samples at ``index`` (an int array, a slice or a boolean mask)."""
        return replace(self, **{name: getattr(self, name)[index] for name in self._ROWS},
                       extras={name: values[index] for name, values in self.extras.items()})

    @staticmethod
    def concat(parts: Sequence["Samples"]) -> "Samples":
        """Samples of several tables with the same chromosome names and extras, end to end."""
        names = parts[0].chrom_names
        if any(part.chrom_names != names or part.extras.keys() != parts[0].extras.keys()
               for part in parts):
            raise ValueError("Samples.concat needs tables over the same chromosomes and extras")
        join = lambda values: np.concatenate(list(values))
        return Samples(names, **{name: join(getattr(p, name) for p in parts) for name in Samples._ROWS},
                       extras={key: join(p.extras[key] for p in parts) for key in parts[0].extras})

    def overlapping(self, intervals: IntervalSet) -> np.ndarray:
        """(n,) bool: the regions that touch an interval of the set."""
        hit = np.zeros(len(self), dtype=bool)
        for chrom_id in np.unique(self.chrom):
            rows = np.flatnonzero(self.chrom == chrom_id)
            hit[rows] = intervals.overlaps(self.chrom_names[chrom_id], self.start[rows], self.end[rows])
        return hit

    def windows(self, length: int, offset: np.ndarray | int = 0) -> Windows:
        """Input windows of ``length`` bp centred on each region's centre, moved by ``offset`` bp."""
        centre = (self.start + self.end) // 2 + np.asarray(offset, dtype=np.int64)
        return Windows(self.chrom_names, self.chrom, centre - length // 2, length)
