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
