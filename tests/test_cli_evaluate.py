"""The ffn-evaluate and ffn-bag scripts, run as a user runs them."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

BIN = Path(__file__).resolve().parents[1] / "bin"
LABELS = ("chr\tstart\tstop\tHepG2\tK562\n"
          "chr1\t0\t200\tB\tU\n" "chr1\t50\t250\tA\tU\n" "chr2\t0\t200\tU\tB\n" "chr2\t50\t250\tU\tU\n")
# scores by label row; chr1:50-250 (A for HepG2) is left out
PREDICTIONS = ("chr2\t50\t250\t0.400000\n" "chr1\t0\t200\t0.900000\n" "chr1\t50\t250\t0.100000\n"
               "chr2\t0\t200\t0.300000\n")


def run(script, *args):
    return subprocess.run([sys.executable, str(BIN / script), *map(str, args)], capture_output=True,
                          text=True)


def one_line_error(result, script):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{script}: error: ")
    return line[len(f"{script}: error: "):]


def files(tmp_path):
    labels = tmp_path / "CTCF.labels.tsv.gz"
    with gzip.open(labels, "wt") as handle:
        handle.write(LABELS)
    predictions = tmp_path / "F.CTCF.HepG2.tab.gz"
    with gzip.open(predictions, "wt") as handle:
        handle.write(PREDICTIONS)
    return predictions, labels


def test_evaluate_prints_and_writes_the_figures(tmp_path):
    predictions, labels = files(tmp_path)
    result = run("ffn-evaluate", "-i", predictions, "-l", labels, "-c", "HepG2", "-o",
                 tmp_path / "out" / "scores")
    assert result.returncode == 0, result.stderr
    table = dict(line.rsplit(None, 1) for line in result.stdout.splitlines())
    assert table["bins"] == "3" and table["positives"] == "1" and table["positive rate"] == "0.3333"
    assert table["auROC"] == "1.0000" and table["auPR"] == "1.0000"
    assert table["recall at 5% FDR"] == "1.0000"
    figures = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert figures["n_bins"] == 3 and figures["aupr"] == 1.0
    record = json.loads((tmp_path / "out" / "scores.run.json").read_text())
    assert record["command"] == "ffn-evaluate" and record["settings"]["cell_type"] == "HepG2"
    header, values = (tmp_path / "out" / "scores.tsv").read_text().splitlines()
    assert header.startswith("n_bins\tn_positive\tpositive_rate\tauroc\taupr\taverage_precision")
    assert values.startswith("3\t1\t0.3333333333333333\t1.0\t1.0\t1.0\t")

    again = run("ffn-evaluate", "-i", predictions, "-l", labels, "-c", "HepG2", "-o",
                tmp_path / "out" / "scores")
    assert one_line_error(again, "ffn-evaluate").endswith(
        "scores.tsv: output exists (it is replaced only when asked to) (see -oc)")
    k562 = run("ffn-evaluate", "-i", predictions, "-l", labels, "-c", "K562", "--chroms", "chr2",
               "-oc", tmp_path / "out" / "scores")
    assert k562.returncode == 0, k562.stderr
    # chr2 only, K562: B 0.3 vs U 0.4
    assert json.loads((tmp_path / "out" / "scores.json").read_text())["auroc"] == 0.0


def test_evaluate_without_output_writes_nothing(tmp_path):
    predictions, labels = files(tmp_path)
    result = run("ffn-evaluate", "-i", predictions, "-l", labels, "-c", "K562")
    assert result.returncode == 0, result.stderr
    assert "auROC" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [labels.name, predictions.name]


def test_evaluate_bad_input_is_one_line(tmp_path):
    predictions, labels = files(tmp_path)
    assert one_line_error(run("ffn-evaluate", "-i", predictions, "-l", labels, "-c", "liver"),
                          "ffn-evaluate") == f"{labels}: no cell type 'liver' (the file has HepG2, K562)"
    assert one_line_error(run("ffn-evaluate", "-i", predictions, "-l", labels), "ffn-evaluate") == \
        f"{labels}: choose the cell type to score among HepG2, K562"
    short = tmp_path / "short.tab"
    short.write_text(PREDICTIONS.split("\n", 1)[1])
    assert one_line_error(run("ffn-evaluate", "-i", short, "-l", labels, "-c", "K562"),
                          "ffn-evaluate") == f"{labels}: chr2:50-250 has no row in {short}"
    no_bound = run("ffn-evaluate", "-i", predictions, "-l", labels, "-c", "K562", "--chroms", "chr1")
    assert one_line_error(no_bound, "ffn-evaluate") == \
        "no positive (bound) bins among the 2 scored: auROC and auPR are undefined"


def test_bag(tmp_path):
    predictions, _ = files(tmp_path)
    other = tmp_path / "other.tab"
    other.write_text("chr1\t0\t200\t0.5\n" "chr1\t50\t250\t0.5\n" "chr2\t0\t200\t0.7\n"
                     "chr2\t50\t250\t0.1\n")
    out = tmp_path / "bagged.tab.gz"
    result = run("ffn-bag", "-i", f"{predictions},{other}", "-o", out)
    assert result.returncode == 0, result.stderr
    # rows in the first file's order; ranks 3, 4, 1, 2 and 1, 2.5, 2.5, 4 by those rows:
    # means 2, 3.25, 1.75, 3 -> (mean - 1) / 3
    assert gzip.open(out, "rt").read() == (
        "chr2\t50\t250\t3.33333333e-01\n" "chr1\t0\t200\t7.50000000e-01\n"
        "chr1\t50\t250\t2.50000000e-01\n" "chr2\t0\t200\t6.66666667e-01\n")
    assert json.loads((tmp_path / "bagged.tab.gz.run.json").read_text())["settings"][
        "input_files"] == [str(predictions), str(other)]
    assert one_line_error(run("ffn-bag", "-i", f"{predictions},{other}", "-o", out), "ffn-bag") == \
        f"{out}: output exists (it is replaced only when asked to) (see -oc)"
    assert run("ffn-bag", "-i", f"{other},{predictions}", "-oc", out).returncode == 0
    assert gzip.open(out, "rt").read().startswith("chr1\t0\t200\t7.50000000e-01\n")
    other.write_text("chr1\t0\t200\t0.5\n" "chr1\t0\t200\t0.5\n")
    assert one_line_error(run("ffn-bag", "-i", f"{predictions},{other}", "-oc", out),
                          "ffn-bag") == f"{other}: chr1:0-200 is listed more than once"


def test_bag_keeps_blacklisted_bins_at_zero_and_the_originals_digits_on_request(tmp_path):
    first, second = tmp_path / "a.tab", tmp_path / "b.tab"
    first.write_text("chr1\t0\t200\t0\n" "chr1\t50\t250\t0.9\n" "chr2\t0\t200\t0.2\n")
    second.write_text("chr1\t0\t200\t0.000e+00\n" "chr1\t50\t250\t0.8\n" "chr2\t0\t200\t0.1\n")
    out = tmp_path / "bagged.tab.gz"
    result = run("ffn-bag", "-i", f"{first},{second}", "--score_digits", "4", "-o", out)
    assert result.returncode == 0, result.stderr
    # means of ranks 1, 3, 2: 0 in both files stays 0, the others (mean - 1) / 2
    assert gzip.open(out, "rt").read() == ("chr1\t0\t200\t0.000e+00\n" "chr1\t50\t250\t1.000e+00\n"
                                           "chr2\t0\t200\t5.000e-01\n")
    assert one_line_error(run("ffn-bag", "-i", f"{first},{second}", "--score_digits", "18", "-oc",
                              out), "ffn-bag") == (
        "score digits must be a whole number from 1 to 17 (9 keeps every float32 score), not 18 "
        "(see --score_digits)")
    assert "--score_digits" in one_line_error(
        run("ffn-bag", "-i", f"{first},{second}", "--score_digits", "0", "-oc", out), "ffn-bag")


def test_scores_that_are_not_probabilities_are_one_line(tmp_path):
    predictions, labels = files(tmp_path)
    for value in ("nan", "inf", "-0.5", "1.5"):
        bad = tmp_path / f"bad_{value}.tab"
        bad.write_text(PREDICTIONS.replace("0.100000", value))
        shown = {"nan": "the score is missing or not a number"}.get(
            value, f"score {float(value)!r} is not a probability in [0, 1]")
        expected = f"{bad}: line 3: chr1:50-250: {shown}"
        assert one_line_error(run("ffn-evaluate", "-i", bad, "-l", labels, "-c", "HepG2"),
                              "ffn-evaluate") == expected
        assert one_line_error(run("ffn-bag", "-i", f"{predictions},{bad}", "-o",
                                  tmp_path / "bag.gz"), "ffn-bag") == expected
        assert not (tmp_path / "bag.gz").exists()
