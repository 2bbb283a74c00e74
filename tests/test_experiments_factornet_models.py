"""FactorNet's experiment scripts that read models (experiments/factornet/interpret and
original-models): their flags and input checks, their reports on hand-made run folders, and
(slow) each demo mode end to end."""

import functools
import gzip
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.experiments import factornet_interpret, factornet_original_models
from fiddle_factornet.experiments.results import write_results
from fiddle_factornet.factornet.motifs import write_meme

from . import experiment_scripts
from .experiment_scripts import (ROOT, check_run, check_unknown_flag_refused,
                                 fake_demo_dataset, fake_full_inputs)

SCRIPTS = ("interpret", "original-models")
REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
#: the TFs whose two published models are both shipped (models/factornet/)
DEMO_TFS = ("E2F1", "EGR1", "GABPA", "NANOG")
run_script = functools.partial(experiment_scripts.run_script, "factornet")


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """The default demo dataset (ffn-demo), made once for this module's demo runs."""
    folder = tmp_path_factory.mktemp("factornet_models") / "demo"
    subprocess.run([str(ROOT / ".venv" / "bin" / "ffn-demo"), "-o", str(folder)], check=True,
                   capture_output=True)
    return folder


@pytest.fixture
def fake_demo(tmp_path):
    """A folder that passes for an ffn-demo dataset (its run.json), for runs that stop early."""
    return fake_demo_dataset(tmp_path / "fake_demo")


# --- flags and input checks (fast: nothing is trained or predicted)


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_says_what_it_reproduces_and_how_to_run_the_demo(name):
    result = run_script(name, "--help", check_rc=0)
    assert "--demo" in result.stdout and "ffn-fetch" in result.stdout
    assert "run time" in result.stdout and result.stdout.startswith("usage:")


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_unknown_flag_is_one_line_and_runs_nothing(name, tmp_path):
    check_unknown_flag_refused("factornet", name, tmp_path)


@pytest.mark.parametrize("name", SCRIPTS)
def test_full_mode_without_data_names_what_to_fetch_and_runs_nothing(name, tmp_path):
    (tmp_path / "data").mkdir()
    result = run_script(name, "--data", tmp_path / "data", "-o", tmp_path / "run", check_rc=2)
    assert "resources/hg19.fa: get it with 'ffn-fetch hg19'" in one_line(result)
    assert not (tmp_path / "run").exists()


def _fake_full_inputs(data: Path, cells, tfs=()):
    """The full-mode layout with empty files: genome, resources and cell-type folders."""
    fake_full_inputs(data, ["resources/hg19.fa", "resources/blacklist.bed.gz",
                            "resources/cpgisland.bed.gz", "resources/HOCOMOCOv9.meme",
                            "resources/sample_ladder_regions.blacklistfiltered.bed.gz"],
                     cells, tfs, relaxed=False)


def test_interpret_full_mode_names_a_missing_cell_type_file(tmp_path):
    data = tmp_path / "data"
    _fake_full_inputs(data, ["HepG2"], ["HNF4A", "FOXA1"])
    (data / "HepG2" / "HepG2.1x.bw").unlink()
    result = run_script("interpret", "--data", data, "-o", tmp_path / "run", check_rc=2)
    assert one_line(result) == (f"factornet/interpret: error: missing input {data}/HepG2/"
                                "HepG2.1x.bw: get it with 'ffn-fetch dream-HepG2' (see README "
                                "'Data')")
    (data / "resources" / "HOCOMOCOv9.meme").unlink()
    assert "HOCOMOCOv9.meme: get it with 'ffn-fetch factornet-resources'" in one_line(
        run_script("interpret", "--data", data, "-o", tmp_path / "run", check_rc=2))
    assert not (tmp_path / "run").exists()


def test_interpret_refuses_a_model_that_is_not_a_folder_it_can_read(tmp_path, fake_demo):
    result = run_script("interpret", "--demo", "--demo_data", fake_demo, "-o", tmp_path / "run",
                        "--model", tmp_path, check_rc=2)
    assert f"--model {tmp_path}: not a model folder" in one_line(result)
    assert not (tmp_path / "run").exists()


def test_original_models_full_mode_checks_the_regions_cell_types_and_models(tmp_path):
    data = tmp_path / "data"
    _fake_full_inputs(data, ["K562"])
    base = ["--data", data, "-o", tmp_path / "run"]
    run = [*base, "--tf", "E2F1"]
    assert ("resources/ladder_regions.blacklistfiltered.bed.gz: get it with 'ffn-fetch "
            "dream-final-round'") in one_line(run_script("original-models", *run, check_rc=2))
    run += ["--regions", data / "resources" / "sample_ladder_regions.blacklistfiltered.bed.gz"]
    models = tmp_path / "models"
    (models / "E2F1" / "GENCODE_Unique35_DGF").mkdir(parents=True)
    (models / "E2F1" / "GENCODE_Unique35_DGF" / "run.json").write_text("{}")
    line = one_line(run_script("original-models", *run, "--models", models, check_rc=2))
    assert line == (f"factornet/original-models: error: missing model {models}/E2F1/"
                    "onePeak_Unique35_DGF: fetch and convert the original's models with "
                    "'ffn-models --fetch_originals' (or give --originals DIR)")
    assert "no E2F1.test.labels.tsv.gz there" in one_line(
        run_script("original-models", *run, "--labels", tmp_path, check_rc=2))
    assert "missing original model" in one_line(
        run_script("original-models", *run, "--originals", tmp_path, check_rc=2))
    assert "unknown --tf 'SOX2'" in one_line(
        run_script("original-models", *base, "--tf", "SOX2", check_rc=2))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_finished_run_is_not_replaced_without_overwrite(name, tmp_path):
    (tmp_path / "results.tsv").write_text("kernel\n")
    result = run_script(name, "--demo", "-o", tmp_path, check_rc=2)
    assert "--overwrite" in one_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.tsv"]


# --- interpret's report on a hand-made run folder


def _motif_run(folder: Path, database: str, model_dir: Path, best: dict, ppms, signals,
               sites) -> None:
    """An ffn-motifs output folder: ``best`` {(layer, kernel): (name, id, q)}; ``ppms`` and
    ``signals`` per layer (k, w, 4) and (k, w); ``sites`` per layer (k,)."""
    folder.mkdir()
    rows = []
    for layer, suffix in (("conv", ""), ("conv_dense", "2")):
        kept = np.flatnonzero(sites[layer])
        write_meme(folder / f"motifs{suffix}.meme", [f"M{k} O{k}" for k in kept],
                   ppms[layer][kept], sites[layer][kept])
        np.save(folder / f"DGF_meansignal{suffix}.npy", signals[layer])
        rows += [{"layer": layer, "kernel": k, "nsites": int(n), "bits": 2.0 + k}
                 for k, n in enumerate(sites[layer])]
    pd.DataFrame(rows).to_csv(folder / "kernels.tsv", sep="\t", index=False)
    matches = [{"layer": layer, "kernel": k, "rank": rank, "target_id": f"{ident}.{rank}",
                "target_name": name, "p_value": q / 10, "e_value": q, "q_value": q * rank,
                "offset": 0, "orientation": "+", "overlap": 8, "query_start": 0, "query_end": 8}
               for (layer, k), (name, ident, q) in best.items() for rank in (1, 2)]
    with open(folder / "matches.tsv", "w") as out:
        out.write("# kernel motifs matched by TOMTOM\n")
        pd.DataFrame(matches).to_csv(out, sep="\t", index=False)
    (folder / "run.json").write_text(json.dumps({
        "settings": {"model_dir": str(model_dir), "bed": "/run/peaks.HepG2.bed.gz",
                     "chroms": ["chr11"], "trim_bits": 0.2},
        "windows": 1234, "motif_database": {"description": f"{database} release", "motifs": 9}}))


def _interpret_run(run_dir: Path) -> Path:
    """A run folder with two ffn-motifs outputs (JASPAR, HOCOMOCO) of a 3-kernel model whose
    kernel 0 has a 4-column core (HNF4A), kernel 1 a core filling it (FOXA1), kernel 2 no
    sites; the model folder outside the run (--model)."""
    run_dir.mkdir(parents=True)
    model = run_dir.parent / "model"
    model.mkdir()
    (model / "chip.txt").write_text("HNF4A\nFOXA1\nCTCF\n")
    flat = np.full(4, 0.25)
    peak = np.array([0.97, 0.01, 0.01, 0.01])
    ppms = {"conv": np.stack([[flat, flat, peak, peak, peak, peak, flat, flat],
                              [peak] * 8, [flat] * 8]),
            "conv_dense": np.stack([[peak] * 2 + [flat] * 6] * 3)}
    signals = {"conv": np.array([[2, 2, 1, 1, 1, 1, 2, 2], [1] * 8, [0] * 8], float),
               "conv_dense": np.ones((3, 8))}
    sites = {"conv": np.array([50, 7, 0]), "conv_dense": np.array([0, 3, 0])}
    _motif_run(run_dir / "motifs.hocomoco", "HOCOMOCO", model,
               {("conv", 0): ("HNF4A", "HNF4A_f1", 1e-4), ("conv", 1): ("FOXA2", "FOXA2_f1", 0.2),
                ("conv_dense", 1): ("CTCF", "CTCF_f2", 0.5)}, ppms, signals, sites)
    _motif_run(run_dir / "motifs.jaspar", "JASPAR", model,
               {("conv", 0): ("HNF4G", "MA0484", 0.01), ("conv", 1): ("FOXA1::FOXA2", "MA9", 0.03)},
               ppms, signals, sites)
    return model


def test_interpret_report_tables_each_kernel_with_sites(tmp_path):
    run_dir = tmp_path / "run"
    _interpret_run(run_dir)
    results = factornet_interpret.report(run_dir, "full")
    table = results.table
    assert list(table.columns) == ["layer", "kernel", "sites", "information content (bits)",
                                   "JASPAR match", "JASPAR q", "HOCOMOCO v9 match",
                                   "HOCOMOCO v9 q", "DNase footprint depth"]
    assert table[["layer", "kernel", "sites"]].values.tolist() == [
        ["conv", 0, 50], ["conv", 1, 7], ["conv_dense", 1, 3]]
    assert table["JASPAR match"].tolist()[:2] == ["HNF4G (MA0484.1)", "FOXA1::FOXA2 (MA9.1)"]
    assert math.isnan(table["JASPAR q"][2]) and table["HOCOMOCO v9 q"].tolist() == [1e-4, 0.2, 0.5]
    # kernel 0: core columns 2-5 hold 1, the flanks 2: depth 1 - 1/2; kernel 1: core fills it
    assert table["DNase footprint depth"][0] == pytest.approx(0.5)
    assert math.isnan(table["DNase footprint depth"][1])
    notes = "\n".join(results.notes)
    assert "1,234 windows" in notes and "on chr11" in notes
    assert "- JASPAR (JASPAR release, 9 motifs): 2 of 2 first-layer kernels match" in notes
    assert "- HOCOMOCO v9 (HOCOMOCO release, 9 motifs): 1 of 2 first-layer kernels" in notes
    assert "(names compared exactly): HNF4A, FOXA1; not found: CTCF." in notes
    assert "could not be read where this was written" in notes
    assert "[motifs.jaspar/logo_sheet.png](motifs.jaspar/logo_sheet.png)" in notes
    assert "![kernel 0](motifs.jaspar/logos/kernel_0.png)" in notes
    assert list(results.figures) == ["footprints.png"]


def test_interpret_report_of_an_empty_or_mismatched_run(tmp_path):
    with pytest.raises(InputError, match="no motifs.<database>/kernels.tsv"):
        factornet_interpret.report(tmp_path, "full")
    run_dir = tmp_path / "run"
    _interpret_run(run_dir)
    kernels = run_dir / "motifs.jaspar" / "kernels.tsv"
    kernels.write_text(kernels.read_text().replace("\t50\t", "\t49\t"))
    with pytest.raises(InputError, match="different models or windows"):
        factornet_interpret.report(run_dir, "full")


def test_footprint_depth_is_that_of_the_core_against_the_flanks():
    flat, peak = np.full(4, 0.25), np.array([1.0, 0, 0, 0])
    ppm = np.array([flat, peak, peak, flat, flat])
    assert factornet_interpret.footprint_depth(ppm, np.array([4, 1, 1, 4, 4.0])) == 0.75
    assert factornet_interpret.footprint_depth(ppm, np.array([1, 2, 2, 1, 1.0])) == -1.0
    assert math.isnan(factornet_interpret.footprint_depth(ppm, np.array([0, 1, 1, 0, 0.0])))
    assert math.isnan(factornet_interpret.footprint_depth(np.array([flat] * 5), np.ones(5)))


# --- original-models' report on a hand-made run folder


def _submission(path: Path, scores) -> None:
    rows = "".join(f"chr1\t{50 * i}\t{50 * i + 200}\t{s:.9g}\n" for i, s in enumerate(scores))
    with gzip.open(path, "wt") as handle:
        handle.write(rows)


def _original_models_run(run_dir: Path, scored: bool) -> dict:
    """Two pairs' predictions (two models and the bag each); with ``scored`` their scores."""
    rng = np.random.default_rng(0)
    predictions = run_dir / "predictions"
    predictions.mkdir(parents=True)
    expected = {}
    for tf, cell, models in [("NANOG", "induced_pluripotent_stem_cell", ("onePeak_X", "GENCODE_X")),
                             ("E2F1", "K562", ("onePeak_Y", "GENCODE_Y"))]:
        first = rng.uniform(0, 1, 30)
        second = first + rng.normal(0, 0.3, 30).clip(-first, 1 - first)
        first[:4] = second[:4] = 0  # blacklisted
        for model, scores in zip(models, (first, second)):
            _submission(predictions / f"{tf}.{cell}.{model}.tab.gz", scores)
        _submission(predictions / f"F.{tf}.{cell}.tab.gz", (first + second) / 2)
        expected[tf] = pd.Series(first[4:]).corr(pd.Series(second[4:]), method="spearman")
        if scored:
            (run_dir / "scores").mkdir(exist_ok=True)
            for i, name in enumerate([f"F.{tf}.{cell}", *(f"{tf}.{cell}.{m}" for m in models)]):
                (run_dir / "scores" / f"{name}.json").write_text(json.dumps(
                    {"auroc": 0.9 - i / 10, "aupr": 0.5 - i / 10, "recall_at_fdr_0.5": 0.4,
                     "recall_at_fdr_0.1": 0.2}))
    return expected


@pytest.mark.parametrize("scored", [False, True])
def test_original_models_report_rows_per_submission(tmp_path, scored):
    expected = _original_models_run(tmp_path, scored)
    (tmp_path / "predictions" / "stray.tab.gz").touch()  # not a submission: ignored
    results = factornet_original_models.report(tmp_path, "full")
    table = results.table
    columns = ["TF", "cell type", "model 1", "model 2", "bagging", "bins",
               "bins scored 0 by both", "Spearman (model 1, model 2)"]
    if scored:
        columns += ["auROC", "auPR", "recall at 50% FDR", "recall at 10% FDR",
                    "model 1 auROC", "model 1 auPR", "model 2 auROC", "model 2 auPR"]
    assert list(table.columns) == columns
    assert table[["TF", "cell type", "model 1", "model 2"]].values.tolist() == [
        ["E2F1", "K562", "GENCODE_Y", "onePeak_Y"],
        ["NANOG", "induced_pluripotent_stem_cell", "GENCODE_X", "onePeak_X"]]
    assert (table["bins"] == 30).all() and (table["bins scored 0 by both"] == 4).all()
    assert (table["bagging"] == "rank average").all()
    # sorted model names: model 1 is the second file written, so the correlation is symmetric
    assert table["Spearman (model 1, model 2)"].tolist() == pytest.approx(
        [expected["E2F1"], expected["NANOG"]])
    if scored:
        assert table["auROC"].tolist() == [0.9, 0.9]
        # written: the bag 0.9, onePeak 0.8, GENCODE 0.7; model 1 is GENCODE (sorted names)
        assert table[["model 1 auROC", "model 2 auROC"]].values.tolist() == [[0.7, 0.8]] * 2
    notes = "\n".join(results.notes)
    assert ("not scored" in notes) != scored
    assert "either rank averages or averages" in notes


def test_original_models_report_of_an_empty_or_unfinished_run(tmp_path):
    with pytest.raises(InputError, match="no submission F.<TF>.<cell type>.tab.gz"):
        factornet_original_models.report(tmp_path, "full")
    _original_models_run(tmp_path, scored=False)
    (tmp_path / "predictions" / "E2F1.K562.onePeak_Y.tab.gz").unlink()
    with pytest.raises(InputError, match=r"F\.E2F1\.K562\.tab\.gz bags 1 model prediction"):
        factornet_original_models.report(tmp_path, "full")


def test_spearman_of_ties_and_constant_scores():
    assert factornet_original_models.spearman(np.array([1, 2, 2, 3.0]),
                                              np.array([1, 3, 3, 4.0])) == pytest.approx(1.0)
    assert math.isnan(factornet_original_models.spearman(np.ones(3), np.arange(3.0)))


def test_reports_write_their_tables_and_plots(tmp_path):
    runs = {"factornet/interpret": tmp_path / "interpret" / "run",
            "factornet/original-models": tmp_path / "original-models"}
    _interpret_run(runs["factornet/interpret"])
    _original_models_run(runs["factornet/original-models"], scored=True)
    for experiment, run_dir in runs.items():
        results = write_results(experiment, run_dir, "full")
        for name in ["results.tsv", "results.md", "run.json", *results.figures]:
            assert (run_dir / name).stat().st_size > 0, name
        assert len(pd.read_csv(run_dir / "results.tsv", sep="\t")) == len(results.table)


# --- the demo modes end to end (slow)


@pytest.mark.slow
def test_interpret_demo_finds_the_planted_motifs(demo_data, tmp_path):
    run_script("interpret", "--demo", "--demo_data", demo_data, "-o", tmp_path, check_rc=0)
    table = check_run(tmp_path, ["footprints.png"],
                      ["ffn-train", "ffn-motifs", "ffn-motifs", "ffn-experiment-report"])
    assert list(table.columns) == ["layer", "kernel", "sites", "information content (bits)",
                                   "demo motifs match", "demo motifs q", "JASPAR match",
                                   "JASPAR q", "DNase footprint depth"]
    assert (table["sites"] > 0).all() and np.isfinite(table["information content (bits)"]).all()
    q = table[["demo motifs q", "JASPAR q"]].to_numpy(float)
    assert ((q[~np.isnan(q)] >= 0) & (q[~np.isnan(q)] <= 1)).all()
    first = table[table["layer"] == "conv"]
    for tf in ("CTCF", "HNF4A"):
        found = first[first["demo motifs match"].str.startswith(f"{tf} (", na=False)]
        assert (found["demo motifs q"] <= 0.05).any(), (tf, table.to_string())
    ctcf = first[first["demo motifs match"].str.startswith("CTCF (", na=False)
                 & (first["demo motifs q"] <= 0.05)]
    assert (ctcf["JASPAR match"].str.startswith("CTCF").any())
    for key in ("demo", "jaspar"):
        assert (tmp_path / f"motifs.{key}" / "logo_sheet.png").is_file()


@pytest.mark.slow
def test_original_models_demo_bags_the_shipped_pairs(demo_data, tmp_path):
    from fiddle_factornet.shipped import CHECK_CHROMS

    labels = tmp_path / "labels"
    labels.mkdir()
    rng = np.random.default_rng(3)
    bins = [(chrom, start) for chrom, size in CHECK_CHROMS for start in range(0, size - 199, 50)]
    for tf in DEMO_TFS:
        lines = ["chr\tstart\tstop\tsynthetic\n"]
        lines += [f"{chrom}\t{start}\t{start + 200}\t{rng.choice(list('BUUUUA'))}\n"
                  for chrom, start in bins]
        with gzip.open(labels / f"{tf}.test.labels.tsv.gz", "wt") as handle:
            handle.write("".join(lines))
    run = tmp_path / "run"
    run_script("original-models", "--demo", "--demo_data", demo_data, "-o", run, "--labels",
               labels, check_rc=0)
    pair = ["ffn-predict", "ffn-predict", "ffn-bag"] + ["ffn-evaluate"] * 3
    # the synthetic cell type is written first
    table = check_run(run, ["agreement.png"], ["ffn-models"] + pair * 4 + ["ffn-experiment-report"])
    assert table["TF"].tolist() == list(DEMO_TFS)
    assert (table["cell type"] == "synthetic").all() and (table["bins"] == len(bins)).all()
    rho = table["Spearman (model 1, model 2)"].to_numpy()
    assert np.isfinite(rho).all() and (np.abs(rho) <= 1).all()
    scores = table[["auROC", "auPR", "model 1 auROC", "model 2 auROC"]].to_numpy(float)
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    for tf in DEMO_TFS:
        assert (run / "predictions" / f"F.{tf}.synthetic.tab.gz").is_file()


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get(REFERENCE_ENV), reason=f"{REFERENCE_ENV} is unset: it "
                    "points at the reference data (the original FactorNet's models)")
def test_original_models_from_the_originals_agree_with_the_shipped_ones(demo_data, tmp_path):
    """--originals converts the original folders (ffn-convert) and gives the same predictions as
    the shipped conversions of the same models."""
    originals = Path(os.environ[REFERENCE_ENV]) / "factornet" / "models"
    run_script("original-models", "--demo", "--demo_data", demo_data, "-o", tmp_path / "a",
               "--tf", "E2F1", "--originals", originals, check_rc=0)
    run_script("original-models", "--demo", "--demo_data", demo_data, "-o", tmp_path / "b",
               "--tf", "E2F1", check_rc=0)
    tables = [pd.read_csv(tmp_path / run / "results.tsv", sep="\t") for run in "ab"]
    pd.testing.assert_frame_equal(*tables)
    log = (tmp_path / "a" / "commands.log").read_text()
    assert log.count("ffn-convert") == 2 and f"{tmp_path}/a/models/E2F1/" in log
