"""The report of ``experiments/factornet/challenge.sh``: FactorNet's ENCODE-DREAM final round
(Quang & Xie 2019, Table 1), single-task, multi-task and their rank average per TF / cell type."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .factornet_scores import (METRICS, MODELS, NOT_AVAILABLE, SCORES, plot_scores, read_model,
                               score_table, training_note)
from .results import Results

#: the submissions of a pair (scores/<TF>.<cell type>.<kind>.json) -> their row's name
KINDS = {"single-task": "single-task", "multi-task": "multi-task", "rank-average": "rank average"}


def pairs_scored(run_dir: Path) -> list[tuple[str, str]]:
    """The (TF, cell type) pairs with scores in the run folder, sorted."""
    pairs = set()
    for path in (Path(run_dir) / SCORES).glob("*.json"):
        parts = path.name.split(".")
        if len(parts) == 4 and parts[2] in KINDS:
            pairs.add((parts[0], parts[1]))
    if not pairs:
        raise InputError(f"{Path(run_dir) / SCORES}: no scores of a pair: the experiment scored "
                         "nothing (run it again)")
    return sorted(pairs)


def report(run_dir: Path, mode: str) -> Results:
    pairs = pairs_scored(run_dir)
    rows = [({"TF": tf, "cell type": cell, "model": row}, f"{tf}.{cell}.{kind}")
            for tf, cell in pairs for kind, row in KINDS.items()]
    paper = [{column: NOT_AVAILABLE for column in METRICS.values()} if mode == "full" else {}
             for _ in rows]
    table = score_table(run_dir, rows, paper)
    models = sorted(p.name for p in (Path(run_dir) / MODELS).iterdir() if p.is_dir())
    notes = [
        "Per pair: the original's single-task recipe for the TF trained on its reference cell "
        "types, the multi-task model trained on one cell type, both predicting the test cell "
        "type's test regions, and their rank average (ffn-bag); every submission scored against "
        "the final-round labels, ambiguous bins left out (ffn-evaluate). Recipes and their "
        "sources: experiments/lib_factornet.sh.",
        "",
        "The original's final submissions bagged two models per TF (its models/README.md): the "
        "single-task and the multi-task model for FOXA1, FOXA2 and HNF4A, two single-task models "
        "for the other TFs. Our rank-average rows bag our single-task and multi-task models for "
        "every TF.",
        "",
        ("Paper columns: the paper's Table 1 (FactorNet's final-round figures per pair) could "
         "not be consulted where this was written (only the abstracts of PMC6708499 and bioRxiv "
         "151274 were reachable), so they read 'not available here' rather than quote a number."
         if mode == "full" else
         "Demo mode: the demo data's pairs have no paper figures (the paper columns are empty)."),
        "",
        "Models:",
        "",
        *[f"- {training_note(read_model(run_dir, name))}" for name in models],
    ]
    labelled = table.assign(label=[f"{tf}/{cell} {model}" for tf, cell, model in
                                   table[["TF", "cell type", "model"]].itertuples(index=False)])
    figures = {"scores.png": lambda: plot_scores(labelled, "label", "Final round: test cell types")}
    return Results("FactorNet, ENCODE-DREAM final round (Table 1)", table, notes, figures)
