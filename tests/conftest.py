"""Shared fixtures: every test gets its own cache directory."""

import logging
import signal

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
    """A command (its ``fiddle_factornet.cli`` module) run in this process: its exit code."""
    from fiddle_factornet.cli import run

    try:
        run(module.COMMAND, module.__doc__, module.FLAGS, module.main, module.SETTING_FLAGS,
            argv=[str(a) for a in args])
    except SystemExit as exit_:
        return exit_.code
    return 0
