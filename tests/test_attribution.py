"""Attributions of FactorNet predictions (fiddle_factornet.interpret.attribution, ffn-attribute):
the reverse-strand mapping checked exactly, integrated gradients' completeness, ISM and gradients
agreeing at a planted motif, the command end to end, and a converted original model."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import pyBigWig
import pytest

from fiddle_factornet.data.genome import Genome, onehot
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.data.tracks import TrackSet, reverse_complement_order
from fiddle_factornet.demo.factornet import DEMO_MOTIFS, consensus_pwm
from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
from fiddle_factornet.factornet.motifs import inject_pwm
from fiddle_factornet.factornet.view import FactorNetView
from fiddle_factornet.interpret.gradients import input_gradients
from fiddle_factornet.interpret.attribution import (
    BASELINES, METHODS, FactorNetAttribution, integrated_gradients, position_summary, reverse_strand,
    strand_permutation, to_forward_strand)
from fiddle_factornet.pipeline import TrackInput
from fiddle_factornet.runs.record import RunRecord

BIN = Path(__file__).resolve().parents[1] / "bin"
SMALL = dict(input_length=120, kernels=6, kernel_width=10, dense=8, recurrent=4)
REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"


def windows(cfg: FactorNetConfig, n: int, seed: int, track_names=None) -> dict:
    """Model inputs of n random windows: one-hot DNA (a few N) and gamma tracks, ``reverse``
    made from ``forward``, random meta and 0/1 annotations when the config has them."""
    rng = np.random.default_rng(seed)
    dna = onehot(rng.choice(5, (n, cfg.input_length), p=[0.24] * 4 + [0.04]))
    signal = rng.gamma(1.0, 1.0, (n, cfg.input_length, cfg.n_tracks)).astype(np.float32)
    forward = np.concatenate([dna, signal], axis=-1)
    order = reverse_complement_order(track_names or [f"t{j}" for j in range(cfg.n_tracks)])
    inputs = {"forward": forward, "reverse": reverse_strand(forward, strand_permutation(order))}
    if cfg.n_meta:
        inputs["meta"] = rng.normal(size=(n, cfg.n_meta)).astype(np.float32)
    if cfg.n_annotations:
        inputs["annotations"] = (rng.random((n, cfg.n_annotations)) < 0.5).astype(np.float32)
    return inputs


def scaled_model(cfg: FactorNetConfig, seed: int, scale: float = 10.0):
    """A freshly initialised model whose output layer is scaled: its score then moves by 0.01 to
    0.5 between the baseline and a window (unscaled, it hardly leaves 0.5)."""
    keras.utils.set_random_seed(seed)
    model = build_factornet(cfg)
    output = model.get_layer("strand_head").get_layer("output")
    kernel, bias = output.get_weights()
    output.set_weights([kernel * scale, bias])
    return model


# ---- the reverse-strand mapping ----

def test_strand_mapping_matches_brute_force_and_the_view(small_demo):
    names = ["DGF", "cov_fwd", "cov_rev"]
    permutation = strand_permutation(reverse_complement_order(names))
    assert permutation.tolist() == [3, 2, 1, 0, 4, 6, 5]
    rng = np.random.default_rng(0)
    n, length, channels = 2, 7, 7
    forward, values = rng.normal(size=(2, n, length, channels)).astype(np.float32)
    expected_reverse = np.empty_like(forward)
    expected_forward = np.zeros_like(values)
    for i in range(length):
        for c in range(channels):
            expected_reverse[:, i, c] = forward[:, length - 1 - i, permutation[c]]
            expected_forward[:, length - 1 - i, permutation[c]] += values[:, i, c]
    np.testing.assert_array_equal(reverse_strand(forward, permutation), expected_reverse)
    np.testing.assert_array_equal(to_forward_strand(values, permutation), expected_forward)
    # the transpose: <reverse_strand(x), v> = <x, to_forward_strand(v)>
    np.testing.assert_allclose((reverse_strand(forward, permutation) * values).sum(),
                               (forward * to_forward_strand(values, permutation)).sum(), rtol=1e-5)
    # the view's reverse input is reverse_strand of its forward input (the demo's genome, N and
    # windows off the chromosome end included)
    factornet = small_demo / "factornet"
    tracks = TrackSet([factornet / "Unique35.bw", factornet / "demoA/DNase.bw"], ["Unique35", "DGF"])
    view = FactorNetView(Genome(small_demo / "genome/demo.fa", cache=False),
                         TrackInput("tracks", (tracks,)), length=300)
    names = ("chr1", "chr2")
    samples = Samples.build(names, [0, 1, 0], [100, 50_000, 59_950], [300, 50_200, 60_000], 0, 0,
                            np.zeros((3, 1)))
    inputs, _ = view.read(samples)
    np.testing.assert_array_equal(
        inputs["reverse"], reverse_strand(inputs["forward"], strand_permutation(tracks.rc_order)))


def test_the_strand_sum_is_the_gradient_of_the_tied_model():
    """The forward-coordinate gradient (forward + mapped reverse) equals autodiff's gradient of
    f(x, reverse complement of x), the reverse complement built inside the graph."""
    cfg = FactorNetConfig(**SMALL, n_tracks=3, n_annotations=6)
    permutation = strand_permutation(reverse_complement_order(["DGF", "cov_fwd", "cov_rev"]))
    model = scaled_model(cfg, seed=1)
    inputs = windows(cfg, 4, seed=2, track_names=["DGF", "cov_fwd", "cov_rev"])
    attribution = FactorNetAttribution(model, 0, permutation, batch_size=64)
    scores, gradient = attribution.gradients(inputs)

    def tied(tensors):
        forward = tensors["forward"]
        reverse = keras.ops.take(keras.ops.flip(forward, axis=1), permutation, axis=2)
        return model({"forward": forward, "reverse": reverse,
                      "annotations": tensors["annotations"]}, training=False)[:, 0]

    held = {name: inputs[name] for name in ("forward", "annotations")}
    tied_scores, tied_gradient = input_gradients(tied, held, ["forward"])
    np.testing.assert_allclose(scores, tied_scores, rtol=1e-6)
    np.testing.assert_allclose(gradient, tied_gradient["forward"], rtol=1e-5,
                               atol=1e-6 * np.abs(gradient).max())


def palindromic_windows(cfg: FactorNetConfig, n: int, seed: int) -> dict:
    """Windows equal to their own reverse complement: DNA whose second half is the reverse
    complement of its first, tracks mirror-symmetric (the stranded pair mirrors of each other)."""
    rng = np.random.default_rng(seed)
    half = cfg.input_length // 2
    codes = rng.integers(0, 4, (n, half))
    dna = onehot(np.concatenate([codes, 3 - codes[:, ::-1]], axis=1))
    dgf, cov = rng.gamma(1.0, 1.0, (2, n, half)).astype(np.float32)
    dgf = np.concatenate([dgf, dgf[:, ::-1]], axis=1)
    cov_fwd = np.concatenate([cov, rng.gamma(1.0, 1.0, (n, half)).astype(np.float32)], axis=1)
    tracks = np.stack([dgf, cov_fwd, cov_fwd[:, ::-1]], axis=-1)
    forward = np.concatenate([dna, tracks], axis=-1)
    inputs = {"forward": forward, "reverse": forward.copy(),
              "meta": rng.normal(size=(n, cfg.n_meta)).astype(np.float32)}
    return inputs


def test_palindromic_windows_give_maps_equal_to_their_reverse_complement():
    cfg = FactorNetConfig(**SMALL, n_tracks=3, n_meta=2)
    permutation = strand_permutation(reverse_complement_order(["DGF", "cov_fwd", "cov_rev"]))
    inputs = palindromic_windows(cfg, 2, seed=4)
    np.testing.assert_array_equal(reverse_strand(inputs["forward"], permutation), inputs["forward"])
    attribution = FactorNetAttribution(scaled_model(cfg, seed=5), 0, permutation, batch_size=512)
    for baseline in ("zero", "uniform"):
        result = attribution.attribute(inputs, METHODS, baseline=baseline, steps=16, rtol=0)
        for method, values in result.values.items():
            scale = np.abs(values).max()
            assert scale > 0, method
            np.testing.assert_allclose(to_forward_strand(values, permutation), values,
                                       rtol=1e-5, atol=1e-6 * scale, err_msg=method)


# ---- integrated gradients ----

def test_generic_integrated_gradients_are_exact_and_refined_where_needed():
    """score = sum(x^3), baseline 0: the attributions are x^3; the trapezoid rule in s intervals
    gives x^3 (1 + 1 / (2 s^2)), and refinement halves a sample's intervals until its gap is
    within the tolerance."""
    x = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    score = lambda tensors: keras.ops.sum(tensors["x"] ** 3, axis=1)
    plain = integrated_gradients(score, {"x": x}, {"x": np.zeros(2, np.float32)}, steps=4)
    np.testing.assert_allclose(plain.attributions["x"], x ** 3 * (1 + 1 / 32), rtol=1e-6)
    np.testing.assert_allclose(plain.scores, (x ** 3).sum(axis=1))
    np.testing.assert_allclose(plain.gap(), (x ** 3).sum(axis=1) / 32, rtol=1e-5)
    # gaps 9 / (2 s^2) and 0.875 / (2 s^2) fall within 0.01 at s = 32 and s = 8
    refined = integrated_gradients(score, {"x": x}, {"x": np.zeros(2, np.float32)}, steps=4,
                                   atol=0.01)
    assert refined.steps.tolist() == [32, 8]
    np.testing.assert_allclose(refined.attributions["x"],
                               x ** 3 * (1 + 1 / (2 * refined.steps[:, None] ** 2)), rtol=1e-5)


@pytest.mark.parametrize("name, cfg", [
    ("lstm", FactorNetConfig(**SMALL)),
    ("meta_annotations", FactorNetConfig(**SMALL, n_meta=3, n_annotations=6)),
])
def test_integrated_gradients_are_complete(name, cfg):
    """Per window: attributions (DNA and tracks, both strands) sum to score - baseline score
    within 1 % of it (or within 1e-4 where it is under 0.01: there 1 % is below float32's
    resolution of a sum of 720 terms), for both baselines."""
    inputs = windows(cfg, 8, seed=6)
    attribution = FactorNetAttribution(scaled_model(cfg, seed=7), 0, strand_permutation([0, 1]),
                                       batch_size=1024)
    for baseline in ("zero", "uniform"):
        result = attribution.integrated_gradients(inputs, baseline)
        difference = result.scores - result.baseline_scores
        total = result.attributions["window"].sum(axis=(1, 2), dtype=np.float64)
        relative = np.abs(total - difference) / np.abs(difference)
        large = np.abs(difference) > 0.01
        plain = attribution.integrated_gradients(inputs, baseline, rtol=0)
        plain_relative = np.abs(plain.gap()) / np.abs(difference)
        print(f"{name} {baseline}: {large.sum()} windows with |score - baseline| "
              f"{np.abs(difference[large]).min():.3f}..{np.abs(difference).max():.3f}: "
              f"completeness error max {relative[large].max():.4f} "
              f"(steps {sorted(set(result.steps.tolist()))}; 64 steps alone "
              f"{plain_relative[large].max():.4f}); the others' |gap| max "
              f"{np.abs(total - difference)[~large].max(initial=0):.2g}")
        assert large.sum() >= 4
        assert (relative[large] <= 0.01).all(), relative
        assert (np.abs(total - difference)[~large] <= 1e-4).all()
        np.testing.assert_allclose(result.scores, attribution.predict(inputs), rtol=1e-5)
        base = np.zeros_like(inputs["forward"])
        base[..., :4] = BASELINES[baseline]
        held = {**inputs, "forward": base, "reverse": base}
        np.testing.assert_allclose(result.baseline_scores, attribution.predict(held), rtol=1e-5)


# ---- a planted motif ----

def motif_detector(pwm: np.ndarray, length: int = 100):
    """A model that scores a motif: kernels 0 and 1 from the PWM (inject_pwm, what -mo does) with
    bias -10, so that only a strong match passes the ReLU; every other kernel and the tracks'
    weights 0; positive weights from those two kernels through the dense layers."""
    cfg = FactorNetConfig(input_length=length, kernels=4, kernel_width=20, recurrent=-1, dense=4)
    model = build_factornet(cfg)
    trunk, head = model.get_layer("strand_trunk"), model.get_layer("strand_head")
    conv = trunk.get_layer("conv")
    conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    inject_pwm(model, pwm)
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel, np.where(np.arange(4) < 2, -10.0, 0.0).astype(np.float32)])
    trunk.get_layer("conv_dense").set_weights([np.eye(4, dtype=np.float32), np.zeros(4, np.float32)])
    dense = np.zeros((4, 4), np.float32)
    dense[:2, 0] = 0.2
    trunk.get_layer("dense").set_weights([dense, np.zeros(4, np.float32)])
    output = np.zeros((4, 1), np.float32)
    output[0] = 1.0
    head.get_layer("output").set_weights([output, np.array([-2.0], np.float32)])
    return model, cfg


def test_ism_and_gradients_agree_in_sign_at_a_planted_motif():
    """The demo's CTCF consensus planted at 40..58 of random windows: at every motif position the
    mean effect of the three mutations (ISM) is negative, and the present base's saliency,
    gradient x input and integrated gradient are positive; off the motif every method gives 0."""
    consensus = DEMO_MOTIFS["CTCF"]
    model, cfg = motif_detector(consensus_pwm(consensus, 0.85))
    rng = np.random.default_rng(8)
    codes = rng.integers(0, 4, (3, cfg.input_length))
    motif = slice(40, 40 + len(consensus))
    codes[:, motif] = ["ACGT".index(base) for base in consensus]
    codes[1, motif] = 3 - codes[1, motif][::-1]  # the second window: on the minus strand
    forward = np.concatenate([onehot(codes), np.ones((3, cfg.input_length, 2), np.float32)], -1)
    permutation = strand_permutation([0, 1])
    inputs = {"forward": forward, "reverse": reverse_strand(forward, permutation)}
    result = FactorNetAttribution(model, 0, permutation).attribute(inputs)
    assert (result.scores > 0.9).all(), result.scores
    dna = forward[..., :4]
    ism_mean = result.values["ism"][..., :4].sum(axis=-1) / 3  # mutant - reference, 3 mutants
    present = {method: (result.values[method][..., :4] * dna).sum(axis=-1)
               for method in ("saliency", "gradxinput", "ig")}
    print(f"at the motif: ISM mean {ism_mean[:, motif].max():.3g} at most; present base "
          + ", ".join(f"{m} {v[:, motif].min():.3g}" for m, v in present.items()) + " at least")
    assert (ism_mean[:, motif] < 0).all()
    for method, values in present.items():
        assert (values[:, motif] > 0).all(), method
    off = np.ones(cfg.input_length, bool)
    off[motif] = False
    for method, values in result.values.items():
        assert np.abs(values[:, off]).max() < 1e-6, method
    # the per-position summary: positive = the present base raises the score, for every method
    for method, values in result.values.items():
        assert (position_summary(method, values, dna)[0][:, motif] > 0).all(), method


# ---- ffn-attribute ----

def write_model_folder(path: Path, cfg: FactorNetConfig, seed: int = 0) -> Path:
    """An untrained FactorNet model folder for CTCF on the demo's tracks."""
    keras.utils.set_random_seed(seed)
    path.mkdir()
    build_factornet(cfg).save(path / "model.keras")
    (path / "chip.txt").write_text("CTCF\n")
    (path / "bigwig.txt").write_text("Unique35\nDGF\n")
    (path / "feature.txt").write_text("bigwig\n")
    RunRecord("test model", {}, family="factornet", architecture=asdict(cfg)).write(path / "run.json")
    return path


@pytest.mark.slow  # a command end to end in a subprocess / a converted original model
def test_command_writes_arrays_bigwigs_plots_and_table(small_demo, tmp_path, capsys, runner_state):
    cfg = FactorNetConfig(input_length=200, kernels=6, kernel_width=10, dense=8, recurrent=4)
    model = write_model_folder(tmp_path / "model", cfg)
    bed = tmp_path / "regions.bed"
    # the last two overlap: their windows (200 bp) share 100 bp
    bed.write_text("chr1\t10000\t10200\tfirst\nchr2\t20000\t20200\nchr2\t20100\t20300\t.\n")
    args = ["-i", small_demo / "factornet/demoA", "-m", model, "-f", "CTCF", "-b", bed, "--genome",
            small_demo / "genome/demo.fa"]
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(BIN / "ffn-attribute"), *map(str, args),
                             "--plot_width", "40", "--ig_steps", "16", "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == {"attributions.npz", "regions.tsv", "bigwig",
                                               "plots", "run.json"}
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["methods"] == list(METHODS) and record["regions"] == 3
    assert record["ig_incomplete_windows"] == 0
    arrays = np.load(out / "attributions.npz")
    assert arrays["region"].tolist() == ["first", "chr2:20000-20200", "chr2:20100-20300"]
    assert arrays["window_start"].tolist() == [10000, 20000, 20100]
    assert arrays["onehot"].shape == (3, 200, 4) and arrays["tracks"].shape == (3, 200, 2)
    for method in METHODS:
        assert arrays[f"{method}_dna"].shape == (3, 200, 4)
        assert arrays[f"{method}_tracks"].shape == (3, 200, 2)
        assert arrays[f"{method}_position"].shape == (3, 200)
        assert np.isfinite(arrays[f"{method}_dna"]).all()
    gap = arrays["ig_dna"].sum(axis=(1, 2)) + arrays["ig_tracks"].sum(axis=(1, 2)) \
        - (arrays["score"] - arrays["ig_baseline_score"])
    np.testing.assert_allclose(gap, arrays["ig_gap"], atol=1e-6)
    # bigWigs: the per-position summary over the windows; the overlap holds the windows' mean
    assert {p.name for p in (out / "bigwig").iterdir()} == \
        {f"{m}{t}.bw" for m in METHODS for t in ("", ".Unique35", ".DGF")}
    handle = pyBigWig.open(str(out / "bigwig/ig.bw"))
    assert handle.chroms("chr2") == 120_000
    position = arrays["ig_position"]
    np.testing.assert_allclose(handle.values("chr1", 10000, 10200), position[0], rtol=1e-6)
    np.testing.assert_allclose(handle.values("chr2", 20000, 20100), position[1, :100], rtol=1e-6)
    np.testing.assert_allclose(handle.values("chr2", 20100, 20200),
                               (position[1, 100:] + position[2, :100]) / 2, rtol=1e-5, atol=1e-9)
    assert np.isnan(handle.values("chr1", 9990, 10000)).all()  # outside every window
    handle.close()
    handle = pyBigWig.open(str(out / "bigwig/ism.DGF.bw"))
    np.testing.assert_allclose(handle.values("chr1", 10000, 10200),
                               -arrays["ism_tracks"][0, :, 1], rtol=1e-6, atol=1e-12)
    handle.close()
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "0000_chr1_10000_10200.png", "0001_chr2_20000_20200.png", "0002_chr2_20100_20300.png"]
    table = (out / "regions.tsv").read_text().splitlines()
    assert table[0].split("\t")[:6] == ["region", "chrom", "start", "end", "window_start", "score"]
    assert len(table) == 4 and table[1].startswith("first\tchr1\t10000\t10200\t10000\t")

    # errors: one line each, nothing written
    from fiddle_factornet.cli import attribute

    def error(*extra):
        with pytest.raises(SystemExit) as exit_:
            attribute.run(attribute.COMMAND, attribute.__doc__, attribute.FLAGS, attribute.main,
                          attribute.SETTING_FLAGS, argv=[*map(str, args), *map(str, extra)])
        assert exit_.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[-1].startswith("ffn-attribute: error: ")
        return lines[-1]

    capsys.readouterr()
    assert error("--methods", "saliency,shap", "-o", tmp_path / "x").endswith(
        "unknown attribution method 'shap' (choose from saliency, gradxinput, ig, ism) "
        "(see --methods)")
    assert "the model does not predict 'HNF4A'" in error("-f", "HNF4A", "-o", tmp_path / "x")
    other = tmp_path / "other.bed"
    other.write_text("chr1\t100\t300\nchrZ\t0\t200\n")
    assert "other.bed: chromosome 'chrZ' is not in the genome" in \
        error("-b", other, "-o", tmp_path / "x")
    assert "output exists" in error("-o", out)
    assert not (tmp_path / "x").exists()


# ---- a converted original model ----

@pytest.mark.skipif(not os.environ.get(REFERENCE_ENV),
                    reason=f"{REFERENCE_ENV} is unset: it points at the reference data "
                           "(../shared/reference), which .ci/run sets")
@pytest.mark.slow  # a command end to end in a subprocess / a converted original model
def test_converted_original_model():
    """The original HNF4A model (converted): two windows (one with HNF4A's consensus planted in
    the middle, random DNase): every attribution finite, IG complete within 1 %, and ISM
    lowering the score at the planted motif on average."""
    from fiddle_factornet.factornet.convert import build_converted, read_original
    from fiddle_factornet.factornet.motifs import read_meme

    reference = Path(os.environ[REFERENCE_ENV]) / "factornet"
    original = read_original(reference / "models/HNF4A/onePeak_Unique35_DGF")
    cfg = original.config
    pwm = read_meme(reference / "resources/HOCOMOCOv9.meme")["HNF4A"]
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 4, (2, cfg.input_length))
    start = (cfg.input_length - len(pwm)) // 2
    codes[0, start:start + len(pwm)] = pwm.argmax(axis=1)
    signal = np.zeros((2, cfg.input_length, 2), np.float32)
    signal[..., original.track_names.index("Unique35")] = 1.0
    signal[..., original.track_names.index("DGF")] = rng.gamma(0.5, 1.0, (2, cfg.input_length))
    forward = np.concatenate([onehot(codes), signal], axis=-1)
    permutation = strand_permutation(reverse_complement_order(original.track_names))
    inputs = {"forward": forward, "reverse": reverse_strand(forward, permutation)}
    attribution = FactorNetAttribution(build_converted(original), 0, permutation, batch_size=512)
    result = attribution.attribute(inputs)
    for method, values in result.values.items():
        assert values.shape == forward.shape and np.isfinite(values).all(), method
    difference = result.scores - result.ig.baseline_scores
    relative = np.abs(result.ig.gap()) / np.abs(difference)
    print(f"HNF4A: scores {result.scores}, baseline {result.ig.baseline_scores}; completeness "
          f"error {relative.max():.4f} (steps {result.ig.steps.tolist()})")
    assert (relative <= 0.01).all()
    motif = slice(start, start + len(pwm))
    assert result.values["ism"][0, motif, :4].mean() < 0
