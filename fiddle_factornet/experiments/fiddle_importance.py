"""FIDDLE's Fig. 4: the sufficiency and necessity of each input of the combined model, with the
two controls as extra inputs (the target itself: sufficient; white noise: not necessary).

The run folder (``experiments/fiddle/importance.sh``) holds ``models/combined/`` (trained with
``--controls target,noise``), its evaluation ``eval/combined.summary.json`` and its importance
``eval/combined.importance.json`` (means over the held-out windows; see
:mod:`fiddle_factornet.fiddle.importance` for the scores).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..fiddle.evaluation import pyplot
from ..fiddle.importance import SCORES
from .fiddle_tables import TrainedModel, settings_note
from .results import Results

MODEL = "combined"
#: the controls the model must take (ffn-fiddle-train --controls) and what each must come out
CONTROLS = {"control_target": "control: the target itself (expected: sufficient)",
            "control_noise": "control: white noise (expected: not necessary)"}
#: the table's column of each score (fiddle.importance.SCORES)
SCORE_COLUMNS = {"necessity": "necessity",
                 "sufficiency": "sufficiency (paper's reading)",
                 "sufficiency_notebook": "sufficiency (notebook's score)"}


def report(run_dir: Path, mode: str) -> Results:
    model = TrainedModel.read(run_dir, MODEL)
    absent = [c for c in CONTROLS if c.removeprefix("control_") not in model.record["controls"]]
    if absent:
        raise InputError(f"{model.folder}: the model was trained without the control input "
                         f"{absent[0]!r} (ffn-fiddle-train --controls target,noise)")
    importance = model.evaluation("importance")
    figures = model.figures()
    rows = [{"input": name, "role": CONTROLS.get(name, "input"),
             **{SCORE_COLUMNS[kind]: scores[kind] for kind in SCORES},
             "paper (Fig. 4)": "not available here"}
            for name, scores in importance["inputs"].items()]
    table = pd.DataFrame(rows)
    notes = [f"- {importance['windows']:,} held-out windows (the model's test windows); each "
             "score is the mean of its per-window values (`eval/combined.importance.tsv`).",
             "- necessity = sigmoid(L_without − L_all): high = necessary, 0.5 = no change "
             "without the input.",
             "- sufficiency (paper's reading) = 1 − sigmoid(L_only − L_all): high = sufficient, "
             "0.5 = the input alone does as well as all of them together, lower = worse.",
             "- sufficiency (notebook's score) = sigmoid(L_only − L_all) = 1 − the paper's "
             "reading, as the authors' notebook computed it: 0.5 = sufficient, higher = less so.",
             "- L_all: the KL loss with every input real; L_only: with this input real and every "
             "other at its per-position mean over the windows; L_without: with this input at its "
             "mean and the others real.",
             f"- The model (inputs {', '.join(model.record['inputs'])} and the two controls): "
             f"bin accuracy {figures['bin accuracy %']:.1f} %, mean KL {figures['mean KL']:.3f} "
             "on these windows. " + settings_note(model),
             "- Paper figures: the preprint (Eser & Churchman, bioRxiv 081380, 2016) shows these "
             "scores as a plot (Fig. 4) and gives no numbers: not available here."]
    if mode == "demo":
        notes.append("- Demo mode: synthetic data and small settings; the controls show whether "
                     "the scores behave, not the paper's numbers.")
    return Results("FIDDLE: sufficiency and necessity of each input, with both controls (Fig. 4)",
                   table, notes, {"importance.png": lambda: _plot_importance(table)})


def _plot_importance(table: pd.DataFrame):
    """Grouped bars: each input's three scores; 0.5 (no change) dashed."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(9.5, 3.8))
    x = np.arange(len(table))
    width = 0.27
    for i, column in enumerate(SCORE_COLUMNS.values()):
        axes.bar(x + (i - 1) * width, table[column].astype(float), width, label=column)
    axes.axhline(0.5, color="black", linestyle="--", linewidth=0.8)
    axes.set_xticks(x, table["input"], rotation=20, ha="right")
    axes.set(ylabel="score", ylim=(0, 1), title="Sufficiency and necessity (0.5: no change)")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    return figure
