"""What the FactorNet experiments leave in a run folder, read back for their reports.

The scripts (``experiments/factornet/*.sh``, through ``experiments/lib_factornet.sh``) write:

- ``models/<name>/``: ffn-train model folders (``run.json``, ``history.json``);
- ``predictions/<name>.tab.gz``: ffn-predict and ffn-bag submissions;
- ``scores/<name>.json`` (and ``.tsv``): ffn-evaluate's figures of ``predictions/<name>``.

The API: :func:`read_scores` (one submission's figures), :func:`score_record` (how they were
scored), :func:`score_table` (rows of figures, the paper's beside), :func:`read_model` (a model
folder's record and history), :func:`training_note` (a Markdown line per model),
:func:`plot_scores` (grouped bars).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..errors import InputError
from ..fiddle.evaluation import pyplot

MODELS, PREDICTIONS, SCORES = "models", "predictions", "scores"
#: ffn-evaluate's keys (its ``.json``) -> the column each becomes in a table, in table order
METRICS = {"auroc": "auROC", "aupr": "auPR", "recall_at_fdr_0.5": "recall at 50% FDR",
           "recall_at_fdr_0.1": "recall at 10% FDR"}
#: the paper column's cell where a figure of the paper could not be consulted
NOT_AVAILABLE = "not available here"


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path}: missing: the experiment did not get as far as {what} (run it "
                         "again)")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise InputError(f"{path}: not readable JSON ({error})") from None


def read_scores(run_dir: str | Path, name: str) -> dict[str, float]:
    """The figures ffn-evaluate wrote for ``predictions/<name>``: METRICS' columns -> value."""
    path = Path(run_dir) / SCORES / f"{name}.json"
    figures = _read_json(path, f"scoring {name}")
    missing = [key for key in METRICS if key not in figures]
    if missing:
        raise InputError(f"{path}: no {', '.join(missing)}: not a file ffn-evaluate wrote")
    return {column: float(figures[key]) for key, column in METRICS.items()}


def score_record(run_dir: str | Path, name: str) -> dict[str, Any]:
    """The run record of ffn-evaluate's scoring of ``predictions/<name>`` (its ``settings``:
    predictions, labels, cell_type, ...)."""
    return _read_json(Path(run_dir) / SCORES / f"{name}.run.json", f"scoring {name}")


def score_table(run_dir: str | Path, rows: Sequence[tuple[Mapping[str, str], str]],
                paper: Sequence[Mapping[str, float | str]] | None = None) -> pd.DataFrame:
    """One row per ``(labels, name)``: the label columns, then each figure of ``scores/<name>``;
    with ``paper`` (one mapping per row: column -> the paper's figure, or :data:`NOT_AVAILABLE`;
    absent: NaN), a ``paper <column>`` column beside each of ours."""
    records = []
    for i, (labels, name) in enumerate(rows):
        record = dict(labels)
        for column, value in read_scores(run_dir, name).items():
            record[column] = value
            if paper is not None:
                record[f"paper {column}"] = paper[i].get(column, math.nan)
        records.append(record)
    return pd.DataFrame.from_records(records)


@dataclass(frozen=True)
class TrainedModel:
    """A model folder of the run folder: ``record`` its run.json, ``history`` its history.json
    (Keras' per-epoch logs: ``loss``, ``val_loss``, ..., one value an epoch), ``tracks`` the
    track names of its bigwig.txt."""

    name: str
    record: dict[str, Any]
    history: dict[str, list[float]]
    tracks: tuple[str, ...]

    @property
    def settings(self) -> dict[str, Any]:
        return self.record["settings"]


def read_model(run_dir: str | Path, name: str) -> TrainedModel:
    """The model folder ``models/<name>`` of a run folder."""
    folder = Path(run_dir) / MODELS / name
    record = _read_json(folder / "run.json", f"training {name}")
    history = _read_json(folder / "history.json", f"training {name}")
    tracks = folder / "bigwig.txt"
    return TrainedModel(name, record, history,
                        tuple(tracks.read_text().split()) if tracks.is_file() else ())


def _cell_names(paths: Sequence[str]) -> str:
    return ", ".join(Path(p).name for p in paths)


def training_note(model: TrainedModel) -> str:
    """A Markdown line: what ``model`` was trained on, its settings and how training went."""
    s, a = model.settings, model.record["architecture"]
    task = (f"single-task ({s['factor']})" if s["factor"] else
            f"multi-task ({len(model.record['tfs'])} TFs)")
    valid = _cell_names(s["valid_input_dirs"]) or "the training cell types"
    features = [name for name, on in (("meta", s["meta"]), ("GENCODE", s["annotations_dir"]))
                if on]
    negatives = f", -n {s['negatives']}" if s["factor"] else ""
    return (f"`{model.name}`: {task} on {_cell_names(s['input_dirs'])}, tracks "
            f"{', '.join(model.tracks)}"
            f"{' + ' + ' + '.join(features) if features else ''}; -L {a['input_length']} "
            f"-w {a['kernel_width']} -k {a['kernels']} -r {a['recurrent']} -d {a['dense']} "
            f"-p {a['dropout']}{negatives}; validation on {', '.join(s['valid_chroms'])} of "
            f"{valid}; {model.record['epochs_done']} of {s['epochs']} epochs, best epoch "
            f"{model.record['best_epoch']} (validation loss {model.record['best_val_loss']:.4f}).")


def plot_scores(table: pd.DataFrame, label: str, title: str,
                columns: Sequence[str] = ("auROC", "auPR")):
    """Grouped bars: one group per row of ``table`` (named by its ``label`` column), one bar per
    figure in ``columns``."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(max(4.0, 0.9 * len(table) + 2), 3.5))
    width = 0.8 / len(columns)
    for i, column in enumerate(columns):
        positions = [j + (i - (len(columns) - 1) / 2) * width for j in range(len(table))]
        axes.bar(positions, table[column].astype(float), width, label=column)
    axes.set_xticks(range(len(table)), table[label], rotation=30, ha="right", fontsize=8)
    axes.set(ylim=(0, 1), ylabel="score", title=title)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    figure.tight_layout()
    return figure
