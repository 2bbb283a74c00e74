"""FIDDLE inference (ffn-fiddle-predict) on a small model trained for one epoch on the small demo:
the predicted tracks read back at each window equal the model's prediction for that window,
profiles.h5 equals model.predict, overlapping windows are averaged, genes give training's windows,
no target is needed, and bad input is one line."""

import json

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest

from fiddle_factornet.cli import fiddle_predict
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.fiddle.evaluation import ModelOnWindows, kl_per_region, profile_bins
from fiddle_factornet.fiddle.prediction import gene_names, tile_regions
from fiddle_factornet.fiddle.regions import RegionConfig, gene_windows, read_genes
from fiddle_factornet.runs.models import open_model_folder

from .conftest import FIDDLE_TRACKS as TRACKS, run_command

L = 500


def predict(*args) -> int:
    return run_command(fiddle_predict, *args)


def gene_bed(small_demo, tmp_path):
    """BED6 of one window of L bp around each of the first 6 genes' starts, both strands,
    apart from each other."""
    genes = pd.read_csv(small_demo / "fiddle/genes.bed", sep="\t", header=None,
                        names=["chrom", "start", "end", "name", "score", "strand"])
    genes = genes[genes["chrom"] == "chr1"].head(6)
    assert set(genes["strand"]) == {"+", "-"}
    tss = np.where(genes["strand"] == "+", genes["start"], genes["end"] - 1)
    starts = tss - L // 2
    assert (np.diff(starts) >= L).all()  # no two windows overlap
    path = tmp_path / "windows.bed"
    path.write_text("".join(f"chr1\t{s}\t{s + L}\t{n}\t0\t{d}\n"
                            for s, n, d in zip(starts, genes["name"], genes["strand"])))
    return path


def expected(fiddle_model_dir, regions):
    """A BED of exact windows opened as ffn-fiddle-evaluate opens it, the windows' target
    profiles and the model's prediction."""
    opened = ModelOnWindows.open(fiddle_model_dir, str(regions))
    inputs, target = opened.view.read(opened.samples)
    return opened, target, opened.model.predict(inputs, verbose=0)


def manifest_without_target(small_demo, tmp_path, missing_file):
    """The demo's manifest (files by absolute path) without the target's row, or with its files
    missing."""
    lines = (small_demo / "fiddle/tracks.tsv").read_text().splitlines()
    rows = [lines[0]]
    for line in lines[1:]:
        name, role, kind, files = line.split("\t")
        paths = ",".join(str(small_demo / "fiddle" / f) for f in files.split(","))
        if role == "target":
            if not missing_file:
                continue
            paths = ",".join(str(tmp_path / f"gone_{i}.bw") for i in range(2))
        rows.append("\t".join([name, role, kind, paths]))
    path = tmp_path / "inputs.tsv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_tracks_read_back_equal_each_windows_prediction(fiddle_model_dir, small_demo, tmp_path,
                                                         runner_state, capsys):
    bed = gene_bed(small_demo, tmp_path)
    out = tmp_path / "predicted"
    assert predict("-m", fiddle_model_dir, "--regions", bed, "-o", out) == 0, \
        capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.json", "predicted.minus.bw", "predicted.plus.bw", "profiles.h5", "run.json"]
    opened, target, prediction = expected(fiddle_model_dir, bed)
    samples = opened.samples
    rows = [line.split("\t") for line in bed.read_text().splitlines()]
    with h5py.File(out / "profiles.h5") as h5:
        assert [[c.decode(), str(s), str(e), n.decode(), d.decode()] for c, s, e, n, d in
                zip(h5["chrom"], h5["start"], h5["end"], h5["name"], h5["strand"])] == \
            [[r[0], r[1], r[2], r[3], r[5]] for r in rows]
        profiles = h5["profile"][:]
    np.testing.assert_allclose(profiles, prediction, rtol=1e-5, atol=1e-9)
    tracks = {sign: pyBigWig.open(str(out / f"predicted.{name}.bw"))
              for sign, name in ((1, "plus"), (-1, "minus"))}
    genome = opened.view.genome.sizes
    for sign, track in tracks.items():
        assert track.chroms() == dict(zip(genome.names, genome.lengths))
        for i in range(len(samples)):
            values = np.array(track.values("chr1", int(samples.start[i]), int(samples.end[i])),
                              np.float32)
            if samples.strand[i] != sign:
                assert np.isnan(values).all()
            else:  # a minus-strand window's profile runs from its end to its start
                step = 1 if sign > 0 else -1
                np.testing.assert_array_equal(values, profiles[i, ::step])
                np.testing.assert_allclose(values, prediction[i, ::step], rtol=1e-5, atol=1e-9)
    # the target is in the model's manifest: KL and bin accuracy, printed and written
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["windows"] == len(samples) and metrics["target"] == "tssseq"
    np.testing.assert_allclose(metrics["prediction"]["mean_kl"],
                               kl_per_region(target, prediction).mean(), rtol=1e-5)
    assert metrics["prediction"]["bin_accuracy"] == \
        np.mean(profile_bins(prediction) == profile_bins(target))
    table = capsys.readouterr().out
    assert f"{len(samples)} windows" in table and "bin accuracy" in table and "prediction" in table
    record = json.loads((out / "run.json").read_text())
    assert record["what"] == "fiddle prediction" and record["windows"] == len(samples)


def test_tiled_regions_average_overlapping_windows(fiddle_model_dir, tmp_path, runner_state,
                                                   capsys):
    width = L + 2 * 20 + 7  # windows at 0, 20, 40 and 47 bp from the 5' end
    bed = tmp_path / "regions.bed"
    bed.write_text(f"chr2\t3000\t{3000 + width}\tup\t0\t+\n"
                   f"chr2\t9000\t{9000 + width}\tdown\t0\t-\n")
    out = tmp_path / "tiled"
    assert predict("-m", fiddle_model_dir, "--regions", bed, "--window_step", 20, "-o", out) == 0, \
        capsys.readouterr().err
    with h5py.File(out / "profiles.h5") as h5:
        starts, profiles = h5["start"][:], h5["profile"][:]
        assert [n.decode() for n in h5["name"]] == ["up"] * 4 + ["down"] * 4
    np.testing.assert_array_equal(starts, [3000, 3020, 3040, 3047,
                                           9047, 9027, 9007, 9000])
    for sign, name, first, rows in ((1, "plus", 3000, slice(0, 4)),
                                    (-1, "minus", 9000, slice(4, 8))):
        total, count = np.zeros(width), np.zeros(width)
        for start, profile in zip(starts[rows], profiles[rows]):
            at = start - first + np.arange(L)
            total[at] += profile if sign > 0 else profile[::-1]
            count[at] += 1
        with pyBigWig.open(str(out / f"predicted.{name}.bw")) as track:
            values = np.array(track.values("chr2", first, first + width))
        np.testing.assert_allclose(values, total / count, rtol=1e-6)


@pytest.mark.parametrize("missing_file", [False, True], ids=["no target row", "target file gone"])
def test_genes_without_the_target(fiddle_model_dir, small_demo, tmp_path, runner_state, capsys,
                                  missing_file):
    genes = tmp_path / "genes.bed"
    genes.write_text("".join((small_demo / "fiddle/genes.bed").read_text().splitlines(True)[:8]))
    out = tmp_path / "genes"
    assert predict("-m", fiddle_model_dir, "--genes", genes, "--representations", "--manifest",
                   manifest_without_target(small_demo, tmp_path, missing_file), "-o", out) == 0, \
        capsys.readouterr().err
    assert capsys.readouterr().out == ""  # no target: no metrics
    assert sorted(p.name for p in out.iterdir()) == [
        "predicted.minus.bw", "predicted.plus.bw", "profiles.h5", "representations.h5", "run.json"]
    folder = open_model_folder(fiddle_model_dir)
    config = RegionConfig(**folder.record["settings"]["regions"])
    opened = ModelOnWindows.open(fiddle_model_dir)
    sizes = opened.view.genome.sizes
    table = read_genes(genes, sizes)
    windows = gene_windows(table, sizes, config)  # as training made them
    assert len(windows) > 25
    with h5py.File(out / "profiles.h5") as h5, h5py.File(out / "representations.h5") as reps:
        np.testing.assert_array_equal(h5["start"][:], windows.start)
        assert [s.decode() for s in h5["strand"]] == ["-" if s < 0 else "+" for s in windows.strand]
        names = [n.decode() for n in h5["name"]]
        profiles = h5["profile"][:]
        assert list(reps.attrs["tracks"]) == list(TRACKS)
        assert reps["netseq"].shape == (len(windows), 20)
        np.testing.assert_array_equal(reps["prediction"][:], profiles)
    assert names == list(gene_names(windows, table, config))
    assert set(names) == set(table["name"])  # windows of 8 genes, each named after its gene
    inputs, _ = opened.view.read(windows)
    np.testing.assert_allclose(profiles, opened.model.predict(inputs, verbose=0), rtol=1e-5,
                               atol=1e-9)
    assert json.loads((out / "run.json").read_text())["target"] is None


def test_windows_tile_regions_from_their_five_prime_end():
    regions = Samples.build(("chr1",), [0, 0, 0], [100, 1000, 5000], [110, 1019, 5018], 0, 0,
                            np.zeros((3, 0)), strand=[1, -1, 1])
    windows, region = tile_regions(regions, 10, 4)
    np.testing.assert_array_equal(region, [0, 1, 1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(windows.start, [100, 1009, 1005, 1001, 1000, 5000, 5004, 5008])
    np.testing.assert_array_equal(windows.end - windows.start, 10)
    np.testing.assert_array_equal(windows.strand, [1, -1, -1, -1, -1, 1, 1, 1])


def test_gene_windows_are_named_after_their_gene():
    genes = pd.DataFrame({"chrom": ["b", "a", "b"], "start": [1000, 50, 4000],
                          "end": [2000, 900, 4500], "name": ["g1", "g2", "g3"],
                          "strand": ["+", "-", "-"]})
    config = RegionConfig(length=10, first_offset=-10, last_offset=-2, step=4,
                          non_overlapping=False)
    windows = gene_windows(genes, ChromSizes(("a", "b"), (10_000, 10_000)), config)
    assert list(gene_names(windows, genes, config)) == ["g1"] * 3 + ["g2"] * 3 + ["g3"] * 3


def test_bad_input_is_one_line(fiddle_model_dir, small_demo, tmp_path, runner_state, capsys):
    factornet = tmp_path / "factornet_model"
    factornet.mkdir()
    (factornet / "run.json").write_text('{"family": "factornet", "architecture": {}}')
    (factornet / "model.keras").write_bytes(b"")
    elsewhere = tmp_path / "elsewhere.bed"
    elsewhere.write_text("chr5\t100\t600\tx\t0\t+\n")
    narrow = tmp_path / "narrow.bed"
    narrow.write_text("chr1\t100\t600\tx\t0\t+\nchr1\t1000\t1300\ty\t0\t-\n")
    no_input = tmp_path / "no_netseq.tsv"
    no_input.write_text("".join(line for line in manifest_without_target(
        small_demo, tmp_path, False).read_text().splitlines(True) if not line.startswith("netseq")))
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "run.json").write_text("{}")
    bed = gene_bed(small_demo, tmp_path)
    for args, message in [
            (["-m", factornet, "--regions", bed], "factornet_model: a FactorNet model folder, not "
                                                  "a FIDDLE one"),
            (["-m", fiddle_model_dir, "--regions", elsewhere],
             "chromosome 'chr5' is not in the genome ("),
            (["-m", fiddle_model_dir, "--regions", narrow],
             "line 2: region chr1:1000-1300 is 300 bp wide, narrower than the model's 500 bp "
             "window (1 of 2 regions are) (see --regions)"),
            (["-m", fiddle_model_dir, "--regions", bed, "--manifest", no_input],
             "no_netseq.tsv: no track named 'netseq' (it has: dna"),
            (["-m", fiddle_model_dir, "--regions", bed, "-o", existing],
             "existing: output exists (it is replaced only when asked to) (see -oc)")]:
        if "-o" not in args:
            args = [*args, "-o", tmp_path / "out"]
        assert predict(*args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("ffn-fiddle-predict: error: ") and message in err[-1], err
        assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "out").exists()
