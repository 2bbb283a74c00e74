"""Shared fixtures: every test gets its own cache directory."""

import json
import logging
import signal
import subprocess
import time

import pytest

from fiddle_factornet.data.cache import CACHE_ENV
from fiddle_factornet.demo import DemoConfig, make_demo

#: a demo small enough for tests: 320 kbp over the chromosomes of FactorNet's default split
SMALL_DEMO = DemoConfig(chrom_sizes=(("chr1", 60_000), ("chr2", 120_000), ("chr8", 40_000),
                                     ("chr11", 60_000), ("chr21", 40_000)))


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Point the package's cache at a per-test folder (never the user's ~/.cache)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    return directory


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The demo dataset at SMALL_DEMO's size, generated once per test session."""
    return make_demo(tmp_path_factory.mktemp("demo") / "demo", SMALL_DEMO)


#: the tiny FIDDLE model's inputs: DNA, a stranded track, a merged track
FIDDLE_TRACKS = ("dna", "netseq", "rnaseq")


@pytest.fixture(scope="session")
def fiddle_model_dir(small_demo, tmp_path_factory):
    """A FIDDLE model folder trained on the small demo: FIDDLE_TRACKS, tiny modules, one epoch;
    8 validation and 8 test windows. Tests only read it."""
    from fiddle_factornet.fiddle.training import FiddleTrainSettings, train_fiddle

    folder = tmp_path_factory.mktemp("fiddle") / "model"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder.parent / "cache"))
        train_fiddle(FiddleTrainSettings(
            manifest=str(small_demo / "fiddle/tracks.tsv"),
            genes=str(small_demo / "fiddle/genes.bed"), output_dir=str(folder),
            inputs=FIDDLE_TRACKS, n_valid=8, n_test=8, epochs=1, batch_size=100, cache=False,
            curve_every=0, module_filters=(4, 4), scaffold_filters=2, representation=20))
    return folder


@pytest.fixture
def runner_state():
    """run() sets up logging and a SIGTERM handler: give them back after an in-process run."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sigterm = signal.getsignal(signal.SIGTERM)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    signal.signal(signal.SIGTERM, sigterm)


def run_command(module, *args) -> int:
    """A command (its ``fiddle_factornet.cli`` module) run in this process, its cross-flag
    ``check()`` included: its exit code."""
    from fiddle_factornet.cli import run

    try:
        run(module.COMMAND, module.__doc__, module.FLAGS, module.main, module.SETTING_FLAGS,
            check=getattr(module, "check", None), argv=[str(a) for a in args])
    except SystemExit as exit_:
        return exit_.code
    return 0


def interrupt_after_an_epoch(command, partial, env=None) -> int:
    """Run the training ``command`` and send it SIGTERM once it has completed an epoch (its
    ``partial`` folder holds progress.json): it must stop with one line; its epochs done."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    progress = partial / "progress.json"
    deadline = time.time() + 600
    while not progress.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "ffn-train: interrupted"
    return json.loads(progress.read_text())["epochs_done"]
