"""The shared-convolution ("stretch") fast path of FactorNet prediction.

Consecutive bins (200 bp every 50 bp) have windows that overlap by 95 % (L = 1000). The
per-position part of the strand network, ``conv`` (valid, ReLU) then ``conv_dense`` (the
dropout between them is inactive at inference), depends only on the w bases under each position,
so over a run of such bins it is computed once over the stretch of genome that covers all their
windows, and once over that stretch's reverse complement, instead of once per window and strand.
Each window then takes its positions from the stretch: forward, those from its offset in the
stretch; reverse, those of the reverse-complemented stretch that hold its reverse complement.
Max pooling of width p and stride s over a window's P = L - w + 1 positions is a sliding maximum
of width p over the stretch sampled every s positions from the window's offset (global max
pooling: a sliding maximum of width P); maxima are exact, so the pooled values are those the
per-window path pools. The rest (BiLSTM / flatten / global pool, dense, the head with its meta
and annotation inputs, the average of the strands) runs per window, through the model's own
layers (weights shared, nothing retrained: trained and converted models alike).

**Runs.** Rows are taken in their order; a row continues the run of the row before when it lies
on the same chromosome, has the same width and starts d bp after it with 0 < d < L, d the same
step as the run's (so every run is a lattice: one width, one step). Runs of at least
:data:`MIN_RUN` bins take this path; shorter ones (isolated bins) the per-window path (a run of
one would compute as much as the window alone, and each piece costs a read of its own). Long runs
are cut into pieces of at most ``batch_size`` windows and :data:`STRETCH_BASES` bp; pieces are
packed end to end (up to about ``batch_size`` windows and :data:`STRETCH_BASES` bp) into one
sequence per model call: the positions that straddle the junction of two pieces belong to no
window. The per-window part then runs in batches of ``batch_size`` windows gathered across packs
(the last one padded), compiled by XLA (about 1.5x faster than uncompiled on a CPU; the per-window
path gains nothing from it). Memory is bounded by the pack: (2, under 2 x 100 kbp, k) float32
positions. ``bench/bench_predict.py`` measures both paths: on 2 cores and the paper's model, the
stretch path scores a chromosome's bins about 2.5x as fast as the per-window path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..data.samples import Samples
from .view import FactorNetView

STRANDS = ("forward", "reverse")
#: the shortest run of consecutive bins that takes the stretch path
MIN_RUN = 4
#: the most bases of genome in one piece of a run, and about the most in one pack of pieces
STRETCH_BASES = 100_000


def find_runs(samples: Samples, length: int) -> np.ndarray:
    """Runs of consecutive rows (see the module docstring) for windows of ``length`` bp.

    Returns the (m + 1,) int64 edges: run r is rows ``edges[r]:edges[r + 1]``.
    """
    n = len(samples)
    step = np.diff(samples.start)
    width = samples.end - samples.start
    linked = (samples.chrom[1:] == samples.chrom[:-1]) & (width[1:] == width[:-1]) \
        & (step > 0) & (step < length)
    new = np.ones(n, dtype=bool)
    new[1:] = ~linked
    new[2:] |= linked[:-1] & (step[1:] != step[:-1])
    return np.append(np.flatnonzero(new), n).astype(np.int64)


def sliding_max(x: np.ndarray, width: int) -> np.ndarray:
    """Maximum over every ``width`` consecutive rows along axis 1: (b, n, k) -> (b, n - width + 1,
    k), ``out[:, i] = x[:, i:i + width].max(axis=1)``; by doubling spans, log2(width) passes."""
    out, span = x, 1
    while 2 * span <= width:
        out = np.maximum(out[:, :-span], out[:, span:])
        span *= 2
    if span < width:
        out = np.maximum(out[:, :span - width], out[:, width - span:])
    return out


@dataclass(frozen=True)
class SharedConvolution:
    """A FactorNet model split at its pooling for the stretch path.

    ``positions``: (b, T, 4 + tracks) -> (b, T - w + 1, k), the ``conv`` and ``conv_dense``
    layers over any length. ``tail``: ``forward`` and ``reverse`` pooled windows (n, pooled, k)
    (global pooling: (n, k)) plus the model's ``meta`` / ``annotations`` inputs -> (n, n_tasks),
    the model's layers after the pooling, its head and its strand average.
    """

    positions: object  # keras.Model
    tail: object  # keras.Model
    length: int  # L
    kernel_width: int  # w
    span: int  # positions one pooled value takes the maximum of
    stride: int  # positions between pooled values
    pooled: int  # pooled values per window; 0: global pooling (one value, no axis)

    @classmethod
    def of(cls, model) -> "SharedConvolution":
        """The split of a FactorNet Keras model (:func:`~.model.build_factornet`'s graph)."""
        import keras

        trunk = model.get_layer("strand_trunk")
        conv, conv_dense = trunk.get_layer("conv"), trunk.get_layer("conv_dense")
        assert conv.strides == (1,) and conv.dilation_rate == (1,) and conv.padding == "valid"
        names = [layer.name for layer in trunk.layers]
        assert names[1:4] == ["conv", "conv_dropout", "conv_dense"], names
        length, channels = trunk.input.shape[1:]
        width = int(conv.kernel_size[0])
        window_positions = length - width + 1
        pool = trunk.layers[4]
        if pool.name == "global_pool":
            span, stride, pooled = window_positions, 1, 0
        else:
            assert pool.name == "pool" and pool.padding == "valid", pool.name
            span, stride = int(pool.pool_size[0]), int(pool.strides[0])
            pooled = int(pool.output.shape[1])
        stretch = keras.Input((None, channels), name="stretch")
        positions = keras.Model(stretch, conv_dense(conv(stretch)), name="stretch_positions")

        head, average = model.get_layer("strand_head"), model.get_layer("strand_average")
        extras = [keras.Input(tensor.shape[1:], name=tensor.name) for tensor in head.inputs[1:]]
        strands = {strand: keras.Input(pool.output.shape[1:], name=strand) for strand in STRANDS}
        outputs = []
        for strand in STRANDS:
            x = strands[strand]
            for layer in trunk.layers[5:]:
                x = layer(x)
            outputs.append(head([x, *extras]))
        tail = keras.Model({**strands, **{tensor.name: tensor for tensor in extras}},
                           average(outputs), name="stretch_tail")
        # XLA (TensorFlow, JAX): 1.5x faster on a CPU; one batch shape, compiled once. Not torch's
        # compiler, which recompiles for every run length
        tail.jit_compile = keras.backend.backend() != "torch"
        return cls(positions, tail, int(length), width, span, stride, pooled)

    def covers(self, samples: Samples) -> np.ndarray:
        """(n,) bool: the rows in runs of at least :data:`MIN_RUN` bins, which this path takes."""
        edges = find_runs(samples, self.length)
        count = np.diff(edges)
        return np.repeat(count >= MIN_RUN, count)

    def predict(self, view: FactorNetView, samples: Samples, batch_size: int,
                progress=None) -> np.ndarray:
        """The model's output for every sample (any rows: isolated ones are runs of one, correct
        but without gain): (n, n_tasks) float32; ``progress`` (a tqdm bar) counts the windows.
        The per-window part runs in batches of exactly ``batch_size`` windows whatever the packs
        (the last one padded), so that its compiled model keeps one shape."""
        import keras

        first, end = self._pieces(samples, batch_size)
        packs = self._packs(samples, first, end, batch_size)
        out = np.empty((len(samples), self.tail.output.shape[-1]), np.float32)
        pending: dict[str, np.ndarray] = {}
        done = 0
        for k, (lo, hi) in enumerate(zip(packs[:-1], packs[1:])):
            pack = self._gather_pack(view, samples, first[lo:hi], end[lo:hi])
            pending = {name: np.concatenate([pending[name], values]) if pending else values
                       for name, values in pack.items()}
            last = k == len(packs) - 2
            while len(pending["forward"]) >= batch_size or (last and len(pending["forward"])):
                batch = {name: values[:batch_size] for name, values in pending.items()}
                rows = len(batch["forward"])
                if rows < batch_size:
                    batch = {name: np.concatenate([values, np.zeros(
                        (batch_size - rows, *values.shape[1:]), values.dtype)])
                        for name, values in batch.items()}
                scores = keras.ops.convert_to_numpy(self.tail.predict_on_batch(batch))[:rows]
                out[done:done + rows] = scores
                done += rows
                pending = {name: values[batch_size:] for name, values in pending.items()}
                if progress is not None:
                    progress.update(rows)
        return out

    def _pieces(self, samples: Samples, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Runs cut into pieces of at most ``batch_size`` windows spanning at most
        :data:`STRETCH_BASES` bp (at least one window): first rows and end rows, (p,) each."""
        edges = find_runs(samples, self.length)
        start, count = edges[:-1], np.diff(edges)
        step = np.where(count > 1, samples.start[np.minimum(start + 1, len(samples) - 1)]
                        - samples.start[start], 1)
        cap = np.clip((STRETCH_BASES - self.length) // step + 1, 1, batch_size)
        pieces = -(-count // cap)
        run = np.repeat(np.arange(len(count)), pieces)
        index = np.arange(len(run)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        first = start[run] + index * cap[run]
        return first, np.minimum(first + cap[run], start[run] + count[run])

    def _packs(self, samples: Samples, first: np.ndarray, end: np.ndarray,
               batch_size: int) -> np.ndarray:
        """Pieces packed into model calls: (q + 1,) edges into the pieces. Pack j holds the pieces
        whose load before them (windows / ``batch_size`` + bases / :data:`STRETCH_BASES`, summed
        over the earlier pieces) lies in [j, j + 1): under 2 ``batch_size`` windows and 2
        :data:`STRETCH_BASES` bp each."""
        window_start = samples.windows(self.length).start
        bases = window_start[end - 1] - window_start[first] + self.length
        windows = end - first
        load = (np.cumsum(windows) - windows) / batch_size \
            + (np.cumsum(bases) - bases) / STRETCH_BASES
        key = np.floor(load).astype(np.int64)
        return np.append(np.flatnonzero(np.diff(key, prepend=-1)), len(first))

    def _gather_pack(self, view: FactorNetView, samples: Samples, first: np.ndarray,
                     end: np.ndarray) -> dict[str, np.ndarray]:
        """The per-window inputs of one pack of pieces (rows ``first[0]:end[-1]``, m of them):
        ``forward`` and ``reverse`` pooled positions (m, pooled, k) (global pooling: (m, k)) and
        the model's vector inputs (m, width)."""
        import keras

        part = samples.take(slice(int(first[0]), int(end[-1])))
        first, end = first - first[0], end - first[0]
        window_start = part.windows(self.length).start
        lo, hi = window_start[first], window_start[end - 1] + self.length
        base = np.cumsum(hi - lo) - (hi - lo)
        piece = np.repeat(np.arange(len(first)), end - first)
        offset = base[piece] + window_start - lo[piece]  # each window's start in the pack
        total = int(base[-1] + hi[-1] - lo[-1])
        forward, reverse = [], []
        for i in range(len(first)):  # each piece read as one window: the view's strands
            stretch = self._stretch_samples(part, int(first[i]), int(lo[i]), int(hi[i]))
            inputs, _ = replace(view, length=int(hi[i] - lo[i]), vectors=()).read(stretch)
            forward.append(inputs["forward"][0])
            reverse.append(inputs["reverse"][0])
        # the reverse complement of the pack: the pieces' reverse strands in reverse order
        both = np.stack([np.concatenate(forward), np.concatenate(reverse[::-1])])
        # called eagerly: a few whole-array operations, and no retracing for each pack's length
        positions = keras.ops.convert_to_numpy(self.positions(both, training=False))
        maxima = sliding_max(positions, self.span)
        # window i's reverse strand starts at total - L - offset[i] in the reversed pack
        starts = np.stack([offset, total - self.length - offset])
        if self.pooled:
            starts = starts[:, :, None] + self.stride * np.arange(self.pooled)
        gathered = {strand: maxima[k][starts[k]] for k, strand in enumerate(STRANDS)}
        gathered.update({v.name: v.read(part) for v in view.vectors})
        return gathered

    @staticmethod
    def _stretch_samples(part: Samples, row: int, lo: int, hi: int) -> Samples:
        """A sample whose window of ``hi - lo`` bp is ``[lo, hi)`` of ``row``'s chromosome."""
        one = part.take(slice(row, row + 1))
        centre = np.array([lo + (hi - lo) // 2], np.int64)
        return replace(one, start=centre, end=centre)
