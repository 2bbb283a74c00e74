"""The report of ``experiments/factornet/nanog-negatives.sh``: FactorNet's Fig. S3 (Quang & Xie
2019), NANOG in iPSC from H1-hESC, multi-task against single-task with 1, 2, 5, 10 negatives."""

from __future__ import annotations

import math
import re
from pathlib import Path

from ..errors import InputError
from .factornet_scores import (METRICS, NOT_AVAILABLE, SCORES, plot_scores, read_model,
                               score_record, score_table, training_note)
from .results import Results

MULTI_TASK = "multi-task"
#: a single-task model's name: single-task.n<negatives per positive>
SINGLE_TASK = re.compile(r"single-task\.n(\d+)")


def negatives_scored(run_dir: Path) -> list[int]:
    """The -n of the single-task models scored in the run folder, ascending."""
    found = sorted(int(match.group(1)) for path in (Path(run_dir) / SCORES).glob("*.json")
                   if (match := SINGLE_TASK.fullmatch(path.name[:-len(".json")])))
    if not found:
        raise InputError(f"{Path(run_dir) / SCORES}: no scores of a single-task model: the "
                         "experiment did not get that far (run it again)")
    return found


def report(run_dir: Path, mode: str) -> Results:
    negatives = negatives_scored(run_dir)
    names = [MULTI_TASK, *(f"single-task.n{n}" for n in negatives)]
    rows = [({"model": name.split(".")[0], "negatives per positive": n}, name)
            for name, n in zip(names, [math.nan, *negatives])]
    paper = [{column: NOT_AVAILABLE for column in METRICS.values()} if mode == "full" else {}
             for _ in rows]
    table = score_table(run_dir, rows, paper)
    tf = read_model(run_dir, names[1]).settings["factor"]
    test = score_record(run_dir, names[0])["settings"]["cell_type"]
    trained = ", ".join(Path(p).name
                        for p in read_model(run_dir, MULTI_TASK).settings["input_dirs"])
    notes = [
        f"{tf} in {test} (its test regions, ambiguous bins left out), every model trained on "
        f"{trained}: the multi-task model (its negatives: as many as positives, drawn with "
        "replacement every epoch; -n does not apply) and the single-task recipe with -n "
        "negatives per positive. Recipes and their sources: experiments/lib_factornet.sh.",
        "",
        ("Paper columns: the paper's Fig. S3 could not be consulted where this was written (only "
         "the abstracts of PMC6708499 and bioRxiv 151274 were reachable), so they read 'not "
         "available here' rather than quote a number." if mode == "full" else
         "Demo mode: a demo TF stands in for NANOG (no paper figures; the paper columns are "
         "empty)."),
        "",
        "Models:",
        "",
        *[f"- {training_note(read_model(run_dir, name))}" for name in names],
    ]
    labelled = table.assign(label=[MULTI_TASK if math.isnan(n) else f"single-task -n {n:g}"
                                   for n in table["negatives per positive"]])
    figures = {"scores.png": lambda: plot_scores(
        labelled, "label", f"{tf} in {test}", columns=list(METRICS.values()))}
    return Results(f"FactorNet, {tf} in {test}: negatives per positive (Fig. S3)", table, notes,
                   figures)
