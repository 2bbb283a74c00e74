"""Speed of the FactorNet model itself on this machine. Prints figures.

    python bench/bench_factornet_model.py

The paper configuration (L=1000, k=32, w=26, r=32, d=128, 2 tracks), trained at batch 100 and
predicting at batches of 100 and 1000, on random inputs held in memory, for each LSTM choice: the
default, the original's (Keras 1's hard sigmoid gates, dropout 0.1 on inputs and on the recurrent
state), and the fast option (``ffn-train --fast_lstm``: sigmoid gates, no recurrent dropout). Each
choice runs in its own process so that its peak RSS is its own. Rates are medians of repeats.
Targets on this 2-core CPU: train >= 600 samples/s, predict >= 3,000 samples/s, peak RSS <= 3 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

CHOICES = ("default = the original's (hard sigmoid, recurrent dropout 0.1)",
           "--fast_lstm (sigmoid, no recurrent dropout)")


def measure(choice: str, n: int, repeats: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
    from fiddle_factornet.factornet.training import compile_factornet

    start = time.perf_counter()
    config = FactorNetConfig() if choice == CHOICES[0] else FactorNetConfig().fast_lstm()
    model = compile_factornet(build_factornet(config), 1e-3)
    rng = np.random.default_rng(0)
    x = {s: rng.random((n, 1000, 6), dtype=np.float32) for s in ("forward", "reverse")}
    y = (rng.random((n, 1)) < 0.5).astype(np.float32)
    model.fit(x, y, batch_size=100, epochs=1, verbose=0)
    first = time.perf_counter() - start
    figures = {"first epoch (build + trace) s": first}

    def rate(fn):
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            fn()
            times.append(time.perf_counter() - begin)
        return n / float(np.median(times))

    figures["train samples/s"] = rate(lambda: model.fit(x, y, batch_size=100, epochs=1, verbose=0))
    for batch in (100, 1000):
        model.predict(x, batch_size=batch, verbose=0)
        figures[f"predict samples/s (batch {batch})"] = rate(
            lambda: model.predict(x, batch_size=batch, verbose=0))
    figures["peak RSS GB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--choice", help="(internal) measure one choice and print JSON")
    args = parser.parse_args()
    if args.choice:
        print(json.dumps(measure(args.choice, args.samples, args.repeats)))
        return
    print(f"FactorNet paper configuration, {args.samples} random samples in memory, "
          f"{len(os.sched_getaffinity(0))} cores; medians of {args.repeats} runs")
    for choice in CHOICES:
        result = subprocess.run([sys.executable, __file__, "--choice", choice, "--samples",
                                 str(args.samples), "--repeats", str(args.repeats)],
                                capture_output=True, text=True, check=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"  LSTM {choice}:")
        for name, value in figures.items():
            print(f"    {name:36s} {value:10,.2f}" if "GB" in name or " s" in name
                  else f"    {name:36s} {value:10,.0f}")


if __name__ == "__main__":
    main()
