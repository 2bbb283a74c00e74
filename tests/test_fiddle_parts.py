import json
import os
from dataclasses import asdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from fiddle_factornet.errors import InputError
from fiddle_factornet.fiddle.manifest import TrackManifest
from fiddle_factornet.fiddle.training import TASK
from fiddle_factornet.fiddle.model import (FiddleConfig, build_fiddle,
                                           transfer_module)
from fiddle_factornet.fiddle.regions import (RegionConfig, gene_windows, read_genes,
                                             split_by_chromosome, split_shuffled)
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.splits import ChromSplit
from fiddle_factornet.data.writers import write_bed

SIZES = ChromSizes(("chrI", "chrII"), (5_000, 3_000), "yeast.sizes")


def test_demo_manifest(small_demo):
    manifest = TrackManifest.read(small_demo / "fiddle" / "tracks.tsv")
    assert [(t.name, t.role, t.kind, len(t.files)) for t in manifest.tracks] == [
        ("dna", "input", "dna", 1), ("netseq", "input", "stranded", 2),
        ("mnase", "input", "stranded", 2), ("tfiib", "input", "stranded", 2),
        ("rnaseq", "input", "merged", 1), ("tssseq", "target", "stranded", 2),
        ("tssseq_rep2", "replicate", "stranded", 2)]
    assert manifest.role("target")[0].files[0].name == "tssseq.plus.bw"


@pytest.mark.parametrize("body, message", [
    ("name\trole\n", "line 1: expected the header"),
    ("name\trole\tkind\tfiles\nx\toutput\tmerged\ta.bw\n", "line 2: role 'output' is not one of"),
    ("name\trole\tkind\tfiles\nx\tinput\tstranded\ta.bw\n", "line 2: a stranded track takes 2 file"),
    ("name\trole\tkind\tfiles\nx\tinput\tmerged\tnone.bw\n", "line 2: .*none.bw not found"),
    ("name\trole\tkind\tfiles\nx\tinput\tmerged\ta.bw\n", "exactly one track must have the role"),
    ("name\trole\tkind\tfiles\nx\ttarget\tmerged\ta.bw\nx\tinput\tmerged\ta.bw\n",
     "line 3: track name 'x' appears twice"),
])
def test_bad_manifests(tmp_path, body, message):
    (tmp_path / "a.bw").write_bytes(b"")
    path = tmp_path / "tracks.tsv"
    path.write_text(body)
    with pytest.raises(InputError, match=message):
        TrackManifest.read(path)


def test_windows_around_gene_starts_in_gene_orientation(tmp_path):
    genes = read_genes(write_bed(tmp_path / "g.bed", [
        ("chrI", 1000, 2000, "plus", 0, "+"), ("chrI", 2500, 3000, "minus", 0, "-"),
        ("chrII", 100, 900, "edge", 0, "+")]), SIZES)
    windows = gene_windows(genes, SIZES)
    plus = windows.take(windows.strand == 1)
    minus = windows.take(windows.strand == -1)
    # TSS 1000: windows start at 1000 - 500 ... 1000 - 20
    assert plus.start[:25].tolist() == list(range(500, 981, 20))
    # TSS 2999 on the minus strand: the mirror image, [TSS + 20 - 499 ...] in genome order
    assert minus.start.tolist() == [2999 + 500 - 499 - 20 * k for k in range(25)]
    assert (minus.end - minus.start == 500).all()
    # chrII's TSS at 100: windows starting before 0 are dropped (100 - 500 ... 100 - 120 < 0)
    assert plus.take(plus.chrom == 1).start.tolist() == [0, 20, 40, 60, 80]
    assert windows.targets.shape == (len(windows), 0)


def test_non_overlapping_genes_and_gff3(tmp_path):
    genes = read_genes(write_bed(tmp_path / "g.bed", [
        ("chrI", 1000, 2000, "a", 0, "+"), ("chrI", 1500, 2500, "b", 0, "-"),
        ("chrI", 3000, 4000, "c", 0, "+")]), SIZES)
    alone = gene_windows(genes, SIZES, RegionConfig(non_overlapping=True))
    assert set(alone.start.tolist()) == set(range(2500, 2981, 20))  # only gene c
    gff = tmp_path / "g.gff3"
    gff.write_text("##gff-version 3\nchrI\tsgd\tgene\t1001\t2000\t.\t-\t.\tID=YAL001C;Name=x\n"
                   "chrI\tsgd\tmRNA\t1001\t2000\t.\t-\t.\tID=m1\n")
    table = read_genes(gff, SIZES)
    assert table.values.tolist() == [["chrI", 1000, 2000, "YAL001C", "-"]]
    with pytest.raises(InputError, match="g.bed: genes need a strand"):
        read_genes(write_bed(tmp_path / "g.bed", [("chrI", 1, 2)]), SIZES)


def test_splits(tmp_path):
    genes = read_genes(write_bed(tmp_path / "g.bed", [
        ("chrI", 1000, 2000, "a", 0, "+"), ("chrII", 1500, 2500, "b", 0, "-")]), SIZES)
    windows = gene_windows(genes, SIZES)
    by_chrom = split_by_chromosome(windows, ChromSplit(valid=("chrII",), test=()), SIZES)
    assert len(by_chrom["train"]) == 25 and len(by_chrom["valid"]) == 25 and not len(by_chrom["test"])
    shuffled = split_shuffled(windows, n_valid=5, n_test=10, seed=3)
    assert [len(shuffled[k]) for k in ("train", "valid", "test")] == [35, 5, 10]
    assert np.array_equal(shuffled["test"].start, split_shuffled(windows, 5, 10, seed=3)["test"].start)
    with pytest.raises(InputError, match="leave none of the 50"):
        split_shuffled(windows, 25, 25)


CFG = FiddleConfig(tracks=(("dna", 4), ("net", 2), ("rna", 1)), length=60, module_filters=(6, 4),
                   scaffold_filters=3, representation=60)


def data(cfg=CFG, n=8, seed=0):
    rng = np.random.default_rng(seed)
    inputs = {name: rng.random((n, cfg.length, rows), dtype=np.float32) for name, rows in cfg.tracks}
    target = rng.random((n, cfg.length)).astype(np.float32)
    return inputs, target / target.sum(1, keepdims=True)


def test_model_outputs_a_distribution_and_round_trips(tmp_path):
    model = TASK.compile(build_fiddle(CFG), 1e-3)
    inputs, target = data()
    assert np.isfinite(model.train_on_batch(inputs, target))
    out = model.predict(inputs, verbose=0)
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)
    assert model.get_layer("net_module").get_layer("net_representation").output.shape[1:] == (60,)
    model.save(tmp_path / "f.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "f.keras").predict(inputs, verbose=0), out)
    single = build_fiddle(FiddleConfig(tracks=(("rna", 1),), length=60, module_filters=(6, 4),
                                       scaffold_filters=3, representation=60))
    assert [i.name for i in single.inputs] == ["rna"]


FIDDLE_VARIANTS = {
    "one_track": FiddleConfig(tracks=(("rnaseq", 1),), length=60, module_filters=(6, 4),
                              scaffold_filters=3, representation=60),
    "paper_inputs": FiddleConfig(tracks=(("dna", 4), ("netseq", 2), ("mnase", 2), ("tfiib", 2),
                                         ("rnaseq", 1)), length=60, module_filters=(6, 4),
                                 scaffold_filters=3, representation=30),
    "with_controls": FiddleConfig(tracks=(("netseq", 2), ("control_target", 1),
                                          ("control_noise", 1)), length=40, module_filters=(4, 2),
                                  scaffold_filters=2, representation=20, dropout=0.0),
}


@pytest.mark.parametrize("name", FIDDLE_VARIANTS)
def test_every_variant_trains_saves_loads_and_rebuilds_from_its_record(name, tmp_path):
    cfg = FIDDLE_VARIANTS[name]
    model = TASK.compile(build_fiddle(cfg), 1e-3)
    inputs, target = data(cfg)
    assert np.isfinite(model.train_on_batch(inputs, target))
    before = model.predict(inputs, verbose=0)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.keras")
                                  .predict(inputs, verbose=0), before)
    record = json.loads(json.dumps(asdict(cfg)))  # as run.json holds it
    rebuilt = build_fiddle(FiddleConfig.from_record(record))
    rebuilt.load_weights(tmp_path / "m.keras")
    np.testing.assert_array_equal(rebuilt.predict(inputs, verbose=0), before)


@pytest.mark.parametrize("trainable", [False, True])
def test_transfer_a_module_frozen_or_fine_tuned(trainable):
    source = TASK.compile(build_fiddle(CFG), 1e-3)
    inputs, target = data()
    source.train_on_batch(inputs, target)
    fresh = build_fiddle(CFG)
    transfer_module(source, fresh, "net", trainable=trainable)
    TASK.compile(fresh, 1e-3)
    before = [w.copy() for w in fresh.get_layer("net_module").get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(before, source.get_layer("net_module").get_weights()))
    fresh.train_on_batch(inputs, target)
    after = fresh.get_layer("net_module").get_weights()
    changed = any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert changed == trainable


def test_module_and_scaffold_shapes_and_parameter_counts():
    model = build_fiddle(CFG)
    # a module over H rows, L = 60: conv 5 (valid) -> 56 -> pool 28 -> conv 5 -> 24 -> pool 12
    for name, rows in CFG.tracks:
        module = model.get_layer(f"{name}_module")
        assert module.get_layer(f"{name}_2_norm").output.shape[1:] == (12, 4)
        expected = (5 * rows * 6 + 6) + 4 * 6 + (5 * 6 * 4 + 4) + 4 * 4 + (12 * 4 * 60 + 60)
        assert module.count_params() == expected
    # scaffold over 3 stacked representations: conv 5 -> 56 -> pool 28, 3 filters
    assert model.get_layer("scaffold_norm").output.shape[1:] == (28, 3)
    scaffold = (5 * 3 * 3 + 3) + 4 * 3 + (28 * 3 * 60 + 60)
    assert model.count_params() == sum(model.get_layer(f"{n}_module").count_params()
                                       for n, _ in CFG.tracks) + scaffold


def test_kl_loss_equals_numpy_and_bins_split_at_50_bp():
    from fiddle_factornet.fiddle.evaluation import kl_per_region, profile_bins

    rng = np.random.default_rng(1)
    target = rng.random((4, 500))
    target[0] = 0.0
    target[0, 7] = 1.0
    target = target / target.sum(1, keepdims=True)
    prediction = rng.random((4, 500))
    prediction = prediction / prediction.sum(1, keepdims=True)
    keras_kl = float(keras.losses.KLDivergence()(target.astype("float32"), prediction.astype("float32")))
    assert keras_kl == pytest.approx(kl_per_region(target, prediction).mean(), rel=1e-5)
    profiles = np.zeros((4, 500))
    profiles[[0, 1, 2, 3], [49, 50, 450, 499]] = 1.0
    assert profile_bins(profiles).tolist() == [0, 1, 9, 9]


def test_sufficiency_and_necessity_of_a_useless_input():
    from fiddle_factornet.fiddle.importance import importance

    length = 20
    a, b = keras.Input((length, 1), name="a"), keras.Input((length, 1), name="b")
    useful = keras.layers.Dense(length, name="from_a")(keras.layers.Flatten()(a))
    ignored = keras.layers.Dense(length, kernel_initializer="zeros", name="from_b")(
        keras.layers.Flatten()(b))
    model = keras.Model({"a": a, "b": b}, keras.layers.Softmax()(keras.layers.Add()([useful, ignored])))
    model.get_layer("from_a").set_weights([np.eye(length, dtype="float32") * 20,
                                           np.zeros(length, "float32")])
    rng = np.random.default_rng(0)
    peaks = rng.integers(0, length, 64)
    target = np.full((64, length), 1e-3)
    target[np.arange(64), peaks] = 1.0
    target /= target.sum(1, keepdims=True)
    inputs = {"a": target[..., None].astype("float32"),
              "b": rng.random((64, length, 1), dtype=np.float32)}
    result = importance(model, inputs, target)
    assert np.allclose(result["b"]["necessity"], 0.5)     # losing b changes nothing
    assert np.allclose(result["a"]["sufficiency"], 0.5)   # a alone is everything
    assert result["a"]["necessity"].mean() > 0.9         # losing a hurts
    assert result["b"]["sufficiency"].mean() < 0.1       # b alone does not do


def test_windows_where_a_track_has_no_data_are_dropped(tmp_path):
    genes = read_genes(write_bed(tmp_path / "g.bed", [
        ("chrI", 1000, 2000, "a", 0, "+"), ("chrII", 1500, 2500, "b", 0, "-")]), SIZES)
    windows = gene_windows(genes, SIZES, chromosomes=["chrI"])
    assert len(windows) == 25 and set(windows.chrom.tolist()) == {0}


@pytest.mark.parametrize("rows, message", [
    ("", "no windows"),
    ("chr1\t0\t500\n", "line 1: a window needs its strand"),
    ("chr1\t0\t500\tg\t0\t+\nchr1\t0\t400\tg\t0\t-\n", "line 2: window chr1:0-400 is 400 bp"),
])
def test_windows_bed_errors_name_the_file_and_line(tmp_path, rows, message):
    from fiddle_factornet.fiddle.evaluation import read_regions

    path = tmp_path / "windows.bed"
    path.write_text(rows)
    with pytest.raises(InputError, match=message):
        read_regions(path, ChromSizes(("chr1",), (1000,)), length=500)
