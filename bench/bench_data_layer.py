"""Data-layer benchmark: whole-genome labelling, one-hot windows, bigWig rows. Prints figures.

    python bench/bench_data_layer.py [--reference ../shared/reference] [--genome-mbp 50]

1. Labels every 200/50 bp bin of hg19 (autosomes + X) for the 19 real ENCODE-DREAM HepG2 TFs
   (conservative + relaxed peaks; absent relaxed files skipped): bins/s, wall time, peak RSS.
   Target on a 2-core machine: <= 60 s, <= 6 GB.
2. One-hot windows (L=1000, batches of 100) from the memory-mapped genome cache and straight from
   the FASTA, on a random genome written for the run.
3. bigWig rows (L=1000, batches of 100) straight from a DNase-like bigWig vs from the track cache,
   for random windows (training) and for consecutive bins (prediction).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from fiddle_factornet.factornet.bins import BinGrid, label_bins
from fiddle_factornet.factornet.celltype import CellTypeFolder
from fiddle_factornet.data.genome import ChromSizes, Genome, Windows
from fiddle_factornet.data.tracks import TrackSet
from fiddle_factornet.data.writers import write_bigwig, write_fasta

BATCH, LENGTH = 100, 1000


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def rate(fn, batches) -> float:
    """Samples per second of ``fn`` over ``batches`` (after one warm-up call)."""
    fn(batches[0])
    start = time.perf_counter()
    for batch in batches:
        fn(batch)
    return BATCH * len(batches) / (time.perf_counter() - start)


def bench_labels(reference: Path) -> None:
    factornet = reference / "factornet"
    start = time.perf_counter()
    sizes = ChromSizes.read(factornet / "resources" / "hg19.autoX.chrom.sizes")
    folder = CellTypeFolder.read(factornet / "data" / "HepG2", allow_missing_relaxed=True,
                                 need_bigwigs=False)
    peak_sets = [folder.peaks(tf, sizes) for tf in folder.tfs]
    read = time.perf_counter()
    grid = BinGrid(sizes)
    labels = label_bins(grid, peak_sets)
    done = time.perf_counter()
    relaxed = sum(r is not None for _, r in peak_sets)
    print(f"labels: hg19 autosomes+X, {grid.total:,} bins x {len(peak_sets)} TFs "
          f"({relaxed} with relaxed peaks)")
    print(f"  read peaks {read - start:.1f} s, label {done - read:.1f} s, total {done - start:.1f} s;"
          f" {grid.total * len(peak_sets) / (done - read) / 1e6:.0f} M bin-labels/s"
          f" ({grid.total / (done - start) / 1e6:.1f} M genome bins/s for all TFs incl. reading)")
    print(f"  label matrix {labels.nbytes / 1e9:.2f} GB; peak RSS {peak_rss_gb():.2f} GB")


def random_windows(rng, sizes: dict[str, int], n_batches: int) -> list[Windows]:
    names = tuple(sizes)
    lengths = np.array(list(sizes.values()))
    batches = []
    for _ in range(n_batches):
        chrom = rng.integers(0, len(names), BATCH)
        batches.append(Windows(names, chrom, rng.integers(0, lengths[chrom] - LENGTH), LENGTH))
    return batches


def bench_genome(workdir: Path, mbp: int, rng) -> dict[str, int]:
    sizes = {f"chr{i + 1}": mbp * 250_000 for i in range(4)}
    start = time.perf_counter()
    codes = rng.integers(0, 4, sum(sizes.values()), dtype=np.uint8)
    text = np.frombuffer(b"ACGT", np.uint8)[codes].tobytes().decode()
    offsets = np.cumsum([0] + list(sizes.values()))
    fasta = write_fasta(workdir / "genome.fa",
                        {name: text[a:b] for name, a, b in zip(sizes, offsets[:-1], offsets[1:])})
    written = time.perf_counter()
    genome = Genome(fasta, cache_dir=workdir / "cache")
    built = time.perf_counter()
    print(f"genome: random {mbp} Mbp FASTA written in {written - start:.1f} s; cache built in "
          f"{built - written:.1f} s ({mbp / (built - written):.0f} Mbp/s)")
    batches = random_windows(rng, sizes, 300)
    print(f"  one-hot from cache: {rate(genome.onehot, batches):,.0f} samples/s "
          f"(codes only: {rate(genome.codes, batches):,.0f} samples/s)")
    direct = Genome(fasta, cache=False)
    print(f"  one-hot straight from FASTA: {rate(direct.onehot, batches[:30]):,.0f} samples/s")
    return sizes


def bench_tracks(workdir: Path, sizes: dict[str, int], rng) -> None:
    # DNase-like 5' cut counts: sparse background, dense accessible stretches
    track_sizes = {name: length // 5 for name, length in sizes.items()}
    values = {}
    for name, length in track_sizes.items():
        rate_per_base = np.full(length, 0.02)
        for start in rng.integers(0, length - 2000, length // 20_000):
            rate_per_base[start:start + 2000] = 0.5
        counts = rng.poisson(rate_per_base).astype(float)
        counts[counts == 0] = np.nan
        values[name] = counts
    start = time.perf_counter()
    bigwig = write_bigwig(workdir / "dnase.bw", list(track_sizes.items()), values)
    written = time.perf_counter()
    cached = TrackSet([bigwig], cache=True, cache_dir=workdir / "cache")
    built = time.perf_counter()
    total_mbp = sum(track_sizes.values()) / 1e6
    print(f"tracks: DNase-like bigWig of {total_mbp:.0f} Mbp ({bigwig.stat().st_size / 1e6:.0f} MB) "
          f"written in {written - start:.1f} s; float16 cache built in {built - written:.1f} s")
    direct = TrackSet([bigwig])
    batches = random_windows(rng, track_sizes, 100)
    from_bigwig = rate(direct.rows, batches[:20])
    from_cache = rate(cached.rows, batches)
    print(f"  random windows: bigWig {from_bigwig:,.0f} samples/s, cache {from_cache:,.0f} "
          f"samples/s ({from_cache / from_bigwig:.0f}x)")
    name = next(iter(track_sizes))
    sliding = [Windows((name,), np.zeros(BATCH, np.int64),
                       np.arange(BATCH, dtype=np.int64) * 50 + i * BATCH * 50, LENGTH)
               for i in range(100)]
    print(f"  consecutive 50 bp-step bins: bigWig {rate(direct.rows, sliding):,.0f} samples/s, "
          f"cache {rate(cached.rows, sliding):,.0f} samples/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path,
                        default=os.environ.get("FIDDLE_FACTORNET_REFERENCE", "../shared/reference"),
                        help="the reference data folder (holds factornet/resources and data)")
    parser.add_argument("--genome-mbp", type=int, default=50, help="size of the random genome")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if (args.reference / "factornet").is_dir():
        bench_labels(args.reference)
    else:
        print(f"labels: skipped, no reference data at {args.reference}")
    with tempfile.TemporaryDirectory() as tmp:
        sizes = bench_genome(Path(tmp), args.genome_mbp, rng)
        bench_tracks(Path(tmp), sizes, rng)
    print(f"peak RSS of the whole run: {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
