import numpy as np
import pytest

from fiddle_factornet.factornet.celltype import CellTypeFolder, check_consistent
from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.writers import narrowpeak_row, write_bed, write_bigwig


def make_folder(root, name="HepG2", bigwig="dnase.bw\tDGF\n",
                chip="c.narrowPeak.gz\tCTCF\tr.narrowPeak.gz\n", meta="0.5\tGEPC1\n-1\tGEPC2\n"):
    folder = root / name
    folder.mkdir()
    write_bigwig(folder / "dnase.bw", [("chr1", 1000)], {"chr1": np.ones(1000)})
    write_bed(folder / "c.narrowPeak.gz", [narrowpeak_row("chr1", 100, 300)])
    write_bed(folder / "r.narrowPeak.gz", [narrowpeak_row("chr1", 50, 350)])
    for file, text in (("bigwig.txt", bigwig), ("chip.txt", chip), ("meta.txt", meta)):
        if text is not None:
            (folder / file).write_text(text)
    return folder


def test_reads_a_folder(tmp_path):
    folder = CellTypeFolder.read(make_folder(tmp_path))
    assert folder.name == "HepG2" and folder.track_names == ("DGF",)
    assert folder.bigwig_files == (tmp_path / "HepG2" / "dnase.bw",)
    assert folder.tfs == ("CTCF",) and folder.chip[0].relaxed.name == "r.narrowPeak.gz"
    assert folder.meta_names == ("GEPC1", "GEPC2") and folder.meta_values == (0.5, -1.0)
    conservative, relaxed = folder.peaks("CTCF", ChromSizes(("chr1",), (1000,)))
    assert conservative[["start", "end"]].values.tolist() == [[100, 300]]
    assert relaxed[["start", "end"]].values.tolist() == [[50, 350]]


def test_optional_files_may_be_absent(tmp_path):
    folder = CellTypeFolder.read(make_folder(tmp_path, bigwig=None, chip=None, meta=None))
    assert folder.track_names == () and folder.tfs == () and folder.meta_names == ()
    with pytest.raises(InputError, match=r"HepG2/chip.txt: no TF 'CTCF' \(listed: none\)"):
        folder.chip_for("CTCF")


@pytest.mark.parametrize("files, message", [
    (dict(bigwig="missing.bw\tDGF\n"), "HepG2/bigwig.txt: line 1: missing.bw not found in"),
    (dict(bigwig="dnase.bw\tDGF\ndnase.bw\tDGF\n"), "HepG2/bigwig.txt: track name 'DGF' appears twice"),
    (dict(bigwig="dnase.bw\n"), "HepG2/bigwig.txt: line 1: expected bigWig file, track name"),
    (dict(bigwig="dnase.bw\tNET_fwd\n"), "HepG2/bigwig.txt: stranded track 'NET_fwd' has no partner"),
    (dict(chip="c.narrowPeak.gz\tCTCF\tgone.gz\n"), "HepG2/chip.txt: line 1: gone.gz not found"),
    (dict(chip="c.narrowPeak.gz\tCTCF\nc.narrowPeak.gz\tCTCF\n"), "chip.txt: TF 'CTCF' appears twice"),
    (dict(meta="abc\tGEPC1\n"), "HepG2/meta.txt: line 1: value 'abc' is not a finite number$"),
    (dict(meta="0.5\tGEPC1\nnan\tGEPC2\n"), "meta.txt: line 2: value 'nan' is not a finite number$"),
    (dict(meta="inf\tGEPC1\n"), "HepG2/meta.txt: line 1: value 'inf' is not a finite number$"),
    (dict(meta="-1e999\tGEPC1\n"), "meta.txt: line 1: value '-1e999' is not a finite number$"),
    (dict(meta="1\tX\n2\tX\n"), "HepG2/meta.txt: feature name 'X' appears twice"),
])
def test_bad_folders_name_the_file(tmp_path, files, message):
    with pytest.raises(InputError, match=message):
        CellTypeFolder.read(make_folder(tmp_path, **files))


def test_missing_folder_and_missing_relaxed_allowed_on_request(tmp_path):
    with pytest.raises(InputError, match="nowhere: cell-type folder not found"):
        CellTypeFolder.read(tmp_path / "nowhere")
    path = make_folder(tmp_path, chip="c.narrowPeak.gz\tCTCF\tgone.gz\n")
    folder = CellTypeFolder.read(path, allow_missing_relaxed=True)
    assert folder.chip_for("CTCF").relaxed is None
    assert CellTypeFolder.read(make_folder(tmp_path, "peaks_only", bigwig="absent.bw\tDGF\n"),
                               need_bigwigs=False).track_names == ("DGF",)


def test_cell_types_used_together_must_agree(tmp_path):
    a = CellTypeFolder.read(make_folder(tmp_path, "A"))
    b = CellTypeFolder.read(make_folder(tmp_path, "B", bigwig="dnase.bw\tDNase\n"))
    c = CellTypeFolder.read(make_folder(tmp_path, "C", meta="1\tGEPC2\n2\tGEPC1\n"))
    check_consistent([a, CellTypeFolder.read(make_folder(tmp_path, "D"))])
    with pytest.raises(InputError, match=r"B/bigwig.txt: track names \['DNase'\] differ from \['DGF'\]"):
        check_consistent([a, b])
    with pytest.raises(InputError, match="C/meta.txt: meta names"):
        check_consistent([a, c])


def test_an_empty_conservative_peak_file_is_one_line(tmp_path):
    folder = CellTypeFolder.read(make_folder(tmp_path))
    sizes = ChromSizes(("chr1",), (1000,), "g.sizes")
    write_bed(folder.path / "c.narrowPeak.gz", [])
    with pytest.raises(InputError) as error:
        folder.peaks("CTCF", sizes)
    assert str(error.value) == (f"{folder.path / 'c.narrowPeak.gz'}: no peaks; a conservative "
                                "peak file needs peaks (a ChIP-seq experiment without peaks is a "
                                "mistake)")
    # peaks only on a chromosome outside the ones used (left out when read)
    write_bed(folder.path / "c.narrowPeak.gz", [narrowpeak_row("chrY", 100, 300)])
    with pytest.raises(InputError, match=r"c.narrowPeak.gz: none of its peaks lies on the "
                                         r"chromosomes used \(chr1 of g.sizes\)$"):
        folder.peaks("CTCF", sizes)
    # an empty relaxed file is not refused: the conservative peaks are what is required
    write_bed(folder.path / "c.narrowPeak.gz", [narrowpeak_row("chr1", 100, 300)])
    write_bed(folder.path / "r.narrowPeak.gz", [])
    conservative, relaxed = folder.peaks("CTCF", sizes)
    assert len(conservative) == 1 and len(relaxed) == 0
