import gzip

import numpy as np
import pyBigWig
import pyfaidx
import pytest

from fiddle_factornet.factornet.bins import BinGrid, label_bins
from fiddle_factornet.factornet.celltype import CellTypeFolder, check_consistent
from fiddle_factornet.demo import DemoConfig, make_demo
from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes

from .conftest import SMALL_DEMO as SMALL


@pytest.fixture
def demo(small_demo):
    return small_demo


def test_demo_is_reproducible_from_its_seed(demo, tmp_path):
    again = make_demo(tmp_path / "again", SMALL)
    for relative in ["genome/demo.fa", "factornet/demoB/ChIPseq.demoB.CTCF.relaxed.narrowPeak.gz",
                     "factornet/demoC/DNase.bw", "factornet/labels/HNF4A.labels.tsv.gz"]:
        ours, theirs = demo / relative, again / relative
        if relative.endswith(".gz"):
            assert gzip.open(ours).read() == gzip.open(theirs).read(), relative
        else:
            assert ours.read_bytes() == theirs.read_bytes(), relative
    other = make_demo(tmp_path / "other", DemoConfig(seed=1, chrom_sizes=SMALL.chrom_sizes))
    assert (other / "genome/demo.fa").read_bytes() != (demo / "genome/demo.fa").read_bytes()


def test_demo_files_open_with_the_field_s_readers(demo):
    fasta = pyfaidx.Fasta(str(demo / "genome" / "demo.fa"))
    assert [(r.name, len(r)) for r in fasta] == list(SMALL.chrom_sizes)
    assert set(str(fasta["chr2"][:])) <= set("ACGTNacgt")
    for cell in SMALL.cell_types:
        folder = CellTypeFolder.read(demo / "factornet" / cell)
        assert folder.track_names == ("Unique35", "DGF") and folder.tfs == ("CTCF", "HNF4A")
        for path in folder.bigwig_files:
            handle = pyBigWig.open(str(path))
            assert handle.isBigWig() and handle.chroms("chr2") == 120_000
    check_consistent([CellTypeFolder.read(demo / "factornet" / c) for c in SMALL.cell_types])


def test_demo_labels_file_matches_its_peaks_and_binding_differs_between_cell_types(demo):
    sizes = ChromSizes.read(demo / "genome" / "demo.chrom.sizes")
    folders = [CellTypeFolder.read(demo / "factornet" / c) for c in SMALL.cell_types]
    labels = label_bins(BinGrid(sizes), [f.peaks("CTCF", sizes) for f in folders])
    lines = gzip.open(demo / "factornet" / "labels" / "CTCF.labels.tsv.gz", "rt").read().splitlines()
    assert lines[0] == "chr\tstart\tstop\tdemoA\tdemoB\tdemoC"
    letters = np.array([line.split("\t")[3:] for line in lines[1:]])
    assert np.array_equal(letters, np.array(list("UAB"))[labels])
    bound = labels == 2
    assert bound.sum(0).min() > 20  # every cell type has bound bins
    assert (bound.any(1) & ~bound.all(1)).sum() > bound.all(1).sum()  # mostly cell-type specific


def test_demo_refuses_to_overwrite(demo):
    with pytest.raises(InputError, match="output exists"):
        make_demo(demo, SMALL)


def test_demo_fiddle_files(demo, tmp_path):
    manifest = (demo / "fiddle" / "tracks.tsv").read_text().splitlines()
    assert manifest[0] == "name\trole\tkind\tfiles" and len(manifest) == 8
    for line in manifest[1:]:
        name, role, kind, files = line.split("\t")
        for file in files.split(","):
            path = demo / "fiddle" / file
            if kind == "dna":
                assert pyfaidx.Fasta(str(path)).keys()
            else:
                handle = pyBigWig.open(str(path))
                assert handle.isBigWig() and handle.chroms() == dict(SMALL.chrom_sizes)
    genes = [line.split("\t") for line in (demo / "fiddle" / "genes.bed").read_text().splitlines()]
    assert len(genes) > 50 and {g[5] for g in genes} == {"+", "-"}
    assert all(int(g[1]) < int(g[2]) for g in genes)
    again = make_demo(tmp_path / "again", SMALL)
    for file in ("genes.bed", "tssseq.minus.bw", "rnaseq.bw"):
        assert (again / "fiddle" / file).read_bytes() == (demo / "fiddle" / file).read_bytes()
    assert "replicate-vs-replicate bin accuracy" in (demo / "README.md").read_text()


def test_demo_test_labels_cover_exactly_the_test_regions(demo):
    regions = gzip.open(demo / "factornet" / "regions" / "test_regions.blacklistfiltered.bed.gz",
                        "rt").read().splitlines()
    labels = gzip.open(demo / "factornet" / "labels" / "CTCF.test.labels.tsv.gz",
                       "rt").read().splitlines()
    assert [line.split("\t")[:3] for line in labels[1:]] == [line.split("\t") for line in regions]
    assert {line.split("\t")[0] for line in regions} == {"chr1", "chr8", "chr21"}
