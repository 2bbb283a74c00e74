"""A small, self-consistent demo dataset in the real file formats, generated from a seed.

One random genome of a few chromosomes named like hg19's (so FactorNet's default split applies:
validation chr11, test chr1, chr8, chr21), with assembly gaps (N), soft-masked stretches and a
blacklist, serves both sides:

- ``factornet/``: three cell types in FactorNet's folder layout, two TFs whose binding needs both
  their motif and open chromatin (see :mod:`.factornet`);
- ``fiddle/``: genes (BED6) and the tracks of FIDDLE's yeast case study, each carrying partial,
  noisy information about where transcription starts (see :mod:`.fiddle`).

``make_demo(folder)`` writes it in seconds; the same seed gives the same files, and the tests
use the same generator.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..runs.outputs import safe_output
from ..runs.record import RECORD_NAME, RunRecord, absolute
from ..data.genome import Genome
from ..data.intervals import coverage_mask
from ..data.writers import write_bed, write_fasta
from . import factornet, fiddle

logger = logging.getLogger(__name__)

DEFAULT_CHROM_SIZES = (("chr1", 400_000), ("chr2", 1_200_000), ("chr3", 1_200_000),
                       ("chr8", 300_000), ("chr11", 600_000), ("chr21", 300_000))


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and rates of the demo dataset (defaults: 4 Mbp, written in a few seconds)."""

    seed: int = 0
    chrom_sizes: tuple[tuple[str, int], ...] = DEFAULT_CHROM_SIZES
    gc_content: float = 0.42
    gap_length: int = 3_000            # one assembly gap (N) per chromosome
    # FactorNet side
    cell_types: tuple[str, ...] = ("demoA", "demoB", "demoC")
    site_spacing: int = 4_000          # one planted site per TF every this many bp, on average
    pwm_consensus_probability: float = 0.85
    site_open_probability: float = 0.5
    bound_if_open_probability: float = 0.9
    open_regions_per_mbp: int = 120    # open regions without a site, per cell type
    shared_open_fraction: float = 0.5
    dnase_background_rate: float = 0.03  # 5' cuts per bp
    dnase_open_fold: float = 15.0
    dnase_scale: float = 0.8           # normalisation factor applied to counts (like "1x")
    relaxed_open_fraction: float = 0.15
    n_meta: int = 8
    # FIDDLE side
    gene_spacing: int = 3_000          # one gene every this many bp, on average
    tss_scatter: float = 40.0          # sd (bp) of the true TSS around the annotated one
    second_tss_probability: float = 0.5
    tata_probability: float = 0.6
    tss_reads: float = 80.0            # mean TSS-seq reads of a gene of expression 1


def make_demo(out_dir: str | os.PathLike, config: DemoConfig = DemoConfig(),
              overwrite: bool = False) -> Path:
    """Generate the demo dataset under ``out_dir`` (written aside, then renamed into place), with
    its run record ``run.json``."""
    out_dir = Path(out_dir)
    record = RunRecord("demo dataset", {"out_dir": absolute(out_dir), **asdict(config)})
    with safe_output(out_dir, overwrite) as tmp:
        _write_demo(tmp, config)
        record.write(tmp / RECORD_NAME)
    logger.info("demo dataset written to %s", out_dir)
    return out_dir


def _write_demo(root: Path, config: DemoConfig) -> None:
    rng = np.random.default_rng(config.seed)
    p_base = [(1 - config.gc_content) / 2, config.gc_content / 2, config.gc_content / 2,
              (1 - config.gc_content) / 2]
    codes, gaps = {}, {}
    for name, length in config.chrom_sizes:
        codes[name] = rng.choice(4, size=length, p=p_base).astype(np.uint8)
        start = int(rng.integers(length // 4, length // 2))
        gaps[name] = (start, start + config.gap_length)
    sites = factornet.plant_sites(rng, config, codes, gaps)
    genes = fiddle.plant_genes(rng, config, codes, gaps)

    (root / "genome").mkdir(parents=True)
    sequences, blacklist = {}, []
    for name, length in config.chrom_sizes:
        letters = np.frombuffer(b"ACGT", np.uint8)[codes[name]].copy()
        letters[slice(*gaps[name])] = ord("N")
        repeats = rng.integers(0, length - 300, length // 15_000)
        soft_masked = coverage_mask(length, repeats, repeats + 300) & (letters != ord("N"))
        letters[soft_masked] += ord("a") - ord("A")
        sequences[name] = letters.tobytes().decode()
        blacklist += [(name, int(s), int(s) + 2_000) for s in rng.integers(5_000, length - 10_000, 2)]
    fasta = write_fasta(root / "genome" / "demo.fa", sequences)
    Genome(fasta, cache=False)  # writes the .fai index beside it
    (root / "genome" / "demo.chrom.sizes").write_text(
        "".join(f"{n}\t{s}\n" for n, s in config.chrom_sizes))
    write_bed(root / "genome" / "blacklist.bed.gz", sorted(blacklist))

    factornet.write(root / "factornet", rng, config, sites, gaps, root / "genome")
    fiddle.write(root / "fiddle", rng, config, genes, gaps)
    (root / "config.json").write_text(json.dumps(asdict(config), indent=1))
    _write_readme(root, config)


def _write_readme(root: Path, config: DemoConfig) -> None:
    def story(module):
        return module.__doc__.split("\n\n", 1)[1].replace("``", "`")

    lines = [
        "# fiddle_factornet demo dataset\n\n",
        "Generated by `fiddle_factornet.demo.make_demo` (`ffn-demo`); the same seed gives the same "
        "files. Nothing here is real data.\n\n",
        "## The genome\n\nRandom sequence (GC content {:.0%}) on chromosomes named like hg19's, one "
        "assembly gap of N per chromosome, soft-masked (lowercase) stretches, two 2 kbp blacklist "
        "regions per chromosome.\n\n".format(config.gc_content),
        "## FactorNet side (`factornet/`)\n\n", story(factornet), "\n",
        "## FIDDLE side (`fiddle/`)\n\n", story(fiddle), "\n",
        *fiddle.summary_lines(root / "fiddle"),
        "\n## Parameters\n\n", *(f"- `{k}`: {v}\n" for k, v in asdict(config).items()),
        "\n## Layout\n\n",
        "- `genome/`: `demo.fa` (+ `.fai`), `demo.chrom.sizes`, `blacklist.bed.gz`\n",
        "- `factornet/<cell type>/`: FactorNet cell-type folders (`bigwig.txt`, `chip.txt`, "
        "`meta.txt`, DNase-like `DNase.bw`, conservative and relaxed narrowPeak.gz per TF); "
        "`factornet/Unique35.bw`: the shared mappability-like track; `factornet/motifs.meme`: the "
        "planted PWMs\n",
        "- `factornet/labels/<TF>.labels.tsv.gz`: ENCODE-DREAM-style B/U/A labels of every bin, one "
        "column per cell type; `<TF>.test.labels.tsv.gz`: those of the test regions only\n",
        "- `factornet/regions/test_regions.blacklistfiltered.bed.gz`: the bins of the held-out "
        "chromosomes (chr1, chr8, chr21) outside the blacklist, to predict on\n",
        "- `fiddle/genes.bed`: the genes (BED6, strand in column 6); `fiddle/tracks.tsv`: each "
        "track's name, role, kind and file(s); `fiddle/*.bw`: the tracks (`.plus`/`.minus` for "
        "stranded ones)\n",
        "- `config.json`: the parameters above\n",
    ]
    (root / "README.md").write_text("".join(lines))
