"""Running the experiment scripts (experiments/<paper>/<name>.sh) in tests, and reading what a
run left in its run folder."""

import json
import subprocess
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def run_script(paper: str, name: str, *args, check_rc: int | None = None):
    """``experiments/<paper>/<name>.sh args...`` in a subprocess; with ``check_rc``, its exit code
    must be that."""
    script = ROOT / "experiments" / paper / f"{name}.sh"
    result = subprocess.run([str(script), *map(str, args)], capture_output=True, text=True,
                            timeout=1800)
    if check_rc is not None:
        assert result.returncode == check_rc, result.stderr[-3000:]
    return result


def fake_demo_dataset(path: Path) -> Path:
    """A folder the scripts take for a made demo dataset (they only look for its run.json), for
    runs that stop before reading it."""
    path.mkdir()
    (path / "run.json").write_text("{}")
    return path


def check_run(run_dir: Path, figures, commands) -> pd.DataFrame:
    """A finished run folder: its results, record and ``figures`` exist, ``commands`` (names) are
    what commands.log and run.json list; returns results.tsv."""
    for name in ["results.tsv", "results.md", "run.json", *figures]:
        assert (run_dir / name).is_file(), name
    table = pd.read_csv(run_dir / "results.tsv", sep="\t")
    log = (run_dir / "commands.log").read_text().splitlines()
    assert [line.split()[0] for line in log] == commands
    assert json.loads((run_dir / "run.json").read_text())["commands"] == log
    return table


def check_unknown_flag_refused(paper: str, name: str, tmp_path: Path) -> None:
    """An unknown flag: one line on stderr, exit 2, no run folder made."""
    (tmp_path / "data").mkdir()
    result = run_script(paper, name, "--data", tmp_path / "data", "-o", tmp_path / "run",
                        "--bogus", check_rc=2)
    assert result.stderr.strip().splitlines() == [
        f"{paper}/{name}: error: unknown argument '--bogus' (see --help)"]
    assert not (tmp_path / "run").exists()


def fake_full_inputs(data: Path, resources, cells, tfs, relaxed: bool) -> None:
    """A FactorNet full mode's layout with empty files: ``resources`` (paths under ``data``) and
    the cell-type folders (Unique35 + DGF, meta, each TF's conservative peaks, and its relaxed
    ones with ``relaxed``)."""
    for path in resources:
        (data / path).parent.mkdir(parents=True, exist_ok=True)
        (data / path).touch()
    kinds = "cr" if relaxed else "c"
    for cell in cells:
        folder = data / cell
        folder.mkdir()
        (folder / "bigwig.txt").write_text(f"map.bw\tUnique35\n{cell}.1x.bw\tDGF\n")
        (folder / "meta.txt").write_text("0.1\tGEPC1\n")
        (folder / "chip.txt").write_text("".join(
            "\t".join([f"{tf}.c.gz", tf, *([f"{tf}.r.gz"] if relaxed else [])]) + "\n"
            for tf in tfs))
        for file in ["map.bw", f"{cell}.1x.bw", *(f"{tf}.{k}.gz" for tf in tfs for k in kinds)]:
            (folder / file).touch()
