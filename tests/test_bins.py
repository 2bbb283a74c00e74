import gzip

import numpy as np
import pandas as pd
import pytest

from fiddle_factornet.factornet.bins import (LABEL_A, LABEL_B, LABEL_U, BinGrid, label_bins, make_blacklist, write_label_table)
from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.intervals import IntervalSet


def peaks(*rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


GRID = BinGrid(ChromSizes(("chr1", "chr2"), (1000, 150)))


def test_grid_whole_bins_only():
    assert GRID.counts.tolist() == [17, 0]  # (1000 - 200) // 50 + 1; chr2 is shorter than a bin
    assert GRID.total == 17
    chrom, start = GRID.locate(np.array([0, 16]))
    assert chrom.tolist() == [0, 0] and start.tolist() == [0, 800]


def test_bound_needs_101_bp_of_one_peak():
    labels = label_bins(GRID, [(peaks(("chr1", 0, 101)), None), (peaks(("chr1", 0, 100)), None)])
    assert labels[0].tolist() == [LABEL_B, LABEL_A]  # 101 bp covered: B; 100 bp: only ambiguous


def test_labels_along_a_peak_exact():
    # peak [150, 251): bins start every 50 bp and cover 50, 100, 101, 101, 51, 1, 0 bp of it
    labels = label_bins(GRID, [(peaks(("chr1", 150, 251)), None)])[:8, 0]
    assert "".join("UAB"[x] for x in labels) == "AABBAAUU"


def test_ambiguous_from_relaxed_peaks_else_unbound():
    conservative = peaks(("chr1", 150, 251))
    relaxed = peaks(("chr1", 150, 251), ("chr1", 600, 610))
    labels = label_bins(GRID, [(conservative, relaxed)])[:, 0]
    # [600, 610) touches the bins starting at 450, 500, 550 and 600, not 400 ([400, 600))
    assert "".join("UAB"[x] for x in labels) == "AABBAAU" + "U" * 2 + "AAAA" + "U" * 4


def test_labels_match_a_brute_force_count(tmp_path):
    rng = np.random.default_rng(3)
    grid = BinGrid(ChromSizes(("c1", "c2"), (20_000, 7_001)))
    sets = []
    for _ in range(3):
        rows = [(c, s, s + w) for c, s, w in zip(rng.choice(["c1", "c2"], 60), rng.integers(0, 6_500, 60),
                                                 rng.integers(1, 400, 60))]
        relaxed = [(c, max(s - 30, 0), e + 30) for c, s, e in rows[::2]]
        sets.append((peaks(*rows), peaks(*relaxed)))
    labels = label_bins(grid, sets)
    for column, (conservative, relaxed) in enumerate(sets):
        for chrom_id, name in enumerate(grid.sizes.names):
            for k in range(grid.counts[chrom_id]):
                b = k * 50
                overlap = lambda t: np.clip(np.minimum(t.end[t.chrom == name].to_numpy(), b + 200)
                                            - np.maximum(t.start[t.chrom == name].to_numpy(), b),
                                            0, None)
                best = overlap(conservative).max(initial=0)
                expected = LABEL_B if best >= 101 else (
                    LABEL_A if best > 0 or overlap(relaxed).max(initial=0) > 0 else LABEL_U)
                assert labels[grid.offsets[chrom_id] + k, column] == expected, (name, b, column)


def test_blacklist_widened_by_l_plus_chromosome_ends():
    sizes = ChromSizes(("chr1", "chr2"), (5000, 150))
    raw = IntervalSet.from_arrays(["chr1", "chrY"], [500, 0], [600, 10])
    black = make_blacklist(raw, sizes, flank=100)
    assert black.intervals("chr1")[0].tolist() == [0, 400, 4900]
    assert black.intervals("chr1")[1].tolist() == [100, 700, 5000]
    assert black.intervals("chr2")[0].tolist() == [0] and black.intervals("chr2")[1].tolist() == [150]
    assert "chrY" not in black.by_chrom  # only the chromosome set
    grid = BinGrid(sizes)
    bins = grid.covered_by_set(black)
    # bins [b, b + 200) touching [0, 100), [400, 700) or [4900, 5000)
    expected = [(b < 100) or (b + 200 > 400 and b < 700) or (b + 200 > 4900) for b in range(0, 4801, 50)]
    assert bins.tolist() == expected


def test_write_label_table_exact_text_and_refuses_to_overwrite(tmp_path):
    grid = BinGrid(ChromSizes(("chr2", "chr10"), (300, 250)))
    sets = [(peaks(("chr2", 0, 120)), peaks(("chr2", 0, 120), ("chr10", 240, 250))),
            (peaks(("chr10", 0, 250)), None)]
    out = tmp_path / "TF.labels.tsv.gz"
    rows = write_label_table(out, grid, ["chr2", "chr10"], ["HepG2", "K562"], sets)
    assert rows == 5
    assert gzip.open(out, "rt").read() == (
        "chr\tstart\tstop\tHepG2\tK562\n"
        "chr2\t0\t200\tB\tU\n" "chr2\t50\t250\tA\tU\n" "chr2\t100\t300\tA\tU\n"
        "chr10\t0\t200\tU\tB\n" "chr10\t50\t250\tA\tB\n")
    with pytest.raises(InputError, match="output exists"):
        write_label_table(out, grid, ["chr2"], ["HepG2", "K562"], sets)
    write_label_table(out, grid, ["chr10"], ["HepG2", "K562"], sets, overwrite=True)
    assert gzip.open(out, "rt").read().count("\n") == 3
    assert [p.name for p in tmp_path.iterdir()] == ["TF.labels.tsv.gz"]  # no temporary left


def test_write_label_table_skips_bins_touching_an_interval_set(tmp_path):
    grid = BinGrid(ChromSizes(("chr1",), (400,)))
    skip = IntervalSet.from_arrays(["chr1"], [120], [130])  # touches bins at 0, 50, 100
    out = tmp_path / "l.tsv.gz"
    assert write_label_table(out, grid, ["chr1"], ["X"], [(peaks(("chr1", 200, 400)), None)],
                             skip=skip) == 2
    assert gzip.open(out, "rt").read().splitlines()[1:] == ["chr1\t150\t350\tB", "chr1\t200\t400\tB"]
