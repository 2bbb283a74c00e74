"""FactorNet's view of the samples: the one-hot window plus track rows on both strands, and
per-sample vectors (meta features, annotations)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.genome import COMPLEMENT_CODE, Genome
from ..data.samples import Samples
from ..pipeline import Allocate, TrackInput, VectorInput, fresh, onehot_table


@dataclass(frozen=True)
class FactorNetView:
    """FactorNet's inputs: ``forward``/``reverse`` (n, L, 4 + k) plus per-sample vectors."""

    genome: Genome
    tracks: TrackInput | None = None
    vectors: tuple[VectorInput, ...] = ()
    length: int = 1000

    @property
    def channels(self) -> int:
        return 4 + (self.tracks.width if self.tracks else 0)

    def input_shapes(self, samples: Samples) -> dict[str, tuple[int, ...]]:
        shapes = {"forward": (self.length, self.channels), "reverse": (self.length, self.channels)}
        shapes.update({v.name: (v.width(samples),) for v in self.vectors})
        return shapes

    def target_shape(self, samples: Samples) -> tuple[int, ...]:
        return (samples.targets.shape[1],)

    def read(self, samples: Samples, offsets: np.ndarray | int = 0,
             allocate: Allocate = fresh) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Inputs and targets of ``samples`` with windows moved by ``offsets`` bp."""
        n, length, channels = len(samples), self.length, self.channels
        windows = samples.windows(length, offsets)
        codes = self.genome.codes(windows, out=allocate("codes", (n, length), np.uint8))
        forward = allocate("forward", (n, length, channels), np.float32)
        reverse = allocate("reverse", (n, length, channels), np.float32)
        table = onehot_table(channels)
        np.take(table, codes, axis=0, out=forward, mode="clip")
        # the reverse strand from reverse-complemented codes: cheaper than permuting channels
        rc_codes = np.take(COMPLEMENT_CODE, codes[:, ::-1], mode="clip",
                           out=allocate("rc_codes", (n, length), np.uint8))
        np.take(table, rc_codes, axis=0, out=reverse, mode="clip")
        if self.tracks:
            self.tracks.read(windows, samples.cell, forward[..., 4:])
            for channel, source in enumerate(self.tracks.rc_order):
                reverse[:, :, 4 + channel] = forward[:, ::-1, 4 + source]
        inputs = {"forward": forward, "reverse": reverse}
        inputs.update({v.name: v.read(samples) for v in self.vectors})
        return inputs, samples.targets
