"""bench/bench_gpu.py --quick at a tiny size under the current Keras backend, in a subprocess (under
JAX and torch with TensorFlow made unimportable, as on a GPU machine without it): every figure
printed in its table and written to the JSON, the projections consistent with the rates."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from .test_backends import NO_TENSORFLOW

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_gpu.py"
FACTORNET = ("FactorNet default LSTM", "FactorNet fast LSTM")
MODELS = (*FACTORNET, "FIDDLE 5 inputs")
RATES = ("train samples/s pipeline", "train samples/s in memory")
PREDICTION_RATES = ("predict bins/s stretch", "predict bins/s per window")


def table_row(out: str, label: str) -> list[str]:
    """The three model columns (24 characters each, at the end) of the figures table's row
    ``label``."""
    line = next(line for line in out.splitlines() if line.startswith(label + "  "))
    return [line[-72:][i * 24:(i + 1) * 24].strip() for i in range(3)]


@pytest.mark.slow  # builds, traces and times three models: about a minute on 2 cores
def test_quick_bench_gpu_prints_every_figure(tmp_path):
    backend = keras.backend.backend()
    env = {**os.environ, "KERAS_BACKEND": backend}
    if backend != "tensorflow":
        block = tmp_path / "no_tensorflow"
        block.mkdir()
        (block / "sitecustomize.py").write_text(NO_TENSORFLOW)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(block), env.get("PYTHONPATH")]))
    figures_file = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(BENCH), "--quick", "--mbp", "0.5",
                          "--train-samples", "100", "--predict-bins", "300", "--predict-batch",
                          "100", "--data", str(tmp_path / "data"), "--json", str(figures_file)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    data = json.loads(figures_file.read_text())

    assert data["backend"] == backend and data["device"].startswith(f"{backend}: ")
    assert f"backend {backend}" in out and data["device"] in out
    assert list(data["models"]) == list(MODELS)
    gpu = data["gpu_busy_measured"]
    for name in MODELS:
        figures = data["models"][name]
        assert figures["batch"] == (20 if name.startswith("FIDDLE") else 100)
        assert figures["samples timed"] == 100
        for key in RATES:
            assert 0 < figures[key] < math.inf, (name, key)
        assert math.isfinite(figures["input stall share"]) and figures["input stall share"] < 1
        assert figures["input stall share"] == pytest.approx(
            1 - figures[RATES[0]] / figures[RATES[1]])  # one round: the pair itself
        for key in ("GPU busy pipeline", "GPU busy memory"):
            assert (0 <= figures[key] <= 1) if gpu else figures[key] is None, (name, key)
    for name in FACTORNET:
        figures = data["models"][name]
        assert figures["predict batch"] == 100 and figures["bins timed"] == 300
        assert figures["bins on the stretch path"] == 300  # consecutive bins
        for key in PREDICTION_RATES:
            assert 0 < figures[key] < math.inf, (name, key)
        assert figures["epoch 60K projected s"] == pytest.approx(60_000 / figures[RATES[0]])
        assert figures["60M bins projected s"] == pytest.approx(
            60_000_000 / figures[PREDICTION_RATES[0]])
    assert "predict bins/s stretch" not in data["models"]["FIDDLE 5 inputs"]

    # the figures table: every row, the FactorNet columns as in the JSON, FIDDLE's "-" where the
    # figure is FactorNet's alone
    assert set(data["measures"]) >= {*RATES, *PREDICTION_RATES, "input stall share",
                                     "GPU busy pipeline", "GPU busy memory",
                                     "epoch 60K projected s", "60M bins projected s"}
    for label, key in (("train samples/s, pipeline", RATES[0]),
                       ("train samples/s, in memory", RATES[1]),
                       ("predict bins/s, stretch", PREDICTION_RATES[0]),
                       ("predict bins/s, per window", PREDICTION_RATES[1])):
        row = table_row(out, label)
        for name, printed in zip(MODELS, row):
            value = data["models"][name].get(key)
            assert printed == ("-" if value is None else f"{value:,.0f}"), (label, name, row)
    for label, key in (("input stall share", "input stall share"),
                       ("GPU busy, pipeline", "GPU busy pipeline"),
                       ("GPU busy, in memory", "GPU busy memory")):
        row = table_row(out, label)
        for name, printed in zip(MODELS, row):
            value = data["models"][name][key]
            assert printed == ("n/a" if value is None else f"{100 * value:.1f} %"), (label, row)
    for label in ("epoch of 60 K samples", "60 M bins"):
        assert re.search(rf"^{label} .* [\d.,]+ (s|min) +[\d.,]+ (s|min) +-$", out, re.M), label

    # the targets: each figure and verdict, in the JSON and printed
    targets = data["targets"]
    assert len(targets) == 5 * len(FACTORNET) + 2
    for row in targets:
        busy = row["target"].startswith("input pipeline keeps the GPU")
        assert row["met"] is None if busy and not gpu else isinstance(row["met"], bool), row
        verdict = "n/a" if row["met"] is None else ("yes" if row["met"] else "NO")
        assert re.search(rf"^{re.escape(row['target'])} +{re.escape(row['model'])} +"
                         rf"{re.escape(row['measure'])} +{re.escape(row['figure'])}  {verdict}$",
                         out, re.M), row
    epoch = {row["model"]: row for row in targets if row["target"].startswith("epoch 60 K")}
    assert set(epoch) == set(FACTORNET)
