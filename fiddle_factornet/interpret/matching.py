"""Kernel motifs against a motif database: TOMTOM (memelite's) with p-, E- and q-values.

Queries are position-probability matrices with their uninformative flanks trimmed first (end
columns under 0.2 bits, Basset's rule); targets are a MEME file's motifs or JASPAR's, shipped
offline by pyjaspar. Columns are compared by their Pearson correlation, MEME TOMTOM's default
(``-dist pearson``): memelite scores columns by Euclidean distance, and between columns
standardised to mean 0 and variance 1 that distance is sqrt(8 (1 - r)), a monotone function of the
correlation r. A flat column (no information) standardises to zeros and scores the same against
every column, so it adds nothing; on raw probabilities, by contrast, long runs of weakly
informative columns matched long database motifs with p-values down to 1e-11. Both strands of
every target are tried; per query, the E-value is the p-value times the number of targets and the
q-value is Benjamini-Hochberg's over the query's p-values against the whole database.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.genome import BASES
from .plots import information_content

logger = logging.getLogger(__name__)

#: the default bits under which an end column of a query is trimmed (Basset's rule)
TRIM_BITS = 0.2
#: the fewest columns a trimmed query needs to be matched (memelite's TOMTOM gives a one-column
#: query meaningless p-values, down to 1e-11)
MIN_QUERY_WIDTH = 2
#: ``motif_database`` values: JASPAR through pyjaspar, and no matching at all
JASPAR, NO_DATABASE = "jaspar", "none"
MATCH_COLUMNS = ("kernel", "rank", "target_id", "target_name", "p_value", "e_value", "q_value",
                 "offset", "orientation", "overlap", "query_start", "query_end")


@dataclass(frozen=True)
class MotifDatabase:
    """Target motifs: identifiers, names and (w, 4) A,C,G,T position-probability matrices;
    ``description`` says where they come from (a file, or a JASPAR release and the package)."""

    description: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    ppms: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def meme(cls, path: str | os.PathLike) -> "MotifDatabase":
        """The motifs of a MEME file (an InputError naming the file when it is not one)."""
        from ..factornet.motifs import read_meme_motifs

        motifs = read_meme_motifs(path)
        return cls(str(path), tuple(m.id for m in motifs), tuple(m.name for m in motifs),
                   tuple(_normalised(m.ppm) for m in motifs))

    @classmethod
    def jaspar(cls, collection: str = "CORE", tax_group: str = "vertebrates") -> "MotifDatabase":
        """The latest JASPAR release that pyjaspar ships (SQLite, offline), one collection and
        taxonomic group, latest version of each matrix; counts turned into probabilities."""
        from pyjaspar import jaspardb

        database = jaspardb()
        motifs = database.fetch_motifs(collection=collection, tax_group=[tax_group])
        description = (f"{database.release} {collection} {tax_group} (pyjaspar "
                       f"{importlib.metadata.version('pyjaspar')})")
        return cls(description, tuple(m.matrix_id for m in motifs), tuple(m.name for m in motifs),
                   tuple(_normalised(np.array([m.counts[base] for base in BASES]).T)
                         for m in motifs))


def _normalised(matrix: np.ndarray) -> np.ndarray:
    """(w, 4) rows scaled to sum to 1."""
    matrix = np.asarray(matrix, float)
    return matrix / matrix.sum(axis=1, keepdims=True)


def motif_database(spec: str) -> MotifDatabase | None:
    """:data:`JASPAR` (JASPAR CORE vertebrates), :data:`NO_DATABASE` (None: no matching) or the
    path of a MEME file."""
    if spec == NO_DATABASE:
        return None
    return MotifDatabase.jaspar() if spec == JASPAR else MotifDatabase.meme(spec)


def standardised(ppm: np.ndarray) -> np.ndarray:
    """(w, 4) columns scaled to mean 0 and variance 1 across the four bases (a flat column: 0)."""
    centred = ppm - ppm.mean(axis=1, keepdims=True)
    spread = np.sqrt((centred ** 2).mean(axis=1, keepdims=True))
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 1e-9)


def trim_flanks(ppm: np.ndarray, min_bits: float = TRIM_BITS) -> slice:
    """The columns of a (w, 4) matrix left when the end columns under ``min_bits`` bits are
    removed, as a slice (empty when no column reaches ``min_bits``)."""
    informative = np.flatnonzero(information_content(ppm) >= min_bits)
    if not len(informative):
        return slice(0, 0)
    return slice(int(informative[0]), int(informative[-1]) + 1)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis of ``p_values`` (..., m), same shape."""
    m = p_values.shape[-1]
    order = np.argsort(p_values, axis=-1, kind="stable")
    ranked = np.take_along_axis(p_values, order, -1) * m / np.arange(1, m + 1)
    monotone = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q_values = np.empty_like(monotone)
    np.put_along_axis(q_values, order, np.minimum(monotone, 1.0), -1)
    return q_values


def match_motifs(ppms: Sequence[np.ndarray | None], database: MotifDatabase, top: int = 5,
                 min_bits: float = TRIM_BITS) -> pd.DataFrame:
    """The ``top`` database matches of each query motif, best (lowest p-value) first.

    ``ppms``: one (w, 4) matrix per kernel, None for a kernel without one (no sites). Each is
    trimmed (:func:`trim_flanks`) and the trimmed columns ``[query_start, query_end)`` are matched;
    a kernel with fewer than :data:`MIN_QUERY_WIDTH` columns left is not matched. Returns a table
    of :data:`MATCH_COLUMNS`: ``offset`` is where the query's first column falls in the target
    (negative: before the target's first column), in the target's ``orientation`` (``-``: its
    reverse complement); ``overlap`` the columns aligned.
    """
    from memelite import tomtom

    spans = {kernel: trim_flanks(ppm, min_bits) for kernel, ppm in enumerate(ppms)
             if ppm is not None}
    kernels = [kernel for kernel, span in spans.items()
               if span.stop - span.start >= MIN_QUERY_WIDTH]
    if not kernels or not len(database):
        return pd.DataFrame({column: [] for column in MATCH_COLUMNS})
    queries = [standardised(ppms[k][spans[k]]).T for k in kernels]
    p, _, offsets, overlaps, strands = tomtom(queries, [standardised(ppm).T
                                                        for ppm in database.ppms])
    q = benjamini_hochberg(p)
    best = np.argsort(p, axis=1, kind="stable")[:, :top]  # (queries, top) target indices
    row, rank = np.indices(best.shape)
    take = lambda values: values[row, best].ravel()
    ids, names = np.array(database.ids, dtype=object), np.array(database.names, dtype=object)
    kernel = np.repeat(kernels, best.shape[1])
    start, stop = np.array([(spans[k].start, spans[k].stop) for k in kernel]).reshape(-1, 2).T
    return pd.DataFrame({
        "kernel": kernel, "rank": rank.ravel() + 1, "target_id": ids[best.ravel()],
        "target_name": names[best.ravel()], "p_value": take(p),
        "e_value": take(p) * len(database), "q_value": take(q),
        "offset": take(offsets).astype(np.int64),
        "orientation": np.where(take(strands) > 0, "-", "+"),
        "overlap": take(overlaps).astype(np.int64),
        "query_start": start, "query_end": stop})
