"""The report of ``experiments/factornet/e2f1-antibody.sh``: FactorNet's Fig. S2C-D (Quang & Xie
2019), E2F1 in K562 from single-task and multi-task models trained on GM12878 or on HeLa-S3."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .factornet_scores import (METRICS, NOT_AVAILABLE, SCORES, plot_scores, read_model,
                               score_record, score_table, training_note)
from .results import Results

KINDS = ("single-task", "multi-task")


def trained_on(run_dir: Path) -> list[str]:
    """The cell types the run's models were trained on (scores/<kind>.<cell type>.json), sorted."""
    cells = sorted({path.name.split(".")[1] for path in (Path(run_dir) / SCORES).glob("*.json")
                    if path.name.split(".")[0] in KINDS and path.name.count(".") == 2})
    if not cells:
        raise InputError(f"{Path(run_dir) / SCORES}: no scores of a model: the experiment scored "
                         "nothing (run it again)")
    return cells


def report(run_dir: Path, mode: str) -> Results:
    cells = trained_on(run_dir)
    names = [f"{kind}.{cell}" for cell in cells for kind in KINDS]
    rows = [({"trained on": name.split(".")[1], "model": name.split(".")[0]}, name)
            for name in names]
    paper = [{column: NOT_AVAILABLE for column in METRICS.values()} if mode == "full" else {}
             for _ in rows]
    table = score_table(run_dir, rows, paper)
    tf = read_model(run_dir, names[0]).settings["factor"]
    test = score_record(run_dir, names[0])["settings"]["cell_type"]
    notes = [
        f"{tf} in {test} (its test regions, ambiguous bins left out) predicted by a single-task "
        f"and a multi-task model trained on one cell type each: {', '.join(cells)}. Recipes and "
        "their sources: experiments/lib_factornet.sh.",
        "",
        ("Paper columns: the paper's Fig. S2C-D could not be consulted where this was written "
         "(only the abstracts of PMC6708499 and bioRxiv 151274 were reachable), so they read "
         "'not available here' rather than quote a number." if mode == "full" else
         "Demo mode: a demo TF stands in for E2F1 (no paper figures; the paper columns are "
         "empty)."),
        "",
        "Models:",
        "",
        *[f"- {training_note(read_model(run_dir, name))}" for name in names],
    ]
    labelled = table.assign(label=[f"{model}, {cell}" for cell, model in
                                   table[["trained on", "model"]].itertuples(index=False)])
    figures = {"scores.png": lambda: plot_scores(labelled, "label", f"{tf} in {test}, by "
                                                 "training cell type")}
    return Results(f"FactorNet, {tf} in {test} by training cell type (Fig. S2C-D)", table,
                   notes, figures)
