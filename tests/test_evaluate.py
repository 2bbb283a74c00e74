"""Scoring submissions: the challenge's metrics, reading and matching files, bagging."""

import gzip
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

from fiddle_factornet.errors import InputError
from fiddle_factornet.runs.record import RunRecord
from fiddle_factornet.factornet.evaluation import (Evaluation, ScoreCurve, aupr, auroc, average_precision, average_ranks, bag_submissions, evaluate, match_rows, rank_average, read_labels, read_submission, recall_at_fdr, write_evaluation, write_submission)

# --- metrics on hand-computed cases ------------------------------------------------------------

# Case A, a tie and no interpolation. Points (one per distinct score, highest first; P = 2, N = 2):
#   0.9: TP 1 FP 0 -> recall 1/2, precision 1
#   0.8: TP 2 FP 1 -> recall 1,   precision 2/3  (one positive and one negative tied)
#   0.3: TP 2 FP 2 -> recall 1,   precision 1/2
TIES = ([1, 1, 0, 0], [0.9, 0.8, 0.8, 0.3])
# Case B, an interpolated segment (P = 4, N = 2):
#   0.9: TP 1 FP 0 -> precision 1
#   0.5: TP 4 FP 1 -> precision 4/5  (three positives and one negative tied: 3 positives gained)
#   0.1: TP 4 FP 2 -> precision 2/3
CURVED = ([1, 0, 1, 1, 1, 0], [0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
# Case C, a first point of several bins (P = 3, N = 2):
#   0.7: TP 2 FP 1 -> recall 2/3, precision 2/3
#   0.2: TP 3 FP 1 -> recall 1,   precision 3/4
#   0.1: TP 3 FP 2 -> precision 3/5
TOP_TIE = ([1, 1, 0, 1, 0], [0.7, 0.7, 0.7, 0.2, 0.1])
# Case D, two points of equal precision 1/2, two positives apart (P = 3, N = 3):
#   0.9: TP 1 FP 0 -> precision 1
#   0.8: TP 1 FP 1 -> precision 1/2
#   0.5: TP 3 FP 3 -> precision 1/2 (2 positives gained, precision unchanged: a trapezoid)
FLAT = ([1, 0, 1, 1, 0, 0], [0.9, 0.8, 0.5, 0.5, 0.5, 0.5])


def test_aupr_davis_goadrich_by_hand():
    # A: first point rectangle 1/2 * 1; then one positive gained: trapezoid 1/2 * (1 + 2/3) / 2
    # = 5/12; then no positive gained: 0.  Total 1/2 + 5/12 = 11/12.
    assert aupr(*TIES) == pytest.approx(11 / 12, abs=1e-15)
    # B: first point 1/4 * 1.  Then TP 1 -> 4, FP 0 -> 1: x = 0..3, FP grows 1/3 per positive,
    # precision(x) = (1 + x) / (1 + x + x/3) = 1, 6/7, 9/11, 4/5, each step 1/4 of recall:
    # 1/4 * [(1 + 6/7)/2 + (6/7 + 9/11)/2 + (9/11 + 4/5)/2] = 1/4 * (1/2 + 6/7 + 9/11 + 2/5)
    # = 1/4 * 1983/770 = 1983/3080.  Total 770/3080 + 1983/3080 = 2753/3080 (the straight
    # trapezoid would give 1/4 + 3/4 * (1 + 4/5)/2 = 0.925).
    assert aupr(*CURVED) == pytest.approx(2753 / 3080, abs=1e-15)
    # C: the first point gains 2 positives but is a rectangle, not interpolated: 2/3 * 2/3 = 4/9;
    # then 1/3 * (2/3 + 3/4)/2 = 17/72; then 0.  Total 32/72 + 17/72 = 49/72.
    assert aupr(*TOP_TIE) == pytest.approx(49 / 72, abs=1e-15)
    # D: 1/3 * 1, then 0, then 2/3 * (1/2 + 1/2)/2 = 1/3.  Total 2/3.
    assert aupr(*FLAT) == pytest.approx(2 / 3, abs=1e-15)


def test_auroc_and_average_precision_by_hand():
    # A: ROC points (0,0) (0,1/2) (1/2,1) (1,1): 1/2 * (1/2 + 1)/2 + 1/2 * 1 = 7/8; pairs: 3 wins
    # and one tie of 4.  AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    assert auroc(*TIES) == 7 / 8
    assert average_precision(*TIES) == pytest.approx(5 / 6, abs=1e-15)
    # B: pairs (4 positives x 2 negatives): 0.9 beats both (2), each 0.5 positive ties one
    # negative (3 x 1/2) and beats 0.1 (3): 6.5 / 8.  AP = 1/4 * 1 + 3/4 * 4/5 + 0 = 0.85.
    assert auroc(*CURVED) == 6.5 / 8
    assert average_precision(*CURVED) == pytest.approx(0.85, abs=1e-15)


def test_recall_at_fdr_by_hand():
    # B: FDR 0 at recall 1/4, 1/5 at recall 1, 1/3 at recall 1.
    assert recall_at_fdr(*CURVED) == {0.5: 1.0, 0.25: 1.0, 0.1: 0.25, 0.05: 0.25}
    # The top bin is negative: FDR 1 (recall 0), 1/2 (recall 1/2), 2/3, then 1/2 at recall 1:
    # FDR exactly 0.5 counts; below it, no point qualifies.
    assert recall_at_fdr([0, 1, 0, 1], [0.9, 0.5, 0.4, 0.3]) == {0.5: 1.0, 0.25: 0.0, 0.1: 0.0,
                                                                 0.05: 0.0}
    # P = 10: FDR 1/10 = 0.1 exactly at 9 positives and 1 negative (recall 0.9), then 2/11, 1/6
    assert recall_at_fdr([1] * 9 + [0, 0, 1], [1.0] * 10 + [0.5, 0.4], fdrs=(0.1,)) == {0.1: 0.9}


def prroc_davis_goadrich(labels, scores):
    """PRROC 1.3's compute.pr, Davis-Goadrich part (hard labels), transcribed line by line."""
    pairs = sorted(zip(scores, labels), key=lambda pair: -pair[0])
    tp, fp, seen_tp, seen_fp = [], [], 0, 0
    for i, (score, label) in enumerate(pairs):
        seen_tp, seen_fp = seen_tp + label, seen_fp + 1 - label
        if i == len(pairs) - 1 or pairs[i + 1][0] != score:  # cum.use: last of each tie group
            tp.append(seen_tp)
            fp.append(seen_fp)
    r_fg = tp[-1]
    tp_prev, fp_prev = [0] + tp[:-1], [0] + fp[:-1]

    def precision(t, f):
        return t / (t + f) if t + f else math.nan

    # which(tp - tp.prev > 1 & prec != prec.prev): NaN != x is NA in R, which drops it
    idxs = [i for i in range(len(tp)) if tp[i] - tp_prev[i] > 1
            and not math.isnan(precision(tp_prev[i], fp_prev[i]))
            and precision(tp[i], fp[i]) != precision(tp_prev[i], fp_prev[i])]
    rows = [i for i in range(len(tp)) if i not in idxs]
    dg = [(tp[i] - tp_prev[i]) / r_fg * (precision(tp_prev[i], fp_prev[i])
                                         + precision(tp[i], fp[i])) / 2 for i in rows]
    if math.isnan(dg[0]):
        dg[0] = (tp[rows[0]] - tp_prev[rows[0]]) / r_fg * precision(tp[rows[0]], fp[rows[0]])
    for i in idxs:
        h2 = (fp[i] - fp_prev[i]) / (tp[i] - tp_prev[i])
        prcs = [(tp_prev[i] + x) / (tp_prev[i] + x + fp_prev[i] + h2 * x)
                for x in range(tp[i] - tp_prev[i] + 1)]
        dg.extend(1 / r_fg * (prcs[j] + prcs[j + 1]) / 2 for j in range(len(prcs) - 1))
    return sum(dg)


@pytest.mark.parametrize("seed", range(6))
def test_metrics_agree_with_prroc_and_sklearn_on_random_data_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    labels = rng.random(n) < rng.uniform(0.02, 0.5)
    labels[:2] = [True, False]
    # few distinct values (many ties), or a continuous score with some ties
    scores = np.round(rng.random(n) + labels * rng.uniform(0, 1), int(rng.integers(1, 4)))
    assert aupr(labels, scores) == pytest.approx(prroc_davis_goadrich(labels.tolist(),
                                                                      scores.tolist()), abs=1e-12)
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12)


def test_hand_cases_agree_with_the_prroc_transcription():
    for case in (TIES, CURVED, TOP_TIE, FLAT):
        assert aupr(*case) == pytest.approx(prroc_davis_goadrich(*case), abs=1e-15)


def test_evaluation_collects_every_figure_from_one_curve():
    evaluation = Evaluation.of(*CURVED)
    assert (evaluation.n_bins, evaluation.n_positive, evaluation.positive_rate) == (6, 4, 4 / 6)
    assert (evaluation.auroc, evaluation.aupr) == (auroc(*CURVED), aupr(*CURVED))
    assert list(evaluation.record())[-4:] == ["recall_at_fdr_0.5", "recall_at_fdr_0.25",
                                              "recall_at_fdr_0.1", "recall_at_fdr_0.05"]
    assert "auPR                      0.8938" in evaluation.table().splitlines()
    curve = ScoreCurve.of(*CURVED)
    assert curve.tp.tolist() == [1, 4, 4] and curve.fp.tolist() == [0, 1, 2]


@pytest.mark.parametrize("labels, scores, message", [
    ([0, 0, 0], [0.1, 0.2, 0.3], "no positive (bound) bins among the 3 scored: auROC and auPR are "
                                 "undefined"),
    ([1, 1], [0.1, 0.2], "no negative (unbound) bins among the 2 scored"),
    ([1, 0, 1], [0.1, np.nan, 0.3], "score 1 (counting from 0) is NaN"),
    ([1, 0, -1], [0.1, 0.2, 0.3], "label 2 (counting from 0) is -1, not 0 or 1"),
    ([1, 0], [0.1, 0.2, 0.3], "labels (2,) and scores (3,) must be two (n,) arrays"),
])
def test_undefined_metrics_are_refused(labels, scores, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        auroc(labels, scores)


# --- files -------------------------------------------------------------------------------------


def write_text(path, text):
    """Write ``text``, gzipped when the name ends in .gz."""
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def rows(*coordinates, values):
    return "".join(f"{c}\t{s}\t{e}\t{v}\n" for (c, s, e), v in zip(coordinates, values))


BINS = [("chr1", 0, 200), ("chr1", 50, 250), ("chr2", 0, 200), ("chr2", 50, 250)]


def test_submission_round_trip_keeps_every_float32_score(tmp_path):
    """9 significant digits: every float32 probability comes back as itself, tiny ones included
    (6 fixed decimals made every score under 5e-7 a tie at 0)."""
    rng = np.random.default_rng(0)
    n = 10_000
    score = np.concatenate([[0.0, 1.0, 0.5, 0.1234565, 1e-7, 3e-9, 2e-30],
                            rng.random(n - 7) ** 8]).astype(np.float32)
    chrom = np.where(np.arange(n) % 3, "chr1", "chrX")
    start = np.arange(n) * 50
    path = tmp_path / "s.tab.gz"
    assert write_submission(path, chrom, start, start + 200, score, chunk_rows=3000) == n
    lines = gzip.open(path, "rt").read().splitlines()
    assert lines[:7] == ["chrX\t0\t200\t0.00000000e+00", "chr1\t50\t250\t1.00000000e+00",
                         "chr1\t100\t300\t5.00000000e-01", "chrX\t150\t350\t1.23456500e-01",
                         "chr1\t200\t400\t1.00000001e-07", "chr1\t250\t450\t3.00000003e-09",
                         "chrX\t300\t500\t2.00000001e-30"]
    assert [line.split("\t")[3] for line in lines] == ["%.8e" % v for v in score.tolist()]
    table = read_submission(path)
    assert table["chrom"].tolist() == chrom.tolist()
    assert (table["start"].to_numpy() == start).all() and (table["end"].to_numpy() == start + 200).all()
    assert (table["score"].to_numpy().astype(np.float32) == score).all()
    assert len(np.unique(table["score"])) == len(np.unique(score))  # no new ties
    with pytest.raises(InputError, match="output exists"):
        write_submission(path, chrom, start, start + 200, score)


def test_submission_with_the_originals_four_digits(tmp_path):
    path = tmp_path / "s.tab.gz"
    score = np.float32([0.0, 1.0, 0.123456, 4.99996e-7])
    write_submission(path, ["chr1"] * 4, [0, 50, 100, 150], [200, 250, 300, 350], score,
                     score_digits=4)
    assert [line.split("\t")[3] for line in gzip.open(path, "rt").read().splitlines()] == [
        "0.000e+00", "1.000e+00", "1.235e-01", "5.000e-07"]  # pandas' float_format='%.3e'
    for digits in (0, 18, 2.5):
        with pytest.raises(InputError, match=f"score digits must be a whole number from 1 to 17 "
                                             f"\\(9 keeps every float32 score\\), not {digits}$"
                           ) as error:
            write_submission(tmp_path / "t.gz", ["chr1"], [0], [200], [0.5], score_digits=digits)
        assert error.value.setting == "score_digits"
    assert not (tmp_path / "t.gz").exists()


def test_submission_scores_must_be_probabilities(tmp_path):
    with pytest.raises(InputError, match=r"s.gz: chr2:5-9: score 1.5 is not a probability in \[0, 1\]"):
        write_submission(tmp_path / "s.gz", ["chr1", "chr2"], [0, 5], [4, 9], [0.5, 1.5])
    assert not (tmp_path / "s.gz").exists()


def test_bad_submission_files(tmp_path):
    nan = write_text(tmp_path / "nan.tab", rows(*BINS[:2], values=["0.5", "nan"]))
    with pytest.raises(InputError, match="nan.tab: line 2: chr1:50-250: the score is missing or "
                                         "not a number$"):
        read_submission(nan)
    short = write_text(tmp_path / "short.tab", "chr1\t0\t200\n")
    with pytest.raises(InputError, match=r"short.tab: not a submission \(chrom, start, end, "
                                         r"probability\) file \(Usecols do not match"):
        read_submission(short)
    backwards = write_text(tmp_path / "back.tab.gz", rows(*BINS[:1], ("chr1", 300, 100),
                                                          values=[0.1, 0.2]))
    with pytest.raises(InputError, match=r"back.tab.gz: line 2: expected a chromosome name and "
                                         r"0 <= start <= end, found chr1:300-100"):
        read_submission(backwards)
    no_chrom = write_text(tmp_path / "no_chrom.tab", "track name=x\n" + rows(*BINS[:1], ("", 0, 200),
                                                                          values=[0.1, 0.2]))
    with pytest.raises(InputError, match="no_chrom.tab: line 3: expected a chromosome name"):
        read_submission(no_chrom)
    with pytest.raises(InputError, match="nowhere.gz: prediction file not found"):
        read_submission(tmp_path / "nowhere.gz")


@pytest.mark.parametrize("value, shown", [("inf", "inf"), ("-Inf", "-inf"), ("1e999", "inf"),
                                          ("-0.25", "-0.25"), ("1.5", "1.5"), ("1.0000001", "1.0000001")])
def test_submission_scores_that_are_not_probabilities_are_one_line(tmp_path, value, shown):
    path = write_text(tmp_path / "p.tab.gz", "track name=x\n" + rows(*BINS, values=[
        "0.5", "0", "1", value]))
    with pytest.raises(InputError) as error:
        read_submission(path)
    assert str(error.value) == (f"{path}: line 5: chr2:50-250: score {shown} is not a probability "
                                "in [0, 1]")


LABEL_TSV = ("chr\tstart\tstop\tHepG2\tK562\n"
             "chr1\t0\t200\tB\tU\n" "chr1\t50\t250\tA\tU\n" "chr2\t0\t200\tU\tB\n" "chr2\t50\t250\tU\tU\n")


def test_label_file_columns(tmp_path):
    path = write_text(tmp_path / "CTCF.labels.tsv.gz", LABEL_TSV)
    hepg2 = read_labels(path, "HepG2")
    assert hepg2.columns.tolist() == ["chrom", "start", "end", "label"]
    assert hepg2["label"].dtype == np.int8 and hepg2["label"].tolist() == [1, -1, 0, 0]
    assert read_labels(path, "K562")["label"].tolist() == [0, 0, 1, 0]
    with pytest.raises(InputError, match="CTCF.labels.tsv.gz: no cell type 'liver' \\(the file has "
                                         "HepG2, K562\\)"):
        read_labels(path, "liver")
    with pytest.raises(InputError, match="choose the cell type to score among HepG2, K562"):
        read_labels(path)
    one = write_text(tmp_path / "one.tsv", "chr\tstart\tstop\tliver\nchr1\t0\t200\tB\n")
    assert read_labels(one)["label"].tolist() == [1]
    bad = write_text(tmp_path / "bad.tsv", "chr\tstart\tstop\tliver\nchr1\t0\t200\tB\nchr1\t50\t250\tX\n")
    with pytest.raises(InputError, match="bad.tsv: chr1:50-250: label 'X' is not B, U or A"):
        read_labels(bad)
    short = write_text(tmp_path / "short.tsv", "chr\tstart\tstop\tliver\nchr1\t0\t200\tB\nchr1\t50\t250\n")
    with pytest.raises(InputError, match="short.tsv: chr1:50-250: label nan is not B, U or A"):
        read_labels(short)


def test_bed_labels(tmp_path):
    path = write_text(tmp_path / "l.bed.gz", "track name=x\n" + rows(*BINS, values=[1, 0, 0, 1]))
    table = read_labels(path)
    assert table["label"].tolist() == [1, 0, 0, 1] and table["label"].dtype == np.int8
    assert table["chrom"].tolist() == ["chr1", "chr1", "chr2", "chr2"]
    with pytest.raises(InputError, match="a BED of 0/1 labels has no cell types"):
        read_labels(path, "HepG2")
    bad = write_text(tmp_path / "bad.bed", rows(*BINS[:2], values=[1, 2]))
    with pytest.raises(InputError, match="bad.bed: chr1:50-250: label 2 is not 0 or 1"):
        read_labels(bad)


# --- matching by coordinates -------------------------------------------------------------------


def table(coordinates):
    frame = pd.DataFrame(coordinates, columns=["chrom", "start", "end"])
    return frame.astype({"chrom": "category", "start": np.int64, "end": np.int64})


def test_rows_are_matched_by_coordinates_not_position():
    first = table(BINS)
    second = table([BINS[3], BINS[0], BINS[2], BINS[1]])
    assert match_rows(first, second, "p", "l").tolist() == [1, 3, 2, 0]


def test_matching_wide_coordinates_numbers_the_rows():
    # 2 chromosomes x 2^40 starts x 2^30 lengths does not fit an int64 key: the triples are
    # numbered instead, with the same answer
    huge = [("chr1", 2 ** 40, 2 ** 40 + 2 ** 30), ("chr1", 2 ** 40, 2 ** 40 + 1), ("chr2", 0, 1)]
    assert match_rows(table(huge), table(huge[::-1]), "p", "l").tolist() == [2, 1, 0]
    with pytest.raises(InputError, match="p: chr1:1099511627776-1099511627777 has no row in l"):
        match_rows(table(huge), table([huge[0], huge[2]]), "p", "l")


@pytest.mark.parametrize("first, second, message", [
    (BINS, BINS[:3], "p.gz: chr2:50-250 has no row in l.gz"),
    (BINS[1:], BINS, "l.gz: chr1:0-200 has no row in p.gz"),
    (BINS + [BINS[1]], BINS, "p.gz: chr1:50-250 is listed more than once"),
    (BINS, [BINS[2]] + BINS, "l.gz: chr2:0-200 is listed more than once"),
    ([("chr1", 0, 201)] + BINS[1:], BINS, "p.gz: chr1:0-201 has no row in l.gz"),
    ([("chr3", 0, 200)] + BINS[1:], BINS, "p.gz: chr3:0-200 has no row in l.gz"),
])
def test_rows_without_partner_or_repeated_are_refused(first, second, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        match_rows(table(first), table(second), "p.gz", "l.gz")


def test_evaluate_matches_rows_drops_ambiguous_bins_and_restricts_chromosomes(tmp_path):
    labels = write_text(tmp_path / "l.tsv.gz", LABEL_TSV + "chr3\t0\t200\tU\tB\n")
    # predictions in another order; chr1:50-250 is ambiguous for HepG2 and left out
    predictions = write_text(tmp_path / "p.tab.gz", rows(
        BINS[2], BINS[0], ("chr3", 0, 200), BINS[3], BINS[1], values=[0.3, 0.9, 0.5, 0.4, 0.0]))
    evaluation = evaluate(predictions, labels, "HepG2")
    # scored: chr1:0-200 B 0.9, chr2:0-200 U 0.3, chr2:50-250 U 0.4, chr3 U 0.5
    assert (evaluation.n_bins, evaluation.n_positive, evaluation.auroc, evaluation.aupr) == (4, 1, 1.0, 1.0)
    k562 = evaluate(predictions, labels, "K562", chroms=["chr2", "chr3"])
    # chr2:0-200 B 0.3, chr2:50-250 U 0.4, chr3:0-200 B 0.5 -> 1 of the 2 pairs won
    assert (k562.n_bins, k562.n_positive, k562.auroc) == (3, 2, 0.5)
    with pytest.raises(InputError, match="p.tab.gz: no rows on chr9"):
        evaluate(predictions, labels, "K562", chroms=["chr2", "chr9"])
    partial = write_text(tmp_path / "partial.tab", rows(*BINS, values=[0.1, 0.2, 0.3, 0.4]))
    with pytest.raises(InputError, match="l.tsv.gz: chr3:0-200 has no row in .*partial.tab"):
        evaluate(partial, labels, "HepG2")
    assert evaluate(partial, labels, "HepG2", chroms=["chr1", "chr2"]).n_bins == 3


def test_evaluation_outputs(tmp_path):
    evaluation = Evaluation.of(*CURVED)
    write_evaluation(tmp_path / "scores", evaluation,
                     record=RunRecord("test", {"predictions": "p.gz"}))
    header, values = (tmp_path / "scores.tsv").read_text().splitlines()
    assert header.split("\t")[:4] == ["n_bins", "n_positive", "positive_rate", "auroc"]
    assert dict(zip(header.split("\t"), map(float, values.split("\t")))) == evaluation.record()
    assert '"aupr": 0.8938311688311689' in (tmp_path / "scores.json").read_text()
    record = json.loads((tmp_path / "scores.run.json").read_text())
    assert record["settings"] == {"predictions": "p.gz"} and record["finished"]
    assert record["outputs"] == [str(tmp_path / "scores.tsv"), str(tmp_path / "scores.json")]
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(InputError, match="other.json: output exists"):
        write_evaluation(tmp_path / "other", evaluation)
    assert not (tmp_path / "other.tsv").exists()


# --- bagging -----------------------------------------------------------------------------------


def test_average_ranks_match_scipy():
    values = np.round(np.random.default_rng(1).random(1000), 2)
    assert (average_ranks(values) == rankdata(values)).all()
    assert average_ranks([0.1, 0.5, 0.5, 0.9]).tolist() == [1, 2.5, 2.5, 4]


def test_rank_average_by_hand():
    # ranks [1, 2.5, 2.5, 4] and [2, 1, 3.5, 3.5]; means [1.5, 1.75, 3, 3.75]; (mean - 1) / 3
    bagged = rank_average([np.array([0.1, 0.5, 0.5, 0.9]), np.array([0.3, 0.2, 0.8, 0.8])])
    assert bagged == pytest.approx([0.5 / 3, 0.75 / 3, 2 / 3, 2.75 / 3], abs=1e-15)
    assert rank_average([np.array([0.7])]).tolist() == [0.5]


def test_bag_submissions_keeps_the_first_files_order(tmp_path):
    a = write_text(tmp_path / "a.gz", rows(*BINS, values=[0.1, 0.5, 0.5, 0.9]))
    # the same rows in reverse order; by row of a: 0.3, 0.2, 0.8, 0.8
    b = write_text(tmp_path / "b.gz", rows(*BINS[::-1], values=[0.8, 0.8, 0.2, 0.3]))
    out = tmp_path / "bag.gz"
    assert bag_submissions([a, b], out) == 4
    assert gzip.open(out, "rt").read() == (
        "chr1\t0\t200\t1.66666667e-01\n" "chr1\t50\t250\t2.50000000e-01\n"
        "chr2\t0\t200\t6.66666667e-01\n" "chr2\t50\t250\t9.16666667e-01\n")
    with pytest.raises(InputError, match="bag.gz: output exists"):
        bag_submissions([a, b], out)
    c = write_text(tmp_path / "c.gz", rows(*BINS[:3], values=[0.1, 0.2, 0.3]))
    with pytest.raises(InputError, match="a.gz: chr2:50-250 has no row in .*c.gz"):
        bag_submissions([a, c], tmp_path / "bag2.gz")
    assert not (tmp_path / "bag2.gz").exists()


def test_rank_average_keeps_bins_zero_in_every_input_at_zero():
    """Blacklisted bins (0 in every submission) stay 0; the others keep their rescaled mean
    ranks, all above 0, in the same order."""
    a = np.array([0.0, 0.0, 0.4, 0.0, 0.9, 0.2])
    b = np.array([0.0, 0.3, 0.0, 0.0, 0.8, 0.1])
    # ranks [2, 2, 5, 2, 6, 4] and [2, 5, 2, 2, 6, 4]; means [2, 3.5, 3.5, 2, 6, 4]; / 5 after - 1
    bagged = rank_average([a, b])
    assert bagged.tolist() == [0.0, 0.5, 0.5, 0.0, 1.0, 0.6]
    assert rank_average([np.zeros(3), np.zeros(3)]).tolist() == [0, 0, 0]
    assert rank_average([np.zeros(1)]).tolist() == [0.0]
    rng = np.random.default_rng(5)
    scores = [np.where(rng.random(1000) < 0.3, 0.0, rng.random(1000)) for _ in range(3)]
    scores[1][:50] = scores[2][:50] = scores[0][:50] = 0.0
    bagged, before = rank_average(scores), np.mean([average_ranks(s) for s in scores], axis=0)
    zero = np.logical_and.reduce([s == 0 for s in scores])
    assert (bagged[zero] == 0).all() and (bagged[~zero] > 0).all()
    assert np.array_equal(np.argsort(bagged, kind="stable"), np.argsort(before, kind="stable"))


def test_bagged_blacklisted_bins_are_written_as_zero(tmp_path):
    a = write_text(tmp_path / "a.gz", rows(*BINS, values=["0", "0.5", "0.25", "0"]))
    b = write_text(tmp_path / "b.gz", rows(*BINS, values=["0.000e+00", "0.7", "0.1", "0.3"]))
    out = tmp_path / "bag.gz"
    bag_submissions([a, b], out, score_digits=4)
    # ranks [1.5, 4, 3, 1.5] and [1, 4, 2, 3]: row 0 is 0 in both; the rest (mean - 1) / 3
    assert gzip.open(out, "rt").read() == (
        "chr1\t0\t200\t0.000e+00\n" "chr1\t50\t250\t1.000e+00\n"
        "chr2\t0\t200\t5.000e-01\n" "chr2\t50\t250\t4.167e-01\n")
    assert json.loads((tmp_path / "bag.gz.run.json").read_text())["settings"]["score_digits"] == 4
