"""Input-pipeline benchmark on the demo data. Prints figures.

    python bench/bench_pipeline.py [--scale 1] [--batches 300]

Part 1, pinned to one CPU core (``os.sched_setaffinity``, set before TensorFlow starts); each
rate is the median of 5 repeats (single-core speed on a shared VM varies from run to run):
- FactorNet training batches (L=1000, 2 tracks, batch 100) through ``training_dataset`` from the
  genome and track caches, and straight from FASTA + bigWig;
- the same batches assembled the way the original FactorNet iterator did (the genome one-hot in
  RAM as boolean arrays, every bigWig opened per sample, the batch built in a Python loop, the
  reverse complement by ``[:, ::-1, ::-1]`` copies); the ratios to it;
- FIDDLE batches (DNA + 4 tracks, L=500, batch 100), from caches and straight from the files.
Targets: from the caches >= 10x the original design and >= 25,000 samples/s; straight from the
files no slower than the original design.

Part 2, on all cores: ``model.fit`` throughput of a small FactorNet-like Keras model fed by the
pipeline vs fed the same batches from arrays in memory (the pipeline's overhead; target <= 10 %),
in short alternating rounds whose paired ratios cancel the VM's drifts in speed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH = 100


def demo_inputs(root: Path, scale: float):
    from fiddle_factornet.demo import DEFAULT_CHROM_SIZES, DemoConfig, make_demo

    sizes = tuple((name, int(length * scale)) for name, length in DEFAULT_CHROM_SIZES)
    return make_demo(root / "demo", DemoConfig(chrom_sizes=sizes))


def factornet_setup(demo: Path, cache: bool):
    from fiddle_factornet.factornet.bins import BinGrid, make_blacklist
    from fiddle_factornet.factornet.celltype import CellTypeFolder
    from fiddle_factornet.data.genome import Genome
    from fiddle_factornet.data.intervals import IntervalSet
    from fiddle_factornet.factornet.view import FactorNetView
    from fiddle_factornet.pipeline import TrackInput
    from fiddle_factornet.factornet.samplers import SingleTaskSampler, TFPeaks
    from fiddle_factornet.data.splits import ChromSplit
    from fiddle_factornet.data.tracks import TrackSet

    genome = Genome(demo / "genome" / "demo.fa", cache=cache)
    sizes = genome.sizes
    cells = [CellTypeFolder.read(demo / "factornet" / c) for c in ("demoA", "demoB", "demoC")]
    blacklist = make_blacklist(IntervalSet.read(demo / "genome" / "blacklist.bed.gz", sizes), sizes,
                               1000)
    sampler = SingleTaskSampler(BinGrid(sizes), [TFPeaks(*c.peaks("CTCF", sizes)) for c in cells],
                                ChromSplit(), blacklist)
    tracks = TrackInput("tracks", tuple(TrackSet(c.bigwig_files, c.track_names, cache=cache)
                                        for c in cells))
    return FactorNetView(genome, tracks, (), 1000), sampler, cells


FIT_ROUNDS = 15
REPEATS = 5  # this VM's single-core speed varies run to run: rates are medians of repeats


def pipeline_rate(dataset, n_batches: int) -> float:
    """Median samples/s over REPEATS runs of ``n_batches`` batches (after one warm-up batch)."""
    iterator = iter(dataset)
    next(iterator)
    rates = []
    for _ in range(REPEATS):
        start, seen = time.perf_counter(), 0
        for _ in range(n_batches):
            seen += len(next(iterator)[1])
        rates.append(seen / (time.perf_counter() - start))
    return float(np.median(rates))


def original_design_rate(demo: Path, sampler, cells, n_batches: int) -> float:
    """Batches assembled as the original FactorNet iterator did (see the module docstring)."""
    import pyBigWig

    from fiddle_factornet.data.genome import Genome

    genome = Genome(demo / "genome" / "demo.fa", cache=False)
    onehot_genome = {name: np.frombuffer(genome.sequence(name, 0, length).encode(), np.uint8)[:, None]
                     == np.frombuffer(b"ACGT", np.uint8) for name, length in
                     zip(genome.sizes.names, genome.sizes.lengths)}
    samples = sampler.epoch(0)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(samples))
    files = [[str(f) for f in cell.bigwig_files] for cell in cells]
    n_tracks, length = len(files[0]), 1000
    start_time = time.perf_counter()
    seen = 0
    for b in range(n_batches):
        index = order[(b * BATCH) % len(order):][:BATCH]
        batch_seq = np.zeros((len(index), length, 4), dtype=bool)
        batch_bigwig = np.zeros((len(index), length, n_tracks), dtype=np.float32)
        batch_y = np.zeros((len(index), 1), dtype=bool)
        for i, j in enumerate(index):
            chrom = samples.chrom_names[samples.chrom[j]]
            start, stop = int(samples.start[j]), int(samples.end[j])
            shift = int(samples.shift[j])
            if shift:
                s = rng.integers(-shift, shift + 1)
                start, stop = start + s, stop + s
            middle = (start + stop) // 2
            start, stop = middle - length // 2, middle + length // 2
            batch_seq[i] = onehot_genome[chrom][start:stop]
            for k, path in enumerate(files[samples.cell[j]]):
                bigwig = pyBigWig.open(path)
                values = np.array(bigwig.values(chrom, start, stop))
                bigwig.close()
                values[np.isnan(values)] = 0
                batch_bigwig[i, :, k] = values
            batch_y[i] = samples.targets[j]
        batch_seq_rc = batch_seq[:, ::-1, ::-1]
        batch_bigwig_rc = batch_bigwig[:, ::-1, :]
        np.concatenate([batch_seq, batch_bigwig], axis=-1)
        np.concatenate([batch_seq_rc, batch_bigwig_rc], axis=-1)
        seen += len(index)
    return seen / (time.perf_counter() - start_time)


def fiddle_setup(demo: Path, cache: bool):
    from fiddle_factornet.fiddle.manifest import TrackManifest, fiddle_view
    from fiddle_factornet.fiddle.regions import gene_windows, read_genes

    view = fiddle_view(TrackManifest.read(demo / "fiddle" / "tracks.tsv"),
                       ("dna", "netseq", "mnase", "tfiib", "rnaseq"), cache=cache)
    sizes = view.genome.sizes
    return view, gene_windows(read_genes(demo / "fiddle" / "genes.bed", sizes), sizes)


def part_pipeline(demo: Path, n_batches: int) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from fiddle_factornet.pipeline import training_dataset

    print(f"part 1 (one CPU core): FactorNet batches of {BATCH}, L=1000, 2 tracks, 3 cell types")
    rates = {}
    for cache in (True, False):
        view, sampler, cells = factornet_setup(demo, cache)
        epochs = REPEATS * n_batches // (len(sampler.epoch(0)) // BATCH) + 2
        dataset = training_dataset(view, sampler.epoch, BATCH, epochs=epochs, seed=0)
        rates[cache] = pipeline_rate(dataset, n_batches if cache else n_batches // 5)
    baseline = float(np.median([original_design_rate(demo, sampler, cells, n_batches // 10)
                                for _ in range(REPEATS)]))
    print(f"  pipeline from caches:          {rates[True]:9,.0f} samples/s"
          f"  ({rates[True] / baseline:.0f}x the original design)")
    print(f"  pipeline from FASTA + bigWig:  {rates[False]:9,.0f} samples/s"
          f"  ({rates[False] / baseline:.1f}x the original design)")
    print(f"  original FactorNet design:     {baseline:9,.0f} samples/s")
    print(f"FIDDLE batches of {BATCH}, L=500, DNA + NET-seq, MNase-seq, TFIIB (stranded) + RNA-seq")
    for cache in (True, False):
        view, samples = fiddle_setup(demo, cache)
        dataset = training_dataset(view, samples, BATCH, epochs=REPEATS * n_batches // 200 + 2,
                                   seed=0)
        label = "from caches:        " if cache else "from FASTA + bigWig:"
        print(f"  pipeline {label} {pipeline_rate(dataset, n_batches if cache else n_batches // 5):9,.0f}"
              " samples/s")


def part_fit(demo: Path, n_batches: int) -> None:
    import keras

    from fiddle_factornet.pipeline import steps, training_dataset

    view, sampler, _ = factornet_setup(demo, cache=True)
    samples = sampler.epoch(0).take(np.arange(n_batches * BATCH) % len(sampler.epoch(0)))

    def model():
        forward, reverse = keras.Input((1000, 6), name="forward"), keras.Input((1000, 6), name="reverse")
        tower = keras.Sequential([keras.layers.Conv1D(32, 26, activation="relu"),
                                  keras.layers.MaxPooling1D(13), keras.layers.Flatten(),
                                  keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        out = keras.layers.Average()([tower(forward), tower(reverse)])
        built = keras.Model({"forward": forward, "reverse": reverse}, out)
        built.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
        return built

    import tensorflow as tf

    per_epoch = steps(len(samples), BATCH)
    inputs, targets = view.read(samples)
    arrays = tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(BATCH)  # tensors in RAM
    dataset = training_dataset(view, samples, BATCH, epochs=1, seed=0)  # each fit re-reads it
    fed, in_memory = model(), model()
    fed.fit(dataset, epochs=1, steps_per_epoch=per_epoch, shuffle=False, verbose=0)  # warm-up (tracing)
    in_memory.fit(arrays, epochs=1, shuffle=False, verbose=0)
    seconds = {"pipeline": [], "numpy": []}
    for _ in range(FIT_ROUNDS):  # short alternating rounds: drifts in machine speed hit both
        start = time.perf_counter()
        fed.fit(dataset, epochs=1, steps_per_epoch=per_epoch, shuffle=False, verbose=0)
        seconds["pipeline"].append(time.perf_counter() - start)
        start = time.perf_counter()
        in_memory.fit(arrays, epochs=1, shuffle=False, verbose=0)
        seconds["numpy"].append(time.perf_counter() - start)
    ratio = float(np.median(np.array(seconds["pipeline"]) / np.array(seconds["numpy"])))
    rate = {k: len(samples) / float(np.median(v)) for k, v in seconds.items()}
    print(f"part 2 (all {len(os.sched_getaffinity(0))} cores): model.fit of a small FactorNet-like "
          f"model; {FIT_ROUNDS} alternating rounds of {len(samples):,} samples (medians)")
    print(f"  fed by the pipeline (caches): {rate['pipeline']:8,.0f} samples/s")
    print(f"  fed numpy arrays in memory:   {rate['numpy']:8,.0f} samples/s")
    print(f"  pipeline overhead (median of paired rounds): {100 * (1 - 1 / ratio):+.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="demo genome size factor")
    parser.add_argument("--batches", type=int, default=300, help="batches timed per measurement")
    parser.add_argument("--part", choices=["all", "pipeline", "fit"], default="all")
    parser.add_argument("--demo", type=Path, help="(internal) an existing demo folder")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("FIDDLE_FACTORNET_CACHE", str(Path(tmp) / "cache"))
        demo = args.demo or demo_inputs(Path(tmp), args.scale)
        if args.part == "all":  # each part in its own process: core pinning must precede TF
            for part in ("pipeline", "fit"):
                subprocess.run([sys.executable, __file__, "--part", part, "--demo", str(demo),
                                "--batches", str(args.batches)], check=True)
        elif args.part == "pipeline":
            part_pipeline(demo, args.batches)
        else:
            part_fit(demo, 20)


if __name__ == "__main__":
    main()
