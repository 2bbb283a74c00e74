"""FIDDLE's regions: windows around gene starts, in each gene's orientation.

As the paper-era code made them: for every gene start (TSS), windows of ``length`` (500) bp whose
start, counted in the gene's orientation from the TSS, runs from ``first_offset`` (-500) to
``last_offset`` (-20) every ``step`` (20) bp — 25 windows a gene, the TSS at 20..500 bp into each.
A minus-strand gene's windows are the mirror image (the pipeline then reads them reversed and
complemented). Windows that leave their chromosome, or lie on a chromosome a track lacks, are
dropped. As in the paper, only genes that overlap no other gene are used
(``RegionConfig.non_overlapping``; False keeps every gene). Windows holding missing values are
left out afterwards (:func:`~fiddle_factornet.fiddle.manifest.drop_missing`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..data.files import open_text
from ..data.genome import ChromSizes
from ..data.intervals import IntervalSet, read_bed
from ..data.samples import Samples
from ..data.splits import ChromSplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegionConfig:
    """Where FIDDLE's windows lie around each gene start (defaults: the paper-era code's, and
    the paper's non-overlapping genes)."""

    length: int = 500
    first_offset: int = -500
    last_offset: int = -20
    step: int = 20
    non_overlapping: bool = True  # keep only genes that overlap no other gene (False: every gene)

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(self.first_offset, self.last_offset + 1, self.step, dtype=np.int64)


def read_genes(path: str | os.PathLike, sizes: ChromSizes) -> pd.DataFrame:
    """Genes from a BED6 (strand in column 6) or a GFF3 (features of type ``gene``).

    Returns columns chrom, start, end (0-based, half-open), name, strand ('+' or '-').
    """
    with open_text(path) as handle:
        gff = handle.readline().startswith("##gff-version")
    if gff:
        table = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str,
                            usecols=[0, 2, 3, 4, 6, 8], names=["chrom", "type", "start", "end",
                                                               "strand", "attributes"])
        table = table[table["type"] == "gene"]
        genes = pd.DataFrame({"chrom": table["chrom"], "start": table["start"].astype(np.int64) - 1,
                              "end": table["end"].astype(np.int64),
                              "name": table["attributes"].str.extract(r"ID=([^;]+)")[0],
                              "strand": table["strand"]})
        unknown = sorted(set(genes["chrom"]) - set(sizes.names))
        if unknown:
            raise InputError(f"{path}: chromosome {unknown[0]!r} is not in the genome ({sizes.source})")
    else:
        genes = read_bed(path, sizes)
        if "strand" not in genes:
            raise InputError(f"{path}: genes need a strand: a BED6 (strand in column 6) or a GFF3")
    bad = ~genes["strand"].isin(["+", "-"])
    if bad.any():
        row = genes[bad].iloc[0]
        raise InputError(f"{path}: gene {row['name']} at {row['chrom']}:{row['start']} has strand "
                         f"{row['strand']!r}, not '+' or '-'")
    return genes[["chrom", "start", "end", "name", "strand"]].reset_index(drop=True)


def gene_windows(genes: pd.DataFrame, sizes: ChromSizes, config: RegionConfig = RegionConfig(),
                 chromosomes: Sequence[str] | None = None) -> Samples:
    """The windows of every gene: Samples with ``strand`` set and no targets (the view makes them).

    ``chromosomes``: where every track has data (default: all of ``sizes``); windows elsewhere or
    leaving their chromosome are dropped. Rows are gene by gene, offsets in order.
    """
    if config.non_overlapping:
        alone = _alone(genes)
        logger.info("%d of %d genes overlap another gene and are left out (non-overlapping genes "
                    "only)", int((~alone).sum()), len(genes))
        genes = genes[alone]
    plus = (genes["strand"] == "+").to_numpy()
    tss = np.where(plus, genes["start"], genes["end"] - 1)
    offsets = config.offsets
    n_genes, n_offsets = len(genes), len(offsets)
    plus_w = np.repeat(plus, n_offsets)
    tss_w = np.repeat(tss, n_offsets)
    offset_w = np.tile(offsets, n_genes)
    start = np.where(plus_w, tss_w + offset_w, tss_w - offset_w - config.length + 1)
    chrom_ids = sizes.ids(list(genes["chrom"])) if n_genes else np.zeros(0, np.int64)
    chrom_w = np.repeat(chrom_ids, n_offsets)
    length = np.asarray(sizes.lengths, dtype=np.int64)[chrom_w]
    allowed = set(chromosomes if chromosomes is not None else sizes.names)
    keep = (start >= 0) & (start + config.length <= length) & \
        np.isin(chrom_w, [i for i, name in enumerate(sizes.names) if name in allowed])
    logger.info("%d windows around %d gene starts (%d dropped: off a chromosome end or where a "
                "track has no data)", int(keep.sum()), n_genes, int((~keep).sum()))
    return Samples.build(sizes.names, chrom_w[keep], start[keep], start[keep] + config.length, 0,
                         0, np.zeros((int(keep.sum()), 0)), strand=np.where(plus_w[keep], 1, -1))


def _alone(genes: pd.DataFrame) -> np.ndarray:
    """(n,) bool: genes that overlap no other gene."""
    merged = IntervalSet.from_frame(genes)
    alone = np.zeros(len(genes), dtype=bool)
    for name, (starts, ends) in merged.by_chrom.items():
        rows = np.flatnonzero((genes["chrom"] == name).to_numpy())
        # the merged interval holding each gene; alone = the only gene in it
        cluster = np.searchsorted(ends, genes["start"].to_numpy()[rows], side="right")
        alone[rows] = np.bincount(cluster, minlength=len(starts))[cluster] == 1
    return alone


def split_by_chromosome(samples: Samples, split: ChromSplit, sizes: ChromSizes) -> dict[str, Samples]:
    """Training / validation / test windows by chromosome."""
    parts = {}
    for role in ("train", "valid", "test"):
        names = set(split.part(sizes, role).names)
        parts[role] = samples.take(np.isin(np.array(samples.chrom_names)[samples.chrom], list(names)))
    return parts


def split_shuffled(samples: Samples, n_valid: int, n_test: int, seed: int = 0) -> dict[str, Samples]:
    """A seeded random split into training / validation / test windows (the paper's was random,
    1K test windows of 129K). Windows of one gene overlap, so neighbours can straddle sets."""
    if n_valid + n_test >= len(samples):
        raise InputError(f"{n_valid} validation + {n_test} test windows leave none of the "
                         f"{len(samples)} to train on")
    order = np.random.default_rng(seed).permutation(len(samples))
    return {"test": samples.take(np.sort(order[:n_test])),
            "valid": samples.take(np.sort(order[n_test:n_test + n_valid])),
            "train": samples.take(np.sort(order[n_test + n_valid:]))}


def region_columns(samples: Samples) -> list[np.ndarray]:
    """Windows as text-table columns for ``tables.format_rows``: chrom, start, end, strand."""
    return [np.array(samples.chrom_names, dtype="S")[samples.chrom], samples.start, samples.end,
            np.where(samples.strand < 0, b"-", b"+").astype("S1")]
