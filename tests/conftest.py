"""Shared fixtures: every test gets its own cache directory."""

import pytest

from fiddle_factornet.cache import CACHE_ENV


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Point the package's cache at a per-test folder (never the user's ~/.cache)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    return directory
