"""Bad input is one line, never a traceback from deep inside, a hang or a silently wrong result:
errors in tf.data's reader threads, gzip files that are not (or no longer) gzip, an unusable
cache folder, empty peak files and corrupt bigWigs.

Anything that could hang runs in a subprocess or a thread with a timeout, so that a regression
fails instead of blocking the test run.
"""

import gzip
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet.data.cache import CACHE_ENV
from fiddle_factornet.data.files import open_text
from fiddle_factornet.data.genome import ChromSizes, Genome, Windows
from fiddle_factornet.data.intervals import IntervalSet, read_bed
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.data.splits import ChromSplit
from fiddle_factornet.data.tracks import TrackSet
from fiddle_factornet.data.writers import narrowpeak_row, write_bed, write_bigwig, write_fasta
from fiddle_factornet.errors import InputError
from fiddle_factornet.factornet.bins import LABEL_B, BinGrid, label_bins
from fiddle_factornet.factornet.evaluation import read_labels, read_submission
from fiddle_factornet.factornet.samplers import MultiTaskSampler, SingleTaskSampler, TFPeaks
from fiddle_factornet.factornet.view import FactorNetView
from fiddle_factornet.pipeline import TrackInput, numpy_batches

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 20_000
N_SAMPLES = 64


def within(seconds, function, *args):
    """``function(*args)`` in a thread: its result, or its exception re-raised; fails the test
    when it has not returned after ``seconds``."""
    outcome = {}

    def target():
        try:
            outcome["result"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def make_files(folder: Path) -> dict:
    """A one-chromosome genome and a bigWig of random values covering it."""
    rng = np.random.default_rng(0)
    return {"fasta": write_fasta(folder / "g.fa", {"chr1": "".join(rng.choice(list("ACGT"), LENGTH))}),
            "bigwig": write_bigwig(folder / "t.bw", [("chr1", LENGTH)], {"chr1": rng.random(LENGTH)})}


def corrupt(path: Path) -> None:
    """Overwrite the middle of a file (a bigWig's data blocks) with junk; its header and index
    stay intact, so it still opens."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - 2000: middle + 2000] = b"x" * 4000
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def samples(n=N_SAMPLES):
    """Bins every 200 bp from 1000 on chr1, 0 targets."""
    start = 1000 + 200 * np.arange(n)
    return Samples.build(("chr1",), 0, start, start + 200, 0, 0, np.zeros((n, 1)))


def view_of(files, cache=False):
    tracks = TrackSet([files["bigwig"]], cache=cache)
    return FactorNetView(Genome(files["fasta"], cache=False), TrackInput("tracks", (tracks,)), (), 100)


# --- errors while reading batches: in a subprocess, which must end (and exit) within the timeout


class _FailingView:
    """A view whose batches from sample ``fail_at`` on raise ``error``."""

    def __init__(self, error, fail_at=N_SAMPLES // 2):
        self.error, self.fail_at = error, fail_at

    def input_shapes(self, samples):
        return {"x": (4,)}

    def target_shape(self, samples):
        return (1,)

    def read(self, batch, offsets=0, allocate=None):
        if batch.start.max() >= 1000 + 200 * self.fail_at:
            raise self.error
        return {"x": np.zeros((len(batch), 4), np.float32)}, batch.targets


def reader_scenario(folder: str) -> None:
    """Run in a subprocess by the tests below: every consumer of a dataset whose reading fails,
    one line printed per consumer; then exit with status 2 from inside an ``except`` block, as
    the command-line scripts do."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    from fiddle_factornet.pipeline import evaluation_dataset, reader_errors, training_dataset

    folder = Path(folder)
    files = make_files(folder)
    views = {"corrupt": view_of(files)}
    corrupt(files["bigwig"])  # after the TrackSet is opened
    (folder / "truncated").mkdir()
    truncated = make_files(folder / "truncated")
    views["truncated"] = view_of(truncated)
    truncate(truncated["bigwig"])
    views["bug"] = _FailingView(ZeroDivisionError("division by zero"))
    views["oserror"] = _FailingView(FileNotFoundError(2, "No such file or directory", "/gone.bw"))

    def model_for(view):
        inputs = {name: keras.Input(shape, name=name)
                  for name, shape in view.input_shapes(samples()).items()}
        flat = keras.layers.Concatenate()([keras.layers.Flatten()(x) for x in inputs.values()])
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(flat))
        model.compile("adam", "binary_crossentropy")
        return model

    def consumers(view, model):
        def evaluation():
            return evaluation_dataset(view, samples(), 8, parallel=4)
        yield "predict", lambda: model.predict(evaluation(), verbose=0)
        yield "fit", lambda: model.fit(training_dataset(view, samples(), 8, 2, parallel=4),
                                       epochs=2, steps_per_epoch=N_SAMPLES // 8, verbose=0,
                                       validation_data=evaluation())
        yield "iterate", lambda: [None for _ in evaluation()]

    for name, view in views.items():
        model = model_for(view)
        for consumer, call in consumers(view, model):
            start = time.monotonic()
            try:
                with reader_errors():
                    call()
                outcome = "no error"
            except Exception as error:  # noqa: BLE001 - reported to the parent test
                outcome = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            print(f"{name} {consumer} {time.monotonic() - start:.1f}s {outcome}", flush=True)
    # without reader_errors: TensorFlow's error, which still carries the one line
    try:
        model_for(views["corrupt"]).predict(evaluation_dataset(views["corrupt"], samples(), 8,
                                                               parallel=4), verbose=0)
    except Exception as error:  # noqa: BLE001
        carried = [line for line in str(error).splitlines() if "batch reader error" in line]
        print(f"unwrapped {type(error).__name__}: {carried[0] if carried else str(error)}",
              flush=True)
    try:
        with reader_errors():
            model_for(views["corrupt"]).fit(training_dataset(views["corrupt"], samples(), 8, 1,
                                                             parallel=4),
                                            steps_per_epoch=N_SAMPLES // 8, verbose=0)
    except InputError:
        sys.exit(2)


@pytest.fixture(scope="module")
def reader_outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reader")
    result = subprocess.run(
        [sys.executable, "-c", f"from tests.test_robustness import reader_scenario; "
                               f"reader_scenario({str(folder)!r})"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, CACHE_ENV: str(folder / "cache")})
    assert result.returncode == 2, result.stderr[-3000:]
    lines = {}
    for line in result.stdout.splitlines():
        name, consumer, rest = line.split(" ", 2)
        lines[name, consumer] = rest
    return folder, lines, result.stderr


@pytest.mark.parametrize("consumer", ["predict", "fit", "iterate"])
def test_reader_errors_end_every_consumer_promptly_with_the_exception_itself(reader_outcomes,
                                                                            consumer):
    folder, lines, stderr = reader_outcomes
    seconds, outcome = lines["corrupt", consumer].split(" ", 1)
    assert float(seconds[:-1]) < 30
    assert re.fullmatch(f"InputError: {folder / 't.bw'}: cannot read chr1:[0-9]+-[0-9]+: a "
                        "truncated or corrupt bigWig file", outcome)
    outcome = lines["truncated", consumer].split(" ", 1)[1]
    assert outcome == f"InputError: {folder / 'truncated/t.bw'}: not a bigWig file, or a truncated one"
    # not an input error: the exception itself; a file's read error: an InputError naming it
    assert lines["bug", consumer].split(" ", 1)[1] == "ZeroDivisionError: division by zero"
    assert lines["oserror", consumer].split(" ", 1)[1] == \
        "InputError: /gone.bw: cannot read (No such file or directory)"
    assert "Traceback" not in stderr


def test_reader_errors_unwrapped_still_end_and_carry_the_line(reader_outcomes):
    folder, lines, _ = reader_outcomes
    outcome = lines["unwrapped", "UnknownError:"]
    assert re.search(f"batch reader error [0-9]+: {folder / 't.bw'}: cannot read chr1:[0-9]+-[0-9]+: "
                     "a truncated or corrupt bigWig file$", outcome)


def test_numpy_batches_raise(tmp_path):
    files = make_files(tmp_path)
    view = view_of(files)
    corrupt(files["bigwig"])
    with pytest.raises(InputError, match="t.bw: cannot read chr1:.*truncated or corrupt bigWig"):
        within(60, lambda: list(numpy_batches(view, samples(), 16)))
    failing = _FailingView(PermissionError(13, "Permission denied", "/locked.bw"))
    with pytest.raises(InputError, match="^/locked.bw: cannot read \\(Permission denied\\)$"):
        within(60, lambda: list(numpy_batches(failing, samples(), 16)))


def test_model_inputs_checked_against_the_view(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from fiddle_factornet.pipeline import check_model_inputs

    view = view_of(make_files(tmp_path))

    def model(**shapes):
        inputs = {name: keras.Input(shape, name=name) for name, shape in shapes.items()}
        pooled = [keras.layers.GlobalMaxPooling1D()(x) if len(x.shape) == 3 else x
                  for x in inputs.values()]
        joined = keras.layers.Concatenate()(pooled) if len(pooled) > 1 else pooled[0]
        return keras.Model(inputs, keras.layers.Dense(1)(joined))

    check_model_inputs(model(forward=(100, 5), reverse=(100, 5)), view, samples())
    check_model_inputs(model(forward=(None, 5)), view, samples())  # any length
    with pytest.raises(InputError, match=r"^m.keras: wants an input 'meta' \(8,\) that the data "
                                         r"does not provide \(it provides forward \(100, 5\), "
                                         r"reverse \(100, 5\)\)$"):
        check_model_inputs(model(forward=(100, 5), reverse=(100, 5), meta=(8,)), view, samples(),
                           "m.keras")
    with pytest.raises(InputError, match=r"wants input 'forward' of shape \(300, 5\), the data "
                                         r"provides \(100, 5\)"):
        check_model_inputs(model(forward=(300, 5), reverse=(300, 5)), view, samples())


# --- gzip files that are not gzip, or are cut short ------------------------------------------


def gzipped_rows(rows: int) -> bytes:
    return gzip.compress(b"".join(b"chr1\t%d\t%d\t0.5\n" % (i * 200, i * 200 + 200)
                                  for i in range(rows)))


@pytest.fixture
def bad_gzips(tmp_path):
    """name -> (path, the message's end): plain text, junk and a gzip cut in half, named .gz."""
    plain = tmp_path / "plain.gz"
    plain.write_text("chr1\t0\t200\t0.5\n")
    junk = tmp_path / "junk.gz"
    junk.write_bytes(np.random.default_rng(0).bytes(300))
    cut = tmp_path / "cut.gz"
    data = gzipped_rows(20_000)
    cut.write_bytes(data[: len(data) // 2])
    not_gzip = "not a gzip file, though its name ends in .gz"
    return {"plain": (plain, not_gzip), "junk": (junk, not_gzip),
            "cut": (cut, "truncated or corrupt gzip file (Compressed file ended before the "
                         "end-of-stream marker was reached)")}


@pytest.mark.parametrize("name", ["plain", "junk", "cut"])
@pytest.mark.parametrize("reader", [lambda p: open_text(p).read(), read_bed, read_submission,
                                    read_labels, ChromSizes.read],
                         ids=["open_text", "read_bed", "read_submission", "read_labels",
                              "chrom_sizes"])
def test_bad_gzip_is_one_line_naming_the_file(bad_gzips, name, reader):
    path, message = bad_gzips[name]
    with pytest.raises(InputError) as caught:
        reader(path)
    assert str(caught.value) == f"{path}: {message}"


def test_gzip_read_by_content_not_name(tmp_path):
    gzipped = tmp_path / "rows.bed"  # gzip without the .gz name is read all the same
    gzipped.write_bytes(gzipped_rows(3))
    assert read_bed(gzipped)["end"].tolist() == [200, 400, 600]
    assert read_submission(gzipped)["score"].tolist() == [0.5] * 3


@pytest.mark.parametrize("reader", [read_bed, lambda p: open_text(p).read()],
                         ids=["read_bed", "open_text"])
def test_corrupt_gzip_is_one_line(tmp_path, reader):
    data = bytearray(gzipped_rows(20_000))
    data[-8] ^= 0xFF  # the CRC
    path = tmp_path / "corrupt.bed.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=f"^{path}: truncated or corrupt gzip file \\(CRC check"):
        reader(path)


# --- the cache folder -------------------------------------------------------------------------


def test_cache_folder_that_cannot_be_created_is_one_line(tmp_path, monkeypatch):
    files = make_files(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    expected = (f"^{blocker / 'cache'}: cannot write the cache folder \\(.*\\); set {CACHE_ENV} "
                "to a writable folder, or read without a cache$")
    with pytest.raises(InputError, match=expected):
        TrackSet([files["bigwig"]], cache=True)
    with pytest.raises(InputError, match=expected):
        Genome(files["fasta"], cache=True)
    with pytest.raises(InputError, match="^.*: cannot write the cache folder .*pass a writable"):
        TrackSet([files["bigwig"]], cache=True, cache_dir=blocker)
    # "auto" never builds: it reads the files directly
    w = Windows(("chr1",), np.array([0]), np.array([10]), 5)
    assert np.array_equal(TrackSet([files["bigwig"]], cache="auto").rows(w),
                          TrackSet([files["bigwig"]]).rows(w))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_cache_folder_is_one_line_but_a_valid_cache_is_used(tmp_path, cache_dir):
    files = make_files(tmp_path)
    TrackSet([files["bigwig"]], cache=True)  # built while writable
    cache_dir.chmod(0o555)
    try:
        TrackSet([files["bigwig"]], cache=True)  # valid: used as it is
        with pytest.raises(InputError, match=f"^{cache_dir}: cannot write the cache folder"):
            Genome(files["fasta"], cache=True)
    finally:
        cache_dir.chmod(0o755)


# --- bigWigs cut short or corrupt -------------------------------------------------------------


@pytest.mark.parametrize("cache", [False, True], ids=["direct", "cache-build"])
def test_corrupt_bigwig_is_one_line_naming_it(tmp_path, cache):
    files = make_files(tmp_path)
    whole = Windows(("chr1",), np.array([0]), np.array([0]), LENGTH)
    if cache:
        corrupt(files["bigwig"])
        with pytest.raises(InputError, match=f"^{files['bigwig']}: cannot read chr1:0-{LENGTH}: "
                                             "a truncated or corrupt bigWig file$"):
            TrackSet([files["bigwig"]], cache=True)
    else:
        tracks = TrackSet([files["bigwig"]])
        corrupt(files["bigwig"])
        with pytest.raises(InputError, match=f"^{files['bigwig']}: cannot read chr1:0-{LENGTH}"):
            tracks.rows(whole)


def test_truncated_bigwig_is_one_line_naming_it(tmp_path):
    files = make_files(tmp_path)
    truncate(files["bigwig"])
    with pytest.raises(InputError, match=f"^{files['bigwig']}: not a bigWig file, or a truncated"):
        TrackSet([files["bigwig"]])


# --- empty peak files -------------------------------------------------------------------------

SIZES = ChromSizes(("chr1", "chr2", "chr3", "chr11"), (40_000,) * 4)
SPLIT = ChromSplit(valid=("chr11",), test=("chr1",))


def peak_file(path, rows):
    return write_bed(path, [narrowpeak_row(*row) for row in rows])


@pytest.fixture
def peak_files(tmp_path):
    return {"empty": peak_file(tmp_path / "empty.narrowPeak.gz", []),
            "peaks": peak_file(tmp_path / "peaks.narrowPeak.gz",
                               [("chr2", 5000, 5300), ("chr11", 9000, 9300)]),
            "train_only": peak_file(tmp_path / "train.narrowPeak.gz", [("chr2", 5000, 5300)])}


def test_empty_conservative_peaks_at_training_are_one_line(peak_files):
    grid, none = BinGrid(SIZES), IntervalSet({})
    empty, peaks = (TFPeaks(read_bed(peak_files[name], SIZES)) for name in ("empty", "peaks"))
    message = (f"^{peak_files['empty']}: no peaks; a conservative peak file needs peaks \\(a "
               "ChIP-seq experiment without peaks is a mistake\\)$")
    with pytest.raises(InputError, match=message):
        SingleTaskSampler(grid, [peaks, empty], SPLIT, none)
    with pytest.raises(InputError, match=message):
        SingleTaskSampler(grid, [peaks], SPLIT, none, valid_cells=[empty])
    with pytest.raises(InputError, match=message):
        MultiTaskSampler(grid, [peaks, empty], SPLIT, none)
    train_only = TFPeaks(read_bed(peak_files["train_only"], SIZES))
    with pytest.raises(InputError, match=f"^no validation samples: .* validation chromosomes "
                                         f"\\(chr11\\) in {peak_files['train_only']}$"):
        SingleTaskSampler(grid, [train_only], SPLIT, none)


def test_chromosomes_without_peaks_are_fine(peak_files):
    """Peaks on one of the training chromosomes (chr2, chr3) only: no crash."""
    peaks = TFPeaks(read_bed(peak_files["peaks"], SIZES))
    single = SingleTaskSampler(BinGrid(SIZES), [peaks], SPLIT, IntervalSet({}))
    assert len(single.positives) == 1 and len(single.epoch(0)) == 2
    assert len(single.validation()) == 2
    multi = MultiTaskSampler(BinGrid(SIZES), [peaks], SPLIT, IntervalSet({}))
    bound = len(multi.positives)
    assert bound > 0 and multi.epoch(0).targets.shape == (2 * bound, 1)
    assert (np.asarray(multi.positives.chrom_names)[multi.positives.chrom] == "chr2").all()


def test_labelling_with_an_empty_conservative_peak_file_is_one_line(peak_files, tmp_path):
    """No conservative peaks is a mistake, not all-U labels: ffn-labels stops in one line naming
    the file. An empty relaxed file is the conservative peaks standing in alone."""
    cell = tmp_path / "A"
    cell.mkdir()
    (cell / "chip.txt").write_text(f"{peak_files['empty']}\tCTCF\t{peak_files['peaks']}\n")
    sizes = tmp_path / "g.sizes"
    sizes.write_text("".join(f"{n}\t{s}\n" for n, s in zip(SIZES.names, SIZES.lengths)))
    out = tmp_path / "CTCF.labels.tsv.gz"
    result = subprocess.run([sys.executable, str(BIN / "ffn-labels"), "-i", str(cell), "-f", "CTCF",
                             "--genome", str(sizes), "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"ffn-labels: error: {peak_files['empty']}: no peaks; a conservative peak file needs "
        "peaks (a ChIP-seq experiment without peaks is a mistake)")
    assert not out.exists()
    grid = BinGrid(SIZES)
    empty, peaks = (read_bed(peak_files[name], SIZES) for name in ("empty", "peaks"))
    labels = label_bins(grid, [(peaks, empty), (peaks, None)])
    assert (labels[:, 0] == LABEL_B).sum() > 0 and np.array_equal(labels[:, 0], labels[:, 1])


# --- the same, through the commands a user runs ---------------------------------------------------

BIN = Path(__file__).resolve().parents[1] / "bin"


def _predict(demo, cell, model, out, regions=None):
    regions = regions or demo / "factornet/regions/test_regions.blacklistfiltered.bed.gz"
    return subprocess.run(
        [sys.executable, str(BIN / "ffn-predict"), "-i", str(cell), "-m", str(model), "-f", "CTCF",
         "-b", str(regions), "--genome", str(demo / "genome/demo.fa"), "--cache", "false",
         "-o", str(out)],
        capture_output=True, text=True, timeout=300)


def _last_error_line(result, command):
    """The one error line of a command that failed on bad input (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{command}: error: "), line
    return line[len(f"{command}: error: "):]


def _cell_copy(demo, path, dgf=None, meta=None):
    """demoC copied to ``path`` (bigWigs by absolute path), its DGF track replaced by the bigWig
    ``dgf`` and its meta.txt by the text ``meta`` when given."""
    import shutil

    source = demo / "factornet/demoC"
    cell = Path(shutil.copytree(source, path))
    listed = [line.split("\t") for line in (cell / "bigwig.txt").read_text().splitlines()]
    (cell / "bigwig.txt").write_text("".join(
        f"{dgf if dgf is not None and name == 'DGF' else (source / file).resolve()}\t{name}\n"
        for file, name in listed))
    if meta is not None:
        (cell / "meta.txt").write_text(meta)
    return cell


def _model_folder(path, n_meta=0):
    """A FactorNet model folder for the demo's tracks whose model.keras has ``n_meta`` meta inputs
    while its description files declare none."""
    import json
    from dataclasses import asdict

    from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet

    config = FactorNetConfig(input_length=300, kernels=4, kernel_width=12, recurrent=2, dense=8,
                             n_meta=n_meta)
    path.mkdir()
    build_factornet(config).save(path / "model.keras")
    (path / "run.json").write_text(json.dumps({"family": "factornet",
                                               "architecture": asdict(config)}))
    for name, text in (("chip.txt", "CTCF\n"), ("bigwig.txt", "Unique35\nDGF\n"),
                       ("feature.txt", "bigwig\n")):
        (path / name).write_text(text)
    return path


def test_a_model_wanting_an_input_the_folder_lacks_is_one_line(small_demo, tmp_path):
    model = _model_folder(tmp_path / "model", n_meta=8)
    result = _predict(small_demo, small_demo / "factornet/demoC", model, tmp_path / "p.gz")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"ffn-predict: error: {model}/model.keras: wants an input 'meta' (8,) that the data does "
        "not provide (it provides forward (300, 6), reverse (300, 6))")
    assert not (tmp_path / "p.gz").exists()


def test_a_truncated_bigwig_at_prediction_is_one_line_not_a_hang(small_demo, tmp_path):
    import shutil

    cell = Path(shutil.copytree(small_demo / "factornet/demoC", tmp_path / "demoC"))
    listed = [line.split("\t") for line in (cell / "bigwig.txt").read_text().splitlines()]
    (cell / "bigwig.txt").write_text("".join(
        f"{(small_demo / 'factornet/demoC' / file).resolve()}\t{name}\n" if name != "DGF" else
        f"DGF.bw\t{name}\n" for file, name in listed))
    source = (small_demo / "factornet/demoC" / dict((n, f) for f, n in listed)["DGF"]).resolve()
    (cell / "DGF.bw").write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    result = _predict(small_demo, cell, _model_folder(tmp_path / "model"), tmp_path / "p.gz")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ffn-predict: error: ") and "DGF.bw" in last, last
    assert not (tmp_path / "p.gz").exists()


# --- silently wrong results no more: regions past a chromosome, NaN meta values, bigWigs named
# for another genome -------------------------------------------------------------------------------


def test_prediction_regions_past_a_chromosome_or_empty_are_one_line(small_demo, tmp_path):
    from fiddle_factornet.factornet.prediction import predict_regions

    model = _model_folder(tmp_path / "model")
    genome = small_demo / "genome/demo.fa"
    cases = {  # chr8 is 40,000 bp long in the small demo
        "chr1\t0\t200\nchr8\t39900\t40100\n":
            "line 2: chr8:39900-40100 ends past the end of chr8 (40000 bp in {genome})",
        "chr8\t50000\t50200\n": "line 1: chr8:50000-50200 ends past the end of chr8 (40000 bp in "
                                 "{genome})",
        "track name=r\nchr1\t0\t200\nchr2\t100\t100\n":
            "line 3: chr2:100-100 is empty: a region needs start < end",
    }
    for i, (text, message) in enumerate(cases.items()):
        bed = tmp_path / f"r{i}.bed"
        bed.write_text(text)
        with pytest.raises(InputError) as error:
            predict_regions(model, small_demo / "factornet/demoC", "CTCF", bed, tmp_path / "p.gz",
                            str(genome), cache=False)
        assert str(error.value) == f"{bed}: " + message.format(genome=genome)
        assert not (tmp_path / "p.gz").exists()
    bed = tmp_path / "r0.bed"
    result = _predict(small_demo, small_demo / "factornet/demoC", model, tmp_path / "p.gz", bed)
    assert _last_error_line(result, "ffn-predict") == (
        f"{bed}: line 2: chr8:39900-40100 ends past the end of chr8 (40000 bp in {genome})")
    assert not (tmp_path / "p.gz").exists()
    # regions that fit, written with the original's 4 significant digits ('%.3e')
    bed.write_text("chr1\t0\t200\nchr8\t39800\t40000\nchr8\t20000\t20200\n")
    result = subprocess.run(
        [sys.executable, str(BIN / "ffn-predict"), "-i", str(small_demo / "factornet/demoC"),
         "-m", str(model), "-f", "CTCF", "-b", str(bed), "--genome", str(genome), "--cache",
         "false", "--score_digits", "4", "-o", str(tmp_path / "p.gz")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = gzip.open(tmp_path / "p.gz", "rt").read().splitlines()
    scores = [line.split("\t")[3] for line in lines]
    assert scores[:2] == ["0.000e+00", "0.000e+00"]  # the first and last L bp: blacklisted
    assert re.fullmatch(r"[1-9]\.\d{3}e[-+]\d\d", scores[2]), scores


def test_nan_meta_values_at_prediction_are_one_line(small_demo, tmp_path):
    cell = _cell_copy(small_demo, tmp_path / "demoC", meta="0.5\tGEPC1\nnan\tGEPC2\n")
    result = _predict(small_demo, cell, _model_folder(tmp_path / "model"), tmp_path / "p.gz")
    assert _last_error_line(result, "ffn-predict") == (
        f"{cell}/meta.txt: line 2: value 'nan' is not a finite number")


def _ensembl_named_bigwig(demo, path):
    """demoC's DNase bigWig with Ensembl chromosome names (1, 2, 8, ... without 'chr')."""
    import pyBigWig

    source = pyBigWig.open(str((demo / "factornet/demoC/DNase.bw").resolve()))
    chroms = source.chroms()
    values = {name[3:]: np.nan_to_num(np.asarray(source.values(name, 0, size)))
              for name, size in chroms.items()}
    return write_bigwig(path, [(name[3:], size) for name, size in chroms.items()], values)


def test_bigwig_named_without_chr_is_one_line_at_prediction_and_training(small_demo, tmp_path):
    bigwig = _ensembl_named_bigwig(small_demo, tmp_path / "ensembl.bw")
    cell = _cell_copy(small_demo, tmp_path / "demoC", dgf=bigwig)
    genome = small_demo / "genome/demo.fa"
    expected = (f"{bigwig}: chromosome '1' is not in the genome ({genome}); the genome calls it "
                "'chr1': add the 'chr' prefix to the file's names")
    result = _predict(small_demo, cell, _model_folder(tmp_path / "model"), tmp_path / "p.gz")
    assert _last_error_line(result, "ffn-predict") == expected
    assert not (tmp_path / "p.gz").exists()
    train = subprocess.run(
        [sys.executable, str(BIN / "ffn-train"), "-i", str(cell), "-f", "CTCF", "--genome",
         str(genome), "--cache", "false", "-e", "1", "-o", str(tmp_path / "trained")],
        capture_output=True, text=True, timeout=300)
    assert _last_error_line(train, "ffn-train") == expected
    assert not (tmp_path / "trained").exists()
