"""The experiments' common end: results.tsv, results.md, figures and run.json from a run folder."""

import json

import pandas as pd
import pytest

from fiddle_factornet.cli import experiment_report
from fiddle_factornet.errors import InputError
from fiddle_factornet.experiments import results
from fiddle_factornet.experiments.results import (Results, experiment_module, markdown_table,
                                                  write_results)

from .conftest import run_command


def test_markdown_table_formats_numbers_missing_values_and_pipes():
    table = pd.DataFrame({"model": ["single|task", "bag"], "auROC": [0.912345, float("nan")],
                          "rows": [3, 4]})
    assert markdown_table(table).splitlines() == [
        "| model | auROC | rows |", "|---|---|---|",
        "| single\\|task | 0.9123 | 3 |", "| bag | – | 4 |"]


def test_experiment_names_map_to_modules():
    assert experiment_module("factornet/e2f1-antibody") == "factornet_e2f1_antibody"
    assert experiment_module("fiddle/tss-study") == "fiddle_tss_study"


def _fake_report(run_dir, mode):
    def figure():
        from fiddle_factornet.fiddle.evaluation import pyplot

        fig, axes = pyplot().subplots()
        axes.plot([0, 1], [1, 0])
        return fig

    score = float((run_dir / "score.txt").read_text())
    return Results("A fake experiment", pd.DataFrame({"model": ["m"], "auROC": [score],
                                                      "paper auROC": [None]}),
                   notes=["paper figure: not available here"], figures={"curve.png": figure})


def test_results_are_written_with_their_record(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "report_function", lambda experiment: _fake_report)
    (tmp_path / "score.txt").write_text("0.75")
    (tmp_path / "commands.log").write_text("ffn-train -i a\nffn-evaluate -i b\n")
    write_results("factornet/fake", tmp_path, "demo")
    with pytest.raises(InputError, match="results.tsv"):  # earlier results: only on request
        write_results("factornet/fake", tmp_path, "demo")
    (tmp_path / "score.txt").write_text("0.5")
    write_results("factornet/fake", tmp_path, "demo", overwrite=True)
    assert pd.read_csv(tmp_path / "results.tsv", sep="\t")["auROC"].tolist() == [0.5]
    (tmp_path / "score.txt").write_text("0.75")
    write_results("factornet/fake", tmp_path, "demo", overwrite=True)
    table = pd.read_csv(tmp_path / "results.tsv", sep="\t")
    assert table["model"].tolist() == ["m"] and table["auROC"].tolist() == [0.75]
    assert table["paper auROC"].isna().all()
    page = (tmp_path / "results.md").read_text()
    assert "# A fake experiment" in page and "demo mode" in page
    assert "| m | 0.75 | – |" in page and "![curve.png](curve.png)" in page
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["settings"]["experiment"] == "factornet/fake"
    assert record["settings"]["mode"] == "demo"
    assert record["commands"] == ["ffn-train -i a", "ffn-evaluate -i b"]
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_a_failing_figure_leaves_no_results(tmp_path, monkeypatch):
    def broken(run_dir, mode):
        made = _fake_report(run_dir, mode)
        made.figures["curve.png"] = lambda: 1 / 0
        return made

    monkeypatch.setattr(results, "report_function", lambda experiment: broken)
    (tmp_path / "score.txt").write_text("0.75")
    with pytest.raises(ZeroDivisionError):
        write_results("factornet/fake", tmp_path, "full", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["score.txt"]


def test_bad_requests_are_one_line_errors(tmp_path, capsys, runner_state):
    assert run_command(experiment_report, "-x", "factornet/no-such", "-oc", tmp_path) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("ffn-experiment-report: error: unknown experiment 'factornet/no-such'")
    assert "\n" not in error and "(see -x)" in error
    assert run_command(experiment_report, "-x", "factornet/challenge",
                       "-oc", tmp_path / "absent") == 2
    assert "no such run folder" in capsys.readouterr().err
    with pytest.raises(InputError, match="unknown mode"):
        write_results("factornet/challenge", tmp_path, "quick")
