"""Labels of the real ENCODE-DREAM HepG2 peaks on chr22 (the training peaks have none on the
held-out chr1, chr8, chr21).

The expected B and A counts were computed independently with bedtools 2.30 the way the original
FactorNet labelled bins: ``bedtools makewindows -w 200 -s 50`` (whole bins), ``intersect -f 0.505
-c`` with the conservative peaks for B, any overlap with relaxed or conservative peaks for A.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet.factornet.bins import BinGrid, LABEL_A, LABEL_B, iter_chrom_labels
from fiddle_factornet.factornet.celltype import CellTypeFolder
from fiddle_factornet.data.genome import ChromSizes

REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
REFERENCE = Path(os.environ[REFERENCE_ENV]) / "factornet" if os.environ.get(REFERENCE_ENV) else None

pytestmark = pytest.mark.skipif(
    REFERENCE is None, reason=f"{REFERENCE_ENV} is unset: it points at the reference data "
                              "(../shared/reference), which .ci/run sets")

# TF: (bound bins, ambiguous bins) on chr22, from bedtools
BEDTOOLS_COUNTS = {
    "ARID3A": (2010, 8107), "ATF3": (379, 3580), "ATF7": (2966, 10222), "CEBPB": (3013, 2991),
    "CREB1": (5163, 2615), "CTCF": (4154, 8947), "EP300": (3442, 11181), "FOXA1": (4405, 3642),
    "FOXA2": (6016, 3605), "GABPA": (1581, 29564), "HNF4A": (2662, 9277), "JUND": (2675, 9046),
    "MAFK": (2754, 2609), "MAX": (9023, 3959), "REST": (1195, 6074), "SRF": (433, 4050),
    "TEAD4": (2037, 957), "YY1": (3901, 16498), "ZNF143": (2543, 6286),
}


def test_hepg2_chr22_labels_match_bedtools():
    sizes = ChromSizes.read(REFERENCE / "resources" / "hg19.autoX.chrom.sizes")
    folder = CellTypeFolder.read(REFERENCE / "data" / "HepG2", allow_missing_relaxed=True,
                                 need_bigwigs=False)
    assert set(folder.tfs) == set(BEDTOOLS_COUNTS)
    peak_sets = [folder.peaks(tf, sizes) for tf in folder.tfs]
    grid = BinGrid(sizes)
    ((name, labels),) = list(iter_chrom_labels(grid, peak_sets, ["chr22"]))
    assert name == "chr22" and labels.shape == (1_026_088, 19)
    counts = {tf: (int((labels[:, j] == LABEL_B).sum()), int((labels[:, j] == LABEL_A).sum()))
              for j, tf in enumerate(folder.tfs)}
    assert counts == BEDTOOLS_COUNTS
    assert not np.isin(labels, [0, 1, 2], invert=True).any()


def test_hepg2_ctcf_positives_have_the_original_s_shift_range():
    """Every conservative CTCF peak clear of the blacklist is a positive (short ones included),
    centred on ``mid = (start + stop) // 2``, moving by up to the original's
    ``peak_stop - (mid - 100) - 75 - 1``, computed here from the file's own lines."""
    import gzip

    from fiddle_factornet.data.intervals import IntervalSet
    from fiddle_factornet.factornet.bins import make_blacklist
    from fiddle_factornet.factornet.samplers import peak_positives

    sizes = ChromSizes.read(REFERENCE / "resources" / "hg19.autoX.chrom.sizes")
    folder = CellTypeFolder.read(REFERENCE / "data" / "HepG2", allow_missing_relaxed=True,
                                 need_bigwigs=False)
    conservative, _ = folder.peaks("CTCF", sizes)
    blacklist = make_blacklist(IntervalSet.read(REFERENCE / "resources" / "blacklist.bed.gz",
                                                sizes), sizes, 1000)
    positives = peak_positives(BinGrid(sizes), conservative, sizes.names, blacklist, 0, 76)
    with gzip.open(folder.chip_for("CTCF").conservative, "rt") as handle:
        rows = [line.split("\t")[:3] for line in handle]
    chrom = np.array([r[0] for r in rows])
    start, stop = np.array([[int(r[1]), int(r[2])] for r in rows]).T
    clear = ~np.concatenate([blacklist.overlaps(c, start[chrom == c], stop[chrom == c])
                             for c in sizes.names])  # the file's order is by chromosome here
    order = np.concatenate([np.flatnonzero(chrom == c) for c in sizes.names])
    start, stop = start[order][clear], stop[order][clear]
    mid = (start + stop) // 2
    assert len(positives) == len(start) > 40_000
    assert positives.start.tolist() == (mid - 100).tolist()
    assert positives.shift.tolist() == (stop - (mid - 100) - 75 - 1).tolist()
    assert (stop - start < 101).sum() > 3000  # short peaks are positives too
