"""Training and prediction speed on one accelerator, under any Keras backend. Prints figures.

    KERAS_BACKEND=jax python bench/bench_gpu.py [--mbp 100] [--data DIR] [--train-samples 20000]
        [--rounds 3] [--predict-bins 200000] [--json FILE]
    python bench/bench_gpu.py --quick            # a small smoke run (a CPU: about a minute)

Nothing here imports TensorFlow unless ``KERAS_BACKEND`` is tensorflow: a GPU machine with only
JAX or PyTorch runs it (``pip install -e .[jax]`` or ``.[torch]``).

Data: the demo dataset (:func:`fiddle_factornet.demo.make_demo`) with its genome scaled to
``--mbp`` Mbp (chromosome sizes in the demo's proportions), generated once and kept under
``--data`` (default ``$FIDDLE_FACTORNET_CACHE/bench_gpu``) with the genome and track caches that
training reads (memory-mapped; at 100 Mbp about 3 GB). The models, untrained (speed does not
depend on the weights):

- FactorNet, the paper's configuration (``FactorNetConfig`` defaults: L=1000, k=32, w=26, BiLSTM
  32, dense 128; 2 tracks, the DNase 5' cuts and the Unique35 mappability, as the shipped
  single-task ``onePeak_Unique35_DGF`` models; 3 training cell types, CTCF, batches of 100), with
  the default LSTM (Keras 1's hard sigmoid gates, recurrent dropout: no fused cuDNN kernel) and
  the fast one (``FactorNetConfig.fast_lstm``, ``ffn-train --fast_lstm``);
- FIDDLE, the paper's configuration (``FiddleConfig`` defaults) on its five inputs (DNA, NET-seq,
  MNase-seq, TFIIB, RNA-seq; target TSS-seq; L=500), batches of 20 (the released code's).

Figures, each model (every timing excludes building and tracing/compiling, done by a warm-up):

- training samples/s of ``model.fit`` fed by the real input pipeline (``training_dataset``:
  tf.data under TensorFlow, threads reading ahead under JAX and torch), and of the same fit fed
  the same batches from numpy arrays in memory; ``--rounds`` alternating rounds, medians;
- the input-stall share, backend-independent: 1 - (pipeline rate / in-memory rate), the median of
  the paired rounds: the share of the training time the input pipeline adds (on a CPU the reader
  threads also take cores from the model, so it is the pipeline's whole cost there);
- the share of time the GPU is busy (``nvidia-smi``'s ``utilization.gpu``: a kernel running, mean
  over samples every 0.1 s during the timed fits, pipeline-fed and in-memory apart); only where
  an NVIDIA GPU is seen, "n/a" elsewhere;
- FactorNet: the time of a single-task epoch of the paper's size (2 x 30 K samples) projected
  from the pipeline rate, against the paper's 30 s - 5 min on a Titan X; and prediction bins/s
  through ``predict_samples`` on the consecutive bins (200 bp every 50 bp, clear of the
  blacklist) of the largest chromosome: on the stretch path (``ffn-predict``'s default for runs
  of bins) and per window (``--nostretch``), after a warm-up on other bins; 60 M bins (one cell
  type's test set) projected from the stretch path's rate (writing the submission not included).

Targets (the issue's, for one H100): the input pipeline keeps the GPU >= 90 % busy (on any device
also judged by its proxy, an input stall <= 10 %); a 60 K-sample epoch >= 10x faster than the
paper's (<= 3 s against its 30 s; <= 30 s against its 5 min); 60 M bins in <= 10 min.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bench_pipeline import demo_inputs, factornet_setup, fiddle_setup  # noqa: E402  (beside it)

EPOCH_SAMPLES = 60_000            # a single-task epoch of the paper's size: 2 x 30 K samples
PAPER_EPOCH_S = (30.0, 300.0)     # the paper's epoch on a Titan X: 30 s - 5 min
GENOME_BINS = 60_000_000          # the test set of one cell type
TARGET_BUSY = 0.90
TARGET_SPEEDUP = 10.0
TARGET_GENOME_S = 600.0
DEMO_MBP = 4.0                    # the default demo's genome size
PREDICT_CHROM = "chr2"            # the demo's largest chromosome
MODELS = ("FactorNet default LSTM", "FactorNet fast LSTM", "FIDDLE 5 inputs")


class GpuBusy:
    """Samples the GPU's ``utilization.gpu`` (%: the share of the last sample period in which a
    kernel ran) every 0.1 s while in a ``with`` block into ``samples``, through pynvml when
    importable, else ``nvidia-smi --loop-ms``. ``available`` is False where no NVIDIA GPU is seen.
    The GPU: the first of ``CUDA_VISIBLE_DEVICES`` (an index or a UUID), else 0."""

    PERIOD_MS = 100
    QUERY = ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]

    def __init__(self):
        self.gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip() or "0"
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._smi: subprocess.Popen | None = None
        try:
            import pynvml
            pynvml.nvmlInit()
            self._nvml = (pynvml.nvmlDeviceGetHandleByIndex(int(self.gpu)) if self.gpu.isdigit()
                          else pynvml.nvmlDeviceGetHandleByUUID(self.gpu))
        except Exception:  # no pynvml, no driver, no such GPU: nvidia-smi, if any
            self._nvml = None
        self.available = self._nvml is not None or self._probe_smi()

    def _probe_smi(self) -> bool:
        if shutil.which("nvidia-smi") is None:
            return False
        probe = subprocess.run(["nvidia-smi", "-i", self.gpu, *self.QUERY], capture_output=True,
                               text=True)
        return probe.returncode == 0 and probe.stdout.strip().isdigit()

    def __enter__(self):
        self.samples = []
        self._stop.clear()
        if not self.available:
            return self
        if self._nvml is not None:
            self._thread = threading.Thread(target=self._poll_nvml, daemon=True)
        else:
            self._smi = subprocess.Popen(
                ["nvidia-smi", "-i", self.gpu, *self.QUERY, f"--loop-ms={self.PERIOD_MS}"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self._thread = threading.Thread(target=self._read_smi, args=(self._smi.stdout,),
                                            daemon=True)
        self._thread.start()
        return self

    def _poll_nvml(self) -> None:
        import pynvml
        while not self._stop.wait(self.PERIOD_MS / 1000):
            self.samples.append(float(pynvml.nvmlDeviceGetUtilizationRates(self._nvml).gpu))

    def _read_smi(self, lines) -> None:
        for line in lines:
            if line.strip().isdigit():
                self.samples.append(float(line))

    def __exit__(self, *exc):
        if not self.available:
            return None
        self._stop.set()
        if self._smi is not None:
            self._smi.terminate()
            self._smi.wait()
            self._smi = None
        self._thread.join()
        return None


def build_model(name: str, view, samples):
    """The compiled, untrained model ``name`` (one of :data:`MODELS`) for the view's inputs."""
    if name.startswith("FactorNet"):
        from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
        from fiddle_factornet.factornet.training import compile_factornet

        config = FactorNetConfig(n_tracks=view.tracks.width)
        return compile_factornet(build_factornet(
            config.fast_lstm() if "fast" in name else config), 1e-3)
    from fiddle_factornet.fiddle.model import FiddleConfig, build_fiddle
    from fiddle_factornet.fiddle.training import TASK

    rows = tuple((name, shape[1]) for name, shape in view.input_shapes(samples).items())
    return TASK.compile(build_fiddle(FiddleConfig(rows, view.length)), 1e-3)


def cycled(samples, n: int):
    """The first ``n`` rows of ``samples`` repeated end to end."""
    return samples.take(np.arange(n) % len(samples))


def bench_training(model, view, samples, batch: int, n_batches: int, warm: int, rounds: int,
                   gpu: GpuBusy) -> dict:
    """``model.fit`` fed by the pipeline vs the same batches from arrays in memory (see the
    module docstring); ``warm`` batches of each first, untimed."""
    from fiddle_factornet.pipeline import training_dataset

    table = cycled(samples, n_batches * batch)
    inputs, targets = view.read(table)  # the in-memory arrays: (n, ...) each
    warm_rows = warm * batch
    model.fit(training_dataset(view, table.take(np.arange(warm_rows)), batch, epochs=1, seed=99),
              epochs=1, shuffle=False, verbose=0)
    model.fit({k: v[:warm_rows] for k, v in inputs.items()}, targets[:warm_rows],
              batch_size=batch, epochs=1, shuffle=False, verbose=0)
    seconds = {"pipeline": [], "memory": []}
    busy = {"pipeline": [], "memory": []}
    for round_ in range(rounds):  # alternating: drifts in the machine's speed hit both
        for feed in ("pipeline", "memory"):
            with gpu:
                start = time.perf_counter()
                if feed == "pipeline":
                    model.fit(training_dataset(view, table, batch, epochs=1, seed=round_),
                              epochs=1, shuffle=False, verbose=0)
                else:
                    model.fit(inputs, targets, batch_size=batch, epochs=1, shuffle=False,
                              verbose=0)
                seconds[feed].append(time.perf_counter() - start)
            busy[feed].extend(gpu.samples)
    ratio = np.array(seconds["memory"]) / np.array(seconds["pipeline"])
    figures = {"batch": batch, "samples timed": len(table), "rounds": rounds,
               "train samples/s pipeline": len(table) / float(np.median(seconds["pipeline"])),
               "train samples/s in memory": len(table) / float(np.median(seconds["memory"])),
               "input stall share": 1.0 - float(np.median(ratio))}
    for feed, values in busy.items():
        figures[f"GPU busy {feed}"] = float(np.mean(values)) / 100 if values else None
    figures["GPU busy samples"] = len(busy["pipeline"]) + len(busy["memory"])
    return figures


def prediction_bins(demo: Path, view, warm: int, n: int):
    """Warm-up and timed bins: the first ``warm`` and the next ``n`` consecutive bins of
    :data:`PREDICT_CHROM` clear of the blacklist (widened by L, as ``ffn-predict`` does)."""
    from fiddle_factornet.data.samples import Samples
    from fiddle_factornet.factornet.bins import read_blacklist
    from fiddle_factornet.factornet.prediction import region_chunks

    sizes = view.genome.sizes
    blacklist = read_blacklist(demo / "genome" / "blacklist.bed.gz", sizes, view.length)
    clear = []
    for chunk in region_chunks(None, [PREDICT_CHROM], sizes):
        clear.append(chunk.take(~chunk.overlapping(blacklist)))
        if sum(map(len, clear)) >= warm + n:
            break
    bins = Samples.concat(clear)
    if len(bins) < warm + n:
        raise SystemExit(f"{PREDICT_CHROM} has {len(bins):,} bins clear of the blacklist, fewer "
                         f"than --predict-bins {n:,} + {warm:,} for the warm-up: raise --mbp")
    return bins.take(np.arange(warm)), bins.take(np.arange(warm, warm + n))


def bench_prediction(model, view, warm_bins, bins, batch: int) -> dict:
    """bins/s of ``predict_samples`` on the stretch path and per window, each after a warm-up."""
    from fiddle_factornet.factornet.prediction import predict_samples
    from fiddle_factornet.factornet.stretch import SharedConvolution

    shared = SharedConvolution.of(model)
    figures = {"predict batch": batch, "bins timed": len(bins)}
    for path, stretch in (("stretch", shared), ("per window", None)):
        predict_samples(model, view, warm_bins, batch, stretch)
        start = time.perf_counter()
        _, on_stretch = predict_samples(model, view, bins, batch, stretch)
        figures[f"predict bins/s {path}"] = len(bins) / (time.perf_counter() - start)
        if stretch is not None:
            figures["bins on the stretch path"] = on_stretch
    return figures


def projections(figures: dict) -> None:
    """Add the projected epoch and genome times to a FactorNet model's figures."""
    figures["epoch 60K projected s"] = EPOCH_SAMPLES / figures["train samples/s pipeline"]
    figures["60M bins projected s"] = GENOME_BINS / figures["predict bins/s stretch"]


def progress(message: str) -> None:
    """A line on stderr, so that a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def duration(seconds) -> str:
    return f"{seconds:,.1f} s" if seconds < 600 else f"{seconds / 60:,.1f} min"


ROWS = (  # (label, figure key, measure, format)
    ("training batch", "batch", "samples per batch", "{:,}"),
    ("train samples/s, pipeline", "train samples/s pipeline",
     "model.fit wall clock, fed by training_dataset", "{:,.0f}"),
    ("train samples/s, in memory", "train samples/s in memory",
     "model.fit wall clock, fed numpy arrays", "{:,.0f}"),
    ("input stall share", "input stall share", "1 - pipeline / in-memory rate, paired", percent),
    ("GPU busy, pipeline", "GPU busy pipeline", "nvidia-smi utilization.gpu, mean", percent),
    ("GPU busy, in memory", "GPU busy memory", "nvidia-smi utilization.gpu, mean", percent),
    ("epoch of 60 K samples", "epoch 60K projected s", "60,000 / pipeline rate", duration),
    ("prediction batch", "predict batch", "windows per batch", "{:,}"),
    ("predict bins/s, stretch", "predict bins/s stretch",
     "predict_samples, shared convolution (ffn-predict)", "{:,.0f}"),
    ("predict bins/s, per window", "predict bins/s per window",
     "predict_samples, per window (--nostretch)", "{:,.0f}"),
    ("60 M bins", "60M bins projected s", "60 M / stretch rate", duration),
)


def cell(value, style) -> str:
    if value is None and style is not percent:
        return "-"
    return style(value) if callable(style) else style.format(value)


def targets(results: dict) -> list[dict]:
    """Each target for each model it concerns: the figure, and whether it is met (None: n/a)."""
    rows = []
    for name, figures in results.items():
        busy = figures["GPU busy pipeline"]
        rows.append({"target": "input pipeline keeps the GPU >= 90 % busy", "model": name,
                     "measure": "nvidia-smi", "figure": percent(busy),
                     "met": None if busy is None else busy >= TARGET_BUSY})
        stall = figures["input stall share"]
        rows.append({"target": "input stall <= 10 % (proxy of the above)", "model": name,
                     "measure": "in memory vs pipeline", "figure": percent(stall),
                     "met": stall <= 1 - TARGET_BUSY})
        if "epoch 60K projected s" in figures:
            epoch = figures["epoch 60K projected s"]
            for paper in PAPER_EPOCH_S:
                rows.append({"target": f"epoch 60 K >= 10x faster than {duration(paper)} "
                                       f"(<= {duration(paper / TARGET_SPEEDUP)})",
                             "model": name, "measure": "projected from pipeline rate",
                             "figure": f"{duration(epoch)} ({paper / epoch:,.1f}x)",
                             "met": epoch <= paper / TARGET_SPEEDUP})
            genome = figures["60M bins projected s"]
            rows.append({"target": "60 M bins <= 10 min", "model": name,
                         "measure": "projected from stretch rate", "figure": duration(genome),
                         "met": genome <= TARGET_GENOME_S})
    return rows


def print_tables(header: list[str], results: dict, target_rows: list[dict]) -> None:
    print("\n".join(header))
    names = list(results)
    width = max(len(label) for label, *_ in ROWS) + 2
    measure_width = max(len(measure) for _, _, measure, _ in ROWS) + 2
    print(f"{'figure':{width}s}{'measure':{measure_width}s}" + "".join(f"{n:>24s}" for n in names))
    for label, key, measure, style in ROWS:
        print(f"{label:{width}s}{measure:{measure_width}s}"
              + "".join(f"{cell(results[n].get(key), style):>24s}" for n in names))
    print()
    t_width = max(len(row["target"]) for row in target_rows) + 2
    m_width = max(len(row["model"]) for row in target_rows) + 2
    f_width = max(len(row["measure"]) for row in target_rows) + 2
    print(f"{'target (one H100)':{t_width}s}{'model':{m_width}s}{'measure':{f_width}s}"
          f"{'figure':>20s}  met")
    for row in target_rows:
        met = "n/a" if row["met"] is None else ("yes" if row["met"] else "NO")
        print(f"{row['target']:{t_width}s}{row['model']:{m_width}s}{row['measure']:{f_width}s}"
              f"{row['figure']:>20s}  {met}")


def write_json(path: Path, data: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(partial, path)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run (defaults below in brackets)")
    parser.add_argument("--mbp", type=float, help="demo genome size, Mbp (100) [1]")
    parser.add_argument("--data", type=Path, help="folder of the generated demos and their caches "
                                                  "(default $FIDDLE_FACTORNET_CACHE/bench_gpu)")
    parser.add_argument("--train-samples", type=int,
                        help="samples per timed fit (20000) [200]")
    parser.add_argument("--rounds", type=int, help="alternating timed rounds (3) [1]")
    parser.add_argument("--batch", type=int, default=100, help="FactorNet training batch")
    parser.add_argument("--fiddle-batch", type=int, default=20, help="FIDDLE training batch")
    parser.add_argument("--predict-bins", type=int, help="bins timed per path (200000) [500]")
    parser.add_argument("--predict-batch", type=int, help="prediction batch (1000) [250]")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    for name, full, quick in (("mbp", 100.0, 1.0), ("train_samples", 20_000, 200),
                              ("rounds", 3, 1), ("predict_bins", 200_000, 500),
                              ("predict_batch", 1000, 250)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.mbp < 0.5:
        parser.error(f"--mbp {args.mbp:g}: at least 0.5 (the demo's smallest chromosome would be "
                     "too short)")
    for name in ("train_samples", "rounds", "batch", "fiddle_batch", "predict_bins",
                 "predict_batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: at least 1")
    return args


def main() -> None:
    args = parse_args()
    from fiddle_factornet.data.cache import CACHE_ENV, default_cache_dir

    data = (args.data or default_cache_dir() / "bench_gpu").resolve()
    os.environ.setdefault(CACHE_ENV, str(data / "cache"))
    root = data / f"demo_{args.mbp:g}mbp"
    start = time.perf_counter()
    reused = (root / "demo").is_dir()  # make_demo renames a folder into place once complete
    progress(f"demo of {args.mbp:g} Mbp: " + ("reused" if reused else "generating"))
    demo = root / "demo" if reused else demo_inputs(root, args.mbp / DEMO_MBP)
    made = "reused" if reused else f"generated in {time.perf_counter() - start:.1f} s"

    import keras

    from fiddle_factornet.pipeline import default_readers
    from fiddle_factornet.runs.record import describe_device

    keras.utils.set_random_seed(0)
    gpu = GpuBusy()
    device = describe_device()
    warm = 1 if args.quick else 3
    results: dict[str, dict] = {}
    start = time.perf_counter()
    progress("opening the genome and tracks (caches built on first use)")
    view, sampler, _ = factornet_setup(demo, cache=True)
    fiddle, windows = fiddle_setup(demo, cache=True)
    warm_bins, bins = prediction_bins(demo, view, args.predict_batch, args.predict_bins)
    opened = time.perf_counter() - start  # caches built on first use
    epoch = sampler.epoch(0)
    for name in MODELS:
        progress(f"{name}: training" + (", then prediction" if "FactorNet" in name else ""))
        if name.startswith("FactorNet"):
            model = build_model(name, view, epoch)
            figures = bench_training(model, view, epoch, args.batch,
                                     -(-args.train_samples // args.batch), warm, args.rounds, gpu)
            figures.update(bench_prediction(model, view, warm_bins, bins, args.predict_batch))
            projections(figures)
        else:
            model = build_model(name, fiddle, windows)
            figures = bench_training(model, fiddle, windows, args.fiddle_batch,
                                     -(-args.train_samples // args.fiddle_batch), warm,
                                     args.rounds, gpu)
        results[name] = figures
        del model
        keras.backend.clear_session()

    cores = len(os.sched_getaffinity(0))
    header = [
        f"bench_gpu: {device}; Keras {keras.__version__}, backend {keras.backend.backend()}; "
        f"{cores} CPU cores, {default_readers()} batch-reading thread(s)"
        + ("; --quick: a smoke run, its figures (a few batches) say little" if args.quick else ""),
        f"data: demo genome {args.mbp:g} Mbp in {demo} ({made}); "
        f"inputs opened in {opened:.1f} s (caches built on first use); FactorNet: "
        f"{len(epoch):,} samples an epoch, 3 cell types; FIDDLE: {len(windows):,} windows around "
        "gene starts",
        f"timed: {args.train_samples:,} samples per fit, {args.rounds} alternating round(s), "
        f"medians; prediction: {len(bins):,} bins of {PREDICT_CHROM} per path "
        f"(after {len(warm_bins):,} warm-up bins)",
        "GPU busy: " + (f"nvidia-smi utilization.gpu of GPU {gpu.gpu}, every 0.1 s" if gpu.available
                        else "n/a (no NVIDIA GPU seen); judged by the input stall share alone"),
        ""]
    target_rows = targets(results)
    print_tables(header, results, target_rows)
    if args.json:
        write_json(args.json, {
            "device": device, "backend": keras.backend.backend(), "keras": keras.__version__,
            "cpu_cores": cores, "quick": args.quick, "gpu_busy_measured": gpu.available,
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "demo": str(demo), "factornet_epoch_samples": len(epoch),
            "fiddle_windows": len(windows), "models": results,
            "measures": {key: measure for _, key, measure, _ in ROWS}, "targets": target_rows})


if __name__ == "__main__":
    main()
