"""FactorNet's training and validation samples: positive bins, negative bins, targets.

Single-task (one TF, one or more cell types pooled): one positive bin per conservative peak,
centred on the peak midpoint, that may be shifted at random by up to ``half-width - 75`` bp during
training; ``n`` negatives per positive drawn afresh every epoch from bins of the training
chromosomes outside (relaxed peaks widened by 200 bp) and the blacklist, never the same bin twice
until the pool is used up. Multi-task (one cell type, every TF): the positive bins are the bins
bound by at least one TF, with one target per TF (ambiguous counts as unbound); as many negatives,
drawn with replacement every epoch. Validation sets (positives and ``n`` negatives per positive
from the validation chromosomes) are fixed for a run. Everything is reproducible from the seed,
and any epoch can be drawn on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.intervals import IntervalSet
from ..data.samples import Samples
from ..data.splits import ChromSplit
from ..errors import InputError
from .bins import LABEL_B, BinGrid, PeakSet, iter_chrom_labels

logger = logging.getLogger(__name__)

_ROLE_KEYS = {"train": 1, "valid": 2}


@dataclass(frozen=True)
class SamplingConfig:
    """How samples are drawn; the defaults are FactorNet's."""

    input_length: int = 1000          # L: input window, and how far the blacklist is widened
    negatives_per_positive: int = 1   # -n
    shift_margin: int = 75            # positives move by up to peak half-width - shift_margin
    negative_flank: int = 200         # peaks are widened by this much before drawing negatives
    seed: int = 420


def peak_positives(grid: BinGrid, peaks: pd.DataFrame, chroms: Sequence[str], blacklist: IntervalSet,
                   cell: int, shift_margin: int | None) -> Samples:
    """One positive bin per conservative peak on ``chroms``, centred on the peak midpoint.

    Peaks touching the blacklist are left out, and so are peaks shorter than a bound bin's overlap
    (their centred bin would be ambiguous, not bound). ``shift_margin=None`` fixes the bins (no
    shift); otherwise each may move by up to ``max(0, half-width - shift_margin)`` bp.
    """
    names = grid.sizes.names
    parts = []
    for name in chroms:
        on_chrom = peaks[peaks["chrom"] == name]
        starts, ends = on_chrom["start"].to_numpy(), on_chrom["end"].to_numpy()
        keep = (ends - starts >= grid.min_overlap) & ~blacklist.overlaps(name, starts, ends)
        starts, ends = starts[keep], ends[keep]
        if not len(starts):
            continue
        centre = (starts + ends) // 2
        shift = 0 if shift_margin is None else np.maximum((ends - starts) // 2 - shift_margin, 0)
        parts.append(Samples.build(names, names.index(name), centre - grid.width // 2,
                                   centre - grid.width // 2 + grid.width, shift, cell,
                                   np.ones((len(starts), 1))))
    return Samples.concat(parts) if parts else _empty(names, 1)


def _empty(names: tuple[str, ...], n_tasks: int) -> Samples:
    """No samples, with ``n_tasks`` target columns (``Samples.build`` cannot size an empty table)."""
    return Samples.build(names, 0, [0], [0], 0, 0, np.zeros((1, n_tasks))).take(slice(0, 0))


class NegativePool:
    """The bins of some chromosomes that overlap no excluded interval, to draw negatives from.

    Draws without replacement walk a keyed pseudo-random permutation of the pool (a Feistel
    network with cycle walking): epoch ``e`` takes its own slice of it, so no bin repeats across
    epochs until the pool is used up, any epoch can be drawn on its own, and memory does not grow
    with the genome. When the pool is used up a new permutation starts (with a warning).
    """

    def __init__(self, grid: BinGrid, chroms: Sequence[str], excluded: IntervalSet,
                 key: Sequence[int]):
        self.grid = grid
        self.key = tuple(int(k) for k in key)
        eligible = np.zeros(grid.total, dtype=bool)
        for name in chroms:
            starts, ends = excluded.intervals(name)
            eligible[grid.chrom_slice(name)] = ~grid.covered(name, starts, ends, 1)
        padded = np.zeros(grid.total + 2, dtype=np.int8)
        padded[1:-1] = eligible
        edges = np.flatnonzero(np.diff(padded))  # run starts and ends, alternating
        self._run_starts = edges[0::2].astype(np.int64)
        self._run_cumsum = np.cumsum(edges[1::2] - edges[0::2]).astype(np.int64)
        self.size = int(self._run_cumsum[-1]) if len(self._run_cumsum) else 0
        self.chroms = tuple(chroms)
        self._warned_cycle = False

    def bins(self, k: np.ndarray) -> np.ndarray:
        """Global bin indices of pool members ``k`` (0 <= k < size): (n,) int64."""
        run = np.searchsorted(self._run_cumsum, k, side="right")
        before = np.concatenate([[0], self._run_cumsum])[run]
        return self._run_starts[run] + (k - before)

    def draw(self, epoch: int, count: int, replace: bool = False) -> np.ndarray:
        """``count`` global bin indices for ``epoch``: (count,) int64."""
        if count == 0:
            return np.zeros(0, np.int64)
        if self.size == 0 or (count > self.size and not replace):
            raise InputError(f"only {self.size} bins of {', '.join(self.chroms)} are free of peaks "
                             f"and blacklist; {count} negatives are needed per epoch")
        if replace:
            rng = np.random.default_rng(self.key + (epoch,))
            return self.bins(rng.integers(0, self.size, count))
        per_cycle = self.size // count
        cycle, slot = divmod(epoch, per_cycle)
        if cycle and not self._warned_cycle:
            self._warned_cycle = True
            logger.warning("the %d negative bins of %s are used up after %d epochs of %d; later "
                           "epochs draw from them again", self.size, ", ".join(self.chroms),
                           per_cycle, count)
        positions = np.arange(slot * count, (slot + 1) * count, dtype=np.uint64)
        return self.bins(keyed_permutation(positions, self.size, self.key + (cycle,)).astype(np.int64))


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-mixed 64-bit hash, elementwise on uint64."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def keyed_permutation(x: np.ndarray, n: int, key: Sequence[int], rounds: int = 4) -> np.ndarray:
    """Image of ``x`` (uint64, each < n) under a pseudo-random permutation of [0, n) chosen by key.

    A balanced Feistel network permutes [0, 2**bits) with 2**bits < 4 n; values that land at n or
    beyond are permuted again (cycle walking) until they fall inside [0, n).
    """
    bits = max(2, int(n - 1).bit_length())
    bits += bits % 2
    half = np.uint64(bits // 2)
    mask = np.uint64((1 << (bits // 2)) - 1)
    round_keys = np.random.SeedSequence(list(key)).generate_state(rounds, np.uint64)
    y = np.array(x, dtype=np.uint64)
    todo = np.ones(len(y), dtype=bool)
    with np.errstate(over="ignore"):
        while todo.any():
            left, right = y[todo] >> half, y[todo] & mask
            for round_key in round_keys:
                left, right = right, left ^ (_mix(right ^ round_key) & mask)
            y[todo] = (left << half) | right
            todo[todo] = y[todo] >= np.uint64(n)
    return y


def _bin_samples(grid: BinGrid, index: np.ndarray, cell: int, targets: np.ndarray) -> Samples:
    if not len(index):
        return _empty(grid.sizes.names, targets.shape[1])
    chrom, start = grid.locate(index)
    return Samples.build(grid.sizes.names, chrom, start, start + grid.width, 0, cell, targets)


@dataclass(frozen=True)
class TFPeaks:
    """One TF's peaks in one cell type; ``relaxed`` None means the conservative peaks stand in."""

    conservative: pd.DataFrame
    relaxed: pd.DataFrame | None = None

    def not_negative(self, flank: int, grid: BinGrid) -> IntervalSet:
        """Where negatives may not be drawn from: (relaxed or conservative) peaks widened by flank."""
        peaks = self.relaxed if self.relaxed is not None else self.conservative
        return IntervalSet.from_frame(peaks).widen(flank, grid.sizes)

    @property
    def source(self) -> str:
        """The conservative peak file (``attrs["source"]`` of ``read_bed``'s table), for messages."""
        return self.conservative.attrs.get("source", "conservative peaks")

    def require_peaks(self) -> None:
        """An InputError naming the file when there are no conservative peaks to train on."""
        if not len(self.conservative):
            raise InputError(f"{self.source}: no peaks; training needs conservative peaks")


def _require_samples(samples: Samples, role: str, chroms: Sequence[str],
                     peaks: Sequence[TFPeaks]) -> None:
    if not len(samples):
        raise InputError(f"no {role} samples: no usable conservative peaks on the {role} "
                         f"chromosomes ({', '.join(chroms)}) in {', '.join(p.source for p in peaks)}")


class SingleTaskSampler:
    """FactorNet's single-task samples for one TF, over one or more pooled cell types.

    Parameters
    ----------
    grid : bins over the whole chromosome set.
    cells : the TF's peaks in each training cell type (the index is the sample's ``cell``).
    blacklist : FactorNet's blacklist (see ``bins.make_blacklist``).
    valid_cells : cell types to validate on (``-vi``), indexed from ``len(cells)`` on in ``cell``;
        default: the training cell types.
    """

    def __init__(self, grid: BinGrid, cells: Sequence[TFPeaks], split: ChromSplit,
                 blacklist: IntervalSet, config: SamplingConfig = SamplingConfig(),
                 valid_cells: Sequence[TFPeaks] | None = None):
        self.grid, self.config = grid, config
        train = split.part(grid.sizes, "train").names
        valid = split.part(grid.sizes, "valid").names
        n = config.negatives_per_positive
        for peaks in [*cells, *(valid_cells or ())]:
            peaks.require_peaks()
        self.positives = Samples.concat([
            peak_positives(grid, peaks.conservative, train, blacklist, cell, config.shift_margin)
            for cell, peaks in enumerate(cells)])
        _require_samples(self.positives, "training", train, cells)
        self._pools = [NegativePool(grid, train, peaks.not_negative(config.negative_flank, grid)
                                    .union(blacklist), (config.seed, _ROLE_KEYS["train"], cell))
                       for cell, peaks in enumerate(cells)]
        self._counts = [n * int((self.positives.cell == cell).sum()) for cell in range(len(cells))]
        first_valid = len(cells) if valid_cells is not None else 0
        valid_parts = []
        for offset, peaks in enumerate(valid_cells if valid_cells is not None else cells):
            cell = first_valid + offset
            positives = peak_positives(grid, peaks.conservative, valid, blacklist, cell, None)
            pool = NegativePool(grid, valid, peaks.not_negative(config.negative_flank, grid)
                                .union(blacklist), (config.seed, _ROLE_KEYS["valid"], cell))
            count = n * len(positives)
            negatives = _bin_samples(grid, pool.draw(0, count), cell, np.zeros((count, 1)))
            valid_parts += [positives, negatives]
        self._validation = Samples.concat(valid_parts)
        _require_samples(self._validation, "validation", valid,
                         valid_cells if valid_cells is not None else cells)
        logger.info("single-task samples: %d training positives (+%d negatives an epoch), "
                    "%d validation samples", len(self.positives), sum(self._counts),
                    len(self._validation))

    def epoch(self, epoch: int) -> Samples:
        """Training samples of ``epoch``: the positives, then this epoch's fresh negatives."""
        negatives = [_bin_samples(self.grid, pool.draw(epoch, count), cell, np.zeros((count, 1)))
                     for cell, (pool, count) in enumerate(zip(self._pools, self._counts))]
        return Samples.concat([self.positives] + negatives)

    def validation(self) -> Samples:
        """The fixed validation samples: positives and n negatives per positive, per cell type."""
        return self._validation


class MultiTaskSampler:
    """FactorNet's multi-task samples: every TF of one cell type, one target per TF."""

    def __init__(self, grid: BinGrid, tfs: Sequence[TFPeaks], split: ChromSplit,
                 blacklist: IntervalSet, config: SamplingConfig = SamplingConfig()):
        self.grid, self.config = grid, config
        for peaks in tfs:
            peaks.require_peaks()
        not_negative = blacklist.union(*(peaks.not_negative(config.negative_flank, grid)
                                         for peaks in tfs))
        peak_sets = [(peaks.conservative, peaks.relaxed) for peaks in tfs]
        roles = {}
        for role, what in (("train", "training"), ("valid", "validation")):
            chroms = split.part(grid.sizes, role).names
            positives = self._bound_bins(peak_sets, chroms, blacklist)
            _require_samples(positives, what, chroms, tfs)
            pool = NegativePool(grid, chroms, not_negative, (config.seed, _ROLE_KEYS[role], 0))
            roles[role] = (positives, pool)
        self.positives, self._pool = roles["train"]
        valid_positives, valid_pool = roles["valid"]
        count = config.negatives_per_positive * len(valid_positives)
        self._validation = Samples.concat([
            valid_positives,
            _bin_samples(grid, valid_pool.draw(0, count), 0, np.zeros((count, len(tfs))))])
        logger.info("multi-task samples: %d training positive bins for %d TFs, %d validation "
                    "samples", len(self.positives), len(tfs), len(self._validation))

    def _bound_bins(self, peak_sets: Sequence[PeakSet], chroms: Sequence[str],
                    blacklist: IntervalSet) -> Samples:
        """Bins bound by at least one TF and clear of the blacklist, targets = bound per TF."""
        parts = []
        for name, labels in iter_chrom_labels(self.grid, peak_sets, chroms):
            bound = labels == LABEL_B
            starts = np.arange(len(labels), dtype=np.int64) * self.grid.step
            keep = bound.any(axis=1) & ~blacklist.overlaps(name, starts, starts + self.grid.width)
            index = np.flatnonzero(keep) + self.grid.chrom_slice(name).start
            parts.append(_bin_samples(self.grid, index, 0, bound[keep]))
        return Samples.concat(parts) if parts else _empty(self.grid.sizes.names, len(peak_sets))

    def epoch(self, epoch: int) -> Samples:
        """Training samples of ``epoch``: the positives, then as many negatives drawn with replacement."""
        count = self.config.negatives_per_positive * len(self.positives)
        targets = np.zeros((count, self.positives.targets.shape[1]))
        return Samples.concat([self.positives,
                               _bin_samples(self.grid, self._pool.draw(epoch, count, replace=True),
                                            0, targets)])

    def validation(self) -> Samples:
        return self._validation
