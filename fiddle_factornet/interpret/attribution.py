"""Attributions of a model's score to its inputs: saliency, gradient x input, integrated gradients
and in-silico mutagenesis (ISM), under any Keras backend.

The first part is generic: a *score* (a function of the model's input tensors, by name, giving one
value per sample) and inputs as named numpy arrays, so any Keras model can use it (FIDDLE's too).
The second part is FactorNet's: its output depends on the sequence through two inputs, the
``forward`` window and its reverse complement ``reverse``; every attribution is the sum of both
strands' contributions on forward-strand coordinates (:func:`to_forward_strand`).

Choices, for every FactorNet method (arrays (n, L, 4 + k): the 4 one-hot DNA channels, then the
k tracks; meta and annotation inputs are held at the region's values throughout):

- ``saliency``: the paper's (Quang & Xie): the gradient of the output (the model's strand-averaged
  probability for the TF) with respect to the input, negative values set to 0.
- ``gradxinput``: gradient x input.
- ``ig``: integrated gradients from a baseline, the straight path in ``steps`` intervals
  integrated by the trapezoid rule (``steps + 1`` points, batched): its end points are the input
  and the baseline themselves, so their scores (and the completeness gap, ``sum of attributions -
  (score - baseline score)``) come from the same evaluations. ReLU kinks keep the rule's error at
  O(1 / steps) (1-5 % at 64 steps on small models), so a window whose gap exceeds 1 % of score -
  baseline score (:data:`IG_RTOL`; or 1e-4, :data:`IG_ATOL`) has its intervals halved, earlier
  points kept, up to 16 x ``steps``. Baseline (``baseline=``): ``zero`` (default) -- every
  one-hot channel 0, which is how the model sees an N base, so the baseline is "no sequence" in
  the model's own encoding and only the present base of each position gets an attribution
  (x - baseline is 0 elsewhere); ``uniform`` -- 0.25 per channel, the expected one-hot of a random
  base (a base-frequency average the model never saw as input). Tracks at 0 (no signal) in both.
  Both baselines are their own reverse complement, as the symmetry of the model needs.
- ``ism``: every base of the window to each of the three others (L x 3 variants, through
  ``model.predict`` in chunks): mutant score - reference score per (position, base), 0 at the
  present base (and at N bases); each track channel: the track set to 0 at that one position
  (mutant - reference; 0 where the track is already 0). A single-base change of a track is the
  track's counterpart of a single-base mutation: it keeps ISM's per-position resolution, and its
  effect is small where the model reads a track through wide kernels.

The per-position summaries (:func:`position_summary`), one number per base that the bigWig tracks
and the logos show, all read "positive = this base (this signal) raises the score".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .gradients import Score, input_gradients

logger = logging.getLogger(__name__)

#: a function of numpy inputs (by name, each (m, ...)) giving one score per sample, (m,)
Predict = Callable[[dict], np.ndarray]
#: a function completing a dict of numpy inputs with the inputs derived from them
Derive = Callable[[dict], dict]

#: bytes of variant inputs built at once by :func:`variant_scores` (beside the model's batch)
VARIANT_BYTES = 64 << 20


def _length(inputs: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(inputs.values())))


# ---------------------------------------------------------------------------------------------
# generic: any Keras model, inputs by name


def batched_gradients(score: Score, inputs: Mapping[str, np.ndarray], wrt: Sequence[str],
                      batch_size: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Scores (n,) and their gradients with respect to the inputs named in ``wrt`` (each shaped
    like its input), ``batch_size`` samples per call of :func:`input_gradients`."""
    parts = [input_gradients(score, {name: value[lo:lo + batch_size]
                                     for name, value in inputs.items()}, wrt)
             for lo in range(0, _length(inputs), batch_size)]
    return (np.concatenate([scores for scores, _ in parts]),
            {name: np.concatenate([grads[name] for _, grads in parts]) for name in wrt})


@dataclass(frozen=True)
class IntegratedGradients:
    """Integrated gradients of n samples: ``scores`` (n,) at the inputs, ``baseline_scores`` (n,)
    at the baselines, ``attributions`` by input name (each shaped like its input) and ``steps``
    (n,) the intervals each sample's path was integrated in."""

    scores: np.ndarray
    baseline_scores: np.ndarray
    attributions: dict[str, np.ndarray]
    steps: np.ndarray

    def gap(self) -> np.ndarray:
        """(n,) completeness gap: sum of all attributions - (score - baseline score)."""
        return _gap(self.attributions, self.scores, self.baseline_scores)

    def incomplete(self, rtol: float, atol: float) -> np.ndarray:
        """(n,) bool: the samples whose ``|gap| > max(rtol |score - baseline score|, atol)``."""
        return _incomplete(self.gap(), self.scores, self.baseline_scores, rtol, atol)


def _gap(attributions: Mapping[str, np.ndarray], scores: np.ndarray,
         baseline_scores: np.ndarray) -> np.ndarray:
    total = sum(value.reshape(len(value), -1).sum(axis=1, dtype=np.float64)
                for value in attributions.values())
    return total - (scores.astype(np.float64) - baseline_scores)


def _incomplete(gap: np.ndarray, scores: np.ndarray, baseline_scores: np.ndarray, rtol: float,
                atol: float) -> np.ndarray:
    return np.abs(gap) > np.maximum(rtol * np.abs(scores - baseline_scores), atol)


def trapezoid_weights(steps: int) -> np.ndarray:
    """(steps + 1,) weights of the trapezoid rule on [0, 1] in ``steps`` equal intervals."""
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    return weights


def _path_sums(score: Score, inputs: Mapping[str, np.ndarray], baselines: Mapping[str, np.ndarray],
               rows: np.ndarray, alphas: np.ndarray, weights: np.ndarray, batch_size: int
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Scores (len(rows), len(alphas)) at the points ``baseline + alpha (input - baseline)`` of
    the samples ``rows``, and the ``weights``-weighted sums of their gradients by input name."""
    alphas, weights = np.asarray(alphas, np.float32), np.asarray(weights, np.float32)
    per_call = max(1, batch_size // len(alphas))
    values, sums = [], {name: [] for name in baselines}
    for lo in range(0, len(rows), per_call):
        chunk = rows[lo:lo + per_call]
        path = {}
        for name, value in inputs.items():
            x = value[chunk]
            if name in baselines:
                x0 = np.broadcast_to(np.asarray(baselines[name], np.float32), value.shape)[chunk]
                shape = (1, -1) + (1,) * (x.ndim - 1)
                path[name] = (x0[:, None] + alphas.reshape(shape) * (x - x0)[:, None]
                              ).reshape(-1, *x.shape[1:])
            else:
                path[name] = np.repeat(x, len(alphas), axis=0)
        scores, grads = input_gradients(score, path, list(baselines))
        values.append(scores.reshape(len(chunk), len(alphas)))
        for name in baselines:
            grad = grads[name].reshape(len(chunk), len(alphas), *grads[name].shape[1:])
            sums[name].append(np.tensordot(grad, weights, axes=([1], [0])))
    return np.concatenate(values), {name: np.concatenate(parts) for name, parts in sums.items()}


def integrated_gradients(score: Score, inputs: Mapping[str, np.ndarray],
                         baselines: Mapping[str, np.ndarray], steps: int = 64,
                         batch_size: int = 256, rtol: float = 0.0, atol: float = 0.0,
                         max_steps: int | None = None) -> IntegratedGradients:
    """Integrated gradients with respect to the inputs named in ``baselines`` (the others held).

    The straight path from ``baselines[name]`` (broadcastable to ``inputs[name]``, (n, ...)) to
    the input is cut into ``steps`` intervals and integrated by the trapezoid rule; about
    ``batch_size`` path points (whole samples) go through one gradient call. Completeness: a
    sample's attributions sum to its score - its baseline score, up to the rule's error (the
    :meth:`~IntegratedGradients.gap`), which the kinks of ReLU networks keep at O(1 / steps).
    With ``rtol`` or ``atol``, a sample whose ``|gap| > max(rtol |score - baseline score|,
    atol)`` has its intervals halved (the trapezoid rule refined by the midpoints, earlier points
    kept) until it is not, or until ``max_steps`` (default ``16 steps``) would be passed.
    """
    if steps < 1:
        raise ValueError(f"integrated gradients need steps >= 1, not {steps}")
    max_steps = 16 * steps if max_steps is None else max_steps
    n = _length(inputs)
    values, sums = _path_sums(score, inputs, baselines, np.arange(n),
                              np.linspace(0.0, 1.0, steps + 1), trapezoid_weights(steps),
                              batch_size)
    scores, baseline_scores = values[:, -1], values[:, 0]
    deltas = {name: inputs[name] - np.asarray(baselines[name], np.float32) for name in baselines}
    used = np.full(n, steps)
    current = steps
    while (rtol or atol) and 2 * current <= max_steps:
        attributions = {name: deltas[name] * sums[name] for name in baselines}
        rows = np.flatnonzero(_incomplete(_gap(attributions, scores, baseline_scores), scores,
                                          baseline_scores, rtol, atol))
        if not len(rows):
            break
        # T(2h) = (T(h) + M(h)) / 2: the trapezoid rule on halved intervals from the midpoint rule
        midpoints = (np.arange(current) + 0.5) / current
        _, mid_sums = _path_sums(score, inputs, baselines, rows, midpoints,
                                 np.full(current, 1.0 / current), batch_size)
        for name in baselines:
            sums[name][rows] = (sums[name][rows] + mid_sums[name]) / 2
        current *= 2
        used[rows] = current
        logger.debug("integrated gradients: %d of %d samples refined to %d steps", len(rows), n,
                     current)
    return IntegratedGradients(scores, baseline_scores,
                               {name: deltas[name] * sums[name] for name in baselines}, used)


def variant_scores(predict: Predict, inputs: Mapping[str, np.ndarray], name: str,
                   rows: np.ndarray, positions: np.ndarray, values: np.ndarray,
                   derive: Derive | None = None, chunk: int = 1024) -> np.ndarray:
    """Scores (m,) of m single-position variants: variant v is sample ``rows[v]`` with
    ``inputs[name][rows[v], positions[v]]`` (a (C,) row of an (n, L, C) input) replaced by
    ``values[v]`` (values (m, C)); ``derive`` adds the inputs that follow from the edited ones.
    ``chunk`` variants at a time go to ``predict``."""
    out = np.empty(len(rows), np.float32)
    for lo in range(0, len(rows), chunk):
        part = slice(lo, lo + chunk)
        batch = {key: value[rows[part]] for key, value in inputs.items()}
        batch[name][np.arange(len(batch[name])), positions[part]] = values[part]
        out[part] = predict(derive(batch) if derive else batch)
    return out


# ---------------------------------------------------------------------------------------------
# FactorNet: two strands, attributions on forward-strand coordinates

METHODS = ("saliency", "gradxinput", "ig", "ism")
#: baseline name -> value of every one-hot channel (tracks are 0 in every baseline)
BASELINES = {"zero": 0.0, "uniform": 0.25}
#: integrated gradients are refined until the completeness gap is within 1 % of score - baseline
#: score, or 1e-4 (in probability) for a smaller difference
IG_RTOL, IG_ATOL = 0.01, 1e-4
STRANDS = ("forward", "reverse")


def strand_permutation(rc_order: Sequence[int] | np.ndarray) -> np.ndarray:
    """(4 + k,) int: the forward channel each channel of the reverse input reads -- DNA channel c
    reads its complement 3 - c (A,C,G,T order), track j reads track ``rc_order[j]`` (stranded
    pairs swapped; :func:`fiddle_factornet.data.tracks.reverse_complement_order`)."""
    return np.concatenate([[3, 2, 1, 0], 4 + np.asarray(rc_order, np.int64)]).astype(np.int64)


def reverse_strand(forward: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """The ``reverse`` input of ``forward`` windows, (n, L, C) -> (n, L, C), as
    :meth:`~fiddle_factornet.factornet.view.FactorNetView.read` makes it:
    ``reverse[:, i, c] = forward[:, L - 1 - i, permutation[c]]``."""
    return np.ascontiguousarray(forward[:, ::-1][..., permutation])


def to_forward_strand(values: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Values on the reverse input's coordinates, (n, L, C), put on forward coordinates:
    ``out[:, L - 1 - i, permutation[c]] = values[:, i, c]``.

    The transpose of :func:`reverse_strand`: a score f(forward, reverse_strand(forward)) has the
    gradient ``g_forward + to_forward_strand(g_reverse)`` with respect to ``forward``; every
    FactorNet method adds its two strands' attributions this way.
    """
    out = np.empty_like(values)
    out[..., permutation] = values[:, ::-1]
    return out


def position_summary(method: str, values: np.ndarray,
                     onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One method's attributions (n, L, 4 + k) as per-position values: DNA (n, L) and tracks
    (n, L, k), positive where the base or the signal raises the score.

    DNA: ``saliency``, the present base's saliency; ``gradxinput`` and ``ig``, the sum over the
    four channels (the present base's value; with the uniform IG baseline the absent bases' terms
    too, so that the position values still sum to score - baseline score); ``ism``, minus the mean
    effect of the three mutations (reference score - mean mutant score). Tracks: the attributions
    themselves, ISM's negated (reference - track set to 0).
    """
    dna, tracks = values[..., :4], values[..., 4:]
    if method == "saliency":
        return (dna * onehot).sum(axis=-1), tracks
    if method == "ism":
        return -dna.sum(axis=-1) / 3, -tracks
    return dna.sum(axis=-1), tracks


@dataclass(frozen=True)
class Attributions:
    """Attributions of n windows: ``scores`` (n,) the model's output; ``values`` by method, each
    (n, L, 4 + k) on forward-strand coordinates; with ``ig``, its ``ig`` result (baseline scores,
    steps and completeness gap per window)."""

    scores: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    ig: IntegratedGradients | None = None

    @staticmethod
    def concat(parts: Sequence["Attributions"]) -> "Attributions":
        join = lambda items: np.concatenate(list(items))
        ig = None if parts[0].ig is None else IntegratedGradients(
            join(p.ig.scores for p in parts), join(p.ig.baseline_scores for p in parts),
            {"window": join(p.ig.attributions["window"] for p in parts)},
            join(p.ig.steps for p in parts))
        return Attributions(join(p.scores for p in parts),
                            {method: join(p.values[method] for p in parts)
                             for method in parts[0].values}, ig)


@dataclass(frozen=True)
class FactorNetAttribution:
    """Attributions of one output column of a FactorNet model (Keras, inputs ``forward``,
    ``reverse`` (n, L, 4 + k) and optionally ``meta``, ``annotations``), on the forward strand.

    ``permutation``: :func:`strand_permutation` of the tracks' reverse-complement order;
    ``batch_size``: samples per model call (regions, integrated-gradient path points, variants).
    """

    model: object  # keras.Model
    column: int
    permutation: np.ndarray
    batch_size: int = 256

    def score(self, tensors: dict):
        """The column's probability, (n,) backend tensor, of the input tensors (inference mode)."""
        return self.model(dict(tensors), training=False)[:, self.column]

    def predict(self, arrays: dict) -> np.ndarray:
        """The column's probability, (m,) float32, of numpy inputs."""
        return self.model.predict(arrays, batch_size=self.batch_size, verbose=0)[:, self.column]

    def with_reverse(self, arrays: dict) -> dict:
        """``arrays`` with the ``reverse`` input made from ``forward``."""
        return {**arrays, "reverse": reverse_strand(arrays["forward"], self.permutation)}

    def _on_forward(self, per_strand: Mapping[str, np.ndarray]) -> np.ndarray:
        return per_strand["forward"] + to_forward_strand(per_strand["reverse"], self.permutation)

    def gradients(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Scores (n,) and the gradient (n, L, 4 + k) of the score with respect to the window."""
        scores, grads = batched_gradients(self.score, inputs, STRANDS, self.batch_size)
        return scores, self._on_forward(grads)

    def integrated_gradients(self, inputs: Mapping[str, np.ndarray], baseline: str = "zero",
                             steps: int = 64, rtol: float = IG_RTOL) -> IntegratedGradients:
        """Integrated gradients of both strands from the named baseline (:data:`BASELINES`),
        refined where the completeness gap exceeds ``rtol`` of score - baseline score (or
        :data:`IG_ATOL`); ``attributions["window"]`` (n, L, 4 + k) is their sum on forward
        coordinates."""
        base = np.zeros((1, *inputs["forward"].shape[1:]), np.float32)
        base[..., :4] = BASELINES[baseline]
        result = integrated_gradients(
            self.score, inputs, {"forward": base, "reverse": reverse_strand(base, self.permutation)},
            steps, self.batch_size, rtol=rtol, atol=IG_ATOL if rtol else 0.0)
        return IntegratedGradients(result.scores, result.baseline_scores,
                                   {"window": self._on_forward(result.attributions)}, result.steps)

    def mutagenesis(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """ISM (n, L, 4 + k): mutant score - reference score for every other base of every
        position, and for every track set to 0 at one position (0 where nothing changes); both
        scores through :meth:`predict`."""
        forward = inputs["forward"]
        held = {name: value for name, value in inputs.items() if name != "reverse"}
        scores = self.predict(dict(inputs))
        present = forward[..., :4] > 0
        # DNA: the three absent bases of each position that has a base; tracks: nonzero values
        mutable = np.concatenate([present.any(axis=-1, keepdims=True) & ~present,
                                  forward[..., 4:] != 0], axis=-1)
        rows, positions, channels = np.nonzero(mutable)
        values = forward[rows, positions]
        is_base = channels < 4
        values[is_base, :4] = np.eye(4, dtype=np.float32)[channels[is_base]]
        values[~is_base, channels[~is_base]] = 0.0
        chunk = max(self.batch_size, VARIANT_BYTES // (forward[0].nbytes * 2))
        effects = np.zeros(forward.shape, np.float32)
        effects[rows, positions, channels] = variant_scores(
            self.predict, held, "forward", rows, positions, values, self.with_reverse,
            chunk) - scores[rows]
        return effects

    def attribute(self, inputs: Mapping[str, np.ndarray], methods: Sequence[str] = METHODS,
                  baseline: str = "zero", steps: int = 64, rtol: float = IG_RTOL) -> Attributions:
        """The ``methods`` (:data:`METHODS`) for windows read by the model's view."""
        scores, gradient = self.gradients(inputs) if {"saliency", "gradxinput"} & set(methods) \
            else (self.predict(dict(inputs)), None)
        values, ig = {}, None
        for method in methods:
            if method == "saliency":
                values[method] = np.maximum(gradient, 0.0)
            elif method == "gradxinput":
                values[method] = gradient * inputs["forward"]
            elif method == "ig":
                ig = self.integrated_gradients(inputs, baseline, steps, rtol)
                values[method] = ig.attributions["window"]
            elif method == "ism":
                values[method] = self.mutagenesis(inputs)
            else:
                raise ValueError(f"unknown attribution method {method!r}")
        return Attributions(scores, values, ig)
