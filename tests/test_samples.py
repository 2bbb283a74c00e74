import logging

import numpy as np
import pandas as pd
import pytest

from fiddle_factornet.factornet.bins import BinGrid, LABEL_B, label_bins, make_blacklist
from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.intervals import IntervalSet
from fiddle_factornet.factornet.samplers import (MultiTaskSampler, NegativePool, SamplingConfig, SingleTaskSampler, TFPeaks, keyed_permutation, peak_positives)
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.data.splits import ChromSplit

SIZES = ChromSizes(("chr1", "chr2", "chr3", "chr11"), (60_000, 50_000, 40_000, 30_000))
SPLIT = ChromSplit(valid=("chr11",), test=("chr1",))
GRID = BinGrid(SIZES)
BLACKLIST = make_blacklist(IntervalSet.from_arrays(["chr2"], [20_000], [21_000]), SIZES, flank=1000)


def frame(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def random_peaks(seed, n=40):
    rng = np.random.default_rng(seed)
    chroms = rng.choice(SIZES.names, n)
    starts = np.array([rng.integers(0, SIZES.length(c) - 500) for c in chroms])
    widths = rng.integers(120, 400, n)
    conservative = frame(list(zip(chroms, starts, starts + widths)))
    extra = rng.integers(0, 29_000, 10)
    relaxed = pd.concat([conservative, frame([("chr2", s, s + 300) for s in extra])], ignore_index=True)
    return TFPeaks(conservative, relaxed)


def bins_overlap(samples, intervals):
    names = np.array(samples.chrom_names)[samples.chrom]
    return np.array([intervals.overlaps(n, [s], [e])[0] for n, s, e in
                     zip(names, samples.start, samples.end)], dtype=bool)


def test_positives_centred_on_peak_midpoints_with_the_original_s_shift_range():
    table = frame([("chr2", 5000, 5196), ("chr2", 6000, 6050), ("chr2", 20_500, 20_700),
                   ("chr3", 100_00, 10_301), ("chr1", 7000, 7200)])
    positives = peak_positives(GRID, table, ["chr2", "chr3"], BLACKLIST, cell=2, shift_end_margin=76)
    # every peak is kept, however short; 20500-20700 touches the blacklist; chr1 not asked
    assert positives.start.tolist() == [4998, 5925, 10_050]
    assert positives.end.tolist() == [5198, 6125, 10_250]
    # the original's peak_stop - start - 75 - 1, start = mid - 100, mid = (start + stop) // 2
    assert positives.shift.tolist() == [5196 - 4998 - 76, 6050 - 5925 - 76, 10_301 - 10_050 - 76]
    assert positives.cell.tolist() == [2, 2, 2] and positives.targets.tolist() == [[1.0]] * 3
    fixed = peak_positives(GRID, table, ["chr2"], BLACKLIST, cell=0, shift_end_margin=None)
    assert fixed.shift.tolist() == [0, 0]


def test_positive_annotations_over_the_bin_or_the_whole_peak():
    from fiddle_factornet.factornet.annotations import Annotations

    cpg = IntervalSet.from_arrays(["chr2"], [5400], [5500])  # inside the peak, outside its bin
    annotations = Annotations(("cpg",), (cpg,))
    table = frame([("chr2", 5000, 5600)])
    over_bin = peak_positives(GRID, table, ["chr2"], BLACKLIST, 0, 76, annotations)
    over_peak = peak_positives(GRID, table, ["chr2"], BLACKLIST, 0, 76, annotations, True)
    assert over_bin.start.tolist() == over_peak.start.tolist() == [5200]
    assert over_bin.extras["annotations"].tolist() == [[0.0]]
    assert over_peak.extras["annotations"].tolist() == [[1.0]]


def test_windows_are_centred_on_the_bin():
    samples = Samples.build(("chr1",), [0, 0], [1000, 2000], [1200, 2200], 0, 0, np.zeros((2, 1)))
    windows = samples.windows(1000, offset=np.array([0, -7]))
    assert windows.start.tolist() == [600, 1593] and windows.length == 1000


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1000, 1025])
def test_keyed_permutation_is_a_permutation(n):
    image = keyed_permutation(np.arange(n, dtype=np.uint64), n, (5, 1))
    assert sorted(image.tolist()) == list(range(n))
    if n > 10:
        assert image.tolist() != list(range(n))
        assert not np.array_equal(image, keyed_permutation(np.arange(n, dtype=np.uint64), n, (6, 1)))


def test_negative_pool_draws_apart_windows_at_any_base_and_warns_when_used_up(caplog):
    # windows of chr3 (40 kbp) that avoid [0, 35000) and [36000, 36500): starts 35000..35800 and
    # 36500..39800, 801 + 3301 of them; 200 bp slots from a random phase: 4 or 5, and 16 or 17
    excluded = IntervalSet.from_arrays(["chr3", "chr3"], [0, 36_000], [35_000, 36_500])
    pool = NegativePool(GRID, ["chr3"], excluded, key=(1,))
    assert pool.size == 801 + 3301 and 20 <= pool.slots <= 22
    draws = [pool.draw(epoch, 5, cell=1, n_tasks=2) for epoch in range(4)]
    windows = Samples.concat(draws)
    order = np.argsort(windows.start)
    assert (np.diff(windows.start[order]) >= 200).all()  # no two overlap, within or across epochs
    assert not bins_overlap(windows, excluded).any()
    assert draws[0].targets.shape == (5, 2) and (draws[0].targets == 0).all()
    assert (draws[0].cell == 1).all() and (draws[0].end - draws[0].start == 200).all()
    phases = {NegativePool(GRID, ["chr3"], excluded, key=(k,)).slot_windows(np.zeros(1, int))[1][0]
              for k in range(20)}
    assert len(phases) > 10  # at any base, not on a fixed grid
    with caplog.at_level(logging.WARNING):
        pool.draw(pool.slots // 5, 5, 0, 1)  # the first epoch of the second cycle
    assert f"are used up after {pool.slots // 5} epochs" in caplog.text
    with pytest.raises(InputError, match=f"only {pool.slots} non-overlapping windows of chr3 are "
                                         f"free of peaks and blacklist; {pool.slots + 1} negatives"):
        pool.draw(0, pool.slots + 1, 0, 1)
    again = pool.draw(7, 9000, 0, 1, shift=20, replace=True)  # multi-task: with replacement
    assert len(again) == 9000 and (again.shift == 20).all()
    assert len(np.unique(again.start)) > 3000 and (again.start % 50 != 0).mean() > 0.9
    assert not bins_overlap(again.take(slice(0, 500)), excluded).any()
    assert np.array_equal(again.start, pool.draw(7, 9000, 0, 1, replace=True).start)


def single_task(seed=420, n=2, cells=(1, 2), valid_cells=None):
    config = SamplingConfig(input_length=1000, negatives_per_positive=n, seed=seed)
    return SingleTaskSampler(GRID, [random_peaks(s) for s in cells], SPLIT, BLACKLIST, config,
                             valid_cells=valid_cells)


def test_single_task_negatives_avoid_peaks_blacklist_and_held_out_chromosomes():
    sampler = single_task()
    peaks = [random_peaks(1), random_peaks(2)]
    seen = set()
    for epoch in range(4):
        samples = sampler.epoch(epoch)
        negatives = samples.take(samples.targets[:, 0] == 0)
        positives = samples.take(samples.targets[:, 0] == 1)
        assert len(negatives) == 2 * len(positives)
        names = set(np.array(samples.chrom_names)[samples.chrom])
        assert names <= {"chr2", "chr3"}  # training chromosomes only
        for cell in (0, 1):
            mine = negatives.take(negatives.cell == cell)
            assert len(mine) == 2 * (positives.cell == cell).sum()
            assert not bins_overlap(mine, peaks[cell].not_negative(200, GRID).union(BLACKLIST)).any()
            keys = set(zip(mine.chrom.tolist(), mine.start.tolist()))
            assert len(keys) == len(mine)  # no repeat within the epoch
            assert not keys & {k[1:] for k in seen if k[0] == cell}  # nor across epochs
            seen |= {(cell,) + k for k in keys}


def test_single_task_is_reproducible_and_epochs_are_random_access():
    a, b = single_task(), single_task()
    assert np.array_equal(a.epoch(3).start, b.epoch(3).start)
    b.epoch(0)
    assert np.array_equal(a.epoch(1).start, b.epoch(1).start)
    assert not np.array_equal(a.epoch(1).start, a.epoch(2).start)
    assert not np.array_equal(a.epoch(1).start, single_task(seed=7).epoch(1).start)


def test_single_task_validation_is_fixed_and_on_validation_chromosomes():
    sampler = single_task(n=1)
    valid = sampler.validation()
    assert valid is sampler.validation()
    assert set(np.array(valid.chrom_names)[valid.chrom]) == {"chr11"}
    assert (valid.shift == 0).all()
    assert (valid.targets[:, 0] == 0).sum() == (valid.targets[:, 0] == 1).sum()
    assert np.array_equal(valid.start, single_task(n=1).validation().start)


def test_cross_cell_type_validation_numbers_its_cells_after_the_training_ones():
    sampler = single_task(cells=(1, 2), valid_cells=[random_peaks(9)])
    assert set(sampler.validation().cell.tolist()) == {2}
    assert set(sampler.epoch(0).cell.tolist()) == {0, 1}


def test_multi_task_positives_come_from_the_union_of_the_tfs_peaks():
    # 80 bp of TF a and 90 bp of TF b: their union covers 150 bp of the bin at 5000, neither 101
    a = TFPeaks(frame([("chr2", 5000, 5080), ("chr11", 5000, 5300)]))
    b = TFPeaks(frame([("chr2", 5060, 5150), ("chr11", 9000, 9300)]))
    sampler = MultiTaskSampler(GRID, [a, b], SPLIT, BLACKLIST, SamplingConfig(seed=1))
    assert sampler.positives.start.tolist() == [4950, 5000]  # 4950: 130 bp of the union
    assert sampler.positives.targets.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_multi_task_positives_targets_and_negatives_as_the_original():
    tfs = [random_peaks(1, n=30), random_peaks(2, n=30)]
    config = SamplingConfig(seed=3, negatives_per_positive=5)  # ignored in multi-task
    sampler = MultiTaskSampler(GRID, tfs, SPLIT, BLACKLIST, config)
    labels = label_bins(GRID, [(t.conservative, t.relaxed) for t in tfs])
    bound = labels == LABEL_B
    train = np.zeros(GRID.total, bool)
    for name in ("chr2", "chr3"):
        train[GRID.chrom_slice(name)] = True
    black = GRID.covered_by_set(BLACKLIST)
    union = IntervalSet.from_frame(pd.concat([t.conservative for t in tfs]))
    covered = GRID.covered_by_set(union, min_overlap=101)  # by one interval of the merged union
    expected = np.flatnonzero(covered & train & ~black)
    positives = sampler.positives
    index = GRID.offsets[positives.chrom] + positives.start // 50
    assert index.tolist() == expected.tolist()
    assert np.array_equal(positives.targets, bound[expected].astype(np.float32))  # ambiguous -> 0
    epoch = sampler.epoch(0)
    assert (epoch.shift == 20).all()  # every window jittered by up to 20 bp
    negatives = epoch.take(slice(len(positives), None))
    assert len(negatives) == len(positives) and (negatives.targets == 0).all()
    conservative_only = BLACKLIST.union(*(t.not_negative(200, GRID, relaxed=False) for t in tfs))
    assert not bins_overlap(negatives, conservative_only).any()
    relaxed = BLACKLIST.union(*(t.not_negative(200, GRID) for t in tfs))
    many = sampler._pool.draw(0, 20_000, 0, 2, replace=True)  # ambiguous bins may be negatives
    assert bins_overlap(many.take(slice(0, 2000)), relaxed).any()
    assert np.array_equal(sampler.epoch(5).start, MultiTaskSampler(GRID, tfs, SPLIT, BLACKLIST,
                                                                   config).epoch(5).start)
    valid = sampler.validation()
    assert set(np.array(valid.chrom_names)[valid.chrom]) == {"chr11"}
    assert (valid.shift == 20).all() and len(valid) % 2 == 0  # as many negatives as positives
