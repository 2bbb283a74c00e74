"""No command deletes or modifies one of its inputs, whatever the flags; a failed run leaves an
earlier output as it was; a second writer of the same output is refused. Each case is a command
a user could type, run on real files in tmp_path."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / "bin"


def run(script, *args, cwd=None):
    return subprocess.run([sys.executable, str(BIN / script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the md5 of its content."""
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(result, script, message):
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{script}: error: ") and message in line, line
    return line


@pytest.fixture
def demo_copy(small_demo, tmp_path):
    """A private copy of the small demo (its files may be attacked)."""
    import shutil

    return Path(shutil.copytree(small_demo, tmp_path / "demo"))


def train_args(demo):
    return ["-f", "CTCF", "--genome", demo / "genome/demo.fa", "-e", "1",
            "-L", "300", "-w", "12", "-k", "4", "-r", "2", "-d", "8"]


def test_training_into_its_own_input_folder_is_refused(demo_copy, tmp_path):
    cell = demo_copy / "factornet" / "demoA"
    before = snapshot(demo_copy)
    refused(run("ffn-train", "-i", cell, *train_args(demo_copy), "-oc", cell), "ffn-train",
            "would replace an input")
    refused(run("ffn-train", "-i", cell, *train_args(demo_copy), "-oc", ".",
                cwd=demo_copy / "factornet"), "ffn-train", "contains an input")
    refused(run("ffn-train", "-i", cell, *train_args(demo_copy), "-oc", cell / "model"),
            "ffn-train", "lies inside an input folder")
    refused(run("ffn-train", "-i", cell, *train_args(demo_copy), "-oc", demo_copy / "genome"),
            "ffn-train", "contains an input")
    assert snapshot(demo_copy) == before


def test_converting_onto_the_original_is_refused(tmp_path):
    original = tmp_path / "onePeak"
    original.mkdir()
    (original / "model.json").write_text("{}")
    (original / "best_model.hdf5").write_bytes(b"weights")
    before = snapshot(original)
    refused(run("ffn-convert", "-i", original, "-oc", original), "ffn-convert",
            "would replace an input")
    assert snapshot(original) == before


def test_bagging_over_an_input_is_refused(tmp_path):
    import gzip

    rows = "chr1\t0\t200\t0.1\nchr1\t50\t250\t0.9\n"
    for name in ("a.gz", "b.gz"):
        with gzip.open(tmp_path / name, "wt") as handle:
            handle.write(rows)
    before = snapshot(tmp_path)
    refused(run("ffn-bag", "-i", f"{tmp_path}/a.gz,{tmp_path}/b.gz", "-oc", tmp_path / "a.gz"),
            "ffn-bag", "would replace an input")
    assert snapshot(tmp_path) == before
    bagged = run("ffn-bag", "-i", f"{tmp_path}/a.gz,{tmp_path}/b.gz", "-o", tmp_path / "c.gz")
    assert bagged.returncode == 0, bagged.stderr[-2000:]
    record = json.loads((tmp_path / "c.gz.run.json").read_text())
    assert record["command"] == "ffn-bag" and record["argv"][1:3] == ["-i", f"{tmp_path}/a.gz,"
                                                                           f"{tmp_path}/b.gz"]
    assert record["settings"]["output"] == str(tmp_path / "c.gz")


def test_a_failed_replacement_leaves_the_earlier_output(demo_copy, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "run.json").write_text("{}")
    (out / "model.keras").write_bytes(b"the earlier model")
    before = snapshot(out)
    cell = demo_copy / "factornet" / "demoA"
    result = run("ffn-train", "-i", cell, *train_args(demo_copy)[2:], "-f", "NOT_A_TF",
                 "-oc", out)
    assert result.returncode == 2 and "NOT_A_TF" in result.stderr.strip().splitlines()[-1]
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "demo", "model"]  # no partial, no lock


def test_a_second_writer_of_the_same_output_is_refused(demo_copy, tmp_path):
    out = tmp_path / "F.CTCF.demoC.tab.gz"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / f".{out.name}.lock").write_text(json.dumps(
            {"pid": holder.pid, "host": os.uname().nodename, "since": "now"}))
        result = run("ffn-predict", "-i", demo_copy / "factornet/demoC", "-m", tmp_path / "none",
                     "-f", "CTCF", "-b", demo_copy / "factornet/regions/test_regions.blacklistfiltered.bed.gz",
                     "--genome", demo_copy / "genome/demo.fa", "-o", out)
        refused(result, "ffn-predict", f"another run is writing this output (pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert not out.exists()


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(tmp_path):
    """Writes past the file-size limit fail as on a full disk (EFBIG instead of ENOSPC)."""
    sizes = tmp_path / "g.sizes"
    sizes.write_text("chr1\t2000000\n")
    cell = tmp_path / "A"
    cell.mkdir()
    (cell / "chip.txt").write_text("p.bed\tCTCF\n")
    (cell / "p.bed").write_text("chr1\t100\t400\n")
    out = tmp_path / "out" / "CTCF.labels.tsv.gz"
    command = " ".join([sys.executable, str(BIN / "ffn-labels"), "-i", str(cell), "-f", "CTCF",
                        "--genome", str(sizes), "-o", str(out)])
    result = subprocess.run(["bash", "-c", f"ulimit -f 16 && {command}"], capture_output=True,
                            text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"ffn-labels: error: {out}: File too large"
    assert list((tmp_path / "out").iterdir()) == []
