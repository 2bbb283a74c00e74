"""The demo's FactorNet side.

Three cell types in FactorNet's folder layout. Two TFs bind where their motif is planted AND the
cell type's chromatin is open there, so neither sequence alone nor DNase alone predicts binding:

- motif sites are planted from fixed PWMs (``DEMO_MOTIFS``: consensus strings of HOCOMOCO v9
  motifs, each consensus base given probability 0.85 and the others 0.05);
- each cell type opens a random half of the sites plus open regions without a site (some shared by
  all cell types, some its own); a site is bound in a cell type when it is open there (90 %);
- DNase-like bigWigs hold Poisson 5' cut counts: background, 15x more in open regions, and a
  footprint (fewer cuts over the bound motif, more on its flanks); a mappability-like bigWig is 1
  except for low-mappability stretches and the assembly gaps (0);
- conservative peaks (196 bp) sit on bound sites; relaxed peaks add wider peaks there and weak peaks
  in some open regions without a site (these bins are ambiguous).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..factornet.bins import BinGrid, write_label_table
from ..data.genome import BASES, COMPLEMENT_CODE, ChromSizes
from ..data.intervals import IntervalSet, coverage_mask, read_bed
from ..data.splits import ChromSplit
from ..data.tables import format_rows
from ..data.writers import narrowpeak_row, write_bed, write_bigwig

#: TF -> consensus of its HOCOMOCO v9 motif (CTCF_f2, HNF4A_f1), planted as a PWM
DEMO_MOTIFS = {"CTCF": "TGGCCACCAGGGGGCGCTA", "HNF4A": "AGGCCAAAGTCCA"}

Site = tuple[str, int, int]  # chromosome, start, end of a planted motif


def consensus_pwm(consensus: str, probability: float) -> np.ndarray:
    """(w, 4) PWM: the consensus base gets ``probability``, the other three share the rest."""
    pwm = np.full((len(consensus), 4), (1 - probability) / 3)
    pwm[np.arange(len(consensus)), [BASES.index(base) for base in consensus]] = probability
    return pwm


def sample_pwm(rng, pwm: np.ndarray, n: int) -> np.ndarray:
    """(n, w) base codes drawn position by position from a PWM."""
    cumulative = np.cumsum(pwm, axis=1)
    draws = rng.random((n, len(pwm), 1))
    return (draws > cumulative[None, :, :3]).sum(axis=2).astype(np.uint8)


def plant_sites(rng, config, codes: dict[str, np.ndarray],
                gaps: dict[str, tuple[int, int]]) -> dict[str, list[Site]]:
    """Plant each TF's motif (either strand) into the genome codes; returns the sites per TF."""
    sites = {tf: [] for tf in DEMO_MOTIFS}
    for name, length in config.chrom_sizes:
        gap = gaps[name]
        for tf, consensus in DEMO_MOTIFS.items():
            pwm = consensus_pwm(consensus, config.pwm_consensus_probability)
            starts = np.sort(rng.choice(np.arange(2_000, length - 2_000 - len(pwm), 50),
                                        length // config.site_spacing, replace=False))
            starts = starts[(starts + len(pwm) < gap[0]) | (starts > gap[1])]
            motif = sample_pwm(rng, pwm, len(starts))
            minus = rng.random(len(starts)) < 0.5
            motif[minus] = COMPLEMENT_CODE[motif[minus, ::-1]]
            codes[name][starts[:, None] + np.arange(len(pwm))] = motif
            sites[tf] += [(name, int(s), int(s) + len(pwm)) for s in starts]
    return sites


def write(folder: Path, rng, config, sites: dict[str, list[Site]], gaps, genome_dir: Path) -> None:
    """Write the cell-type folders, the shared mappability track, motifs, labels and regions."""
    folder.mkdir()
    mappability = {}
    for name, length in config.chrom_sizes:
        track = np.ones(length)
        for start in rng.integers(0, length - 1_000, max(1, length // 200_000)):
            track[start:start + 1_000] = rng.choice([0.25, 0.33, 0.5])
        track[slice(*gaps[name])] = 0.0
        mappability[name] = track
    write_bigwig(folder / "Unique35.bw", config.chrom_sizes, mappability)
    _write_meme(folder / "motifs.meme")

    peak_files = {tf: [] for tf in sites}
    for cell in config.cell_types:
        cell_dir = folder / cell
        cell_dir.mkdir()
        rate = {name: np.full(length, config.dnase_background_rate)
                for name, length in config.chrom_sizes}
        open_rows = _open_regions(rng, config)
        chip_lines = []
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
            write_bed(cell_dir / conservative_file, sorted(conservative))
            write_bed(cell_dir / relaxed_file, sorted(relaxed))
            chip_lines.append(f"{conservative_file}\t{tf}\t{relaxed_file}\n")
            peak_files[tf].append((cell_dir / conservative_file, cell_dir / relaxed_file))
        opened = IntervalSet.from_arrays(*zip(*open_rows))
        dnase = {}
        for name, length in config.chrom_sizes:
            rate[name][coverage_mask(length, *opened.intervals(name))] *= config.dnase_open_fold
            counts = rng.poisson(rate[name]) * config.dnase_scale
            dnase[name] = np.where(counts > 0, counts, np.nan)  # uncovered where no cut
        write_bigwig(cell_dir / "DNase.bw", config.chrom_sizes, dnase)
        (cell_dir / "bigwig.txt").write_text("../Unique35.bw\tUnique35\nDNase.bw\tDGF\n")
        (cell_dir / "chip.txt").write_text("".join(chip_lines))
        (cell_dir / "meta.txt").write_text("".join(f"{v:.6f}\tGEPC{i + 1}\n" for i, v in
                                                   enumerate(rng.normal(0, 1, config.n_meta))))
    _write_labels_and_regions(folder, config, peak_files, genome_dir)


def _open_regions(rng, config) -> list[Site]:
    """Open regions without a planted site: a shared set (same for every cell type) + its own."""
    rows = []
    for name, length in config.chrom_sizes:
        n = int(config.open_regions_per_mbp * length / 1e6)
        n_shared = int(n * config.shared_open_fraction)
        shared = np.random.default_rng([config.seed, length]).integers(1_000, length - 1_000, n_shared)
        own = rng.integers(1_000, length - 1_000, n - n_shared)
        widths = rng.integers(200, 600, n)
        rows += [(name, int(s), int(s + w)) for s, w in zip(np.concatenate([shared, own]), widths)]
    return rows


def _write_meme(path: Path) -> None:
    lines = ["MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n",
             "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"]
    for tf, consensus in DEMO_MOTIFS.items():
        pwm = consensus_pwm(consensus, 0.85)
        lines.append(f"MOTIF {tf}_demo {tf}\n\nletter-probability matrix: alength= 4 w= {len(pwm)} "
                     "nsites= 100 E= 0\n")
        lines += ["  ".join(f"{p:.6f}" for p in row) + "\n" for row in pwm]
        lines.append("\n")
    path.write_text("".join(lines))


def _write_labels_and_regions(folder: Path, config, peak_files: dict, genome_dir: Path) -> None:
    sizes = ChromSizes(tuple(n for n, _ in config.chrom_sizes),
                       tuple(s for _, s in config.chrom_sizes), "demo.chrom.sizes")
    grid = BinGrid(sizes)
    blacklist = IntervalSet.read(genome_dir / "blacklist.bed.gz", sizes)
    test = ChromSplit().part(sizes, "test").names
    (folder / "labels").mkdir()
    for tf, files in peak_files.items():
        tables = [(read_bed(c, sizes), read_bed(r, sizes)) for c, r in files]
        write_label_table(folder / "labels" / f"{tf}.labels.tsv.gz", grid, sizes.names,
                          list(config.cell_types), tables)
        write_label_table(folder / "labels" / f"{tf}.test.labels.tsv.gz", grid, test,
                          list(config.cell_types), tables, skip=blacklist)
    rows = []
    for name in test:
        starts = np.arange(grid.counts[sizes.ids([name])[0]], dtype=np.int64) * grid.step
        starts = starts[~blacklist.overlaps(name, starts, starts + grid.width)]
        rows.append(format_rows([np.full(len(starts), name.encode()), starts, starts + grid.width]))
    (folder / "regions").mkdir()
    with gzip.open(folder / "regions" / "test_regions.blacklistfiltered.bed.gz", "wb") as out:
        out.write(b"".join(rows))
