"""FactorNet's scripts run as a user runs them: train -> predict -> evaluate on the demo data, and
bad input answered by one line and a non-zero exit."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / "bin"
SMALL_MODEL = ["-L", "300", "-w", "12", "-k", "8", "-r", "4", "-d", "16"]


def run(script, *args):
    result = subprocess.run([sys.executable, str(BIN / script), *map(str, args)],
                            capture_output=True, text=True)
    return result


def one_line_error(result, script):
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{script}: error: ")
    return line


@pytest.fixture(scope="module")
def trained(small_demo, tmp_path_factory):
    """A small single-task CTCF model trained on demoA + demoB (validation on chr11)."""
    out = tmp_path_factory.mktemp("factornet") / "model"
    factornet = small_demo / "factornet"
    result = run("ffn-train", "-i", f"{factornet}/demoA,{factornet}/demoB", "-f", "CTCF",
                 "--genome", small_demo / "genome/demo.fa", "--blacklist",
                 small_demo / "genome/blacklist.bed.gz", "-e", "12", "-ep", "12", "-lr", "0.003",
                 *SMALL_MODEL, "-k", "16", "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_training_writes_the_model_folder(trained):
    assert {p.name for p in trained.iterdir()} >= {
        "chip.txt", "bigwig.txt", "feature.txt", "run.json", "model.keras", "best.weights.h5",
        "final.weights.h5", "history.json", "history.csv", "logs"}
    assert not {"checkpoint.keras", "progress.json"} & {p.name for p in trained.iterdir()}
    assert (trained / "chip.txt").read_text() == "CTCF\n"
    assert (trained / "bigwig.txt").read_text() == "Unique35\nDGF\n"
    record = json.loads((trained / "run.json").read_text())
    assert record["family"] == "factornet" and record["command"] == "ffn-train"
    assert record["architecture"]["input_length"] == 300 and record["settings"]["factor"] == "CTCF"
    assert record["epochs_done"] == 12 and record["settings"]["genome"].startswith("/")
    assert len(json.loads((trained / "history.json").read_text())["val_loss"]) == 12


def test_predict_then_evaluate_the_held_out_cell_type(trained, small_demo, tmp_path):
    regions = small_demo / "factornet/regions/test_regions.blacklistfiltered.bed.gz"
    submission = tmp_path / "F.CTCF.demoC.tab.gz"
    result = run("ffn-predict", "-i", small_demo / "factornet/demoC", "-m", trained, "-f", "CTCF",
                 "-b", regions, "--genome", small_demo / "genome/demo.fa", "--blacklist",
                 small_demo / "genome/blacklist.bed.gz", "-o", submission)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = gzip.open(submission, "rt").read().splitlines()
    expected = gzip.open(regions, "rt").read().splitlines()
    assert [r.rsplit("\t", 1)[0] for r in rows] == expected  # the BED's rows, in order
    assert all(0.0 <= float(r.rsplit("\t", 1)[1]) <= 1.0 for r in rows)
    # the first L = 300 bp of a chromosome are blacklisted: its 6 bins there score 0, rows kept
    assert [r.split("\t")[1:] for r in rows[:6]] == \
        [[str(s), str(s + 200), "0.00000000e+00"] for s in range(0, 300, 50)]
    assert max(float(r.split("\t")[3]) for r in rows[6:]) > 0.5
    scores = run("ffn-evaluate", "-i", submission, "-l",
                 small_demo / "factornet/labels/CTCF.test.labels.tsv.gz", "-c", "demoC",
                 "-o", tmp_path / "scores")
    assert scores.returncode == 0, scores.stderr[-3000:]
    figures = json.loads((tmp_path / "scores.json").read_text())
    assert figures["aupr"] > 5 * figures["positive_rate"]  # 0.39-0.48 vs 0.023 over 3 seeds
    refused = run("ffn-predict", "-i", small_demo / "factornet/demoC", "-m", trained, "-f", "CTCF",
                  "-b", regions, "--genome", small_demo / "genome/demo.fa", "-o", submission)
    assert "output exists" in one_line_error(refused, "ffn-predict")


def test_bad_training_input(small_demo, tmp_path):
    factornet = small_demo / "factornet"
    genome = ["--genome", small_demo / "genome/demo.fa"]
    unknown_tf = run("ffn-train", "-i", factornet / "demoA", "-f", "NANOG", *genome, "-o",
                     tmp_path / "m")
    assert "chip.txt: no TF 'NANOG' (listed: CTCF, HNF4A)" in one_line_error(unknown_tf, "ffn-train")
    (tmp_path / "exists").mkdir()
    exists = run("ffn-train", "-i", factornet / "demoA", "-f", "CTCF", *genome, "-o",
                 tmp_path / "exists")
    assert one_line_error(exists, "ffn-train").endswith(
        "exists: output exists (it is replaced only when asked to) (see -oc)")
    missing = run("ffn-train", "-i", tmp_path / "nowhere", "-f", "CTCF", *genome, "-o", tmp_path / "m")
    assert "nowhere: cell-type folder not found" in one_line_error(missing, "ffn-train")


def test_bad_prediction_input(trained, small_demo, tmp_path):
    genome = ["--genome", small_demo / "genome/demo.fa"]
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t1000\t1200\nchrZ\t0\t200\n")
    args = ["-i", small_demo / "factornet/demoC", "-m", trained, "-b", bed, *genome]
    unknown = run("ffn-predict", *args, "-f", "CTCF", "-o", tmp_path / "o.gz")
    assert "r.bed: chromosome 'chrZ' is not in the genome" in one_line_error(unknown, "ffn-predict")
    assert not (tmp_path / "o.gz").exists()
    wrong_tf = run("ffn-predict", *args, "-f", "HNF4A", "-o", tmp_path / "o.gz")
    assert "the model does not predict 'HNF4A'" in one_line_error(wrong_tf, "ffn-predict")
    (tmp_path / "empty").mkdir()
    not_a_model = run("ffn-predict", *args[:2], "-m", tmp_path / "empty", *args[4:], "-f", "CTCF",
                      "-o", tmp_path / "o.gz")
    assert "empty: not a model folder (no run.json or config.json)" in \
        one_line_error(not_a_model, "ffn-predict")
    other = tmp_path / "other"
    other.mkdir()
    (other / "bigwig.txt").write_text(f"{small_demo}/factornet/Unique35.bw\tUnique35\n")
    mismatch = run("ffn-predict", "-i", other, "-m", trained, "-b", bed, *genome, "-f", "CTCF",
                   "-o", tmp_path / "o.gz")
    assert "track names ['Unique35'] differ from the model's ['Unique35', 'DGF']" in \
        one_line_error(mismatch, "ffn-predict")


def test_meta_annotations_and_motif_flags_train_and_predict(small_demo, tmp_path):
    from fiddle_factornet.factornet.annotations import ANNOTATION_FILES
    from fiddle_factornet.data.writers import write_bed

    annotations = tmp_path / "resources"
    annotations.mkdir()
    for i, (_, file) in enumerate(ANNOTATION_FILES):  # a few intervals per feature
        write_bed(annotations / file, [("chr2", 1000 * k + 100 * i, 1000 * k + 100 * i + 300)
                                       for k in range(5, 100, 7)])
    factornet = small_demo / "factornet"
    genome = ["--genome", small_demo / "genome/demo.fa"]
    model = tmp_path / "model"
    flags = ["-i", f"{factornet}/demoA,{factornet}/demoB", "-f", "CTCF", *genome, "-m", "-g",
             annotations, "-mo", factornet / "motifs.meme", "-e", "1", *SMALL_MODEL]
    too_wide = run("ffn-train", *flags, "-o", model)
    assert one_line_error(too_wide, "ffn-train").endswith(
        "motifs.meme: the CTCF motif is 19 bp, wider than the kernels (12 bp) (see -w)")
    assert not model.exists()
    trained = run("ffn-train", *flags, "-w", "20", "-o", model)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (model / "feature.txt").read_text() == "bigwig\nmeta\ngencode\n"
    assert (model / "meta.txt").read_text().splitlines() == [f"GEPC{i}" for i in range(1, 9)]
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t5000\t5200\nchr1\t5050\t5250\n")
    out = tmp_path / "p.gz"
    no_annotations = run("ffn-predict", "-i", factornet / "demoC", "-m", model, "-f", "CTCF",
                         "-b", bed, *genome, "-o", out)
    assert "uses annotation features" in one_line_error(no_annotations, "ffn-predict")
    predicted = run("ffn-predict", "-i", factornet / "demoC", "-m", model, "-f", "CTCF", "-b", bed,
                    *genome, "-g", annotations, "-o", out)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert len(gzip.open(out, "rt").read().splitlines()) == 2


@pytest.mark.slow  # trains in subprocesses for a minute
def test_multi_task_model_predicts_each_tf(small_demo, tmp_path):
    genome = ["--genome", small_demo / "genome/demo.fa"]
    model = tmp_path / "model"
    trained = run("ffn-train", "-i", small_demo / "factornet/demoA", *genome, "-e", "1",
                  *SMALL_MODEL, "-o", model)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (model / "chip.txt").read_text() == "CTCF\nHNF4A\n"
    bed = tmp_path / "r.bed"
    bed.write_text("chr2\t5000\t5200\n")
    scores = {}
    for tf in ("CTCF", "HNF4A"):
        out = tmp_path / f"{tf}.gz"
        result = run("ffn-predict", "-i", small_demo / "factornet/demoB", "-m", model, "-f", tf,
                     "-b", bed, *genome, "-o", out)
        assert result.returncode == 0, result.stderr[-3000:]
        scores[tf] = gzip.open(out, "rt").read().split("\t")[3]
    assert scores["CTCF"] != scores["HNF4A"]  # two outputs of one model
    two_folders = run("ffn-train", "-i", f"{small_demo}/factornet/demoA,{small_demo}/factornet/demoB",
                      *genome, "-o", tmp_path / "m2")
    assert "multi-task training (no factor) takes exactly one cell-type folder" in \
        one_line_error(two_folders, "ffn-train")


def test_original_defaults_and_their_departures_are_recorded(small_demo, tmp_path):
    from fiddle_factornet.factornet.annotations import ANNOTATION_FILES
    from fiddle_factornet.data.writers import write_bed

    annotations = tmp_path / "resources"
    annotations.mkdir()
    for i, (_, file) in enumerate(ANNOTATION_FILES):
        write_bed(annotations / file, [("chr2", 1000 * k + 100 * i, 1000 * k + 100 * i + 300)
                                       for k in range(5, 100, 7)])
    factornet = small_demo / "factornet"
    flags = ["-i", f"{factornet}/demoA", "-f", "CTCF", "--genome", small_demo / "genome/demo.fa",
             "-g", annotations, "-e", "1", *SMALL_MODEL]
    clash = run("ffn-train", *flags, "--fast_lstm", "--original", "-o", tmp_path / "x")
    assert "--fast_lstm sets the LSTM's gates" in one_line_error(clash, "ffn-train")
    model = tmp_path / "original"
    trained = run("ffn-train", *flags, "--original", "-o", model)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "no blacklist given" in trained.stderr  # one warning line, and in the record
    record = json.loads((model / "run.json").read_text())
    assert record["settings"]["annotate_peaks"] and record["settings"]["blacklist"] is None
    assert record["warnings"] == ["no blacklist given: only the chromosome ends are left out (the "
                                  "original always applied FactorNet's blacklist; give 'none' to "
                                  "say this is intended)"]
    assert record["architecture"]["recurrent_activation"] == "fiddle_factornet>keras1_hard_sigmoid"
    assert record["architecture"]["lstm_recurrent_dropout"] == 0.1
    fast = tmp_path / "fast"
    trained = run("ffn-train", *flags, "--fast_lstm", "--blacklist", "none", "-o", fast)
    assert trained.returncode == 0 and "no blacklist given" not in trained.stderr
    record = json.loads((fast / "run.json").read_text())
    assert record["settings"]["blacklist"] == "none" and "warnings" not in record
    assert not record["settings"]["annotate_peaks"]
    assert (record["architecture"]["recurrent_activation"],
            record["architecture"]["lstm_recurrent_dropout"]) == ("sigmoid", 0.0)
