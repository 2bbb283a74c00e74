import os

import numpy as np
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import (ChromSizes, Genome, Windows, check_chromosomes, encode, load_chrom_sizes, onehot, reverse_complement_codes, reverse_complement_onehot)
from fiddle_factornet.data.writers import write_fasta

SEQUENCES = {"chr1": "ACGTNacgtnRY", "chr2": "GGCC"}


def windows(*rows, length):
    names = ("chr1", "chr2")
    return Windows(names, np.array([names.index(r[0]) for r in rows]),
                   np.array([r[1] for r in rows], dtype=np.int64), length)


@pytest.fixture(params=["cached", "direct", "bgzip"])
def genome(request, tmp_path):
    path = write_fasta(tmp_path / ("g.fa.gz" if request.param == "bgzip" else "g.fa"), SEQUENCES,
                       line_width=5, bgzip=request.param == "bgzip")
    return Genome(path, cache=request.param != "direct")


def test_codes_cover_n_lowercase_other_letters_and_both_ends(genome):
    w = windows(("chr1", -2), ("chr1", 4), ("chr1", 9), ("chr2", 2), ("chr2", 10), length=6)
    assert genome.codes(w).tolist() == [
        [4, 4, 0, 1, 2, 3],   # two bases before the start, then ACGT
        [4, 0, 1, 2, 3, 4],   # N, then soft-masked acgt read as ACGT, then n
        [4, 4, 4, 4, 4, 4],   # n, R, Y, then past the end
        [1, 1, 4, 4, 4, 4],   # CC then past the end of chr2
        [4, 4, 4, 4, 4, 4],   # wholly past the end
    ]


def test_onehot_rows_in_acgt_order_with_n_as_zeros(genome):
    x = genome.onehot(windows(("chr1", 0), length=5))
    assert x.shape == (1, 5, 4) and x.dtype == np.float32
    assert x[0].tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]


def test_sequence_text(genome):
    assert genome.sequence("chr1", 2, 8) == "GTNACG"
    assert genome.sequence("chr2", -1, 5) == "NGGCCN"


def test_reverse_complement_of_codes_and_onehot():
    codes = encode("ACGTNA")
    assert reverse_complement_codes(codes).tolist() == encode("TNACGT").tolist()
    x = onehot(codes[None])
    assert np.array_equal(reverse_complement_onehot(x), onehot(reverse_complement_codes(codes)[None]))


def test_cached_and_direct_reads_agree_on_random_windows(tmp_path):
    rng = np.random.default_rng(0)
    sequences = {f"chr{i}": "".join(rng.choice(list("ACGTNacgt"), size=n))
                 for i, n in enumerate([5000, 1234, 77], 1)}
    path = write_fasta(tmp_path / "r.fa", sequences)
    names = tuple(sequences)
    w = Windows(names, rng.integers(0, 3, 500), rng.integers(-300, 5200, 500), 301)
    assert np.array_equal(Genome(path).codes(w), Genome(path, cache=False).codes(w))


def test_cache_is_reused_then_rebuilt_when_the_fasta_changes(tmp_path, cache_dir):
    path = write_fasta(tmp_path / "g.fa", {"chr1": "ACGT"})
    Genome(path)
    (data,) = cache_dir.glob("*.bin")
    built = data.stat().st_mtime_ns
    Genome(path)
    assert data.stat().st_mtime_ns == built  # reused, not rebuilt
    write_fasta(path, {"chr1": "TTTT"})
    os.utime(path, ns=(built + 10**9, built + 10**9))
    w = Windows(("chr1",), np.array([0]), np.array([0]), 4)
    assert Genome(path).codes(w).tolist() == [[3, 3, 3, 3]]


def test_unknown_chromosome_in_windows_is_named(genome):
    with pytest.raises(InputError, match="'chr3' is not in"):
        genome.codes(Windows(("chr3",), np.array([0]), np.array([0]), 2))


def test_chr_prefix_mismatch_suggests_the_fix(genome):
    with pytest.raises(InputError, match="add the 'chr' prefix"):
        genome.codes(Windows(("1",), np.array([0]), np.array([0]), 2))


def test_bad_fasta_inputs(tmp_path):
    with pytest.raises(InputError, match="missing.fa: FASTA file not found"):
        Genome(tmp_path / "missing.fa")
    bad = tmp_path / "bad.fa"
    bad.write_text(">chr1\nACGT\nAC\nACGT\n")  # a short line inside a sequence
    with pytest.raises(InputError, match="bad.fa: cannot read as FASTA"):
        Genome(bad)


def test_chrom_sizes_read_select_and_autosomes_x(tmp_path):
    path = tmp_path / "g.sizes"
    path.write_text("chr1\t100\nchrX\t50\nchrY\t20\nchr1_random\t5\nchrM\t16\n")
    sizes = ChromSizes.read(path)
    assert sizes.names == ("chr1", "chrX", "chrY", "chr1_random", "chrM")
    assert sizes.autosomes_and_x().names == ("chr1", "chrX")
    assert sizes.select(["chrX", "chr1"]).lengths == (50, 100)
    assert sizes.length("chrY") == 20


@pytest.mark.parametrize("text, message", [
    ("chr1\t100\nchr2\tabc\n", "line 2: expected 'name<TAB>length'"),
    ("chr1\t100\nchr1\t100\n", "'chr1' is listed twice"),
    ("", "no chromosomes"),
])
def test_chrom_sizes_errors(tmp_path, text, message):
    path = tmp_path / "g.sizes"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        ChromSizes.read(path)


def test_chrom_sizes_from_fasta_and_fai(tmp_path):
    path = write_fasta(tmp_path / "g.fa", SEQUENCES)
    assert load_chrom_sizes(path).lengths == (12, 4)
    Genome(path, cache=False)  # writes g.fa.fai
    assert load_chrom_sizes(str(path) + ".fai").names == ("chr1", "chr2")


def test_check_chromosomes_drops_non_primary_and_refuses_unknown(tmp_path):
    sizes = ChromSizes(("chr1", "chr2"), (10, 10), "hg.sizes")
    assert check_chromosomes("p.bed", ["chr1", "chrY", "chrM", "chr1_gl000191_random"], sizes) == \
        {"chrY", "chrM", "chr1_gl000191_random"}
    with pytest.raises(InputError, match=r"p.bed: chromosome 'chr7' is not in the genome \(hg.sizes\)$"):
        check_chromosomes("p.bed", ["chr1", "chr7"], sizes)
    with pytest.raises(InputError, match="p.bed: chromosome '2' .*add the 'chr' prefix"):
        check_chromosomes("p.bed", ["2"], sizes)
    subset = ChromSizes(("chr1", "chr2", "chr3"), (10, 10, 10), "hg.sizes").select(["chr2"])
    assert subset.left_out == ("chr1", "chr3")
    assert check_chromosomes("p.bed", ["chr1", "chr2", "chr3"], subset) == {"chr1", "chr3"}
    plain = ChromSizes(("1", "2"), (10, 10), "ensembl.sizes")
    with pytest.raises(InputError, match="remove the 'chr' prefix"):
        check_chromosomes("p.bed", ["chr2"], plain)


def test_auto_cache_reads_the_fasta_until_a_cache_exists(tmp_path, cache_dir):
    path = write_fasta(tmp_path / "g.fa", SEQUENCES)
    w = Windows(("chr2",), np.array([0]), np.array([0]), 4)
    assert Genome(path, cache="auto").codes(w).tolist() == [[2, 2, 1, 1]]
    assert not list(cache_dir.glob("*.bin"))  # nothing built
    Genome(path)
    assert Genome(path, cache="auto")._flat is not None
