"""First checks of lcn.homotopy: counts against the DHOST formula, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from lcn import Architecture
from lcn.errors import DataError, OptionError
from lcn.homotopy import critical_set
from lcn.training import Dataset, gaussian_dataset


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("homotopy-cache"))


@pytest.mark.parametrize(("k", "s"), [((3, 2), (2, 1)), ((2, 2), (1, 1))])
def test_count_equals_ed_degree(k: tuple[int, ...], s: tuple[int, ...], cache: str) -> None:
    arch = Architecture(k, s)
    res = critical_set(arch, gaussian_dataset(arch, N=20, seed=3), cache_dir=cache)
    assert res.complex_count == arch.ed_degree
    assert res.certified_complete and res.missing == 0 and res.reason == ""
    assert res.real_count == len(res.real_points) == res.real_params.shape[0]


def test_max_paths_refused(cache: str) -> None:
    arch = Architecture((3, 3), (2, 1))
    with pytest.raises(OptionError, match="max_paths"):
        critical_set(arch, gaussian_dataset(arch, N=20), max_paths=10, cache_dir=cache)


def test_rank_deficient_gram_refused(cache: str) -> None:
    arch = Architecture((3, 2), (2, 1))
    data = Dataset(np.ones((arch.filter_size, 2)), np.ones((1, 2)))
    with pytest.raises(DataError, match="rank"):
        critical_set(arch, data, cache_dir=cache)
