"""An experiment's results: one table (TSV + Markdown), its figures (PNG) and the run record."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..errors import InputError
from ..runs.outputs import check_outputs, recorded_outputs
from ..runs.record import RunRecord

#: where an experiment's run folder keeps the command lines its script ran (one per line)
COMMANDS_LOG = "commands.log"
#: experiment script modes
MODES = ("demo", "full")
PAPERS = ("factornet", "fiddle")


@dataclass
class Results:
    """What an experiment found: ``table`` (one row per model/setting; the paper's figures in
    columns beside ours), ``notes`` (Markdown lines under the table), ``figures`` (PNG file
    name -> a function returning the matplotlib figure)."""

    title: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Callable[[], "matplotlib.figure.Figure"]] = field(default_factory=dict)


def format_cell(value) -> str:
    """A table cell: floats to 4 significant digits, missing values as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a GitHub-flavoured Markdown pipe table (index not shown)."""
    rows = [[str(c) for c in table.columns]]
    rows += [[format_cell(v).replace("|", "\\|") for v in row]
             for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in table.columns) + "|")
    return "\n".join(lines)


def markdown(results: Results, experiment: str, mode: str) -> str:
    """The Markdown page of an experiment's results."""
    parts = [f"# {results.title}", "",
             f"Experiment `{experiment}`, {mode} mode"
             + (" (the demo data: figures show the flow, not the paper's numbers)."
                if mode == "demo" else "."),
             "", markdown_table(results.table), ""]
    parts += [*results.notes, ""] if results.notes else []
    parts += [f"![{name}]({name})" for name in results.figures]
    return "\n".join(parts).rstrip() + "\n"


def experiment_module(experiment: str) -> str:
    """``paper/name`` -> the module of its report, ``experiments.<paper>_<name>`` (``-`` as ``_``)."""
    paper, _, name = experiment.partition("/")
    return f"{paper}_{name.replace('-', '_')}"


def known_experiments() -> list[str]:
    """Every experiment, as ``paper/name``: the modules ``<paper>_<name>`` that define ``report``
    (the others are helpers they share)."""
    here = Path(__file__).parent
    names = []
    for path in sorted(here.glob("*_*.py")):
        paper, name = path.stem.split("_", 1)
        if paper in PAPERS and hasattr(importlib.import_module(f"{__package__}.{path.stem}"),
                                       "report"):
            names.append(f"{paper}/{name.replace('_', '-')}")
    return names


def report_function(experiment: str) -> Callable[[Path, str], Results]:
    """``paper/name`` -> its report function, ``report(run_dir, mode)`` of its module."""
    if experiment not in known_experiments():
        raise InputError(f"unknown experiment {experiment!r}: one of "
                         f"{', '.join(known_experiments())}", setting="experiment")
    return importlib.import_module(f"{__package__}.{experiment_module(experiment)}").report


def write_results(experiment: str, run_dir: str | Path, mode: str,
                  overwrite: bool = False) -> Results:
    """Make the report of ``experiment`` from its run folder and write ``results.tsv``,
    ``results.md``, its figures and ``run.json`` (the mode and the commands the script ran, from
    ``commands.log``) into ``run_dir``; earlier results there only with ``overwrite``."""
    run_dir = Path(run_dir)
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}: one of {', '.join(MODES)}", setting="mode")
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder", setting="run_dir")
    names = ["results.tsv", "results.md"]
    check_outputs([run_dir / name for name in names], overwrite)  # before the report's work
    results = report_function(experiment)(run_dir, mode)
    log = run_dir / COMMANDS_LOG
    commands = log.read_text().splitlines() if log.exists() else []
    record = RunRecord("experiment", {"experiment": experiment, "mode": mode,
                                      "run_dir": str(run_dir.resolve())},
                       commands=commands, rows=len(results.table))
    names += list(results.figures)
    with recorded_outputs([run_dir / name for name in names], record, overwrite=overwrite,
                          record_at=run_dir / "run.json") as tmps:
        results.table.to_csv(tmps[0], sep="\t", index=False, na_rep="NA", float_format="%.6g")
        tmps[1].write_text(markdown(results, experiment, mode))
        for draw, tmp in zip(results.figures.values(), tmps[2:]):
            figure = draw()
            figure.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
            figure.clf()
    return results
