"""FIDDLE's claim that results change only slightly with batch size, learning rate, number and
size of filters: the combined model trained over a grid that varies one factor at a time.

The run folder (``experiments/fiddle/sensitivity.sh``) holds ``grid.tsv`` (the grid run: a
``model`` column names its models, ``default`` the one with the defaults), ``models/<name>/`` and
their evaluations ``eval/<name>.summary.json``. Which factor a model varies is read from its run
record, not from the grid or its name: it must differ from ``default`` in exactly one factor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..fiddle.evaluation import pyplot
from .fiddle_tables import TrainedModel, held_out_windows, plot_learning_curves, settings_note
from .results import Results

DEFAULT = "default"
#: the grid the script ran: a header, then one row per model (its name first)
GRID = "grid.tsv"
#: the factors: name -> its value in a model's run record
FACTORS: dict[str, Callable[[dict], object]] = {
    "batch size": lambda r: r["settings"]["batch_size"],
    "learning rate": lambda r: r["settings"]["learning_rate"],
    "filters": lambda r: (*r["architecture"]["module_filters"],
                          r["architecture"]["scaffold_filters"]),
    "filter width": lambda r: r["architecture"]["kernel_width"],
}
SPREAD = "spread (max − min)"
COLUMNS = ["factor", "value", "bin accuracy %", "mean KL", "epochs (best/run)", "training min",
           "paper"]


def report(run_dir: Path, mode: str) -> Results:
    names = _grid_models(Path(run_dir) / GRID)
    models = {name: TrainedModel.read(run_dir, name) for name in names}
    default = models[DEFAULT]
    windows = held_out_windows(list(models.values()))
    groups = {factor: [default] for factor in FACTORS}
    for model in models.values():
        if model is not default:
            groups[_varied_factor(model, default)].append(model)
    rows, unvaried = [], []
    for factor, members in groups.items():
        members.sort(key=lambda m: FACTORS[factor](m.record))
        cells = [{"factor": factor, "value": _value(factor, m, default), **m.figures()}
                 for m in members]
        rows += cells
        if len(members) == 1:
            unvaried.append(f"{factor} ({cells[0]['value'].removesuffix(' (default)')})")
            continue
        rows.append({"factor": factor, "value": SPREAD,
                     **{c: np.ptp([cell[c] for cell in cells]) for c in ("bin accuracy %",
                                                                         "mean KL")}})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["paper"] = "not available here"
    notes = [f"- {windows:,} held-out windows (the test windows of the models, the same for "
             "every row). One factor varied at a time around the defaults; every model is the "
             f"combined one (inputs {', '.join(default.record['inputs'])}).",
             f"- {settings_note(default)}",
             "- filters: every convolution's filters scaled (the two of each module and the "
             "scaffold's), shown as the factor and the filters (module, module / scaffold).",
             "- Paper: the preprint (Eser & Churchman, bioRxiv 081380, 2016) says its "
             "hyperparameters were not tuned and results were only mildly sensitive to batch "
             "size, learning rate, number and size of filters; it gives no figures per setting: "
             "not available here."]
    if unvaried:
        notes.append(f"- Not varied in this run (only the default): {', '.join(unvaried)}.")
    if mode == "demo":
        notes.append("- Demo mode: synthetic data, small settings and two values per factor; "
                     "few epochs make the spread larger than trained-out models would show.")
    curves = {DEFAULT: default.curve()}
    curves.update({f"{factor} {_value(factor, m, default)}": m.curve()
                   for factor, members in groups.items() for m in members if m is not default})
    return Results("FIDDLE: sensitivity to batch size, learning rate and filters", table, notes,
                   {"sensitivity.png": lambda: _plot_sensitivity(table),
                    "learning_curves.png": lambda: plot_learning_curves(
                        curves, "Learning curves (every setting)")})


def _grid_models(path: Path) -> list[str]:
    """The model names of the grid file (its first column), ``default`` among them."""
    if not path.is_file():
        raise InputError(f"{path}: missing: the experiment did not get this far (run it again)")
    names = [line.split("\t")[0] for line in path.read_text().splitlines()[1:] if line.strip()]
    if DEFAULT not in names:
        raise InputError(f"{path}: no '{DEFAULT}' row: the grid varies one factor at a time "
                         "around the defaults")
    return names


def _varied_factor(model: TrainedModel, default: TrainedModel) -> str:
    """The one factor in which ``model`` differs from ``default``; an InputError otherwise."""
    differ = [f for f, value in FACTORS.items() if value(model.record) != value(default.record)]
    if len(differ) != 1:
        raise InputError(f"{model.folder}: differs from {default.folder.name} in "
                         f"{' and '.join(differ) or 'none of the factors'}: the grid varies one "
                         f"factor ({', '.join(FACTORS)}) at a time")
    return differ[0]


def _value(factor: str, model: TrainedModel, default: TrainedModel) -> str:
    """A model's value of ``factor`` as the table shows it, ``(default)`` marked."""
    value = FACTORS[factor](model.record)
    if factor == "filters":
        scale = value[0] / FACTORS[factor](default.record)[0]
        text = f"×{scale:g} ({','.join(map(str, value[:-1]))} / {value[-1]})"
    else:
        text = f"{value:g}"
    return f"{text} (default)" if model is default else text


def _plot_sensitivity(table: pd.DataFrame):
    """Bin accuracy and mean KL of every setting, one panel per factor varied."""
    settings = table[table["value"] != SPREAD]
    factors = [f for f in dict.fromkeys(settings["factor"]) if (settings["factor"] == f).sum() > 1]
    plt = pyplot()
    figure, axes = plt.subplots(2, len(factors), figsize=(3.2 * len(factors), 5), squeeze=False)
    for column, factor in enumerate(factors):
        rows = settings[settings["factor"] == factor]
        labels = [v.replace(" (default)", "\n(default)") for v in rows["value"]]
        for row, (metric, ylabel) in enumerate((("bin accuracy %", "bin accuracy (%)"),
                                                ("mean KL", "mean KL"))):
            ax = axes[row, column]
            ax.bar(range(len(rows)), rows[metric].astype(float), color=f"C{row}")
            ax.set_xticks(range(len(rows)), labels, fontsize=7)
            ax.set_ylabel(ylabel if column == 0 else "")
            if row == 0:
                ax.set(title=factor, ylim=(0, 100))
    figure.tight_layout()
    return figure
