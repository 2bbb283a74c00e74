"""The run layer: outputs that never hurt an input or an earlier output, one lock per output,
the run record, one loader for every model folder, and training that can be interrupted and
resumed exactly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.runs.models import open_model_folder
from fiddle_factornet.runs.outputs import output_lock, refuse_inputs, safe_output, safe_outputs
from fiddle_factornet.runs.record import RunRecord

from .conftest import interrupt_after_an_epoch

BIN = Path(__file__).resolve().parents[1] / "bin"
SMALL_MODEL = ["-L", "300", "-w", "12", "-k", "8", "-r", "4", "-d", "16"]


def test_an_output_appears_only_when_complete(tmp_path):
    out = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with safe_output(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []  # neither the output, nor its temporary, nor a lock
    with safe_output(out) as tmp:
        tmp.write_text("whole")
    assert out.read_text() == "whole"
    with pytest.raises(InputError, match="out.txt: output exists"):
        with safe_output(out):
            pass
    with pytest.raises(RuntimeError):  # a failed replacement leaves the earlier output as it was
        with safe_output(out, overwrite=True) as tmp:
            tmp.write_text("new but broken")
            raise RuntimeError("full disk")
    assert out.read_text() == "whole"
    with safe_output(out, overwrite=True) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_group_of_outputs_appears_together(tmp_path):
    paths = [tmp_path / "a.tsv", tmp_path / "a.json"]
    with pytest.raises(RuntimeError):
        with safe_outputs(paths) as (first, second):
            first.write_text("1")
            raise RuntimeError("second failed")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(InputError, match="a.json: output exists"):
        with safe_outputs(paths):
            pass
    assert not (tmp_path / "a.tsv").exists()


def test_a_folder_is_replaced_only_at_the_end_and_only_if_ours(tmp_path):
    out = tmp_path / "model"
    with safe_output(out) as tmp:
        tmp.mkdir()
        (tmp / "run.json").write_text("{}")
        (tmp / "weights").write_text("old")
    with pytest.raises(RuntimeError):
        with safe_output(out, overwrite=True) as tmp:
            tmp.mkdir()
            raise RuntimeError("interrupted")
    assert (out / "weights").read_text() == "old"
    with safe_output(out, overwrite=True) as tmp:
        tmp.mkdir()
        (tmp / "run.json").write_text("{}")
    assert not (out / "weights").exists()
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="not a folder this package wrote"):
        with safe_output(foreign, overwrite=True):
            pass
    assert (foreign / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("output, message", [
    ("cell", "would replace an input"),
    (".", "contains an input"),
    ("cell/model", "lies inside an input folder"),
    ("cell/peaks.bed.gz", "would replace an input"),
])
def test_an_output_over_an_input_is_refused(tmp_path, monkeypatch, output, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cell").mkdir()
    (tmp_path / "cell" / "peaks.bed.gz").write_bytes(b"")
    with pytest.raises(InputError, match=message):
        refuse_inputs(output, ["cell", "cell/peaks.bed.gz"])
    refuse_inputs("elsewhere/model", ["cell", "cell/peaks.bed.gz"])  # no error


def test_a_second_writer_is_refused_and_a_dead_one_s_lock_taken_over(tmp_path):
    out = tmp_path / "F.CTCF.tab.gz"
    with output_lock(out):
        with pytest.raises(InputError, match="another run is writing this output"):
            with safe_output(out):
                pass
    sleeper = subprocess.Popen(["sleep", "30"])
    lock = tmp_path / f".{out.name}.lock"
    try:
        lock.write_text(json.dumps({"pid": sleeper.pid, "host": os.uname().nodename}))
        with pytest.raises(InputError, match=f"pid {sleeper.pid}"):
            with safe_output(out):
                pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with safe_output(out) as tmp:  # the holder is gone: its lock is taken over
        tmp.write_text("x")
    assert out.read_text() == "x" and not lock.exists()


def test_the_record_holds_the_command_the_version_and_absolute_settings(tmp_path):
    from dataclasses import dataclass

    from fiddle_factornet import __version__
    from fiddle_factornet.runs.record import path_field, settings_record

    @dataclass(frozen=True)
    class Settings:
        genome: str = path_field()
        cells: tuple[str, ...] = path_field(())
        epochs: int = 3

    record = RunRecord("test", settings_record(Settings("g.fa", ("a", "b"))))
    data = json.loads(record.text())
    assert data["version"] == __version__ and data["argv"] == sys.argv
    assert data["settings"] == {"genome": str(Path("g.fa").resolve()),
                                "cells": [str(Path("a").resolve()), str(Path("b").resolve())],
                                "epochs": 3}
    assert data["started"] <= data["finished"]


def test_the_loader_says_what_a_folder_is(tmp_path):
    with pytest.raises(InputError, match="model folder not found"):
        open_model_folder(tmp_path / "none")
    with pytest.raises(InputError, match="not a model folder"):
        open_model_folder(tmp_path)
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "best_model.hdf5").write_bytes(b"")
    with pytest.raises(InputError, match="an original FactorNet model .*convert it first"):
        open_model_folder(tmp_path)
    fiddle = tmp_path / "fiddle"
    fiddle.mkdir()
    (fiddle / "run.json").write_text(json.dumps({"family": "fiddle", "architecture": {}}))
    (fiddle / "model.keras").write_bytes(b"PK truncated")
    with pytest.raises(InputError, match="a FIDDLE model folder, not a FactorNet one"):
        open_model_folder(fiddle, "factornet")
    with pytest.raises(InputError, match="model.keras: cannot be read as a Keras model"):
        open_model_folder(fiddle, "fiddle").load_model()


def test_a_folder_of_the_earlier_layout_still_loads(tmp_path):
    import keras

    from fiddle_factornet.factornet.folder import FactorNetModel
    from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
    from dataclasses import asdict

    config = FactorNetConfig(input_length=100, kernels=4, kernel_width=6, recurrent=2, dense=8)
    model = build_factornet(config)
    model.save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(json.dumps({"architecture": asdict(config),
                                                       "training": {"factor": "CTCF"}}))
    for name, text in (("chip.txt", "CTCF\n"), ("bigwig.txt", "Unique35\nDGF\n"),
                       ("feature.txt", "bigwig\n")):
        (tmp_path / name).write_text(text)
    loaded = FactorNetModel.load(tmp_path)
    assert loaded.architecture == config and loaded.tfs == ("CTCF",)
    x = np.random.default_rng(0).random((2, 100, 6)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model([x, x[:, ::-1, ::-1]])),
                                  keras.ops.convert_to_numpy(loaded.model([x, x[:, ::-1, ::-1]])))


def _train_command(demo, out, epochs, *extra):
    factornet = demo / "factornet"
    return [sys.executable, str(BIN / "ffn-train"), "-i", f"{factornet}/demoA,{factornet}/demoB",
            "-f", "CTCF", "--genome", str(demo / "genome/demo.fa"), "--blacklist",
            str(demo / "genome/blacklist.bed.gz"), "-e", str(epochs), "-ep", "20", "-s", "7",
            *SMALL_MODEL, "-o", str(out), *extra]


@pytest.mark.slow  # trains in subprocesses for a minute
def test_an_interrupted_training_resumes_where_it_stopped(small_demo, tmp_path):
    """SIGTERM after an epoch: one line, the partial folder kept; --resume then ends with the
    history of the run that was never interrupted."""
    epochs = 6
    whole = subprocess.run(_train_command(small_demo, tmp_path / "whole", epochs),
                           capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr[-3000:]
    expected = json.loads((tmp_path / "whole" / "history.json").read_text())

    out = tmp_path / "cut"
    done = interrupt_after_an_epoch(_train_command(small_demo, out, epochs), tmp_path / "cut.partial")
    assert 1 <= done < epochs and not out.exists()
    assert (tmp_path / "cut.partial" / "best.weights.h5").is_file()

    again = subprocess.run(_train_command(small_demo, out, epochs), capture_output=True, text=True)
    assert again.returncode == 2 and "resume" in again.stderr.strip().splitlines()[-1]
    resumed = subprocess.run(_train_command(small_demo, out, epochs, "--resume"),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    assert history.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, err_msg=key)
    record = json.loads((out / "run.json").read_text())
    assert record["epochs_done"] == epochs and record["family"] == "factornet"
    assert not (tmp_path / "cut.partial").exists()
    assert not (out / "checkpoint.keras").exists() and not (out / "progress.json").exists()


def test_a_fiddle_folder_of_the_earlier_layout_reads_as_a_record(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"")
    (tmp_path / "config.json").write_text(json.dumps({
        "architecture": {"tracks": [["netseq", 2]], "length": 500},
        "regions": {"length": 500, "step": 20}, "training": {"manifest": "/m/tracks.tsv"},
        "inputs": ["netseq"], "controls": [], "target": "tssseq"}))
    folder = open_model_folder(tmp_path, "fiddle")
    assert folder.record["settings"] == {"manifest": "/m/tracks.tsv",
                                         "regions": {"length": 500, "step": 20}}
    assert folder.record["inputs"] == ["netseq"] and folder.record["target"] == "tssseq"
    assert folder.architecture["length"] == 500


def test_validation_jitter_is_drawn_afresh_for_every_epoch():
    from fiddle_factornet.data.samples import Samples
    from fiddle_factornet.runs.training import Jitter

    samples = Samples.build(("chr1",), 0, np.arange(0, 40_000, 100), np.arange(200, 40_200, 100),
                            np.repeat([0, 20], 200), 0, np.zeros((400, 1)))
    jitter = Jitter(samples, seed=3)
    moves = []
    for epoch in (0, 1, 0):
        jitter.on_epoch_begin(epoch)
        moves.append(jitter.offsets().copy())
    assert (moves[0][:200] == 0).all() and np.abs(moves[0][200:]).max() == 20
    assert not np.array_equal(moves[0], moves[1]) and np.array_equal(moves[0], moves[2])
