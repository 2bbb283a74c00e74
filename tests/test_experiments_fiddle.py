"""FIDDLE's experiment scripts (experiments/fiddle/tss-study, importance, sensitivity): their flags
and input checks, their reports on hand-made run folders, and (slow) each demo mode end to end."""

import functools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.experiments import fiddle_importance, fiddle_sensitivity, fiddle_tss_study
from fiddle_factornet.experiments.results import write_results

from . import experiment_scripts
from .experiment_scripts import check_unknown_flag_refused, fake_demo_dataset

SCRIPTS = ("tss-study", "importance", "sensitivity")
run_script = functools.partial(experiment_scripts.run_script, "fiddle")
INPUTS = ("dna", "netseq", "mnase", "tfiib", "rnaseq")


# --- flags and input checks (fast: nothing is trained)


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_says_what_it_reproduces_and_how_to_run_the_demo(name):
    result = run_script(name, "--help", check_rc=0)
    assert "--demo" in result.stdout and "FIDDLE" in result.stdout
    assert "ffn-fetch fiddle-yeast" in result.stdout and "demo mode" in result.stdout
    assert "minutes on two CPU cores" in result.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_unknown_flag_is_one_line_and_runs_nothing(name, tmp_path):
    check_unknown_flag_refused("fiddle", name, tmp_path)


@pytest.mark.parametrize("name", SCRIPTS)
def test_full_mode_without_data_names_what_to_fetch_and_runs_nothing(name, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    result = run_script(name, "--data", data, "-o", tmp_path / "run", check_rc=2)
    assert result.stderr.strip().splitlines() == [
        f"fiddle/{name}: error: missing input {data}/yeast/tracks.tsv: get it with "
        "'ffn-fetch fiddle-yeast' (see README 'Data')"]
    assert not (tmp_path / "run").exists()


def test_the_study_needs_each_of_its_tracks_in_the_manifest(tmp_path):
    yeast = tmp_path / "data" / "yeast"
    yeast.mkdir(parents=True)
    for name in ("genes.bed", "sacCer3.fa"):
        (yeast / name).write_text("")
    (yeast / "tracks.tsv").write_text("name\trole\tkind\tfiles\n" + "".join(
        f"{name}\tinput\tmerged\t{name}.bw\n" for name in INPUTS if name != "tfiib"))
    result = run_script("tss-study", "--data", tmp_path / "data", "-o", tmp_path / "run",
                        check_rc=2)
    assert result.stderr.strip().splitlines() == [
        f"fiddle/tss-study: error: {yeast}/tracks.tsv: no track named 'tfiib' (the study's "
        "inputs: dna netseq mnase tfiib rnaseq)"]
    assert not (tmp_path / "run").exists()


def test_the_authors_hdf5_datasets_are_for_full_mode_and_checked_first(tmp_path):
    (tmp_path / "data").mkdir()
    demo = fake_demo_dataset(tmp_path / "demo")
    result = run_script("tss-study", "--demo", "--demo_data", demo, "-o", tmp_path / "a",
                        "--hdf5", tmp_path, check_rc=2)
    assert result.stderr.strip().splitlines() == [
        "fiddle/tss-study: error: --hdf5 is for full mode (the demo data are bigWigs)"]
    result = run_script("tss-study", "--data", tmp_path / "data", "-o", tmp_path / "b",
                        "--hdf5", tmp_path / "h5", check_rc=2)
    assert result.stderr.strip().splitlines() == [
        f"fiddle/tss-study: error: missing input {tmp_path}/h5: the authors' HDF5 datasets "
        "('ffn-fetch fiddle-yeast' lists them, see README 'Data')"]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert "--hdf5 PATH" in run_script("tss-study", "--help").stdout
    for name in ("importance", "sensitivity"):  # the study's option only
        run_script(name, "--data", tmp_path / "data", "-o", tmp_path / name, "--hdf5", tmp_path,
                   check_rc=2)


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_rerun_into_earlier_results_is_refused(name, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.tsv").write_text("model\n")
    result = run_script(name, "--demo", "--demo_data", fake_demo_dataset(tmp_path / "demo"), "-o", run,
                        check_rc=2)
    assert "holds the results of an earlier run: give --overwrite" in result.stderr
    assert (run / "results.tsv").read_text() == "model\n"


# --- the reports, on hand-made run folders


def fake_model(run_dir: Path, name: str, inputs, accuracy: float, kl: float, *, controls=(),
               batch=20, rate=1e-3, filters=(16, 8), scaffold=8, windows=500,
               test_windows="chr1\t0\t500\t.\t0\t+\n", replicate=True, settings=()):
    """A model folder (run.json, learning curve, test windows) and its evaluation summary, as
    ffn-fiddle-train and ffn-fiddle-evaluate write them; trained for 1.5 minutes."""
    folder = run_dir / "models" / name
    folder.mkdir(parents=True)
    record = {"settings": {"batch_size": batch, "learning_rate": rate, "epochs": 3, "patience": 3,
                           "seed": 0, "split": "shuffle", "n_valid": 500, "n_test": 500,
                           **dict(settings)},
              "architecture": {"module_filters": list(filters), "scaffold_filters": scaffold,
                               "kernel_width": 5, "representation": 100, "dropout": 0.5},
              "inputs": list(inputs), "controls": list(controls), "windows": 5145,
              "started": "2026-01-01T10:00:00+0000", "finished": "2026-01-01T10:01:30+0000",
              "best_epoch": 2, "epochs_done": 3}
    (folder / "run.json").write_text(json.dumps(record))
    (folder / "learning_curve.csv").write_text(
        f"samples_seen,train_kl,valid_kl\n1000,3.0,3.1\n2000,2.5,{kl}\n")
    (folder / "test_regions.bed").write_text(test_windows)
    summary = {"windows": windows, "prediction": {"bin_accuracy": accuracy, "mean_kl": kl},
               "random": {"bin_accuracy": 0.102}}
    if replicate:
        summary["replicate"] = {"bin_accuracy": 0.79, "mean_kl": 3.96}
    (run_dir / "eval").mkdir(exist_ok=True)
    (run_dir / "eval" / f"{name}.summary.json").write_text(json.dumps(summary))
    return folder


def fake_study(run_dir: Path, inputs=INPUTS, **kwargs):
    for i, name in enumerate(inputs):
        fake_model(run_dir, name, [name], 0.4 + i / 100, 2.5 - i / 10, **kwargs)
    fake_model(run_dir, "combined", inputs, 0.62, 1.97, **kwargs)


def test_the_study_table_has_every_row_beside_the_paper(tmp_path):
    fake_study(tmp_path)
    (tmp_path / "commands.log").write_text("ffn-fiddle-train ...\n")
    results = write_results("fiddle/tss-study", tmp_path, "demo")
    table = results.table
    assert table["model"].tolist() == ["random", *INPUTS, "combined", "replicate"]
    assert table.columns.tolist() == fiddle_tss_study.COLUMNS
    assert table["paper bin accuracy %"].tolist() == [10.5, 50.2, 61.2, 55.4, 53.9, 60.1, 72.6,
                                                      81.2]
    assert table["bin accuracy %"].tolist() == pytest.approx([10.2, 40, 41, 42, 43, 44, 62, 79])
    assert table["mean KL"].tolist()[1:] == pytest.approx([2.5, 2.4, 2.3, 2.2, 2.1, 1.97, 3.96])
    assert math.isnan(table["mean KL"][0])
    assert table["inputs"][6] == "dna, netseq, mnase, tfiib, rnaseq"
    assert table["epochs (best/run)"][1] == "2/3" and table["training min"][1] == 1.5
    written = pd.read_csv(tmp_path / "results.tsv", sep="\t")
    assert written["model"].tolist() == table["model"].tolist()
    page = (tmp_path / "results.md").read_text()
    assert "500 held-out windows" in page and "bioRxiv 081380" in page
    assert "modules of 16 and 8 filters" in page and "Demo mode" in page
    assert "5,145 windows, 4,145 of them for training, 500 validation, 500 test" in page
    for figure in ("bin_accuracy.png", "learning_curves.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_study_on_the_authors_hdf5_datasets_has_no_replicate(tmp_path):
    fake_study(tmp_path, ("dnaseq", "netseq", "mnaseseq", "chipseq", "rnaseq"), replicate=False,
               settings={"hdf5": ["/data/yeast/hdf5datasets"]})
    results = fiddle_tss_study.report(tmp_path, "full")
    table = results.table
    assert table["paper bin accuracy %"].tolist() == [10.5, 50.2, 61.2, 55.4, 53.9, 60.1, 72.6,
                                                      81.2]
    assert table["model"].iloc[-1] == "replicate" and math.isnan(table["bin accuracy %"].iloc[-1])
    assert any("No replicate" in note for note in results.notes)
    assert any("the authors' HDF5 datasets /data/yeast/hdf5datasets." in note
               for note in results.notes)
    assert not any("Demo mode" in note for note in results.notes)


def test_the_study_refuses_models_on_other_windows_or_missing_ones(tmp_path):
    fake_study(tmp_path / "a")
    (tmp_path / "a" / "models" / "dna" / "test_regions.bed").write_text("chr2\t0\t500\t.\t0\t-\n")
    with pytest.raises(InputError, match="evaluated on different windows"):
        fiddle_tss_study.report(tmp_path / "a", "demo")
    fake_study(tmp_path / "b")
    (tmp_path / "b" / "eval" / "combined.summary.json").unlink()
    with pytest.raises(InputError, match=r"combined.summary.json: missing"):
        fiddle_tss_study.report(tmp_path / "b", "demo")
    fake_study(tmp_path / "c")
    shutil.rmtree(tmp_path / "c" / "models" / "rnaseq")
    with pytest.raises(InputError, match="no model of the single input 'rnaseq'"):
        fiddle_tss_study.report(tmp_path / "c", "demo")
    with pytest.raises(InputError, match="no model folders"):
        fiddle_tss_study.report(tmp_path / "d", "demo")


def fake_importance(run_dir: Path, controls=("target", "noise")):
    fake_model(run_dir, "combined", INPUTS, 0.9, 1.1, controls=controls)
    scores = {name: {"necessity": 0.5 + i / 100, "sufficiency": 0.1 + i / 100,
                     "sufficiency_notebook": 0.9 - i / 100}
              for i, name in enumerate([*INPUTS, "control_target", "control_noise"])}
    scores["control_target"] = {"necessity": 0.87, "sufficiency": 0.47,
                                "sufficiency_notebook": 0.53}
    (run_dir / "eval" / "combined.importance.json").write_text(
        json.dumps({"windows": 500, "inputs": scores}))


def test_the_importance_table_has_both_sufficiency_readings_and_the_controls(tmp_path):
    fake_importance(tmp_path)
    results = write_results("fiddle/importance", tmp_path, "demo")
    table = results.table
    assert table["input"].tolist() == [*INPUTS, "control_target", "control_noise"]
    assert table.columns.tolist() == ["input", "role", "necessity", "sufficiency (paper's reading)",
                                      "sufficiency (notebook's score)", "paper (Fig. 4)"]
    target = table[table["input"] == "control_target"].iloc[0]
    assert target["role"] == "control: the target itself (expected: sufficient)"
    assert (target["necessity"], target["sufficiency (paper's reading)"],
            target["sufficiency (notebook's score)"]) == (0.87, 0.47, 0.53)
    assert table["role"].iloc[-1] == "control: white noise (expected: not necessary)"
    assert (table["role"][:5] == "input").all()
    assert table["necessity"][:5].tolist() == pytest.approx([0.5, 0.51, 0.52, 0.53, 0.54])
    assert (table["paper (Fig. 4)"] == "not available here").all()
    page = (tmp_path / "results.md").read_text()
    assert "1 − sigmoid(L_only − L_all): high = sufficient" in page
    assert "bin accuracy 90.0 %" in page and "not available here" in page
    assert (tmp_path / "importance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_importance_needs_a_model_with_both_controls(tmp_path):
    fake_importance(tmp_path, controls=("target",))
    with pytest.raises(InputError, match="trained without the control input 'control_noise'"):
        fiddle_importance.report(tmp_path, "demo")


def fake_grid(run_dir: Path, extra=()):
    """The demo's grid: its models and grid.tsv (with the ``extra`` names)."""
    fake_model(run_dir, "default", INPUTS, 0.62, 1.97)
    fake_model(run_dir, "batch_50", INPUTS, 0.43, 2.80, batch=50)
    fake_model(run_dir, "lr_0.01", INPUTS, 0.616, 1.89, rate=0.01)
    fake_model(run_dir, "filters_x0.5", INPUTS, 0.634, 1.93, filters=(8, 4), scaffold=4)
    names = ["default", "batch_50", "lr_0.01", "filters_x0.5", *extra]
    (run_dir / "grid.tsv").write_text("model\tbatch_size\n" + "".join(f"{n}\t20\n" for n in names))


def test_the_sensitivity_table_groups_the_grid_by_factor_with_its_spread(tmp_path):
    fake_grid(tmp_path)
    fake_model(tmp_path, "batch_10", INPUTS, 0.1, 3.0, batch=10)  # not in the grid: left out
    results = write_results("fiddle/sensitivity", tmp_path, "demo")
    table = results.table
    assert table.columns.tolist() == fiddle_sensitivity.COLUMNS
    assert list(zip(table["factor"], table["value"])) == [
        ("batch size", "20 (default)"), ("batch size", "50"),
        ("batch size", "spread (max − min)"),
        ("learning rate", "0.001 (default)"), ("learning rate", "0.01"),
        ("learning rate", "spread (max − min)"),
        ("filters", "×0.5 (8,4 / 4)"), ("filters", "×1 (16,8 / 8) (default)"),
        ("filters", "spread (max − min)"),
        ("filter width", "5 (default)")]
    spread = table[table["value"] == "spread (max − min)"]
    assert spread["bin accuracy %"].tolist() == pytest.approx([19, 0.4, 1.4])
    assert spread["mean KL"].tolist() == pytest.approx([0.83, 0.08, 0.04])
    assert spread["epochs (best/run)"].isna().all()
    assert (table["paper"] == "not available here").all()
    assert any("Not varied in this run (only the default): filter width (5)" in note
               for note in results.notes)
    for figure in ("sensitivity.png", "learning_curves.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_sensitivity_grid_varies_one_factor_at_a_time(tmp_path):
    fake_grid(tmp_path, extra=["both"])
    fake_model(tmp_path, "both", INPUTS, 0.5, 2.0, batch=50, rate=0.01)
    with pytest.raises(InputError, match="both: differs from default in batch size and learning "
                                         "rate: the grid varies one factor"):
        fiddle_sensitivity.report(tmp_path, "demo")
    grid = tmp_path / "grid.tsv"
    grid.write_text(grid.read_text().replace("default", "base"))
    with pytest.raises(InputError, match="grid.tsv: no 'default' row"):
        fiddle_sensitivity.report(tmp_path, "demo")
    grid.unlink()
    with pytest.raises(InputError, match="grid.tsv: missing"):
        fiddle_sensitivity.report(tmp_path, "demo")


# --- the demo modes end to end (slow: each trains its models)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The built-in demo dataset (ffn-demo's), shared by the demo runs."""
    from fiddle_factornet.demo import make_demo

    return make_demo(tmp_path_factory.mktemp("fiddle-experiments") / "demo")


def run_demo(name, demo, out):
    result = run_script(name, "--demo", "--demo_data", demo, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    for path in ("results.tsv", "results.md", "run.json"):
        assert (out / path).is_file(), path
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["experiment"] == f"fiddle/{name}"
    assert record["commands"] == (out / "commands.log").read_text().splitlines()
    return pd.read_csv(out / "results.tsv", sep="\t"), record["commands"]


def commands_run(commands):
    return [line.split()[0] for line in commands]


@pytest.mark.slow  # ~3.5 min on two CPU cores: six models trained and evaluated
def test_the_tss_study_demo(demo, tmp_path):
    table, commands = run_demo("tss-study", demo, tmp_path)
    rows = ["random", *INPUTS, "combined", "replicate"]
    assert table["model"].tolist() == rows
    assert np.isfinite(table["bin accuracy %"]).all()
    assert table["bin accuracy %"].between(0, 100).all()
    kl = table["mean KL"][1:]
    assert np.isfinite(kl).all() and (kl > 0).all()
    # the paper's ordering, which the demo data reproduce: combined above every single input
    # but below the replicate, every model above random
    accuracy = dict(zip(table["model"], table["bin accuracy %"]))
    assert max(accuracy[name] for name in INPUTS) < accuracy["combined"] < accuracy["replicate"]
    assert min(accuracy[name] for name in ("netseq", "combined")) > 2 * accuracy["random"]
    # the --compare table: the same rows, in the same order
    compared = [line.split()[0] for line in (tmp_path / "compare.txt").read_text().splitlines()
                if "%" in line]
    assert compared == rows
    assert commands_run(commands) == ["ffn-fiddle-train", "ffn-fiddle-evaluate"] * 6 + [
        "ffn-fiddle-evaluate", "ffn-experiment-report"]
    for figure in ("bin_accuracy.png", "learning_curves.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run_script("tss-study", "--demo", "--demo_data", demo, "-o", tmp_path, check_rc=2)
    assert "holds the results of an earlier run" in again.stderr


@pytest.mark.slow  # ~1.5 min: one model trained, evaluated, its inputs scored
def test_the_importance_demo(demo, tmp_path):
    table, commands = run_demo("importance", demo, tmp_path)
    assert table["input"].tolist() == [*INPUTS, "control_target", "control_noise"]
    scores = table[["necessity", "sufficiency (paper's reading)",
                    "sufficiency (notebook's score)"]].to_numpy()
    assert np.isfinite(scores).all() and ((scores > 0) & (scores < 1)).all()
    np.testing.assert_allclose(scores[:, 1] + scores[:, 2], 1, atol=1e-4)
    # the controls: the target itself the most sufficient input, white noise not necessary
    sufficiency = dict(zip(table["input"], scores[:, 1]))
    assert sufficiency["control_target"] > max(sufficiency[name] for name in INPUTS)
    assert abs(table["necessity"].iloc[-1] - 0.5) < 0.05
    assert commands_run(commands) == ["ffn-fiddle-train", "ffn-fiddle-evaluate",
                                      "ffn-fiddle-importance", "ffn-experiment-report"]
    assert "--controls target,noise" in commands[0]
    assert (tmp_path / "importance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # ~5.5 min: five models trained and evaluated
def test_the_sensitivity_demo(demo, tmp_path):
    table, commands = run_demo("sensitivity", demo, tmp_path)
    assert table["factor"].drop_duplicates().tolist() == ["batch size", "learning rate", "filters",
                                                          "filter width"]
    settings = table[table["value"] != "spread (max − min)"]
    assert settings["value"].tolist() == ["20 (default)", "50", "0.001 (default)", "0.01",
                                          "×0.5 (8,4 / 4)", "×1 (16,8 / 8) (default)",
                                          "5 (default)", "9"]
    assert settings["bin accuracy %"].between(0, 100).all()
    assert np.isfinite(settings["mean KL"]).all() and (settings["mean KL"] > 0).all()
    spread = table[table["value"] == "spread (max − min)"]
    assert spread["factor"].tolist() == ["batch size", "learning rate", "filters", "filter width"]
    assert (spread[["bin accuracy %", "mean KL"]] >= 0).all().all()
    assert commands_run(commands) == ["ffn-fiddle-train", "ffn-fiddle-evaluate"] * 5 + [
        "ffn-fiddle-evaluate", "ffn-experiment-report"]
    assert (tmp_path / "grid.tsv").read_text().splitlines() == [
        "model\tbatch_size\tlearning_rate\tmodule_filters\tscaffold_filters\tkernel_width",
        "default\t20\t0.001\t16,8\t8\t5", "batch_50\t50\t0.001\t16,8\t8\t5",
        "lr_0.01\t20\t0.01\t16,8\t8\t5", "filters_x0.5\t20\t0.001\t8,4\t4\t5",
        "width_9\t20\t0.001\t16,8\t8\t9"]
    for figure in ("sensitivity.png", "learning_curves.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
