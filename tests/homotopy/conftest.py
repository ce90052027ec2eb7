"""Shared fixtures of the homotopy tests: one start-solution cache per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache directory: the monodromy runs once per architecture and session."""
    return tmp_path_factory.mktemp("homotopy-cache")
