"""FIDDLE on the authors' HDF5 datasets: a small set written in create_hdf5.py's layout from the
demo, read through the same view as the bigWig tracks, trained on and evaluated end to end."""

import json

import h5py
import numpy as np
import pyBigWig
import pytest

from fiddle_factornet.cli import fiddle_attribute, fiddle_evaluate, fiddle_predict, fiddle_train
from fiddle_factornet.data.genome import ChromSizes
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.errors import InputError
from fiddle_factornet.fiddle.manifest import TrackManifest, fiddle_view
from fiddle_factornet.fiddle.published import file_rows, published_profile, training_data
from fiddle_factornet.fiddle.regions import RegionConfig, gene_windows, read_genes

from .conftest import run_command

#: the authors' dataset names (configurations.json) -> the demo manifest's track names
TRACKS = {"dnaseq": "dna", "netseq": "netseq", "mnaseseq": "mnase", "chipseq": "tfiib",
          "rnaseq": "rnaseq", "tssseq": "tssseq"}
INPUTS = ("dnaseq", "netseq", "mnaseseq", "chipseq", "rnaseq")
N_WINDOWS = 600
LENGTH = 500
#: the original's one-hot rows (create_hdf5.py's letterdict), by letter
LETTERS = {"a": [1, 0, 0, 0], "c": [0, 1, 0, 0], "g": [0, 0, 1, 0], "t": [0, 0, 0, 1],
           "n": [0.25] * 4}


def demo_sizes(demo) -> ChromSizes:
    rows = [line.split("\t") for line in (demo / "genome/demo.chrom.sizes").read_text().splitlines()]
    return ChromSizes(tuple(r[0] for r in rows), tuple(int(r[1]) for r in rows), "demo")


def read_fasta(path) -> dict[str, str]:
    sequences, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            sequences[name] = []
        else:
            sequences[name].append(line.strip())
    return {key: "".join(parts).lower() for key, parts in sequences.items()}


def one_hot(sequence: str) -> np.ndarray:
    """(4, L): the original's one_hot_encode_sequence (A, C, G, T rows; N 0.25 in each)."""
    table = np.zeros((256, 4))
    table[[ord(c) for c in LETTERS]] = list(LETTERS.values())
    table[[ord(c) for c in "bdhkmrsvwy"]] = 0.25  # other IUPAC letters: as N
    return table[np.frombuffer(sequence.encode(), np.uint8)].T


def authors_arrays(demo, n_windows=N_WINDOWS):
    """The demo's first ``n_windows`` FIDDLE windows as the authors' arrays: dataset name ->
    (n, H, L) in each gene's orientation (a minus-strand window reversed, its strand rows swapped,
    its DNA flipud(fliplr)-ed), read from the FASTA and bigWigs without the package's readers;
    ``info`` (n, 4): chromosome number, strand, gene index, window start."""
    sizes = demo_sizes(demo)
    genes = read_genes(demo / "fiddle/genes.bed", sizes)
    windows = gene_windows(genes, sizes, RegionConfig()).take(slice(n_windows))
    genome = read_fasta(demo / "genome/demo.fa")
    manifest = TrackManifest.read(demo / "fiddle/tracks.tsv")
    arrays = {}
    for name, track in TRACKS.items():
        if name == "dnaseq":
            continue
        files = [pyBigWig.open(str(f)) for f in manifest.track(track).files]
        rows = np.zeros((len(windows), len(files), LENGTH))
        for i, (chrom, start) in enumerate(zip(windows.chrom, windows.start)):
            for j, bigwig in enumerate(files):
                values = bigwig.values(sizes.names[chrom], int(start), int(start) + LENGTH,
                                       numpy=True)
                rows[i, j] = np.nan_to_num(values)
        minus = windows.strand < 0
        rows[minus] = rows[minus][:, ::-1, ::-1]  # sense row first, 5' end first
        arrays[name] = rows
    dna = np.stack([one_hot(genome[sizes.names[c]][s:s + LENGTH])
                    for c, s in zip(windows.chrom, windows.start)])
    minus = windows.strand < 0
    dna[minus] = dna[minus][:, ::-1, ::-1]  # flipud(fliplr(...)): the reverse complement
    arrays["dnaseq"] = dna
    # the gene index: the test's own numbering (25 windows a gene)
    arrays["info"] = np.stack([windows.chrom + 1, windows.strand, np.arange(len(windows)) // 25,
                               windows.start], axis=1)
    return arrays


def write_authors_hdf5(folder, arrays, seed=0, info=True):
    """train.h5, validation.h5 and test.h5 as create_hdf5.py writes them: rows shuffled, 5 %
    validation, 10 % test, each track a float32 dataset (n, H, L, 1) filled through [:, :, :, 0]
    (and ``info`` (n, 4), as the published files hold it)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(arrays["info"])
    idx = np.arange(n)
    np.random.default_rng(seed).shuffle(idx)
    validation_size, test_size = int(n * 0.05), int(n * 0.1)
    train_size = n - validation_size - test_size
    parts = {"train": idx[:train_size], "validation": idx[train_size:train_size + validation_size],
             "test": idx[train_size + validation_size:]}
    for split, rows in parts.items():
        with h5py.File(folder / f"{split}.h5", "w") as handle:
            for name, values in arrays.items():
                if name == "info":
                    if info:
                        handle.create_dataset("info", (len(rows), 4))[:] = values[rows]
                    continue
                dataset = handle.create_dataset(name, (len(rows), values.shape[1], LENGTH, 1))
                dataset[:, :, :, 0] = values[rows]
    return parts


@pytest.fixture(scope="module")
def authors(small_demo, tmp_path_factory):
    """The authors' folder written from the small demo, its arrays and the rows of each split."""
    arrays = authors_arrays(small_demo)
    folder = tmp_path_factory.mktemp("hdf5") / "CN2TS_demo"
    return folder, arrays, write_authors_hdf5(folder, arrays)


def test_the_layout_is_the_authors(authors):
    folder, arrays, parts = authors
    with h5py.File(folder / "train.h5", "r") as handle:
        assert sorted(handle) == sorted([*TRACKS, "info"])
        assert handle["dnaseq"].shape == (len(parts["train"]), 4, 500, 1)
        assert handle["tssseq"].shape == (len(parts["train"]), 2, 500, 1)
        assert handle["rnaseq"].shape == (len(parts["train"]), 1, 500, 1)
        assert handle["netseq"].dtype == np.float32 and handle["info"].shape[1] == 4
    assert len(parts["validation"]) == 30 and len(parts["test"]) == 60


def test_the_view_reads_what_the_bigwig_view_reads(authors, small_demo):
    folder, arrays, parts = authors
    view, samples = file_rows(folder / "test.h5", INPUTS, None)
    assert view.target == "tssseq" and view.length == 500
    assert view.input_shapes(samples) == {"dnaseq": (500, 4), "netseq": (500, 2),
                                          "mnaseseq": (500, 2), "chipseq": (500, 2),
                                          "rnaseq": (500, 1)}
    written = arrays["info"][parts["test"]]
    assert np.array_equal(samples.start, written[:, 3]) and np.array_equal(samples.strand, written[:, 1])
    assert [samples.chrom_names[c] for c in samples.chrom] == [str(int(n)) for n in written[:, 0]]
    assert np.array_equal(samples.end - samples.start, np.full(len(samples), 500))
    inputs, target = view.read(samples)
    # the same windows through the manifest's bigWigs and FASTA
    sizes = demo_sizes(small_demo)
    windows = Samples.build(sizes.names, written[:, 0] - 1, written[:, 3], written[:, 3] + 500, 0, 0,
                            np.zeros((len(written), 0)), strand=written[:, 1])
    manifest = TrackManifest.read(small_demo / "fiddle/tracks.tsv")
    bigwig = fiddle_view(manifest, [TRACKS[name] for name in (*INPUTS, "tssseq")], "tssseq",
                         cache=False)
    expected, expected_target = bigwig.read(windows)
    for name in INPUTS:
        assert inputs[name].dtype == np.float32
        assert np.array_equal(inputs[name], expected[TRACKS[name]]), name
    # the target: the sense row, normalised as the original's TF code did it when training
    counts = expected["tssseq"][..., 0].copy()
    assert counts.sum() > 0
    assert np.array_equal(target, published_profile(counts))
    assert np.allclose(target.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(target, expected_target, atol=1e-4)  # the paper-era formula
    empty = np.zeros((1, 500), np.float32)
    assert np.allclose(published_profile(empty), 1 / 500)


def test_batches_in_any_order_read_their_own_rows(authors):
    folder, _, parts = authors
    view, samples = training_data([folder], INPUTS, None, ("target", "noise"), 1000)
    train, valid = samples["train"], samples["valid"]
    assert len(train) == len(parts["train"]) and len(valid) == len(parts["validation"])
    whole, whole_target = view.read(train)
    order = np.random.default_rng(1).permutation(len(train))[:40]
    mixed = Samples.concat([train.take(order[:20]), valid.take(slice(5)), train.take(order[20:])])
    inputs, target = view.read(mixed)
    valid_inputs, valid_target = view.read(valid.take(slice(5)))
    for name in (*INPUTS, "control_target"):
        assert np.array_equal(inputs[name][:20], whole[name][order[:20]])
        assert np.array_equal(inputs[name][20:25], valid_inputs[name])
        assert np.array_equal(inputs[name][25:], whole[name][order[20:]])
    assert np.array_equal(target[:20], whole_target[order[:20]])
    assert np.array_equal(target[20:25], valid_target)
    assert np.array_equal(inputs["control_target"][..., 0], target)
    again = view.read(mixed)[0]["control_noise"]  # the same batch, the same noise
    assert np.array_equal(inputs["control_noise"], again) and inputs["control_noise"].std() > 0.5
    first_rows = training_data([folder], INPUTS, None, (), 7)[1]["valid"]
    assert len(first_rows) == 7 and np.array_equal(first_rows.extras["row"][:, 0], np.arange(7))


def test_train_and_evaluate_from_the_authors_files(authors, small_demo, tmp_path, capsys,
                                                   runner_state):
    folder, _, parts = authors
    model = tmp_path / "model"
    code = run_command(fiddle_train, "--hdf5", folder, "--inputs", "dnaseq,netseq,rnaseq",
                       "--module_filters", "8,4", "--scaffold_filters", "4", "--representation",
                       "50", "-e", "1", "--batchsize", "64", "--curve_every", "0", "--n_valid", "20",
                       "-o", model)
    assert code == 0, capsys.readouterr().err[-3000:]
    record = json.loads((model / "run.json").read_text())
    assert record["settings"]["hdf5"] == [str(folder.resolve())]
    assert record["settings"]["manifest"] is None and record["settings"]["genes"] is None
    assert record["inputs"] == ["dnaseq", "netseq", "rnaseq"] and record["target"] == "tssseq"
    assert record["windows"] == len(parts["train"]) + 20
    assert record["architecture"]["length"] == 500
    assert not (model / "test_regions.bed").exists()
    assert (model / "learning_curve.csv").read_text().splitlines()[1].startswith(
        f"{len(parts['train'])},")
    capsys.readouterr()
    code = run_command(fiddle_evaluate, "-m", model, "-o", tmp_path / "eval")
    assert code == 0, capsys.readouterr().err[-3000:]
    summary = json.loads((tmp_path / "eval.summary.json").read_text())
    assert summary["windows"] == len(parts["test"]) and set(summary) == {"windows", "prediction",
                                                                         "random"}
    rows = (tmp_path / "eval.regions.tsv").read_text().splitlines()
    assert len(rows) == 1 + len(parts["test"])
    with h5py.File(folder / "test.h5", "r") as handle:
        info = handle["info"][0]
    assert rows[1].split("\t")[:4] == [str(int(info[0])), str(int(info[3])),
                                       str(int(info[3]) + 500), "-" if info[1] < 0 else "+"]
    evaluation_record = json.loads((tmp_path / "eval.run.json").read_text())
    assert evaluation_record["settings"]["regions"] == str((folder / "test.h5").resolve())
    # another file's rows: the validation file
    code = run_command(fiddle_evaluate, "-m", model, "--hdf5", folder / "validation.h5", "-o",
                       tmp_path / "valid")
    assert code == 0, capsys.readouterr().err[-3000:]
    assert json.loads((tmp_path / "valid.summary.json").read_text())["windows"] == 30
    # attributions of the test rows; ISM edits the DNA dataset as DNA (each base to the others)
    code = run_command(fiddle_attribute, "-m", model, "--methods", "ism", "--plots", "0",
                       "-o", tmp_path / "attributions")
    assert code == 0, capsys.readouterr().err[-3000:]
    with h5py.File(tmp_path / "attributions" / "attributions.h5", "r") as handle:
        ism = handle["dnaseq/ism"][:]
    assert ism.shape == (len(parts["test"]), 500, 4)
    assert (ism != 0).sum(axis=2).max() == 3  # the three other bases (a track: its one value)
    # prediction reads tracks through a manifest: without one, one line says so
    capsys.readouterr()
    code = run_command(fiddle_predict, "-m", model, "--genes", small_demo / "fiddle/genes.bed",
                       "-o", tmp_path / "predicted")
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "no track manifest given" in error[-1] and "--manifest" in error[-1]


def test_flags_that_make_windows_do_not_apply_to_hdf5(authors, tmp_path, capsys, runner_state):
    folder, _, _ = authors
    code = run_command(fiddle_train, "--hdf5", folder, "--genes", "genes.bed", "-o", tmp_path / "m")
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "ffn-fiddle-train: error: --genes does not apply to --hdf5 (its files hold the windows)")
    code = run_command(fiddle_train, "-o", tmp_path / "m")
    assert code == 2 and "give --manifest and --genes, or --hdf5" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def write(path, datasets):
    with h5py.File(path, "w") as handle:
        for name, value in datasets.items():
            handle.create_dataset(name, data=value)
    return path


def good(n=4, length=500):
    return {"tssseq": np.zeros((n, 2, length, 1), np.float32),
            "netseq": np.ones((n, 2, length, 1), np.float32)}


def test_files_not_in_the_authors_layout_are_one_line_errors(tmp_path):
    missing = write(tmp_path / "missing.h5", {"netseq": good()["netseq"]})
    with pytest.raises(InputError, match=rf"^{missing}: no dataset 'tssseq' \(it has: netseq "
                                         r"\(4, 2, 500, 1\)\)$"):
        file_rows(missing, (), None)
    no_input = write(tmp_path / "no_input.h5", good())
    with pytest.raises(InputError, match=rf"^{no_input}: no dataset 'chipseq' \(it has: netseq "):
        file_rows(no_input, ("chipseq",), None)
    flat = write(tmp_path / "flat.h5", {**good(), "netseq": np.ones((4, 2, 500), np.float32)})
    with pytest.raises(InputError, match=rf"^{flat}: dataset 'netseq' has shape \(4, 2, 500\), "
                                         r"not \(windows, rows, length, 1\)"):
        file_rows(flat, ("netseq",), None)
    short = write(tmp_path / "short.h5", {**good(), "netseq": np.ones((4, 2, 400, 1))})
    with pytest.raises(InputError, match=rf"^{short}: dataset 'netseq' has shape \(4, 2, 400, 1\): "
                                         "4 windows of 400 bp, where 'tssseq' has 4 of 500$"):
        file_rows(short, ("netseq",), None)
    fewer = write(tmp_path / "fewer.h5", {**good(), "netseq": np.ones((3, 2, 500, 1))})
    with pytest.raises(InputError, match="dataset 'netseq' has shape \\(3, 2, 500, 1\\): 3 windows"):
        file_rows(fewer, (), None)
    info = write(tmp_path / "info.h5", {**good(), "info": np.zeros((4, 3))})
    with pytest.raises(InputError, match=rf"^{info}: 'info' has shape \(4, 3\), not \(4, 4\)"):
        file_rows(info, (), None)
    text = tmp_path / "text.h5"
    text.write_text("name\trole\tkind\tfiles\n")
    with pytest.raises(InputError, match=rf"^{text}: not an HDF5 file \("):
        file_rows(text, (), None)
    with pytest.raises(InputError, match=rf"^{tmp_path / 'absent.h5'}: not found$"):
        file_rows(tmp_path / "absent.h5", (), None)
    with pytest.raises(InputError, match=rf"^{tmp_path}: no train.h5 or training.h5"):
        training_data([tmp_path], (), None, (), 1000)
    # the splits must agree: the same rows per track and length in every file
    other = write(tmp_path / "other.h5", {**good(), "netseq": np.ones((4, 1, 500, 1))})
    with pytest.raises(InputError, match=rf"^{other}: dataset 'netseq' is 1 x 500, in "
                                         rf"{no_input} 2 x 500$"):
        training_data([no_input, other], (), None, (), 1000)


def test_a_bad_file_is_one_line_from_the_command(tmp_path, capsys, runner_state):
    text = tmp_path / "train.h5"
    text.write_text("not hdf5\n")
    write(tmp_path / "validation.h5", good())
    code = run_command(fiddle_train, "--hdf5", f"{text},{tmp_path / 'validation.h5'}", "-o",
                       tmp_path / "m")
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and error[-1].startswith(f"ffn-fiddle-train: error: {text}: not an HDF5 file")
    assert not (tmp_path / "m").exists()


def test_a_file_without_info_names_windows_by_row(tmp_path):
    folder = tmp_path / "noinfo"
    arrays = {**{name: np.random.default_rng(0).random((20, h, 500)) for name, h in
                 (("tssseq", 2), ("netseq", 2))}, "info": np.zeros((20, 4))}
    write_authors_hdf5(folder, arrays, info=False)
    view, samples = file_rows(folder / "test.h5", (), None)
    assert view.inputs == (("netseq", 2),)
    assert samples.chrom_names == ("row",) and np.array_equal(samples.start, np.arange(2))
    inputs, target = view.read(samples)
    with h5py.File(folder / "test.h5", "r") as handle:
        assert np.array_equal(inputs["netseq"], handle["netseq"][:, :, :, 0].transpose(0, 2, 1))
