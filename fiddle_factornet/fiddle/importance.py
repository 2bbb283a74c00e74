"""Sufficiency and necessity of each input, per sample, from per-sample KL losses (the paper's).

An input's "mean" is its per-position mean over the evaluated windows, given to every window.
With L_all the loss with every input real, L_only_i with input i real and the others at their
means, and L_without_i with input i at its mean and the others real:

- necessity_i = sigmoid(L_without_i - L_all): high when losing the input hurts (0.5: no change);
- sufficiency_i = 1 - sigmoid(L_only_i - L_all): the paper's reading, high when the input alone
  does as well (0.5: as well as all inputs together, lower: worse);
- sufficiency_notebook_i = sigmoid(L_only_i - L_all) = 1 - sufficiency_i: the score the authors'
  notebook computed (0.5: sufficient, higher: less so).

Both sufficiency scores are reported, named as here. Controls (``ffn-fiddle-train --controls``):
the target itself as an input must come out sufficient, white noise as an input must come out not
necessary.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keras
import numpy as np

from ..runs.outputs import recorded_outputs
from ..runs.record import absolute
from ..pipeline import check_model_inputs, numpy_batches
from ..data.tables import fixed_point, format_rows
from .evaluation import ModelOnWindows, kl_per_region
from .regions import region_columns

logger = logging.getLogger(__name__)

#: the per-window scores, in the order of the per-window table's columns
SCORES = ("necessity", "sufficiency", "sufficiency_notebook")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def importance(model: keras.Model, inputs: dict[str, np.ndarray], target: np.ndarray,
               batch_size: int = 256) -> dict[str, dict[str, np.ndarray]]:
    """Per-sample necessity and sufficiency of every input.

    Parameters
    ----------
    inputs : name -> (n, L, H) the model's inputs on the evaluated windows.
    target : (n, L) target profiles.

    Returns
    -------
    {input name: {"necessity": (n,), "sufficiency": (n,), "sufficiency_notebook": (n,)}} and,
    under ``"_all"``, ``{"loss": (n,)}`` (see the module docstring for the scores).
    """
    means = {name: np.broadcast_to(x.mean(axis=0, keepdims=True), x.shape) for name, x in
             inputs.items()}

    def loss(real: set[str]) -> np.ndarray:
        case = {name: inputs[name] if name in real else means[name] for name in inputs}
        return kl_per_region(target, model.predict(case, batch_size=batch_size, verbose=0))

    everything = set(inputs)
    all_loss = loss(everything)
    result = {"_all": {"loss": all_loss}}
    for name in inputs:
        notebook = sigmoid(loss({name}) - all_loss)
        result[name] = {"necessity": sigmoid(loss(everything - {name}) - all_loss),
                        "sufficiency": 1.0 - notebook, "sufficiency_notebook": notebook}
    return result


def importance_of_model(model_dir: str | Path, output_prefix: str | Path, regions: str | None = None,
                        manifest: str | None = None, overwrite: bool = False) -> dict[str, dict]:
    """Necessity and sufficiency of a FIDDLE model folder's inputs on its test windows (or
    ``regions``); writes PREFIX.importance.tsv (per window) and PREFIX.importance.json (means)."""
    scored = ModelOnWindows.open(model_dir, regions, manifest)
    record = scored.record("fiddle importance", output_prefix=absolute(output_prefix))
    with recorded_outputs([f"{output_prefix}.importance.tsv", f"{output_prefix}.importance.json"],
                          record, overwrite, scored.inputs(),
                          record_at=f"{output_prefix}.importance.run.json") as (per_window, summary):
        return _importance_into(scored, per_window, summary)


def _importance_into(scored: ModelOnWindows, per_window: Path, summary: Path) -> dict[str, dict]:
    samples = scored.samples
    check_model_inputs(scored.model, scored.view, samples,
                       str(scored.folder.path / "model.keras"))
    batches = list(numpy_batches(scored.view, samples, 4096))
    inputs = {name: np.concatenate([x[name] for x, _ in batches]) for name in batches[0][0]}
    target = np.concatenate([t for _, t in batches])
    result = importance(scored.model, inputs, target)
    names = [name for name in result if name != "_all"]
    means = {name: {kind: float(result[name][kind].mean()) for kind in SCORES} for name in names}
    header = "\t".join(["chrom", "start", "end", "strand", "kl_all"] +
                       [f"{name}_{kind}" for name in names for kind in SCORES])
    columns = region_columns(samples) + [fixed_point(result["_all"]["loss"])]
    columns += [fixed_point(result[name][kind]) for name in names for kind in SCORES]
    per_window.write_bytes((header + "\n").encode() + format_rows(columns))
    summary.write_text(json.dumps({"windows": len(samples), "inputs": means}, indent=1))
    return means


def importance_table(means: dict[str, dict[str, float]]) -> str:
    """The summary as text: a legend, then one row per input: mean necessity, sufficiency (the
    paper's reading) and sufficiency_notebook (the authors' notebook's score)."""
    lines = ["necessity = sigmoid(L_without - L_all): high = necessary, 0.5 = no change",
             "sufficiency = 1 - sigmoid(L_only - L_all) (the paper's reading): "
             "high = sufficient, 0.5 = as good as all inputs",
             "sufficiency_notebook = sigmoid(L_only - L_all) (the authors' notebook): "
             "0.5 = sufficient, higher = less so",
             f"{'input':16s} {'necessity':>10s} {'sufficiency':>12s} {'sufficiency_notebook':>21s}"]
    lines += [f"{name:16s} {m['necessity']:10.3f} {m['sufficiency']:12.3f} "
              f"{m['sufficiency_notebook']:21.3f}" for name, m in means.items()]
    return "\n".join(lines)
