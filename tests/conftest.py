"""Suite-wide fixtures: homotopy start systems are cached in pytest's cache folder, never in
the user's ``~/.cache/lcn`` (subprocess tests inherit the variable)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _homotopy_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    old = os.environ.get("LCN_CACHE_DIR")
    os.environ["LCN_CACHE_DIR"] = str(request.config.cache.mkdir("lcn-homotopy"))
    yield
    if old is None:
        os.environ.pop("LCN_CACHE_DIR", None)
    else:
        os.environ["LCN_CACHE_DIR"] = old
