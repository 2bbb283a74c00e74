"""The models we ship (models/): each predicts, through ffn-predict / ffn-fiddle-predict and its
name, the check numbers its card recorded when it was converted or trained; every card holds the
required facts; the original's licence notice is there; names resolve; ffn-models lists them and
fetches and converts the original's other models."""

import gzip
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet import shipped
from fiddle_factornet.cli import factornet_predict, fiddle_predict
from fiddle_factornet.cli import models as models_cli
from fiddle_factornet.data.fetch import file_md5
from fiddle_factornet.errors import InputError
from fiddle_factornet.runs.models import CHECKOUT_MODELS, MODELS_ENV, find_models, resolve_model_dir

from .conftest import run_command
from .http_server import serve_folder

REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
REFERENCE = Path(os.environ[REFERENCE_ENV]) / "factornet" if os.environ.get(REFERENCE_ENV) else None
needs_reference = pytest.mark.skipif(
    REFERENCE is None, reason=f"{REFERENCE_ENV} is unset: it points at the reference data "
                              "(the original FactorNet's models)")

SHIPPED = find_models([CHECKOUT_MODELS])
#: the twelve original models available to the project, and the demo-trained ones
ORIGINALS = ("E2F1/GENCODE_Unique35_DGF", "E2F1/onePeak_Unique35_DGF",
             "EGR1/meta_RNAseq_Unique35_DGF", "EGR1/onePeak_DGF", "FOXA1/onePeak_DGF",
             "FOXA2/onePeak_Unique35_DGF", "GABPA/metaGENCODE_RNAseq_Unique35_DGF",
             "GABPA/meta_RNAseq_Unique35_DGF", "HNF4A/onePeak_Unique35_DGF",
             "MAX/onePeak_Unique35_DGF", "NANOG/GENCODE_Unique35_DGF",
             "NANOG/onePeak_Unique35_DGF")
DEMO = ("demo/factornet_CTCF", "demo/fiddle_combined")


def _one_of_each_kind() -> set[str]:
    """Of each family and source, the model with the most inputs (tracks, meta features,
    annotations; the first by name among equals): checked in the default suite, the others
    with the slow tests (they go through the same code)."""
    best: dict[tuple, tuple[int, str]] = {}
    for name, folder in sorted(SHIPPED.items()):
        card = shipped.read_card(folder) or {}
        inputs = len(card.get("tracks", [])) + len((card.get("meta") or {}).get("names", [])) + \
            len((card.get("annotations") or {}).get("names", []))
        kind = (card.get("family"), card.get("source"))
        if kind not in best or inputs > best[kind][0]:
            best[kind] = (inputs, name)
    return {name for _, name in best.values()}


FAST = _one_of_each_kind()


@pytest.fixture(autouse=True)
def checkout_models_only(monkeypatch):
    """Names resolve in the checkout's models/ only."""
    monkeypatch.delenv(MODELS_ENV, raising=False)


def test_every_model_is_shipped():
    assert set(ORIGINALS + DEMO) <= set(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_card(name):
    folder = SHIPPED[name]
    card = shipped.read_card(folder)
    assert card is not None, f"{folder} has no {shipped.CARD_JSON}"
    assert [f for f in shipped.CARD_FIELDS if f not in card] == []
    assert card["name"] == name and card["card_format"] == shipped.CARD_FORMAT
    assert card["family"] in ("factornet", "fiddle") and card["tracks"]
    assert all(track["how"] for track in card["tracks"])
    assert card["input_length"] == card["architecture"].get("input_length",
                                                            card["architecture"].get("length"))
    assert card["trained_on"]["statement"] and card["made"]["package_version"]
    assert card["paper_scores"]["value"] == shipped.NOT_AVAILABLE or \
        isinstance(card["paper_scores"]["value"], dict)
    check = card["check"]
    assert len(check["values"]) == shipped.CHECK_VALUES
    assert check["rtol"] <= 1e-5 and check["atol"] <= 1e-8
    assert np.isfinite(check["values"]).all()
    assert name in (folder / shipped.CARD_MD).read_text()
    # as small as the format allows: no second copy of the weights, no logs
    assert [n for n in shipped.NOT_SHIPPED + ("final_model.hdf5",) if (folder / n).exists()] == []
    if card["source"] == "original":
        assert card["variant"] == name.split("/")[1].split("_")[0]
        assert set(card["original"]["files_md5"]) >= {"model.json", "best_model.hdf5",
                                                      "chip.txt", "bigwig.txt", "feature.txt"}
        assert all(re.fullmatch(r"[0-9a-f]{32}", md5)
                   for md5 in card["original"]["files_md5"].values())
        assert card["test_cell_type"]["cell_types"]
        assert (card["meta"] is not None) == (card["variant"] in ("meta", "metaGENCODE"))
        assert (card["annotations"] is not None) == (card["variant"] in ("GENCODE",
                                                                          "metaGENCODE"))


@needs_reference
@pytest.mark.parametrize("name", [n for n in ORIGINALS if n in SHIPPED])
def test_card_md5s_are_the_reference_files(name):
    card = shipped.read_card(SHIPPED[name])
    for file, md5 in card["original"]["files_md5"].items():
        assert file_md5(REFERENCE / "models" / name / file) == md5, file


def test_license_notice():
    text = (CHECKOUT_MODELS / "factornet" / "LICENSE").read_text()
    assert " ".join(text.split()).startswith(shipped.LICENSE_NOTICE)
    assert "uci-cbcl/FactorNet" in text and "MIT License" in text
    assert "Permission is hereby granted" in text


def _predicted(name: str, folder: Path, card: dict, work: Path) -> list[float]:
    """The check's values, predicted again through the command and the model's name."""
    if card["family"] == "fiddle":
        inputs = shipped.write_fiddle_check_inputs(work / "check", shipped.fiddle_inputs_of(folder))
        assert run_command(fiddle_predict, *shipped.fiddle_check_command(
            inputs, name, work / "predicted")) == 0
        return shipped.read_fiddle_check_values(work / "predicted" / "profiles.h5")
    facts = shipped.folder_facts(folder)
    inputs = shipped.write_factornet_check_inputs(work / "check", facts["tracks"], facts["meta"],
                                                  "gencode" in facts["features"])
    assert run_command(factornet_predict, *shipped.factornet_check_command(
        inputs, name, card["check"]["tf"], work / "scores.tab.gz")) == 0
    return shipped.read_submission_scores(work / "scores.tab.gz")


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in FAST else pytest.mark.slow)
                                  for n in sorted(SHIPPED)])
def test_predictions_as_recorded(name, tmp_path, runner_state):
    folder = SHIPPED[name]
    card = shipped.read_card(folder)
    values = _predicted(name, folder, card, tmp_path)
    np.testing.assert_allclose(values, card["check"]["values"], rtol=card["check"]["rtol"],
                               atol=card["check"]["atol"])


def test_check_inputs_are_deterministic(tmp_path):
    args = (["Unique35", "DGF"], ["GEPC1", "GEPC2"], True)
    shipped.write_factornet_check_inputs(tmp_path / "a", *args)
    shipped.write_factornet_check_inputs(tmp_path / "b", *args)
    written = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                     if p.is_file())
    # genome, blacklist, bins; bigwig.txt, meta.txt, two bigWigs; six annotation BEDs
    assert len(written) == 3 + 4 + 6
    for path in written:
        a, b = ((tmp_path / side / path).read_bytes() for side in "ab")
        if path.suffix == ".gz":  # the gzip header holds a time
            a, b = gzip.decompress(a), gzip.decompress(b)
        assert a == b, path


# ---------------------------------------------------------------------------------------------
# names


def test_names_resolve(tmp_path, monkeypatch):
    assert resolve_model_dir("HNF4A/onePeak_Unique35_DGF") == \
        CHECKOUT_MODELS / "factornet" / "HNF4A" / "onePeak_Unique35_DGF"
    assert resolve_model_dir("demo/factornet_CTCF") == CHECKOUT_MODELS / "demo" / "factornet_CTCF"
    # a folder of that path wins over the name
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo" / "factornet_CTCF").mkdir(parents=True)
    assert resolve_model_dir("demo/factornet_CTCF") == Path("demo/factornet_CTCF")
    # $FIDDLE_FACTORNET_MODELS is searched before the checkout
    mine = tmp_path / "mine"
    (mine / "factornet" / "HNF4A" / "onePeak_Unique35_DGF").mkdir(parents=True)
    (mine / "factornet" / "HNF4A" / "onePeak_Unique35_DGF" / "model.keras").write_bytes(b"")
    monkeypatch.setenv(MODELS_ENV, f"{tmp_path / 'absent'}{os.pathsep}{mine}")
    assert resolve_model_dir("HNF4A/onePeak_Unique35_DGF") == \
        mine / "factornet" / "HNF4A" / "onePeak_Unique35_DGF"


def test_unknown_name_lists_close_ones():
    with pytest.raises(InputError, match=r"model folder not found.*close names: "
                                         r"HNF4A/onePeak_Unique35_DGF"):
        resolve_model_dir("HNF4A/onePeak")
    with pytest.raises(InputError, match=r"close names: .*GABPA/meta_RNAseq_Unique35_DGF"):
        resolve_model_dir("gabpa/meta_RNAseq_Unique35")
    with pytest.raises(InputError) as error:
        resolve_model_dir("no/such_model_anywhere_xyz")
    assert "\n" not in str(error.value) and "ffn-models lists them" in str(error.value)


def test_predict_with_an_unknown_name_is_one_line(small_demo, tmp_path, capsys, runner_state):
    assert run_command(factornet_predict, "-i", small_demo / "factornet/demoC", "-m",
                       "HNF4A/onePeak", "-f", "HNF4A", "-b",
                       small_demo / "factornet/regions/test_regions.blacklistfiltered.bed.gz",
                       "--genome", small_demo / "genome/demo.fa",
                       "-o", tmp_path / "out.tab.gz") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "close names: HNF4A/onePeak_Unique35_DGF" in err[0]


# ---------------------------------------------------------------------------------------------
# ffn-models


def test_list(capsys, runner_state):
    assert run_command(models_cli) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "family", "TFs"]
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(SHIPPED)
    assert run_command(models_cli, "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == set(SHIPPED)
    hnf4a = by_name["HNF4A/onePeak_Unique35_DGF"]
    assert hnf4a["family"] == "factornet" and hnf4a["tfs"] == ["HNF4A"]
    assert hnf4a["variant"] == "onePeak" and hnf4a["tracks"] == ["Unique35", "DGF"]
    assert hnf4a["input_length"] == 1002 and hnf4a["source"] == "original"
    assert Path(hnf4a["path"]) == SHIPPED["HNF4A/onePeak_Unique35_DGF"]
    assert by_name["demo/fiddle_combined"]["family"] == "fiddle"


def _served_originals(tmp_path: Path, models: dict[str, str]) -> tuple[Path, list[tuple]]:
    """A folder to serve holding the LICENSE and copies of reference models (served name ->
    reference name), and the manifest rows of its files (name, url path, file, destination)."""
    files = tmp_path / "files"
    rows = []
    license_ = files / "LICENSE"
    license_.parent.mkdir(parents=True)
    shutil.copy(REFERENCE / "LICENSE", license_)
    rows.append(("FactorNet/LICENSE", "LICENSE", license_, "originals/factornet/LICENSE"))
    for served, reference in models.items():
        for path in sorted((REFERENCE / "models" / reference).iterdir()):
            target = files / "models" / served / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            rows.append((f"FactorNet/{served}/{path.name}", f"models/{served}/{path.name}",
                         target, f"originals/factornet/{served}/{path.name}"))
    return files, rows


def _manifest(path: Path, server, rows, broken_md5=frozenset()) -> Path:
    """A manifest of the factornet-models group pointing at the served files (a wrong md5 for
    the entries named in ``broken_md5``)."""
    lines = [f"{name}\tfactornet-models\t{server.url(url)}\t{file.stat().st_size}\t"
             f"{'0' * 32 if name in broken_md5 else file_md5(file)}\t{destination}\t"
             for name, url, file, destination in rows]
    path.write_text("".join(line + "\n" for line in lines))
    return path


@needs_reference
@pytest.mark.slow
def test_fetch_originals(tmp_path, capsys, runner_state):
    """One model fetched and converted; one already shipped skipped without a download; files
    conversion does not read not fetched; a second run does nothing."""
    files, rows = _served_originals(tmp_path, {
        "HNF4A/onePeak_Unique35_DGF_2": "HNF4A/onePeak_Unique35_DGF",
        "HNF4A/onePeak_Unique35_DGF": "HNF4A/onePeak_Unique35_DGF"})
    models_dir = tmp_path / "models"
    with serve_folder(files) as server:
        manifest = _manifest(tmp_path / "manifest.txt", server, rows)
        args = ("--fetch_originals", "--manifest", manifest, "-o", tmp_path / "data",
                "--models_dir", models_dir, "--noprogress")
        assert run_command(models_cli, *args) == 0
        out = capsys.readouterr().out
        fetched = sorted(request.path for request in server.requests)
        assert run_command(models_cli, *args) == 0
        again = capsys.readouterr().out
        assert len(server.requests) == len(fetched)
    assert "converted: HNF4A/onePeak_Unique35_DGF_2" in out and "already there 1" in out
    # only the files conversion reads (not history.pkl), and nothing of the shipped model
    assert fetched == sorted(["LICENSE"] + [f"models/HNF4A/onePeak_Unique35_DGF_2/{name}" for
                                            name in ("best_model.hdf5", "bigwig.txt", "chip.txt",
                                                     "feature.txt", "model.json")])
    assert "converted 0, already there 2" in again
    folder = models_dir / "factornet" / "HNF4A" / "onePeak_Unique35_DGF_2"
    assert (folder / "model.keras").is_file() and (folder / ".gitignore").is_file()
    assert " ".join((models_dir / "factornet" / "LICENSE").read_text().split()).startswith(
        shipped.LICENSE_NOTICE)
    card = shipped.read_card(folder)
    assert card["made"]["command"] == "ffn-models --fetch_originals"
    # the same weights as the shipped HNF4A model: the same check numbers
    np.testing.assert_allclose(card["check"]["values"], shipped.read_card(
        SHIPPED["HNF4A/onePeak_Unique35_DGF"])["check"]["values"], rtol=1e-6)
    assert (tmp_path / "data" / models_cli.RECORD_NAME).is_file()


@needs_reference
def test_fetch_originals_checksum_mismatch(tmp_path, capsys, runner_state):
    files, rows = _served_originals(
        tmp_path, {"HNF4A/onePeak_Unique35_DGF_3": "HNF4A/onePeak_Unique35_DGF"})
    with serve_folder(files) as server:
        manifest = _manifest(tmp_path / "manifest.txt", server, rows,
                             {"FactorNet/HNF4A/onePeak_Unique35_DGF_3/best_model.hdf5"})
        code = run_command(models_cli, "--fetch_originals", "--manifest", manifest, "-o",
                           tmp_path / "data", "--models_dir", tmp_path / "models", "--noprogress")
    captured = capsys.readouterr()
    assert code == 1
    assert "failed: HNF4A/onePeak_Unique35_DGF_3: a file failed to download" in captured.out
    assert "md5" in captured.out
    assert not (tmp_path / "models" / "factornet" / "HNF4A" / "onePeak_Unique35_DGF_3").exists()
    assert not (tmp_path / "data" / "originals" / "factornet" / "HNF4A" /
                "onePeak_Unique35_DGF_3" / "best_model.hdf5").exists()


def test_check_inputs_are_written_once_and_the_same_each_time(tmp_path, capsys, runner_state):
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_command(models_cli, "--check_inputs", first) == 0
    assert run_command(models_cli, "--check_inputs", second) == 0
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*"))
    assert {"cell/bigwig.txt", "cell/meta.txt", "genome.fa", "blacklist.bed", "bins.bed",
            "annotations"} <= set(names)
    for name in names:
        if (first / name).is_file():
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert [line.split("\t")[1] for line in
            (first / "cell/meta.txt").read_text().splitlines()] == list(shipped.ORIGINAL_META_NAMES)
    capsys.readouterr()
    assert run_command(models_cli, "--check_inputs", first) == 2  # an existing folder
    assert "exists" in capsys.readouterr().err
    assert run_command(models_cli, "--check_inputs", tmp_path / "x", "--json") == 2
