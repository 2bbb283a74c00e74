"""ffn-fetch and its library, against a local HTTP server on 127.0.0.1 (no outside network)."""

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet.cli import fetch as fetch_cli
from fiddle_factornet.data import fetch
from fiddle_factornet.data.fetch import (fetch_entries, read_manifest, select_entries,
                                         default_manifest)
from fiddle_factornet.errors import InputError

from .conftest import run_command
from .http_server import closed_port, serve_folder

REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
RAW = "https://github.com/uci-cbcl/FactorNet/raw/master/"
#: the 13 cell types of the original's data/ folder
CELL_TYPES = ("A549", "GM12878", "H1-hESC", "HCT116", "HeLa-S3", "HepG2", "IMR-90", "K562",
              "MCF-7", "PC-3", "Panc1", "induced_pluripotent_stem_cell", "liver")
SIZE = 300_000


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def served(tmp_path):
    """A folder of files to serve: a.bin (300 kB of random bytes) and b.txt."""
    folder = tmp_path / "served"
    folder.mkdir()
    data = np.random.default_rng(7).integers(0, 256, SIZE, dtype=np.uint8).tobytes()
    (folder / "a.bin").write_bytes(data)
    (folder / "b.txt").write_bytes(b"second file\n")
    return folder


def entry(name, url, data=None, destination=None, group="test", note="", size=True, checksum=True):
    """A manifest entry for ``url``; size and md5 from ``data`` when given (and asked for)."""
    return fetch.ManifestEntry(name, group, url,
                               len(data) if data is not None and size else None,
                               md5(data) if data is not None and checksum else None,
                               destination or f"files/{name}", note)


def write_manifest(path, entries):
    lines = ["# a test manifest"]
    for e in entries:
        lines.append("\t".join([e.name, e.group, e.url, "-" if e.size is None else str(e.size),
                                e.md5 or "-", e.destination, e.note]))
    path.write_text("\n".join(lines) + "\n")
    return path


def one_line(text):
    assert text and "\n" not in text.strip(), text
    return text


# ---------------------------------------------------------------------------------------------
# downloads


def test_fresh_download_is_verified_and_renamed(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    with serve_folder(served) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root, progress=False)
    (result,) = summary.results
    assert result.status == "fetched" and result.transferred == SIZE
    assert (root / "files/a.bin").read_bytes() == data
    assert not (root / "files/a.bin.partial").exists()
    assert [(r.range, r.status, r.sent) for r in server.requests] == [(None, 200, SIZE)]


def test_partial_file_is_resumed_with_a_range_request(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/a.bin.partial").write_bytes(data[:100_000])
    with serve_folder(served) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root, progress=False)
    assert summary.results[0].status == "fetched"
    assert summary.results[0].transferred == SIZE - 100_000
    assert [(r.range, r.status, r.sent) for r in server.requests] == \
        [("bytes=100000-", 206, SIZE - 100_000)]
    assert (root / "files/a.bin").read_bytes() == data


def test_server_ignoring_range_restarts_cleanly(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/a.bin.partial").write_bytes(b"x" * 100_000)  # not even the right bytes
    with serve_folder(served, ignore_range=True) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root, progress=False)
    assert summary.results[0].status == "fetched"
    assert [(r.range, r.status) for r in server.requests] == [("bytes=100000-", 200)]
    assert (root / "files/a.bin").read_bytes() == data


def test_partial_as_long_as_the_file_is_fetched_again(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/a.bin.partial").write_bytes(data)  # size unknown: nothing says it is whole
    with serve_folder(served) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data, size=False)], root,
                                progress=False)
    assert summary.results[0].status == "fetched"
    assert [(r.range, r.status) for r in server.requests] == [(f"bytes={SIZE}-", 416),
                                                              (None, 200)]
    assert (root / "files/a.bin").read_bytes() == data


def test_size_offered_unlike_the_manifests_fails_early(served, tmp_path):
    with serve_folder(served) as server:
        wrong = fetch.ManifestEntry("a.bin", "test", server.url("a.bin"), 5, None, "files/a.bin")
        summary = fetch_entries([wrong], tmp_path / "root", progress=False)
    assert f"the server offers {SIZE} bytes, the manifest says 5" in \
        one_line(summary.failed[0].message)
    assert not (tmp_path / "root/files/a.bin.partial").exists()


def test_broken_connection_is_resumed(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    with serve_folder(served, drop_after=50_000) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root, progress=False)
    assert summary.results[0].status == "fetched"
    assert [(r.range, r.sent) for r in server.requests] == \
        [(None, 50_000), ("bytes=50000-", SIZE - 50_000)]
    assert (root / "files/a.bin").read_bytes() == data


def test_connection_breaking_every_time_keeps_the_partial(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    with serve_folder(served, drop_after=10_000, drops=10) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root,
                                progress=False, retries=1)
    (result,) = summary.failed
    assert "connection broke after byte 20000" in one_line(result.message)
    assert len(server.requests) == 2
    assert (root / "files/a.bin.partial").read_bytes() == data[:20_000]
    assert not (root / "files/a.bin").exists()


def test_file_already_present_and_valid_is_not_requested(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/a.bin").write_bytes(data)
    with serve_folder(served) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data),
                                 entry("b.txt", server.url("b.txt"))], root, progress=False)
        # b.txt: size and md5 unknown, so once present it counts as done
        again = fetch_entries([entry("b.txt", server.url("b.txt"))], root, progress=False)
    assert [r.status for r in summary.results] == ["present", "fetched"]
    assert again.results[0].status == "present"
    assert [r.path for r in server.requests] == ["b.txt"]


def test_file_in_place_that_differs_is_kept_unless_overwrite(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/a.bin").write_bytes(data[:10])
    with serve_folder(served) as server:
        kept = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root, progress=False)
        assert not server.requests
        replaced = fetch_entries([entry("a.bin", server.url("a.bin"), data)], root,
                                 progress=False, overwrite=True)
    assert "exists but does not match" in one_line(kept.failed[0].message)
    assert kept.text({"overwrite": "-oc"}).endswith("asked for) (see -oc)\n")
    assert replaced.results[0].status == "fetched"
    assert (root / "files/a.bin").read_bytes() == data


def test_command_replaces_mismatching_files_with_oc(served, tmp_path, runner_state, capsys):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/a.bin").write_bytes(b"old")
    with serve_folder(served) as server:
        manifest = write_manifest(tmp_path / "m.tsv", [entry("a.bin", server.url("a.bin"), data)])
        assert run_command(fetch_cli, "--manifest", manifest, "-o", root, "--get", "a.bin") == 1
        assert "(see -oc)" in capsys.readouterr().out
        assert (root / "files/a.bin").read_bytes() == b"old"
        assert run_command(fetch_cli, "--manifest", manifest, "-oc", root, "--get", "a.bin") == 0
    assert (root / "files/a.bin").read_bytes() == data
    with pytest.raises(SystemExit) as exit_:
        fetch_cli.entry_point(["--manifest", str(manifest), "-o", "a", "-oc", "b", "--list"])
    assert exit_.value.code == 2
    assert "give only one of -o/--output and -oc/--output_replace" in capsys.readouterr().err


def test_md5_mismatch_fails_and_leaves_nothing(served, tmp_path, runner_state, capsys):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    with serve_folder(served) as server:
        bad = fetch.ManifestEntry("a.bin", "test", server.url("a.bin"), SIZE, "0" * 32,
                                  "files/a.bin")
        manifest = write_manifest(tmp_path / "manifest.tsv", [bad])
        code = run_command(fetch_cli, "--manifest", manifest, "-o", root, "--get", "a.bin")
    assert code == 1
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "md5" in line]
    assert f"md5 {md5(data)}, expected {'0' * 32}" in line and "files/a.bin" in line
    assert not (root / "files/a.bin").exists()
    assert not (root / "files/a.bin.partial").exists()
    assert "ffn-fetch: error: 1 of 1 files failed" in err


def test_http_404_is_one_line(served, tmp_path):
    with serve_folder(served) as server:
        summary = fetch_entries([entry("gone", server.url("gone.bin"))], tmp_path / "root",
                                progress=False)
    assert "HTTP 404" in one_line(summary.failed[0].message)
    assert not (tmp_path / "root/files/gone").exists()


def test_unreachable_host_is_one_line(tmp_path):
    port = closed_port()
    summary = fetch_entries([entry("x", f"http://127.0.0.1:{port}/x.bin")], tmp_path / "root",
                            progress=False)
    assert f"cannot reach 127.0.0.1:{port}" in one_line(summary.failed[0].message)


def test_disk_full_keeps_the_partial_and_goes_on(served, tmp_path, monkeypatch):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"

    def half_then_full(handle, chunk):
        if handle.name.endswith("a.bin.partial"):
            handle.write(chunk[:1000])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        handle.write(chunk)

    monkeypatch.setattr(fetch, "_write_chunk", half_then_full)
    with serve_folder(served) as server:
        summary = fetch_entries([entry("a.bin", server.url("a.bin"), data),
                                 entry("b.txt", server.url("b.txt"))], root, progress=False)
    (failed,) = summary.failed
    assert "disk full after 1000 bytes; the partial file is kept" in one_line(failed.message)
    assert (root / "files/a.bin.partial").stat().st_size == 1000
    assert summary.results[1].status == "fetched"


def test_login_and_manual_entries_are_listed_not_fetched(served, tmp_path, runner_state, capsys):
    synapse = fetch.ManifestEntry("HepG2.1x.bw", "dream-HepG2",
                                  "https://www.synapse.org/#!Synapse:syn8073517", None, None,
                                  "HepG2/HepG2.1x.bw", "login: Synapse")
    page = fetch.ManifestEntry("GSE25107", "yeast",
                               "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=GSE25107",
                               None, None, "yeast/GSE25107/", "manual: NET-seq tracks")
    root = tmp_path / "root"
    summary = fetch_entries([synapse, page], root, progress=False)
    assert [r.status for r in summary.results] == ["login", "manual"]
    assert f"synapse get syn8073517 --downloadLocation {root / 'HepG2'}" in \
        summary.results[0].message
    assert summary.results[1].message.startswith("NET-seq tracks (https://www.ncbi")
    manifest = write_manifest(tmp_path / "manifest.tsv", [synapse, page])
    assert run_command(fetch_cli, "--manifest", manifest, "-o", root, "--get", "all") == 0
    out = capsys.readouterr().out
    assert "needs login 1, manual 1, failed 0" in out
    assert re.search(r"needs login: HepG2\.1x\.bw: synapse get syn8073517", out)


def test_entries_sharing_a_url_are_fetched_once_and_linked(served, tmp_path):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    with serve_folder(served) as server:
        url = server.url("a.bin")
        summary = fetch_entries([entry("one", url, data, "HepG2/a.bin"),
                                 entry("two", url, data, "liver/a.bin")], root, progress=False)
    assert [r.status for r in summary.results] == ["fetched", "linked"]
    assert len(server.requests) == 1
    assert (root / "liver/a.bin").is_symlink()
    assert os.readlink(root / "liver/a.bin") == os.path.join("..", "HepG2", "a.bin")
    assert (root / "liver/a.bin").read_bytes() == data


# ---------------------------------------------------------------------------------------------
# the manifest


GOOD = "a\tg\thttps://example.org/a\t10\t" + "0" * 32 + "\tx/a\tnote"


@pytest.mark.parametrize("line, message", [
    ("a\tg\thttps://example.org/a", "3 tab-separated columns, expected 7"),
    (GOOD.replace("\t10\t", "\tten\t"), "bad size_bytes 'ten'"),
    (GOOD.replace("0" * 32, "abc"), "bad md5 'abc'"),
    (GOOD.replace("https://example.org/a", "ftp://example.org/a"), "bad url"),
    (GOOD.replace("x/a", "../a"), "bad destination"),
    (GOOD.replace("x/a", "/abs/a"), "bad destination"),
    (GOOD.replace("x/a", "{cell}/a"), "bad destination"),
    (GOOD.replace("\tg\t", "\tg h\t"), "bad group"),
    (GOOD.replace("https://example.org/a", "https://www.synapse.org/#!Synapse:syn1"),
     "is a web page, not a file"),
])
def test_bad_manifest_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "m.tsv"
    path.write_text(f"# comment\n\n{line}\n")
    with pytest.raises(InputError, match=re.escape(f"{path}:3: ") + ".*" + re.escape(message)):
        read_manifest(path)


def test_duplicate_names_and_destinations_are_refused(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text(f"{GOOD}\n{GOOD.replace('x/a', 'x/b')}\n")
    with pytest.raises(InputError, match=r"m\.tsv:2: name 'a' already on line 1"):
        read_manifest(path)
    path.write_text(f"{GOOD}\n{GOOD.replace('a', 'b', 1)}\n")
    with pytest.raises(InputError, match=r"m\.tsv:2: destination 'x/a' already on line 1"):
        read_manifest(path)


def test_select_entries_by_name_group_and_all():
    entries = [entry("a", "https://h/a", group="one"), entry("b", "https://h/b", group="one"),
               entry("c", "https://h/c", group="two")]
    assert [e.name for e in select_entries(entries, ["two", "a"])] == ["a", "c"]
    assert [e.name for e in select_entries(entries, ["one", "b"])] == ["a", "b"]
    assert len(select_entries(entries, ["all"])) == 3
    with pytest.raises(InputError, match=r"unknown name or group: zz \(groups: one, two; all"):
        select_entries(entries, ["zz", "a"])
    with pytest.raises(InputError, match="nothing asked for"):
        select_entries(entries, [])


def test_the_real_manifest_is_complete():
    entries = read_manifest(default_manifest())
    groups = fetch.groups(entries)
    expected = ["hg19", "factornet-resources", "mappability", "factornet-models", "fiddle-yeast",
                "dream-final-round", *(f"dream-{cell}" for cell in CELL_TYPES)]
    assert sorted(groups) == sorted(expected)
    assert all(e.size is None or e.size > 0 for e in entries)
    for e in entries:
        if "synapse.org" in e.url:
            assert e.access in ("login", "manual"), e.name
    models = {Path(e.destination).parent for e in entries
              if e.group == "factornet-models" and e.destination.count("/") == 4}
    assert len(models) == 24
    assert all(e.url.startswith(RAW + "models/") for e in entries
               if e.group == "factornet-models" and e.destination.count("/") == 4)
    for cell in CELL_TYPES:
        mine = [e for e in entries if e.group == f"dream-{cell}"]
        assert any(e.destination == f"{cell}/bigwig.txt" for e in mine), cell
        assert any(e.access == "login" and e.destination.endswith(".1x.bw") for e in mine), cell
    final_round = {e.destination for e in entries if e.group == "dream-final-round"}
    assert {"resources/test_regions.blacklistfiltered.bed.gz",
            "resources/ladder_regions.blacklistfiltered.bed.gz",
            "labels/CTCF.test.labels.tsv.gz", "labels/TAF1.test.labels.tsv.gz"} <= final_round
    yeast = " ".join(e.url + " " + e.note for e in entries if e.group == "fiddle-yeast")
    for accession in ("GSE25107", "GSE64139", "sacCer3.fa.gz"):
        assert accession in yeast


@pytest.mark.skipif(not os.environ.get(REFERENCE_ENV),
                    reason=f"{REFERENCE_ENV} is unset: it points at the reference data "
                           "(e.g. /work/shared/reference)")
def test_the_real_manifest_matches_the_reference_files():
    reference = Path(os.environ[REFERENCE_ENV]) / "factornet"
    checked = 0
    for e in read_manifest(default_manifest()):
        if not e.url.startswith(RAW):
            continue
        path = reference / e.url[len(RAW):]
        if path.is_file():
            data = path.read_bytes()
            assert (e.size, e.md5) == (len(data), md5(data)), e.name
            checked += 1
    assert checked >= 100  # the resources, the HepG2 and liver files and the models held there


# ---------------------------------------------------------------------------------------------
# the command line


def test_list_shows_sizes_and_status(served, tmp_path, runner_state, capsys):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files/good").write_bytes(data)
    (root / "files/bad").write_bytes(b"nope")
    (root / "files/half.partial").write_bytes(data[:1000])
    entries = [entry("good", "https://h/good", data), entry("bad", "https://h/bad", data),
               entry("half", "https://h/half", data), entry("none", "https://h/none"),
               entry("other", "https://h/other", group="second")]
    manifest = write_manifest(tmp_path / "m.tsv", entries)
    assert run_command(fetch_cli, "--manifest", manifest, "-o", root, "--list") == 0
    out = capsys.readouterr().out
    assert "test: 4 entries, 900.0 kB + 1 of unknown size" in out
    assert re.search(r"good +300\.0 kB +valid", out)
    assert re.search(r"bad +300\.0 kB +invalid: size 4 bytes, expected 300000", out)
    assert re.search(r"half +300\.0 kB +partial: 1\.0 kB", out)
    assert re.search(r"none +- +missing", out)
    assert "second: 1 entry, size unknown" in out


def test_command_fetches_names_given_as_arguments(served, tmp_path, runner_state, capsys):
    data = (served / "a.bin").read_bytes()
    root = tmp_path / "root"
    with serve_folder(served) as server:
        manifest = write_manifest(tmp_path / "m.tsv", [
            entry("a.bin", server.url("a.bin"), data, group="one"),
            entry("b.txt", server.url("b.txt"), group="two")])
        fetch_cli.entry_point(["--manifest", str(manifest), "two", "-o", str(root), "--noprogress",
                               "a.bin"])
    assert "fetched 2 (300.0 kB), linked 0, already present 0" in capsys.readouterr().out
    record = json.loads((root / fetch_cli.RECORD_NAME).read_text())
    assert record["settings"]["get"] == ["two", "a.bin"]
    assert [r["status"] for r in record["results"]] == ["fetched", "fetched"]


def test_names_as_get_merges_arguments_into_get():
    assert fetch_cli.names_as_get(["hg19", "-o", "dir", "mappability"]) == \
        ["-o", "dir", "--get", "hg19,mappability"]
    assert fetch_cli.names_as_get(["--get", "a", "b", "--list"]) == ["--get", "a,b", "--list"]
    assert fetch_cli.names_as_get(["--get=a", "b"]) == ["--get=a,b"]
    assert fetch_cli.names_as_get(["--list"]) == ["--list"]


def test_missing_default_manifest_says_to_give_one(tmp_path, monkeypatch, runner_state, capsys):
    import fiddle_factornet

    monkeypatch.setattr(fiddle_factornet, "__file__",
                        str(tmp_path / "site-packages/fiddle_factornet/__init__.py"))
    assert run_command(fetch_cli, "--list") == 2
    err = capsys.readouterr().err
    assert "no data_manifest.txt beside this installation" in one_line(err)
    assert "(see --manifest)" in err


# ---------------------------------------------------------------------------------------------
# bin/ffn-dnase-bigwig, with stand-ins for samtools and bamCoverage

DNASE_BIGWIG = Path(__file__).resolve().parents[1] / "bin" / "ffn-dnase-bigwig"
SAMTOOLS = """#!/usr/bin/env bash
echo "samtools $*" >> "$TOOL_LOG"
case $1 in
    merge) touch "$4" ;;
    index) touch "$2.bai" ;;
esac
"""
BAMCOVERAGE = """#!/usr/bin/env bash
if [ "$1" = --help ]; then
    if [ "$DEEPTOOLS" = 2 ]; then echo "  --normalizeTo1x EFFECTIVE_GENOME_SIZE"; \
    else echo "  --normalizeUsing {RPKM,CPM,BPM,RPGC,None}"; echo "  --effectiveGenomeSize SIZE"; fi
    echo "  --Offset INT [INT ...]"
    exit 0
fi
echo "bamCoverage $*" >> "$TOOL_LOG"
while [ $# -gt 0 ]; do [ "$1" = -o ] && echo bigwig > "$2"; shift; done
"""


def dnase_bigwig(tmp_path, *args, deeptools="3", tools=("samtools", "bamCoverage")):
    """Run the script with stand-in tools (only those in ``tools``) first on PATH."""
    stubs = tmp_path / ("stubs-" + "-".join(tools))
    stubs.mkdir(exist_ok=True)
    for tool, text in (("samtools", SAMTOOLS), ("bamCoverage", BAMCOVERAGE)):
        if tool in tools:
            (stubs / tool).write_text(text)
            (stubs / tool).chmod(0o755)
    utilities = tmp_path / "utilities"  # what the script needs besides the tools, and no more
    if not utilities.exists():
        utilities.mkdir()
        for utility in ("bash", "dirname", "mkdir", "mktemp", "rm", "mv", "grep", "touch"):
            (utilities / utility).symlink_to(shutil.which(utility))
    env = {"PATH": f"{stubs}:{utilities}", "TOOL_LOG": str(tmp_path / "tools.log"),
           "DEEPTOOLS": deeptools}
    return subprocess.run(["bash", str(DNASE_BIGWIG), *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=tmp_path)


@pytest.mark.parametrize("deeptools, normalisation", [
    ("2", "--normalizeTo1x 2478297382"),
    ("3", "--normalizeUsing RPGC --effectiveGenomeSize 2478297382")])
def test_dnase_bigwig_runs_the_originals_recipe(tmp_path, deeptools, normalisation):
    for name in ("rep1.bam", "rep2.bam", "dac.bed.gz"):
        (tmp_path / name).write_bytes(b"")
    result = dnase_bigwig(tmp_path, "-b", "dac.bed.gz", "-p", "4", "-o", "out/GM12878.1x.bw",
                          "rep1.bam", "rep2.bam", deeptools=deeptools)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/GM12878.1x.bw").read_text() == "bigwig\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["GM12878.1x.bw"]  # no temp left
    merge, index, coverage = (tmp_path / "tools.log").read_text().splitlines()
    assert re.fullmatch(r"samtools merge -@ 4 \S+/merged\.bam rep1\.bam rep2\.bam", merge)
    assert index == "samtools index " + merge.split()[4]
    assert f"--outFileFormat bigwig {normalisation} --ignoreForNormalization chrX chrM " \
           "--Offset 1 --binSize 1 --numberOfProcessors 4 --blackListFileName dac.bed.gz " \
           "--skipNonCoveredRegions" in coverage
    again = dnase_bigwig(tmp_path, "-b", "dac.bed.gz", "-o", "out/GM12878.1x.bw", "rep1.bam")
    assert again.returncode == 2 and "output exists (-oc replaces it)" in again.stderr


def test_dnase_bigwig_help_and_one_line_errors(tmp_path):
    result = dnase_bigwig(tmp_path, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: ffn-dnase-bigwig ")
    assert "example:" in result.stdout
    (tmp_path / "a.bam").write_bytes(b"")
    (tmp_path / "dac.bed").write_bytes(b"")
    for args, tools, code, message in [
            (["-o", "x.bw", "a.bam"], ("samtools", "bamCoverage"), 2, "give -b BLACKLIST"),
            (["-b", "dac.bed", "-o", "x.bw", "b.bam"], ("samtools", "bamCoverage"), 2,
             "b.bam: file not found"),
            (["-b", "dac.bed", "-o", "x.bw", "a.bam"], ("bamCoverage",), 1,
             "samtools not found on PATH"),
            (["-b", "dac.bed", "-o", "x.bw", "a.bam"], ("samtools",), 1,
             "bamCoverage not found on PATH"),
            (["-b", "dac.bed", "-o", "x.bw", "-q", "a.bam"], (), 2, "unknown flag -q")]:
        result = dnase_bigwig(tmp_path, *args, tools=tools)
        assert result.returncode == code, (args, result.stderr)
        assert result.stderr.startswith("ffn-dnase-bigwig: error: ")
        assert message in one_line(result.stderr)
    assert not (tmp_path / "x.bw").exists()
