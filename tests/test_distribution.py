"""Training on several devices and several machines (fiddle_factornet.runs.devices): TensorFlow's
MirroredStrategy over 2 logical CPU devices, JAX's DataParallel over 2 CPU devices, two
MultiWorkerMirroredStrategy workers over loopback; run in subprocesses, the devices being set
before the engine starts.

What holds, and is checked here: the batch size is the global batch and the gradient is the mean
over it on every engine (batches that do not split evenly padded with rows of weight 0), so that
without dropout TensorFlow on 2 devices ends where 1 device does; JAX draws the same dropout
masks over 2 devices as over 1 (its random bits do not depend on the sharding), so that a JAX run
on 2 devices ends where 1 device does, dropout and all; TensorFlow's replicas draw the same masks
as each other (Keras' seed state is mirrored), so that its runs with dropout differ from 1
device's; two workers of one machine each end exactly where MirroredStrategy over 2 devices does.
"""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet.data.samples import Samples
from fiddle_factornet.pipeline import evaluation_dataset, padding_rows, training_dataset
from fiddle_factornet.runs.devices import parse_devices

from .conftest import interrupt_after_an_epoch
from .test_cli_factornet import one_line_error

BIN = Path(__file__).resolve().parents[1] / "bin"
#: a small FactorNet without an LSTM (quick to compile), 2 epochs, batches of 15: 50 samples an
#: epoch (3 batches of 15 and one of 5) and 28 validation samples (15 and 13): every batch is
#: padded to an even size on 2 devices
FACTORNET = ["-f", "CTCF", "-L", "300", "-w", "12", "-k", "8", "-r", "0", "-d", "16", "-e", "2",
             "-ep", "5", "-s", "7", "--batchsize", "15"]
RUN_FILES = {"run.json", "model.keras", "best.weights.h5", "final.weights.h5", "history.json",
             "history.csv"}
FACTORNET_FILES = RUN_FILES | {"chip.txt", "bigwig.txt", "feature.txt"}
FIDDLE_FILES = RUN_FILES | {"learning_curve.csv", "valid_regions.bed", "test_regions.bed"}


def environment(backend, cache, **extra):
    return {**os.environ, "KERAS_BACKEND": backend, "FIDDLE_FACTORNET_CACHE": str(cache),
            "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def factornet_command(demo, out, *extra):
    factornet = demo / "factornet"
    return [sys.executable, str(BIN / "ffn-train"), "-i", f"{factornet}/demoA,{factornet}/demoB",
            "--genome", str(demo / "genome/demo.fa"), "--blacklist",
            str(demo / "genome/blacklist.bed.gz"), *FACTORNET, "-o", str(out), *extra]


def fiddle_command(demo, out, *extra):
    return [sys.executable, str(BIN / "ffn-fiddle-train"), "--manifest",
            str(demo / "fiddle/tracks.tsv"), "--genes", str(demo / "fiddle/genes.bed"),
            "--inputs", "dna,netseq,rnaseq", "--n_valid", "9", "--n_test", "8", "-e", "2",
            "--batchsize", "100", "--curve_every", "500", "--module_filters", "4,4",
            "--scaffold_filters", "2", "--representation", "20", "-o", str(out), *extra]


def run(command, env, timeout=600):
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def history(folder):
    return json.loads((folder / "history.json").read_text())


def check_trained(folder, strategy, epochs=2, replicas=2, files=FACTORNET_FILES):
    """The model folder is complete, its record says where it trained, its history is finite."""
    assert files <= {p.name for p in folder.iterdir()}
    assert not {"checkpoint.keras", "progress.json"} & {p.name for p in folder.iterdir()}
    record = json.loads((folder / "run.json").read_text())
    assert record["distribution"]["strategy"] == strategy
    assert record["distribution"]["replicas"] == replicas
    assert record["epochs_done"] == epochs
    curves = history(folder)
    assert all(len(values) == epochs and all(map(math.isfinite, values))
               for values in curves.values())
    return record


def assert_close(got, expected, keys, rtol):
    for key in keys:
        np.testing.assert_allclose(got[key], expected[key], rtol=rtol, err_msg=key)


VALIDATION = ("val_loss", "val_auprc", "val_binary_accuracy")


# ---- settings and batches (in this process) ----

def test_the_devices_setting():
    assert [parse_devices(v) for v in ("1", "4", " all", "ALL", 2)] == [1, 4, "all", "all", 2]
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(ValueError, match="positive integer"):
            parse_devices(bad)


class RowView:
    """A view whose input is each sample's start and target its cell: rows are traceable."""

    def input_shapes(self, samples):
        return {"x": (1,)}

    def target_shape(self, samples):
        return (1,)

    def read(self, samples, offsets=0, allocate=None):
        return ({"x": samples.start[:, None].astype(np.float32)},
                samples.cell[:, None].astype(np.float32))


def row_samples(n):
    index = np.arange(n)
    return Samples.build(("chr1",), np.zeros(n, int), index, index + 10, 0, index % 2,
                         index[:, None])


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_batches_are_padded_to_the_replicas_with_weight_zero(backend, monkeypatch):
    """7 samples in batches of 3 on 2 replicas: each batch padded to even by repeating its last
    row, weighted 0; evaluation weighs real rows 1, training p / b (the mean over the real
    rows); one replica: the batches as ever, no weights."""
    import keras

    if backend == "jax":  # the pipeline's numpy path, as under JAX and torch
        monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    samples = row_samples(7)
    as_list = (lambda d: list(d.as_numpy_iterator())) if backend == "tensorflow" else list
    evaluation = as_list(evaluation_dataset(RowView(), samples, 3, replicas=2))
    assert [x["x"][:, 0].tolist() for x, _, _ in evaluation] == \
        [[0, 1, 2, 2], [3, 4, 5, 5], [6, 6]]
    assert [w.tolist() for _, _, w in evaluation] == [[1, 1, 1, 0], [1, 1, 1, 0], [1, 0]]
    assert padding_rows(7, 3, 2) == 3 and padding_rows(8, 4, 2) == 0
    assert padding_rows(7, 3, 1) == 0 and padding_rows(10, 5, 4) == 3 + 3 + 0
    training = as_list(training_dataset(RowView(), samples, 3, 1, seed=1, replicas=2))
    weights = [w for _, _, w in training]
    assert [w.dtype for w in weights] == [np.float32] * 3
    assert [w.tolist() for w in weights] == [np.float32([4 / 3] * 3 + [0]).tolist()] * 2 + [[2, 0]]
    assert sorted(np.concatenate([x["x"][w > 0, 0] for (x, _, w) in training])) == list(range(7))
    single = as_list(evaluation_dataset(RowView(), samples, 3))
    assert [len(batch) for batch in single] == [2, 2, 2]  # no weights
    assert [x["x"][:, 0].tolist() for x, _ in single] == [[0, 1, 2], [3, 4, 5], [6]]


# ---- several devices of one machine, through the commands ----

@pytest.fixture(scope="module")
def mirrored(small_demo, tmp_path_factory):
    """FactorNet trained by ffn-train --devices 2 under TensorFlow: MirroredStrategy over 2
    logical CPU devices."""
    root = tmp_path_factory.mktemp("mirrored")
    result = run(factornet_command(small_demo, root / "model", "--devices", "2"),
                 environment("tensorflow", root / "cache"))
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "model"


def test_tensorflow_mirrored_strategy_over_two_logical_cpus(mirrored):
    record = check_trained(mirrored, "MirroredStrategy")
    assert record["settings"]["devices"] == 2 and len(record["distribution"]["devices"]) == 2
    assert record["distribution"]["workers"] == 1
    assert not (mirrored.parent / "model.partial").exists()


def test_jax_data_parallel_over_two_cpu_devices(small_demo, tmp_path):
    out = tmp_path / "model"  # batches of 25 (fewer shapes to compile), padded to 26, 28 to 26, 4
    result = run(factornet_command(small_demo, out, "--devices", "2", "--batchsize", "25"),
                 environment("jax", tmp_path / "cache"))
    assert result.returncode == 0, result.stderr[-3000:]
    record = check_trained(out, "DataParallel")
    assert record["distribution"]["devices"] == ["cpu:0", "cpu:1"]
    assert "logs" not in {p.name for p in out.iterdir()}  # TensorBoard's writer needs TF


def test_several_devices_need_tensorflow_or_jax(small_demo, tmp_path):
    result = run(factornet_command(small_demo, tmp_path / "m", "--devices", "2"),
                 environment("torch", tmp_path / "cache"))
    line = one_line_error(result, "ffn-train")
    assert line.endswith("devices=2: several devices need the tensorflow or jax backend "
                         "(this is torch) (see --devices)")
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.partial").exists()


def test_more_devices_than_there_are(small_demo, tmp_path):
    result = run(factornet_command(small_demo, tmp_path / "m", "--devices", "999"),
                 environment("jax", tmp_path / "cache"))
    line = one_line_error(result, "ffn-train")
    # without a GPU (here): "no GPU and <cores> usable CPU cores (... one per core at most)"
    assert "devices=999: this machine has " in line and line.endswith("(see --devices)")
    if "no GPU" in line:
        assert f"no GPU and {len(os.sched_getaffinity(0))} usable CPU core" in line


def test_several_machines_need_tensorflow(small_demo, tmp_path):
    cluster = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                          "task": {"type": "worker", "index": 0}})
    result = run(factornet_command(small_demo, tmp_path / "m"),
                 environment("jax", tmp_path / "cache", TF_CONFIG=cluster))
    assert one_line_error(result, "ffn-train").endswith(
        "TF_CONFIG names a cluster of 2 workers: training on several machines needs the "
        "tensorflow backend (this is jax) (see --devices)")


# ---- several machines: two workers of this one, over loopback ----

def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for one in sockets:
        one.bind(("127.0.0.1", 0))
    ports = [one.getsockname()[1] for one in sockets]
    for one in sockets:
        one.close()
    return ports


def test_two_workers_train_like_two_devices(small_demo, mirrored, tmp_path):
    """Two ffn-train processes, TF_CONFIG naming both: both end well, the chief (worker 0) writes
    the model folder, worker 1 writes to a temporary folder it removes; the run is the one that
    MirroredStrategy over 2 devices of one process makes."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    place = tmp_path / "place"
    out = place / "model"
    processes = []
    for index in range(2):
        temporary = tmp_path / f"tmp{index}"
        temporary.mkdir()
        env = environment("tensorflow", tmp_path / "cache", TMPDIR=str(temporary),
                          TF_CONFIG=json.dumps({"cluster": cluster,
                                                "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(factornet_command(small_demo, out), env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True))
    try:
        errors = [process.communicate(timeout=400)[1] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, stderr in zip(processes, errors):
        assert process.returncode == 0, stderr[-3000:]
    assert [p.name for p in place.iterdir()] == ["model"]  # no partial folder, lock or worker's
    record = check_trained(out, "MultiWorkerMirroredStrategy")
    assert record["distribution"]["workers"] == 2
    assert not [p for p in (tmp_path / "tmp1").iterdir() if p.name.startswith("ffn-worker-")]
    assert "not the chief worker" in errors[1] and "not the chief worker" not in errors[0]
    assert_close(history(out), history(mirrored), history(mirrored), rtol=1e-5)


# ---- agreement with one device, resuming, FIDDLE ----

AGREEMENT = """
import json, sys
from fiddle_factornet.factornet.model import FactorNetConfig
from fiddle_factornet.factornet.training import TrainSettings, train
demo, out = sys.argv[1], sys.argv[2]
arch = FactorNetConfig(input_length=300, kernel_width=12, kernels=8, recurrent=4, dense=16,
                       dropout=0.0, conv_dropout=0.0, lstm_dropout=0.0,
                       lstm_recurrent_dropout=0.0)
histories = {}
for devices in (2, 1):  # 2 first: the devices are set before TensorFlow starts
    histories[devices] = train(TrainSettings(
        input_dirs=(f"{demo}/factornet/demoA", f"{demo}/factornet/demoB"),
        genome=f"{demo}/genome/demo.fa", blacklist=f"{demo}/genome/blacklist.bed.gz",
        output_dir=f"{out}/{devices}", factor="CTCF", epochs=2, batch_size=15, seed=7,
        architecture=arch, devices=devices))
print("HISTORIES", json.dumps(histories))
"""


@pytest.mark.slow  # two trainings with an LSTM in one process, a minute
def test_tensorflow_two_devices_without_dropout_end_where_one_does(small_demo, tmp_path):
    """Gradients averaged over the replicas of each global batch (padded batches included) are
    one device's: without dropout the validation figures agree to float precision; the training
    figures differ only by the padded batches' weights in Keras' running means (< 1%)."""
    result = run([sys.executable, "-c", AGREEMENT, str(small_demo), str(tmp_path)],
                 environment("tensorflow", tmp_path / "cache"))
    assert result.returncode == 0, result.stderr[-3000:]
    histories = json.loads(result.stdout.split("HISTORIES ", 1)[1])
    two, one = histories["2"], histories["1"]
    assert_close(two, one, VALIDATION, rtol=1e-5)
    assert_close(two, one, ("loss",), rtol=1e-2)


@pytest.mark.slow  # four FactorNet trainings with an LSTM, two minutes
@pytest.mark.parametrize("batch_size", ["15", "50"])
def test_jax_two_devices_end_where_one_does_dropout_and_all(small_demo, tmp_path, batch_size):
    """JAX over 2 devices draws one device's dropout masks: the validation figures agree to float
    precision, padded batches (15) or not (50); without padding the training figures too."""
    runs = {}
    for devices in ("1", "2"):
        out = tmp_path / devices
        result = run(factornet_command(small_demo, out, "-r", "4", "--batchsize", batch_size,
                                       "--devices", devices), environment("jax", tmp_path / "c"))
        assert result.returncode == 0, result.stderr[-3000:]
        runs[devices] = history(out)
    assert_close(runs["2"], runs["1"], VALIDATION, rtol=1e-5)
    assert_close(runs["2"], runs["1"], ("loss",), rtol=1e-5 if batch_size == "50" else 1e-2)


@pytest.mark.slow  # three trainings of 8 epochs, a minute
@pytest.mark.parametrize("backend, cut, resumed", [("tensorflow", "2", "2"), ("jax", "2", "1")])
def test_an_interrupted_multi_device_run_resumes(small_demo, tmp_path, backend, cut, resumed):
    """An interrupted 2-device run resumed (its checkpoint loaded in the devices' scope), on as
    many devices (TensorFlow) or on one (JAX: devices may change), ends where the uninterrupted
    run on the resumed devices does (batches of 25: padded on 2 devices, in training by weights
    that keep the gradient one device's)."""
    env = environment(backend, tmp_path / "cache")
    epochs = ["-e", "8", "-ep", "20", "--batchsize", "25"]
    whole = run(factornet_command(small_demo, tmp_path / "whole", *epochs, "--devices", resumed),
                env)
    assert whole.returncode == 0, whole.stderr[-3000:]
    out = tmp_path / "cut"
    done = interrupt_after_an_epoch(factornet_command(small_demo, out, *epochs, "--devices", cut),
                                    tmp_path / "cut.partial", env)
    assert 1 <= done < 8 and not out.exists()
    again = run(factornet_command(small_demo, out, *epochs, "--devices", resumed, "--resume"),
                env)
    assert again.returncode == 0, again.stderr[-3000:]
    record = check_trained(out, "none" if resumed == "1" else "MirroredStrategy", epochs=8,
                           replicas=int(resumed))
    assert record["settings"]["devices"] == int(resumed)
    expected = history(tmp_path / "whole")
    keys = expected if cut == resumed else VALIDATION  # 2 devices' padded training means differ
    assert_close(history(out), expected, keys, rtol=1e-5)
    assert not (tmp_path / "cut.partial").exists()


@pytest.mark.slow  # four FIDDLE trainings, two minutes
def test_fiddle_on_two_devices(small_demo, tmp_path):
    """FIDDLE through ffn-fiddle-train --devices 2: under JAX the run of one device (batches of
    100: no padding in training, the 9 validation windows padded to 10), its learning curve
    included; under TensorFlow a finite run (its BatchNormalization uses each replica's own batch
    statistics and its replicas share dropout masks, as Keras does under MirroredStrategy)."""
    runs = {}
    for backend, devices in (("jax", "1"), ("jax", "2"), ("tensorflow", "2")):
        out = tmp_path / f"{backend}{devices}"
        result = run(fiddle_command(small_demo, out, "--devices", devices),
                     environment(backend, tmp_path / "cache"))
        assert result.returncode == 0, result.stderr[-3000:]
        runs[backend, devices] = out
    check_trained(runs["jax", "2"], "DataParallel", files=FIDDLE_FILES)
    check_trained(runs["tensorflow", "2"], "MirroredStrategy", files=FIDDLE_FILES)
    one, two = runs["jax", "1"], runs["jax", "2"]
    assert_close(history(two), history(one), ("loss", "val_loss"), rtol=1e-5)
    curve = [np.loadtxt(folder / "learning_curve.csv", delimiter=",", skiprows=1)
             for folder in (two, one)]
    assert curve[0].shape == curve[1].shape and len(curve[0]) > 4
    np.testing.assert_allclose(curve[0], curve[1], rtol=1e-5)
