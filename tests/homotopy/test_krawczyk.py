"""The float64 Krawczyk test (lcn.homotopy.krawczyk) against independent oracles: acb-certified
roots (python-flint ball arithmetic, :mod:`lcn.homotopy.certify`) must lie inside every box it
certifies, the loss gradient evaluated in acb on its boxes must contain 0, its realness verdicts
must be acb's, and it must refuse centres that are not near a root."""

from __future__ import annotations

from pathlib import Path

import flint
import numpy as np
import pytest
from flint import acb
from hypothesis import given, settings
from hypothesis import strategies as st

from lcn import Architecture
from lcn.errors import DataError
from lcn.homotopy.certify import AcbSystem, Certified, _newton, certify_roots
from lcn.homotopy.chart import make_chart
from lcn.homotopy.krawczyk import certify_float, depth
from lcn.homotopy.solve import _track_all
from lcn.homotopy.start import cached_start
from lcn.homotopy.system import CriticalSystem
from lcn.homotopy.track import OK, TrackOptions
from lcn.training import gaussian_dataset, gram_form

from .test_oracles import _grad_on_box

CASES = [((3, 2), (2, 1)), ((2, 2, 2), (1, 2, 1)), ((3, 1, 2), (2, 1, 1))]


def _endpoints(k: tuple[int, ...], s: tuple[int, ...], cache: Path, seeds: range
               ) -> tuple[Architecture, object, CriticalSystem, list, np.ndarray]:
    arch = Architecture(k, s)
    chart = make_chart(arch, 0)
    system = CriticalSystem(chart)
    start = cached_start(system, chart, 0, "critical", arch.ed_degree, cache)
    grams = [gram_form(arch, gaussian_dataset(arch, N=arch.degree + 1 + (i % 3), seed=i))
             for i in seeds]
    ends, stats = _track_all(system, start.x, start.p, grams, 0, TrackOptions())
    rows = [(g, x) for g, e, st_ in zip(grams, ends, stats, strict=True)
            for x in e[st_ == OK]]
    return arch, chart, system, grams, rows  # type: ignore[return-value]


def _acb_root(chart: object, G: np.ndarray, u: np.ndarray, x: np.ndarray) -> Certified:
    """The root near ``x`` located by acb alone: Newton at 212 bits, then Krawczyk at 212 bits
    from the refined centre (a box of about the centre's rounding)."""
    sys = AcbSystem(chart, G, u)  # type: ignore[arg-type]
    with flint.ctx.workprec(212):
        xr, _ = _newton(sys, [acb(complex(v).real, complex(v).imag) for v in x], 30)
        c = np.array([complex(float(v.real.mid()), float(v.imag.mid())) for v in xr])
    return certify_roots(chart, G, u, c[None], precisions=(212,))[0]  # type: ignore[arg-type]


def _batch(rows: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    G = np.array([g.G for g, _ in rows])
    u = np.array([g.u for g, _ in rows])
    X = np.array([x for _, x in rows])
    return G, u, X


@pytest.mark.parametrize(("k", "s"), CASES)
def test_boxes_hold_the_acb_root(k: tuple[int, ...], s: tuple[int, ...], cache: Path) -> None:
    arch, chart, system, _, rows = _endpoints(k, s, cache, range(12))
    G, u, X = _batch(rows)
    fc = certify_float(system, G, u, X)
    assert fc.ok.mean() > 0.8  # most roots of Gaussian data are well-conditioned
    for q in np.nonzero(fc.ok)[0]:
        ref = _acb_root(chart, G[q], u[q], fc.center[q])
        assert ref.ok
        # the acb box (a rectangle) lies inside the float disc of every coordinate
        corner = np.abs(ref.center - fc.center[q]) + np.sqrt(2) * ref.radius
        assert np.all(corner <= fc.radius[q]), (corner, fc.radius[q])
        assert ref.real is bool(fc.real[q])


@pytest.mark.parametrize(("k", "s"), CASES[:2])
def test_gradient_on_boxes_contains_zero(k: tuple[int, ...], s: tuple[int, ...],
                                         cache: Path) -> None:
    arch, chart, system, _, rows = _endpoints(k, s, cache, range(3))
    G, u, X = _batch(rows)
    fc = certify_float(system, G, u, X)
    for q in np.nonzero(fc.ok)[0]:
        rad = np.full(chart.n, fc.radius[q])
        assert all(c.contains(0) for c in
                   _grad_on_box(arch, chart, G[q], u[q], fc.center[q], rad))


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-12, -1), seed=st.integers(0, 10**6))
def test_no_box_without_a_root(shift: float, seed: int, cache: Path) -> None:
    """Centres moved off a root by ``10^shift`` (relative) are certified only if the root is
    really in the box (whatever radius the test picked)."""
    arch, chart, system, _, rows = _endpoints((3, 2), (2, 1), cache, range(2))
    G, u, X = _batch(rows)
    rng = np.random.default_rng(seed)
    d = rng.standard_normal(X.shape) + 1j * rng.standard_normal(X.shape)
    Xs = X + 10.0**shift * d * (1 + np.abs(X))
    fc = certify_float(system, G, u, Xs)
    for q in np.nonzero(fc.ok)[0]:
        # Newton from the centre stays in the box (K is a contraction there): acb locates the
        # root it claims
        r = _acb_root(chart, G[q], u[q], fc.center[q])
        assert r.ok
        assert np.all(np.abs(r.center - fc.center[q]) + np.sqrt(2) * r.radius
                      <= fc.radius[q])


def test_far_points_are_refused(cache: Path) -> None:
    _, _, system, _, rows = _endpoints((3, 2), (2, 1), cache, range(2))
    G, u, X = _batch(rows)
    rng = np.random.default_rng(5)
    far = rng.standard_normal(X.shape) + 1j * rng.standard_normal(X.shape)
    fc = certify_float(system, G, u, far)
    # a random point is almost surely not within a Newton step of a root
    assert not fc.ok.any()
    bad = X.copy()
    bad[0] = np.nan
    assert not certify_float(system, G, u, bad).ok[0]


def test_depth_bound_covers_the_evaluation() -> None:
    """The rounding bound is far below 1 (else the test refuses to run) and grows with size."""
    small = depth(CriticalSystem(make_chart(Architecture((2, 2), (1, 1)), 0)))
    big = depth(CriticalSystem(make_chart(Architecture((3, 3, 3), (2, 2, 1)), 0)))
    assert 0 < small < big < 10**5


def test_refuses_asymmetric_g_and_tiny_inputs(cache: Path) -> None:
    """``G`` must be exactly symmetric (the Jacobian formula uses it); a row with a non-zero
    input below the underflow threshold is not certified here (acb takes it)."""
    _, _, system, _, rows = _endpoints((3, 2), (2, 1), cache, range(1))
    G, u, X = _batch(rows)
    bad = G.copy()
    bad[0, 0, 1] += 1e-12
    with pytest.raises(DataError, match="symmetric"):
        certify_float(system, bad, u, X)
    assert certify_float(system, G, u, X).ok.all()
    u2 = u.copy()
    u2[0, 0] = 1e-300
    fc = certify_float(system, G, u2, X)
    assert not fc.ok[0]
