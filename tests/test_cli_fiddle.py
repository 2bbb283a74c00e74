"""FIDDLE's scripts on the demo data: train a small model, evaluate it, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / "bin"
SMALL = ["--module_filters", "8,4", "--scaffold_filters", "4", "--representation", "50",
         "--n_valid", "150", "--n_test", "150", "-e", "2"]


def run(script, *args):
    return subprocess.run([sys.executable, str(BIN / script), *map(str, args)], capture_output=True,
                          text=True)


def test_train_then_evaluate(small_demo, tmp_path):
    manifest, genes = small_demo / "fiddle/tracks.tsv", small_demo / "fiddle/genes.bed"
    model = tmp_path / "model"
    trained = run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs",
                  "dna,netseq,rnaseq", *SMALL, "-o", model)
    assert trained.returncode == 0, trained.stderr[-3000:]
    record = json.loads((model / "run.json").read_text())
    assert record["inputs"] == ["dna", "netseq", "rnaseq"] and record["target"] == "tssseq"
    assert record["family"] == "fiddle" and record["command"] == "ffn-fiddle-train"
    # the original's defaults (issue #10)
    settings = record["settings"]
    assert settings["regions"]["non_overlapping"] is True and settings["batch_size"] == 20
    assert settings["missing"] == "skip" and settings["dna_n"] == 0.25
    assert settings["curve_every"] == 2000 and record["windows_dropped_missing"] == 0
    assert len((model / "test_regions.bed").read_text().splitlines()) == 150
    curve = (model / "learning_curve.csv").read_text().splitlines()
    assert curve[0] == "samples_seen,train_kl,valid_kl"
    n_train = record["windows"] - 300
    seen = [int(line.split(",")[0]) for line in curve[1:]]
    assert seen == sorted(set(seen)) and n_train in seen and seen[-1] == 2 * n_train
    within_first = [s for s in seen if s < n_train]  # every 2000 samples, then the epoch's end
    assert within_first == list(range(2000, n_train, 2000))
    evaluated = run("ffn-fiddle-evaluate", "-m", model, "-o", tmp_path / "eval")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    summary = json.loads((tmp_path / "eval.summary.json").read_text())
    assert summary["windows"] == 150 and set(summary) == {"windows", "prediction", "random", "replicate"}
    assert summary["replicate"]["bin_accuracy"] > 2 * summary["random"]["bin_accuracy"]
    assert "replicate" in evaluated.stdout and "bin accuracy" in evaluated.stdout
    rows = (tmp_path / "eval.regions.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["chrom", "start", "end", "strand", "kl", "predicted_bin",
                                   "target_bin", "correct"] and len(rows) == 151
    for plot in ("learning_curve", "profiles"):
        assert (tmp_path / f"eval.{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run("ffn-fiddle-evaluate", "-m", model, "-o", tmp_path / "eval")
    assert again.returncode == 2 and "output exists" in again.stderr.strip().splitlines()[-1]
    # windows of another width than the model's are refused, not re-centred
    wide = tmp_path / "wide.bed"
    first = (model / "test_regions.bed").read_text().splitlines()[0].split("\t")
    wide.write_text("\t".join(first) + "\n" + "\t".join(
        [first[0], first[1], str(int(first[2]) + 100), *first[3:]]) + "\n")
    for script in ("ffn-fiddle-evaluate", "ffn-fiddle-importance"):
        refused = run(script, "-m", model, "--regions", wide, "-o", tmp_path / "wide")
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.strip().splitlines()[-1].endswith(
            f"wide.bed: line 2: window {first[0]}:{first[1]}-{int(first[2]) + 100} is 600 bp "
            "wide, not the model's 500 bp (1 of 2 windows are) (see --regions)"), refused.stderr


def test_bad_fiddle_input(small_demo, tmp_path):
    manifest, genes = small_demo / "fiddle/tracks.tsv", small_demo / "fiddle/genes.bed"
    unknown = run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs", "chipseq",
                  "-o", tmp_path / "m")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no track named 'chipseq'" in unknown.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "m").exists()
    not_model = run("ffn-fiddle-evaluate", "-m", tmp_path, "-o", tmp_path.parent / "e")
    assert not_model.returncode == 2 and "not a model folder" in not_model.stderr
    factornet = tmp_path / "factornet_model"
    factornet.mkdir()
    (factornet / "run.json").write_text('{"family": "factornet", "architecture": {}}')
    (factornet / "model.keras").write_bytes(b"")
    wrong_kind = run("ffn-fiddle-evaluate", "-m", factornet, "-o", tmp_path / "e")
    assert wrong_kind.returncode == 2 and wrong_kind.stderr.strip().splitlines()[-1].endswith(
        "factornet_model: a FactorNet model folder, not a FIDDLE one")


def test_importance_with_controls(small_demo, tmp_path):
    manifest, genes = small_demo / "fiddle/tracks.tsv", small_demo / "fiddle/genes.bed"
    model = tmp_path / "model"
    trained = run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs", "netseq",
                  "--controls", "target,noise", *SMALL, "-o", model)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = run("ffn-fiddle-importance", "-m", model, "-o", tmp_path / "imp")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "imp.importance.json").read_text())
    assert set(summary["inputs"]) == {"netseq", "control_target", "control_noise"}
    header = (tmp_path / "imp.importance.tsv").read_text().splitlines()[0].split("\t")
    assert header[:5] == ["chrom", "start", "end", "strand", "kl_all"]
    assert "control_target_sufficiency" in header and len(
        (tmp_path / "imp.importance.tsv").read_text().splitlines()) == 151
    assert header[5:8] == ["netseq_necessity", "netseq_sufficiency", "netseq_sufficiency_notebook"]
    assert set(summary["inputs"]["netseq"]) == {"necessity", "sufficiency", "sufficiency_notebook"}
    assert summary["inputs"]["netseq"]["sufficiency_notebook"] == pytest.approx(
        1 - summary["inputs"]["netseq"]["sufficiency"])
    assert "necessity" in result.stdout and "sufficiency_notebook" in result.stdout


def test_a_target_without_signal_is_refused(small_demo, tmp_path):
    import numpy as np

    from fiddle_factornet.data.writers import write_bigwig

    sizes = [tuple(line.split("\t")) for line in
             (small_demo / "genome/demo.chrom.sizes").read_text().splitlines()]
    sizes = [(name, int(length)) for name, length in sizes]
    for strand in ("plus", "minus"):
        write_bigwig(tmp_path / f"empty.{strand}.bw", sizes, {sizes[0][0]: np.full(sizes[0][1], np.nan)})
    (tmp_path / "tracks.tsv").write_text(
        "name\trole\tkind\tfiles\n"
        f"rnaseq\tinput\tmerged\t{small_demo}/fiddle/rnaseq.bw\n"
        "empty\ttarget\tstranded\tempty.plus.bw,empty.minus.bw\n")
    result = run("ffn-fiddle-train", "--manifest", tmp_path / "tracks.tsv", "--genes",
                 small_demo / "fiddle/genes.bed", *SMALL, "-o", tmp_path / "m")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the target track 'empty' is zero in every one of the" in result.stderr.splitlines()[-1]


@pytest.mark.slow  # trains in subprocesses for a minute
def test_reload_a_trained_module_frozen(small_demo, tmp_path):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    manifest, genes = small_demo / "fiddle/tracks.tsv", small_demo / "fiddle/genes.bed"
    first = tmp_path / "first"
    assert run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs", "netseq",
               *SMALL, "-o", first).returncode == 0
    second = tmp_path / "second"
    result = run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs",
                 "netseq,rnaseq", "--reload", first, "--freeze", "--window_step", "40", *SMALL,
                 "--overlapping_genes", "--missing", "zero", "--dna_n", "0", "--curve_every", "0",
                 "--batchsize", "64", "-o", second)
    assert result.returncode == 0, result.stderr[-3000:]
    source = keras.models.load_model(first / "model.keras").get_layer("netseq_module")
    reloaded = keras.models.load_model(second / "model.keras").get_layer("netseq_module")
    assert all(np.array_equal(a, b) for a, b in zip(source.get_weights(), reloaded.get_weights()))
    settings = json.loads((second / "run.json").read_text())["settings"]
    assert settings["regions"]["step"] == 40 and settings["regions"]["non_overlapping"] is False
    assert settings["missing"] == "zero" and settings["dna_n"] == 0.0
    assert settings["curve_every"] == 0 and settings["batch_size"] == 64
    assert len((second / "learning_curve.csv").read_text().splitlines()) == 1 + 2  # per epoch
    missing = run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs", "rnaseq",
                  "--reload", first, "--reload_modules", "mnase", *SMALL, "-o", tmp_path / "third")
    assert missing.returncode == 2 and "has no module for track 'mnase'" in missing.stderr
    unrelated = run("ffn-fiddle-train", "--manifest", manifest, "--genes", genes, "--inputs",
                    "dna,rnaseq", "--reload", first, *SMALL, "-o", tmp_path / "fourth")
    assert unrelated.returncode == 2 and "Traceback" not in unrelated.stderr
    assert unrelated.stderr.strip().splitlines()[-1].endswith(
        f"{first}: shares no module with this model: it has modules for netseq, this model's "
        "inputs are dna, rnaseq (see --reload)"), unrelated.stderr
    assert not (tmp_path / "fourth").exists()


def test_genes_on_unknown_chromosomes_are_refused(small_demo, tmp_path):
    genes = tmp_path / "genes.bed"
    genes.write_text("chrQ\t100\t900\tg1\t0\t+\n")
    result = run("ffn-fiddle-train", "--manifest", small_demo / "fiddle/tracks.tsv", "--genes", genes,
                 *SMALL, "-o", tmp_path / "m")
    assert result.returncode == 2
    assert "genes.bed: chromosome 'chrQ' is not in the genome" in result.stderr.splitlines()[-1]
