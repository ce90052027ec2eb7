"""Bad input gives clear lcn.errors; the start-solution cache is never trusted blindly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lcn import Architecture
from lcn.errors import ConfigError, DataError, LCNError, OptionError
from lcn.homotopy import DEFAULT_MAX_PATHS, critical_set, critical_sets
from lcn.homotopy.start import CACHE_VERSION, cache_path
from lcn.training import Dataset, GramForm, gaussian_dataset

ARCH = Architecture((3, 2), (2, 1))


def test_wrong_shape(cache: Path) -> None:
    data = Dataset(np.ones((3, 10)), np.ones((1, 10)))  # n_0 = 3, but the filter has 5 taps
    with pytest.raises(DataError):
        critical_set(ARCH, data, cache_dir=cache)
    with pytest.raises(DataError):
        critical_set(ARCH, GramForm(np.eye(3), np.ones(3), 0.0), cache_dir=cache)


def test_rank_deficient_gram(cache: Path) -> None:
    data = gaussian_dataset(ARCH, N=2, seed=0)  # 2 samples: rank 2 < 5
    with pytest.raises(DataError, match="rank 2 < d \\+ 1 = 5.*not generic"):
        critical_set(ARCH, data, cache_dir=cache)


def test_zero_target(cache: Path) -> None:
    with pytest.raises(DataError, match="u of the Gram form is 0"):
        critical_set(ARCH, GramForm(np.eye(5), np.zeros(5), 1.0), cache_dir=cache)


def test_max_paths(cache: Path) -> None:
    arch = Architecture((3, 3, 3), (2, 2, 1))
    assert arch.ed_degree <= DEFAULT_MAX_PATHS
    with pytest.raises(OptionError, match="max_paths.*--max-paths.*2385"):
        critical_set(arch, gaussian_dataset(arch, N=20), max_paths=2000, cache_dir=cache)
    big = Architecture((4, 4, 4), (2, 2, 1))
    assert big.ed_degree > DEFAULT_MAX_PATHS
    with pytest.raises(OptionError, match="max_paths"):
        critical_set(big, gaussian_dataset(big, N=40), cache_dir=cache)
    with pytest.raises(OptionError, match="max_paths"):
        critical_set(ARCH, gaussian_dataset(ARCH, N=20), max_paths=0, cache_dir=cache)


def test_bad_arguments(cache: Path) -> None:
    data = gaussian_dataset(ARCH, N=20)
    with pytest.raises(DataError):
        critical_sets(ARCH, [], cache_dir=cache)
    with pytest.raises(DataError):
        critical_sets(ARCH, data, cache_dir=cache)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="device"):
        critical_set(ARCH, data, device="tpu", cache_dir=cache)
    with pytest.raises(LCNError, match="seed"):
        critical_set(ARCH, data, seed=-1, cache_dir=cache)


def test_cache_reused_and_foreign_files_untouched(tmp_path: Path) -> None:
    data = gaussian_dataset(ARCH, N=20, seed=1)
    path = cache_path(tmp_path, ARCH, 0, "critical")
    assert path.name.endswith(f"_v{CACHE_VERSION}.npz")
    # a file we did not write, at our path: ignored (recomputed) and never overwritten
    path.write_bytes(b"not a cache file")
    res = critical_set(ARCH, data, cache_dir=tmp_path, classify=False)
    assert res.certified_complete
    assert path.read_bytes() == b"not a cache file"
    path.unlink()
    critical_set(ARCH, data, cache_dir=tmp_path, classify=False)
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    again = critical_set(ARCH, data, cache_dir=tmp_path, classify=False)
    assert path.stat().st_mtime_ns == stamp  # read, not rewritten
    assert again.complex_count == 10


def test_tampered_cache_is_recomputed(tmp_path: Path) -> None:
    data = gaussian_dataset(ARCH, N=20, seed=1)
    critical_set(ARCH, data, cache_dir=tmp_path, classify=False)
    path = cache_path(tmp_path, ARCH, 0, "critical")
    with np.load(path) as f:
        items = {k: np.array(f[k]) for k in f.files}
    items["x"] = items["x"] + 0.1  # no longer roots
    np.savez(path, **items)
    res = critical_set(ARCH, data, cache_dir=tmp_path, classify=False)
    assert res.certified_complete and res.complex_count == 10
    with np.load(path) as f:
        assert not np.allclose(f["x"], items["x"])  # rewritten with valid roots
