"""The report of ``experiments/factornet/validation-curves.sh``: FactorNet's Fig. S2B (Quang & Xie
2019), validation loss per epoch with within- against cross-cell-type validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..fiddle.evaluation import pyplot
from .factornet_scores import TrainedModel, read_model, training_note
from .results import Results

#: the two runs (model folders of the run folder) -> their row's name
RUNS = {"within-cell-type": "within cell type", "cross-cell-type": "cross cell type"}


def _validated_on(model: TrainedModel) -> str:
    s = model.settings
    cells = s["valid_input_dirs"] or s["input_dirs"]
    return f"{', '.join(s['valid_chroms'])} of {', '.join(Path(p).name for p in cells)}"


def curve_row(model: TrainedModel) -> dict:
    """A run's table row: what it validated on, its epochs, its best epoch and losses."""
    val_loss, loss = np.asarray(model.history["val_loss"]), np.asarray(model.history["loss"])
    best = int(np.nanargmin(val_loss))
    return {"validation": RUNS[model.name], "validated on": _validated_on(model),
            "epochs run": len(val_loss), "best epoch": best + 1,
            "best validation loss": float(val_loss[best]),
            "last validation loss": float(val_loss[-1]),
            "training loss at best epoch": float(loss[best])}


def plot_curves(models: list[TrainedModel]):
    """Validation loss per epoch of each run (solid), its training loss (dashed), best epochs
    marked."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 4))
    for model, color in zip(models, ("tab:blue", "tab:orange")):
        val_loss = np.asarray(model.history["val_loss"])
        epochs = np.arange(1, len(val_loss) + 1)
        best = int(np.nanargmin(val_loss))
        axes.plot(epochs, val_loss, color=color, marker="o", markersize=3,
                  label=f"validation: {RUNS[model.name]} ({_validated_on(model)})")
        axes.plot(epochs, model.history["loss"], color=color, linestyle="--", linewidth=1,
                  label=f"training loss ({RUNS[model.name]} run)")
        axes.plot(epochs[best], val_loss[best], color=color, marker="*", markersize=12)
    axes.set(xlabel="epoch", ylabel="binary cross-entropy",
             title="Validation loss: within vs cross cell type (* best epoch)")
    axes.legend(fontsize=7)
    figure.tight_layout()
    return figure


def report(run_dir: Path, mode: str) -> Results:
    models = [read_model(run_dir, name) for name in RUNS]
    table = pd.DataFrame([curve_row(model) for model in models])
    notes = [
        "The same single-task model (training data, settings and seed) trained twice; only the "
        "validation set differs: the training cell types' validation chromosome, or the same "
        "chromosome of another cell type (ffn-train -vi). Each run keeps the weights of its own "
        "best validation epoch and stops early on its own validation loss.",
        "",
        "The paper's Fig. S2B is a plot (no figures to put beside ours), and it could not be "
        "consulted where this was written (only the abstracts of PMC6708499 and bioRxiv 151274 "
        "were reachable); the TF and cell types are our choice." if mode == "full" else
        "Demo mode: demo cell types (no paper figures).",
        "",
        "Models:",
        "",
        *[f"- {training_note(model)}" for model in models],
    ]
    return Results("FactorNet, within- vs cross-cell-type validation (Fig. S2B)", table, notes,
                   {"validation_curves.png": lambda: plot_curves(models)})
