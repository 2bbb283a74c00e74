"""FIDDLE's view of the samples: one matrix per track in each gene's orientation, and the target
TSS-seq profile as a probability distribution.

DNA is one-hot in A, C, G, T rows; an N (any other letter) is ``dna_n`` in each of the 4 rows:
FIDDLE's own encoding, 0.25 (:data:`FIDDLE_DNA_N`), by default; 0 is the package's data layer's
(and FactorNet's) encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data.genome import COMPLEMENT_CODE, Genome, Windows
from ..data.samples import Samples
from ..errors import InputError
from ..pipeline import Allocate, TrackInput, fresh, onehot_table

#: FIDDLE's value for N in each of the 4 DNA rows (the original's ``'n': [0.25] * 4``)
FIDDLE_DNA_N = 0.25

#: a target distribution's denominator is total + PROFILE_EPSILON (as FIDDLE's)
PROFILE_EPSILON = 1e-5

#: FIDDLE's control inputs, (L, 1) each: the target profile itself (an input that must come out
#: sufficient) and white noise (one that must come out unnecessary)
CONTROLS = ("target", "noise")


@dataclass(frozen=True)
class FiddleView:
    """FIDDLE's inputs: one (n, L, H) matrix per track (and DNA (n, L, 4), an N being ``dna_n``
    in each row), target a profile (n, L) (zeros without a ``target``: inference where it was
    never measured); ``controls`` add ``control_target`` and/or ``control_noise`` inputs
    (n, L, 1)."""

    genome: Genome | None
    tracks: tuple[TrackInput, ...]
    target: TrackInput | None
    length: int = 500
    dna_name: str = "dna"
    controls: tuple[str, ...] = ()
    dna_n: float = FIDDLE_DNA_N

    @property
    def dna_inputs(self) -> tuple[str, ...]:
        """The inputs holding one-hot DNA: ``dna_name`` when there is a genome."""
        return (self.dna_name,) if self.genome is not None else ()

    def input_shapes(self, samples: Samples) -> dict[str, tuple[int, ...]]:
        shapes = dict.fromkeys(self.dna_inputs, (self.length, 4))
        shapes.update({t.name: (self.length, t.width) for t in self.tracks})
        shapes.update({f"control_{c}": (self.length, 1) for c in self.controls})
        return shapes

    def target_shape(self, samples: Samples) -> tuple[int, ...]:
        return (self.length,)

    def read(self, samples: Samples, offsets: np.ndarray | int = 0,
             allocate: Allocate = fresh) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Inputs and target profile of ``samples`` in each gene's orientation."""
        n, length = len(samples), self.length
        windows = samples.windows(length, offsets)
        minus = np.flatnonzero(samples.strand < 0)
        inputs = {}
        if self.genome is not None:
            codes = self.genome.codes(windows, out=allocate("codes", (n, length), np.uint8))
            codes[minus] = COMPLEMENT_CODE[codes[minus, ::-1]]
            dna = allocate(self.dna_name, (n, length, 4), np.float32)
            inputs[self.dna_name] = np.take(dna_table(self.dna_n), codes, axis=0, out=dna,
                                            mode="clip")
        for track in self.tracks:
            inputs[track.name] = self._oriented(track, windows, samples, minus, allocate)
        profile = np.zeros((n, length), np.float32) if self.target is None else \
            sense_profile(self._oriented(self.target, windows, samples, minus, allocate)[..., 0])
        add_controls(inputs, self.controls, profile, np.concatenate([samples.start, samples.chrom]))
        return inputs, profile

    @staticmethod
    def _oriented(track: TrackInput, windows: Windows, samples: Samples, minus: np.ndarray,
                  allocate: Allocate) -> np.ndarray:
        rows = track.read(windows, samples.cell,
                          allocate(track.name, (len(samples), windows.length, track.width), np.float32))
        rows[minus] = rows[minus][:, ::-1][..., track.rc_order]
        return rows


def check_controls(controls: Sequence[str]) -> None:
    """Refuse a control input that is not one of :data:`CONTROLS`."""
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise InputError(f"control {unknown[0]!r} is not one of {', '.join(CONTROLS)}")


def add_controls(inputs: dict[str, np.ndarray], controls: Sequence[str], profile: np.ndarray,
                 seed: np.ndarray) -> None:
    """Add the ``controls`` to ``inputs``: ``control_target`` the target profiles (n, L) as
    (n, L, 1); ``control_noise`` white noise (n, L, 1) drawn from ``seed`` (integers naming the
    batch's windows: the same batch, the same noise)."""
    if "target" in controls:
        inputs["control_target"] = profile[..., None]
    if "noise" in controls:
        rng = np.random.default_rng(seed.astype(np.uint64))
        inputs["control_noise"] = rng.standard_normal((*profile.shape, 1), dtype=np.float32)


def dna_table(n_value: float) -> np.ndarray:
    """(5, 4) float32: one-hot rows of base codes A, C, G, T, and N = ``n_value`` in each row."""
    table = onehot_table(4)
    table[4] = n_value
    return table


def sense_profile(counts: np.ndarray) -> np.ndarray:
    """Counts (n, L) -> probability profiles (n, L): counts / (total + 1e-5); uniform when empty."""
    total = counts.sum(axis=1, keepdims=True)
    profile = counts / (total + PROFILE_EPSILON)
    empty = total[:, 0] <= 0
    profile[empty] = 1.0 / counts.shape[1]
    return profile.astype(np.float32, copy=False)
