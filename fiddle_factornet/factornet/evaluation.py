"""Scoring ENCODE-DREAM submissions against labels, the challenge's way, and bagging submissions.

A submission (prediction) file is a gzipped or plain TSV without header: ``chrom start end
probability``, one row per bin, every probability in [0, 1]; they are written in scientific
notation with :data:`SCORE_DIGITS` significant digits (enough for every float32 to come back as
itself; the original wrote 4, ``float_format='%.3e'``, which ``score_digits=4`` restores). Labels
are either an ENCODE-DREAM label file (header ``chr start stop <cell type>...``, one B/U/A letter
per bin and cell type) or a BED ``chrom start end 0/1``.
Rows are matched by their coordinates, never by position: both files must hold the same rows, each
once (the challenge's scorer paired rows by position and could misalign silently). Ambiguous (A)
bins are left out of the scores; B counts as bound (1), U as unbound (0).

The figures are those of the challenge's leaderboard: auROC, auPR as R PRROC's
``auc.davis.goadrich`` (what the challenge reported), the recall at 50 %, 25 %, 10 % and 5 % FDR,
plus scikit-learn's average precision. Every metric takes ``labels`` (n,) 0/1 or bool and
``scores`` (n,) float; bins with equal scores count as one threshold (ties grouped).

Bagging (:func:`bag_submissions`) rank-averages submissions for the same regions; a bin that
scores 0 in every submission (a blacklisted bin) stays 0. The bagged scores can be written as a
submission and/or as browser tracks (bigWig, bedGraph) by the rule of :mod:`~.prediction_tracks`.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..runs.outputs import check_outputs, recorded_outputs, safe_output, safe_outputs
from ..runs.record import RECORD_NAME, RunRecord, absolute
from ..data.files import GZIP_ERRORS, compression, gzip_error, open_text, require_file
from ..data.genome import ChromSizes, load_chrom_sizes, prefix_hint
from ..data.intervals import header_line_count
from ..data.tables import MAX_SIGNIFICANT, format_rows, scientific
from .prediction_tracks import score_tracks

logger = logging.getLogger(__name__)

#: the false discovery rates of the challenge's "recall at FDR" figures
FDRS = (0.5, 0.25, 0.1, 0.05)
#: the label file's letter -> label value (ambiguous bins are -1 and left out of the scores)
LABEL_OF_LETTER = {"B": 1, "U": 0, "A": -1}
LABEL_HEADER = ["chr", "start", "stop"]
#: significant digits of a submission's probabilities: 9 round-trip every float32 (the original: 4)
SCORE_DIGITS = 9
_COORDINATES = {0: "category", 1: np.int64, 2: np.int64}


# ---------------------------------------------------------------------------------------------
# reading and writing


def _read_columns(path: Path, usecols: Sequence[int], dtypes: dict, skip: int,
                  what: str) -> pd.DataFrame:
    """Columns ``usecols`` of a headerless TSV (plain or gzipped) after ``skip`` lines, as a table
    with columns ``chrom`` (categorical), ``start``, ``end`` (int64) and a fourth column ``value``;
    every row needs a chromosome name and ``0 <= start <= end``."""
    try:
        table = pd.read_csv(path, sep="\t", header=None, usecols=list(usecols), dtype=dtypes,
                            skiprows=skip, engine="c", index_col=False,
                            compression=compression(path))
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: no rows") from None
    except GZIP_ERRORS as error:
        raise gzip_error(path, error) from None
    except (ValueError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: not a {what} file "
                         f"({str(error).strip().splitlines()[-1]})") from None
    table.columns = ["chrom", "start", "end", "value"]
    start, end = table["start"].to_numpy(), table["end"].to_numpy()
    bad = (table["chrom"].cat.codes.to_numpy() < 0) | (start < 0) | (end < start)
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(f"{path}: line {skip + row + 1}: expected a chromosome name and "
                         f"0 <= start <= end, found {_row_name(table, row)}")
    return table


def _row_name(table: pd.DataFrame, row: int) -> str:
    """``chrom:start-end`` of a table's row (by position)."""
    return f"{table['chrom'].iloc[row]}:{table['start'].iloc[row]}-{table['end'].iloc[row]}"


def read_submission(path: str | os.PathLike) -> pd.DataFrame:
    """A submission file (``chrom start end probability``, no header; plain or gzipped).

    Returns a table of n rows in file order: ``chrom`` (categorical), ``start``, ``end`` (int64),
    ``score`` (float64). A score that is missing, not a number, infinite or outside [0, 1] is
    refused, naming the line, the row and the value.
    """
    path = require_file(path, "prediction file")
    skip = header_line_count(path)
    table = _read_columns(path, range(4), {**_COORDINATES, 3: np.float64}, skip,
                          "submission (chrom, start, end, probability)")
    table = table.rename(columns={"value": "score"})
    score = table["score"].to_numpy()
    outside = ~((score >= 0) & (score <= 1))  # NaN included
    if outside.any():
        row = int(np.argmax(outside))
        problem = ("the score is missing or not a number" if np.isnan(score[row]) else
                   f"score {float(score[row])!r} is not a probability in [0, 1]")
        raise InputError(f"{path}: line {skip + row + 1}: {_row_name(table, row)}: {problem}")
    return table


def read_labels(path: str | os.PathLike, cell_type: str | None = None) -> pd.DataFrame:
    """Labels from an ENCODE-DREAM label file or a BED of 0/1 labels (plain or gzipped).

    A label file (header ``chr start stop <cell type>...``) gives the column of ``cell_type``
    (which may be left out when the file has one cell type) as 1 for B, 0 for U and -1 for A; a BED
    (no header) ``chrom start end label`` gives its 0/1 labels.

    Returns a table of n rows in file order: ``chrom`` (categorical), ``start``, ``end`` (int64),
    ``label`` (int8).
    """
    path = require_file(path, "label file")
    with open_text(path) as handle:
        header = handle.readline().rstrip("\r\n").split("\t")
    if header[:3] != LABEL_HEADER:
        if cell_type is not None:
            raise InputError(f"{path}: a BED of 0/1 labels has no cell types; leave out the cell "
                             f"type ({cell_type!r})")
        table = _read_columns(path, range(4), {**_COORDINATES, 3: np.int64}, header_line_count(path),
                              "BED label (chrom, start, end, 0/1)")
        bad = (table["value"].to_numpy() != 0) & (table["value"].to_numpy() != 1)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"{path}: {_row_name(table, row)}: label "
                             f"{table['value'].iloc[row]} is not 0 or 1")
        return table.rename(columns={"value": "label"}).astype({"label": np.int8})
    column = _cell_type_column(path, header[3:], cell_type)
    table = _read_columns(path, [0, 1, 2, column], {**_COORDINATES, column: "category"}, 1,
                          "label (chr, start, stop, B/U/A letters)")
    letters = table["value"].cat
    unknown = 2  # also the value of code -1: a missing letter
    values = np.array([LABEL_OF_LETTER.get(letter, unknown) for letter in letters.categories]
                      + [unknown], np.int8)
    label = values[letters.codes]
    bad = label == unknown
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(f"{path}: {_row_name(table, row)}: label {table['value'].iloc[row]!r} is "
                         "not B, U or A")
    return table.drop(columns="value").assign(label=label)


def _cell_type_column(path: Path, cell_types: list[str], cell_type: str | None) -> int:
    """The column (0-based) of ``cell_type`` in a label file whose header lists ``cell_types``."""
    if not cell_types:
        raise InputError(f"{path}: no cell-type column after 'chr start stop'")
    if cell_type is None:
        if len(cell_types) > 1:
            raise InputError(f"{path}: choose the cell type to score among {', '.join(cell_types)}")
        return 3
    if cell_type not in cell_types:
        raise InputError(f"{path}: no cell type {cell_type!r} (the file has "
                         f"{', '.join(cell_types)})")
    return 3 + cell_types.index(cell_type)


def check_score_digits(score_digits: int) -> int:
    """``score_digits`` if it is a number of significant digits the submission writer can write
    (1..17), else an InputError about the setting."""
    if (isinstance(score_digits, bool) or not isinstance(score_digits, (int, np.integer))
            or not 1 <= score_digits <= MAX_SIGNIFICANT):
        raise InputError(f"score digits must be a whole number from 1 to {MAX_SIGNIFICANT} "
                         f"(9 keeps every float32 score), not {score_digits!r}",
                         setting="score_digits")
    return int(score_digits)


def write_submission(path: str | os.PathLike, chrom, start, end, score,
                     overwrite: bool = False, chunk_rows: int = 1 << 20,
                     score_digits: int = SCORE_DIGITS) -> int:
    """Write a submission file: gzipped TSV ``chrom start end probability``, no header.

    ``chrom`` (n,) names (str, or a pandas Categorical), ``start``, ``end`` (n,) int, ``score`` (n,)
    float in [0, 1], written in scientific notation with ``score_digits`` significant digits
    (``'%.8e'`` for 9; the original's 4 is ``'%.3e'``), rows in the given order; written safely
    (:func:`~fiddle_factornet.runs.outputs.safe_output`). Returns n.
    """
    check_score_digits(score_digits)
    with safe_output(path, overwrite) as tmp:
        return _write_submission_rows(tmp, path, chrom, start, end, score, chunk_rows,
                                      score_digits)


def _write_submission_rows(tmp: Path, path, chrom, start, end, score, chunk_rows: int,
                           score_digits: int) -> int:
    names = pd.Categorical(chrom)
    name_bytes = np.asarray(names.categories, dtype=str).astype("S")
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    outside = ~((score >= 0) & (score <= 1))
    if outside.any():
        row = int(np.argmax(outside))
        raise InputError(f"{path}: {names[row]}:{start[row]}-{end[row]}: score {score[row]} is not "
                         "a probability in [0, 1]")
    with gzip.open(tmp, "wb", compresslevel=4) as out:
        for lo in range(0, len(score), chunk_rows):
            part = slice(lo, lo + chunk_rows)
            out.write(format_rows([name_bytes[names.codes[part]], start[part], end[part],
                                   scientific(score[part], score_digits)]))
    logger.info("wrote %s: %d rows", path, len(score))
    return len(score)


# ---------------------------------------------------------------------------------------------
# matching rows by coordinates


def _row_keys(first: pd.DataFrame, second: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per row of each table, equal exactly when (chrom, start, end) are equal:
    (n_first,) and (n_second,)."""
    names = first["chrom"].cat.categories.union(second["chrom"].cat.categories)
    tables = (first, second)
    chrom = [names.get_indexer(t["chrom"].cat.categories)[t["chrom"].cat.codes] for t in tables]
    start = [t["start"].to_numpy() for t in tables]
    length = [t["end"].to_numpy() - t["start"].to_numpy() for t in tables]
    n_starts = max(int(s.max(initial=0)) for s in start) + 1
    n_lengths = max(int(w.max(initial=0)) for w in length) + 1
    if len(names) * n_starts * n_lengths < 2 ** 63:  # Python ints: no overflow
        keys = []
        for c, s, w in zip(chrom, start, length):
            key = c * n_starts  # int64: get_indexer gives intp
            key += s
            key *= n_lengths
            key += w
            keys.append(key)
        return keys[0], keys[1]
    # too wide to pack: number the distinct (chrom, start, length) triples instead
    columns = [np.concatenate(column) for column in (chrom, start, length)]
    order = np.lexsort(columns[::-1])
    changed = np.zeros(len(order), dtype=bool)
    changed[:1] = True
    for column in columns:
        ordered = column[order]
        changed[1:] |= ordered[1:] != ordered[:-1]
    keys = np.empty(len(order), np.int64)
    keys[order] = np.cumsum(changed) - 1
    return keys[:len(first)], keys[len(first):]


def match_rows(first: pd.DataFrame, second: pd.DataFrame, first_name: str | os.PathLike,
               second_name: str | os.PathLike) -> np.ndarray:
    """For each row of ``first``, the row of ``second`` at the same (chrom, start, end).

    Both tables (``chrom`` categorical, ``start``, ``end``) must hold the same rows, each once; a
    row listed twice, or a row of one without a row in the other, is an InputError naming the
    file and the first such row in file order. Returns (len(first),) int64 positions in ``second``.
    """
    keys = _row_keys(first, second)
    orders = [np.argsort(key) for key in keys]
    ordered = [key[order] for key, order in zip(keys, orders)]
    for table, name, key, order in zip((first, second), (first_name, second_name), ordered, orders):
        repeated = key[1:] == key[:-1]
        if repeated.any():
            row = int(np.minimum(order[1:][repeated], order[:-1][repeated]).min())
            raise InputError(f"{name}: {_row_name(table, row)} is listed more than once")
    if not np.array_equal(*ordered):
        for table, name, key, other_key, other_name in (
                (first, first_name, keys[0], keys[1], second_name),
                (second, second_name, keys[1], keys[0], first_name)):
            missing = ~np.isin(key, other_key)
            if missing.any():
                raise InputError(f"{name}: {_row_name(table, int(np.argmax(missing)))} has no row "
                                 f"in {other_name}")
    index = np.empty(len(first), np.int64)
    index[orders[0]] = orders[1]
    return index


def restrict_chroms(table: pd.DataFrame, chroms: Sequence[str],
                    name: str | os.PathLike) -> pd.DataFrame:
    """The rows of ``table`` on ``chroms`` (renumbered from 0); each of ``chroms`` must have rows."""
    keep = table["chrom"].isin(chroms).to_numpy()
    table = table[keep].reset_index(drop=True)
    absent = sorted(set(chroms) - set(table["chrom"].unique()))
    if absent:
        raise InputError(f"{name}: no rows on {', '.join(absent)}")
    return table


# ---------------------------------------------------------------------------------------------
# metrics


@dataclass(frozen=True)
class ScoreCurve:
    """The points of the ROC and PR curves: one per distinct score, highest score first.

    ``tp``, ``fp``: (k,) int64, the numbers of positives and negatives scoring at least each
    distinct score (so bins with equal scores enter together). ``tp[-1]`` = P, ``fp[-1]`` = N.
    """

    tp: np.ndarray
    fp: np.ndarray

    @classmethod
    def of(cls, labels, scores) -> "ScoreCurve":
        """The curve of ``labels`` (n,) 0/1 or bool and ``scores`` (n,) float.

        NaN scores, labels other than 0/1, and labels without positives or negatives (where the
        metrics are undefined) are InputErrors.
        """
        labels = np.asarray(labels)
        scores = np.asarray(scores, dtype=np.float64)
        if labels.ndim != 1 or labels.shape != scores.shape:
            raise InputError(f"labels {labels.shape} and scores {scores.shape} must be two (n,) "
                             "arrays")
        nan = np.isnan(scores)
        if nan.any():
            raise InputError(f"score {int(np.argmax(nan))} (counting from 0) is NaN")
        bad = (labels != 0) & (labels != 1)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"label {row} (counting from 0) is {labels[row]}, not 0 or 1")
        positives = int(np.count_nonzero(labels))
        for count, kind in ((positives, "positive (bound)"), (len(labels) - positives,
                                                              "negative (unbound)")):
            if count == 0:
                raise InputError(f"no {kind} bins among the {len(labels)} scored: auROC and auPR "
                                 "are undefined")
        order = np.argsort(scores)[::-1]
        ordered = scores[order]
        last = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))
        tp = np.cumsum(labels[order], dtype=np.int64)[last]
        return cls(tp, last + 1 - tp)

    @property
    def positives(self) -> int:
        return int(self.tp[-1])

    @property
    def negatives(self) -> int:
        return int(self.fp[-1])

    def precision(self) -> np.ndarray:
        """(k,) TP / (TP + FP) at each point."""
        return self.tp / (self.tp + self.fp)

    def auroc(self) -> float:
        """Area under the ROC curve: trapezoids through (0, 0) and every point (FP/N, TP/P).

        Tied scores form one diagonal step, so this is the Mann-Whitney probability with ties
        counted half, as ``sklearn.metrics.roc_auc_score``; summed in integers (exact) before the
        one division.
        """
        twice_area = np.sum(np.diff(self.fp, prepend=0) * (self.tp + np.append(0, self.tp[:-1])))
        return float(twice_area) / (2 * self.positives * self.negatives)

    def aupr(self) -> float:
        """Area under the PR curve as R PRROC's ``auc.davis.goadrich`` (the challenge's auPR).

        Points i = 1..k as in :class:`ScoreCurve`, with recall r_i = TP_i / P and precision p_i:

        - the first point adds the rectangle r_1 * p_1 (from recall 0 at precision p_1);
        - a later point whose step from the previous one, (TP_a, FP_a) -> (TP_b, FP_b), gains
          more than one positive (TP_b - TP_a > 1) and changes the precision is interpolated as
          Davis & Goadrich (2006): for x = 0 .. TP_b - TP_a, precision(x) = (TP_a + x) /
          (TP_a + x + FP_a + x (FP_b - FP_a) / (TP_b - TP_a)) at recall (TP_a + x) / P, and the
          area is the sum of the trapezoids between consecutive x;
        - every other point adds the trapezoid (r_b - r_a) (p_a + p_b) / 2 (zero when no positive
          is gained).

        Precisions are compared exactly (TP_b (TP_a + FP_a) != TP_a (TP_b + FP_b)); PRROC compares
        the divided values, which gives the same areas (an interpolation between equal precisions
        is flat). The interpolation adds at most P points, all built at once.
        """
        tp, fp = self.tp, self.fp
        precision = self.precision()
        tp_prev, fp_prev = np.append(0, tp[:-1]), np.append(0, fp[:-1])
        steps = tp - tp_prev
        curved = (steps > 1) & (tp * (tp_prev + fp_prev) != tp_prev * (tp + fp))
        curved[0] = False
        # straight segments, and the two half-weighted ends of each interpolated one
        ends = np.where(curved, 1, steps)[1:] * (precision[1:] + precision[:-1]) / 2
        # the interpolated points strictly inside the curved segments: x = 1 .. steps - 1
        inner = steps[curved] - 1
        segment = np.repeat(np.flatnonzero(curved), inner)
        x = np.arange(len(segment)) - np.repeat(np.cumsum(inner) - inner, inner) + 1
        slope = (fp - fp_prev)[segment] / steps[segment]
        interior = (tp_prev[segment] + x) / (tp_prev[segment] + x + fp_prev[segment] + slope * x)
        return float(steps[0] * precision[0] + ends.sum() + interior.sum()) / self.positives

    def average_precision(self) -> float:
        """sum over points of (r_i - r_(i-1)) p_i with r_0 = 0: the step-wise area under the PR
        curve, as ``sklearn.metrics.average_precision_score``."""
        return float(np.sum(np.diff(self.tp, prepend=0) * self.precision())) / self.positives

    def recall_at_fdr(self, fdrs: Sequence[float] = FDRS) -> dict[float, float]:
        """For each FDR, the largest recall among the points whose FDR (FP / (TP + FP), i.e.
        1 - precision) is at most it; 0 where there is none. Points only, no interpolation."""
        fdr = self.fp / (self.tp + self.fp)
        return {f: float(self.tp[fdr <= f].max(initial=0)) / self.positives for f in fdrs}


def auroc(labels, scores) -> float:
    """Area under the ROC curve of ``labels`` (n,) 0/1 and ``scores`` (n,) (see ScoreCurve.auroc)."""
    return ScoreCurve.of(labels, scores).auroc()


def aupr(labels, scores) -> float:
    """The challenge's auPR (PRROC's Davis-Goadrich area; see ScoreCurve.aupr): (n,), (n,)."""
    return ScoreCurve.of(labels, scores).aupr()


def average_precision(labels, scores) -> float:
    """scikit-learn's average precision of (n,) 0/1 labels and (n,) scores."""
    return ScoreCurve.of(labels, scores).average_precision()


def recall_at_fdr(labels, scores, fdrs: Sequence[float] = FDRS) -> dict[float, float]:
    """Recall at each FDR of (n,) 0/1 labels and (n,) scores (see ScoreCurve.recall_at_fdr)."""
    return ScoreCurve.of(labels, scores).recall_at_fdr(fdrs)


@dataclass(frozen=True)
class Evaluation:
    """The challenge's figures for one submission."""

    n_bins: int
    n_positive: int
    positive_rate: float
    auroc: float
    aupr: float  # Davis-Goadrich, as the challenge
    average_precision: float
    recall_at_fdr: dict[float, float]

    @classmethod
    def of(cls, labels, scores) -> "Evaluation":
        """Every figure of ``labels`` (n,) 0/1 and ``scores`` (n,), from one sort."""
        curve = ScoreCurve.of(labels, scores)
        n_bins = curve.positives + curve.negatives
        return cls(n_bins, curve.positives, curve.positives / n_bins, curve.auroc(), curve.aupr(),
                   curve.average_precision(), curve.recall_at_fdr())

    def record(self) -> dict[str, int | float]:
        """The figures as one flat row: ``recall_at_fdr`` becomes ``recall_at_fdr_0.5`` etc."""
        row = asdict(self)
        row.update({f"recall_at_fdr_{fdr}": value for fdr, value in row.pop("recall_at_fdr").items()})
        return row

    def table(self) -> str:
        """The figures as aligned, readable lines."""
        lines = [("bins", f"{self.n_bins:,}"), ("positives", f"{self.n_positive:,}"),
                 ("positive rate", f"{self.positive_rate:.4f}"), ("auROC", f"{self.auroc:.4f}"),
                 ("auPR", f"{self.aupr:.4f}"),
                 ("average precision", f"{self.average_precision:.4f}")]
        lines += [(f"recall at {fdr:.0%} FDR", f"{value:.4f}")
                  for fdr, value in self.recall_at_fdr.items()]
        return "\n".join(f"{name:<20}{value:>12}" for name, value in lines)


def evaluate(predictions: str | os.PathLike, labels: str | os.PathLike,
             cell_type: str | None = None, chroms: Sequence[str] | None = None) -> Evaluation:
    """Score a submission file against a label file (see :func:`read_labels`).

    With ``chroms``, both files are first restricted to those chromosomes (each must have rows in
    both). Rows are matched by coordinates (:func:`match_rows`); ambiguous bins are left out.
    """
    submission = read_submission(predictions)
    truth = read_labels(labels, cell_type)
    if chroms:
        submission = restrict_chroms(submission, chroms, predictions)
        truth = restrict_chroms(truth, chroms, labels)
    label = truth["label"].to_numpy()[match_rows(submission, truth, predictions, labels)]
    scored = label >= 0
    logger.info("%s: %d bins matched in %s, %d ambiguous left out", predictions, len(label), labels,
                len(label) - int(np.count_nonzero(scored)))
    return Evaluation.of(label[scored], submission["score"].to_numpy()[scored])


def evaluation_outputs(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """The two outputs of :func:`write_evaluation`: ``PREFIX.tsv`` and ``PREFIX.json``."""
    return Path(f"{prefix}.tsv"), Path(f"{prefix}.json")


def write_evaluation(prefix: str | os.PathLike, evaluation: Evaluation, overwrite: bool = False,
                     record: RunRecord | None = None,
                     inputs: Sequence[str | os.PathLike] = ()) -> None:
    """Write ``PREFIX.tsv`` (a header and one row of figures) and ``PREFIX.json`` (the same
    figures), and with ``record`` the run record ``PREFIX.run.json``; all or none of them appear,
    and none when one exists and ``overwrite`` is false."""
    outputs = evaluation_outputs(prefix)
    row = evaluation.record()
    with (recorded_outputs(outputs, record, overwrite, inputs, f"{prefix}.{RECORD_NAME}")
          if record is not None else safe_outputs(outputs, overwrite, inputs)) as (tsv, summary):
        tsv.write_text("\t".join(row) + "\n" + "\t".join(map(str, row.values())) + "\n")
        summary.write_text(json.dumps(row, indent=1) + "\n")


def score_submission(predictions: str | os.PathLike, labels: str | os.PathLike,
                     cell_type: str | None = None, chroms: Sequence[str] | None = None,
                     output: str | os.PathLike | None = None,
                     overwrite: bool = False) -> Evaluation:
    """:func:`evaluate`, and with ``output`` its figures written to ``output``.tsv/.json with the
    run record (the outputs are checked before any scoring)."""
    if output is None:
        return evaluate(predictions, labels, cell_type, chroms)
    record = RunRecord("factornet evaluation", {
        "predictions": absolute(predictions), "labels": absolute(labels), "cell_type": cell_type,
        "chroms": list(chroms) if chroms else None, "output": absolute(output),
        "overwrite": overwrite})
    inputs = [predictions, labels]
    check_outputs([*evaluation_outputs(output), f"{output}.{RECORD_NAME}"], overwrite, inputs)
    evaluation = evaluate(predictions, labels, cell_type, chroms)
    write_evaluation(output, evaluation, overwrite, record, inputs)
    return evaluation


# ---------------------------------------------------------------------------------------------
# bagging


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of ``values`` (n,), tied values sharing their mean rank: (n,) float64."""
    values = np.asarray(values)
    order = np.argsort(values)
    ordered = values[order]
    first = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1]))
    after = np.append(first[1:], len(values))
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.repeat((first + after + 1) / 2, after - first)
    return ranks


def rank_average(scores: Sequence[np.ndarray]) -> np.ndarray:
    """Bag m score arrays for the same n rows: each (n,) array becomes its average ranks
    (:func:`average_ranks`), the ranks are averaged over the m arrays and rescaled to [0, 1] as
    (mean rank - 1) / (n - 1); a single row gets 0.5. Returns (n,) float64.

    A row that scores exactly 0 in every array (a blacklisted bin, which every model's submission
    sets to 0) comes out as exactly 0, as the challenge's format wants; every other row keeps its
    rescaled mean rank, which is above that of the all-zero rows (with probabilities, 0 ranks
    lowest in every array), so the order is unchanged and only all-zero rows are 0.
    """
    mean = np.mean([average_ranks(s) for s in scores], axis=0)
    if len(mean) == 1:
        bagged = np.full(1, 0.5)
    else:
        bagged = (mean - 1) / (len(mean) - 1)
    bagged[np.logical_and.reduce([np.asarray(s) == 0 for s in scores])] = 0.0
    return bagged


def bag_submissions(paths: Sequence[str | os.PathLike], output: str | os.PathLike | None,
                    overwrite: bool = False, score_digits: int = SCORE_DIGITS,
                    bigwig: str | os.PathLike | None = None,
                    bedgraph: str | os.PathLike | None = None,
                    genome: str | os.PathLike | None = None) -> int:
    """Rank-average submission files of the same regions (:func:`rank_average`) into a new one
    and/or browser tracks.

    The files must hold the same rows (matched by coordinates, as :func:`match_rows`); the output
    keeps the first file's row order. A bin scoring 0 in every file (blacklisted) stays 0; the
    others get their rescaled mean rank, written with ``score_digits`` significant digits (see
    :func:`write_submission`). ``output`` None writes no submission; ``bigwig`` / ``bedgraph``
    write the bagged scores as tracks (:mod:`~.prediction_tracks`; the bedGraph gzipped when its
    name ends in .gz), which need the chromosome sizes of ``genome`` (chrom.sizes, .fai or FASTA).
    Returns the number of rows.
    """
    check_score_digits(score_digits)
    named = {name: path for name, path in (("output", output), ("bigwig", bigwig),
                                           ("bedgraph", bedgraph)) if path is not None}
    if not named:
        raise InputError("nothing to write: give the bagged submission, a bigWig or a bedGraph",
                         setting="output")
    sizes = None
    if bigwig is not None or bedgraph is not None:
        if genome is None:
            raise InputError("a track needs the genome's chromosome sizes", setting="genome")
        sizes = load_chrom_sizes(genome)
    record = RunRecord("factornet bagging", {
        "input_files": [absolute(p) for p in paths], "output": absolute(output),
        "bigwig": absolute(bigwig), "bedgraph": absolute(bedgraph), "genome": absolute(genome),
        "overwrite": overwrite, "score_digits": score_digits})
    with recorded_outputs(list(named.values()), record, overwrite, [*paths, genome]) as tmps:
        tmp = dict(zip(named, tmps))
        first = read_submission(paths[0])
        scores = [first["score"].to_numpy()]
        for path in paths[1:]:
            other = read_submission(path)
            scores.append(other["score"].to_numpy()[match_rows(first, other, paths[0], path)])
        logger.info("bagging %d files of %d rows", len(paths), len(first))
        bagged = rank_average(scores)
        if "output" in tmp:
            _write_submission_rows(tmp["output"], output, first["chrom"], first["start"],
                                   first["end"], bagged, 1 << 20, score_digits)
        with score_tracks(sizes, tmp.get("bigwig"), tmp.get("bedgraph"), score_digits,
                          str(bedgraph).endswith(".gz")) as tracks:
            if tracks is not None:
                tracks.add(_chrom_ids(first, sizes, paths[0]), first["start"].to_numpy(),
                           first["end"].to_numpy(), bagged)
    return len(first)


def _chrom_ids(table: pd.DataFrame, sizes: ChromSizes, name: str | os.PathLike) -> np.ndarray:
    """(n,) the index in ``sizes`` of each row's chromosome (``chrom`` categorical); a chromosome
    the genome lacks is an InputError naming the file ``name``."""
    categories = list(table["chrom"].cat.categories)
    for chrom in categories:
        if chrom not in sizes:
            raise InputError(f"{name}: chromosome {chrom!r} is not in the genome "
                             f"({sizes.source}){prefix_hint(chrom, sizes)}")
    return sizes.ids(categories)[table["chrom"].cat.codes.to_numpy()]
