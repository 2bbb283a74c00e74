import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.splits import ChromSplit

SIZES = ChromSizes(("chr1", "chr2", "chr8", "chr11", "chr21"), (10,) * 5, "g.sizes")


def test_default_split_is_factornet_s():
    split = ChromSplit()
    assert split.part(SIZES, "train").names == ("chr2",)
    assert split.part(SIZES, "valid").names == ("chr11",)
    assert split.part(SIZES, "test").names == ("chr1", "chr8", "chr21")


def test_bad_splits_are_refused():
    with pytest.raises(InputError, match="validation chromosome 'chr9' is not in g.sizes"):
        ChromSplit(valid=("chr9",)).check(SIZES)
    with pytest.raises(InputError, match="'chr1' is both a validation and a test chromosome"):
        ChromSplit(valid=("chr1",)).check(SIZES)
