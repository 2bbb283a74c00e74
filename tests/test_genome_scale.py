"""bench/bench_genome_scale.py at a small scale: six hg19 chromosomes at 0.2 % of their length
(2 Mbp); chr1's bins and, with the reference data, the ladder regions within it predicted."""

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.factornet.bins import BinGrid

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_genome_scale.py"
REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
LADDER = (Path(os.environ[REFERENCE_ENV]) / "factornet" / "resources"
          / "sample_ladder_regions.blacklistfiltered.bed.gz"
          if os.environ.get(REFERENCE_ENV) else None)
HG19 = {"chr1": 249_250_621, "chr2": 243_199_373, "chr8": 146_364_022, "chr11": 135_006_516,
        "chr21": 48_129_895, "chrX": 155_270_560}
SCALE = 0.002


def rows_of(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        return [line.split("\t") for line in handle]


@pytest.mark.slow  # three processes load TensorFlow: ~30 s
def test_small_genome_scale_bench(tmp_path):
    sizes = tmp_path / "hg19.some.chrom.sizes"
    sizes.write_text("".join(f"{name}\t{length}\n" for name, length in HG19.items()))
    work = tmp_path / "work"
    run = subprocess.run([sys.executable, str(BENCH), "--sizes", str(sizes), "--scale", str(SCALE),
                          "--workdir", str(work), "--ladder", str(LADDER or "none")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout

    chr1_bins = (int(HG19["chr1"] * SCALE) - 200) // 50 + 1
    assert len(re.findall(r"track \(float16\): +built in [\d.]+ s, [\d.]+ GB", out)) == 2
    assert re.search(r"genome codes \(uint8\): +built in [\d.]+ s, [\d.]+ GB", out)
    assert re.search(r"disk: FASTA \+ index [\d.]+ GB, bigWigs [\d.]+ GB, caches [\d.]+ GB; total",
                     out)
    assert f"chr1's BinGrid: {chr1_bins:,} bins" in out
    found = re.search(r"chr1 whole \(chroms=\['chr1'\]\): ([\d,]+) bins predicted \(([\d,]+) on "
                      r"the stretch path, ([\d,]+) per window, ([\d,]+) blacklisted\) in "
                      r"[\d.,]+ s: ([\d,]+) bins/s; peak RSS ([\d,]+) MiB", out)
    assert found, out
    predicted, stretch, per_window, blacklisted, rate, rss = (int(group.replace(",", ""))
                                                              for group in found.groups())
    assert predicted == stretch + per_window + blacklisted == chr1_bins
    assert stretch > per_window  # consecutive bins: the stretch path
    assert rate > 0 and 100 < rss < 4096
    scores = rows_of(work / "predictions" / "chrom.tsv.gz")
    assert len(scores) == chr1_bins and scores[-1][:3] == ["chr1", str((chr1_bins - 1) * 50),
                                                           str((chr1_bins - 1) * 50 + 200)]
    total = BinGrid(ChromSizes.read(sizes)).total
    assert f"whole genome ({total:,} bins, the BinGrid total of {sizes.name}" in out
    assert re.search(r"[\d.]+ h projected at chr1's rate", out)
    assert sorted(p.name.split(".")[-2] for p in (work / "cache").glob("*.bin")) == \
        ["cov-float16", "cov-float16", "seq-u8"]

    if LADDER is None:
        assert "ladder" not in out
        return
    within = [row for row in rows_of(LADDER) if int(row[2]) <= int(HG19["chr1"] * SCALE)]
    found = re.search(r"ladder \(([\d,]+) of its [\d,]+ regions lie within this genome\): "
                      r"([\d,]+) bins predicted", out)
    assert found, out
    kept, predicted = (int(group.replace(",", "")) for group in found.groups())
    assert kept == predicted == len(within) > 0
    assert len(rows_of(work / "predictions" / "ladder.tsv.gz")) == len(within)
