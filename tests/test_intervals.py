import numpy as np
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.intervals import IntervalSet, iter_bed, merge_intervals, read_bed
from fiddle_factornet.data.writers import narrowpeak_row, write_bed

SIZES = ChromSizes(("chr1", "chr2"), (1000, 500), "test.sizes")


def test_reads_narrowpeak_gz_skipping_headers(tmp_path):
    path = write_bed(tmp_path / "p.narrowPeak.gz",
                     [narrowpeak_row("chr2", 10, 50, 4.5), narrowpeak_row("chr1", 0, 100)],
                     header='track type=narrowPeak name="x"\nbrowser position chr1:1-100\n# note\n')
    table = read_bed(path, SIZES)
    assert table[["chrom", "start", "end", "line"]].values.tolist() == [["chr2", 10, 50, 4],
                                                                       ["chr1", 0, 100, 5]]
    assert list(table.columns[:10]) == ["chrom", "start", "end", "name", "score", "strand",
                                        "signal", "p_value", "q_value", "summit"]
    assert table["summit"].tolist() == ["20", "50"]


def test_reads_plain_bed3_in_chunks(tmp_path):
    path = write_bed(tmp_path / "r.bed", [("chr1", i, i + 10) for i in range(0, 250, 10)])
    chunks = list(iter_bed(path, SIZES, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert chunks[2]["line"].tolist() == list(range(21, 26))


def test_empty_file_reads_as_empty_table(tmp_path):
    path = write_bed(tmp_path / "e.bed", [], header="track name=empty\n")
    assert len(read_bed(path, SIZES)) == 0


def test_non_primary_chromosomes_are_dropped(tmp_path):
    path = write_bed(tmp_path / "p.bed", [("chr1", 0, 10), ("chrY", 0, 10), ("chrM", 1, 2)])
    assert read_bed(path, SIZES)["chrom"].tolist() == ["chr1"]


@pytest.mark.parametrize("rows, message", [
    ([("chr1", 0, 10), ("chr1", "abc", 20)], "line 3: start 'abc' is not a non-negative integer"),
    ([("chr1", -5, 10)], "line 2: start '-5' is not a non-negative integer"),
    ([("chr1", 0, 10.5)], "line 2: end '10.5' is not a non-negative integer"),
    ([("chr1", 50, 10)], "line 2: end 10 is before start 50"),
    ([("chr1", 0)], "line 2: expected at least 3 tab-separated columns"),
    ([("chr1", 0, 10), ("chr9", 0, 10)], r"chromosome 'chr9' is not in the genome \(test.sizes\)"),
    ([("1", 0, 10)], "chromosome '1' .*add the 'chr' prefix"),
    ([("chr1", 0, 10), ("chr2", 400, 501)], r"line 3: end 501 is past the end of chr2 \(500 bp"),
    ([("chr2", 600, 800)], r"line 2: end 800 is past the end of chr2 \(500 bp"),  # wholly outside
])
def test_bad_lines_are_named(tmp_path, rows, message):
    """Line numbers count from the top of the file, header line included."""
    path = write_bed(tmp_path / "bad.bed", rows, header="#header\n")
    with pytest.raises(InputError, match=f"bad.bed: {message}"):
        read_bed(path, SIZES)


def test_missing_file_and_ragged_lines(tmp_path):
    with pytest.raises(InputError, match="none.bed: interval file not found"):
        read_bed(tmp_path / "none.bed")
    path = tmp_path / "ragged.bed"
    path.write_text("chr1\t0\t10\nchr1\t5\t10\tx\ty\n")
    with pytest.raises(InputError, match="ragged.bed: malformed line"):
        read_bed(path)


def test_merge_intervals_merges_overlapping_and_touching():
    starts, ends = merge_intervals(np.array([30, 0, 5, 10, 50, 60]), np.array([40, 5, 8, 12, 50, 70]))
    assert starts.tolist() == [0, 10, 30, 60] and ends.tolist() == [8, 12, 40, 70]


def test_interval_set_overlaps_widen_union():
    a = IntervalSet.from_arrays(["chr1", "chr1", "chr2"], [100, 300, 0], [200, 400, 10])
    assert len(a) == 3
    assert a.overlaps("chr1", [0, 99, 199, 200, 250, 399, 400], [100, 100, 200, 300, 301, 401, 500]).tolist() == \
        [False, False, True, False, True, True, False]
    assert a.overlaps("chr3", [0], [10]).tolist() == [False]
    wide = a.widen(60, SIZES)
    assert wide.intervals("chr1")[0].tolist() == [40] and wide.intervals("chr1")[1].tolist() == [460]
    assert wide.intervals("chr2")[1].tolist() == [70]
    assert a.widen(10_000, SIZES).intervals("chr2")[1].tolist() == [500]  # clipped to the end
    b = IntervalSet.from_arrays(["chr2", "chr3"], [5, 1], [20, 2])
    union = a.union(b)
    assert union.intervals("chr2")[0].tolist() == [0] and union.intervals("chr2")[1].tolist() == [20]
    assert union.intervals("chr3")[1].tolist() == [2]
