"""The report of ``experiments/factornet/original-models.sh``: the original FactorNet's published
models, each predicting its TF's final-round test cell type, bagged in pairs into submissions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..factornet.evaluation import average_ranks, match_rows, read_submission
from ..fiddle.evaluation import pyplot
from .factornet_scores import METRICS, PREDICTIONS, SCORES, read_scores
from .results import Results

#: the bagged submission of a TF in a cell type: predictions/F.<TF>.<cell type>.tab.gz
SUBMISSION_PREFIX = "F"
SUFFIX = ".tab.gz"
#: the score columns of each model shown beside the submission's
MODEL_METRICS = ("auROC", "auPR")


@dataclass(frozen=True)
class Pair:
    """A TF's submission in a cell type and the predictions of the models it bags (the names of
    predictions/<name>.tab.gz)."""

    tf: str
    cell: str
    models: tuple[str, ...]

    @property
    def submission(self) -> str:
        return f"{SUBMISSION_PREFIX}.{self.tf}.{self.cell}"

    def prediction(self, model: str) -> str:
        return f"{self.tf}.{self.cell}.{model}"


def submitted_pairs(run_dir: Path) -> list[Pair]:
    """The run's submissions F.<TF>.<cell>.tab.gz with the model predictions beside them
    (<TF>.<cell>.<model folder>.tab.gz), sorted by TF and cell type."""
    folder = Path(run_dir) / PREDICTIONS
    names = [p.name[:-len(SUFFIX)] for p in folder.glob(f"*{SUFFIX}")]
    pairs = []
    for name in names:
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != SUBMISSION_PREFIX:
            continue
        tf, cell = parts[1:]
        models = tuple(sorted(n.split(".", 2)[2] for n in names
                              if n.startswith(f"{tf}.{cell}.") and n.count(".") == 2))
        if len(models) < 2:
            raise InputError(f"{folder}: {name}{SUFFIX} bags {len(models)} model prediction(s) "
                             f"({tf}.{cell}.<model>{SUFFIX}): the experiment did not finish "
                             "(run it again)")
        pairs.append(Pair(tf, cell, models))
    if not pairs:
        raise InputError(f"{folder}: no submission {SUBMISSION_PREFIX}.<TF>.<cell type>{SUFFIX}: "
                         "the experiment bagged nothing (run it again)")
    return sorted(pairs, key=lambda p: (p.tf, p.cell))


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rank correlation of two (n,) score arrays (average ranks for ties); NaN when
    either is constant or n < 2."""
    if len(first) < 2:
        return math.nan
    ranks = np.stack([average_ranks(first), average_ranks(second)])
    if (ranks.std(axis=1) == 0).any():
        return math.nan
    return float(np.corrcoef(ranks)[0, 1])


def model_scores(run_dir: Path, pair: Pair) -> tuple[np.ndarray, np.ndarray, int]:
    """The two models' scores of ``pair`` on the same bins, (n,) each, leaving out the bins 0 in
    both (blacklisted: scored 0 by rule, not by the models), and the number of bins in all."""
    folder = Path(run_dir) / PREDICTIONS
    paths = [folder / f"{pair.prediction(model)}{SUFFIX}" for model in pair.models[:2]]
    first, second = (read_submission(path) for path in paths)
    second_scores = second["score"].to_numpy()[match_rows(first, second, *paths)]
    first_scores = first["score"].to_numpy()
    kept = (first_scores != 0) | (second_scores != 0)
    return first_scores[kept], second_scores[kept], len(first)


def report(run_dir: Path, mode: str) -> Results:
    run_dir = Path(run_dir)
    pairs = submitted_pairs(run_dir)
    scored = (run_dir / SCORES / f"{pairs[0].submission}.json").is_file()
    records, agreement = [], {}
    for pair in pairs:
        first, second, n_bins = model_scores(run_dir, pair)
        record = {"TF": pair.tf, "cell type": pair.cell, "model 1": pair.models[0],
                  "model 2": pair.models[1], "bagging": "rank average", "bins": n_bins,
                  "bins scored 0 by both": n_bins - len(first),
                  "Spearman (model 1, model 2)": spearman(first, second)}
        if scored:
            record.update(read_scores(run_dir, pair.submission))
            for i, model in enumerate(pair.models[:2], 1):
                figures = read_scores(run_dir, pair.prediction(model))
                record.update({f"model {i} {column}": figures[column] for column in MODEL_METRICS})
        records.append(record)
        agreement[f"{pair.tf} / {pair.cell}"] = (first, second,
                                                 record["Spearman (model 1, model 2)"])
    table = pd.DataFrame.from_records(records)
    notes = [
        "Each TF's two published models (the original's models/<TF>/, converted) predict the same "
        "bins of the TF's final-round test cell type (ffn-predict, the cell type's folder with "
        "the model's tracks); the two predictions are bagged into the submission "
        f"{SUBMISSION_PREFIX}.<TF>.<cell type>{SUFFIX} (predictions/) by rank average (ffn-bag).",
        "",
        "Bagging: the original's models/README.md says its final submissions were 'either rank "
        "averages or averages of scores from two respective models' without saying which TF got "
        "which; every TF here gets the rank average (ffn-bag, the paper's bagging).",
        "",
        "`Spearman (model 1, model 2)`: the rank correlation of the two models' scores over the "
        "bins either model scores above 0 (`bins scored 0 by both`: near the blacklist, scored 0 "
        "by rule).",
        "",
    ]
    if scored:
        notes += [f"Scores (ffn-evaluate against the labels given, ambiguous bins left out): "
                  f"{', '.join(METRICS.values())} of the bagged submission, and "
                  f"{', '.join(MODEL_METRICS)} of each model's own predictions.", ""]
    else:
        notes += ["No labels were given (--labels): the submissions are not scored.", ""]
    notes.append(
        "Paper: the FactorNet paper's Table 1 scores these models' final-round submissions on "
        "the challenge's test regions; it could not be consulted where this was written, and "
        "these predictions are of other bins, so no paper figure is put beside them."
        if mode == "full" else
        "Demo mode: a synthetic cell type (random tracks, fiddle_factornet.shipped's generator), "
        "so the predictions show the flow, not the models' skill; the paper's figures are not "
        "comparable.")
    figures = {"agreement.png": lambda: _plot_agreement(agreement)}
    return Results("FactorNet's published models: final-round submissions, bagged in pairs",
                   table, notes, figures)


def _plot_agreement(agreement: dict[str, tuple[np.ndarray, np.ndarray, float]]):
    """Per pair, the two models' score ranks (0-1) against each other, as hexagonal bins."""
    plt = pyplot()
    columns = min(4, len(agreement))
    rows = math.ceil(len(agreement) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.8 * rows),
                                squeeze=False)
    for ax, (label, (first, second, rho)) in zip(axes.ravel(), agreement.items()):
        if len(first) > 1:
            scale = len(first) - 1
            ax.hexbin((average_ranks(first) - 1) / scale, (average_ranks(second) - 1) / scale,
                      gridsize=25, bins="log", cmap="Blues", mincnt=1)
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.set_title(f"{label}: Spearman {rho:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(agreement):]:
        ax.axis("off")
    figure.supxlabel("model 1: rank of its score (0-1)", fontsize=8)
    figure.supylabel("model 2: rank of its score (0-1)", fontsize=8)
    figure.tight_layout()
    return figure
