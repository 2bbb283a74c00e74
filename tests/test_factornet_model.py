import json
import os
from dataclasses import asdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
from fiddle_factornet.factornet.motifs import inject_pwm, log_odds, read_meme
from fiddle_factornet.data.genome import encode, onehot

SMALL = dict(input_length=120, kernels=6, kernel_width=10, dense=8, recurrent=4)
VARIANTS = {
    "lstm": FactorNetConfig(**SMALL),
    "no_lstm": FactorNetConfig(**{**SMALL, "recurrent": 0}),
    "global_pool": FactorNetConfig(**{**SMALL, "recurrent": -1}),
    "meta": FactorNetConfig(**SMALL, n_meta=3),
    "gencode": FactorNetConfig(**SMALL, n_annotations=6),
    "meta_gencode_multitask": FactorNetConfig(**SMALL, n_meta=3, n_annotations=6, n_tasks=4),
    "dna_only": FactorNetConfig(**{**SMALL, "n_tracks": 0}),
    "fast_lstm": FactorNetConfig(**SMALL).fast_lstm(),
}


def batch(cfg: FactorNetConfig, n=5, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 5, (n, cfg.input_length))
    forward = np.concatenate([onehot(codes), rng.random((n, cfg.input_length, cfg.n_tracks),
                                                        dtype=np.float32)], axis=-1)
    reverse = forward[:, ::-1, [3, 2, 1, 0, *range(4, cfg.channels)]].copy()
    inputs = {"forward": forward, "reverse": reverse}
    if cfg.n_meta:
        inputs["meta"] = rng.normal(size=(n, cfg.n_meta)).astype(np.float32)
    if cfg.n_annotations:
        inputs["annotations"] = (rng.random((n, cfg.n_annotations)) < 0.5).astype(np.float32)
    return inputs, (rng.random((n, cfg.n_tasks)) < 0.5).astype(np.float32)


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_trains_saves_loads_and_predicts_identically(name, tmp_path):
    cfg = VARIANTS[name]
    model = build_factornet(cfg)
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    inputs, targets = batch(cfg)
    assert np.isfinite(model.train_on_batch(inputs, targets))
    before = model.predict(inputs, verbose=0)
    assert before.shape == (5, cfg.n_tasks) and ((before > 0) & (before < 1)).all()
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), before)
    rebuilt = build_factornet(FactorNetConfig(**json.loads(json.dumps(asdict(cfg)))))  # run.json's
    rebuilt.load_weights(tmp_path / "m.keras")
    np.testing.assert_array_equal(rebuilt.predict(inputs, verbose=0), before)


@pytest.mark.parametrize("name", ["lstm", "no_lstm", "global_pool", "meta_gencode_multitask"])
def test_prediction_is_exactly_reverse_complement_symmetric(name):
    cfg = VARIANTS[name]
    model = build_factornet(cfg)
    inputs, _ = batch(cfg, seed=3)
    flipped = {**inputs, "forward": inputs["reverse"], "reverse": inputs["forward"]}
    np.testing.assert_array_equal(model.predict(inputs, verbose=0), model.predict(flipped, verbose=0))


def test_layers_are_named_and_shapes_follow_the_config():
    model = build_factornet(FactorNetConfig())
    assert [i.name for i in model.inputs] == ["forward", "reverse"]
    trunk = model.get_layer("strand_trunk")
    assert trunk.get_layer("conv").kernel.shape == (26, 6, 32)
    assert trunk.get_layer("pool").output.shape[1] == (1000 - 26 + 1) // 13 == 75
    assert trunk.get_layer("bilstm").output.shape[1:] == (75, 64)
    assert trunk.get_layer("dense").output.shape[1:] == (128,)
    assert model.output.shape[1:] == (1,)
    with pytest.raises(ValueError, match="input length 20 is too short"):
        build_factornet(FactorNetConfig(input_length=20))


MEME = """MEME version 4

ALPHABET= ACGT

MOTIF M1_test TFX
letter-probability matrix: alength= 4 w= 4 nsites= 10 E= 0
0.9 0.0 0.1 0.0
0.0 1.0 0.0 0.0
0.0 0.0 0.0 1.0
0.25 0.25 0.25 0.25

MOTIF M2_test OTHER
letter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0
1 0 0 0
0 1 0 0
"""


def test_read_meme_and_log_odds(tmp_path):
    path = tmp_path / "m.meme"
    path.write_text(MEME)
    motifs = read_meme(path)
    assert set(motifs) == {"TFX", "OTHER"} and motifs["TFX"].shape == (4, 4)
    odds = log_odds(motifs["TFX"])
    expected = np.log2((np.array([0.9, 0.0, 0.1, 0.0]) + 0.001) / 1.004 / 0.25)
    np.testing.assert_allclose(odds[0], expected, rtol=1e-6)
    assert odds[3].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_injected_pwm_scores_the_motif_as_written_and_its_reverse_complement(tmp_path):
    path = tmp_path / "m.meme"
    path.write_text(MEME)
    cfg = FactorNetConfig(**SMALL)
    model = build_factornet(cfg)
    inject_pwm(model, read_meme(path)["TFX"])
    conv = model.get_layer("strand_trunk").get_layer("conv")
    kernel, bias = conv.get_weights()
    assert bias[:2].tolist() == [0.0, 0.0] and (kernel[:, 4:, :2] == 0).all()
    motif = "ACTG"
    background = "GGTTGC" * 10  # holds neither ACTG nor its reverse complement CAGT
    for sequence, best_kernel in ((background[:30] + motif + background[30:56], 0),
                                  (background[:30] + "CAGT" + background[30:56], 1)):
        x = np.concatenate([onehot(encode(sequence)), np.zeros((60, cfg.n_tracks), np.float32)], -1)
        response = keras.ops.convert_to_numpy(conv(x[None]))[0]
        # the motif starts at 30; the kernel holds it at offset w // 2 - 4 // 2 = 3
        assert response[:, best_kernel].argmax() == 27
        assert response[27, best_kernel] == pytest.approx(log_odds(read_meme(path)["TFX"])
                                                          [[0, 1, 2], [0, 1, 3]].sum(), rel=1e-5)


def test_motif_longer_than_the_kernels_is_refused(tmp_path):
    model = build_factornet(FactorNetConfig(**{**SMALL, "kernel_width": 3}))
    with pytest.raises(ValueError, match="motif of width 4 does not fit kernels of width 3"):
        inject_pwm(model, np.full((4, 4), 0.25))
