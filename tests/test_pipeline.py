import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf

from fiddle_factornet.data.genome import Genome, encode, onehot, reverse_complement_codes
from fiddle_factornet.factornet.view import FactorNetView
from fiddle_factornet.fiddle.view import FiddleView, sense_profile
from fiddle_factornet.pipeline import (TrackInput, VectorInput, evaluation_dataset, numpy_batches, steps, training_dataset)
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.data.tracks import TrackSet
from fiddle_factornet.data.writers import write_bigwig, write_fasta

LENGTH = 3_000
NAMES = ("chr1", "chr2")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A genome, and bigWigs whose value is the position (+100 on the plus strand, +200 minus)."""
    root = tmp_path_factory.mktemp("pipeline")
    rng = np.random.default_rng(0)
    sequences = {name: "".join(rng.choice(list("ACGTN"), LENGTH, p=[.24, .24, .24, .24, .04]))
                 for name in NAMES}
    sizes = [(name, LENGTH) for name in NAMES]
    position = {name: np.arange(LENGTH, dtype=float) for name in NAMES}
    return {
        "fasta": write_fasta(root / "g.fa", sequences),
        "sequences": sequences,
        "pos": write_bigwig(root / "pos.bw", sizes, position),
        "plus": write_bigwig(root / "plus.bw", sizes, {n: 100 + v for n, v in position.items()}),
        "minus": write_bigwig(root / "minus.bw", sizes, {n: 200 + v for n, v in position.items()}),
    }


def bins(n, shift=0, strand=0, length=200):
    """n samples on chr1/chr2 at 50 bp steps from 1000, targets = sample number."""
    index = np.arange(n)
    return Samples.build(NAMES, index % 2, 1000 + 50 * index, 1000 + 50 * index + length, shift,
                         index % 3, index[:, None], strand=strand)


def factornet_view(files, length=100, cells=3):
    stranded = TrackSet([files["pos"], files["plus"], files["minus"]], ["pos", "x_fwd", "x_rev"])
    meta = np.arange(cells * 2, dtype=np.float32).reshape(cells, 2)
    return FactorNetView(Genome(files["fasta"]), TrackInput("tracks", (stranded,) * cells),
                         (VectorInput("meta", meta),), length)


def test_factornet_inputs_shapes_names_and_values(files):
    view = factornet_view(files)
    samples = bins(5)
    inputs, targets = view.read(samples)
    assert {k: (v.shape, v.dtype) for k, v in inputs.items()} == {
        "forward": ((5, 100, 7), np.float32), "reverse": ((5, 100, 7), np.float32),
        "meta": ((5, 2), np.float32)}
    assert targets.tolist() == [[0], [1], [2], [3], [4]]
    assert inputs["meta"].tolist() == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]  # by cell type
    for i in range(5):
        start = 1000 + 50 * i + 100 - 50  # bin centre - L // 2
        chrom = NAMES[i % 2]
        sequence = files["sequences"][chrom][start:start + 100]
        assert np.array_equal(inputs["forward"][i, :, :4], onehot(encode(sequence)))
        assert inputs["forward"][i, :, 4].tolist() == list(range(start, start + 100))
        assert inputs["forward"][i, :, 5].tolist() == list(range(100 + start, 200 + start))


def test_reverse_is_the_exact_reverse_complement_with_strands_swapped(files):
    inputs, _ = factornet_view(files).read(bins(4))
    forward, reverse = inputs["forward"], inputs["reverse"]
    for i in range(4):
        start = 1050 + 50 * i
        sequence = files["sequences"][NAMES[i % 2]][start:start + 100]
        assert np.array_equal(reverse[i, :, :4], onehot(reverse_complement_codes(encode(sequence))))
        assert reverse[i, :, 4].tolist() == forward[i, ::-1, 4].tolist()      # reversed
        assert reverse[i, :, 5].tolist() == forward[i, ::-1, 6].tolist()      # _fwd <- _rev
        assert reverse[i, :, 6].tolist() == forward[i, ::-1, 5].tolist()      # _rev <- _fwd


def test_evaluation_dataset_every_row_once_in_order_with_partial_batch(files):
    view = factornet_view(files)
    samples = bins(23)
    dataset = evaluation_dataset(view, samples, batch_size=10)
    spec_inputs, spec_targets = dataset.element_spec
    assert spec_inputs["forward"].shape.as_list() == [None, 100, 7]
    assert spec_inputs["meta"].shape.as_list() == [None, 2] and spec_targets.shape.as_list() == [None, 1]
    batches = list(dataset.as_numpy_iterator())
    assert [len(t) for _, t in batches] == [10, 10, 3]
    assert np.concatenate([t for _, t in batches])[:, 0].tolist() == list(range(23))
    expected = list(numpy_batches(view, samples, 10))
    for (inputs, _), (fresh, _) in zip(batches, expected):  # reused buffers never leak
        for name in fresh:
            assert np.array_equal(inputs[name], fresh[name])


def window_starts(inputs):
    return inputs["forward"][:, 0, 4].astype(int)  # the position track's first value


def test_training_shuffles_shifts_within_range_and_is_deterministic(files):
    view = factornet_view(files)
    samples = bins(30, shift=np.arange(30) % 4 * 5)  # shifts 0, 5, 10, 15
    nominal = (samples.start + samples.end) // 2 - 50

    def epochs(seed):
        dataset = training_dataset(view, samples, batch_size=8, epochs=3, seed=seed)
        batches = list(dataset.as_numpy_iterator())
        per_epoch = steps(30, 8)
        assert len(batches) == 3 * per_epoch
        return [(np.concatenate([t[:, 0] for _, t in batches[e * per_epoch:(e + 1) * per_epoch]]),
                 np.concatenate([window_starts(x) for x, _ in batches[e * per_epoch:(e + 1) * per_epoch]]))
                for e in range(3)]

    first = epochs(seed=5)
    for order, starts in first:
        assert sorted(order.tolist()) == list(range(30))  # each sample once per epoch
        assert order.tolist() != list(range(30))           # shuffled
        moved = starts - nominal[order.astype(int)]
        assert (np.abs(moved) <= samples.shift[order.astype(int)]).all()
        assert moved[samples.shift[order.astype(int)] == 0].tolist() == [0] * 8
    assert first[0][0].tolist() != first[1][0].tolist()    # reshuffled every epoch
    again = epochs(seed=5)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert first[0][0].tolist() != epochs(seed=6)[0][0].tolist()


def test_training_takes_fresh_samples_each_epoch_and_keras_sees_every_epoch(files):
    import keras

    view = factornet_view(files)
    requested = []

    def source(epoch):
        requested.append(epoch)
        return bins(20).take(np.arange(20)) if epoch % 2 == 0 else \
            Samples.build(NAMES, 0, np.arange(20) * 50 + 2000, np.arange(20) * 50 + 2200, 0, 0,
                          np.ones((20, 1)))

    dataset = training_dataset(view, source, batch_size=8, epochs=3, seed=0)
    forward = keras.Input((100, 7), name="forward")
    reverse = keras.Input((100, 7), name="reverse")
    meta = keras.Input((2,), name="meta")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Add()([forward, reverse]))
    output = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([pooled, meta]))
    model = keras.Model({"forward": forward, "reverse": reverse, "meta": meta}, output)
    model.compile("adam", "binary_crossentropy")
    history = model.fit(dataset, epochs=3, steps_per_epoch=steps(20, 8), shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 3
    assert sorted(set(requested)) == [0, 1, 2]  # each epoch's samples were drawn, none twice
    assert len(requested) == len(set(requested))


def fiddle_view(files, length=60):
    stranded = TrackInput("net", (TrackSet([files["plus"], files["minus"]], ["net_fwd", "net_rev"]),))
    merged = TrackInput("pos", (TrackSet([files["pos"]], ["pos"]),))
    target = TrackInput("tss", (TrackSet([files["plus"], files["minus"]], ["tss_fwd", "tss_rev"]),))
    return FiddleView(Genome(files["fasta"]), (stranded, merged), target, length, dna_n=0.0)


def test_fiddle_minus_strand_samples_are_in_the_gene_s_orientation(files):
    view = fiddle_view(files)
    samples = bins(2, strand=np.array([1, -1]), length=60)  # chr1:1000-1060 +, chr2:1050-1110 -
    inputs, target = view.read(samples)
    assert {k: v.shape for k, v in inputs.items()} == {"dna": (2, 60, 4), "net": (2, 60, 2),
                                                      "pos": (2, 60, 1)}
    plus_seq = files["sequences"]["chr1"][1000:1060]
    minus_seq = files["sequences"]["chr2"][1050:1110]
    assert np.array_equal(inputs["dna"][0], onehot(encode(plus_seq)))
    assert np.array_equal(inputs["dna"][1], onehot(reverse_complement_codes(encode(minus_seq))))
    positions = np.arange(1050, 1110)
    assert inputs["pos"][1, :, 0].tolist() == positions[::-1].tolist()
    assert inputs["net"][1, :, 0].tolist() == (200 + positions[::-1]).tolist()  # sense = minus
    assert inputs["net"][1, :, 1].tolist() == (100 + positions[::-1]).tolist()
    assert inputs["net"][0, :, 0].tolist() == (100 + np.arange(1000, 1060)).tolist()
    np.testing.assert_allclose(target.sum(axis=1), 1.0, rtol=1e-6)
    sense_minus = 200 + positions[::-1]
    np.testing.assert_allclose(target[1], sense_minus / (sense_minus.sum() + 1e-5), rtol=1e-6)


def test_sense_profile_normalises_and_is_uniform_when_empty():
    profile = sense_profile(np.array([[0, 2, 6, 0], [0, 0, 0, 0]], np.float32))
    np.testing.assert_allclose(profile[0], [0, 2 / (8 + 1e-5), 6 / (8 + 1e-5), 0], rtol=1e-6)
    assert profile[1].tolist() == [0.25] * 4


def test_fiddle_dataset_signature(files):
    dataset = evaluation_dataset(fiddle_view(files), bins(5, strand=-1, length=60), batch_size=2)
    inputs, target = dataset.element_spec
    assert {k: v.shape.as_list() for k, v in inputs.items()} == {
        "dna": [None, 60, 4], "net": [None, 60, 2], "pos": [None, 60, 1]}
    assert target.shape.as_list() == [None, 60]
    assert sum(len(t) for _, t in dataset.as_numpy_iterator()) == 5


def test_tf_data_signature_is_float32(files):
    dataset = evaluation_dataset(factornet_view(files), bins(3), batch_size=2)
    assert all(spec.dtype == tf.float32 for spec in dataset.element_spec[0].values())


# ---- the numpy path (JAX and torch backends): NumpyBatches ----

def as_jax_backend(monkeypatch):
    """The pipeline as it runs under JAX and torch (it asks Keras which backend is active)."""
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")


def test_numpy_path_gives_the_batches_of_tf_data(files, monkeypatch):
    """Training (3 epochs, shuffled and shifted) and evaluation batches: the same arrays through
    tf.data and through NumpyBatches."""
    from fiddle_factornet.pipeline import NumpyBatches

    view = factornet_view(files)
    samples = bins(30, shift=np.arange(30) % 4 * 5)
    made = {}
    for path in ("tf", "numpy"):
        if path == "numpy":
            as_jax_backend(monkeypatch)
        train = training_dataset(view, samples, batch_size=8, epochs=3, seed=5)
        evaluate = evaluation_dataset(view, samples, batch_size=8)
        assert isinstance(train, NumpyBatches) == (path == "numpy")
        iterate = (lambda d: d.as_numpy_iterator()) if path == "tf" else iter
        made[path] = [list(iterate(train)), list(iterate(evaluate))]
    for tf_batches, numpy_batches_ in zip(made["tf"], made["numpy"]):
        assert len(tf_batches) == len(numpy_batches_)
        for (x_tf, y_tf), (x_np, y_np) in zip(tf_batches, numpy_batches_):
            assert np.array_equal(y_tf, y_np)
            assert all(np.array_equal(x_tf[name], x_np[name]) for name in x_tf)


def test_numpy_batches_read_ahead_in_order_and_start_over(files):
    from fiddle_factornet.pipeline import NumpyBatches

    asked = []

    def read(index, allocate):
        asked.append(index)
        return {"x": np.full((2, 1), index, np.float32)}, np.zeros((2, 1), np.float32)

    batches = NumpyBatches(10, read, threads=2)
    assert len(batches) == 10
    assert [int(x["x"][0, 0]) for x, _ in batches] == list(range(10))
    assert sorted(asked) == list(range(10))  # read ahead, each batch once
    assert int(batches[3][0]["x"][0, 0]) == 3  # any other batch: read afresh
    assert int(batches[0][0]["x"][0, 0]) == 0
    with pytest.raises(IndexError):
        batches[10]


def test_numpy_batches_raise_the_readers_error_itself(files, tmp_path):
    from fiddle_factornet.errors import InputError
    from fiddle_factornet.pipeline import NumpyBatches

    def read(index, allocate):
        if index == 3:
            raise OSError(5, "Input/output error", str(tmp_path / "tracks.bw"))
        if index == 5:
            raise InputError("genes.bed line 4: bad strand")
        return {"x": np.zeros((1, 1), np.float32)}, np.zeros((1, 1), np.float32)

    batches = NumpyBatches(8, read, threads=2)
    with pytest.raises(InputError, match=r"tracks\.bw: cannot read \(Input/output error\)"):
        list(batches)
    with pytest.raises(InputError, match="genes.bed line 4"):
        batches[5]


def test_keras_trains_and_predicts_from_the_numpy_path(files, monkeypatch):
    import keras

    view = factornet_view(files)
    as_jax_backend(monkeypatch)
    train = training_dataset(view, bins(20), batch_size=8, epochs=2, seed=0)
    forward = keras.Input((100, 7), name="forward")
    reverse = keras.Input((100, 7), name="reverse")
    meta = keras.Input((2,), name="meta")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Add()([forward, reverse]))
    output = keras.layers.Dense(1)(keras.layers.Concatenate()([pooled, meta]))
    model = keras.Model({"forward": forward, "reverse": reverse, "meta": meta}, output)
    model.compile("adam", "mse")
    history = model.fit(train, epochs=2, steps_per_epoch=steps(20, 8), shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 2
    predicted = model.predict(evaluation_dataset(view, bins(13), batch_size=4), verbose=0)
    assert predicted.shape == (13, 1)
