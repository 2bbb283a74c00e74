"""The ffn-labels script, run as a user runs it."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

from fiddle_factornet.data.writers import narrowpeak_row, write_bed

SCRIPT = Path(__file__).resolve().parents[1] / "bin" / "ffn-labels"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True)


def folder(root, name, chip_rows):
    path = root / name
    path.mkdir()
    lines = []
    for tf, conservative, relaxed in chip_rows:
        write_bed(path / f"{tf}.c.gz", [narrowpeak_row(*p) for p in conservative])
        write_bed(path / f"{tf}.r.gz", [narrowpeak_row(*p) for p in relaxed])
        lines.append(f"{tf}.c.gz\t{tf}\t{tf}.r.gz\n")
    (path / "chip.txt").write_text("".join(lines))
    return path


def test_labels_for_one_tf_in_two_cell_types(tmp_path):
    sizes = tmp_path / "g.sizes"
    sizes.write_text("chr1\t300\nchr2\t250\nchrY\t1000\n")
    a = folder(tmp_path, "A", [("CTCF", [("chr1", 0, 150)], [("chr1", 0, 150), ("chr2", 240, 250)])])
    b = folder(tmp_path, "B", [("CTCF", [("chr2", 0, 250)], [("chr2", 0, 250)])])
    out = tmp_path / "CTCF.labels.tsv.gz"
    result = run("-i", f"{a},{b}", "-f", "CTCF", "--genome", sizes, "-o", out)
    assert result.returncode == 0, result.stderr
    assert gzip.open(out, "rt").read() == (
        "chr\tstart\tstop\tA\tB\n"
        "chr1\t0\t200\tB\tU\n" "chr1\t50\t250\tA\tU\n" "chr1\t100\t300\tA\tU\n"
        "chr2\t0\t200\tU\tB\n" "chr2\t50\t250\tA\tB\n")  # chrY is not in the autosomes+X set
    record = json.loads((tmp_path / "CTCF.labels.tsv.gz.run.json").read_text())
    assert record["command"] == "ffn-labels" and record["settings"]["factor"] == "CTCF"
    assert record["settings"]["input_dirs"] == [str(a), str(b)] and record["outputs"] == [str(out)]

    again = run("-i", a, "-f", "CTCF", "--genome", sizes, "-o", out)
    assert again.returncode == 2 and again.stderr.strip().endswith(
        "output exists (it is replaced only when asked to) (see -oc)")
    assert run("-i", a, "-f", "CTCF", "--genome", sizes, "--chroms", "chr2", "-oc", out).returncode == 0
    assert gzip.open(out, "rt").read().splitlines()[1:] == ["chr2\t0\t200\tU", "chr2\t50\t250\tA"]


def test_every_tf_of_one_folder(tmp_path):
    sizes = tmp_path / "g.sizes"
    sizes.write_text("chr1\t300\n")
    a = folder(tmp_path, "A", [("CTCF", [("chr1", 0, 150)], []),
                               ("MAX", [("chr1", 295, 300)], [("chr1", 290, 300)])])
    result = run("-i", a, "--genome", sizes, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["CTCF.labels.tsv.gz", "MAX.labels.tsv.gz", "run.json"]
    assert gzip.open(tmp_path / "out" / "MAX.labels.tsv.gz", "rt").read().split("\n")[3] == \
        "chr1\t100\t300\tA"


def test_bad_input_is_one_line_without_traceback(tmp_path):
    sizes = tmp_path / "g.sizes"
    sizes.write_text("1\t300\n")
    a = folder(tmp_path, "A", [("CTCF", [("chr1", 0, 150)], [])])
    result = run("-i", a, "-f", "CTCF", "--genome", sizes, "--noautosomes_x", "-o", tmp_path / "x.gz")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"ffn-labels: error: {a}/CTCF.c.gz: chromosome 'chr1' is not in the genome ({sizes}); "
        "the genome calls it '1': remove the 'chr' prefix from the file's names")
    assert not (tmp_path / "x.gz").exists()
    missing = run("-i", a, "-f", "MAX", "--genome", sizes, "-o", tmp_path / "y.gz")
    assert missing.returncode == 2 and "chip.txt: no TF 'MAX' (listed: CTCF)" in missing.stderr
