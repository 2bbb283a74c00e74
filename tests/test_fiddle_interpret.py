"""FIDDLE's attributions of the predicted peak and its exported representations, on a small model
trained for one epoch on the small demo: gradients against finite differences, ISM against direct
predictions, representations against the model's own layers, and ffn-fiddle-attribute end to end."""

import json

import h5py
import keras
import numpy as np
import pytest

from fiddle_factornet.cli import fiddle_attribute
from fiddle_factornet.fiddle.evaluation import ModelOnWindows
from fiddle_factornet.fiddle.interpret import (FiddleParts, attribute_windows,
                                               in_silico_mutagenesis, ism_edits, peak_gradients)

from .conftest import FIDDLE_TRACKS as TRACKS, run_command



@pytest.fixture
def opened(fiddle_model_dir):
    return ModelOnWindows.open(fiddle_model_dir)


def attribute(*args) -> int:
    return run_command(fiddle_attribute, *args)


def peaks_of(model, inputs):
    prediction = model.predict(inputs, verbose=0)
    return prediction, prediction.argmax(axis=1)


def test_gradient_is_the_derivative_of_the_peak_probability(opened):
    """Per track, the derivative (central differences) along the gradient restricted to the
    nonzero input values is that restricted gradient's norm; the scores are the predicted
    probabilities at the peaks. (Restricted: a ReLU unit whose inputs and bias are all 0 — a
    filter that died in training keeps its zero bias — sits on its kink, where the one-sided
    derivatives differ and central differences average them.)"""
    model = opened.model
    inputs, _ = opened.view.read(opened.samples.take(slice(4)))
    prediction, peaks = peaks_of(model, inputs)
    windows = np.arange(len(peaks))
    scores, gradients = peak_gradients(model, inputs, peaks)
    np.testing.assert_allclose(scores, prediction[windows, peaks], rtol=1e-5)

    def score(changed):
        return model.predict({**inputs, **changed}, verbose=0)[windows, peaks].astype(np.float64)

    for name in TRACKS:
        assert gradients[name].shape == inputs[name].shape
        gradient = gradients[name].astype(np.float64) * (inputs[name] != 0)
        norm = np.linalg.norm(gradient.reshape(len(peaks), -1), axis=1)
        assert (norm > 0).all(), name
        step = (1e-4 * scores / norm)[:, None, None]  # moves the score by about 0.01 %
        direction = gradient / norm[:, None, None]
        slope = (score({name: inputs[name] + step * direction}) -
                 score({name: inputs[name] - step * direction})) / (2 * step[:, 0, 0])
        np.testing.assert_allclose(slope, norm, rtol=2e-2, err_msg=name)


def test_ism_edits_dna_bases_and_nonzero_signal_values():
    dna = np.zeros((1, 3, 4), np.float32)
    dna[0, 0, 2] = dna[0, 2, 0] = 1
    dna[0, 1] = 0.25  # an N: all four bases are edits
    window, position, base, rows = ism_edits(dna, dna=True)
    assert np.bincount(position).tolist() == [3, 4, 3]
    np.testing.assert_array_equal(rows, np.eye(4, dtype=np.float32)[base])
    signal_ = np.array([[[0, 2], [3, 0]]], np.float32)
    window, position, row, rows = ism_edits(signal_, dna=False)
    assert list(zip(position, row)) == [(0, 1), (1, 0)]
    np.testing.assert_array_equal(rows, [[0, 0], [0, 0]])


def test_ism_equals_score_differences_of_direct_predictions(opened):
    """Sampled DNA (position, base) edits and zeroed signal values, predicted by the whole model,
    change the peak's probability by the ISM entries; the reference bases' entries are 0."""
    model = opened.model
    inputs, _ = opened.view.read(opened.samples.take(slice(3)))
    parts = FiddleParts.of(model)
    assert parts.tracks == TRACKS
    base = parts.representations(inputs)
    prediction, peaks = peaks_of(model, inputs)
    np.testing.assert_allclose(base["prediction"], prediction, rtol=1e-5, atol=1e-9)
    effects = in_silico_mutagenesis(parts, inputs, peaks, base, ("dna",), batch_size=500)
    reference = base["prediction"][np.arange(3), peaks]
    assert (effects["dna"][inputs["dna"] == 1] == 0).all()
    assert (effects["netseq"][inputs["netseq"] == 0] == 0).all()
    rng = np.random.default_rng(0)
    edits = []  # (track, window, position, row, new value of the row)
    for _ in range(4):
        w, p = rng.integers(3), rng.integers(500)
        b = (int(inputs["dna"][w, p].argmax()) + rng.integers(1, 4)) % 4
        edits.append(("dna", w, p, b, np.eye(4, dtype=np.float32)[b]))
    for name in ("netseq", "rnaseq"):
        nonzero = np.argwhere(inputs[name] != 0)
        assert len(nonzero), name
        for w, p, h in nonzero[rng.choice(len(nonzero), 2, replace=False)]:
            row = inputs[name][w, p].copy()
            row[h] = 0
            edits.append((name, w, p, h, row))
    windows = np.array([w for _, w, _, _, _ in edits])
    edited = {name: values[windows] for name, values in inputs.items()}
    for i, (name, _, p, _, row) in enumerate(edits):
        edited[name][i, p] = row
    direct = model.predict(edited, verbose=0)[np.arange(len(edits)), peaks[windows]] - \
        reference[windows]
    found = [effects[name][w, p, k] for name, w, p, k, _ in edits]
    assert np.abs(direct).max() > 0
    np.testing.assert_allclose(found, direct, rtol=1e-3, atol=1e-9)


def test_representations_are_the_modules_outputs_with_coordinates(opened, tmp_path):
    model = opened.model
    out = attribute_windows(opened.folder.path, tmp_path / "attr", methods=("gradient",),
                            n_plots=0)
    inputs, _ = opened.view.read(opened.samples)
    # the modules' outputs as the whole model's graph routes them into the scaffold
    direct = keras.Model(model.inputs, [model.get_layer(f"stack_{i}").input
                                        for i in range(1, len(TRACKS) + 1)]
                         + [model.get_layer("stack").output])
    *modules, stacked = direct.predict(inputs, verbose=0)
    lines = [line.split("\t") for line in
             (opened.folder.path / "test_regions.bed").read_text().splitlines()]
    with h5py.File(out / "representations.h5") as h5:
        assert list(h5.attrs["tracks"]) == list(TRACKS)
        for name, values in zip(TRACKS, modules):
            np.testing.assert_allclose(h5[name][:], values, rtol=1e-5, atol=1e-6)
            assert h5[name].attrs["layer"] == f"{name}_representation"
        np.testing.assert_allclose(h5["scaffold_input"][:], stacked, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h5["prediction"][:], model.predict(inputs, verbose=0),
                                   rtol=1e-5, atol=1e-9)
        assert [[c.decode(), str(s), str(e), d.decode()] for c, s, e, d in
                zip(h5["chrom"], h5["start"], h5["end"], h5["strand"])] == \
            [[f[0], f[1], f[2], f[5]] for f in lines]
    with h5py.File(out / "attributions.h5") as h5:
        assert set(h5["dna"]) == {"gradient"} and h5["dna/gradient"].shape == (8, 500, 4)


def test_the_command_writes_every_output(fiddle_model_dir, tmp_path, runner_state, capsys):
    bed = tmp_path / "windows.bed"
    lines = (fiddle_model_dir / "test_regions.bed").read_text().splitlines()
    minus = next(line for line in lines if line.endswith("-"))
    plus = next(line for line in lines if line.endswith("+"))
    bed.write_text(f"{plus}\n{minus}\n{lines[2]}\n")
    out = tmp_path / "attr"
    assert attribute("-m", fiddle_model_dir, "-b", bed, "--methods", "ism,gradxinput", "--plots", 2,
                     "--batchsize", 512, "-o", out) == 0, capsys.readouterr().err[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["attributions.h5", "plots",
                                                     "representations.h5", "run.json",
                                                     "summary.tsv"]
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["methods"] == ["gradxinput", "ism"] and record["windows"] == 3
    with h5py.File(out / "attributions.h5") as h5:
        assert list(h5.attrs["methods"]) == ["gradxinput", "ism"]
        assert [s.decode() for s in h5["strand"]] == ["+", "-", lines[2][-1]]
        assert h5["start"][1] == int(minus.split("\t")[1])
        shapes = {name: (3, 500, rows) for name, rows in zip(TRACKS, (4, 2, 1))}
        for name in TRACKS:
            assert set(h5[name]) == {"gradxinput", "ism"}
            assert h5[f"{name}/ism"].shape == h5[f"{name}/gradxinput"].shape == shapes[name]
        assert list(h5["dna"].attrs["rows"]) == list("ACGT")
        peaks = h5["peak"][:]
        np.testing.assert_array_equal(peaks, h5["prediction"][:].argmax(axis=1))
        np.testing.assert_allclose(h5["score"][:], h5["prediction"][:][np.arange(3), peaks],
                                   rtol=1e-5)
        totals = [np.abs(h5[f"{name}/gradxinput"][:]).sum(axis=(1, 2)) for name in TRACKS]
    rows = [line.split("\t") for line in (out / "summary.tsv").read_text().splitlines()]
    assert rows[0][:6] == ["chrom", "start", "end", "strand", "peak", "score"]
    assert rows[0][6:8] == ["dna_gradxinput_total", "dna_gradxinput_share"]
    assert len(rows) == 4 and len(rows[0]) == 6 + 2 * 2 * len(TRACKS)
    table = {key: np.array([float(r[i]) for r in rows[1:]]) for i, key in enumerate(rows[0])
             if i >= 4}
    np.testing.assert_array_equal(table["peak"], peaks)
    for method in ("gradxinput", "ism"):
        np.testing.assert_allclose(sum(table[f"{n}_{method}_share"] for n in TRACKS), 1, atol=1e-5)
    np.testing.assert_allclose(table["dna_gradxinput_total"], totals[0], rtol=1e-6)
    plots = sorted((out / "plots").iterdir())
    assert len(plots) == 2 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in plots)
    assert attribute("-m", fiddle_model_dir, "-b", bed, "-o", out) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "output exists (it is replaced only when asked to) (see -oc)")


def test_bad_input_is_one_line(fiddle_model_dir, tmp_path, runner_state, capsys):
    factornet = tmp_path / "factornet_model"
    factornet.mkdir()
    (factornet / "run.json").write_text('{"family": "factornet", "architecture": {}}')
    (factornet / "model.keras").write_bytes(b"")
    wide = tmp_path / "wide.bed"
    first = (fiddle_model_dir / "test_regions.bed").read_text().splitlines()[0].split("\t")
    wide.write_text("\t".join([first[0], first[1], str(int(first[2]) + 100), *first[3:]]) + "\n")
    for args, ending in [
            (["-m", factornet], "factornet_model: a FactorNet model folder, not a FIDDLE one"),
            (["-m", fiddle_model_dir, "-b", wide], "is 600 bp wide, not the model's 500 bp (1 of 1 "
                                            "windows are) (see -b)"),
            (["-m", fiddle_model_dir, "--methods", "gradient,saliency"],
             "unknown attribution method 'saliency': choose from gradient, gradxinput, ism "
             "(see --methods)")]:
        assert attribute(*args, "-o", tmp_path / "out") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("ffn-fiddle-attribute: error: ") and err[-1].endswith(ending), err
        assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "out").exists()
