"""The original FactorNet models' kernels, converted, carry their TF's motif: for HNF4A, FOXA1 and
GABPA some first-layer kernel's best JASPAR match is a factor of the TF's own family: HNF4A or
HNF4G; a forkhead (FOX) factor, with a FOXA among some such kernel's five best matches (the
forkhead motifs are near-identical: by Pearson correlation, FOXA1's kernels top out at FOXC1/C2,
FOXB1 or FOXD2, with FOXA2/FOXA3 close behind); an ETS factor.

Background: random sequence with hg19's base composition (A, T 29 %; C, G 21 %), mappability
(Unique35) 1 and no DNase signal (0), as in closed, mappable chromatin, so that each kernel's
maximal activations follow its sequence preference alone; 5,000 windows of L bp, both strands.
Kernel motifs are trimmed of end columns under 0.2 bits (Basset's rule) before matching.
"""

import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from fiddle_factornet.data.genome import onehot, reverse_complement_onehot
from fiddle_factornet.factornet.convert import convert_original
from fiddle_factornet.factornet.folder import FactorNetModel
from fiddle_factornet.interpret.kernels import KernelReader
from fiddle_factornet.interpret.matching import MotifDatabase, match_motifs

REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
REFERENCE = Path(os.environ[REFERENCE_ENV]) / "factornet" if os.environ.get(REFERENCE_ENV) else None

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    REFERENCE is None, reason=f"{REFERENCE_ENV} is unset: it points at the reference data "
                              "(../shared/reference), which .ci/run sets")]

BASE_FREQUENCIES = (0.29, 0.21, 0.21, 0.29)
WINDOWS, BATCH = 5_000, 500
#: model -> the JASPAR names of the TF's family (forkhead: FOX*; ETS: the ETS domain factors)
FAMILIES = {
    "HNF4A/onePeak_Unique35_DGF": r"HNF4[AG]",
    "FOXA1/onePeak_DGF": r"FOX[A-S]\d*",
    "GABPA/meta_RNAseq_Unique35_DGF": r"GABPA|ELK\d|ETS\d?|ETV\d|ELF\d|FLI1|ERG|FEV|ERF|SPI[1BC]|"
                                      r"EHF|ESE\d|SPDEF",
}


#: model -> the TF's own subfamily, among the five best matches of one of those kernels
SUBFAMILIES = {"FOXA1/onePeak_DGF": r"FOXA\d"}


@pytest.fixture(scope="module")
def jaspar():
    return MotifDatabase.jaspar()


def random_windows(folder: FactorNetModel, seed: int = 0):
    """(forward, reverse) batches of random windows with the model's tracks (see the module)."""
    rng = np.random.default_rng(seed)
    length = folder.architecture.input_length
    signal = np.zeros((BATCH, length, len(folder.track_names)), np.float32)
    signal[..., [i for i, name in enumerate(folder.track_names) if name == "Unique35"]] = 1.0
    for _ in range(WINDOWS // BATCH):
        dna = onehot(rng.choice(4, (BATCH, length), p=BASE_FREQUENCIES))
        yield (np.concatenate([dna, signal], -1),
               np.concatenate([reverse_complement_onehot(dna), signal[:, ::-1]], -1))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_kernel_of_the_original_model_matches_its_tf_family(name, jaspar, tmp_path):
    folder = FactorNetModel.load(convert_original(REFERENCE / "models" / name, tmp_path / "model"))
    sites = KernelReader(folder.model).collect(random_windows(folder))["conv"]
    assert sites.windows == WINDOWS and sites.nsites.max() == 2 * WINDOWS
    ppm = sites.ppm
    table = match_motifs([ppm[k] if sites.nsites[k] else None for k in range(len(ppm))], jaspar,
                         top=5, min_bits=0.2)
    family = re.compile(rf"({FAMILIES[name]})$", re.IGNORECASE)
    in_family = np.array([bool(family.match(target)) for target in table["target_name"]])
    hits = table[in_family & (table["rank"] == 1)]
    assert len(hits), table[table["rank"] == 1].sort_values("p_value").head(10).to_string()
    assert hits["q_value"].min() < 1e-3, hits.to_string()
    if name in SUBFAMILIES:
        own = re.compile(rf"({SUBFAMILIES[name]})$", re.IGNORECASE)
        close = table[table["kernel"].isin(hits["kernel"]) & (table["q_value"] < 1e-3)
                      & np.array([bool(own.match(target)) for target in table["target_name"]])]
        assert len(close), table[table["kernel"].isin(hits["kernel"])].to_string()
