"""The float toolkit of the projective line ``P^1`` (MATH.md 2-3): the one place where float
roots of binary forms, chordal distances and forms built from roots live.

Conventions: a binary form of degree ``d`` is its coefficient vector ``x^d, x^{d-1}y, ..., y^d``
(MATH.md 2); a point ``[x : y]`` of the line is the complex number ``t = x / y``, with
``INF = complex(inf, 0)`` for ``[1 : 0]``. Distances are chordal (the Riemann sphere of
diameter 1), so ``0`` and ``inf`` are treated alike and nothing overflows near ``inf``:

``chordal(a, b) = |a - b| / (sqrt(1 + |a|^2) sqrt(1 + |b|^2))``, ``chordal(a, inf) =
1 / sqrt(1 + |a|^2)``.

Every function here is warning-free on the whole line (``0``, ``inf``, huge and tiny values):
NumPy's floating-point warnings are suppressed where a branch that is later discarded would
divide by zero or overflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn.errors import FilterError

__all__ = [
    "INF",
    "chordal",
    "chordal1",
    "cluster",
    "cluster_by_multiplicity",
    "form_from_roots",
    "is_inf",
    "is_real_point",
    "mean_point",
    "orbit_distance",
    "power",
    "power1",
    "real_point",
    "roots",
]

ComplexArray = NDArray[np.complex128]
FloatArray = NDArray[np.float64]

#: The point ``[1 : 0]`` of the projective line.
INF = complex(math.inf, 0.0)


def is_inf(z: Any) -> Any:
    """Elementwise: is ``z`` the point at infinity (either part infinite)?"""
    return np.isinf(np.real(z)) | np.isinf(np.imag(z))


def chordal(a: Any, b: Any) -> Any:
    """Chordal distance on the Riemann sphere, broadcasting ``a`` against ``b`` (``inf``
    allowed; values in ``[0, 1]``)."""
    a = np.asarray(a, dtype=np.complex128)
    b = np.asarray(b, dtype=np.complex128)
    ia, ib = is_inf(a), is_inf(b)
    any_inf = bool(ia.any() or ib.any())
    if any_inf:
        a, b = np.where(ia, 0, a), np.where(ib, 0, b)
    ha, hb = np.hypot(1.0, np.abs(a)), np.hypot(1.0, np.abs(b))
    with np.errstate(over="ignore", invalid="ignore"):
        d = np.abs(a - b) / (ha * hb)
        bad = ~np.isfinite(d)
        if bad.any():
            # |a - b| overflows for two huge finite points; their distance is then below
            # 1/|a| + 1/|b|, computed from the reciprocals instead
            inv = np.abs(1.0 / np.where(a == 0, 1, a) - 1.0 / np.where(b == 0, 1, b))
            d = np.where(bad, inv * (np.abs(a) / ha) * (np.abs(b) / hb), d)
    if any_inf:
        d = np.where(ia & ~ib, 1.0 / hb, d)
        d = np.where(ib & ~ia, 1.0 / ha, d)
        d = np.where(ia & ib, 0.0, d)
    return d


def chordal1(a: complex, b: complex) -> float:
    """Scalar :func:`chordal` (the fast path for Python complex numbers)."""
    ia = math.isinf(a.real) or math.isinf(a.imag)
    ib = math.isinf(b.real) or math.isinf(b.imag)
    if ia or ib:
        if ia and ib:
            return 0.0
        return 1.0 / math.hypot(1.0, abs(b if ia else a))
    ha, hb = math.hypot(1.0, abs(a)), math.hypot(1.0, abs(b))
    diff = abs(a - b)
    if math.isinf(diff):  # two huge points: use the reciprocals (see chordal)
        return abs(1.0 / a - 1.0 / b) * (abs(a) / ha) * (abs(b) / hb)
    return diff / (ha * hb)


def power1(p: complex, S: int) -> complex:
    """``p^S`` on the projective line without overflow (``inf^S = inf``), scalar."""
    if math.isinf(p.real) or math.isinf(p.imag):
        return INF
    if abs(p) <= 1:
        return p**S
    q = (1.0 / p) ** S
    return INF if q == 0 else 1.0 / q


def power(p: Any, S: int) -> Any:
    """``p^S`` on the projective line without overflow, elementwise (``inf^S = inf``; a
    finite point whose power overflows is ``inf``)."""
    p = np.asarray(p, dtype=np.complex128)
    inf = is_inf(p)
    small = np.abs(p) <= 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        inv = np.where(small | inf, 1.0, 1.0 / np.where(p == 0, 1.0, p)) ** S
        big = np.where(inv == 0, INF, 1.0 / np.where(inv == 0, 1.0, inv))
        out = np.where(small, np.where(small, p, 0) ** S, big)
    return np.where(inf, INF, out)


def mean_point(ps: Any) -> complex:
    """Average of nearby points of the line, in the chart where they are bounded (the chart
    at ``inf`` when they are large, so a cluster at ``inf`` averages to ``inf``)."""
    ps = np.asarray(ps, dtype=np.complex128).ravel()
    infm = is_inf(ps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if np.any(infm):
            fin = ps[~infm]
            if fin.size == 0 or np.mean(np.abs(1.0 / np.where(fin == 0, 1.0, fin))) < 1.0:
                inv = np.where(infm, 0.0, 1.0 / np.where(ps == 0, 1.0, ps))
                m = complex(np.mean(inv))
                return INF if m == 0 else 1.0 / m
        if np.mean(np.abs(ps)) <= 1.0 or np.any(ps == 0):
            # bounded points, or a cluster holding 0 itself: the chart at 0 is the one to use
            return complex(np.mean(ps))
        m = complex(np.mean(1.0 / ps))
    return INF if m == 0 else 1.0 / m


def is_real_point(h: complex, thr: float) -> bool:
    """``h`` is within chordal distance ``thr`` of its conjugate (``inf`` is real)."""
    h = complex(h)
    return chordal1(h, h.conjugate()) <= thr


def real_point(h: complex) -> complex:
    """The real point nearest to ``h`` in the chart of ``h``: ``Re h`` (``inf`` stays)."""
    return INF if is_inf(h) else complex(complex(h).real, 0.0)


def roots(f: Any, argument: str = "filter") -> ComplexArray:
    """Float roots of a nonzero binary form on the projective line, with multiplicity
    (``INF`` for ``[1 : 0]``, once per vanishing leading coefficient, ``0`` once per vanishing
    trailing one).

    The remaining core is solved by :func:`numpy.roots` in the chart whose leading coefficient
    is the larger end coefficient (roots of modulus above 1 are then computed as reciprocals),
    after scaling by ``max |c|``. A core whose companion matrix still overflows (coefficients
    spanning more than the float64 range relative to the end coefficients) raises
    :class:`lcn.errors.FilterError` naming ``argument``: its roots are not representable."""
    c = np.asarray(f, dtype=np.float64)
    if c.ndim != 1 or not np.all(np.isfinite(c)):
        raise FilterError(argument, "must be a finite 1-D coefficient vector")
    nz = np.flatnonzero(c)
    if nz.size == 0:
        raise FilterError(argument, "is the zero form, whose roots are the whole line")
    lead, trail = int(nz[0]), len(c) - 1 - int(nz[-1])
    core = c[lead : len(c) - trail]
    core = core / float(np.max(np.abs(core)))
    r = np.zeros(0, dtype=np.complex128)
    if core.size > 1:
        flip = abs(core[0]) < abs(core[-1])
        work = core[::-1] if flip else core
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            companion_ok = bool(np.all(np.isfinite(work[1:] / work[0])))
        if not companion_ok:
            raise FilterError(
                argument,
                "has coefficients spanning more than the float64 range relative to its end "
                "coefficients, so its roots cannot be computed in floating point; rescale the "
                "variables or give exact coefficients to lcn.geometry.membership",
            )
        try:
            with np.errstate(all="ignore"):
                r = np.roots(work).astype(np.complex128)
        except np.linalg.LinAlgError:
            raise FilterError(
                argument, "has roots that the float eigenvalue solver cannot resolve; give "
                "exact coefficients to lcn.geometry.membership"
            ) from None
        if flip:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(r == 0, INF, 1.0 / np.where(r == 0, 1.0, r))
        r = _polish(core, r)
    return np.concatenate([np.full(lead, INF), r, np.zeros(trail, dtype=np.complex128)])


def _horner(c: FloatArray, z: ComplexArray) -> tuple[ComplexArray, ComplexArray]:
    """``p(z)`` and ``p'(z)`` for ``p(z) = c_0 z^n + ... + c_n``, at many points at once."""
    p = np.full(z.shape, c[0], dtype=np.complex128)
    dp = np.zeros(z.shape, dtype=np.complex128)
    for ci in c[1:]:
        dp = dp * z + p
        p = p * z + ci
    return p, dp


def _polish(core: FloatArray, r: ComplexArray, steps: int = 3) -> ComplexArray:
    """Newton steps on the roots ``r`` of ``core`` (leading coefficient first), each root in
    the chart where it is bounded (``t`` for ``|t| <= 1``, ``1/t`` else), kept only where it
    lowers ``|p|``. Eigenvalue roots are backward stable for the companion matrix, not for
    the coefficients: on forms with many roots on a circle (orbits of roots of unity) their
    product misses the form by far more than roundoff, and a few Newton steps restore
    simple roots to working accuracy (clusters of multiple roots stay clusters)."""
    r = r.copy()
    with np.errstate(all="ignore"):
        for rev, sel in ((False, np.abs(r) <= 1), (True, np.abs(r) > 1)):
            if not np.any(sel):
                continue
            c = core[::-1] if rev else core
            z = 1.0 / r[sel] if rev else r[sel]
            z = np.where(np.isfinite(z), z, 0)
            val, der = _horner(c, z)
            for _ in range(steps):
                ok = (der != 0) & np.isfinite(val) & np.isfinite(der)
                z_new = np.where(ok, z - val / np.where(ok, der, 1), z)
                val_new, der_new = _horner(c, z_new)
                better = np.abs(val_new) < np.abs(val)
                z = np.where(better, z_new, z)
                val = np.where(better, val_new, val)
                der = np.where(better, der_new, der)
            back = np.where(z == 0, INF, 1.0 / np.where(z == 0, 1, z)) if rev else z
            r[sel] = back
    return r


def form_from_roots(points: Sequence[complex], mults: Sequence[int] | None = None
                    ) -> ComplexArray:
    """Coefficients (``x^n, ..., y^n``) of ``prod (x - t y)^m`` over the points ``t`` (``y`` for
    ``t = inf``), each linear factor scaled to unit size (``x/t - y`` for ``|t| > 1``); the
    result is then scaled to unit max-norm, so only the point of ``P(R[x,y]_n)`` is meant.

    Expanding the product factor by factor loses all accuracy when the roots lie on circles
    (partial products have coefficients many orders above the result's, in an order-dependent
    way). Instead the form is sampled at the ``n+1``-th roots of unity, where each factor is a
    product of values of modulus at most 2 (kept in logarithms, so nothing overflows), and the
    coefficients are recovered by one FFT: the error is ``O(n eps)`` relative to the result's
    norm whatever the order and position of the roots."""
    ms = [1] * len(points) if mults is None else [int(m) for m in mults]
    pts = np.array([complex(t) for t in points], dtype=np.complex128)
    mm = np.array(ms, dtype=np.float64)
    n = int(mm.sum())
    if n == 0:
        return np.ones(1, dtype=np.complex128)
    n_inf = int(mm[is_inf(pts)].sum()) if pts.size else 0
    fin = ~is_inf(pts)
    pts, mm = pts[fin], mm[fin]
    M = n - n_inf + 1
    w = np.exp(2j * np.pi * np.arange(M) / M)
    big = np.abs(pts) > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(big, 1.0 / np.where(big, pts, 1), 0)
        vals = np.where(big[None, :], w[:, None] * inv[None, :] - 1.0, w[:, None] - pts[None, :])
        logs = np.log(np.abs(vals))
    logs = np.where(np.isfinite(logs), logs, -np.inf)
    log_mag = logs @ mm
    phase = np.angle(vals) @ mm
    top = float(np.max(log_mag[np.isfinite(log_mag)])) if np.any(np.isfinite(log_mag)) else 0.0
    samples = np.exp(log_mag - top) * np.exp(1j * phase)
    a = np.fft.fft(samples) / M  # a[m]: coefficient of x^m y^(n_fin - m)
    # each factor y (t = inf) moves the coefficients one place towards y^n
    c = np.concatenate([np.zeros(n_inf, dtype=np.complex128), a[::-1]])
    scale = float(np.max(np.abs(c)))
    return np.asarray(c / scale if scale > 0 else c, dtype=np.complex128)


def orbit_distance(a: ComplexArray, b: ComplexArray, S: int) -> FloatArray:
    """``min_k chordal(zeta^k a_i, b_j)`` for all pairs (``zeta = exp(2 pi i / S)``): how far
    ``b_j`` is from the orbit of ``a_i`` under the ``S``-th roots of unity (rotations keep
    ``|a|``, so this is a chordal distance in root space; 0 and inf are fixed points)."""
    a = np.asarray(a, dtype=np.complex128)
    b = np.asarray(b, dtype=np.complex128)
    zeta = np.exp(2j * np.pi * np.arange(S) / S)
    fin = ~is_inf(a)
    rot = np.where(fin[:, None], np.where(fin, a, 0)[:, None] * zeta[None, :], INF)
    return np.min(chordal(rot[:, :, None], b[None, None, :]), axis=1)  # type: ignore[no-any-return]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.p = list(range(n))

    def find(self, a: int) -> int:
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        g: dict[int, list[int]] = {}
        for i in range(len(self.p)):
            g.setdefault(self.find(i), []).append(i)
        return list(g.values())


def cluster(distances: FloatArray, radius: float) -> list[list[int]]:
    """Single-linkage clusters of ``n`` points from their ``(n, n)`` distance matrix: two
    points are in one cluster when a chain of steps ``<= radius`` joins them. Clusters are
    listed by their smallest index, members in increasing order."""
    n = distances.shape[0]
    uf = _UnionFind(n)
    ii, jj = np.nonzero(np.triu(distances <= radius, 1))
    for a, b in zip(ii.tolist(), jj.tolist(), strict=True):
        uf.union(a, b)
    return uf.groups()


def cluster_by_multiplicity(points: ComplexArray, tol: float) -> list[tuple[complex, int]]:
    """Distinct roots with multiplicities from float roots of a form perturbed by ``tol``
    (relative).

    A root of multiplicity ``m`` splits into ``m`` roots about ``tol^(1/m)`` apart (chordal), so
    for ``m = n, n-1, ..., 2`` the still unassigned points are joined by single linkage at
    radius ``tol^(1/m)``, and a component of exactly ``m`` points becomes one root of
    multiplicity ``m`` (a larger component is a chain of distinct roots at that radius, a
    smaller one is looked at again with the smaller ``m``). Each root is reported as (the mean
    of its points in the bounded chart, ``m``); a cluster holding ``inf`` is ``inf``."""
    pts = np.asarray(points, dtype=np.complex128).ravel()
    n = pts.size
    if n == 0:
        return []
    D = chordal(pts[:, None], pts[None, :])
    free = np.ones(n, dtype=bool)
    groups: list[list[int]] = []
    for m in range(n, 1, -1):
        idx = np.flatnonzero(free)
        if idx.size < m:
            continue
        for g in cluster(D[np.ix_(idx, idx)], tol ** (1.0 / m)):
            if len(g) == m:
                groups.append([int(i) for i in idx[g]])
                free[idx[g]] = False
    groups += [[int(i)] for i in np.flatnonzero(free)]
    return [(INF if np.any(is_inf(pts[g])) else mean_point(pts[g]), len(g)) for g in groups]
