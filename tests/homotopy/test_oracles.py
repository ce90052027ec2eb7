"""The solver's answers against independent oracles: the local Newton search and gradient
descent (every point they reach must be in the certified set), direct acb evaluation of the
loss gradient on the certified boxes, conjugation symmetry, the isotropic special data of the
issue, and the existing classification."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from flint import acb, acb_poly, arb

from lcn import Architecture
from lcn.critical import CATEGORIES
from lcn.homotopy import critical_set
from lcn.homotopy.certify import certify_roots
from lcn.homotopy.chart import make_chart
from lcn.homotopy.solve import _track_all
from lcn.homotopy.start import cached_start
from lcn.homotopy.system import CriticalSystem
from lcn.homotopy.track import TrackOptions
from lcn.training import (
    GramForm,
    critical_points,
    function,
    gaussian_dataset,
    gram_form,
    relative_gradient_norm,
    train,
)

CASES = [((3, 2), (2, 1)), ((2, 3), (1, 1)), ((2, 2, 2), (2, 2, 1))]


def _in_set(v: np.ndarray, functions: np.ndarray, tol: float = 1e-6) -> bool:
    d = np.abs(functions - v).max(axis=1) / (1 + np.abs(v).max())
    return bool(d.min() <= tol)


@pytest.mark.parametrize(("k", "s"), CASES)
def test_contains_local_search_and_descent(k: tuple[int, ...], s: tuple[int, ...],
                                           cache: Path) -> None:
    arch = Architecture(k, s)
    data = gaussian_dataset(arch, N=3 * arch.filter_size, seed=21)
    res = critical_set(arch, data, cache_dir=cache, classify=False)
    assert res.certified_complete
    real_f = res.functions[res.is_real].real
    unorm = float(np.linalg.norm(gram_form(arch, data).u))
    found = critical_points(arch, data, starts=150, seed=2)
    nonzero = [v for v in found.function if np.linalg.norm(v) > 1e-6 * unorm]
    assert nonzero, "the search found no nonzero critical point"
    for v in nonzero:
        assert _in_set(v, real_f), f"local-search point {v} missing"
    tr = train(arch, data, runs=24, steps=1500, seed=3)
    ends = tr.params[tr.converged]
    assert len(ends) > 0
    for v in function(arch, ends):
        if np.linalg.norm(v) > 1e-6 * unorm:
            assert _in_set(v, real_f), f"gradient-descent point {v} missing"


def _grad_on_box(arch: Architecture, chart: object, G: np.ndarray, u: np.ndarray,
                 mid: np.ndarray, rad: np.ndarray) -> list[acb]:
    """``grad L`` of all layers (``lam`` in the first) on the box, written independently of
    the solver: layers from the chart, products with ``acb_poly``, ``2 J_i^T G (v - u)``."""
    X = [acb(arb(c.real, r), arb(c.imag, r)) for c, r in zip(mid, rad, strict=True)]
    layers = []
    off = 0
    for j, i in enumerate(chart.active):  # type: ignore[attr-defined]
        k = arch.k[i]
        w = [acb(float(chart.a[j][q])) for q in range(k)]  # type: ignore[attr-defined]
        for q in range(k):
            for c in range(k - 1):
                w[q] += float(chart.B[j][q, c]) * X[off + c]  # type: ignore[attr-defined]
        off += k - 1
        layers.append((i, w))
    full = {i: w for i, w in layers}
    ws = [full.get(i, [acb(1)]) for i in range(arch.layers)]
    ws[0] = [X[-1] * c for c in ws[0]]

    def poly(w: list[acb], S: int) -> acb_poly:
        co = [acb(0)] * (S * (len(w) - 1) + 1)
        for q, c in enumerate(w):
            co[q * S] = c
        return acb_poly(co)

    polys = [poly(w, S) for w, S in zip(ws, arch.S, strict=True)]
    m = arch.filter_size
    prod = acb_poly([1])
    for p in polys:
        prod = prod * p
    v = prod.coeffs() + [acb(0)] * (m - len(prod.coeffs()))
    r = [v[t] - float(u[t]) for t in range(m)]
    g = [sum((float(G[t, q]) * r[q] for q in range(m)), acb(0)) for t in range(m)]
    grad = []
    for i in range(arch.layers):
        Q = acb_poly([1])
        for j2, p in enumerate(polys):
            if j2 != i:
                Q = Q * p
        qc = Q.coeffs()
        for q in range(arch.k[i]):
            sh = q * arch.S[i]
            grad.append(2 * sum((qc[t] * g[t + sh] for t in range(len(qc)) if t + sh < m),
                                acb(0)))
    return grad


@pytest.mark.parametrize(("k", "s"), [((3, 2), (2, 1)), ((2, 2, 2), (1, 1, 1))])
def test_certified_boxes_contain_a_critical_point(k: tuple[int, ...], s: tuple[int, ...],
                                                  cache: Path) -> None:
    arch = Architecture(k, s)
    gf = gram_form(arch, gaussian_dataset(arch, N=20, seed=31))
    chart = make_chart(arch, 0)
    system = CriticalSystem(chart)
    start = cached_start(system, chart, 0, "critical", arch.ed_degree, cache)
    ends, _ = _track_all(system, start.x, start.p, [gf], 0, TrackOptions())
    certs = [c for c in certify_roots(chart, gf.G, gf.u, ends[0]) if c.ok]
    assert len(certs) == arch.ed_degree
    for c in certs:
        for comp in _grad_on_box(arch, chart, gf.G, gf.u, c.center, c.radius):
            assert comp.contains(0)
    # a box moved off its root by 100 radii holds no critical point: some component excludes 0
    c = certs[0]
    shifted = c.center + 100 * c.radius.max() + 1e-6
    assert not all(comp.contains(0) for comp in
                   _grad_on_box(arch, chart, gf.G, gf.u, shifted, c.radius))


@pytest.mark.parametrize(("k", "s"), CASES)
def test_conjugate_pairs_and_real_points(k: tuple[int, ...], s: tuple[int, ...],
                                         cache: Path) -> None:
    """The system is real: non-real roots come in conjugate pairs, real ones are classified
    and are critical points of the loss to working precision."""
    arch = Architecture(k, s)
    data = gaussian_dataset(arch, N=20, seed=41)
    res = critical_set(arch, data, cache_dir=cache)
    nonreal = res.functions[~res.is_real]
    assert (res.complex_count - res.real_count) % 2 == 0
    for v in nonreal:
        assert np.abs(v.imag).max() > 0
        assert _in_set(v.conj(), nonreal)
    assert np.all(relative_gradient_norm(arch, data, res.real_params) < 1e-8)
    assert len(res.real_points) == res.real_count
    assert all(p.category in CATEGORIES for p in res.real_points)
    js = res.to_json()
    json.dumps(js)
    for key in ("ed_degree", "complex_count", "real_count", "zero_count", "certified_complete",
                "missing", "reason", "certificate", "points"):
        assert key in js
    assert len(js["points"]) == res.real_count
    assert {"filters", "function", "loss", "category", "morse_index"} <= set(js["points"][0])


@pytest.mark.parametrize(("k", "s", "count"), [((2, 2), (2, 1), 2), ((3, 3), (2, 1), 23)])
def test_isotropic_gram_is_special(k: tuple[int, ...], s: tuple[int, ...], count: int,
                                   cache: Path) -> None:
    """``G = I`` is on the discriminant: fewer critical points (the issue's 2 and 23), and the
    result says it is not complete instead of claiming completeness."""
    arch = Architecture(k, s)
    m = arch.filter_size
    gf = GramForm(np.eye(m), np.random.default_rng(5).standard_normal(m), 0.0)
    res = critical_set(arch, gf, cache_dir=cache, classify=False)
    assert res.complex_count == count
    assert not res.certified_complete
    assert res.missing == arch.ed_degree - count
    assert "singular" in res.reason or "diverged" in res.reason
