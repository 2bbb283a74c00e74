"""FactorNet prediction benchmark: the per-window path vs the shared-convolution (stretch) path.
Prints figures.

    python bench/bench_predict.py [--demo DIR] [--model DIR] [--chrom chr2] [--batch 1000]
                                  [--rounds 2]

The bins: every 200 bp bin (every 50 bp) of one chromosome of the demo (default: its largest,
chr2, 1.2 Mbp: about 24,000 bins) clear of the blacklist (widened by L, as ``ffn-predict``
does), read from the genome and track caches. The model: one given (a FactorNet model folder),
else an untrained FactorNet of the paper's size (L=1000, 32 kernels of 26 bp, BiLSTM 32, dense
128, 2 tracks): the paths cost the same trained or not. The paths score the same bins
(``predict_samples`` without and with ``SharedConvolution``) after an untimed pass that builds
the caches and traces the models (the stretch path first, for its own peak RSS); then
``--rounds`` alternating timed rounds, the best of each kept. The stretch path's per-window part
is compiled by XLA; for reference, the per-window path is timed also with the model compiled so.
Prints bins/s of each path, the ratios, the largest difference between the outputs and the peak
RSS. Target: the stretch path >= 2x the per-window path on 2 cores.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bench_motifs import chromosome_bench_parser, paper_model, peak_rss_mib  # noqa: E402  (beside this script)

#: the challenge's test set of one cell type (bins), for the projection
GENOME_BINS = 60_000_000


def main() -> None:
    parser = chromosome_bench_parser(__doc__, batch=1000)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each path")
    args = parser.parse_args()

    import numpy as np

    from fiddle_factornet.demo import make_demo
    from fiddle_factornet.factornet.bins import read_blacklist
    from fiddle_factornet.factornet.celltype import CellTypeFolder
    from fiddle_factornet.factornet.folder import FactorNetModel
    from fiddle_factornet.factornet.prediction import ModelData, predict_samples, region_chunks
    from fiddle_factornet.factornet.stretch import SharedConvolution, find_runs

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        demo = args.demo or make_demo(scratch / "demo")
        cell = CellTypeFolder.read(demo / "factornet" / "demoA")
        model = FactorNetModel.load(args.model or paper_model(scratch / "model", cell.track_names))
        genome = demo / "genome" / "demo.fa"
        data = ModelData.open(model, cell, str(genome), cache=True)
        blacklist = read_blacklist(demo / "genome" / "blacklist.bed.gz", data.sizes,
                                   model.architecture.input_length)
        (samples,) = region_chunks(None, [args.chrom], data.sizes)
        samples = samples.take(~samples.overlapping(blacklist))
        shared = SharedConvolution.of(model.model)
        # the per-window model compiled by XLA as the stretch path's per-window part is: how much
        # of the gain is the compiler's (the per-window path itself runs uncompiled)
        compiled = FactorNetModel.load(model.path).model
        compiled.jit_compile = True
        paths = {"stretch": (model.model, shared), "per window": (model.model, None),
                 "per window, XLA": (compiled, None)}

        def score(path):
            keras_model, stretch = paths[path]
            return predict_samples(keras_model, data.view, samples, args.batch, stretch)[0]

        # untimed: builds the caches (the windows read once) and traces the models; the stretch
        # path first, so that its peak RSS is its own
        outputs = {"stretch": score("stretch")}
        rss_stretch = peak_rss_mib()
        outputs.update({path: score(path) for path in paths if path != "stretch"})
        seconds = {path: float("inf") for path in paths}
        for _ in range(args.rounds):
            for path in paths:
                start = time.perf_counter()
                outputs[path] = score(path)
                seconds[path] = min(seconds[path], time.perf_counter() - start)
        rss = peak_rss_mib()
        on_stretch = int(shared.covers(samples).sum())
        runs = len(find_runs(samples, model.architecture.input_length)) - 1

    n = len(samples)
    rate = {path: n / seconds[path] for path in paths}
    arch = model.architecture
    print(f"FactorNet prediction of {args.chrom}: {n:,} bins clear of the blacklist "
          f"in {runs:,} runs ({on_stretch:,} in runs of >= 4 bins, which take the stretch "
          f"path), batches of {args.batch}, {os.cpu_count()} CPU cores")
    print(f"model: L={arch.input_length} k={arch.kernels} w={arch.kernel_width} "
          f"r={arch.recurrent} d={arch.dense}, {arch.n_tracks} tracks "
          f"({'given' if args.model else 'untrained, paper size'}); outputs "
          f"{outputs['per window'].min():.4f}..{outputs['per window'].max():.4f}")
    print(f"best of {args.rounds} alternating rounds:")
    for path in paths:
        print(f"  {path + ':':17s} {seconds[path]:6.2f} s, {rate[path]:7,.0f} bins/s; "
              f"{GENOME_BINS / rate[path] / 3600:5.1f} h projected for 60 M bins")
    for path in ("per window", "per window, XLA"):
        print(f"  stretch / {path}: {rate['stretch'] / rate[path]:.2f}x"
              + (" (target >= 2x)" if path == "per window" else ""))
        diff = float(np.abs(outputs["stretch"] - outputs[path]).max())
        print(f"  max |stretch - {path}| over the outputs: {diff:.2e} (tolerance 1e-5)")
    print(f"  peak RSS: {rss_stretch:,.0f} MiB after the stretch path alone (it runs first), "
          f"{rss:,.0f} MiB after all")


if __name__ == "__main__":
    main()
