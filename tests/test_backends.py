"""Every Keras backend end to end (tests/backend_run.py): TensorFlow, then JAX, then torch each
train FactorNet and FIDDLE on the small demo, save them, load their own folders and TensorFlow's
and predict and attribute with them. TensorFlow's weights give the same numbers under every
backend (within 1e-4), and under JAX and torch nothing imports TensorFlow: it is made
unimportable there, as on a machine without it."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")  # the others load TensorFlow's folders too

#: a sitecustomize that makes TensorFlow unimportable, as where it is not installed
NO_TENSORFLOW = '''
import importlib.abc, importlib.machinery, sys

class _Absent(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

    def exec_module(self, module):
        pass

class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            return importlib.machinery.ModuleSpec(name, _Absent())

sys.meta_path.insert(0, _NoTensorFlow())
'''


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


pytestmark = pytest.mark.slow  # three processes, each training and predicting: about 2-3 min


@pytest.fixture(scope="module")
def runs(small_demo, tmp_path_factory):
    """Each backend's run folder, in BACKENDS order; a backend not installed is skipped."""
    missing = [name for name in BACKENDS if not installed(name)]
    if missing:
        pytest.skip(f"backend(s) not installed: {', '.join(missing)} "
                    "(pip install -e '.[tensorflow,jax,torch]')")
    root = tmp_path_factory.mktemp("backends")
    blocker = root / "no_tensorflow"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_TENSORFLOW)
    done = []  # the TensorFlow run's folder, once made
    for backend in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
        if backend != "tensorflow":
            env["PYTHONPATH"] = os.pathsep.join([str(blocker), str(ROOT)])
        result = subprocess.run([sys.executable, str(ROOT / "tests/backend_run.py"),
                                 str(small_demo), str(root / backend), *map(str, done[:1])],
                                env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{backend}:\n{result.stderr[-4000:]}"
        done.append(root / backend)
    return {path.name: path for path in done}


def test_jax_and_torch_run_without_tensorflow(runs):
    for backend, folder in runs.items():
        modules = json.loads((folder / "modules.json").read_text())
        assert modules["backend"] == backend
        if backend != "tensorflow":
            assert modules["tensorflow_imported"] is False


def test_each_backend_trained_and_saved_both_families(runs):
    for folder in runs.values():
        for family in ("factornet", "fiddle"):
            record = json.loads((folder / family / "run.json").read_text())
            assert record["epochs_done"] >= 1 and np.isfinite(record["best_val_loss"])
            assert (folder / family / "model.keras").is_file()


def outputs(run: Path, trained: str) -> dict[str, np.ndarray]:
    """What the backend of ``run`` predicted and attributed with the folders of ``trained``."""
    table = pd.read_csv(run / "predictions" / f"{trained}.tab.gz", sep="\t", header=None)
    with h5py.File(run / "predictions" / trained / "profiles.h5") as h5:
        profile = h5["profile"][:]
    with np.load(run / "attributions" / trained / "attributions.npz") as npz:
        attributions = {name: npz[name] for name in
                        ("score", "gradxinput_dna", "gradxinput_tracks", "ig_dna", "ig_tracks")}
    return {"bins": table.iloc[:, :3].to_numpy(), "factornet": table[3].to_numpy(),
            "fiddle": profile, **attributions}


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_tensorflow_weights_give_the_same_numbers(runs, backend):
    reference = outputs(runs["tensorflow"], "tensorflow")
    assert len(reference["factornet"]) > 1000 and reference["fiddle"].shape[1] == 500
    assert np.ptp(reference["factornet"]) > 1e-3  # scores that differ between bins
    values = outputs(runs[backend], "tensorflow")
    np.testing.assert_array_equal(values["bins"], reference["bins"])
    for name, value in values.items():
        if name != "bins":
            np.testing.assert_allclose(value, reference[name], rtol=1e-4,
                                       atol=1e-4 * np.abs(reference[name]).max(),
                                       err_msg=f"{name}: TensorFlow's weights under {backend}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_shipped_models_give_their_recorded_numbers(runs, backend):
    """Converted originals (their Keras-1 hard sigmoid, meta and GENCODE inputs) and the demo
    models, on their cards' check inputs: the numbers recorded under TensorFlow."""
    from fiddle_factornet.shipped import read_card

    for name, values in json.loads((runs[backend] / "shipped.json").read_text()).items():
        recorded = np.array(read_card(ROOT / "models" / name)["check"]["values"])
        np.testing.assert_allclose(values, recorded, rtol=1e-4, atol=1e-4 * np.abs(recorded).max(),
                                   err_msg=f"{name} under {backend}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_predicts_with_what_it_saved(runs, backend):
    own = outputs(runs[backend], backend)
    assert np.isfinite(own["factornet"]).all() and np.ptp(own["factornet"]) > 0
    np.testing.assert_allclose(own["fiddle"].sum(axis=1), 1, rtol=1e-4)  # distributions
    assert np.isfinite(own["ig_dna"]).all() and np.abs(own["gradxinput_dna"]).max() > 0
