"""Counts of the homotopy solver against the DHOST closed form (MATH.md 9, issue 9).

The oracle is :attr:`lcn.Architecture.ed_degree` (the Chern-class formula of Draisma, Horobet,
Ottaviani, Sturmfels and Thomas), independent of the solver; the solver's count is the number
of *certified distinct* roots (Krawczyk boxes, pairwise disjoint), so a wrong count cannot come
from duplicated or unverified endpoints. Architectures: stride one, strided, non-reduced,
size-1 layers, 2-5 layers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lcn import Architecture
from lcn.homotopy import critical_set, critical_sets
from lcn.training import (
    function,
    gaussian_dataset,
    gram_form,
    loss,
    relative_gradient_norm,
)

#: (k, s, ed_degree from the formula, checked below against Architecture.ed_degree)
ARCHS = [
    ((2, 2), (1, 1)),            # stride one, filling, 6
    ((2, 2), (2, 1)),            # strided, 6
    ((3, 2), (2, 1)),            # strided, 10
    ((2, 3), (1, 1)),            # stride one, 10
    ((3, 2), (1, 1)),            # stride one, other order, 10
    ((2, 2, 2), (2, 2, 1)),      # reduced, 3 layers, 34
    ((2, 2, 2), (1, 1, 1)),      # non-reduced (one block), 34
    ((2, 2, 2), (1, 2, 1)),      # non-reduced, mixed strides, 34
    ((3, 1, 2), (2, 1, 1)),      # size-1 layer, 10
    ((2, 1, 2), (1, 2, 1)),      # size-1 layer carrying a stride, 6
    ((2, 2, 1, 2), (2, 1, 2, 1)),  # 4 layers, size-1 layer, 34
    ((2, 1, 1, 1, 2), (1, 1, 1, 1, 1)),  # 5 layers, 6
    ((4, 2), (2, 1)),            # P^3 x P^1
    ((1, 3), (1, 1)),            # one effective layer: a linear space, ED degree 1
]

SLOW_ARCHS = [
    ((3, 3), (2, 1)),            # 39
    ((2, 2, 2, 2), (2, 2, 2, 1)),  # 280
    ((2, 2, 2, 2), (1, 1, 1, 1)),  # 280, one stride-one block
    ((3, 2, 2), (1, 1, 1)),      # stride one, the loss-zero case
    ((3, 3, 3), (2, 2, 1)),      # 2385 (monodromy about 1-2 minutes cold, then cached)
]


def _check(k: tuple[int, ...], s: tuple[int, ...], cache: Path, seed: int) -> None:
    arch = Architecture(k, s)
    data = gaussian_dataset(arch, N=3 * arch.filter_size, seed=seed)
    res = critical_set(arch, data, cache_dir=cache)
    assert res.ed_degree == arch.ed_degree
    assert res.complex_count == arch.ed_degree, res.reason
    assert res.certified_complete and res.missing == 0 and res.reason == ""
    # the real points' parameters, losses and functions agree with lcn.training's own
    # evaluation of L and mu, and they are critical there
    gf = gram_form(arch, data)
    th = res.real_params
    np.testing.assert_allclose(loss(arch, gf, th), res.losses[res.is_real].real,
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(function(arch, th), res.functions[res.is_real].real,
                               rtol=1e-8, atol=1e-10)
    assert np.all(relative_gradient_norm(arch, gf, th) < 1e-8)
    assert np.all(res.losses[res.is_real].real >= gf.c - 1e-12 * (1 + gf.c))


@pytest.mark.parametrize(("k", "s"), ARCHS, ids=[f"k{k}-s{s}" for k, s in ARCHS])
def test_count_equals_ed_degree(k: tuple[int, ...], s: tuple[int, ...], cache: Path) -> None:
    _check(k, s, cache, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize(("k", "s"), SLOW_ARCHS, ids=[f"k{k}-s{s}" for k, s in SLOW_ARCHS])
def test_count_equals_ed_degree_larger(k: tuple[int, ...], s: tuple[int, ...],
                                       cache: Path) -> None:
    _check(k, s, cache, seed=12)


def test_formula_values() -> None:
    """The issue's table, against the formula (the solver is checked against it above)."""
    table = {(2, 2): 6, (3, 2): 10, (3, 3): 39, (2, 2, 2): 34, (2, 2, 2, 2): 280}
    for k, ed in table.items():
        assert Architecture(k).ed_degree == ed
        assert Architecture(k, (2,) * (len(k) - 1) + (1,)).ed_degree == ed


def test_many_datasets_batched(cache: Path) -> None:
    """Several datasets in one batch: each gets the full certified count, and the batch agrees
    with solving the datasets one by one (same real critical values)."""
    arch = Architecture((3, 2), (2, 1))
    data = [gaussian_dataset(arch, N=12, seed=100 + i) for i in range(6)]
    batch = critical_sets(arch, data, cache_dir=cache, classify=False)
    assert [r.complex_count for r in batch] == [10] * 6
    one = critical_set(arch, data[3], cache_dir=cache, classify=False, seed=4)
    a = np.sort(batch[3].losses[batch[3].is_real].real)
    b = np.sort(one.losses[one.is_real].real)
    np.testing.assert_allclose(a, b, rtol=1e-9)
