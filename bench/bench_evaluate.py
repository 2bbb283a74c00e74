"""Evaluation benchmark: a challenge-sized submission scored against its labels. Prints figures.

    python bench/bench_evaluate.py [--positive-rate 0.015] [--seed 0] [--format-only]

Writes, into a temporary folder, the bins of FactorNet's test chromosomes (chr1, chr8, chr21 of
hg19: 8.87 M bins of 200 bp every 50 bp) as an ENCODE-DREAM label file (B at the positive rate, 1 %
A, the rest U) and a gzipped submission whose scores are random but higher for B bins, with its
chromosomes in another order than the labels (so rows are matched by sorting, not position).
Times reading + matching and the metrics separately, then ``ffn-evaluate`` end to end (a new
process: reading both gzipped files to printing the table). Target: <= 30 s on a 2-core machine.

First, the submission writer's score formatting: 10 M float32 scores (a model's sigmoid outputs,
many of them tiny) as 6 fixed decimals (before) and in scientific notation with 9 and 4
significant digits, in chunks of 2**20 rows as ``write_submission`` formats them: rows/s, and
how many distinct scores survive the text.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fiddle_factornet.factornet.bins import (BIN_STEP, BIN_WIDTH, LABEL_LETTERS, LABEL_A, LABEL_B, LABEL_U)
from fiddle_factornet.factornet.evaluation import (Evaluation, match_rows, read_labels, read_submission, write_submission)
from fiddle_factornet.data.tables import fixed_point, format_rows, scientific

TEST_CHROMS = {"chr1": 249_250_621, "chr8": 146_364_022, "chr21": 48_129_895}
SCRIPT = Path(__file__).resolve().parents[1] / "bin" / "ffn-evaluate"


def make_pair(folder: Path, positive_rate: float, rng) -> tuple[Path, Path, int]:
    """Write labels.tsv.gz and predictions.tab.gz into ``folder``; return their paths and n."""
    names = list(TEST_CHROMS)
    counts = np.array([(length - BIN_WIDTH) // BIN_STEP + 1 for length in TEST_CHROMS.values()])
    chrom = np.repeat(np.arange(len(names)), counts)
    start = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)) * BIN_STEP
    draw = rng.random(len(chrom))
    code = np.where(draw < positive_rate, LABEL_B,
                    np.where(draw < positive_rate + 0.01, LABEL_A, LABEL_U))
    labels = folder / "labels.tsv.gz"
    name_bytes = np.array([name.encode() for name in names])
    with gzip.open(labels, "wb", compresslevel=4) as out:
        out.write(b"chr\tstart\tstop\tcell\n")
        for part in np.array_split(np.arange(len(chrom)), 16):
            out.write(format_rows([name_bytes[chrom[part]], start[part], start[part] + BIN_WIDTH,
                                   LABEL_LETTERS[code[part]]]))
    score = 1 / (1 + np.exp(-(rng.normal(size=len(chrom)) + 3 * (code == LABEL_B) - 2)))
    shuffled = np.argsort(-chrom, kind="stable")  # chromosomes in reverse order
    predictions = folder / "predictions.tab.gz"
    write_submission(predictions, np.array(names)[chrom[shuffled]], start[shuffled],
                     start[shuffled] + BIN_WIDTH, score[shuffled])
    return labels, predictions, len(chrom)


def format_figures(rng, n: int = 10_000_000, chunk: int = 1 << 20) -> None:
    """Print rows/s of formatting ``n`` float32 scores, fixed vs scientific, and the distinct
    values left in the text."""
    score = (1 / (1 + np.exp(-rng.normal(-6, 4, n)))).astype(np.float32)
    distinct = len(np.unique(score))
    print(f"formatting {n:,} float32 scores ({distinct:,} distinct, "
          f"{np.mean(score < 5e-7):.0%} below 5e-7), chunks of {chunk:,} rows:")
    for name, render in (("fixed, 6 decimals", lambda v: fixed_point(v, 6)),
                         ("scientific, 9 digits", lambda v: scientific(v, 9)),
                         ("scientific, 4 digits", lambda v: scientific(v, 4))):
        start = time.perf_counter()
        texts = [format_rows([render(score[lo:lo + chunk])]) for lo in range(0, n, chunk)]
        wall = time.perf_counter() - start
        kept = len(np.unique(np.array(b"".join(texts).split(), dtype=np.float64)))
        print(f"  {name:<22}{wall:6.2f} s  {n / wall / 1e6:5.2f} M rows/s  "
              f"{kept:,} distinct values written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positive-rate", type=float, default=0.015)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format-only", action="store_true",
                        help="only the score-formatting figures")
    args = parser.parse_args()
    format_figures(np.random.default_rng(args.seed))
    if args.format_only:
        return
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        labels, predictions, n = make_pair(Path(tmp), args.positive_rate,
                                           np.random.default_rng(args.seed))
        print(f"generated {n:,} bins in {time.perf_counter() - start:.1f} s "
              f"(labels {labels.stat().st_size / 1e6:.0f} MB, predictions "
              f"{predictions.stat().st_size / 1e6:.0f} MB gzipped)")

        start = time.perf_counter()
        submission = read_submission(predictions)
        truth = read_labels(labels)
        read = time.perf_counter()
        label = truth["label"].to_numpy()[match_rows(submission, truth, predictions, labels)]
        matched = time.perf_counter()
        scored = label >= 0
        evaluation = Evaluation.of(label[scored], submission["score"].to_numpy()[scored])
        done = time.perf_counter()
        print(f"read both files  {read - start:6.2f} s  {2 * n / (read - start) / 1e6:5.1f} M rows/s")
        print(f"match rows       {matched - read:6.2f} s  {n / (matched - read) / 1e6:5.1f} M bins/s")
        print(f"metrics          {done - matched:6.2f} s  {scored.sum() / (done - matched) / 1e6:5.1f}"
              f" M bins/s ({scored.sum():,} scored)")

        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(SCRIPT), "-i", str(predictions), "-l",
                                 str(labels)], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        print(f"ffn-evaluate end to end {wall:.2f} s ({n / wall / 1e6:.2f} M bins/s; target <= 30 s):")
        print(result.stdout.rstrip())
        assert result.stdout.rstrip() == evaluation.table()


if __name__ == "__main__":
    main()
