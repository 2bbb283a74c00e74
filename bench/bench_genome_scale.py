"""Genome-scale prediction benchmark: an hg19-size cell type, its caches, a whole chromosome and
the ladder regions predicted. Prints figures.

    python bench/bench_genome_scale.py [--sizes hg19.autoX.chrom.sizes] [--scale 1.0]
        [--workdir DIR [--reuse]] [--chrom chr1] [--first-mbp MBP] [--ladder BED | --ladder none]

The cell type is made to the chromosome sizes of ``--sizes`` (default: hg19's autosomes and X
from the reference data), each length times ``--scale``: random sequence with N gaps (10 kbp at
either end and a central 2 % of each chromosome), a DNase-like bigWig (sparse Poisson 5' cut
counts, 15x denser in open regions of 150-600 bp, none in the gaps) and a mappability-like one
(1, except 0 over the gaps and random stretches of 0.5-5 kbp); all written chromosome by
chromosome in pieces of 15.7 Mbp, so memory stays bounded at any genome size. The model: an
untrained FactorNet of the paper's size (L=1000, k=32, w=26, r=32, d=128; prediction costs the
same trained or not).

Then the genome and track caches are built (each one's time and size on disk), and, each in a
fresh process so that its peak RSS is its own (not the build's), ``predict_regions`` (on its
default paths: the stretch path for consecutive bins) scores every 200/50 bin of ``--chrom``
(``chroms=[chrom]``, no BED; or, from a BED of them, only the bins of its first ``--first-mbp``
Mbp, the whole chromosome then projected from that rate) and the challenge's ladder sample
regions (those within the scaled genome). Printed: bins/s (and how many bins took each path),
the time projected for the whole genome (the BinGrid total of the
unscaled ``--sizes``; the challenge's test set is 60,519,747 bins of it, blacklist-filtered),
peak RSS (target <= 4 GB) and the disk used. Bins are predicted without a blacklist ("none": only
the chromosome ends, as the sequence is random). Data and caches go into ``--workdir`` (default: a
temporary folder, removed at the end), which ``--reuse`` takes up again in a later run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from bench_motifs import paper_model

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REFERENCE = (Path(os.environ.get("FIDDLE_FACTORNET_REFERENCE")
                  or Path(__file__).resolve().parents[2] / "shared" / "reference")
             / "factornet" / "resources")
TEST_SET_BINS = 60_519_747  # the ENCODE-DREAM challenge's test regions of one cell type
SEED = 12
LINE = 60                   # FASTA line width
CHUNK = LINE << 18          # bases generated and written at a time (15.7 Mbp)
TELOMERE_GAP = 10_000       # N at either chromosome end
CENTRAL_GAP = 0.02          # share of each chromosome in its central N gap
CUT_RATE = 0.01             # DNase cuts per bp in the background ...
OPEN_RATE = 0.15            # ... and in open regions
OPEN_SPACING = 10_000       # bp per open region
ZERO_SPACING = 100_000      # bp per stretch of mappability 0
TRACKS = ("Unique35", "DGF")
TF = "CTCF"
BIN_ROWS = 1_000_000        # rows of a bin BED written at a time


def scaled_sizes(path: Path, scale: float):
    """The chromosomes of a sizes file, each length times ``scale`` (rounded down)."""
    from fiddle_factornet.data.genome import ChromSizes

    sizes = ChromSizes.read(path)
    return ChromSizes(sizes.names, tuple(int(n * scale) for n in sizes.lengths), str(path))


def gap_intervals(length: int) -> np.ndarray:
    """(3, 2) int64 [start, end) of a chromosome's N gaps: both ends and a central one."""
    half = int(length * CENTRAL_GAP) // 2
    end = min(TELOMERE_GAP, length // 10)
    return np.array([[0, end], [length // 2 - half, length // 2 + half], [length - end, length]],
                    np.int64)


def chunk_mask(lo: int, hi: int, intervals: np.ndarray):
    """(hi - lo,) bool: the bases of ``[lo, hi)`` inside any of ``intervals`` (m, 2)."""
    from fiddle_factornet.data.intervals import coverage_mask

    return coverage_mask(hi - lo, intervals[:, 0] - lo, intervals[:, 1] - lo)


def write_genome(path: Path, sizes, rng) -> None:
    """Random sequence with N gaps as FASTA, ``CHUNK`` bases at a time, and its .fai index."""
    letters = np.frombuffer(b"ACGTN", np.uint8)
    index = []
    with open(path, "wb") as out:
        for name, length in zip(sizes.names, sizes.lengths):
            out.write(f">{name}\n".encode())
            index.append(f"{name}\t{length}\t{out.tell()}\t{LINE}\t{LINE + 1}\n")
            gaps = gap_intervals(length)
            for lo in range(0, length, CHUNK):
                hi = min(lo + CHUNK, length)
                text = letters[rng.integers(0, 4, hi - lo, dtype=np.uint8)]
                text[chunk_mask(lo, hi, gaps)] = ord("N")
                # CHUNK is whole lines: only a chromosome's last line may be partial
                full = len(text) // LINE * LINE
                lines = np.full((full // LINE, LINE + 1), ord("\n"), np.uint8)
                lines[:, :LINE] = text[:full].reshape(-1, LINE)
                out.write(lines.tobytes())
                if full < len(text):
                    out.write(text[full:].tobytes() + b"\n")
    Path(f"{path}.fai").write_text("".join(index))


def dnase_cuts(lo: int, hi: int, gaps: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Cut sites of ``[lo, hi)`` (background and open regions, none in gaps) and their counts:
    two (m,) arrays, int64 positions ascending and float64 counts."""
    n = hi - lo
    background = rng.integers(lo, hi, rng.poisson(CUT_RATE * n))
    starts = rng.integers(lo, hi, n // OPEN_SPACING)
    widths = rng.integers(150, 600, len(starts))
    per_region = rng.poisson(OPEN_RATE * widths)
    inside = (rng.random(per_region.sum()) * np.repeat(widths, per_region)).astype(np.int64)
    cuts = np.concatenate([background, np.repeat(starts, per_region) + inside])
    cuts = cuts[cuts < hi]
    cuts = cuts[~chunk_mask(lo, hi, gaps)[cuts - lo]]
    positions, counts = np.unique(cuts, return_counts=True)
    return positions, counts.astype(np.float64)


def mappability_runs(lo: int, hi: int, zeros: np.ndarray) -> tuple[np.ndarray, ...]:
    """Runs of equal mappability in ``[lo, hi)`` (1, or 0 in ``zeros`` (m, 2)): (r,) int64 starts,
    (r,) int64 ends, (r,) float64 values."""
    values = np.where(chunk_mask(lo, hi, zeros), 0.0, 1.0)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(values)]])
    return starts + lo, ends + lo, values[starts]


def write_tracks(dnase: Path, mappability: Path, sizes, rng) -> None:
    """The DNase-like and mappability-like bigWigs, ``CHUNK`` bases at a time."""
    import pyBigWig

    handles = [pyBigWig.open(str(path), "w") for path in (dnase, mappability)]
    for handle in handles:
        handle.addHeader(list(zip(sizes.names, sizes.lengths)), maxZooms=0)
    cuts_bw, map_bw = handles
    for name, length in zip(sizes.names, sizes.lengths):
        gaps = gap_intervals(length)
        stretch = rng.integers(0, length, max(length // ZERO_SPACING, 1))
        zeros = np.vstack([gaps, np.column_stack([stretch, stretch + rng.integers(500, 5_000,
                                                                                  len(stretch))])])
        for lo in range(0, length, CHUNK):
            hi = min(lo + CHUNK, length)
            positions, counts = dnase_cuts(lo, hi, gaps, rng)
            if len(positions):
                cuts_bw.addEntries(name, positions, values=counts, span=1)
            starts, ends, values = mappability_runs(lo, hi, zeros)
            map_bw.addEntries([name] * len(starts), starts, ends=ends, values=values)
    for handle in handles:
        handle.close()


def make_data(workdir: Path, sizes, reuse: bool) -> dict[str, Path]:
    """Genome, cell-type folder and model in ``workdir``; with ``reuse``, those an earlier run
    made there for the same sizes."""
    paths = {"fasta": workdir / "genome" / "genome.fa", "cell": workdir / "cell",
             "model": workdir / "model"}
    marker = workdir / "data.json"
    made_for = {"names": list(sizes.names), "lengths": list(sizes.lengths), "seed": SEED}
    if reuse and marker.is_file():
        if json.loads(marker.read_text()) != made_for:
            raise SystemExit(f"{workdir}: its data was made for other chromosome sizes")
        print("data: reused")
        return paths
    if workdir.exists() and any(workdir.iterdir()):
        raise SystemExit(f"{workdir}: not empty" + (" and holds no data of this bench" if reuse
                                                     else ": give --reuse or an empty folder"))
    rng = np.random.default_rng(SEED)
    paths["fasta"].parent.mkdir(parents=True)
    paths["cell"].mkdir()
    (paths["cell"] / "bigwig.txt").write_text("Unique35.bw\tUnique35\nDNase.bw\tDGF\n")
    seconds = []
    for step in (lambda: write_genome(paths["fasta"], sizes, rng),
                 lambda: write_tracks(paths["cell"] / "DNase.bw", paths["cell"] / "Unique35.bw",
                                      sizes, rng),
                 lambda: paper_model(paths["model"], TRACKS)):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    marker.write_text(json.dumps(made_for))
    print("data: FASTA written in {:,.1f} s, bigWigs in {:,.1f} s, model in {:,.1f} s"
          .format(*seconds))
    return paths


def disk_bytes(path: Path) -> int:
    """Bytes a file or folder takes on disk (as ``du``)."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_blocks * 512 for p in files)


def build_caches(fasta: Path, cell_dir: Path,
                 cache_dir: Path) -> list[tuple[str, Path, float, bool]]:
    """Build the genome-codes cache and the track caches (as ``predict_regions(cache=True)``
    would); returns per cache (what, its file, seconds, whether it already existed)."""
    from fiddle_factornet.data.genome import Genome
    from fiddle_factornet.data.tracks import TrackSet
    from fiddle_factornet.factornet.celltype import CellTypeFolder

    def cache_file(source: Path, kind: str) -> Path | None:
        return next(cache_dir.glob(f"{source.name}.*.{kind}.bin"), None)

    cell = CellTypeFolder.read(cell_dir)
    sources = [("genome codes (uint8)", "seq-u8", fasta,
                lambda: Genome(fasta, cache=True))]
    sources += [(f"{name} track (float16)", "cov-float16", path,
                 lambda path=path, name=name: TrackSet([path], [name], cache=True))
                for path, name in zip(cell.bigwig_files, cell.track_names)]
    built = []
    for what, kind, source, build in sources:
        existed = cache_file(source, kind) is not None
        start = time.perf_counter()
        build()
        built.append((what, cache_file(source, kind), time.perf_counter() - start, existed))
    return built


def write_bin_bed(path: Path, grid, chrom: str, n_bins: int) -> None:
    """The first ``n_bins`` bins of ``chrom`` on ``grid`` as a gzipped BED, in pieces."""
    from fiddle_factornet.data.tables import format_rows

    with gzip.open(path, "wb", compresslevel=1) as out:
        for lo in range(0, n_bins, BIN_ROWS):
            starts = np.arange(lo, min(lo + BIN_ROWS, n_bins), dtype=np.int64) * grid.step
            out.write(format_rows([np.full(len(starts), chrom.encode()), starts,
                                   starts + grid.width]))


def ladder_within(source: Path, path: Path, sizes) -> tuple[int, int]:
    """The ladder regions of ``source`` that lie within ``sizes``, as a gzipped BED ``path``;
    returns (regions kept, regions in the source)."""
    import pandas as pd

    from fiddle_factornet.data.tables import format_rows

    table = pd.read_csv(source, sep="\t", header=None, usecols=[0, 1, 2],
                        names=["chrom", "start", "end"], dtype={"chrom": str})
    length = table["chrom"].map(dict(zip(sizes.names, sizes.lengths))).fillna(-1).to_numpy()
    keep = table[table["end"].to_numpy() <= length]
    with gzip.open(path, "wb") as out:
        out.write(format_rows([keep["chrom"].to_numpy().astype("S"), keep["start"].to_numpy(),
                               keep["end"].to_numpy()]))
    return len(keep), len(table)


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB: VmHWM of /proc/self/status. (The resource
    module's ru_maxrss of a spawned process would count its parent's RSS at the fork.)"""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def predict(kwargs: dict) -> tuple[dict, float, float]:
    """``predict_regions(**kwargs)`` in this (fresh) process: the bins' counts by path (its run
    record's: total, stretch, per_window, blacklisted), seconds, peak RSS in MiB; the time counts
    the model's loading, not TensorFlow's import."""
    from fiddle_factornet.factornet.prediction import predict_regions
    from fiddle_factornet.runs.record import read_record, record_path

    start = time.perf_counter()
    predict_regions(**kwargs)
    seconds = time.perf_counter() - start
    return read_record(record_path(kwargs["output"]))["bins"], seconds, peak_rss_mib()


def predict_apart(what: str, **kwargs) -> float:
    """:func:`predict` in a fresh process (spawned: none of this process's memory is shared);
    prints its figures, returns bins/s."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        bins, seconds, rss = pool.submit(predict, kwargs).result()
    rate = bins["total"] / seconds
    print(f"  {what}: {bins['total']:,} bins predicted ({bins['stretch']:,} on the stretch path, "
          f"{bins['per_window']:,} per window, {bins['blacklisted']:,} blacklisted) in "
          f"{seconds:,.1f} s: {rate:,.0f} bins/s; peak RSS {rss:,.0f} MiB")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=Path, default=REFERENCE / "hg19.autoX.chrom.sizes",
                        help="chromosome sizes (default: hg19 autosomes + X of the reference)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of each chromosome's length to make (default 1)")
    parser.add_argument("--workdir", type=Path, help="folder for data and caches (default: a "
                                                     "temporary one, removed at the end)")
    parser.add_argument("--reuse", action="store_true",
                        help="take up the data and caches of an earlier run in --workdir")
    parser.add_argument("--chrom", default="chr1",
                        help="chromosome predicted (whole, unless --first-mbp)")
    parser.add_argument("--first-mbp", type=float,
                        help="predict only the bins of the chromosome's first MBP Mbp, and "
                             "project the whole chromosome from that rate")
    parser.add_argument("--ladder", default=str(REFERENCE / "sample_ladder_regions"
                                                            ".blacklistfiltered.bed.gz"),
                        help="the challenge's ladder sample regions ('none': skip)")
    args = parser.parse_args()
    if args.reuse and args.workdir is None:
        parser.error("--reuse needs --workdir")

    from fiddle_factornet.data.cache import CACHE_ENV
    from fiddle_factornet.data.genome import ChromSizes
    from fiddle_factornet.factornet.bins import NO_BLACKLIST, BinGrid

    scratch = None if args.workdir else tempfile.mkdtemp(prefix="bench_genome_scale.")
    workdir = (args.workdir or Path(scratch)).resolve()
    cache_dir = workdir / "cache"
    os.environ[CACHE_ENV] = str(cache_dir)
    sizes = scaled_sizes(args.sizes, args.scale)
    print(f"genome-scale bench: {len(sizes)} chromosomes, {sum(sizes.lengths) / 1e6:,.1f} Mbp "
          f"({args.sizes.name} x {args.scale:g}), {os.cpu_count()} CPU cores, workdir {workdir}")
    try:
        paths = make_data(workdir, sizes, args.reuse)
        print("caches:")
        for what, path, seconds, existed in build_caches(paths["fasta"], paths["cell"], cache_dir):
            how = "existed, opened" if existed else "built"
            print(f"  {what + ':':26s} {how} in {seconds:,.1f} s, {disk_bytes(path) / 1e9:,.3f} GB")
        fasta = disk_bytes(paths["fasta"].parent)
        bigwigs = sum(disk_bytes(p) for p in paths["cell"].glob("*.bw"))
        caches = disk_bytes(cache_dir)
        print(f"disk: FASTA + index {fasta / 1e9:,.3f} GB, bigWigs {bigwigs / 1e9:,.3f} GB, "
              f"caches {caches / 1e9:,.3f} GB; total {(fasta + bigwigs + caches) / 1e9:,.3f} GB")
        print(f"peak RSS of the bench process (data and caches): {peak_rss_mib():,.0f} MiB")

        grid = BinGrid(sizes)
        n_chrom = int(grid.counts[sizes.ids([args.chrom])[0]])
        common = dict(model_dir=str(paths["model"]), cell_dir=str(paths["cell"]), tf=TF,
                      genome=str(paths["fasta"]), blacklist=NO_BLACKLIST, cache=True,
                      overwrite=True)
        (workdir / "predictions").mkdir(exist_ok=True)
        chrom_output = str(workdir / "predictions" / "chrom.tsv.gz")
        print(f"prediction (predict_regions, each run in a fresh process; {args.chrom}'s BinGrid: "
              f"{n_chrom:,} bins):")
        if args.first_mbp is None:
            rate = predict_apart(f"{args.chrom} whole (chroms=[{args.chrom!r}])",
                                 regions=None, chroms=[args.chrom], output=chrom_output, **common)
        else:
            n_bins = min(n_chrom, int(args.first_mbp * 1e6 - grid.width) // grid.step + 1)
            regions = workdir / f"{args.chrom}.bins.bed.gz"
            write_bin_bed(regions, grid, args.chrom, n_bins)
            rate = predict_apart(f"{args.chrom}'s first {args.first_mbp:g} Mbp (a BED of its "
                                 "bins)", regions=str(regions), output=chrom_output, **common)
            print(f"  {args.chrom} whole ({n_chrom:,} bins): {n_chrom / rate / 60:,.1f} min "
                  "projected at that rate")
        if args.ladder != "none":
            ladder = workdir / "ladder.bed.gz"
            kept, total = ladder_within(Path(args.ladder), ladder, sizes)
            predict_apart(f"ladder ({kept:,} of its {total:,} regions lie within this genome)",
                          regions=str(ladder), output=str(workdir / "predictions" /
                                                          "ladder.tsv.gz"), **common)
        genome_bins = BinGrid(ChromSizes.read(args.sizes)).total
        print(f"whole genome ({genome_bins:,} bins, the BinGrid total of {args.sizes.name} at "
              f"full size; the challenge's test set: {TEST_SET_BINS:,}): "
              f"{genome_bins / rate / 3600:,.2f} h projected at {args.chrom}'s rate")
        print(f"workdir {workdir}: {disk_bytes(workdir) / 1e9:,.3f} GB on disk"
              + (" (removed)" if scratch else ""))
    finally:
        if scratch:
            shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
