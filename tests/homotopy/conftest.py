"""Shared fixtures of the homotopy tests: one start-solution cache per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cache(request: pytest.FixtureRequest) -> Path:
    """The suite's start-solution cache (pytest's cache folder, as tests/conftest.py sets
    ``LCN_CACHE_DIR``): the monodromy runs once per architecture and machine. Cold starts and
    corrupt caches are tested with their own ``tmp_path`` (test_errors)."""
    return Path(request.config.cache.mkdir("lcn-homotopy"))
