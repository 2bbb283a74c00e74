"""A small, self-consistent demo dataset in the real file formats, generated from a seed.

FactorNet side: a random genome of a few chromosomes named like hg19's (so FactorNet's default
split applies: validation chr11, test chr1, chr8, chr21), a blacklist, and three cell types in
FactorNet's folder layout. Two TFs bind where their motif is planted AND the cell type's chromatin
is open there, so neither sequence alone nor DNase alone predicts binding:

- motif sites are planted from fixed PWMs (``DEMO_MOTIFS``: consensus strings of HOCOMOCO v9
  motifs, each consensus base given probability 0.85 and the others 0.05);
- each cell type opens a random half of the sites plus open regions without a site (some shared by
  all cell types, some its own); a site is bound in a cell type when it is open there (90 %);
- DNase-like bigWigs hold Poisson 5' cut counts: background, 15x more in open regions, and a
  footprint (fewer cuts over the bound motif, more on its flanks); a mappability-like bigWig is 1
  except for low-mappability stretches and the assembly gaps (0);
- conservative peaks (196 bp) sit on bound sites; relaxed peaks add wider peaks there and weak peaks
  in some open regions without a site (these bins are ambiguous).

The generator writes the README of the dataset with its parameters, ENCODE-DREAM-style label files
and the held-out chromosomes' region BED.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .bins import BinGrid, write_label_table
from .errors import InputError
from .genome import BASES, COMPLEMENT_CODE, ChromSizes, Genome
from .intervals import IntervalSet, read_bed
from .splits import ChromSplit
from .tables import format_rows
from .writers import narrowpeak_row, write_bed, write_bigwig, write_fasta

logger = logging.getLogger(__name__)

#: TF -> consensus of its HOCOMOCO v9 motif (CTCF_f2, HNF4A_f1), planted as a PWM
DEMO_MOTIFS = {"CTCF": "TGGCCACCAGGGGGCGCTA", "HNF4A": "AGGCCAAAGTCCA"}


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and rates of the demo dataset (defaults: about 4 Mbp, generated in seconds)."""

    seed: int = 0
    chrom_sizes: tuple[tuple[str, int], ...] = (
        ("chr1", 400_000), ("chr2", 1_200_000), ("chr3", 1_200_000), ("chr8", 300_000),
        ("chr11", 600_000), ("chr21", 300_000))
    cell_types: tuple[str, ...] = ("demoA", "demoB", "demoC")
    gc_content: float = 0.42
    site_spacing: int = 4_000        # one planted site per TF every this many bp, on average
    pwm_consensus_probability: float = 0.85
    site_open_probability: float = 0.5
    bound_if_open_probability: float = 0.9
    open_regions_per_mbp: int = 120  # open regions without a site, per cell type
    shared_open_fraction: float = 0.5
    dnase_background_rate: float = 0.03  # 5' cuts per bp
    dnase_open_fold: float = 15.0
    dnase_scale: float = 0.8         # normalisation factor applied to counts (like "1x" coverage)
    relaxed_open_fraction: float = 0.15
    n_meta: int = 8


def consensus_pwm(consensus: str, probability: float) -> np.ndarray:
    """(w, 4) PWM: the consensus base gets ``probability``, the other three share the rest."""
    pwm = np.full((len(consensus), 4), (1 - probability) / 3)
    pwm[np.arange(len(consensus)), [BASES.index(base) for base in consensus]] = probability
    return pwm


def _sample_pwm(rng, pwm: np.ndarray, n: int) -> np.ndarray:
    """(n, w) base codes drawn position by position from a PWM."""
    cumulative = np.cumsum(pwm, axis=1)
    draws = rng.random((n, len(pwm), 1))
    return (draws > cumulative[None, :, :3]).sum(axis=2).astype(np.uint8)


def _intervals_mask(length: int, starts, ends) -> np.ndarray:
    marks = np.zeros(length + 1, np.int32)
    np.add.at(marks, np.clip(starts, 0, length), 1)
    np.add.at(marks, np.clip(ends, 0, length), -1)
    return np.cumsum(marks[:length]) > 0


def make_demo(out_dir: str | os.PathLike, config: DemoConfig = DemoConfig(),
              overwrite: bool = False) -> Path:
    """Generate the demo dataset under ``out_dir`` (written aside, then renamed into place)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError(f"{out_dir}: output exists; pass the overwrite flag to replace it")
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_demo(tmp, config)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("demo dataset written to %s", out_dir)
    return out_dir


def _write_demo(root: Path, config: DemoConfig) -> None:
    rng = np.random.default_rng(config.seed)
    sizes = ChromSizes(tuple(n for n, _ in config.chrom_sizes),
                       tuple(s for _, s in config.chrom_sizes), "demo.chrom.sizes")
    (root / "genome").mkdir(parents=True)
    factornet = root / "factornet"
    pwms = {tf: consensus_pwm(consensus, config.pwm_consensus_probability)
            for tf, consensus in DEMO_MOTIFS.items()}
    sequences, mappability, blacklist_rows = {}, {}, []
    sites = {tf: [] for tf in pwms}  # per TF: (chrom, start, end) of planted sites
    p_base = [(1 - config.gc_content) / 2, config.gc_content / 2, config.gc_content / 2,
              (1 - config.gc_content) / 2]
    for name, length in config.chrom_sizes:
        codes = rng.choice(4, size=length, p=p_base).astype(np.uint8)
        gap_start = int(rng.integers(length // 4, length // 2))
        gap = (gap_start, gap_start + 3_000)
        black_starts = rng.integers(5_000, length - 10_000, 2)
        blacklist_rows += [(name, int(s), int(s) + 2_000) for s in black_starts]
        for tf, pwm in pwms.items():
            n_sites = length // config.site_spacing
            starts = np.sort(rng.choice(np.arange(2_000, length - 2_000 - len(pwm), 50), n_sites,
                                        replace=False))
            starts = starts[(starts + len(pwm) < gap[0]) | (starts > gap[1])]
            motif = _sample_pwm(rng, pwm, len(starts))
            minus = rng.random(len(starts)) < 0.5
            motif[minus] = COMPLEMENT_CODE[motif[minus, ::-1]]
            codes[starts[:, None] + np.arange(len(pwm))] = motif
            sites[tf] += [(name, int(s), int(s) + len(pwm)) for s in starts]
        letters = np.frombuffer(b"ACGT", np.uint8)[codes].copy()
        letters[gap[0]:gap[1]] = ord("N")
        repeats = rng.integers(0, length - 300, length // 15_000)
        soft_masked = _intervals_mask(length, repeats, repeats + 300) & (letters != ord("N"))
        letters[soft_masked] += ord("a") - ord("A")
        sequences[name] = letters.tobytes().decode()
        track = np.ones(length)
        for start in rng.integers(0, length - 1_000, max(1, length // 200_000)):
            track[start:start + 1_000] = rng.choice([0.25, 0.33, 0.5])
        track[gap[0]:gap[1]] = 0.0
        mappability[name] = track
    fasta = write_fasta(root / "genome" / "demo.fa", sequences)
    Genome(fasta, cache=False)  # writes the .fai index beside it
    (root / "genome" / "demo.chrom.sizes").write_text(
        "".join(f"{n}\t{s}\n" for n, s in config.chrom_sizes))
    write_bed(root / "genome" / "blacklist.bed.gz", sorted(blacklist_rows))
    factornet.mkdir()
    write_bigwig(factornet / "Unique35.bw", config.chrom_sizes, mappability)
    _write_meme(factornet / "motifs.meme", pwms)

    peak_sets = {tf: [] for tf in pwms}
    for cell in config.cell_types:
        folder = factornet / cell
        folder.mkdir()
        rate = {name: np.full(length, config.dnase_background_rate)
                for name, length in config.chrom_sizes}
        chip_lines = []
        open_rows = _open_regions(rng, config, cell)
        for tf, tf_sites in sites.items():
            is_open = rng.random(len(tf_sites)) < config.site_open_probability
            bound = is_open & (rng.random(len(tf_sites)) < config.bound_if_open_probability)
            conservative, relaxed = [], []
            for (name, start, end), site_open, site_bound in zip(tf_sites, is_open, bound):
                centre = (start + end) // 2
                if site_open:
                    half = int(rng.integers(150, 300))
                    open_rows.append((name, centre - half, centre + half))
                if site_bound:
                    jitter = int(rng.normal(0, 10))
                    conservative.append(narrowpeak_row(name, centre + jitter - 98,
                                                       centre + jitter + 98, rng.uniform(5, 50)))
                    relaxed.append(narrowpeak_row(name, centre - 150, centre + 150, 1.0))
                    rate[name][start:end] *= 0.15                        # footprint
                    rate[name][max(start - 20, 0):start] *= 1.5
                    rate[name][end:end + 20] *= 1.5
            weak = [row for row in open_rows if rng.random() < config.relaxed_open_fraction]
            relaxed += [narrowpeak_row(n, (s + e) // 2 - 100, (s + e) // 2 + 100, 0.5)
                        for n, s, e in weak]
            conservative_file = f"ChIPseq.{cell}.{tf}.conservative.train.narrowPeak.gz"
            relaxed_file = f"ChIPseq.{cell}.{tf}.relaxed.narrowPeak.gz"
            write_bed(folder / conservative_file, sorted(conservative))
            write_bed(folder / relaxed_file, sorted(relaxed))
            chip_lines.append(f"{conservative_file}\t{tf}\t{relaxed_file}\n")
            peak_sets[tf].append((folder / conservative_file, folder / relaxed_file))
        open_by_chrom = IntervalSet.from_arrays(*zip(*open_rows)) if open_rows else IntervalSet({})
        dnase = {}
        for name, length in config.chrom_sizes:
            starts, ends = open_by_chrom.intervals(name)
            accessible = _intervals_mask(length, starts, ends)
            rate[name][accessible] *= config.dnase_open_fold
            counts = rng.poisson(rate[name]) * config.dnase_scale
            dnase[name] = np.where(counts > 0, counts, np.nan)  # uncovered where no cut
        write_bigwig(folder / "DNase.bw", config.chrom_sizes, dnase)
        (folder / "bigwig.txt").write_text("../Unique35.bw\tUnique35\nDNase.bw\tDGF\n")
        (folder / "chip.txt").write_text("".join(chip_lines))
        (folder / "meta.txt").write_text("".join(f"{v:.6f}\tGEPC{i + 1}\n" for i, v in
                                                 enumerate(rng.normal(0, 1, config.n_meta))))
    _write_labels_and_regions(factornet, sizes, config, peak_sets, root / "genome" / "blacklist.bed.gz")
    (root / "config.json").write_text(json.dumps(asdict(config), indent=1))
    _write_readme(root, config, fasta)


def _open_regions(rng, config: DemoConfig, cell: str) -> list[tuple[str, int, int]]:
    """Open regions without a planted site: a shared set (same seed for every cell type) + its own."""
    rows = []
    for name, length in config.chrom_sizes:
        n = int(config.open_regions_per_mbp * length / 1e6)
        n_shared = int(n * config.shared_open_fraction)
        shared = np.random.default_rng([config.seed, length]).integers(1_000, length - 1_000, n_shared)
        own = rng.integers(1_000, length - 1_000, n - n_shared)
        widths = rng.integers(200, 600, n)
        rows += [(name, int(s), int(s + w)) for s, w in zip(np.concatenate([shared, own]), widths)]
    return rows


def _write_meme(path: Path, pwms: dict[str, np.ndarray]) -> None:
    lines = ["MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n",
             "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"]
    for tf, pwm in pwms.items():
        lines.append(f"MOTIF {tf}_demo {tf}\n\nletter-probability matrix: alength= 4 w= {len(pwm)} "
                     "nsites= 100 E= 0\n")
        lines += ["  ".join(f"{p:.6f}" for p in row) + "\n" for row in pwm]
        lines.append("\n")
    path.write_text("".join(lines))


def _write_labels_and_regions(factornet: Path, sizes: ChromSizes, config: DemoConfig,
                              peak_sets: dict, blacklist_file: Path) -> None:
    grid = BinGrid(sizes)
    (factornet / "labels").mkdir()
    for tf, files in peak_sets.items():
        tables = [(read_bed(c, sizes), read_bed(r, sizes)) for c, r in files]
        write_label_table(factornet / "labels" / f"{tf}.labels.tsv.gz", grid, sizes.names,
                          list(config.cell_types), tables)
    test = ChromSplit().part(sizes, "test").names
    blacklist = IntervalSet.read(blacklist_file, sizes)
    rows = []
    for name in test:
        starts = np.arange(grid.counts[sizes.ids([name])[0]], dtype=np.int64) * grid.step
        starts = starts[~blacklist.overlaps(name, starts, starts + grid.width)]
        rows.append(format_rows([np.full(len(starts), name.encode()), starts, starts + grid.width]))
    (factornet / "regions").mkdir()
    with gzip.open(factornet / "regions" / "test_regions.blacklistfiltered.bed.gz", "wb") as out:
        out.write(b"".join(rows))


def _write_readme(root: Path, config: DemoConfig, fasta: Path) -> None:
    story = __doc__.split("\n\n", 1)[1].replace("``", "`")
    lines = [
        "# fiddle_factornet demo dataset\n\n",
        "Generated by `fiddle_factornet.demo.make_demo` (`ffn-demo`); the same seed gives the same "
        "files. Nothing here is real data.\n\n## How it was generated\n\n", story, "\n",
        "Planted motifs (consensus of the HOCOMOCO v9 motif named; the PWMs are in "
        "`factornet/motifs.meme`):\n\n",
        *(f"- {tf}: `{consensus}`\n" for tf, consensus in DEMO_MOTIFS.items()),
        "\n## Parameters\n\n", *(f"- `{k}`: {v}\n" for k, v in asdict(config).items()),
        "\n## Layout\n\n",
        f"- `genome/`: `{fasta.name}` (+ `.fai`), `demo.chrom.sizes`, `blacklist.bed.gz`\n",
        "- `factornet/<cell type>/`: FactorNet cell-type folders (`bigwig.txt`, `chip.txt`, "
        "`meta.txt`, DNase-like `DNase.bw`, conservative and relaxed narrowPeak.gz per TF); "
        "`factornet/Unique35.bw` is the shared mappability-like track\n",
        "- `factornet/labels/<TF>.labels.tsv.gz`: ENCODE-DREAM-style B/U/A labels of every bin, one "
        "column per cell type\n",
        "- `factornet/regions/test_regions.blacklistfiltered.bed.gz`: the bins of the held-out "
        "chromosomes (chr1, chr8, chr21) outside the blacklist, to predict on\n",
        "- `config.json`: the parameters above\n",
    ]
    (root / "README.md").write_text("".join(lines))
