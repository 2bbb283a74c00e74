"""ffn-motifs: first-layer kernels turned into motifs, footprints, logos and database matches, as
the original FactorNet's visualize.py did (vectorised here), and its one-line errors."""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
import pytest

from fiddle_factornet.data.genome import encode, onehot, reverse_complement_onehot
from fiddle_factornet.demo.factornet import DEMO_MOTIFS, consensus_pwm
from fiddle_factornet.errors import InputError
from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
from fiddle_factornet.factornet.motifs import inject_pwm, read_meme, read_meme_motifs, write_meme
from fiddle_factornet.interpret.kernels import KernelReader
from fiddle_factornet.interpret.matching import (MotifDatabase, benjamini_hochberg, match_motifs,
                                                 trim_flanks)
from fiddle_factornet.runs.record import RECORD_NAME, RunRecord

BIN = Path(__file__).resolve().parents[1] / "bin"
TRACKS = ("Unique35", "DGF")  # the demo cell types' tracks
SMALL = FactorNetConfig(input_length=300, kernels=4, kernel_width=26, recurrent=-1, dense=8)


def run(*args):
    return subprocess.run([sys.executable, str(BIN / "ffn-motifs"), *map(str, args)],
                          capture_output=True, text=True)


def one_line_error(result):
    """The command's error line: exit 2, no traceback, one error line, last on stderr."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("ffn-motifs: error: ")
    assert sum(line.startswith("ffn-motifs:") for line in lines) == 1
    return lines[-1]


def model_folder(path: Path, model, cfg: FactorNetConfig, tfs=("CTCF",), tracks=TRACKS) -> Path:
    """A FactorNet model folder of ``model``, as ffn-train writes one (less the training)."""
    path.mkdir()
    model.save(path / "model.keras")
    RunRecord("test model", {}, family="factornet", architecture=asdict(cfg),
              tfs=list(tfs)).write(path / RECORD_NAME)
    (path / "chip.txt").write_text("".join(f"{tf}\n" for tf in tfs))
    (path / "bigwig.txt").write_text("".join(f"{name}\n" for name in tracks))
    (path / "feature.txt").write_text("bigwig\n")
    return path


def motif_file(path: Path, decoys: int = 40, seed: int = 7) -> Path:
    """The demo's planted motifs among ``decoys`` random ones made the same way (TOMTOM's
    p-values take the database's columns as background: it warns below 25 motifs)."""
    rng = np.random.default_rng(seed)
    names = [f"{tf}_demo {tf}" for tf in DEMO_MOTIFS]
    ppms = [consensus_pwm(consensus, 0.85) for consensus in DEMO_MOTIFS.values()]
    for i in range(decoys):
        names.append(f"decoy_{i} DECOY{i}")
        ppms.append(consensus_pwm("".join(rng.choice(list("ACGT"), rng.integers(8, 21))), 0.85))
    write_meme(path, names, ppms, [100] * len(names))
    return path


def read_matches(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "matches.tsv", sep="\t", comment="#")


@pytest.fixture(scope="module")
def injected(small_demo, tmp_path_factory):
    """A small model whose kernel 0 holds the demo's CTCF motif and kernel 1 its reverse
    complement (``inject_pwm``, what ffn-train -mo does), the other kernels zero."""
    root = tmp_path_factory.mktemp("injected")
    model = build_factornet(SMALL)
    conv = model.get_layer("strand_trunk").get_layer("conv")
    kernel, bias = conv.get_weights()
    conv.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])
    inject_pwm(model, read_meme(small_demo / "factornet" / "motifs.meme")["CTCF"])
    return model_folder(root / "model", model, SMALL), motif_file(root / "motifs.meme")


@pytest.mark.slow  # TOMTOM's numba compile or command subprocesses
def test_an_injected_motif_comes_back_on_both_strands(small_demo, injected, tmp_path):
    folder, database = injected
    out = tmp_path / "motifs"
    result = run("-i", small_demo / "factornet" / "demoA", "-m", folder, "--genome",
                 small_demo / "genome" / "demo.fa", "--blacklist",
                 small_demo / "genome" / "blacklist.bed.gz", "--motif_db", database, "-o", out)
    assert result.returncode == 0, result.stderr[-3000:]
    best = read_matches(out).query("rank == 1 and layer == 'conv'").set_index("kernel")
    # kernel 0 holds the motif as written, kernel 1 its reverse complement
    assert best.loc[0, "target_id"] == best.loc[1, "target_id"] == "CTCF_demo"
    assert (best.loc[0, "orientation"], best.loc[1, "orientation"]) == ("+", "-")
    assert best.loc[0, "q_value"] < 1e-3 and best.loc[1, "q_value"] < 1e-3
    # trimmed to the motif's 19 columns, centred in the 26 as inject_pwm put them
    assert (best.loc[0, "query_start"], best.loc[0, "query_end"]) == (4, 23)
    assert best.loc[0, "offset"] == 0 and best.loc[0, "overlap"] == 19
    kernels = pd.read_csv(out / "kernels.tsv", sep="\t").query("layer == 'conv'")
    assert kernels["nsites"].tolist()[2:] == [0, 0]  # zero kernels: no maximum > 0
    assert kernels["nsites"].iloc[0] > 100
    motifs = read_meme_motifs(out / "motifs.meme")  # the MEME file parses back; no empty kernels
    assert [(m.id, m.name) for m in motifs] == [("M0", "O0"), ("M1", "O1")]  # as the original
    # the same sites, read on the other strand (inject_pwm places both at columns 4..22)
    np.testing.assert_allclose(motifs[1].ppm[4:23], motifs[0].ppm[4:23][::-1, ::-1], atol=0.02)
    assert "nsites= " in (out / "motifs.meme").read_text()
    assert (out / "motifs2.meme").is_file()
    for suffix in ("", "2"):
        for track in TRACKS:
            assert np.load(out / f"{track}_meansignal{suffix}.npy").shape == (4, 26)
    footprints = pd.read_csv(out / "footprints.tsv", sep="\t")
    assert len(footprints) == 2 * 4 * 26 * len(TRACKS)
    assert list(footprints.columns) == ["layer", "kernel", "track", "position", "mean"]
    assert {p.name for p in (out / "logos").iterdir()} == {"kernel_0.png", "kernel_1.png"}
    assert (out / "logo_sheet.png").stat().st_size > 1000
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["chroms"] == ["chr11"] and record["windows"] > 500
    assert record["motif_database"]["motifs"] == 42


def test_vectorised_sites_equal_a_window_by_window_reading():
    """The sums and counts equal those of the original's loop over windows and kernels, on both
    strands, with maxima <= 0 left out (kernel 2 never fires)."""
    import keras

    cfg = FactorNetConfig(input_length=40, n_tracks=1, kernels=3, kernel_width=5, recurrent=-1,
                          dense=4)
    model = build_factornet(cfg)
    conv = model.get_layer("strand_trunk").get_layer("conv")
    kernel, bias = conv.get_weights()
    bias[2] = -100.0
    conv.set_weights([kernel, bias])
    rng = np.random.default_rng(3)
    bases = onehot(rng.integers(0, 4, (7, 40)))
    track = rng.random((7, 40, 1)).astype(np.float32)
    forward = np.concatenate([bases, track], -1)
    reverse = np.concatenate([reverse_complement_onehot(bases), track[:, ::-1]], -1)
    sites = KernelReader(model).collect([(forward[:4], reverse[:4]), (forward[4:], reverse[4:])])

    trunk = model.get_layer("strand_trunk")
    layers = keras.Model(trunk.input, [trunk.get_layer("conv").output,
                                       trunk.get_layer("conv_dense").output])
    expected = {name: (np.zeros((3, 5, 5)), np.zeros(3, int)) for name in ("conv", "conv_dense")}
    for windows in (forward, reverse):
        for name, activations in zip(expected, layers.predict(windows, verbose=0)):
            sums, nsites = expected[name]
            for n in range(len(windows)):
                for k in range(3):
                    if activations[n, :, k].max() > 0:
                        start = activations[n, :, k].argmax()
                        sums[k] += windows[n, start:start + 5]
                        nsites[k] += 1
    for name, (sums, nsites) in expected.items():
        np.testing.assert_allclose(sites[name].sums, sums, rtol=1e-6)
        assert sites[name].nsites.tolist() == nsites.tolist()
        assert sites[name].windows == 7
    assert sites["conv"].nsites[2] == 0 and sites["conv"].nsites[:2].min() > 0
    ppm, footprints = sites["conv"].ppm, sites["conv"].footprints
    sums, nsites = expected["conv"][0][:2], expected["conv"][1][:2, None, None]
    np.testing.assert_allclose(ppm[:2], sums[..., :4] / nsites)  # no N: column totals = nsites
    np.testing.assert_allclose(footprints[:2], sums[..., 4:] / nsites)
    assert (ppm[2] == 0.25).all() and np.isnan(footprints[2]).all()


def test_meme_files_round_trip_and_other_files_are_refused(tmp_path):
    ppms = [consensus_pwm("ACGTTA", 0.7), consensus_pwm("GGC", 0.9)]
    write_meme(tmp_path / "m.meme", ["kernel_0", "kernel_3"], ppms, [10, 3])
    motifs = read_meme_motifs(tmp_path / "m.meme")
    assert [(m.id, m.name) for m in motifs] == [("kernel_0", "kernel_0"), ("kernel_3", "kernel_3")]
    for motif, ppm in zip(motifs, ppms):
        np.testing.assert_allclose(motif.ppm, ppm, atol=1e-6)
    assert set(read_meme(tmp_path / "m.meme")) == {"KERNEL_0", "KERNEL_3"}
    assert "letter-probability matrix: alength= 4 w= 6 nsites= 10 E= 1337.0e-6" in \
        (tmp_path / "m.meme").read_text()
    (tmp_path / "peaks.bed").write_text("chr1\t10\t20\n")
    with pytest.raises(InputError, match=r"peaks.bed: not a MEME motif file"):
        read_meme_motifs(tmp_path / "peaks.bed")
    (tmp_path / "empty.meme").write_text("MEME version 4\n\nALPHABET= ACGT\n")
    with pytest.raises(InputError, match="without any motif"):
        MotifDatabase.meme(tmp_path / "empty.meme")
    (tmp_path / "bad.meme").write_text("MEME version 4\n\nMOTIF X\nletter-probability matrix: "
                                       "alength= 4 w= 2\n0.5 0.5 0 0\n0.5 x 0 0\n")
    with pytest.raises(InputError, match="line 5: motif X's matrix is not 2 rows"):
        read_meme_motifs(tmp_path / "bad.meme")


@pytest.mark.slow  # TOMTOM's numba compile or command subprocesses
def test_trimming_q_values_and_matching_a_planted_motif_in_a_database(tmp_path):
    flank = np.full((3, 4), 0.25)
    ppm = np.concatenate([flank, consensus_pwm(DEMO_MOTIFS["HNF4A"], 0.85), flank[:2]])
    assert trim_flanks(ppm) == slice(3, 16)
    assert trim_flanks(flank) == slice(0, 0)
    np.testing.assert_allclose(benjamini_hochberg(np.array([[0.01, 0.04, 0.03, 0.5]])),
                               [[0.04, 0.16 / 3, 0.16 / 3, 0.5]])
    database = MotifDatabase.meme(motif_file(tmp_path / "db.meme"))
    codes = encode(DEMO_MOTIFS["HNF4A"])
    reverse = onehot(3 - codes[::-1]) * 0.9 + 0.025  # the reverse complement, as a matrix
    table = match_motifs([ppm, None, flank, np.concatenate([flank, reverse])], database, top=3)
    assert table["kernel"].tolist() == [0, 0, 0, 3, 3, 3]  # no motif, no information: no match
    best = table[table["rank"] == 1].set_index("kernel")
    assert best.loc[0, "target_name"] == best.loc[3, "target_name"] == "HNF4A"
    assert (best.loc[0, "orientation"], best.loc[3, "orientation"]) == ("+", "-")
    assert (best.loc[0, "offset"], best.loc[0, "overlap"]) == (0, 13)
    assert (best.loc[3, "query_start"], best.loc[3, "query_end"]) == (3, 16)
    assert (best["e_value"] == best["p_value"] * 42).all()
    assert (table["q_value"] >= table["p_value"]).all()


def test_jaspar_ships_offline_as_probabilities():
    database = MotifDatabase.jaspar()
    assert database.description.startswith("JASPAR") and "vertebrates" in database.description
    assert len(database) > 500 and "CTCF" in database.names
    assert all(abs(ppm.sum(axis=1) - 1).max() < 1e-9 for ppm in database.ppms)


@pytest.mark.slow  # TOMTOM's numba compile or command subprocesses
def test_errors_are_one_line(small_demo, injected, tmp_path):
    import keras

    folder, database = injected
    data = ["-i", small_demo / "factornet" / "demoA", "--genome",
            small_demo / "genome" / "demo.fa", "--blacklist", "none"]
    fiddle = tmp_path / "fiddle_model"
    fiddle.mkdir()
    (fiddle / "model.keras").write_bytes(b"")
    RunRecord("fiddle training", {}, family="fiddle", architecture={}).write(fiddle / RECORD_NAME)
    assert "a FIDDLE model folder, not a FactorNet one" in one_line_error(
        run("-m", fiddle, *data, "-o", tmp_path / "a"))

    dense = keras.Sequential([keras.Input((300, 6)), keras.layers.Dense(1)])
    assert "no first convolution" in one_line_error(
        run("-m", model_folder(tmp_path / "dense", dense, SMALL), *data, "--motif_db", "none",
            "-o", tmp_path / "b"))

    bed = tmp_path / "regions.bed"
    bed.write_text("chr11\t1000\t1200\nchrZ\t500\t700\n")
    line = one_line_error(run("-m", folder, *data, "-b", bed, "--motif_db", "none",
                              "-o", tmp_path / "c"))
    assert "regions.bed" in line and "'chrZ' is not in the genome" in line

    assert "not a MEME motif file" in one_line_error(
        run("-m", folder, *data, "--motif_db", bed, "-o", tmp_path / "d"))
    assert not any((tmp_path / name).exists() for name in "abcd")


@pytest.mark.slow
def test_a_trained_ctcf_model_learns_the_motif_and_its_footprint(tmp_path):
    """On the default-size demo, a small CTCF model trained for 40 short epochs has a kernel
    whose best match is the planted CTCF motif; at the bound sites of the held-out cell type,
    the kernel's DNase footprint is the demo's: fewer cuts over the motif than on its flanks."""
    from fiddle_factornet.demo import make_demo
    from fiddle_factornet.factornet.training import TrainSettings, train
    from fiddle_factornet.interpret.kernels import kernel_motifs

    demo = make_demo(tmp_path / "demo")
    cells, genome = demo / "factornet", str(demo / "genome" / "demo.fa")
    blacklist = str(demo / "genome" / "blacklist.bed.gz")
    cfg = FactorNetConfig(input_length=300, kernels=32, kernel_width=30, recurrent=-1, dense=16)
    train(TrainSettings(input_dirs=(str(cells / "demoA"), str(cells / "demoB")), genome=genome,
                        output_dir=str(tmp_path / "model"), factor="CTCF", blacklist=blacklist,
                        epochs=40, patience=40, learning_rate=0.01, batch_size=32, seed=1,
                        architecture=cfg))
    out = tmp_path / "motifs"
    kernel_motifs(tmp_path / "model", cells / "demoC", genome, out, blacklist=blacklist,
                  bed=str(cells / "demoC" / "ChIPseq.demoC.CTCF.conservative.train.narrowPeak.gz"),
                  chroms=None, motif_db=str(motif_file(tmp_path / "db.meme")))
    best = read_matches(out).query("layer == 'conv' and rank == 1")
    ctcf = best[best["target_id"] == "CTCF_demo"].sort_values("p_value")
    assert len(ctcf) and ctcf["q_value"].iloc[0] < 0.01, best.to_string()
    kernel = ctcf.iloc[0]
    # the kernel columns aligned with the motif's 19 (TOMTOM's offset: where the trimmed query
    # starts in the target, in the target's matched orientation)
    columns = np.arange(19) + kernel["query_start"] - kernel["offset"]
    over = columns[(columns >= 0) & (columns < cfg.kernel_width)]
    flanks = np.setdiff1d(np.arange(cfg.kernel_width), over)
    footprint = np.load(out / "DGF_meansignal.npy")[kernel["kernel"]]
    assert len(over) >= 10 and len(flanks) >= 5
    assert footprint[over].mean() < 0.5 * footprint[flanks].mean(), footprint
