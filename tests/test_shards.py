"""Prediction in shards (ffn-predict --shard K/N) merged by ffn-merge-shards into the files one
unsharded run writes, byte for byte; the merge's one-line refusals; the shards' arithmetic."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import functools
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from fiddle_factornet.cli import factornet_predict, merge_shards
from fiddle_factornet.data.intervals import iter_bed
from fiddle_factornet.errors import InputError
from fiddle_factornet.factornet import prediction
from fiddle_factornet.factornet.folder import FactorNetModel
from fiddle_factornet.factornet.shards import Shard, count_bed_rows
from fiddle_factornet.factornet.stretch import SharedConvolution
from fiddle_factornet.runs.record import record_path

from .conftest import run_command

SLURM = Path(__file__).resolve().parents[1] / "experiments/slurm"
MODEL = "demo/factornet_CTCF"  # the shipped demo model: the demo's tracks, L = 1000
CHROMS = ("chr21", "chr8")  # 797 bins each: 1594, which 3 does not divide
#: each output of a prediction: its file's ending and predict_regions' parameter
OUTPUTS = (("tab.gz", "output"), ("bw", "bigwig"), ("bedGraph.gz", "bedgraph"))


def demo_args(small_demo) -> dict:
    return dict(model_dir=MODEL, cell_dir=small_demo / "factornet/demoC", tf="CTCF",
                genome=str(small_demo / "genome/demo.fa"),
                blacklist=str(small_demo / "genome/blacklist.bed.gz"))


def predict(folder: Path, name: str, small_demo, **where) -> dict[str, Path]:
    """Every output of one prediction (``where``: its bins and shard) as ``folder/name.<ext>``."""
    paths = {ext: folder / f"{name}.{ext}" for ext, _ in OUTPUTS}
    prediction.predict_regions(**{key: paths[ext] for ext, key in OUTPUTS},
                               **demo_args(small_demo), **where)
    return paths


def cached(method, owner):
    """A class method of ``owner`` that computes once per argument."""
    return functools.cache(method.__func__).__get__(owner)


@pytest.fixture(scope="module")
def loaded_once():
    """The model loaded, and its stretch path compiled, once for the module's predictions (each
    run would do both again: seconds)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FactorNetModel, "load", cached(FactorNetModel.load, FactorNetModel))
        patch.setattr(SharedConvolution, "of", cached(SharedConvolution.of, SharedConvolution))
        yield


def run_set(folder: Path, small_demo, count: int, **where) -> tuple[dict, list[dict]]:
    """The unsharded run's outputs and each of ``count`` shards' (1..count)."""
    folder.mkdir()
    whole = predict(folder, "whole", small_demo, **where)
    shards = [predict(folder, f"part{k}-of-{count}", small_demo, shard=Shard(k, count), **where)
              for k in range(1, count + 1)]
    return whole, shards


@pytest.fixture(scope="module")
def chrom_shards(small_demo, tmp_path_factory, loaded_once):
    """chr21 and chr8 predicted whole and in 3 shards."""
    return run_set(tmp_path_factory.mktemp("shards") / "chroms", small_demo, 3,
                   regions=None, chroms=list(CHROMS))


def merge(capsys, *args) -> tuple[int, str]:
    """ffn-merge-shards run in this process: its exit code and its last line on stderr."""
    capsys.readouterr()
    code = run_command(merge_shards, *args)
    lines = capsys.readouterr().err.strip().splitlines()
    return code, lines[-1] if lines else ""


def check_identical_tracks(merged: Path, whole: Path) -> None:
    """Same header, same intervals on every chromosome (pyBigWig), then the same bytes."""
    tracks = [pyBigWig.open(str(path)) for path in (merged, whole)]
    try:
        assert tracks[0].chroms() == tracks[1].chroms()
        assert list(tracks[0].chroms()) == ["chr1", "chr2", "chr8", "chr11", "chr21"]
        for name in tracks[1].chroms():
            assert tracks[0].intervals(name) == tracks[1].intervals(name), name
    finally:
        for track in tracks:
            track.close()
    assert merged.read_bytes() == whole.read_bytes()


def check_merges(folder: Path, whole: dict, shards: list[dict], capsys) -> None:
    """Each kind of output merged (shards given in reverse order) is the unsharded run's file."""
    for ext, _ in OUTPUTS:
        merged = folder / f"merged.{ext}"
        code, line = merge(capsys, "-i", ",".join(str(s[ext]) for s in reversed(shards)),
                           "-o", merged)
        assert code == 0, line
        if ext == "bw":
            check_identical_tracks(merged, whole[ext])
        assert merged.read_bytes() == whole[ext].read_bytes(), ext
        record = json.loads(record_path(merged).read_text())
        assert record["bins"] == json.loads(record_path(whole["tab.gz"]).read_text())["bins"]
        assert [s["shard"] for s in record["shards"]] == \
            [f"{k}/{len(shards)}" for k in range(1, len(shards) + 1)]
    assert not list(folder.glob(".*"))  # no temporary files or locks left


def test_shards_merge_into_the_unsharded_files(chrom_shards, runner_state, capsys):
    whole, shards = chrom_shards
    rows = gzip.open(whole["tab.gz"], "rb").read().splitlines(keepends=True)
    assert len(rows) == 1594
    parts = [gzip.open(s["tab.gz"], "rb").read().splitlines(keepends=True) for s in shards]
    assert [len(p) for p in parts] == [531, 531, 532]  # rows [0, 531), [531, 1062), [1062, 1594)
    assert sum(parts, []) == rows
    for k, paths in enumerate(shards, 1):
        for ext, _ in OUTPUTS:  # a record beside every output of a shard, naming the shard
            record = json.loads(record_path(paths[ext]).read_text())
            assert record["shard"] == {"index": k, "count": 3, "first_bin": [0, 531, 1062][k - 1],
                                       "last_bin": [530, 1061, 1593][k - 1], "total_bins": 1594}
            assert record["settings"]["shard"] == f"{k}/3" and record["bins"]["total"] == \
                len(parts[k - 1])
    # shard 2's chr21 ends and its chr8 begins: both tracks hold a part of each chromosome
    record = json.loads(record_path(shards[1]["bw"]).read_text())
    assert set(record["tracks"]["centres"]) == {"chr21", "chr8"}
    check_merges(whole["tab.gz"].parent, whole, shards, capsys)


def test_the_shard_flag_runs_a_shard(chrom_shards, small_demo, tmp_path, runner_state, capsys):
    _, shards = chrom_shards
    out = tmp_path / "cli.tab.gz"
    code = run_command(factornet_predict, "-i", small_demo / "factornet/demoC", "-m", MODEL,
                       "-f", "CTCF", "--chroms", ",".join(CHROMS), "--genome",
                       small_demo / "genome/demo.fa", "--blacklist",
                       small_demo / "genome/blacklist.bed.gz", "--shard", "2/3", "-o", out)
    assert code == 0, capsys.readouterr().err[-2000:]
    assert out.read_bytes() == shards[1]["tab.gz"].read_bytes()
    assert json.loads(record_path(out).read_text())["shard"]["index"] == 2


def write_bed(path: Path, rows) -> Path:
    path.write_text("track name=bins\n" + "".join(f"{c}\t{s}\t{s + 200}\n" for c, s in rows))
    return path


def test_more_shards_than_bins_and_every_path(small_demo, tmp_path, loaded_once, runner_state,
                                              capsys):
    """11 rows in 13 shards (two empty; chr21's 5 rows in 5 shards): a run of 5 bins (the stretch
    path), isolated bins (per window), overlapping bins off the 50 bp lattice, a row twice and a
    blacklisted bin (chr8:20000-20200, within L of chr8:17087-19087)."""
    bed = write_bed(tmp_path / "bins.bed", [
        ("chr21", 2000), ("chr21", 2050), ("chr21", 2100), ("chr21", 2150), ("chr21", 2200),
        ("chr8", 5000), ("chr8", 5030), ("chr8", 5030), ("chr8", 9000),
        ("chr8", 20000), ("chr8", 35000)])
    assert count_bed_rows(bed) == 11
    whole, shards = run_set(tmp_path / "bed", small_demo, 13, regions=bed)
    record = json.loads(record_path(whole["tab.gz"]).read_text())
    assert [record["bins"][key] for key in ("stretch", "per_window", "blacklisted")] == [5, 5, 1]
    assert [json.loads(record_path(s["tab.gz"]).read_text())["bins"]["total"]
            for s in shards] == [0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
    check_merges(tmp_path / "bed", whole, shards, capsys)


@pytest.mark.slow
def test_shards_cut_through_chunks_runs_and_overlaps(small_demo, tmp_path, monkeypatch,
                                                     loaded_once, runner_state, capsys):
    """A BED of short runs at steps 50, 30 and 120, isolated bins and repeated rows, read in
    chunks of 97 rows, in 5 shards: the whole run's scores and tracks."""
    rng = np.random.default_rng(1)
    rows = []
    for chrom in CHROMS:
        at = 0
        while at < 38_000:
            step, n = int(rng.choice([50, 30, 120])), int(rng.integers(1, 8))
            rows += [(chrom, at + i * step) for i in range(n)]
            rows += rows[-1:] * int(rng.random() < 0.1)
            at += (n - 1) * step + int(rng.integers(0, 600))
    bed = write_bed(tmp_path / "bins.bed", rows)
    monkeypatch.setattr(prediction, "CHUNK_ROWS", 97)
    whole, shards = run_set(tmp_path / "bed", small_demo, 5, regions=bed)
    bins = json.loads(record_path(whole["tab.gz"]).read_text())["bins"]
    assert bins["stretch"] > 100 and bins["per_window"] > 100
    check_merges(tmp_path / "bed", whole, shards, capsys)


def copy_shard(source: Path, target: Path, edit=None) -> Path:
    """A copy of a shard's output and record, the record changed by ``edit(record)``."""
    shutil.copyfile(source, target)
    record = json.loads(record_path(source).read_text())
    if edit is not None:
        edit(record)
    record_path(target).write_text(json.dumps(record))
    return target


def test_merge_refuses_what_is_not_one_whole_prediction(chrom_shards, tmp_path, runner_state,
                                                         capsys):
    whole, shards = chrom_shards
    one, two, three = (s["tab.gz"] for s in shards)
    out = tmp_path / "merged.tab.gz"
    other_tf = copy_shard(two, tmp_path / "tf.tab.gz",
                          lambda r: r["settings"].update(tf="MAX"))
    other_n = copy_shard(two, tmp_path / "n.tab.gz", lambda r: r["shard"].update(count=4))
    again = copy_shard(two, tmp_path / "again.tab.gz")
    truncated = copy_shard(three, tmp_path / "short.tab.gz")
    with gzip.open(truncated, "wb") as handle:  # a row short of its record
        handle.write(b"".join(gzip.open(three, "rb").read().splitlines(keepends=True)[:-1]))
    unsorted = copy_shard(shards[1]["bw"], tmp_path / "unsorted.bw", lambda r: r["tracks"][
        "centres"].update(chr21=[100, 200]))
    cases = [
        ((one, three), f"missing shard 2/3: none of the 2 files given is it ({one}, {three})"),
        ((one, two, again, three), f"{again}: shard 2/3 again (also {two})"),
        ((one, other_n, three), f"{other_n}: shard 2/4, but {one} is shard 1/3: the shards "
                                "of one prediction share N"),
        ((one, other_tf, three), f"{other_tf}: shard 2/3 was made with tf 'MAX', but {one} with "
                                 "'CTCF': not shards of one prediction"),
        ((one, two, truncated), f"{truncated}: 531 rows, but its run record says 532 (a "
                                "truncated or altered file)"),
        ((one, shards[1]["bw"], three), f"{shards[1]['bw']}: shard 2/3 is a bigWig, but {one} "
                                        "is a submission: merge one kind of output at a time"),
        ((whole["tab.gz"], two), f"{whole['tab.gz']}: its run record (whole.tab.gz.run.json) "
                                 "names no shard: not an output of ffn-predict --shard"),
        ((shards[0]["bw"], unsorted, shards[2]["bw"]), f"{unsorted}: shard 2/3 has bins on chr21 "
                                                       "(centres 100 to 200) before those of "
                                                       f"shard 1/3 ({shards[0]['bw']}, up to "),
        ((str(one).replace("1-of-3", "[4-9]-of-3"),), "no file matches this pattern"),
    ]
    for files, expected in cases:
        code, line = merge(capsys, "-i", ",".join(map(str, files)), "-o", out)
        assert code == 2 and line.startswith("ffn-merge-shards: error: ") and expected in line, \
            line
        assert not out.exists()
    out.write_bytes(b"")
    assert "output exists" in merge(capsys, "-i", f"{one},{two},{three}", "-o", out)[1]


@pytest.mark.parametrize("value", ["0/3", "4/3", "x", "3", "1/0", "-1/3", "2/3/4", ""])
def test_bad_shard_values_are_one_line_errors(value, small_demo, tmp_path, runner_state, capsys):
    code = run_command(factornet_predict, "-i", small_demo / "factornet/demoC", "-m", MODEL,
                       "-f", "CTCF", "--chroms", "chr21", "--genome", small_demo / "genome/demo.fa",
                       "--shard", value, "-o", tmp_path / "p.tab.gz")
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert lines[0] == f"ffn-predict: error: bad value {value!r} for --shard: must be K/N with " \
                       "1 <= K <= N: shard K of N, counted from 1 (e.g. $SLURM_ARRAY_TASK_ID/8)"
    assert not list(tmp_path.iterdir())


def test_shards_split_the_bins_into_contiguous_nearly_equal_runs():
    for total in (0, 1, 7, 1594, 60_000_001):
        for count in (1, 2, 3, 8, 13, 100):
            runs = [Shard(k, count).rows(total) for k in range(1, count + 1)]
            assert runs[0].start == 0 and runs[-1].stop == total
            assert all(a.stop == b.start for a, b in zip(runs, runs[1:]))
            assert max(map(len, runs)) - min(map(len, runs)) <= 1
    for index, count in ((0, 3), (4, 3), (1, 0)):
        with pytest.raises(InputError, match=f"shard {index}/{count}: needs 1 <= K <= N"):
            Shard(index, count)


def test_bed_rows_are_counted_as_they_are_read(tmp_path):
    text = "browser x\n#h\n\nchr1\t0\t200\nchr1\t50\t250\r\n\nchr2\t0\t200\nchr2\t9\t209"
    plain = tmp_path / "b.bed"
    plain.write_text(text)
    packed = tmp_path / "b.bed.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        assert count_bed_rows(path) == sum(len(chunk) for chunk in iter_bed(path)) == 4
    empty = tmp_path / "e.bed"
    empty.write_text("track x\n")
    assert count_bed_rows(empty) == 0


def slurm_settings(small_demo, out: Path, shards: int) -> dict:
    """The environment of the SLURM scripts for the demo's chr21, the package's commands on PATH
    (none of a SLURM job's own variables)."""
    outside = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    return dict(outside, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                SHARDS=str(shards), CELL=str(small_demo / "factornet/demoC"), MODEL=MODEL, TF="CTCF",
                GENOME=str(small_demo / "genome/demo.fa"),
                BLACKLIST=str(small_demo / "genome/blacklist.bed.gz"), BINS="--chroms chr21",
                OUT=str(out))


def run_script(name: str, env: dict, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SLURM / name)], env=dict(env, **extra), text=True,
                          capture_output=True)


def test_slurm_scripts_refuse_missing_settings(small_demo, tmp_path):
    for name in ("predict_shards.sbatch", "merge_shards.sbatch", "submit_predict_shards.sh"):
        assert subprocess.run(["bash", "-n", str(SLURM / name)]).returncode == 0, name
    env = slurm_settings(small_demo, tmp_path / "p", 2)
    for extra, error in (({}, "SLURM_ARRAY_TASK_ID: run as a SLURM array job"),
                         ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MAX": "3"},
                          "predict_shards: error: the array runs up to task 3, but SHARDS=2"),
                         ({"SLURM_ARRAY_TASK_ID": "1", "TF": ""},
                          "predict_shards: error: set TF (see the script's header)")):
        result = run_script("predict_shards.sbatch", env, **extra)
        assert result.returncode != 0 and error in result.stderr, result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_slurm_array_tasks_in_processes_merge_into_one_runs_files(small_demo, tmp_path):
    """The array's tasks run as SLURM runs them (one process each), then the merge job: the files
    of one unsharded ffn-predict process."""
    env = slurm_settings(small_demo, tmp_path / "CTCF.demoC", 2)
    for k in (1, 2):
        result = run_script("predict_shards.sbatch", env, SLURM_ARRAY_TASK_ID=str(k))
        assert result.returncode == 0, result.stderr[-2000:]
    result = run_script("merge_shards.sbatch", env)
    assert result.returncode == 0, result.stderr[-2000:]
    whole = subprocess.run([str(Path(sys.executable).parent / "ffn-predict"), "-i", env["CELL"],
                            "-m", MODEL, "-f", "CTCF", "--chroms", "chr21", "--genome",
                            env["GENOME"], "--blacklist", env["BLACKLIST"], "-o",
                            tmp_path / "whole.tab.gz", "--bigwig", tmp_path / "whole.bw"],
                           capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert (tmp_path / "CTCF.demoC.tab.gz").read_bytes() == \
        (tmp_path / "whole.tab.gz").read_bytes()
    check_identical_tracks(tmp_path / "CTCF.demoC.bw", tmp_path / "whole.bw")
