"""Kernel-motif extraction benchmark (``ffn-motifs``' streaming). Prints figures.

    python bench/bench_motifs.py [--demo DIR] [--model DIR] [--chrom chr2] [--batch 500]

Every 200 bp bin (every 50 bp) of one chromosome of the demo (default: its largest, chr2, 1.2 Mbp)
streams through ``read_kernel_sites`` as in ``ffn-motifs --chroms chr2``: windows of L bp read
from the genome and track caches, both strands through the model's first two layers, the sites
summed in numpy. The model: one given (a FactorNet model folder), else an untrained
FactorNet of the paper's size (L=1000, 32 kernels of 26 bp, BiLSTM 32, dense 128, 2 tracks): the
first two layers cost the same trained or not. Prints windows/s, the peak RSS, the time per Mbp
and the projection to hg19's chr11 (135 Mbp: 2.7 M bins); then the time of the outputs (TOMTOM
against JASPAR CORE vertebrates for both layers, logos).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HG19_CHR11_BINS = 2_700_000


def paper_model(folder: Path, tracks: tuple[str, ...]) -> Path:
    """An untrained paper-size FactorNet model folder."""
    from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
    from fiddle_factornet.runs.record import RECORD_NAME, RunRecord

    cfg = FactorNetConfig(n_tracks=len(tracks))
    folder.mkdir()
    build_factornet(cfg).save(folder / "model.keras")
    RunRecord("bench model", {}, family="factornet", architecture=asdict(cfg),
              tfs=["CTCF"]).write(folder / RECORD_NAME)
    (folder / "chip.txt").write_text("CTCF\n")
    (folder / "bigwig.txt").write_text("".join(f"{name}\n" for name in tracks))
    (folder / "feature.txt").write_text("bigwig\n")
    return folder


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chromosome_bench_parser(doc: str, batch: int) -> argparse.ArgumentParser:
    """The flags of a benchmark over one demo chromosome's bins: --demo, --model, --chrom,
    --batch (default ``batch``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--demo", type=Path,
                        help="demo folder (default: a fresh default-size demo)")
    parser.add_argument("--model", type=Path, help="FactorNet model folder (default: untrained, "
                                                   "paper size)")
    parser.add_argument("--chrom", default="chr2", help="chromosome whose bins are read")
    parser.add_argument("--batch", type=int, default=batch, help="windows per batch")
    return parser


def main() -> None:
    args = chromosome_bench_parser(__doc__, batch=500).parse_args()

    from fiddle_factornet.demo import make_demo
    from fiddle_factornet.factornet.bins import read_blacklist
    from fiddle_factornet.factornet.celltype import CellTypeFolder
    from fiddle_factornet.factornet.folder import FactorNetModel
    from fiddle_factornet.factornet.prediction import ModelData
    from fiddle_factornet.interpret.kernels import (read_kernel_sites, window_batches,
                                                    window_regions, write_kernel_outputs)
    from fiddle_factornet.interpret.matching import MotifDatabase

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        demo = args.demo or make_demo(scratch / "demo")
        cell = demo / "factornet" / "demoA"
        folder = CellTypeFolder.read(cell)
        tracks = folder.track_names
        model = args.model or paper_model(scratch / "model", tracks)
        genome = demo / "genome" / "demo.fa"
        length = dict(line.split("\t") for line in
                      (demo / "genome" / "demo.chrom.sizes").read_text().splitlines())[args.chrom]
        model = FactorNetModel.load(model)
        # the genome and track caches are built as windows are first read: read them once before
        # timing (a chromosome-wide run has them)
        data = ModelData.open(model, folder, str(genome), cache=True)
        blacklist = read_blacklist(demo / "genome" / "blacklist.bed.gz", data.sizes,
                                   model.architecture.input_length)
        for _ in window_batches(data.view, window_regions(None, [args.chrom], data.sizes,
                                                          blacklist), args.batch):
            pass
        rss_before = peak_rss_mib()
        start = time.perf_counter()
        sites = read_kernel_sites(model, folder, str(genome), chroms=[args.chrom],
                                  blacklist=str(demo / "genome" / "blacklist.bed.gz"),
                                  batch_size=args.batch, cache=True)
        seconds = time.perf_counter() - start
        windows = sites["conv"].windows
        rss = peak_rss_mib()
        start = time.perf_counter()
        database = MotifDatabase.jaspar()
        (scratch / "outputs").mkdir()
        write_kernel_outputs(scratch / "outputs", sites, tracks, database)
        output_seconds = time.perf_counter() - start

    rate = windows / seconds
    mbp = int(length) / 1e6
    print(f"kernel motifs of {args.chrom} ({mbp:.2f} Mbp), batches of {args.batch}, "
          f"{os.cpu_count()} CPU cores:")
    print(f"  windows read:           {windows:,} (bins clear of the blacklist, both strands)")
    print(f"  extraction:             {seconds:.1f} s, {rate:,.0f} windows/s")
    print(f"  per Mbp (20,000 bins):  {seconds / mbp:.1f} s")
    print(f"  hg19 chr11 (2.7 M bins): {HG19_CHR11_BINS / rate / 60:.0f} min projected")
    print(f"  peak RSS:               {rss:,.0f} MiB ({rss_before:,.0f} MiB before the extraction)")
    print(f"  outputs (TOMTOM vs {len(database)} JASPAR motifs, both layers; logos): "
          f"{output_seconds:.1f} s")


if __name__ == "__main__":
    main()
