"""FactorNet's experiment scripts (experiments/factornet/challenge, e2f1-antibody, nanog-negatives,
validation-curves): their flags and input checks, their reports on hand-made run folders, and
(slow) each demo mode end to end."""

import functools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.experiments import (factornet_challenge, factornet_e2f1_antibody,
                                          factornet_nanog_negatives,
                                          factornet_validation_curves)
from fiddle_factornet.experiments.factornet_scores import (METRICS, NOT_AVAILABLE, read_scores,
                                                           score_table)
from fiddle_factornet.experiments.results import write_results

from . import experiment_scripts
from .experiment_scripts import check_run, check_unknown_flag_refused, fake_full_inputs

SCRIPTS = ("challenge", "e2f1-antibody", "nanog-negatives", "validation-curves")
run_script = functools.partial(experiment_scripts.run_script, "factornet")
FIGURES = ("auROC", "auPR", "recall at 50% FDR", "recall at 10% FDR")


# --- flags and input checks (fast: nothing is trained)


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_says_what_it_reproduces_and_how_to_run_the_demo(name):
    result = run_script(name, "--help", check_rc=0)
    assert "--demo" in result.stdout and "Reproduces FactorNet's" in result.stdout
    assert "run time" in result.stdout and "ffn-fetch" in result.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_unknown_flag_is_one_line_and_runs_nothing(name, tmp_path):
    check_unknown_flag_refused("factornet", name, tmp_path)


@pytest.mark.parametrize("name,args,missing", [
    ("challenge", ["--pair", "HNF4A/liver"], "resources/hg19.fa: get it with 'ffn-fetch hg19'"),
    ("e2f1-antibody", [], "resources/hg19.fa: get it with 'ffn-fetch hg19'"),
    ("nanog-negatives", [], "resources/hg19.fa: get it with 'ffn-fetch hg19'"),
    ("validation-curves", [], "resources/hg19.fa: get it with 'ffn-fetch hg19'"),
])
def test_full_mode_without_data_names_what_to_fetch_and_runs_nothing(name, args, missing, tmp_path):
    (tmp_path / "data").mkdir()
    result = run_script(name, "--data", tmp_path / "data", "-o", tmp_path / "run", *args,
                        check_rc=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0], lines
    assert not (tmp_path / "run").exists()


def _fake_full_inputs(data: Path, cells, tfs):
    """The full-mode layout with empty files: the genome, resources, final-round files and the
    cell-type folders (each TF's conservative and relaxed peaks)."""
    fake_full_inputs(data, ["resources/hg19.fa", "resources/blacklist.bed.gz",
                            "resources/cpgisland.bed.gz",
                            *(f"resources/wgEncodeGencodeBasicV19.{k}.merged.bed.gz"
                              for k in ("cds", "intron", "promoter", "utr5", "utr3")),
                            "resources/test_regions.blacklistfiltered.bed.gz",
                            *(f"labels/{tf}.test.labels.tsv.gz" for tf in tfs)],
                     cells, tfs, relaxed=True)


def test_full_mode_names_the_cell_type_group_of_a_missing_bigwig(tmp_path):
    data = tmp_path / "data"
    _fake_full_inputs(data, ["H1-hESC", "induced_pluripotent_stem_cell"], ["NANOG"])
    (data / "induced_pluripotent_stem_cell" / "induced_pluripotent_stem_cell.1x.bw").unlink()
    result = run_script("nanog-negatives", "--data", data, "-o", tmp_path / "run", check_rc=2)
    assert result.stderr.strip() == (
        f"factornet/nanog-negatives: error: missing input {data}/induced_pluripotent_stem_cell/"
        "induced_pluripotent_stem_cell.1x.bw: get it with 'ffn-fetch "
        "dream-induced_pluripotent_stem_cell' (see README 'Data')")
    assert not (tmp_path / "run").exists()


def test_full_mode_challenge_checks_every_reference_cell_type_of_the_pair(tmp_path):
    data = tmp_path / "data"
    _fake_full_inputs(data, ["HepG2", "liver"], ["HNF4A"])
    result = run_script("challenge", "--data", data, "-o", tmp_path / "run", "--pair",
                        "E2F1/K562", check_rc=2)
    assert ("labels/E2F1.test.labels.tsv.gz: get it with 'ffn-fetch dream-final-round'"
            in result.stderr)
    (data / "labels" / "E2F1.test.labels.tsv.gz").touch()
    result = run_script("challenge", "--data", data, "-o", tmp_path / "run", "--pair",
                        "E2F1/K562", check_rc=2)
    assert "'ffn-fetch dream-GM12878'" in result.stderr  # E2F1's references: GM12878, HeLa-S3


@pytest.mark.parametrize("args,message", [
    ([], "--pair is required in full mode"),
    (["--pair", "CTCF/liver"], "unknown --pair 'CTCF/liver'"),
    (["--pair"], "--pair needs a value"),
])
def test_challenge_needs_a_final_round_pair(args, message, tmp_path):
    (tmp_path / "data").mkdir()
    result = run_script("challenge", "--data", tmp_path / "data", "-o", tmp_path / "run", *args,
                        check_rc=2)
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_finished_run_is_not_replaced_without_overwrite(name, tmp_path):
    (tmp_path / "results.tsv").write_text("model\n")
    result = run_script(name, "--demo", "-o", tmp_path, check_rc=2)
    assert "--overwrite" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.tsv"]


def test_a_cell_type_without_the_recipes_tracks_stops_before_training(small_demo, tmp_path):
    demo = tmp_path / "demo"
    shutil.copytree(small_demo, demo)
    bigwig = demo / "factornet" / "demoB" / "bigwig.txt"
    bigwig.write_text(bigwig.read_text().replace("DGF", "DNase"))
    result = run_script("validation-curves", "--demo", "--demo_data", demo, "-o", tmp_path / "run",
                        check_rc=2)
    assert result.stderr.strip() == (f"factornet/validation-curves: error: {bigwig}: the tracks "
                                     "Unique35, DGF are not all there")
    assert not (tmp_path / "run" / "commands.log").exists()  # no command ran


def test_validation_must_be_on_another_cell_type(small_demo, tmp_path):
    result = run_script("validation-curves", "--demo", "--demo_data", small_demo, "-o", tmp_path,
                        "--valid", "demoA", check_rc=2)
    assert "--valid demoA is a training cell type" in result.stderr
    assert not (tmp_path / "commands.log").exists()


# --- reports on hand-made run folders (the table logic, without training)


def write_scores(run_dir: Path, name: str, seed: int, cell_type: str = "liver") -> dict:
    """scores/<name>.json and its run record as ffn-evaluate writes them; the figures."""
    rng = np.random.default_rng(seed)
    figures = {"n_bins": 1000, "n_positive": 20, "positive_rate": 0.02,
               "auroc": float(rng.uniform(0.8, 1)), "aupr": float(rng.uniform(0.1, 0.6)),
               "average_precision": 0.3, "recall_at_fdr_0.5": float(rng.uniform(0, 0.5)),
               "recall_at_fdr_0.25": 0.1, "recall_at_fdr_0.1": float(rng.uniform(0, 0.2)),
               "recall_at_fdr_0.05": 0.0}
    (run_dir / "scores").mkdir(parents=True, exist_ok=True)
    (run_dir / "scores" / f"{name}.json").write_text(json.dumps(figures))
    (run_dir / "scores" / f"{name}.run.json").write_text(
        json.dumps({"settings": {"cell_type": cell_type}}))
    return figures


def write_model(run_dir: Path, name: str, factor, cells, valid_cells=(), tfs=None,
                val_loss=(0.5, 0.3, 0.4), loss=(0.6, 0.4, 0.2)) -> None:
    """models/<name>/ with the run.json, history.json and bigwig.txt ffn-train writes."""
    folder = run_dir / "models" / name
    folder.mkdir(parents=True)
    best = int(np.argmin(val_loss))
    record = {
        "settings": {"input_dirs": [f"/data/{c}" for c in cells], "factor": factor,
                     "valid_input_dirs": [f"/data/{c}" for c in valid_cells],
                     "valid_chroms": ["chr11"], "meta": False, "annotations_dir": None,
                     "negatives": 1, "epochs": len(val_loss)},
        "architecture": {"input_length": 1002, "kernel_width": 34, "kernels": 32,
                         "recurrent": 32, "dense": 64, "dropout": 0.2},
        "tfs": tfs or [factor], "epochs_done": len(val_loss), "best_epoch": best + 1,
        "best_val_loss": val_loss[best]}
    (folder / "run.json").write_text(json.dumps(record))
    (folder / "history.json").write_text(json.dumps({"loss": list(loss),
                                                     "val_loss": list(val_loss)}))
    (folder / "bigwig.txt").write_text("Unique35\nDGF\n")


def test_read_scores_names_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(InputError, match=r"scores/x\.json: missing"):
        read_scores(tmp_path, "x")
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "x.json").write_text('{"auroc": 0.9}')
    with pytest.raises(InputError, match="no aupr, recall_at_fdr_0.5, recall_at_fdr_0.1"):
        read_scores(tmp_path, "x")


def test_score_table_puts_each_paper_figure_beside_ours(tmp_path):
    ours = write_scores(tmp_path, "a", 1)
    table = score_table(tmp_path, [({"model": "a"}, "a")], [{"auPR": 0.5}])
    assert list(table.columns) == ["model", "auROC", "paper auROC", "auPR", "paper auPR",
                                   "recall at 50% FDR", "paper recall at 50% FDR",
                                   "recall at 10% FDR", "paper recall at 10% FDR"]
    row = table.iloc[0]
    assert [row[c] for c in METRICS.values()] == [ours[k] for k in METRICS]
    assert row["paper auPR"] == 0.5 and math.isnan(row["paper auROC"])


@pytest.mark.parametrize("mode", ["full", "demo"])
def test_challenge_report_rows_per_pair(tmp_path, mode):
    pairs = [("HNF4A", "liver"), ("CTCF", "PC-3")]
    expected = {}
    for i, (tf, cell) in enumerate(pairs):
        for j, kind in enumerate(("single-task", "multi-task", "rank-average")):
            expected[(tf, cell, kind)] = write_scores(tmp_path, f"{tf}.{cell}.{kind}", 3 * i + j)
        write_model(tmp_path, f"single-task.{tf}", tf, ["HepG2", "K562"])
    write_model(tmp_path, "multi-task.HepG2", None, ["HepG2"], tfs=["CTCF", "HNF4A", "MAX"])
    (tmp_path / "scores" / "notes.json").write_text("{}")  # not a pair's: ignored
    results = factornet_challenge.report(tmp_path, mode)
    table = results.table
    assert table[["TF", "cell type", "model"]].values.tolist() == [
        [tf, cell, row] for tf, cell in sorted(pairs)
        for row in ("single-task", "multi-task", "rank average")]
    kinds = {"single-task": "single-task", "multi-task": "multi-task",
             "rank average": "rank-average"}
    for row in table.itertuples(index=False):
        figures = expected[(row.TF, row[1], kinds[row.model])]
        assert row.auROC == figures["auroc"] and row.auPR == figures["aupr"]
    paper = table[[f"paper {c}" for c in FIGURES]].to_numpy().ravel()
    if mode == "full":
        assert (paper == NOT_AVAILABLE).all()
    else:
        assert all(math.isnan(v) for v in paper)
    notes = "\n".join(results.notes)
    assert "`multi-task.HepG2`: multi-task (3 TFs) on HepG2, tracks Unique35, DGF" in notes
    assert "`single-task.CTCF`: single-task (CTCF) on HepG2, K562" in notes
    assert "best epoch 2 (validation loss 0.3000)" in notes


def test_challenge_report_of_an_empty_or_unfinished_run(tmp_path):
    with pytest.raises(InputError, match="no scores of a pair"):
        factornet_challenge.report(tmp_path, "full")
    write_scores(tmp_path, "HNF4A.liver.single-task", 1)
    write_model(tmp_path, "single-task.HNF4A", "HNF4A", ["HepG2"])
    with pytest.raises(InputError, match=r"HNF4A\.liver\.multi-task\.json: missing"):
        factornet_challenge.report(tmp_path, "full")


def test_e2f1_antibody_report(tmp_path):
    for i, cell in enumerate(("GM12878", "HeLa-S3")):
        for j, kind in enumerate(("single-task", "multi-task")):
            write_scores(tmp_path, f"{kind}.{cell}", 2 * i + j, cell_type="K562")
            write_model(tmp_path, f"{kind}.{cell}", "E2F1" if kind == "single-task" else None,
                        [cell], tfs=None if kind == "single-task" else ["E2F1", "MAX"])
    results = factornet_e2f1_antibody.report(tmp_path, "full")
    assert results.table[["trained on", "model"]].values.tolist() == [
        ["GM12878", "single-task"], ["GM12878", "multi-task"], ["HeLa-S3", "single-task"],
        ["HeLa-S3", "multi-task"]]
    assert (results.table["paper auPR"] == NOT_AVAILABLE).all()
    assert "E2F1 in K562" in results.title and "Fig. S2C-D" in results.title


def test_nanog_negatives_report_orders_negatives_by_number(tmp_path):
    write_scores(tmp_path, "multi-task", 0, cell_type="induced_pluripotent_stem_cell")
    write_model(tmp_path, "multi-task", None, ["H1-hESC"], tfs=["NANOG", "CTCF"])
    for n in (10, 2, 1, 5):
        write_scores(tmp_path, f"single-task.n{n}", n, cell_type="induced_pluripotent_stem_cell")
        write_model(tmp_path, f"single-task.n{n}", "NANOG", ["H1-hESC"])
    table = factornet_nanog_negatives.report(tmp_path, "full").table
    assert table["model"].tolist() == ["multi-task"] + ["single-task"] * 4
    assert math.isnan(table["negatives per positive"][0])
    assert table["negatives per positive"][1:].tolist() == [1, 2, 5, 10]
    assert table["auROC"].tolist() == [read_scores(tmp_path, n)["auROC"] for n in
                                       ["multi-task", "single-task.n1", "single-task.n2",
                                        "single-task.n5", "single-task.n10"]]


def test_validation_curves_report_finds_each_runs_best_epoch(tmp_path):
    write_model(tmp_path, "within-cell-type", "CTCF", ["HepG2"], val_loss=(0.5, 0.3, 0.4))
    write_model(tmp_path, "cross-cell-type", "CTCF", ["HepG2"], valid_cells=["K562"],
                val_loss=(0.6, 0.55, 0.5))
    table = factornet_validation_curves.report(tmp_path, "full").table
    assert table["validation"].tolist() == ["within cell type", "cross cell type"]
    assert table["validated on"].tolist() == ["chr11 of HepG2", "chr11 of K562"]
    assert table["best epoch"].tolist() == [2, 3]
    assert table["best validation loss"].tolist() == [0.3, 0.5]
    assert table["last validation loss"].tolist() == [0.4, 0.5]
    assert table["training loss at best epoch"].tolist() == [0.4, 0.2]


def test_reports_write_their_tables_and_plots(tmp_path):
    """write_results draws every figure of the reports above (on their hand-made folders)."""
    runs = {"factornet/challenge": tmp_path / "challenge",
            "factornet/validation-curves": tmp_path / "curves"}
    for tf in ("HNF4A", "FOXA1"):
        for j, kind in enumerate(("single-task", "multi-task", "rank-average")):
            write_scores(runs["factornet/challenge"], f"{tf}.liver.{kind}", j)
    write_model(runs["factornet/challenge"], "multi-task.HepG2", None, ["HepG2"], tfs=["HNF4A"])
    write_model(runs["factornet/validation-curves"], "within-cell-type", "CTCF", ["HepG2"])
    write_model(runs["factornet/validation-curves"], "cross-cell-type", "CTCF", ["HepG2"],
                valid_cells=["K562"])
    for experiment, run_dir in runs.items():
        results = write_results(experiment, run_dir, "full")
        for name in ["results.tsv", "results.md", "run.json", *results.figures]:
            assert (run_dir / name).stat().st_size > 0, name
        assert len(pd.read_csv(run_dir / "results.tsv", sep="\t")) == len(results.table)


# --- the demo modes end to end (slow: each trains small models for a minute or more)


def check_scores(table: pd.DataFrame) -> None:
    values = table[list(FIGURES)].to_numpy(dtype=float)
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()


@pytest.mark.slow
def test_challenge_demo(small_demo, tmp_path):
    run_script("challenge", "--demo", "--demo_data", small_demo, "-o", tmp_path, check_rc=0)
    per_pair = ["ffn-predict", "ffn-evaluate", "ffn-predict", "ffn-evaluate", "ffn-bag",
                "ffn-evaluate"]
    table = check_run(tmp_path, ["scores.png"],
                      ["ffn-train", "ffn-train", *per_pair, "ffn-train", *per_pair,
                       "ffn-experiment-report"])
    assert table[["TF", "model"]].values.tolist() == [
        [tf, model] for tf in ("CTCF", "HNF4A")
        for model in ("single-task", "multi-task", "rank average")]
    assert (table["cell type"] == "demoC").all()
    check_scores(table)


@pytest.mark.slow
def test_e2f1_antibody_demo(small_demo, tmp_path):
    run_script("e2f1-antibody", "--demo", "--demo_data", small_demo, "-o", tmp_path, check_rc=0)
    table = check_run(tmp_path, ["scores.png"],
                      ["ffn-train", "ffn-predict", "ffn-evaluate"] * 4 + ["ffn-experiment-report"])
    assert table[["trained on", "model"]].values.tolist() == [
        [cell, model] for cell in ("demoA", "demoB") for model in ("single-task", "multi-task")]
    check_scores(table)


@pytest.mark.slow
def test_nanog_negatives_demo(small_demo, tmp_path):
    run_script("nanog-negatives", "--demo", "--demo_data", small_demo, "-o", tmp_path, check_rc=0)
    table = check_run(tmp_path, ["scores.png"],
                      ["ffn-train", "ffn-predict", "ffn-evaluate"] * 5 + ["ffn-experiment-report"])
    assert table["model"].tolist() == ["multi-task"] + ["single-task"] * 4
    assert table["negatives per positive"][1:].tolist() == [1, 2, 5, 10]
    check_scores(table)
    negatives = [json.loads((tmp_path / "models" / f"single-task.n{n}" / "run.json").read_text())
                 ["settings"]["negatives"] for n in (1, 2, 5, 10)]
    assert negatives == [1, 2, 5, 10]


@pytest.mark.slow
def test_validation_curves_demo(small_demo, tmp_path):
    run_script("validation-curves", "--demo", "--demo_data", small_demo, "-o", tmp_path,
               check_rc=0)
    table = check_run(tmp_path, ["validation_curves.png"],
                      ["ffn-train", "ffn-train", "ffn-experiment-report"])
    assert table["validated on"].tolist() == ["chr11 of demoA", "chr11 of demoB"]
    assert (table["epochs run"] == 10).all()
    losses = table[["best validation loss", "last validation loss"]].to_numpy()
    assert np.isfinite(losses).all() and (losses > 0).all()
    assert (table["best validation loss"] <= table["last validation loss"]).all()
    histories = [json.loads((tmp_path / "models" / name / "history.json").read_text())
                 for name in ("within-cell-type", "cross-cell-type")]
    assert histories[0]["val_loss"] != histories[1]["val_loss"]  # validated on other data
