import logging
import os

import numpy as np
import pyBigWig
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes, Windows
from fiddle_factornet.data.tracks import TrackSet, reverse_complement_order
from fiddle_factornet.data.writers import write_bigwig

NAMES = ("chr1", "chr2")


def windows(*rows, length):
    return Windows(NAMES, np.array([NAMES.index(r[0]) for r in rows]),
                   np.array([r[1] for r in rows], dtype=np.int64), length)


@pytest.fixture
def bigwig(tmp_path):
    """chr1 (20 bp): 1.5 on [2, 4), an explicit NaN at 5, 3.0 on [10, 12), 2.0 on [18, 20);
    the rest uncovered. The file has no chr2."""
    path = tmp_path / "t.bw"
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader([("chr1", 20)], maxZooms=0)
    handle.addEntries(["chr1"] * 4, [2, 5, 10, 18], ends=[4, 6, 12, 20],
                      values=[1.5, float("nan"), 3.0, 2.0])
    handle.close()
    return path


@pytest.fixture(params=[False, True], ids=["direct", "cached"])
def tracks(request, bigwig):
    return TrackSet([bigwig], ["DGF"], cache=request.param)


def test_rows_exact_with_nan_uncovered_and_both_ends(tracks):
    rows = tracks.rows(windows(("chr1", -2), ("chr1", 4), ("chr1", 16), length=8))
    assert rows.shape == (3, 8, 1) and rows.dtype == np.float32
    assert rows[..., 0].tolist() == [
        [0, 0, 0, 0, 1.5, 1.5, 0, 0],    # 2 bp before the start, then [0, 6)
        [0, 0, 0, 0, 0, 0, 3, 3],        # NaN at 5 and uncovered bases are 0
        [0, 0, 2, 2, 0, 0, 0, 0],        # [16, 20) then past the end
    ]


def test_missing_chromosome_gives_zeros_and_one_warning(tracks, caplog):
    with caplog.at_level(logging.WARNING):
        first = tracks.rows(windows(("chr2", 0), ("chr1", 2), length=3))
        tracks.rows(windows(("chr2", 5), length=3))
    assert first[..., 0].tolist() == [[0, 0, 0], [1.5, 1.5, 0]]
    warnings = [r.getMessage() for r in caplog.records if "chr2" in r.getMessage()]
    assert warnings == [f"{tracks.files[0]} has no chromosome chr2: its rows are zeros"]


def test_direct_reads_match_one_pybigwig_call_per_window(tmp_path):
    """Windows merged into shared reads (near) or read alone (far) give the same rows."""
    rng = np.random.default_rng(1)
    values = {"chr1": rng.poisson(0.3, 50_000).astype(float), "chr2": rng.random(3_000)}
    values["chr1"][rng.random(50_000) < 0.1] = np.nan
    path = write_bigwig(tmp_path / "r.bw", [("chr1", 50_000), ("chr2", 3_000)], values)
    starts = np.concatenate([rng.integers(-500, 50_300, 300), np.arange(1000, 1300, 7)])
    chrom = (rng.random(len(starts)) < 0.2).astype(int)
    w = Windows(NAMES, chrom, starts, 250)
    rows = TrackSet([path]).rows(w)[..., 0]
    handle = pyBigWig.open(str(path))
    for row, c, s in zip(rows, chrom, starts):
        size = handle.chroms(NAMES[c])
        expected = np.zeros(250)
        lo, hi = max(s, 0), min(s + 250, size)
        if hi > lo:
            expected[lo - s: hi - s] = np.nan_to_num(handle.values(NAMES[c], int(lo), int(hi)))
        np.testing.assert_allclose(row, expected, rtol=1e-6)


def test_float16_cache_precision(tmp_path):
    values = {"chr1": np.array([1 / 3, 1e-3, 2047.0, 12.345, 0.0])}
    path = write_bigwig(tmp_path / "p.bw", [("chr1", 5)], values)
    w = Windows(("chr1",), np.array([0]), np.array([0]), 5)
    cached = TrackSet([path], cache=True).rows(w)[0, :, 0]
    direct = TrackSet([path]).rows(w)[0, :, 0]
    assert cached[2] == 2047.0 and cached[4] == 0.0
    np.testing.assert_allclose(cached, direct, rtol=2.0 ** -11)
    assert TrackSet([path], cache=True, cache_dtype=np.float32).rows(w)[0, :, 0].tolist() == \
        direct.tolist()


def test_float16_cache_refuses_values_it_cannot_hold(tmp_path):
    path = write_bigwig(tmp_path / "big.bw", [("chr1", 3)], {"chr1": np.array([1.0, 7e4, 2.0])})
    with pytest.raises(InputError, match="big.bw: value 70000 on chr1 does not fit the float16"):
        TrackSet([path], cache=True)


def test_cache_rebuilt_when_the_bigwig_changes(tmp_path, cache_dir):
    path = write_bigwig(tmp_path / "c.bw", [("chr1", 4)], {"chr1": np.ones(4)})
    w = Windows(("chr1",), np.array([0]), np.array([0]), 4)
    assert TrackSet([path], cache=True).rows(w)[0, :, 0].tolist() == [1, 1, 1, 1]
    mtime = os.stat(path).st_mtime_ns
    write_bigwig(path, [("chr1", 4)], {"chr1": np.full(4, 5.0)})
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
    assert TrackSet([path], cache=True).rows(w)[0, :, 0].tolist() == [5, 5, 5, 5]


def test_stranded_pairs_swap_under_reverse_complement(tmp_path):
    size = [("chr1", 6)]
    fwd = write_bigwig(tmp_path / "f.bw", size, {"chr1": np.arange(6.0)})
    rev = write_bigwig(tmp_path / "r.bw", size, {"chr1": 10 + np.arange(6.0)})
    dnase = write_bigwig(tmp_path / "d.bw", size, {"chr1": 20 + np.arange(6.0)})
    tracks = TrackSet([fwd, rev, dnase], ["NET_fwd", "NET_rev", "DGF"])
    assert tracks.rc_order.tolist() == [1, 0, 2]
    rows = tracks.rows(Windows(("chr1",), np.array([0]), np.array([1]), 3))
    assert rows[0].tolist() == [[1, 11, 21], [2, 12, 22], [3, 13, 23]]
    assert tracks.reverse_complement(rows)[0].tolist() == [[13, 3, 23], [12, 2, 22], [11, 1, 21]]


def test_reverse_complement_order_needs_both_strands():
    assert reverse_complement_order(["a", "b"]).tolist() == [0, 1]
    with pytest.raises(InputError, match="bigwig.txt: stranded track 'x_fwd' has no partner 'x_rev'"):
        reverse_complement_order(["x_fwd", "DGF"], "bigwig.txt")


def test_bad_bigwig_inputs(tmp_path, bigwig):
    with pytest.raises(InputError, match="nope.bw: bigWig file not found"):
        TrackSet([tmp_path / "nope.bw"])
    text = tmp_path / "text.bw"
    text.write_text("chr1\t0\t10\t1.0\n")
    with pytest.raises(InputError, match="text.bw: not a bigWig file"):
        TrackSet([text])
    with pytest.raises(InputError, match="1 bigWig files but 2 track names"):
        TrackSet([bigwig], ["a", "b"])


def test_auto_cache_uses_a_valid_cache_and_never_builds_one(tmp_path, cache_dir):
    path = write_bigwig(tmp_path / "a.bw", [("chr1", 4)], {"chr1": np.arange(4.0)})
    w = Windows(("chr1",), np.array([0]), np.array([0]), 4)
    assert TrackSet([path], cache="auto").rows(w)[0, :, 0].tolist() == [0, 1, 2, 3]
    assert not list(cache_dir.glob("*.bin"))  # nothing built
    TrackSet([path], cache=True)
    auto = TrackSet([path], cache="auto")
    assert auto._flats is not None and auto.rows(w)[0, :, 0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("cache", [False, True])
def test_a_chromosome_without_any_data_reads_as_zeros(tmp_path, cache):
    path = write_bigwig(tmp_path / "e.bw", [("chr1", 10), ("chr2", 10)], {"chr2": np.ones(10)})
    w = Windows(("chr1", "chr2"), np.array([0, 1]), np.array([2, 2]), 4)
    assert TrackSet([path], cache=cache).rows(w)[..., 0].tolist() == [[0, 0, 0, 0], [1, 1, 1, 1]]


# --- bigWigs checked against the genome -------------------------------------------------------

GENOME = ChromSizes(("chr1", "chr2", "chr3", "chr4", "chrM", "chr1_random"), (50,) * 6, "g.sizes")


def _bigwig_of(tmp_path, name, chroms):
    return write_bigwig(tmp_path / name, [(c, 50) for c in chroms], {c: np.ones(50) for c in chroms})


@pytest.mark.parametrize("cache", [False, True])
def test_bigwig_chr_prefix_differing_from_the_genome_is_one_line(tmp_path, cache, cache_dir):
    path = _bigwig_of(tmp_path, "ensembl.bw", ["1", "2", "3", "4"])
    with pytest.raises(InputError) as error:
        TrackSet([path], cache=cache, sizes=GENOME)
    assert str(error.value) == (f"{path}: chromosome '1' is not in the genome (g.sizes); the "
                                "genome calls it 'chr1': add the 'chr' prefix to the file's names")
    assert not list(cache_dir.glob("*.bin"))  # refused before any cache is built
    genome = ChromSizes(("1", "2"), (50, 50), "ensembl.sizes")
    with pytest.raises(InputError, match="^.*u.bw: chromosome 'chr1' is not in the genome "
                                         r"\(ensembl.sizes\); the genome calls it '1': remove"):
        TrackSet([_bigwig_of(tmp_path, "u.bw", ["chr1", "chr2"])]).check_chromosomes(genome)


def test_bigwig_lacking_most_chromosomes_is_one_line(tmp_path):
    good = _bigwig_of(tmp_path, "good.bw", ["chr1", "chr2", "chr3", "chr4"])
    path = _bigwig_of(tmp_path, "chr1.bw", ["chr1"])
    with pytest.raises(InputError) as error:
        TrackSet([good, path], sizes=GENOME)
    assert str(error.value) == (f"{path}: lacks 3 of the 4 chromosomes used (chr2, chr3, chr4): "
                                "a bigWig for another genome than g.sizes?")
    assert "\n" not in str(error.value)


def test_a_few_missing_chromosomes_are_one_warning(tmp_path, caplog):
    """Half of the chromosomes used may be missing (chrM and *_random do not count): one
    warning for the file, none again when their rows are read (zeros)."""
    path = _bigwig_of(tmp_path, "two.bw", ["chr1", "chr2"])
    with caplog.at_level(logging.WARNING):
        tracks = TrackSet([path], sizes=GENOME)
        rows = tracks.rows(Windows(GENOME.names, np.array([0, 2, 3]), np.array([0, 0, 10]), 4))
    assert rows[..., 0].tolist() == [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert [r.getMessage() for r in caplog.records] == [
        f"{path} lacks 2 of the 4 chromosomes used (chr3, chr4): rows there are zeros"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        TrackSet([_bigwig_of(tmp_path, "all.bw", ["chr1", "chr2", "chr3", "chr4"])], sizes=GENOME)
    assert not caplog.records


@pytest.mark.parametrize("cache", [False, True], ids=["direct", "cached"])
def test_infinite_bigwig_values_are_one_line_naming_the_base(tmp_path, cache):
    values = {"chr1": np.ones(5000), "chr2": np.ones(100)}
    values["chr1"][3210] = -np.inf
    path = write_bigwig(tmp_path / "inf.bw", [("chr1", 5000), ("chr2", 100)], values)
    message = (f"^{path}: infinite value \\(-inf\\) on chr1 at base 3210 \\(0-based\\); track "
               "values must be finite$")
    if cache:  # the cache build reads every value once
        for dtype in (np.float16, np.float32):
            with pytest.raises(InputError, match=message):
                TrackSet([path], cache=True, cache_dtype=dtype)
        return
    tracks = TrackSet([path])
    clean = Windows(("chr1", "chr2"), np.array([0, 1]), np.array([0, 0]), 50)
    assert tracks.rows(clean).sum() == 100
    with pytest.raises(InputError, match=message):
        tracks.rows(Windows(("chr1", "chr2"), np.array([0, 1]), np.array([3200, 0]), 50))
