"""Tests of lcn.critical: classification of critical points (MATH.md 5-8).

Oracles: the theorem of MATH.md 8 (reduced strided architectures), root coincidences of the
layer filters (stride one), exact real-root counting of rationalized filters (membership of
stride-one function spaces, MATH.md 3), the exact geometry module on planted points, matrix
ranks and the row/column-space argument for dense networks, and two independent location
methods (``numerical.classify`` on ``v`` vs the factorization ``w``).
"""

from __future__ import annotations

import itertools
from collections import Counter

import flint
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from lcn import Architecture, forms, network_matrix
from lcn.critical import (
    CATEGORIES,
    category_counts,
    classify_critical_points,
    locate_from_factorization,
    singular_components,
)
from lcn.dense import DenseArchitecture
from lcn.errors import FilterError
from lcn.parametrization import split_params
from lcn.training import (
    Dataset,
    critical_points,
    function,
    gaussian_dataset,
    gram_form,
    train,
)

from .strategies import architectures

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _exact_membership():
    """lcn.geometry.exact.membership, the exact oracle for the cross-checks."""
    from lcn.geometry import exact

    return exact.membership


def _rational(v: np.ndarray) -> list[flint.fmpq]:
    """Exact rational value of each float (no rounding)."""
    from fractions import Fraction

    return [flint.fmpq(Fraction(float(x)).numerator, Fraction(float(x)).denominator) for x in v]


# ---------------------------------------------------------------------------------------------
# singular components (MATH.md 5)
# ---------------------------------------------------------------------------------------------
def test_singular_components_examples() -> None:
    assert singular_components(Architecture((3, 2), (2, 1))) == [(0, 2)]
    assert singular_components(Architecture((2, 2), (2, 1))) == []
    assert singular_components(Architecture((3, 3), (1, 1))) == []  # one reduced layer
    assert set(singular_components(Architecture((3, 3, 3), (2, 2, 1)))) == {
        (0, 1, 3), (0, 3, 2), (2, 0, 3)}


@SETTINGS
@given(architectures(max_layers=4, max_k=4, max_s=3, max_degree=24))
def test_singular_components_brute_force_and_emptiness(arch: Architecture) -> None:
    red = arch.reduced()
    d, S, L = red.d, red.S, red.layers
    total = sum(a * b for a, b in zip(d, S, strict=True))
    brute = set()
    for dp in itertools.product(*[range(total // Si + 1 if di > 0 else 1)
                                  for di, Si in zip(d, S, strict=True)]):
        if dp == d or sum(a * b for a, b in zip(dp, S, strict=True)) != total:
            continue
        if all(sum(dp[i] * S[i] for i in range(l, L)) >= sum(d[i] * S[i] for i in range(l, L))
               for l in range(L)):
            brute.add(dp)
    got = singular_components(arch)
    assert set(got) == brute and len(got) == len(brute)
    if all(di > 0 for di in d) and L > 1:
        # [derived] MATH.md 5: D is empty iff d_i < s_i for all i < L (reduced architecture)
        assert (len(got) == 0) == all(d[i] < red.s[i] for i in range(L - 1))



# ---------------------------------------------------------------------------------------------
# the theorem (MATH.md 8)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "k,s,n_out",
    [((3, 2), (2, 1), 1), ((3, 3, 3), (2, 2, 1), 1), ((2, 3), (3, 1), 2), ((4, 2), (2, 1), 1)],
)
def test_theorem_reduced_strided_critical_points_are_regular_smooth_interior_pure(k, s, n_out):
    arch = Architecture(k, s)
    assert arch.is_reduced and not arch.full_dimensional
    nonzero = 0
    for seed in (0, 1):
        data = gaussian_dataset(arch, n_out, arch.degree + 4, seed=seed)  # N >= d + 1
        tr = train(arch, data, 16, seed=seed)
        cp = critical_points(arch, data, 60, seed=seed)
        params = np.concatenate([tr.params[tr.converged], cp.params])
        infos = classify_critical_points(arch, data, params)
        for info in infos:
            if info.zero:
                assert info.category == "zero"
                continue
            nonzero += 1
            assert info.regular and info.rank == arch.dimension, info
            assert info.smooth and info.location == "interior" and info.boundary == "none", info
            assert info.pure is True and info.projected_gradient <= 1e-6, info
            assert info.category == "pure_smooth_interior" and not info.undecided, info
    assert nonzero >= 10


# ---------------------------------------------------------------------------------------------
# stride one: boundary limits and spurious points
# ---------------------------------------------------------------------------------------------
def test_stride_one_non_filling_training_has_boundary_limits() -> None:
    """k=(2,2,2), s=1: M = cubics with three real roots (e = 3, MATH.md 3). Every layer is a
    real linear form, so mu(w) is on the boundary exactly when two layers share a root."""
    arch = Architecture((2, 2, 2), (1, 1, 1))
    datasets = [gaussian_dataset(arch, 1, 8, seed=s) for s in range(16)]
    res = train(arch, datasets, 16, seed=0)
    assert res.converged.all()
    cats = []
    for r in range(16):
        (info,) = classify_critical_points(arch, datasets[r], res.params[r])
        w = split_params(arch, res.params[r])
        roots = np.array([-f[1] / f[0] if abs(f[0]) > 1e-12 else np.inf for f in w])
        chord = [abs(np.arctan(a) - np.arctan(b)) for a, b in itertools.combinations(roots, 2)]
        shared = min(chord) <= 1e-5
        assert (info.location == "boundary_stride1") == shared, (info, roots)
        assert info.regular == (not shared)  # MATH.md 8: rank d mu = deg lcm + 1
        cats.append(info.category)
    counts = Counter(cats)
    assert counts["boundary"] >= 2, counts  # a clearly positive fraction
    assert counts["boundary"] + counts["pure_smooth_interior"] == 16


def test_search_finds_spurious_points_in_stride_one() -> None:
    """k=(3,2,2), s=1 (e = 2, not filling): critical points with two layers sharing a root and
    mu(w) in the interior are spurious. Oracle: a small step against grad l stays in M (exact
    real-root count of the rationalized filter: at least e = 2 real roots) and lowers l."""
    arch = Architecture((3, 2, 2), (1, 1, 1))
    data = gaussian_dataset(arch, 1, 12, seed=0)
    gf = gram_form(arch, data)
    cp = critical_points(arch, data, 100, seed=0)
    infos = classify_critical_points(arch, data, cp.params)
    spurious = [i for i in infos if i.category == "spurious"]
    assert spurious
    for info in spurious:
        assert not info.regular and info.location == "interior" and info.pure is False
        v = function(arch, cp.params[info.index])
        g = gf.grad(v)
        assert np.linalg.norm(g) > 1e-3 * np.linalg.norm(v)
        step = 1e-4 * np.linalg.norm(v) / np.linalg.norm(g)
        v2 = v - step * g
        assert forms.real_root_count(_rational(v2)) >= 2  # still in M (MATH.md 3)
        assert gf.loss(v2) < gf.loss(v)


def test_filling_stride_one_spurious_points() -> None:
    """k=(3,3), s=1 fills R[x,y]_4: its only pure nonzero critical value is u itself; repeated
    filters give spurious points (v != u, grad l(v) != 0)."""
    arch = Architecture((3, 3), (1, 1))
    data = gaussian_dataset(arch, 1, 10, seed=0)
    gf = gram_form(arch, data)
    cp = critical_points(arch, data, 80, seed=0)
    infos = classify_critical_points(arch, data, cp.params)
    cats = category_counts(infos)
    assert cats["spurious"] >= 1 and cats["singular"] == 0 and cats["boundary"] == 0
    for info in infos:
        v = function(arch, cp.params[info.index])
        at_u = np.allclose(v, gf.u, rtol=1e-6, atol=1e-8 * np.abs(gf.u).max())
        if info.category == "pure_smooth_interior":
            assert at_u
        elif info.category == "spurious":
            assert not at_u and not info.regular


# ---------------------------------------------------------------------------------------------
# dense networks
# ---------------------------------------------------------------------------------------------
def test_dense_critical_points_singular_and_always_pure() -> None:
    """Rank-deficient critical points are singular; every critical point of a dense network is
    pure on its rank stratum (col W lies in col(W_L..W_{i+1}) and row W in row(W_i..W_1))."""
    arch = DenseArchitecture((4, 2, 4))
    data = gaussian_dataset(arch, None, 20, seed=1)
    cp = critical_points(arch, data, 150, seed=1)
    infos = classify_critical_points(arch, data, cp.params)
    ranks = []
    for info in infos:
        W = cp.function[info.index].reshape(4, 4)
        rk = np.linalg.matrix_rank(W, tol=1e-8 * np.abs(data.Y).max())
        ranks.append(rk)
        assert info.zero == (rk == 0)
        if rk == 2:
            assert info.location == "interior" and info.category == "pure_smooth_interior"
        elif rk == 1:
            assert info.category == "singular" and info.singular_component == (1,)
        assert info.pure is True and not info.undecided
    assert 1 in ranks and 2 in ranks
    best = int(np.argmin(cp.loss))
    assert infos[best].morse_index == 0
    assert max(i.morse_index for i in infos) >= 1


# ---------------------------------------------------------------------------------------------
# planted points, exact cross-checks
# ---------------------------------------------------------------------------------------------
def _planted(arch: Architecture, filters, N: int = 12, seed: int = 0) -> Dataset:
    """Data with Y = T_w X exactly: w is a global minimum (grad l(mu(w)) = 0), so critical."""
    rng = np.random.default_rng(seed)
    n0 = arch.layer_sizes(1)[0]
    X = rng.standard_normal((n0, N))
    T = network_matrix(arch, [np.asarray(f, dtype=float) for f in filters], 1)
    return Dataset(X, T @ X)


PLANTED = [
    # a point on the singular component R[x^2, y^2]_2 of k=(3,2), s=(2,1) (MATH.md 5)
    ((3, 2), (2, 1), [[1, 0, -2], [1, -3]], "singular", "singular"),
    # stride one, two layers sharing a root: a double root, boundary (MATH.md 6)
    ((2, 2, 2), (1, 1, 1), [[1, -1], [2, -2], [1, 3]], "boundary_stride1", "boundary"),
    ((2, 2), (1, 1), [[1, 2], [1, 2]], "boundary_stride1", "boundary"),
    # k=(3,2,2), e=2: repeated filters and no odd real root is boundary; with two odd real
    # roots left the point is interior (a non-regular w over a smooth interior point)
    ((3, 2, 2), (1, 1, 1), [[1, 0, 1], [1, 2], [1, 2]], "boundary_stride1", "boundary"),
    ((3, 2, 2), (1, 1, 1), [[1, 0, -4], [1, 1], [1, 1]], "interior", "pure_smooth_interior"),
    # generic strided point: interior
    ((3, 2), (2, 1), [[1, 2, -1], [2, 5]], "interior", "pure_smooth_interior"),
]


@pytest.mark.parametrize("k,s,filters,location,category", PLANTED)
def test_planted_points(k, s, filters, location, category) -> None:
    arch = Architecture(k, s)
    data = _planted(arch, filters)
    theta = np.concatenate([np.asarray(f, dtype=float) for f in filters])
    (info,) = classify_critical_points(arch, data, theta)
    assert info.location == location and info.category == category, info
    assert info.pure is True  # grad l(v) = 0 at the planted global minimum
    fs = [np.asarray(f, dtype=float) for f in filters]
    loc2, comp2, _ = locate_from_factorization(arch, fs)
    assert loc2 == location
    if location == "singular":
        assert info.singular_component == comp2 == (0, 2)


@pytest.mark.parametrize("k,s,filters,location,category", PLANTED)
def test_planted_points_against_exact_membership(k, s, filters, location, category) -> None:
    membership = _exact_membership()
    arch = Architecture(k, s)
    v = forms.product([forms.upsample(forms.as_exact(f), Si) for f, Si in
                       zip(filters, arch.S, strict=True)])
    assert membership(arch, v).classification == location


def test_rationalized_critical_points_against_exact_membership() -> None:
    """Rationalize the filters exactly (no rounding): mu of them lies in M exactly, within
    rounding of the critical value, and the exact module must call it interior too."""
    membership = _exact_membership()
    checked = 0
    for k, s in [((3, 2), (2, 1)), ((3, 3, 2), (2, 2, 1)), ((3, 2, 2), (1, 1, 1))]:
        arch = Architecture(k, s)
        data = gaussian_dataset(arch, 1, arch.degree + 2, seed=2)
        cp = critical_points(arch, data, 60, seed=2)
        for info in classify_critical_points(arch, data, cp.params):
            if info.zero or info.location != "interior":
                continue  # rationalizing a boundary point generically leaves the boundary
            ws = [_rational(w) for w in split_params(arch, cp.params[info.index])]
            v = forms.product([forms.upsample(w, S) for w, S in zip(ws, arch.S, strict=True)])
            assert membership(arch, v).classification == "interior", (arch, info)
            checked += 1
    assert checked >= 5


def test_two_location_methods_agree_on_found_critical_points() -> None:
    """numerical.classify (roots of v alone) vs w's own factorization."""
    for k, s in [((3, 2), (2, 1)), ((2, 2, 2), (1, 1, 1)), ((3, 2, 2), (1, 1, 1)),
                 ((3, 3, 3), (2, 2, 1))]:
        arch = Architecture(k, s)
        data = gaussian_dataset(arch, 1, arch.degree + 4, seed=4)
        cp = critical_points(arch, data, 60, seed=4)
        infos = classify_critical_points(arch, data, cp.params)
        for info in infos:
            if info.zero:
                continue
            loc, _, _ = locate_from_factorization(arch, split_params(arch, cp.params[info.index]))
            assert info.source == "classify" and loc == info.location, (arch, info)


# ---------------------------------------------------------------------------------------------
# fields and errors
# ---------------------------------------------------------------------------------------------
def test_fields_invariants_morse_and_errors() -> None:
    arch = Architecture((2, 2), (2, 1))
    data = gaussian_dataset(arch, 1, 10, seed=0)
    cp = critical_points(arch, data, 80, seed=0)
    infos = classify_critical_points(arch, data, cp)
    assert len(infos) == len(cp)
    for info in infos:
        assert info.category in CATEGORIES
        w = split_params(arch, cp.params[info.index])
        assert np.isclose(info.invariants[0], w[0] @ w[0] - w[1] @ w[1], atol=1e-12)
        assert info.nullity == 0 and isinstance(info.to_dict()["invariants"], list)
    nz = [i for i in infos if not i.zero]
    best = min(nz, key=lambda i: i.loss)
    assert best.morse_index == 0
    assert any(i.morse_index > 0 for i in nz)  # saddles
    assert sum(category_counts(infos).values()) == len(infos)
    with pytest.raises(FilterError, match="shape"):
        classify_critical_points(arch, data, np.zeros((2, 5)))
    mixed = np.stack([np.full(4, np.nan), cp.params[0]])
    nan_info, ok_info = classify_critical_points(arch, data, mixed)
    assert nan_info.category == "undecided" and nan_info.undecided and ok_info.index == 1
    assert ok_info.category == infos[0].category
    # a non-critical point is flagged, not silently classified
    (info,) = classify_critical_points(arch, data, np.array([1.0, 2.0, 3.0, 4.0]))
    assert info.undecided and "not critical" in info.notes[0]
