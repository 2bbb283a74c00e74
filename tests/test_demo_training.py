"""The demo data through the pipeline: FIDDLE's inputs each carry partial information, and a tiny
model of each family fits one epoch."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from fiddle_factornet.factornet.bins import BinGrid, make_blacklist
from fiddle_factornet.factornet.celltype import CellTypeFolder
from fiddle_factornet.demo.fiddle import TATA_BOX
from fiddle_factornet.fiddle.manifest import TrackManifest
from fiddle_factornet.fiddle.manifest import fiddle_view as manifest_view
from fiddle_factornet.fiddle.regions import RegionConfig, gene_windows, read_genes
from fiddle_factornet.data.genome import Genome, encode
from fiddle_factornet.data.intervals import IntervalSet
from fiddle_factornet.factornet.view import FactorNetView
from fiddle_factornet.pipeline import (TrackInput, VectorInput, numpy_batches, steps, training_dataset)
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.factornet.samplers import SingleTaskSampler, TFPeaks
from fiddle_factornet.data.splits import ChromSplit
from fiddle_factornet.data.tracks import TrackSet

WINDOW_OFFSETS = RegionConfig().offsets  # FIDDLE's windows start 500..20 bp before the TSS


def fiddle_samples(demo) -> Samples:
    sizes = Genome(demo / "genome" / "demo.fa").sizes
    return gene_windows(read_genes(demo / "fiddle" / "genes.bed", sizes), sizes)


def fiddle_view(demo, inputs=("dna", "netseq", "mnase", "tfiib", "rnaseq"), target=None):
    return manifest_view(TrackManifest.read(demo / "fiddle" / "tracks.tsv"), inputs, target)


def bin_of(position):
    return np.clip(position, 0, 499) * 10 // 500


def test_each_fiddle_input_tells_part_of_where_transcription_starts(small_demo):
    samples = fiddle_samples(small_demo)
    inputs, target = next(numpy_batches(fiddle_view(small_demo), samples, len(samples)))
    _, replicate = next(numpy_batches(fiddle_view(small_demo, target="tssseq_rep2"), samples,
                                      len(samples)))
    truth = bin_of(target.argmax(1))
    box = encode(TATA_BOX)  # matches of the TATA box starting at each position
    tata_score = sum(inputs["dna"][:, j:500 - len(box) + 1 + j, code] for j, code in enumerate(box))
    guesses = {  # a crude decoder per input: where its signal points the start, in the gene's frame
        "tfiib": inputs["tfiib"][..., 0].argmax(1) + 115,    # sense fragment ends 115 bp upstream
        "netseq": inputs["netseq"][..., 0].argmax(1) - 50,   # the pause peak
        "mnase": inputs["mnase"][..., 0].argmax(1) - 47,     # sense ends of nucleosomes
        "rnaseq": np.diff(inputs["rnaseq"][..., 0], axis=1).argmax(1),  # where coverage rises
        "dna": tata_score.argmax(1) + len(box) + 30,         # TATA box ends 30 bp upstream
    }
    accuracy = {name: float((bin_of(guess) == truth).mean()) for name, guess in guesses.items()}
    accuracy["replicate"] = float((bin_of(replicate.argmax(1)) == truth).mean())
    for name in guesses:
        assert 0.15 < accuracy[name] < accuracy["replicate"], accuracy  # random: ~0.1
    assert accuracy["replicate"] < 0.95


def tiny_fit(model_inputs, output, dataset, steps_per_epoch):
    import keras

    model = keras.Model(model_inputs, output)
    model.compile("adam", "binary_crossentropy" if output.shape[-1] == 1 else "kl_divergence")
    history = model.fit(dataset, epochs=1, steps_per_epoch=steps_per_epoch, shuffle=False, verbose=0)
    return history.history["loss"]


def test_one_epoch_of_a_tiny_factornet_model_on_the_demo(small_demo):
    import keras

    genome = Genome(small_demo / "genome" / "demo.fa")
    sizes = genome.sizes
    cells = [CellTypeFolder.read(small_demo / "factornet" / c) for c in ("demoA", "demoB")]
    grid = BinGrid(sizes)
    blacklist = make_blacklist(IntervalSet.read(small_demo / "genome" / "blacklist.bed.gz", sizes),
                               sizes, 1000)
    sampler = SingleTaskSampler(grid, [TFPeaks(*c.peaks("HNF4A", sizes)) for c in cells],
                                ChromSplit(), blacklist)
    view = FactorNetView(genome, TrackInput("tracks", tuple(TrackSet(c.bigwig_files, c.track_names)
                                                            for c in cells)),
                         (VectorInput("meta", np.array([c.meta_values for c in cells])),), 1000)
    dataset = training_dataset(view, sampler.epoch, batch_size=100, epochs=1, seed=1)
    forward, reverse = keras.Input((1000, 6), name="forward"), keras.Input((1000, 6), name="reverse")
    meta = keras.Input((8,), name="meta")
    conv = keras.layers.Conv1D(4, 26, activation="relu")
    pooled = [keras.layers.GlobalMaxPooling1D()(conv(x)) for x in (forward, reverse)]
    output = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()(pooled + [meta]))
    loss = tiny_fit({"forward": forward, "reverse": reverse, "meta": meta}, output, dataset,
                    steps(len(sampler.epoch(0)), 100))
    assert len(loss) == 1 and np.isfinite(loss[0])


def test_one_epoch_of_a_tiny_fiddle_model_on_the_demo(small_demo):
    import keras

    view = fiddle_view(small_demo)
    samples = fiddle_samples(small_demo)
    dataset = training_dataset(view, samples, batch_size=64, epochs=1, seed=2)
    model_inputs = {name: keras.Input(shape, name=name) for name, shape in view.input_shapes(samples).items()}
    flat = keras.layers.Concatenate()([keras.layers.Flatten()(x) for x in model_inputs.values()])
    output = keras.layers.Dense(500, activation="softmax")(flat)
    loss = tiny_fit(model_inputs, output, dataset, steps(len(samples), 64))
    assert np.isfinite(loss[0])


@pytest.mark.parametrize("strand", [1, -1])
def test_fiddle_demo_target_peaks_near_the_gene_start(small_demo, strand):
    samples = fiddle_samples(small_demo)
    samples = samples.take(samples.strand == strand)
    _, target = next(numpy_batches(fiddle_view(small_demo), samples, len(samples)))
    offsets = np.tile(WINDOW_OFFSETS, len(samples) // len(WINDOW_OFFSETS))
    tss_in_window = -offsets  # where the annotated start falls in each window (gene's frame)
    distance = np.abs(target.argmax(1) - tss_in_window)
    assert np.median(distance) < 60  # true starts scatter ~40 bp around the annotated start
