"""Genome-wide FactorNet prediction split into shards (processes, machines, a SLURM array), and the
shards' outputs merged into the whole run's files.

**Shards.** Shard K of N (:class:`Shard`; 1-based, as a SLURM array's task ids 1..N) of the T bins
to score (a BED's rows, or every bin of chromosomes; in their order) is the contiguous run of bins
``[(K - 1) T // N, K T // N)``: nearly equal runs that, shard after shard, are the bins in their
order. T is counted first (:func:`count_bins`: arithmetic from the chromosome sizes, or one pass
of pandas' tokenizer over a BED's first column); a shard scores its own bins only
(:func:`~.prediction.predict_regions` with ``shard``), each on the path and in the chunk the whole
run would score it in, so with the same batch size, device and software its scores are the whole
run's. Each output of a shard has its run record beside it: the shard (``index``, ``count``,
``first_bin``, ``last_bin``, 0-based and inclusive, ``total_bins``), the counts of bins, and for a
track its intervals and, per chromosome, the lowest and highest centre of the shard's bins.

**Merging** (:func:`merge_shards`) takes the N outputs of one kind (submissions, bigWigs or
bedGraphs) in any order, checks them against their records (every shard 1..N once, one N, one
total, one prediction's settings, ranges end to end from 0 to T, each file's rows or intervals as
recorded) and writes:

- a submission: the shards' rows end to end, gzipped as :func:`~.prediction.predict_regions`
  writes it: the whole run's file, byte for byte;
- a track: per chromosome, the shards' intervals in shard order, tiled again
  (:func:`~.prediction_tracks.tile`): a shard's last interval ends where the next shard's first
  begins, touching neighbours with equal scores are joined; the header is the genome's. Those are
  the whole run's intervals, written as the whole run writes them: the same file, byte for byte.
  It needs, on every chromosome, each shard's bins at or after those of the shards before it (as
  for every ``chroms`` prediction and every BED sorted by position within each chromosome; a shard
  whose bins lie before an earlier shard's is refused), and a bedGraph's scores written with 9
  significant digits (fewer cannot tell whether two neighbouring steps have one score).
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.files import GZIP_ERRORS, compression, gzip_error, open_text, require_file
from ..data.genome import ChromSizes, load_chrom_sizes
from ..data.intervals import header_line_count, iter_bed
from ..data.tracks import MAX_SPAN, open_bigwig
from ..errors import InputError
from ..runs.outputs import recorded_outputs
from ..runs.record import RECORD_NAME, RunRecord, absolute, read_record, record_path
from .bins import BinGrid
from .evaluation import SCORE_DIGITS
from .prediction_tracks import (Intervals, gzip_output, tile, write_bedgraph_track,
                                write_bigwig_track)

logger = logging.getLogger(__name__)

#: a prediction's output settings -> what the output is
KINDS = {"output": "submission", "bigwig": "bigWig", "bedgraph": "bedGraph"}
#: settings in which the shards of one prediction may differ
OWN_SETTINGS = ("output", "bigwig", "bedgraph", "overwrite", "cache", "shard")
_READ_BYTES = 1 << 24


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (K) of ``count`` (N), 1 <= K <= N."""

    index: int
    count: int

    def __post_init__(self):
        if not 1 <= self.index <= self.count:
            raise InputError(f"shard {self}: needs 1 <= K <= N in K/N (shards are numbered from "
                             "1 to N)", setting="shard")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def rows(self, total: int) -> range:
        """The indices of this shard's bins among ``total``."""
        return range((self.index - 1) * total // self.count, self.index * total // self.count)

    def record(self, total: int) -> dict:
        """What a run record says of the shard: K, N, its first and last bin (0-based; the last
        is first - 1 when it has none) and the number of bins in all."""
        rows = self.rows(total)
        return {"index": self.index, "count": self.count, "first_bin": rows.start,
                "last_bin": rows.stop - 1, "total_bins": total}


def count_bins(regions, chroms: Sequence[str] | None, sizes: ChromSizes) -> int:
    """How many bins a prediction scores: the rows of the BED ``regions`` (:func:`count_bed_rows`)
    or, with ``regions`` None, the bins of :class:`~.bins.BinGrid` on ``chroms``."""
    if regions is not None:
        return count_bed_rows(regions)
    return int(BinGrid(sizes).counts[sizes.ids(list(chroms))].sum())


def count_bed_rows(path: str | os.PathLike) -> int:
    """The rows :func:`~fiddle_factornet.data.intervals.iter_bed` reads from a BED (headers and
    blank lines left out), counted by pandas' tokenizer over the first column only."""
    path = require_file(path, "interval file")
    try:
        reader = pd.read_csv(path, sep="\t", header=None, skiprows=header_line_count(path),
                             usecols=[0], dtype=str, chunksize=1 << 22,
                             compression=compression(path), na_filter=False,
                             keep_default_na=False, comment=None, engine="c")
        return sum(len(chunk) for chunk in reader)
    except pd.errors.EmptyDataError:
        return 0
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: malformed line: {str(error).strip().splitlines()[-1]}") from None
    except GZIP_ERRORS as error:
        raise gzip_error(path, error) from None


@dataclass(frozen=True)
class ShardOutput:
    """One output of a shard: its file, its run record and what it is (a key of :data:`KINDS`)."""

    path: Path
    record: dict
    kind: str

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ShardOutput":
        """The output at ``path`` with the record beside it; a file that is not the output of a
        shard (no record, or a record without a shard) is an InputError."""
        path = require_file(path, "shard file")
        at = record_path(path)
        if not at.is_file():
            raise InputError(f"{path}: no run record beside it ({at.name}): not an output of "
                             "ffn-predict --shard")
        record = read_record(at)
        shard, outputs = record.get("shard"), record.get("outputs") or []
        settings = record.get("settings") or {}
        kinds = [key for key in KINDS if outputs and settings.get(key) == outputs[0]]
        if not isinstance(shard, dict) or len(outputs) != 1 or not kinds:
            raise InputError(f"{path}: its run record ({at.name}) names no shard: not an output "
                             "of ffn-predict --shard")
        return cls(path, record, kinds[0])

    @property
    def shard(self) -> dict:
        return self.record["shard"]

    @property
    def settings(self) -> dict:
        return self.record["settings"]

    @property
    def label(self) -> str:
        return f"shard {self.shard['index']}/{self.shard['count']}"

    @property
    def bins(self) -> int:
        return self.shard["last_bin"] - self.shard["first_bin"] + 1


def shard_paths(items: Sequence[str]) -> list[Path]:
    """The files ``items`` name: paths, or glob patterns (sorted matches, run records left out);
    a pattern matching no file is an InputError."""
    paths = []
    for item in items:
        if not glob.has_magic(item):
            paths.append(Path(item))
            continue
        found = sorted(p for p in glob.glob(item) if not p.endswith(f".{RECORD_NAME}"))
        if not found:
            raise InputError(f"{item}: no file matches this pattern")
        paths.extend(map(Path, found))
    return paths


def check_shards(outputs: Sequence[ShardOutput]) -> list[ShardOutput]:
    """``outputs`` in shard order, once checked to be every shard of one prediction, each once,
    of one kind; the first problem is an InputError naming the file at fault."""
    first = outputs[0]
    same = dict(first.settings, version=first.record.get("version"))
    for output in outputs:
        where = f"{output.path}: {output.label}"
        if output.kind != first.kind:
            raise InputError(f"{where} is a {KINDS[output.kind]}, but {first.path} is a "
                             f"{KINDS[first.kind]}: merge one kind of output at a time")
        if output.shard["count"] != first.shard["count"]:
            raise InputError(f"{where}, but {first.path} is {first.label}: the shards of one "
                             "prediction share N")
        if output.shard["total_bins"] != first.shard["total_bins"]:
            raise InputError(f"{where} of {output.shard['total_bins']} bins, but {first.path} of "
                             f"{first.shard['total_bins']}: not shards of one prediction")
        values = dict(output.settings, version=output.record.get("version"))
        for key in sorted(same.keys() | values.keys()):
            if key not in OWN_SETTINGS and values.get(key) != same.get(key):
                raise InputError(f"{where} was made with {key} {values.get(key)!r}, but "
                                 f"{first.path} with {same.get(key)!r}: not shards of one "
                                 "prediction")
    ordered = sorted(outputs, key=lambda output: output.shard["index"])
    for before, output in zip(ordered, ordered[1:]):
        if output.shard["index"] == before.shard["index"]:
            raise InputError(f"{output.path}: {output.label} again (also {before.path})")
    count, given = first.shard["count"], {output.shard["index"] for output in ordered}
    missing = [k for k in range(1, count + 1) if k not in given]
    if missing:
        raise InputError(f"missing shard {missing[0]}/{count}: none of the {len(ordered)} files "
                         f"given is it ({', '.join(str(o.path) for o in ordered[:3])}"
                         f"{', ...' if len(ordered) > 3 else ''})")
    end = 0
    for output in ordered:
        shard = output.shard
        if shard["first_bin"] != end or not end <= shard["last_bin"] + 1 <= shard["total_bins"]:
            raise InputError(f"{output.path}: {output.label} holds bins {shard['first_bin']} to "
                             f"{shard['last_bin']}, but the shards before it end at bin {end - 1}")
        end = shard["last_bin"] + 1
    if end != first.shard["total_bins"]:
        raise InputError(f"{ordered[-1].path}: the last shard ends at bin {end - 1} of "
                         f"{first.shard['total_bins']}")
    return ordered


def merge_shards(paths: Sequence[str | os.PathLike], output: str | os.PathLike,
                 overwrite: bool = False) -> int:
    """Merge the outputs of one kind of every shard of a prediction (see the module docstring)
    into ``output`` (a bedGraph gzipped when its name ends in .gz), with a run record beside it.
    Returns the number of bins."""
    if not paths:
        raise InputError("no shard files given", setting="paths")
    shards = check_shards([ShardOutput.read(path) for path in paths])
    first, kind = shards[0], shards[0].kind
    if kind != "output":
        _check_track_order(shards)
    if kind == "bedgraph" and first.settings["score_digits"] < SCORE_DIGITS:
        raise InputError(f"{first.path}: scores written with {first.settings['score_digits']} "
                         f"significant digits: shards' bedGraphs merge exactly with "
                         f"{SCORE_DIGITS}; merge the shards' bigWigs instead")
    devices = sorted({str(shard.record.get("device")) for shard in shards})
    if len(devices) > 1:
        logger.info("the shards ran on different devices (%s): their scores may differ from one "
                    "run's in the last digits", "; ".join(devices))
    settings = dict(first.settings, **{key: None for key in KINDS}, shard=None,
                    overwrite=overwrite)
    settings[kind] = absolute(output)
    bins = {key: sum(shard.record["bins"][key] for shard in shards)
            for key in first.record["bins"]}
    record = RunRecord("factornet prediction, merged from shards", settings,
                       device="; ".join(devices), bins=bins, shards=[
                           {"shard": f"{s.shard['index']}/{s.shard['count']}",
                            "path": absolute(s.path), "first_bin": s.shard["first_bin"],
                            "last_bin": s.shard["last_bin"]} for s in shards])
    with recorded_outputs([output], record, overwrite, [shard.path for shard in shards]) as (tmp,):
        if kind == "output":
            _merge_submissions(shards, tmp)
        else:
            sizes = load_chrom_sizes(first.settings["genome"])
            intervals = _merged_intervals(shards, sizes)
            if kind == "bigwig":
                written = write_bigwig_track(tmp, sizes, intervals)
            else:
                written = write_bedgraph_track(tmp, intervals, first.settings["score_digits"],
                                               str(output).endswith(".gz"))
            record.update(tracks={"intervals": written, "centres": _centres(shards)})
    logger.info("merged %d shards (%s) into %s: %d bins", len(shards), KINDS[kind], output,
                first.shard["total_bins"])
    return first.shard["total_bins"]


def _merge_submissions(shards: Sequence[ShardOutput], path: Path) -> None:
    """The shards' rows end to end, gzipped at ``path``; a shard whose rows are not as many as its
    bins is an InputError."""
    with gzip_output(path) as out:
        for shard in shards:
            rows = 0
            with open_text(shard.path) as text:
                while block := text.buffer.read(_READ_BYTES):
                    rows += block.count(b"\n")
                    out.write(block)
            _check_count(shard, rows, shard.bins, "rows")


def _check_count(shard: ShardOutput, found: int, recorded: int, what: str) -> None:
    if found != recorded:
        raise InputError(f"{shard.path}: {found} {what}, but its run record says {recorded} (a "
                         "truncated or altered file)")


def _check_track_order(shards: Sequence[ShardOutput]) -> None:
    """Refuse shards whose bins on a chromosome lie before those of an earlier shard."""
    highest: dict[str, tuple[int, ShardOutput]] = {}
    for shard in shards:
        if "tracks" not in shard.record:
            raise InputError(f"{shard.path}: its run record has no tracks entry: not a track of "
                             "ffn-predict --shard")
        for name, (low, high) in shard.record["tracks"]["centres"].items():
            if name in highest and low < highest[name][0]:
                before, earlier = highest[name]
                raise InputError(
                    f"{shard.path}: {shard.label} has bins on {name} (centres {low} to {high}) "
                    f"before those of {earlier.label} ({earlier.path}, up to {before}): the "
                    "tracks of shards of a BED not sorted by position cannot be merged; sort it "
                    "within each chromosome, or make the track from the merged submission")
            highest[name] = (high, shard)


def _centres(shards: Sequence[ShardOutput]) -> dict[str, list[int]]:
    """The lowest and highest bin centre per chromosome over the shards (in shard order)."""
    spans: dict[str, list[int]] = {}
    for shard in shards:
        for name, (low, high) in shard.record["tracks"]["centres"].items():
            spans[name] = [spans.get(name, [low])[0], high]
    return spans


def _merged_intervals(shards: Sequence[ShardOutput], sizes: ChromSizes) -> Intervals:
    """Per chromosome of ``sizes`` with intervals, in its order: the name, starts, ends and
    scores of the shards' tracks merged (see the module docstring)."""
    readers = [(_BigWigIntervals if shard.kind == "bigwig" else _BedGraphIntervals)(shard.path,
                                                                                    sizes)
               for shard in shards]
    read = [0] * len(shards)
    for cid, name in enumerate(sizes.names):
        parts = []
        for k, reader in enumerate(readers):
            part = reader.take(cid)
            read[k] += len(part[0])
            parts.append(part)
        start, end, score = (np.concatenate(column) for column in zip(*parts))
        if len(start):
            yield (name, *tile(start, end, score))
    for shard, reader, found in zip(shards, readers, read):
        reader.close()
        _check_count(shard, found, shard.record["tracks"]["intervals"], "intervals")


class _BigWigIntervals:
    """A bigWig's intervals, chromosome by chromosome; its header must be the genome's."""

    def __init__(self, path: Path, sizes: ChromSizes):
        self.path, self.sizes = path, sizes
        self.handle = open_bigwig(path)
        if list(self.handle.chroms().items()) != list(zip(sizes.names, sizes.lengths)):
            self.handle.close()
            raise InputError(f"{path}: its chromosomes are not those of the genome "
                             f"({sizes.source})")

    def take(self, cid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The starts, ends (m,) int64 and scores (m,) float32 on chromosome ``cid``."""
        name, size = self.sizes.names[cid], self.sizes.lengths[cid]
        parts = [np.zeros((0, 3))]
        for lo in range(0, size, MAX_SPAN):
            try:
                entries = self.handle.intervals(name, lo, min(lo + MAX_SPAN, size))
            except RuntimeError:
                raise InputError(f"{self.path}: cannot read {name}:{lo}-{lo + MAX_SPAN}: a "
                                 "truncated or corrupt bigWig file") from None
            if entries:
                table = np.asarray(entries, np.float64).reshape(-1, 3)
                parts.append(table[table[:, 0] >= lo])  # the others came with the span before
        table = np.concatenate(parts)
        return (table[:, 0].astype(np.int64), table[:, 1].astype(np.int64),
                table[:, 2].astype(np.float32))

    def close(self) -> None:
        self.handle.close()


class _BedGraphIntervals:
    """A bedGraph's intervals, chromosome by chromosome, read chunk by chunk; its chromosomes
    must come in the genome's order."""

    def __init__(self, path: Path, sizes: ChromSizes):
        self.path, self.sizes = path, sizes
        self.chunks = iter_bed(path, chunk_rows=1 << 18)
        self.pending: tuple[np.ndarray, ...] | None = None
        self.last = 0

    def _next(self) -> tuple[np.ndarray, ...] | None:
        chunk = next(self.chunks, None)
        if chunk is None:
            return None
        names, row_name = np.unique(chunk["chrom"].to_numpy(), return_inverse=True)
        unknown = [name for name in names if name not in self.sizes]
        if unknown:
            raise InputError(f"{self.path}: chromosome {unknown[0]!r} is not in the genome "
                             f"({self.sizes.source})")
        ids = self.sizes.ids(list(names))[row_name]
        back = np.flatnonzero(np.diff(np.append(self.last, ids)) < 0)
        if len(back) or "name" not in chunk:
            row = int(back[0]) if len(back) else 0
            raise InputError(f"{self.path}: line {chunk['line'].iloc[row]}: not a bedGraph of "
                             "ffn-predict (chrom start end score, in the genome's chromosome "
                             "order)")
        score = pd.to_numeric(chunk["name"], errors="coerce").to_numpy(np.float64)
        if np.isnan(score).any():
            row = int(np.argmax(np.isnan(score)))
            raise InputError(f"{self.path}: line {chunk['line'].iloc[row]}: score "
                             f"{chunk['name'].iloc[row]!r} is not a number")
        self.last = int(ids[-1])
        return (ids, chunk["start"].to_numpy(), chunk["end"].to_numpy(),
                score.astype(np.float32))

    def take(self, cid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The starts, ends (m,) int64 and scores (m,) float32 on chromosome ``cid`` (asked for
        in the genome's order)."""
        parts = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))]
        while True:
            if self.pending is None and (pending := self._next()) is not None:
                self.pending = pending
            if self.pending is None:
                break
            ids = self.pending[0]
            stop = int(np.searchsorted(ids, cid, side="right"))
            parts.append(tuple(column[:stop] for column in self.pending[1:]))
            if stop < len(ids):
                self.pending = tuple(column[stop:] for column in self.pending)
                break
            self.pending = None
        return tuple(np.concatenate(column) for column in zip(*parts))

    def close(self) -> None:
        self.chunks.close()
