"""Chromosome splits into training, validation and test sets, passed around as data."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .genome import ChromSizes

#: FactorNet's (and the ENCODE-DREAM challenge's) defaults
DEFAULT_VALID = ("chr11",)
DEFAULT_TEST = ("chr1", "chr8", "chr21")


@dataclass(frozen=True)
class ChromSplit:
    """Validation and test chromosomes; every other chromosome of a set is for training."""

    valid: tuple[str, ...] = DEFAULT_VALID
    test: tuple[str, ...] = DEFAULT_TEST

    def check(self, sizes: ChromSizes) -> "ChromSplit":
        """Refuse a split naming chromosomes outside ``sizes`` or using one in two roles."""
        both = sorted(set(self.valid) & set(self.test))
        if both:
            raise InputError(f"chromosome {both[0]!r} is both a validation and a test chromosome")
        for role, names in (("validation", self.valid), ("test", self.test)):
            unknown = [name for name in names if name not in sizes]
            if unknown:
                raise InputError(f"{role} chromosome {unknown[0]!r} is not in {sizes.source}")
        return self

    def part(self, sizes: ChromSizes, role: str) -> ChromSizes:
        """The chromosomes of ``sizes`` for ``role`` ('train', 'valid' or 'test'), in set order."""
        self.check(sizes)
        held_out = set(self.valid) | set(self.test)
        wanted = {"train": lambda name: name not in held_out,
                  "valid": lambda name: name in self.valid,
                  "test": lambda name: name in self.test}[role]
        return sizes.select(name for name in sizes.names if wanted(name))
