"""The demo's FIDDLE side.

Genes (BED6) spread over the genome, each with an expression level (log-normal) and one or two
true transcription start sites near its annotated start (sd 40 bp; a second site, of random weight,
with probability 0.5). The tracks of FIDDLE's yeast case study are simulated from them in each
gene's orientation, on top of background reads:

- TSS-seq (the target, stranded): reads on the sense strand at the true start sites (sd 6 bp),
  80 x expression per gene on average; an independent replicate drawn the same way;
- DNA: a TATA box (TATAAAAG) ending 30 bp upstream of the main start site in 60 % of genes;
- MNase-seq (stranded): a nucleosome-depleted region upstream of the main start, a -1 nucleosome
  and phased nucleosomes downstream (+1 centred 120 bp after it, then every 165 bp, sd 35 bp),
  seen as fragment ends on the two strands;
- TFIIB ChIP-seq (stranded): fragments centred 40 bp upstream of the main start (sd 45 bp), their
  ends on the two strands, in proportion to expression;
- NET-seq (stranded): nascent transcripts on the sense strand from both start sites (as often as
  TSS-seq reads) into the gene body, with a pause peak 50 bp in (sd 30 bp), and divergent
  antisense transcription upstream;
- RNA-seq (unstranded): coverage of 50 bp reads spread over the transcripts, from both sites.

The DNA, MNase-seq and TFIIB mark only the main start site; NET-seq and RNA-seq see both sites in
their proportions, so the inputs complement each other.

Each input tells part of the story, noisily; none gives the start sites exactly, and the two
TSS-seq replicates disagree where reads are few or start sites compete.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.genome import COMPLEMENT_CODE, encode
from ..data.writers import write_bed, write_bigwig

TATA_BOX = "TATAAAAG"
WINDOW, WINDOW_STEP, WINDOW_FIRST, WINDOW_LAST = 500, 20, -500, -20  # FIDDLE's regions
STRANDED = ("tssseq", "tssseq_rep2", "netseq", "mnase", "tfiib")


def plant_genes(rng, config, codes: dict[str, np.ndarray], gaps) -> pd.DataFrame:
    """Place genes, their true start sites and TATA boxes; returns one row per gene.

    Columns: chrom, start, end, name, strand (+1/-1), tss (annotated start, genomic), expression,
    site1, site2 (true start sites relative to ``tss``, in the gene's orientation), weight2.
    """
    tables = []
    for name, length in config.chrom_sizes:
        n = length // config.gene_spacing
        lengths = rng.integers(800, 2_500, n)
        spacing = rng.integers(700, 2 * config.gene_spacing - 2_350, n)
        starts = 2_000 + np.concatenate([[0], np.cumsum(lengths + spacing)[:-1]])
        ends = starts + lengths
        gap = gaps[name]
        keep = (ends < length - 2_000) & ((ends + 1_000 < gap[0]) | (starts - 1_000 > gap[1]))
        tables.append(pd.DataFrame({"chrom": name, "start": starts[keep], "end": ends[keep]}))
    genes = pd.concat(tables, ignore_index=True)
    n = len(genes)
    genes["name"] = [f"gene{i + 1:05d}" for i in range(n)]
    genes["strand"] = rng.choice([1, -1], n)
    genes["tss"] = np.where(genes["strand"] > 0, genes["start"], genes["end"] - 1)
    genes["expression"] = rng.lognormal(0.0, 1.0, n)
    genes["site1"] = np.round(rng.normal(0, config.tss_scatter, n)).astype(int)
    second = rng.random(n) < config.second_tss_probability
    genes["site2"] = genes["site1"] + rng.choice([-1, 1], n) * rng.integers(30, 120, n)
    genes["weight2"] = np.where(second, rng.uniform(0.2, 1.0, n), 0.0)
    tata = np.flatnonzero(rng.random(n) < config.tata_probability)
    box = encode(TATA_BOX)
    for i in tata:
        gene = genes.iloc[i]
        relative = gene.site1 - 30 - len(box) + np.arange(len(box))
        position = gene.tss + gene.strand * relative
        codes[gene.chrom][position] = box if gene.strand > 0 else COMPLEMENT_CODE[box]
    return genes


def _genomic(genes: pd.DataFrame, gene: np.ndarray, relative: np.ndarray, sense: np.ndarray):
    """Gene-orientation reads -> (chromosome, genomic position, on the plus strand?)."""
    strand = genes["strand"].to_numpy()[gene]
    position = genes["tss"].to_numpy()[gene] + strand * np.round(relative).astype(np.int64)
    return genes["chrom"].to_numpy()[gene], position, (strand > 0) == sense


def _reads(rng, genes: pd.DataFrame, config) -> dict[str, tuple]:
    """Every track's reads as (gene index, relative position, on the sense strand?)."""
    n = len(genes)
    expression = genes["expression"].to_numpy()
    site1, site2 = genes["site1"].to_numpy(), genes["site2"].to_numpy()
    weight2 = genes["weight2"].to_numpy()
    body = (genes["end"] - genes["start"]).to_numpy()

    def per_gene(mean):
        counts = rng.poisson(mean)
        return np.repeat(np.arange(n), counts)

    def start_site(gene):
        """Each transcript's start: the second site with probability weight2 / (1 + weight2)."""
        use2 = rng.random(len(gene)) < weight2[gene] / (1 + weight2[gene])
        return np.where(use2, site2[gene], site1[gene])

    def tss_reads():
        gene = per_gene(config.tss_reads * expression)
        return gene, start_site(gene) + rng.normal(0, 6, len(gene)), np.ones(len(gene), bool)

    def fragment_ends(gene, centre, half=73):
        sense = rng.random(len(gene)) < 0.5
        return gene, centre + np.where(sense, -half, half), sense

    reads = {"tssseq": tss_reads(), "tssseq_rep2": tss_reads()}
    gene = per_gene(10 * expression)
    reads["tfiib"] = fragment_ends(gene, site1[gene] - 40 + rng.normal(0, 45, len(gene)), half=75)
    offsets = np.concatenate([[-220], 120 + 165 * np.arange(6)])
    gene = per_gene(np.full(n, 8.0 * len(offsets)))
    nucleosome = rng.integers(0, len(offsets), len(gene))
    reads["mnase"] = fragment_ends(gene, site1[gene] + offsets[nucleosome] + rng.normal(0, 35, len(gene)))
    gene = per_gene(40 * expression)
    start = start_site(gene)
    paused = rng.random(len(gene)) < 0.3
    into_body = start + rng.random(len(gene)) * np.maximum(body[gene] - start, 1)
    sense_netseq = np.where(paused, start + 50 + rng.normal(0, 30, len(gene)), into_body)
    antisense = per_gene(5 * expression)
    reads["netseq"] = (np.concatenate([gene, antisense]),
                       np.concatenate([sense_netseq, site1[antisense] - 150
                                       - rng.exponential(100, len(antisense))]),
                       np.concatenate([np.ones(len(gene), bool), np.zeros(len(antisense), bool)]))
    gene = per_gene(expression * body / 25)
    start = start_site(gene)
    reads["rnaseq"] = (gene, start + rng.random(len(gene)) * np.maximum(body[gene] - start - 50, 1),
                       np.ones(len(gene), bool))
    return reads


def write(folder: Path, rng, config, genes: pd.DataFrame, gaps) -> None:
    """Write genes.bed, the tracks (bigWig), tracks.tsv and the replicate agreement summary."""
    folder.mkdir()
    write_bed(folder / "genes.bed", genes[["chrom", "start", "end", "name"]].assign(
        score=0, strand=np.where(genes["strand"] > 0, "+", "-")).itertuples(index=False))
    sizes = dict(config.chrom_sizes)
    signal = {}
    for track, (gene, relative, sense) in _reads(rng, genes, config).items():
        chrom, position, plus = _genomic(genes, gene, relative, sense)
        for strand_name, on_strand in (("plus", plus), ("minus", ~plus)):
            for name, length in sizes.items():
                rows = (chrom == name) & on_strand & (position >= 0) & (position < length)
                background = rng.poisson(0.003, length).astype(float)
                counts = np.bincount(position[rows], minlength=length).astype(float) + background
                if track == "rnaseq":  # 50 bp of coverage per read, strands merged
                    counts = np.convolve(counts, np.ones(50))[:length] if strand_name == "plus" \
                        else np.convolve(counts, np.ones(50))[49:49 + length]
                signal[track, strand_name, name] = counts
    for track in STRANDED:
        for strand_name in ("plus", "minus"):
            write_bigwig(folder / f"{track}.{strand_name}.bw", config.chrom_sizes,
                         {name: _uncovered_zeros(signal[track, strand_name, name]) for name in sizes})
    write_bigwig(folder / "rnaseq.bw", config.chrom_sizes,
                 {name: _uncovered_zeros(signal["rnaseq", "plus", name] + signal["rnaseq", "minus", name])
                  for name in sizes})
    (folder / "tracks.tsv").write_text(
        "name\trole\tkind\tfiles\n"
        "dna\tinput\tdna\t../genome/demo.fa\n"
        "netseq\tinput\tstranded\tnetseq.plus.bw,netseq.minus.bw\n"
        "mnase\tinput\tstranded\tmnase.plus.bw,mnase.minus.bw\n"
        "tfiib\tinput\tstranded\ttfiib.plus.bw,tfiib.minus.bw\n"
        "rnaseq\tinput\tmerged\trnaseq.bw\n"
        "tssseq\ttarget\tstranded\ttssseq.plus.bw,tssseq.minus.bw\n"
        "tssseq_rep2\treplicate\tstranded\ttssseq_rep2.plus.bw,tssseq_rep2.minus.bw\n")
    agreement, n_windows = _replicate_bin_accuracy(genes, signal)
    (folder / "summary.json").write_text(json.dumps(
        {"genes": len(genes), "windows": n_windows, "replicate_bin_accuracy": agreement}, indent=1))


def _uncovered_zeros(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)


def _replicate_bin_accuracy(genes: pd.DataFrame, signal) -> tuple[float, int]:
    """Share of FIDDLE windows (both replicates with reads) whose TSS-seq argmax falls in the
    same of 10 bins of 50 bp in both replicates."""
    relative = np.arange(WINDOW_FIRST, WINDOW_LAST + 1, WINDOW_STEP)[:, None] + np.arange(WINDOW)
    agree, total = 0, 0
    for name in genes["chrom"].unique():
        on = genes[genes["chrom"] == name]
        strand = on["strand"].to_numpy()[:, None, None]
        position = on["tss"].to_numpy()[:, None, None] + strand * relative[None]
        profiles = []
        for track in ("tssseq", "tssseq_rep2"):
            plus, minus = signal[track, "plus", name], signal[track, "minus", name]
            profiles.append(np.where(strand > 0, plus[position], minus[position]))
        both = (profiles[0].sum(-1) > 0) & (profiles[1].sum(-1) > 0)
        bins = [np.argmax(p, axis=-1) * 10 // WINDOW for p in profiles]
        agree += int(((bins[0] == bins[1]) & both).sum())
        total += int(both.sum())
    return agree / max(total, 1), total


def summary_lines(folder: Path) -> list[str]:
    """README lines stating the generated gene count and replicate agreement."""
    summary = json.loads((folder / "summary.json").read_text())
    return [f"Generated: {summary['genes']} genes; over the {summary['windows']} FIDDLE windows "
            "(500 bp, starts from TSS-500 to TSS-20 every 20 bp) where both TSS-seq replicates have "
            "reads, replicate-vs-replicate bin accuracy (argmax in the same of 10 bins of 50 bp) is "
            f"{summary['replicate_bin_accuracy']:.1%} (FIDDLE's paper measured 81.2 % on real "
            "yeast data).\n"]
