"""Conversion of the original FactorNet's published models (Keras 1.1.1, Theano): every model
converts and loads; predictions are reverse-complement symmetric and agree with a numpy
re-statement of the original forward pass; the models answer their TF's HOCOMOCO motif only with
the Theano kernel flip; a converted model saves, loads, predicts and fine-tunes."""

import gzip
import json
from dataclasses import asdict
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from fiddle_factornet.errors import InputError
from fiddle_factornet.factornet.convert import build_converted, convert_original, read_original
from fiddle_factornet.factornet.motifs import read_meme
from fiddle_factornet.factornet.folder import FactorNetModel

REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
REFERENCE = Path(os.environ[REFERENCE_ENV]) / "factornet" if os.environ.get(REFERENCE_ENV) else None
MODELS = REFERENCE / "models" if REFERENCE else None
BIN = Path(__file__).resolve().parents[1] / "bin"

pytestmark = pytest.mark.skipif(
    REFERENCE is None, reason=f"{REFERENCE_ENV} is unset: it points at the reference data "
                              "(../shared/reference), which .ci/run sets")

ORIGINALS = sorted(str(p.parent.relative_to(MODELS)) for p in MODELS.glob("*/*/model.json")) \
    if MODELS else []
#: one model of each variant, for the numpy comparison
VARIANTS = ["E2F1/onePeak_Unique35_DGF", "EGR1/meta_RNAseq_Unique35_DGF",
            "NANOG/GENCODE_Unique35_DGF", "GABPA/metaGENCODE_RNAseq_Unique35_DGF"]
MOTIF_MODELS = {"HNF4A": "HNF4A/onePeak_Unique35_DGF", "FOXA1": "FOXA1/onePeak_DGF",
                "FOXA2": "FOXA2/onePeak_Unique35_DGF", "GABPA": "GABPA/meta_RNAseq_Unique35_DGF",
                "MAX": "MAX/onePeak_Unique35_DGF"}

_MODELS = {}


def converted(name, flip=True):
    """The in-memory converted model (built once per session)."""
    if (name, flip) not in _MODELS:
        _MODELS[name, flip] = build_converted(read_original(MODELS / name), flip=flip)
    return _MODELS[name, flip]


def random_inputs(cfg, n, seed=0, tracks=True):
    """Inputs by name: one-hot DNA + tracks (n, L, 4 + k), their exact reverse complement, and
    random meta (n, n_meta) / 0-1 annotations (n, n_annotations)."""
    rng = np.random.default_rng(seed)
    dna = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, cfg.input_length))]
    signal = rng.gamma(0.5, 1.0, (n, cfg.input_length, cfg.n_tracks)).astype(np.float32) \
        * tracks
    return strands(dna, signal) | extras(cfg, n, rng)


def strands(dna, signal):
    """forward = [dna, signal] (n, L, 4 + k); reverse: DNA reverse-complemented (ACGT reversed
    along both axes), tracks reversed."""
    forward = np.concatenate([dna, signal], axis=-1)
    reverse = np.concatenate([dna[:, ::-1, ::-1], signal[:, ::-1]], axis=-1)
    return {"forward": forward, "reverse": np.ascontiguousarray(reverse)}


def extras(cfg, n, rng):
    out = {}
    if cfg.n_meta:
        out["meta"] = rng.normal(size=(n, cfg.n_meta)).astype(np.float32)
    if cfg.n_annotations:
        out["annotations"] = rng.integers(0, 2, (n, cfg.n_annotations)).astype(np.float32)
    return out


def predict(model, inputs):
    return keras.ops.convert_to_numpy(model(inputs, training=False))


# ---- a numpy re-statement of the original's forward pass, from the HDF5 file itself ----

def _original_layers(path):
    """The weighted layers' arrays in model order: conv, time-distributed dense, bidirectional
    LSTM, then the dense layers; each {short name: array} (W, b, forward_W_i, ...)."""
    with h5py.File(path, "r") as handle:
        group = handle["model_weights"]
        layers = []
        for layer in group.attrs["layer_names"]:
            names = [n.decode() for n in group[layer].attrs["weight_names"]]
            if names:
                layers.append({n.split("_lstm_1_")[0] + "_" + n.rsplit("_lstm_1_", 1)[1]
                               if "_lstm_1_" in n else n.rsplit("_", 1)[1]:
                               np.asarray(group[layer][n], np.float64) for n in names})
    return layers


def _hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def _keras1_lstm(x, p, direction):
    """Keras 1 LSTM over x (T, in) -> (T, units), per its step equations."""
    units = p[f"{direction}_U_i"].shape[0]
    h, c, out = np.zeros(units), np.zeros(units), []
    for x_t in x:
        gate = {g: x_t @ p[f"{direction}_W_{g}"] + p[f"{direction}_b_{g}"]
                + h @ p[f"{direction}_U_{g}"] for g in "ifco"}
        i, f, o = _hard_sigmoid(gate["i"]), _hard_sigmoid(gate["f"]), _hard_sigmoid(gate["o"])
        c = f * c + i * np.tanh(gate["c"])
        h = o * np.tanh(c)
        out.append(h)
    return np.array(out)


def _strand(x, layers, extra, pool):
    """One strand (L, C) [+ extra vector] -> sigmoid outputs (n_tasks,)."""
    conv, timedist, lstm, *dense = layers
    kernel = conv["W"][:, 0]                                   # (w, C, k)
    w = kernel.shape[0]
    windows = sliding_window_view(x, w, axis=0)                # (L - w + 1, C, w)
    # true convolution: out[t] = sum_j x[t + w - 1 - j] . W[j]
    h = np.maximum(np.einsum("tcj,jck->tk", windows[:, :, ::-1], kernel) + conv["b"], 0)
    h = np.maximum(h @ timedist["W"] + timedist["b"], 0)
    steps = h.shape[0] // pool
    h = h[:steps * pool].reshape(steps, pool, -1).max(axis=1)
    backward = _keras1_lstm(h[::-1], lstm, "backward")[::-1]
    h = np.concatenate([_keras1_lstm(h, lstm, "forward"), backward], axis=1).reshape(-1)
    h = np.maximum(h @ dense[0]["W"] + dense[0]["b"], 0)
    if extra is not None:
        h = np.maximum(np.concatenate([h, extra]) @ dense[1]["W"] + dense[1]["b"], 0)
    logits = h @ dense[-1]["W"] + dense[-1]["b"]
    return 1 / (1 + np.exp(-logits))


def numpy_original(path, inputs, pool):
    """The original's predictions (n, n_tasks) for our named inputs, in float64."""
    layers = _original_layers(path)
    vectors = [inputs[k] for k in ("meta", "annotations") if k in inputs]
    out = []
    for i in range(len(inputs["forward"])):
        extra = np.concatenate([v[i] for v in vectors]) if vectors else None
        out.append((_strand(inputs["forward"][i], layers, extra, pool)
                    + _strand(inputs["reverse"][i], layers, extra, pool)) / 2)
    return np.array(out)


# ---- tests ----

def test_every_original_converts_and_loads(tmp_path):
    assert len(ORIGINALS) == 12
    for name in ORIGINALS:
        out = convert_original(MODELS / name, tmp_path / name)
        folder = FactorNetModel.load(out)
        source = MODELS / name
        assert folder.tfs == tuple((source / "chip.txt").read_text().split())
        assert folder.track_names == tuple((source / "bigwig.txt").read_text().split())
        assert folder.features == tuple((source / "feature.txt").read_text().split())
        arch = folder.architecture
        assert (arch.input_length, arch.kernel_width, arch.pool_size) == (1002, 34, 17)
        assert arch.n_meta == (8 if "meta" in folder.features else 0)
        assert arch.n_annotations == (6 if "gencode" in folder.features else 0)
        record = json.loads((out / "run.json").read_text())
        assert record["family"] == "factornet" and record["architecture"] == asdict(arch)
        converted_from = record["converted_from"]
        assert converted_from["weights"] == "best_model.hdf5" and converted_from["conv_kernel_flipped"]
        assert {"forward", "reverse"} <= {tensor.name for tensor in folder.model.inputs}


@pytest.mark.parametrize("name", VARIANTS)
def test_agrees_with_numpy_restatement_and_is_reverse_complement_symmetric(name):
    model = converted(name)
    cfg = read_original(MODELS / name).config
    inputs = random_inputs(cfg, 3, seed=1)
    swapped = inputs | {"forward": inputs["reverse"], "reverse": inputs["forward"]}
    both = predict(model, {k: np.concatenate([inputs[k], swapped[k]]) for k in inputs})
    ours = both[:3]
    np.testing.assert_array_equal(ours, both[3:])
    expected = numpy_original(MODELS / name / "best_model.hdf5", inputs, cfg.pool_size)
    assert ours.shape == expected.shape == (3, 1)
    # probabilities span 1e-22 .. 0.1 here: compare relatively (measured: within 7e-6)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=0)
    # the wrong kernel orientation is far from it
    assert np.abs(predict(converted(name, flip=False), inputs) / expected - 1).max() > 0.1


def motif_scores(model, original, pwm, n=6, seed=3):
    """Mean prediction over n random sequences with the PWM's consensus planted in the middle,
    and with the consensus reversed but not complemented. Tracks: no DNase signal, mappability
    (Unique35) 1 as in any mappable region (0 = unmappable: every model answers ~0 there);
    meta: HepG2's."""
    cfg = original.config
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, cfg.input_length))
    consensus = pwm.argmax(axis=1)
    start = (cfg.input_length - len(consensus)) // 2
    signal = np.zeros((n, cfg.input_length, cfg.n_tracks), np.float32)
    signal[..., [i for i, name in enumerate(original.track_names) if name == "Unique35"]] = 1
    vectors = {}
    if cfg.n_meta:
        meta = np.loadtxt(REFERENCE / "data" / "HepG2" / "meta.txt", usecols=0, dtype=np.float32)
        vectors["meta"] = np.tile(meta, (n, 1))
    if cfg.n_annotations:
        vectors["annotations"] = np.zeros((n, cfg.n_annotations), np.float32)
    planted = np.concatenate([codes, codes])
    planted[:n, start:start + len(consensus)] = consensus
    planted[n:, start:start + len(consensus)] = consensus[::-1]
    inputs = strands(np.eye(4, dtype=np.float32)[planted], np.concatenate([signal, signal])) \
        | {k: np.concatenate([v, v]) for k, v in vectors.items()}
    scores = predict(model, inputs)[:, 0]
    return float(scores[:n].mean()), float(scores[n:].mean())


@pytest.mark.parametrize("tf", sorted(MOTIF_MODELS))
def test_motif_response_needs_the_theano_flip(tf):
    # measured (motif / reversed motif): with the flip 33x (MAX) .. 1600x (FOXA1); without it
    # the reverse, 34x (MAX) .. 143000x (FOXA1)
    pwm = read_meme(REFERENCE / "resources" / "HOCOMOCOv9.meme")[tf]
    original = read_original(MODELS / MOTIF_MODELS[tf])
    motif, reversed_motif = motif_scores(converted(MOTIF_MODELS[tf]), original, pwm)
    assert motif > 10 * reversed_motif, (motif, reversed_motif)
    motif, reversed_motif = motif_scores(converted(MOTIF_MODELS[tf], flip=False), original, pwm)
    assert reversed_motif > 10 * motif, (motif, reversed_motif)


def test_saved_model_loads_predicts_and_fine_tunes(tmp_path):
    name = "GABPA/metaGENCODE_RNAseq_Unique35_DGF"
    model = converted(name)
    inputs = random_inputs(read_original(MODELS / name).config, 2, seed=4)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(predict(model, inputs), predict(loaded, inputs))
    lstm = loaded.get_layer("strand_trunk").get_layer("bilstm").forward_layer
    assert lstm.recurrent_activation(keras.ops.convert_to_tensor([-3.0, 0.0, 1.0])).numpy() \
        .tolist() == pytest.approx([0.0, 0.5, 0.7])
    loaded.compile(optimizer="adam", loss="binary_crossentropy")
    before = [w.copy() for w in loaded.get_weights()]
    loss = loaded.train_on_batch(inputs, np.array([[1.0], [0.0]], np.float32))
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, loaded.get_weights()))


def _copy(name, tmp_path):
    target = tmp_path / "original"
    shutil.copytree(MODELS / name, target)
    return target


def test_missing_weights_file_is_named(tmp_path):
    source = _copy("E2F1/onePeak_Unique35_DGF", tmp_path)
    with pytest.raises(InputError, match="final_model.hdf5"):
        convert_original(source, tmp_path / "out", weights="final")
    (source / "best_model.hdf5").unlink()
    with pytest.raises(InputError, match="best_model.hdf5"):
        convert_original(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_layer_class_is_named(tmp_path):
    source = _copy("E2F1/onePeak_Unique35_DGF", tmp_path)
    spec = (source / "model.json").read_text()
    (source / "model.json").write_text(spec.replace('"MaxPooling1D"', '"AveragePooling1D"'))
    with pytest.raises(InputError, match=r"model\.json: unknown layer class 'AveragePooling1D'"):
        convert_original(source, tmp_path / "out")


def test_missing_weights_dataset_is_named(tmp_path):
    source = _copy("E2F1/onePeak_Unique35_DGF", tmp_path)
    with h5py.File(source / "best_model.hdf5", "a") as handle:
        del handle["model_weights/bidirectional_1/backward_lstm_1_U_f"]
    with pytest.raises(InputError, match="best_model.hdf5: weights .*backward_lstm_1_U_f"):
        convert_original(source, tmp_path / "out")


def test_cli_converts(tmp_path):
    result = subprocess.run([sys.executable, str(BIN / "ffn-convert"), "-i",
                             str(MODELS / "FOXA1/onePeak_DGF"), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert FactorNetModel.load(tmp_path / "out").tfs == ("FOXA1",)
    with pytest.raises(InputError, match="out: output exists"):
        convert_original(MODELS / "FOXA1/onePeak_DGF", tmp_path / "out")


def test_a_converted_original_predicts_with_ffn_predict(small_demo, tmp_path):
    """The demo's cell types carry the original's track names (Unique35, DGF): a converted model
    scores them through the same script as any other, in a fresh process."""
    out = convert_original(MODELS / "HNF4A" / "onePeak_Unique35_DGF", tmp_path / "HNF4A")
    bed = tmp_path / "r.bed"
    bed.write_text("chr2\t20000\t20200\nchr2\t20050\t20250\nchr1\t0\t200\n")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parents[1] / "bin" / "ffn-predict"),
         "-i", str(small_demo / "factornet" / "demoC"), "-m", str(out), "-f", "HNF4A", "-b", str(bed),
         "--genome", str(small_demo / "genome" / "demo.fa"), "-o", str(tmp_path / "p.gz")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = gzip.open(tmp_path / "p.gz", "rt").read().splitlines()
    assert [r.split("\t")[:3] for r in rows] == [l.split("\t") for l in bed.read_text().splitlines()]
    assert rows[2].endswith("\t0.00000000e+00")  # the chromosome's first L bp are blacklisted
