"""Prediction tracks: bigWig and bedGraph of the bin scores (each 50 bp step carries the bin
centred on it), whole chromosomes predicted without a BED, the bagged track, and their one-line
errors."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gzip
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.writers import write_bed
from fiddle_factornet.errors import InputError
from fiddle_factornet.factornet.bins import BinGrid, read_blacklist
from fiddle_factornet.factornet.evaluation import bag_submissions, read_submission
from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
from fiddle_factornet.factornet.prediction import predict_regions
from fiddle_factornet.factornet.prediction_tracks import TrackRows, score_tracks

BIN = Path(__file__).resolve().parents[1] / "bin"
CONFIG = FactorNetConfig(input_length=300, kernels=6, kernel_width=12, recurrent=4, dense=8)


def model_folder(path: Path, seed: int = 0) -> Path:
    """An untrained small model folder (CTCF; Unique35 and DGF tracks), weights spread so that
    scores differ from bin to bin."""
    model = build_factornet(CONFIG)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1.5 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.2,
                                  w.shape).astype(np.float32) for w in model.get_weights()])
    path.mkdir()
    model.save(path / "model.keras")
    (path / "run.json").write_text(json.dumps({"family": "factornet",
                                               "architecture": asdict(CONFIG)}))
    for name, text in (("chip.txt", "CTCF\n"), ("bigwig.txt", "Unique35\nDGF\n"),
                       ("feature.txt", "bigwig\n")):
        (path / name).write_text(text)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return [model_folder(folder / f"m{seed}", seed) for seed in (0, 1)]


def demo_args(small_demo):
    return dict(cell_dir=small_demo / "factornet/demoC", tf="CTCF",
                genome=str(small_demo / "genome/demo.fa"),
                blacklist=str(small_demo / "genome/blacklist.bed.gz"))


def genome_sizes(small_demo):
    return ChromSizes.read(small_demo / "genome/demo.chrom.sizes")


def check_bigwig(path, sizes, table, rtol=0.0):
    """The bigWig's header is the genome's; its intervals per chromosome are sorted and do not
    overlap; each bin of ``table`` (a submission) shows its score on [centre - 25, centre + 25)
    (as float32, the bigWig's type: exactly, or within ``rtol``)."""
    track = pyBigWig.open(str(path))
    try:
        assert list(track.chroms().items()) == list(zip(sizes.names, sizes.lengths))
        assert track.header()["nLevels"] > 0  # zoom levels, which IGV needs
        for name, rows in table.groupby("chrom", observed=True):
            found = np.array(track.intervals(name))
            start, end, value = found[:, 0], found[:, 1], found[:, 2]
            assert (end > start).all() and (start[1:] >= end[:-1]).all()
            lo = ((rows["start"] + rows["end"]) // 2 - 25).to_numpy()
            at = np.searchsorted(start, lo, side="right") - 1
            assert (start[at] <= lo).all() and (end[at] >= lo + 50).all()
            np.testing.assert_allclose(value[at], rows["score"].to_numpy().astype(np.float32),
                                       rtol=rtol, atol=0)
    finally:
        track.close()
    return found


def test_bigwig_and_bedgraph_carry_the_submissions_scores(models, small_demo, tmp_path):
    regions = small_demo / "factornet/regions/test_regions.blacklistfiltered.bed.gz"
    out = {name: tmp_path / f"p.{name}" for name in ("tab.gz", "bw", "bedGraph.gz")}
    rows = predict_regions(models[0], regions=regions, output=out["tab.gz"], bigwig=out["bw"],
                           bedgraph=out["bedGraph.gz"], **demo_args(small_demo))
    table = read_submission(out["tab.gz"])
    assert rows == len(table) and table["score"].std() > 0.01
    sizes = genome_sizes(small_demo)
    check_bigwig(out["bw"], sizes, table)
    graph = pd.read_csv(out["bedGraph.gz"], sep="\t", header=None,
                        names=["chrom", "start", "end", "score"])
    track = pyBigWig.open(str(out["bw"]))
    same = pd.DataFrame([(name, *entry) for name in sizes.names
                         for entry in track.intervals(name) or ()], columns=graph.columns)
    track.close()
    pd.testing.assert_frame_equal(graph.astype({"score": np.float32}),
                                  same.astype({"score": np.float32}))
    record = json.loads((tmp_path / "p.tab.gz.run.json").read_text())
    assert record["settings"]["bigwig"] == str(out["bw"]) and record["settings"]["stretch"]
    assert record["bins"]["stretch"] > 0.8 * rows and record["bins"]["total"] == rows
    assert not list(tmp_path.glob(".*"))  # no temporary files or spilled rows left


def test_whole_chromosomes_without_a_bed_equal_the_same_bins_from_a_bed(models, small_demo,
                                                                        tmp_path):
    sizes = genome_sizes(small_demo)
    grid = BinGrid(sizes)
    bins = [(name, start, start + 200) for name in ("chr21", "chr8")
            for start in range(0, int(grid.counts[sizes.ids([name])[0]]) * 50, 50)]
    bed = write_bed(tmp_path / "bins.bed", bins)
    args = demo_args(small_demo)
    rows = predict_regions(models[0], regions=None, chroms=["chr21", "chr8"],
                           output=tmp_path / "chroms.gz", bigwig=tmp_path / "chroms.bw", **args)
    predict_regions(models[0], regions=bed, output=tmp_path / "bed.gz", **args)
    predict_regions(models[0], regions=bed, output=tmp_path / "alone.gz", stretch=False, **args)
    assert rows == len(bins)
    chroms = read_submission(tmp_path / "chroms.gz")
    # the same rows; the scores equal but for float rounding (batches are cut elsewhere: the
    # grid comes one chromosome at a time)
    for other, tolerance in (("bed.gz", 1e-6), ("alone.gz", 1e-5)):
        table = read_submission(tmp_path / other)
        pd.testing.assert_frame_equal(chroms.drop(columns="score"), table.drop(columns="score"))
        np.testing.assert_allclose(chroms["score"], table["score"], rtol=0, atol=tolerance)
    blacklisted = read_blacklist(args["blacklist"], sizes, CONFIG.input_length)
    bad = np.concatenate([blacklisted.overlaps(name, part["start"].to_numpy(),
                                               part["end"].to_numpy())
                          for name, part in chroms.groupby("chrom", sort=False, observed=True)])
    assert bad.any() and (chroms["score"][bad] == 0).all() and (chroms["score"][~bad] > 0).all()
    check_bigwig(tmp_path / "chroms.bw", sizes, chroms)
    record = json.loads((tmp_path / "chroms.gz.run.json").read_text())
    assert record["settings"]["chroms"] == ["chr21", "chr8"]
    assert record["settings"]["regions"] is None


def test_chromosomes_and_outputs_are_checked(models, small_demo, tmp_path):
    args = demo_args(small_demo)
    with pytest.raises(InputError) as error:
        predict_regions(models[0], regions=None, chroms="chr1,chrZ", output=tmp_path / "p.gz",
                        **args)
    assert str(error.value) == (f"chromosome 'chrZ' is not in the genome ({args['genome']})")
    with pytest.raises(InputError, match="the genome calls it 'chr8'"):
        predict_regions(models[0], regions=None, chroms=["8"], output=tmp_path / "p.gz", **args)
    with pytest.raises(InputError, match="nothing to write"):
        predict_regions(models[0], regions=None, chroms="all", output=None, **args)
    with pytest.raises(InputError, match="not both"):
        predict_regions(models[0], regions="r.bed", chroms="all", output=tmp_path / "p.gz", **args)
    assert list(tmp_path.iterdir()) == []


def test_overlapping_and_scattered_bins_follow_the_documented_rule(tmp_path):
    sizes = ChromSizes(("a", "b"), (1000, 300))
    with score_tracks(sizes, tmp_path / "t.bw", tmp_path / "t.bedGraph", 9) as rows:
        assert isinstance(rows, TrackRows)
        # b first (rows come in any order); a: a 200/50 run, a bin off the lattice (25), a bin
        # listed twice (its later row wins), a scattered bin, equal neighbours merged
        rows.add(np.array([1]), np.array([100]), np.array([300]), np.array([0.9]))
        rows.add(np.zeros(7, int), np.array([0, 50, 75, 100, 100, 600, 650]),
                 np.array([200, 250, 275, 300, 300, 800, 850]),
                 np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.6]))
    expected = [("a", 75, 125, 0.1), ("a", 125, 150, 0.2), ("a", 150, 175, 0.3),
                ("a", 175, 225, 0.5), ("a", 675, 775, 0.6), ("b", 175, 225, 0.9)]
    text = (tmp_path / "t.bedGraph").read_text().splitlines()
    assert [(c, int(s), int(e), np.float32(v)) for c, s, e, v in map(str.split, text)] == \
        [(c, s, e, np.float32(v)) for c, s, e, v in expected]
    track = pyBigWig.open(str(tmp_path / "t.bw"))
    found = [(name, *entry) for name in ("a", "b") for entry in track.intervals(name)]
    track.close()
    assert found == [(c, s, e, pytest.approx(v)) for c, s, e, v in expected]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.bedGraph", "t.bw"]


def test_the_bagged_track(models, small_demo, tmp_path):
    regions = small_demo / "factornet/regions/test_regions.blacklistfiltered.bed.gz"
    parts = []
    for i, model in enumerate(models):
        parts.append(tmp_path / f"p{i}.gz")
        predict_regions(model, regions=regions, output=parts[-1], **demo_args(small_demo))
    genome = small_demo / "genome/demo.chrom.sizes"
    bag_submissions(parts, tmp_path / "bag.gz", bigwig=tmp_path / "bag.bw", genome=genome)
    bagged = read_submission(tmp_path / "bag.gz")
    # bagged ranks are float64: the submission's 9 digits and the bigWig's float32 may differ
    # by one float32 step
    found = check_bigwig(tmp_path / "bag.bw", genome_sizes(small_demo), bagged, rtol=2.4e-7)
    assert len(np.unique(found[:, 2])) > 100
    with pytest.raises(InputError, match="a track needs the genome's chromosome sizes"):
        bag_submissions(parts, None, bedgraph=tmp_path / "b.bedGraph")
    with pytest.raises(InputError, match="output exists"):
        bag_submissions(parts, None, bigwig=tmp_path / "bag.bw", genome=genome)
    bag_submissions(parts, None, bedgraph=tmp_path / "bag.bedGraph", genome=genome)
    assert not (tmp_path / "bag.bedGraph.gz").exists() and \
        (tmp_path / "bag.bedGraph").read_text().count("\n") > 100


def run(script, *args):
    return subprocess.run([sys.executable, str(BIN / script), *map(str, args)],
                          capture_output=True, text=True)


def last_line(result, script):
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{script}: error: ")
    return line


@pytest.mark.slow
def test_the_commands_write_tracks_and_refuse_existing_ones(models, small_demo, tmp_path):
    flags = ["-i", small_demo / "factornet/demoC", "-m", models[0], "-f", "CTCF", "--genome",
             small_demo / "genome/demo.fa", "--blacklist", "none"]
    track = tmp_path / "t.bw"
    made = run("ffn-predict", *flags, "--chroms", "chr21", "--bigwig", track, "--nostretch")
    assert made.returncode == 0, made.stderr[-3000:]
    record = json.loads((tmp_path / "t.bw.run.json").read_text())
    assert record["bins"]["stretch"] == 0 and record["settings"]["output"] is None
    again = run("ffn-predict", *flags, "--chroms", "chr21", "--bigwig", track)
    assert last_line(again, "ffn-predict").endswith(
        "t.bw: output exists (it is replaced only when asked to) (see -oc)")
    unknown = run("ffn-predict", *flags, "--chroms", "chr21,chrZ", "-o", tmp_path / "p.gz")
    assert last_line(unknown, "ffn-predict") == (
        f"ffn-predict: error: chromosome 'chrZ' is not in the genome "
        f"({small_demo / 'genome/demo.fa'}) (see --chroms)")
    nothing = run("ffn-predict", *flags, "--chroms", "chr21")
    assert "or a track: --bigwig PATH, --bedgraph PATH" in last_line(nothing, "ffn-predict")
    replaced = run("ffn-predict", *flags, "--chroms", "chr21", "--bigwig", track, "-oc",
                   tmp_path / "p.gz", "--bedgraph", tmp_path / "t.bedGraph.gz")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    scores = read_submission(tmp_path / "p.gz")
    check_bigwig(track, genome_sizes(small_demo), scores)
    graph = gzip.open(tmp_path / "t.bedGraph.gz", "rt").read().splitlines()
    assert graph[0].split("\t") == ["chr21", "75", "375", "0.00000000e+00"]  # the ends: merged
    bag = run("ffn-bag", "-i", f"{tmp_path / 'p.gz'},{tmp_path / 'p.gz'}", "--bigwig", track)
    assert "--bigwig and --bedgraph need --genome" in last_line(bag, "ffn-bag")
    bag = run("ffn-bag", "-i", f"{tmp_path / 'p.gz'},{tmp_path / 'p.gz'}", "--bigwig", track,
              "--genome", small_demo / "genome/demo.chrom.sizes")
    assert last_line(bag, "ffn-bag").endswith("(it is replaced only when asked to) (see -oc)")
