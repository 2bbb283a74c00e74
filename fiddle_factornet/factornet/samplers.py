"""FactorNet's training and validation samples, as the original code drew them.

Single-task (one TF, one or more cell types pooled): one positive 200 bp window per conservative
peak (short peaks included; peaks touching the blacklist left out), centred on the peak midpoint
``mid = (start + end) // 2``, moved at random in training by up to ``s = end - (mid - 100) - 76``
bp either way (the original's ``peak_stop - start - 75 - 1``); ``n`` negatives per positive drawn
afresh every epoch, at any base, from the training chromosomes outside (relaxed peaks widened by
200 bp) and the blacklist, never at the same position twice until the pool is used up.
Multi-task (one cell type, every TF): the positive windows are the 200/50 bp bins covered for at
least 101 bp by one interval of the merged union of all TFs' conservative peaks, with one target
per TF (a peak of that TF covers 101 bp; ambiguous counts as unbound); as many negatives as
positives, drawn with replacement every epoch at any base outside (conservative peaks widened by
200 bp) and the blacklist (relaxed peaks are not used, so ambiguous bins may be negatives); every
window is jittered by up to 20 bp either way. Validation sets (unshifted positives and ``n``
negatives per positive, or as many negatives as positives in multi-task, whose ``shift`` is the
jitter) are fixed for a run. Everything is reproducible from the seed, and any epoch can be drawn
on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.intervals import IntervalSet, merge_intervals
from ..data.samples import Samples
from ..data.splits import ChromSplit
from ..errors import InputError
from .annotations import Annotations
from .bins import LABEL_B, BinGrid, iter_chrom_labels

logger = logging.getLogger(__name__)

_ROLE_KEYS = {"train": 1, "valid": 2}


@dataclass(frozen=True)
class SamplingConfig:
    """How samples are drawn; the defaults are FactorNet's."""

    input_length: int = 1000          # L: input window, and how far the blacklist is widened
    negatives_per_positive: int = 1   # -n (single-task; multi-task draws as many as positives)
    shift_end_margin: int = 76        # a positive moves by up to peak end - window start - 76 bp
    negative_flank: int = 200         # peaks are widened by this much before drawing negatives
    multitask_jitter: int = 20        # every multi-task window moves by up to this many bp
    seed: int = 420


def peak_positives(grid: BinGrid, peaks: pd.DataFrame, chroms: Sequence[str], blacklist: IntervalSet,
                   cell: int, shift_end_margin: int | None,
                   annotations: Annotations | None = None, over_peaks: bool = False) -> Samples:
    """One positive window per conservative peak on ``chroms``, centred on the peak midpoint
    ``mid = (start + end) // 2``: ``[mid - 100, mid + 100)``.

    Every peak is kept, however short, except peaks touching the blacklist. ``shift_end_margin=None``
    fixes the windows (no shift); otherwise each may move by up to
    ``end - (mid - 100) - shift_end_margin`` bp either way (the original's shift range). With
    ``annotations``, ``extras["annotations"]`` holds their features over each window, or over
    each whole peak with ``over_peaks`` (as the original computed them for positives).
    """
    names = grid.sizes.names
    parts = []
    for name in chroms:
        on_chrom = peaks[peaks["chrom"] == name]
        starts, ends = on_chrom["start"].to_numpy(), on_chrom["end"].to_numpy()
        keep = ~blacklist.overlaps(name, starts, ends)
        starts, ends = starts[keep], ends[keep]
        if not len(starts):
            continue
        window_start = (starts + ends) // 2 - grid.width // 2
        shift = 0 if shift_end_margin is None else ends - window_start - shift_end_margin
        windows = Samples.build(names, names.index(name), window_start, window_start + grid.width,
                                shift, cell, np.ones((len(starts), 1)))
        if annotations is not None:
            regions = replace(windows, start=starts, end=ends) if over_peaks else windows
            windows = replace(windows, extras={"annotations": annotations.features(regions)})
        parts.append(windows)
    if parts:
        return Samples.concat(parts)
    empty = _empty(names, 1)
    return empty if annotations is None else annotations.annotate(empty)


def _empty(names: tuple[str, ...], n_tasks: int) -> Samples:
    """No samples, with ``n_tasks`` target columns (``Samples.build`` cannot size an empty table)."""
    return Samples.build(names, 0, [0], [0], 0, 0, np.zeros((1, n_tasks))).take(slice(0, 0))


class NegativePool:
    """Where negative windows may start: every base of some chromosomes at which a window of
    ``width`` bp overlaps no excluded interval (bedtools shuffle placed the original's there).

    Draws with replacement (multi-task) take starts uniformly from the pool. Draws without
    replacement (single-task; the original's ``shuffle -noOverlapping``) take non-overlapping
    windows: each free stretch is cut into ``width``-bp slots from a random phase, and the draws
    walk a keyed pseudo-random permutation of the slots (a Feistel network with cycle walking):
    epoch ``e`` takes its own slice of it, so no two negatives of a run overlap until the slots are
    used up, any epoch can be drawn on its own, and memory does not grow with the genome. When the
    slots are used up a new permutation starts (with a warning).
    """

    def __init__(self, grid: BinGrid, chroms: Sequence[str], excluded: IntervalSet,
                 key: Sequence[int]):
        self.grid = grid
        self.key = tuple(int(k) for k in key)
        self.chroms = tuple(chroms)
        width = grid.width
        run_starts, run_ends, run_chroms = [], [], []
        for name in chroms:
            # a window at p avoids [s, e) when p + width <= s or p >= e: starts in (s - width, e) clash
            starts, ends = excluded.intervals(name)
            clash_starts, clash_ends = merge_intervals(starts - width + 1, ends)
            last = grid.sizes.length(name) - width + 1  # starts in [0, last)
            free_starts = np.concatenate([[0], clash_ends])
            free_ends = np.concatenate([clash_starts, [last]])
            free_starts, free_ends = np.maximum(free_starts, 0), np.minimum(free_ends, last)
            keep = free_ends > free_starts
            run_starts.append(free_starts[keep])
            run_ends.append(free_ends[keep])
            run_chroms.append(np.full(int(keep.sum()), grid.sizes.ids([name])[0]))
        self._run_starts = np.concatenate(run_starts or [np.zeros(0, np.int64)]).astype(np.int64)
        self._run_chroms = np.concatenate(run_chroms or [np.zeros(0, np.int64)]).astype(np.int64)
        lengths = np.concatenate(run_ends or [np.zeros(0, np.int64)]) - self._run_starts
        self._run_cumsum = np.cumsum(lengths).astype(np.int64)
        self.size = int(self._run_cumsum[-1]) if len(self._run_cumsum) else 0
        rng = np.random.default_rng(self.key + (width,))
        self._slot_phase = rng.integers(0, np.minimum(lengths, width)) if len(lengths) else lengths
        self._slot_cumsum = np.cumsum(-(-(lengths - self._slot_phase) // width)).astype(np.int64)
        self.slots = int(self._slot_cumsum[-1]) if len(self._slot_cumsum) else 0
        self._warned_cycle = False

    def windows(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chromosome index and start of pool members ``k`` (0 <= k < size): two (n,) int64."""
        run = np.searchsorted(self._run_cumsum, k, side="right")
        before = np.concatenate([[0], self._run_cumsum])[run]
        return self._run_chroms[run], self._run_starts[run] + (k - before)

    def slot_windows(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chromosome index and start of slots ``k`` (0 <= k < slots): two (n,) int64."""
        run = np.searchsorted(self._slot_cumsum, k, side="right")
        before = np.concatenate([[0], self._slot_cumsum])[run]
        start = self._run_starts[run] + self._slot_phase[run] + (k - before) * self.grid.width
        return self._run_chroms[run], start

    def draw(self, epoch: int, count: int, cell: int, n_tasks: int, shift: int = 0,
             replace: bool = False) -> Samples:
        """``count`` negative windows (targets 0) for ``epoch``."""
        if count == 0:
            return _empty(self.grid.sizes.names, n_tasks)
        available = self.size if replace else self.slots
        if available == 0 or (count > available and not replace):
            what = "window positions" if replace else "non-overlapping windows"
            raise InputError(f"only {available} {what} of {', '.join(self.chroms)} are free of "
                             f"peaks and blacklist; {count} negatives are needed per epoch")
        if replace:
            members = np.random.default_rng(self.key + (epoch,)).integers(0, self.size, count)
            chrom, start = self.windows(members)
        else:
            per_cycle = self.slots // count
            cycle, part = divmod(epoch, per_cycle)
            if cycle and not self._warned_cycle:
                self._warned_cycle = True
                logger.warning("the %d non-overlapping negative windows of %s are used up after %d "
                               "epochs of %d; later epochs draw from them again", self.slots,
                               ", ".join(self.chroms), per_cycle, count)
            positions = np.arange(part * count, (part + 1) * count, dtype=np.uint64)
            chrom, start = self.slot_windows(
                keyed_permutation(positions, self.slots, self.key + (cycle,)).astype(np.int64))
        return Samples.build(self.grid.sizes.names, chrom, start, start + self.grid.width, shift,
                             cell, np.zeros((count, n_tasks)))


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


def _bin_samples(grid: BinGrid, index: np.ndarray, cell: int, targets: np.ndarray,
                 shift: int = 0) -> Samples:
    """Samples of the global bins ``index`` (n,) with ``targets`` (n, n_tasks)."""
    if not len(index):
        return _empty(grid.sizes.names, targets.shape[1])
    chrom, start = grid.locate(index)
    return Samples.build(grid.sizes.names, chrom, start, start + grid.width, shift, cell, targets)


@dataclass(frozen=True)
class TFPeaks:
    """One TF's peaks in one cell type; ``relaxed`` None means the conservative peaks stand in."""

    conservative: pd.DataFrame
    relaxed: pd.DataFrame | None = None

    def not_negative(self, flank: int, grid: BinGrid, relaxed: bool = True) -> IntervalSet:
        """Where negatives may not be drawn from: the relaxed (when given and ``relaxed``) or the
        conservative peaks, widened by ``flank``."""
        peaks = self.relaxed if relaxed and self.relaxed is not None else self.conservative
        return IntervalSet.from_frame(peaks).widen(flank, grid.sizes)

    @property
    def source(self) -> str:
        """The conservative peak file (``attrs["source"]`` of ``read_bed``'s table), for messages."""
        return self.conservative.attrs.get("source", "conservative peaks")

    def require_peaks(self) -> None:
        """An InputError naming the file when there are no conservative peaks: the one check of
        :func:`.celltype.require_peaks`, which reading a cell type's peaks already made."""
        from .celltype import require_peaks

        require_peaks(self.conservative)


def _require_samples(samples: Samples, role: str, chroms: Sequence[str],
                     peaks: Sequence[TFPeaks]) -> None:
    if not len(samples):
        raise InputError(f"no {role} samples: no usable conservative peaks on the {role} "
                         f"chromosomes ({', '.join(chroms)}) in {', '.join(p.source for p in peaks)}")


def _annotated(samples: Samples, annotations: Annotations | None) -> Samples:
    """``samples`` with their annotation features over their windows, when there are any."""
    return samples if annotations is None else annotations.annotate(samples)


class SingleTaskSampler:
    """FactorNet's single-task samples for one TF, over one or more pooled cell types.

    Parameters
    ----------
    grid : bins over the whole chromosome set.
    cells : the TF's peaks in each training cell type (the index is the sample's ``cell``).
    blacklist : FactorNet's blacklist (see ``bins.make_blacklist``).
    valid_cells : cell types to validate on (``-vi``), indexed from ``len(cells)`` on in ``cell``;
        default: the training cell types.
    annotations : per-window features to add as ``extras["annotations"]``; positives' over the
        whole peak with ``annotate_peaks`` (the original's), else over their window.
    """

    def __init__(self, grid: BinGrid, cells: Sequence[TFPeaks], split: ChromSplit,
                 blacklist: IntervalSet, config: SamplingConfig = SamplingConfig(),
                 valid_cells: Sequence[TFPeaks] | None = None,
                 annotations: Annotations | None = None, annotate_peaks: bool = False):
        self.grid, self.config, self.annotations = grid, config, annotations
        train = split.part(grid.sizes, "train").names
        valid = split.part(grid.sizes, "valid").names
        n = config.negatives_per_positive
        for peaks in [*cells, *(valid_cells or ())]:
            peaks.require_peaks()
        self.positives = Samples.concat([
            peak_positives(grid, peaks.conservative, train, blacklist, cell,
                           config.shift_end_margin, annotations, annotate_peaks)
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
            positives = peak_positives(grid, peaks.conservative, valid, blacklist, cell, None,
                                       annotations, annotate_peaks)
            pool = NegativePool(grid, valid, peaks.not_negative(config.negative_flank, grid)
                                .union(blacklist), (config.seed, _ROLE_KEYS["valid"], cell))
            valid_parts += [positives, _annotated(pool.draw(0, n * len(positives), cell, 1),
                                                  annotations)]
        self._validation = Samples.concat(valid_parts)
        _require_samples(self._validation, "validation", valid,
                         valid_cells if valid_cells is not None else cells)
        logger.info("single-task samples: %d training positives (+%d negatives an epoch), "
                    "%d validation samples", len(self.positives), sum(self._counts),
                    len(self._validation))

    def epoch(self, epoch: int) -> Samples:
        """Training samples of ``epoch``: the positives, then this epoch's fresh negatives."""
        negatives = [_annotated(pool.draw(epoch, count, cell, 1), self.annotations)
                     for cell, (pool, count) in enumerate(zip(self._pools, self._counts))]
        return Samples.concat([self.positives] + negatives)

    def validation(self) -> Samples:
        """The fixed validation samples: positives and n negatives per positive, per cell type."""
        return self._validation


class MultiTaskSampler:
    """FactorNet's multi-task samples: every TF of one cell type, one target per TF."""

    def __init__(self, grid: BinGrid, tfs: Sequence[TFPeaks], split: ChromSplit,
                 blacklist: IntervalSet, config: SamplingConfig = SamplingConfig(),
                 annotations: Annotations | None = None):
        self.grid, self.config, self.annotations = grid, config, annotations
        for peaks in tfs:
            peaks.require_peaks()
        if config.negatives_per_positive != 1:
            logger.warning("multi-task training draws as many negatives as positives (as the "
                           "original); %d negatives per positive is ignored",
                           config.negatives_per_positive)
        not_negative = blacklist.union(*(peaks.not_negative(config.negative_flank, grid,
                                                            relaxed=False) for peaks in tfs))
        jitter = config.multitask_jitter
        roles = {}
        for role, what in (("train", "training"), ("valid", "validation")):
            chroms = split.part(grid.sizes, role).names
            positives = _annotated(self._bound_bins(tfs, chroms, blacklist, jitter), annotations)
            _require_samples(positives, what, chroms, tfs)
            pool = NegativePool(grid, chroms, not_negative, (config.seed, _ROLE_KEYS[role], 0))
            roles[role] = (positives, pool)
        self.positives, self._pool = roles["train"]
        valid_positives, valid_pool = roles["valid"]
        # shift = the jitter: a pass over them draws it afresh (as the original did every epoch)
        self._validation = Samples.concat([valid_positives, _annotated(
            valid_pool.draw(0, len(valid_positives), 0, len(tfs), jitter), annotations)])
        logger.info("multi-task samples: %d training positive bins for %d TFs, %d validation "
                    "samples", len(self.positives), len(tfs), len(self._validation))

    def _bound_bins(self, tfs: Sequence[TFPeaks], chroms: Sequence[str], blacklist: IntervalSet,
                    jitter: int) -> Samples:
        """Bins covered >= 101 bp by one interval of the merged union of all TFs' conservative
        peaks, clear of the blacklist; targets: a peak of that TF covers >= 101 bp of the bin."""
        union = IntervalSet.from_frame(pd.concat([peaks.conservative for peaks in tfs]))
        peak_sets = [(peaks.conservative, peaks.relaxed) for peaks in tfs]
        parts = []
        for name, labels in iter_chrom_labels(self.grid, peak_sets, chroms):
            starts = np.arange(len(labels), dtype=np.int64) * self.grid.step
            keep = self.grid.covered(name, *union.intervals(name), self.grid.min_overlap) & \
                ~blacklist.overlaps(name, starts, starts + self.grid.width)
            index = np.flatnonzero(keep) + self.grid.chrom_slice(name).start
            parts.append(_bin_samples(self.grid, index, 0, labels[keep] == LABEL_B, jitter))
        return Samples.concat(parts) if parts else _empty(self.grid.sizes.names, len(tfs))

    def epoch(self, epoch: int) -> Samples:
        """Training samples of ``epoch``: the positives, then as many negatives drawn with
        replacement; every window may move by up to the jitter."""
        return Samples.concat([self.positives, _annotated(self._pool.draw(
            epoch, len(self.positives), 0, self.positives.targets.shape[1],
            self.config.multitask_jitter, replace=True), self.annotations)])

    def validation(self) -> Samples:
        return self._validation
