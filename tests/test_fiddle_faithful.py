"""FIDDLE's defaults follow the original (issue #10): N as 0.25, windows holding missing values
skipped, non-overlapping genes, batches of 20, a learning curve within the first epoch, both
sufficiency scores; each with the option that undoes it."""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pyBigWig
import pytest

from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.tracks import TrackSet
from fiddle_factornet.data.writers import write_bed, write_fasta
from fiddle_factornet.errors import InputError
from fiddle_factornet.fiddle.evaluation import read_regions
from fiddle_factornet.fiddle.manifest import TrackManifest, drop_missing, fiddle_view
from fiddle_factornet.fiddle.regions import RegionConfig, gene_windows, read_genes
from fiddle_factornet.fiddle.training import FiddleTrainSettings, train_fiddle
from fiddle_factornet.pipeline import numpy_batches

SIZES = {"chrI": 6_000, "chrII": 4_000}
N_AT = ("chrI", 700, 710)                # Ns in the genome, inside gene a's windows
NAN_INPUT = ("chrI", 1100, 1105)         # NaN stored in netseq (plus strand)
NAN_TARGET = ("chrII", 600, 602)         # NaN stored in the target (minus strand)
NAN_UNUSED = ("chrI", 5300, 5301)        # NaN stored in mnase, an input no model below uses
GENES = [("chrI", 1000, 2000, "a", 0, "+"), ("chrI", 3500, 4500, "b", 0, "-"),
         ("chrI", 5000, 5600, "d", 0, "+"), ("chrII", 1000, 2500, "c", 0, "+")]


def write_track(path, values: dict[str, np.ndarray]):
    """A bigWig of per-base values: 0 = uncovered, NaN = a stored NaN (a missing value)."""
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(SIZES.items()), maxZooms=0)
    for name, array in values.items():
        covered = np.flatnonzero(array != 0)  # NaN != 0: stored
        handle.addEntries([name] * len(covered), covered.tolist(), ends=(covered + 1).tolist(),
                          values=array[covered].tolist())
    handle.close()
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A two-chromosome genome, four genes, netseq/mnase/rnaseq inputs and a TSS-seq target, with
    Ns and stored NaNs at known places."""
    root = tmp_path_factory.mktemp("faithful")
    rng = np.random.default_rng(0)
    sequences = {name: "".join(rng.choice(list("ACGT"), length)) for name, length in SIZES.items()}
    chrom, lo, hi = N_AT
    sequences[chrom] = sequences[chrom][:lo] + "N" * (hi - lo) + sequences[chrom][hi:]
    write_fasta(root / "genome.fa", sequences)
    write_bed(root / "genes.bed", GENES)

    def counts(mean):
        return {name: rng.poisson(mean, length).astype(float) for name, length in SIZES.items()}

    tracks = {f"{track}.{strand}": counts(mean) for track, mean in
              (("netseq", 0.3), ("mnase", 0.3), ("tss", 0.05)) for strand in ("plus", "minus")}
    tracks["rnaseq"] = counts(1.0)
    for key, (name, lo, hi) in (("netseq.plus", NAN_INPUT), ("tss.minus", NAN_TARGET),
                                ("mnase.plus", NAN_UNUSED)):
        tracks[key][name][lo:hi] = np.nan
    for key, values in tracks.items():
        write_track(root / f"{key}.bw", values)
    (root / "tracks.tsv").write_text(
        "name\trole\tkind\tfiles\n"
        "dna\tinput\tdna\tgenome.fa\n"
        "netseq\tinput\tstranded\tnetseq.plus.bw,netseq.minus.bw\n"
        "mnase\tinput\tstranded\tmnase.plus.bw,mnase.minus.bw\n"
        "rnaseq\tinput\tmerged\trnaseq.bw\n"
        "tss\ttarget\tstranded\ttss.plus.bw,tss.minus.bw\n")
    return root


def sizes():
    return ChromSizes(tuple(SIZES), tuple(SIZES.values()), "tiny")


def windows_touching(samples, where) -> np.ndarray:
    name, lo, hi = where
    on = np.array(samples.chrom_names)[samples.chrom] == name
    return on & (samples.start < hi) & (samples.end > lo)


def all_windows(tiny):
    return gene_windows(read_genes(tiny / "genes.bed", sizes()), sizes())


# --- N in the DNA ---------------------------------------------------------------------------

def test_n_is_a_quarter_in_each_dna_row_by_default_and_zero_with_the_option(tiny):
    manifest = TrackManifest.read(tiny / "tracks.tsv")
    samples = all_windows(tiny)
    samples = samples.take(windows_touching(samples, N_AT) & (samples.strand > 0))
    assert len(samples)
    first = samples.take(slice(1))
    n_rows = slice(N_AT[1] - int(first.start[0]), N_AT[2] - int(first.start[0]))
    (inputs, _), = numpy_batches(fiddle_view(manifest, ["dna"]), first, 8)
    assert np.all(inputs["dna"][0, n_rows] == 0.25)
    others = np.delete(inputs["dna"][0], np.arange(500)[n_rows], axis=0)
    assert np.all(others.sum(axis=1) == 1.0) and set(np.unique(others)) == {0.0, 1.0}
    (inputs, _), = numpy_batches(fiddle_view(manifest, ["dna"], dna_n=0.0), first, 8)
    assert np.all(inputs["dna"][0, n_rows] == 0.0)
    assert FiddleTrainSettings("m", "g", "o").dna_n == 0.25


# --- missing values -------------------------------------------------------------------------

def test_stored_nan_is_missing_and_uncovered_bases_are_not(tiny):
    samples = all_windows(tiny)
    netseq = TrackSet([tiny / "netseq.plus.bw", tiny / "netseq.minus.bw"])
    missing = netseq.missing(samples.windows(500))
    np.testing.assert_array_equal(missing, windows_touching(samples, NAN_INPUT))
    assert 0 < missing.sum() < len(samples)
    # the rows read NaN as 0, as they read uncovered bases (FactorNet's behaviour, unchanged)
    rows = netseq.rows(samples.windows(500))
    assert np.isfinite(rows).all()


def test_drop_missing_checks_every_input_track_and_the_target(tiny):
    manifest = TrackManifest.read(tiny / "tracks.tsv")
    samples = all_windows(tiny)
    kept, dropped = drop_missing(manifest, None, samples, 500)
    expected = (windows_touching(samples, NAN_INPUT) | windows_touching(samples, NAN_TARGET)
                | windows_touching(samples, NAN_UNUSED))
    assert dropped == int(expected.sum()) and len(kept) == len(samples) - dropped
    assert windows_touching(samples, NAN_TARGET).any()
    assert windows_touching(samples, NAN_UNUSED).any()
    np.testing.assert_array_equal(kept.start, samples.start[~expected])


def small_settings(tiny, output, **changes):
    return FiddleTrainSettings(**{
        "manifest": str(tiny / "tracks.tsv"), "genes": str(tiny / "genes.bed"),
        "output_dir": str(output), "inputs": ("dna", "netseq", "rnaseq"), "n_valid": 10,
        "n_test": 10, "epochs": 1, "batch_size": 4, "module_filters": (4, 2),
        "scaffold_filters": 2, "representation": 20, "curve_every": 20, **changes})


def regions_in(path):
    return {tuple(line.split("\t")[:3]) for line in path.read_text().splitlines()}


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """Three tiny runs: the defaults, missing="zero", and the defaults without mid-epoch points."""
    root = tmp_path_factory.mktemp("runs")
    runs = {"default": small_settings(tiny, root / "default"),
            "zero": small_settings(tiny, root / "zero", missing="zero"),
            "per_epoch": small_settings(tiny, root / "per_epoch", curve_every=0)}
    return {name: (settings, train_fiddle(settings)) for name, settings in runs.items()}


def test_windows_with_missing_values_are_skipped_by_default(tiny, trained):
    samples = all_windows(tiny)
    nan = (windows_touching(samples, NAN_INPUT) | windows_touching(samples, NAN_TARGET)
           | windows_touching(samples, NAN_UNUSED))
    settings, _ = trained["default"]
    folder = Path(settings.output_dir)
    record = json.loads((folder / "run.json").read_text())
    assert record["settings"]["missing"] == "skip" and record["settings"]["dna_n"] == 0.25
    assert record["windows_dropped_missing"] == int(nan.sum())
    assert record["windows"] == len(samples) - int(nan.sum())
    names = np.array(samples.chrom_names)[samples.chrom]
    bad = {(name, str(s), str(e)) for name, s, e in zip(names[nan], samples.start[nan],
                                                        samples.end[nan])}
    held_out = regions_in(folder / "valid_regions.bed") | regions_in(folder / "test_regions.bed")
    assert not held_out & bad


def test_missing_zero_keeps_them_and_reads_nan_as_zero(tiny, trained):
    settings, _ = trained["zero"]
    record = json.loads((Path(settings.output_dir) / "run.json").read_text())
    assert record["settings"]["missing"] == "zero"
    assert record["windows_dropped_missing"] == 0 and record["windows"] == len(all_windows(tiny))
    manifest = TrackManifest.read(tiny / "tracks.tsv")
    samples = all_windows(tiny)
    touched = samples.take(windows_touching(samples, NAN_INPUT))
    (inputs, target), = numpy_batches(fiddle_view(manifest, ["netseq"]), touched, 64)
    assert np.isfinite(inputs["netseq"]).all() and np.isfinite(target).all()
    offset = NAN_INPUT[1] - touched.start  # gene a is on the plus strand: row = genome position
    assert np.all(inputs["netseq"][np.arange(len(touched)), offset, 0] == 0.0)


# --- learning curve -------------------------------------------------------------------------

def read_curve(folder):
    lines = (Path(folder) / "learning_curve.csv").read_text().splitlines()
    assert lines[0] == "samples_seen,train_kl,valid_kl"
    return np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


def test_learning_curve_has_points_within_the_first_epoch(trained):
    settings, history = trained["default"]
    record = json.loads((Path(settings.output_dir) / "run.json").read_text())
    n_train = record["windows"] - settings.n_valid - settings.n_test
    curve = read_curve(settings.output_dir)
    assert curve[:, 0].tolist() == [20, 40, n_train]  # every 20 samples, and the epoch's end
    assert np.isfinite(curve).all()
    # train_kl: the mean loss since the previous point; together, the epoch's mean loss
    seen = np.diff(np.concatenate([[0], curve[:, 0]]))
    assert np.dot(seen, curve[:, 1]) / n_train == pytest.approx(history["loss"][0], abs=1e-5)
    assert curve[-1, 2] == pytest.approx(history["val_loss"][0], abs=1e-5)
    # the mid-epoch validation changes nothing in the training itself
    _, per_epoch = trained["per_epoch"]
    assert per_epoch == history
    once = read_curve(trained["per_epoch"][0].output_dir)
    assert once[:, 0].tolist() == [n_train]


def test_a_resumed_run_keeps_the_curve_of_its_complete_epochs(tmp_path):
    from fiddle_factornet.fiddle.training import LearningCurve

    path = tmp_path / "learning_curve.csv"
    # two complete epochs of 50 samples, and a point of the third, interrupted, one
    path.write_text("samples_seen,train_kl,valid_kl\n20,3,3\n50,2,2\n70,1.5,1.5\n100,1,1\n"
                    "120,0.5,0.5\n")
    curve = LearningCurve(path, n_train=50, batch_size=10, every=20, valid_inputs={},
                          valid_target=np.zeros((0, 5)))
    curve.on_epoch_begin(2)  # the resumed fit starts with the third epoch
    curve.on_epoch_end(2, {"loss": 0.75, "val_loss": 0.8})
    assert read_curve(tmp_path).tolist() == [[20, 3, 3], [50, 2, 2], [70, 1.5, 1.5], [100, 1, 1],
                                             [150, 0.75, 0.8]]


def test_plot_of_a_long_learning_curve(tmp_path):
    from fiddle_factornet.fiddle.evaluation import _plot_learning_curve

    rows = "".join(f"{2000 * i},{1 / i:.6f},{1.1 / i:.6f}\n" for i in range(1, 400))
    (tmp_path / "curve.csv").write_text("samples_seen,train_kl,valid_kl\n" + rows)
    _plot_learning_curve(tmp_path / "curve.csv", tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


# --- defaults -------------------------------------------------------------------------------

def test_non_overlapping_genes_and_batches_of_20_by_default(tmp_path):
    assert RegionConfig().non_overlapping
    assert FiddleTrainSettings("m", "g", "o").regions.non_overlapping
    assert FiddleTrainSettings("m", "g", "o").batch_size == 20
    assert FiddleTrainSettings("m", "g", "o").missing == "skip"
    genes = read_genes(write_bed(tmp_path / "g.bed", [
        ("chrI", 1000, 2000, "a", 0, "+"), ("chrI", 1500, 2500, "b", 0, "-"),
        ("chrI", 3000, 4000, "c", 0, "+")]), sizes())
    assert len(gene_windows(genes, sizes())) == 25  # gene c alone
    assert len(gene_windows(genes, sizes(), RegionConfig(non_overlapping=False))) == 75


def test_bad_missing_setting_is_refused(tiny, tmp_path):
    with pytest.raises(InputError, match="missing='drop' is not one of skip, zero") as caught:
        train_fiddle(small_settings(tiny, tmp_path / "m", missing="drop"))
    assert caught.value.setting == "missing"


# --- sufficiency ----------------------------------------------------------------------------

def test_both_sufficiency_scores():
    import keras

    from fiddle_factornet.fiddle.importance import importance, importance_table

    length = 10
    a, b = keras.Input((length, 1), name="a"), keras.Input((length, 1), name="b")
    merged = keras.layers.Concatenate()([keras.layers.Flatten()(a), keras.layers.Flatten()(b)])
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(length, activation="softmax")(merged))
    rng = np.random.default_rng(0)
    inputs = {name: rng.random((16, length, 1), dtype=np.float32) for name in "ab"}
    target = rng.random((16, length))
    target /= target.sum(1, keepdims=True)
    result = importance(model, inputs, target)
    for name in "ab":
        assert set(result[name]) == {"necessity", "sufficiency", "sufficiency_notebook"}
        scores = result[name]
        np.testing.assert_allclose(scores["sufficiency"] + scores["sufficiency_notebook"], 1.0)
    means = {name: {kind: float(v.mean()) for kind, v in result[name].items()} for name in "ab"}
    table = importance_table(means).splitlines()
    header = next(line for line in table if line.startswith("input"))
    assert header.split() == ["input", "necessity", "sufficiency", "sufficiency_notebook"]
    assert any("sufficiency = 1 - sigmoid(L_only - L_all) (the paper's reading)" in line
               for line in table)
    assert any("sufficiency_notebook = sigmoid(L_only - L_all) (the authors' notebook)" in line
               for line in table)
    assert [line.split()[0] for line in table[table.index(header) + 1:]] == ["a", "b"]


# --- no silently wrong results --------------------------------------------------------------

def test_regions_of_another_width_are_refused(tmp_path):
    path = write_bed(tmp_path / "r.bed", [("chrI", 0, 500, ".", 0, "+"),
                                           ("chrI", 100, 700, ".", 0, "-")])
    assert len(read_regions(path, sizes())) == 2  # without a length: as before
    with pytest.raises(InputError, match=r"r.bed: line 2: window chrI:100-700 is 600 bp wide, "
                                         r"not the model's 500 bp") as caught:
        read_regions(path, sizes(), 500)
    assert caught.value.setting == "regions"


def test_reload_from_a_model_sharing_no_module_is_refused(tiny, trained, tmp_path):
    source, _ = trained["default"]
    with pytest.raises(InputError, match="shares no module with this model") as caught:
        train_fiddle(small_settings(tiny, tmp_path / "m", inputs=("mnase",),
                                    reload=str(source.output_dir)))
    message = str(caught.value)
    assert str(source.output_dir) in message and "dna, netseq, rnaseq" in message
    assert "this model's inputs are mnase" in message and caught.value.setting == "reload"
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.partial").exists()
