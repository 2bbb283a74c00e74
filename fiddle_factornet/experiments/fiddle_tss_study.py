"""FIDDLE's Fig. 3: TSS-seq predicted from each input alone and from all of them together, beside
the random and replicate rows, on the same held-out windows; every model's learning curve.

The run folder (``experiments/fiddle/tss-study.sh``) holds ``models/<input>/`` (one model per
input, named after it), ``models/combined/`` (every input) and their evaluations
``eval/<name>.summary.json``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..fiddle.evaluation import pyplot
from .fiddle_tables import held_out_windows, plot_learning_curves, settings_note, trained_models
from .results import Results

COMBINED = "combined"
#: the paper's bin accuracies (%): bioRxiv 081380 (Eser & Churchman 2016), Fig. 3 and its text,
#: as ORIGINALS.md records them; by row, each input under the names of our tracks manifests and
#: of the authors' HDF5 datasets
PAPER_BIN_ACCURACY = {"random": 10.5, "dna": 50.2, "dnaseq": 50.2, "netseq": 61.2, "mnase": 55.4,
                      "mnaseseq": 55.4, "tfiib": 53.9, "chipseq": 53.9, "rnaseq": 60.1,
                      COMBINED: 72.6, "replicate": 81.2}
PAPER_SOURCE = ("FIDDLE preprint (Eser & Churchman, bioRxiv 081380, 2016), Fig. 3 and its text, "
                "as recorded in ORIGINALS.md")
COLUMNS = ["model", "inputs", "bin accuracy %", "paper bin accuracy %", "mean KL",
           "epochs (best/run)", "training min"]


def report(run_dir: Path, mode: str) -> Results:
    models = trained_models(run_dir)
    if COMBINED not in models:
        raise InputError(f"{Path(run_dir) / 'models'}: no '{COMBINED}' model folder: the "
                         "experiment did not get this far (run it again)")
    combined = models[COMBINED]
    inputs = combined.record["inputs"]
    absent = [name for name in inputs if name not in models]
    if absent:
        raise InputError(f"{Path(run_dir) / 'models'}: no model of the single input "
                         f"{absent[0]!r}: the experiment did not get this far (run it again)")
    study = [*(models[name] for name in inputs), combined]
    windows = held_out_windows(study)
    reference = combined.evaluation()
    rows = [{"model": "random", "inputs": "a uniformly random position",
             "bin accuracy %": 100 * reference["random"]["bin_accuracy"]}]
    rows += [{"model": m.name, "inputs": ", ".join(m.record["inputs"]), **m.figures()}
             for m in study]
    replicate = reference.get("replicate")
    rows.append({"model": "replicate", "inputs": "TSS-seq replicate 2 scored as the prediction",
                 **({"bin accuracy %": 100 * replicate["bin_accuracy"],
                     "mean KL": replicate["mean_kl"]} if replicate else {})})
    for row in rows:
        row["paper bin accuracy %"] = PAPER_BIN_ACCURACY.get(row["model"])
    table = pd.DataFrame(rows, columns=COLUMNS)
    notes = [f"- {windows:,} held-out windows (the test windows of the models, the same for every "
             "row). Bin accuracy: the 500 positions cut into 10 bins of 50; a window is right "
             "when the prediction's maximum falls in the target's bin. Mean KL: KL(target || "
             "prediction) per window, averaged.",
             f"- {settings_note(combined)} Every model of the study was trained so.",
             f"- Paper figures: bin accuracy from the {PAPER_SOURCE}. The paper gives no mean KL "
             "per model: not available here.",
             "- Learning curves (`learning_curves.png`, the paper's Fig. 3b): held-out KL of the "
             "validation windows against training samples seen."]
    if not replicate:
        notes.append("- No replicate in these data (the tracks manifest has no `replicate` row, "
                     "or the model was trained from the authors' HDF5 datasets): the replicate "
                     "row has the paper's figure only.")
    if mode == "demo":
        notes.append("- Demo mode: synthetic data and small settings; compare the ordering of the "
                     "rows with the paper's, not the numbers.")
    curves = {m.name: m.curve() for m in study}
    return Results("FIDDLE: TSS-seq from single and combined inputs (Fig. 3)", table, notes,
                   {"bin_accuracy.png": lambda: _plot_bin_accuracy(table),
                    "learning_curves.png": lambda: plot_learning_curves(
                        curves, "Learning curves (every model)")})


def _plot_bin_accuracy(table: pd.DataFrame):
    """Bin accuracy of every row, ours beside the paper's."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.5))
    x = range(len(table))
    width = 0.4
    axes.bar([i - width / 2 for i in x], table["bin accuracy %"].astype(float), width,
             label="this run")
    axes.bar([i + width / 2 for i in x], table["paper bin accuracy %"].astype(float), width,
             label="paper (Fig. 3)", color="0.6")
    axes.set_xticks(list(x), table["model"], rotation=30, ha="right")
    axes.set(ylabel="bin accuracy (%)", ylim=(0, 100), title="Held-out bin accuracy")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure
