"""Snapping float roots to exact configurations at a root-space tolerance, with a residual
certificate (the configurations :func:`classify` decides)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]


def snap(roots: ComplexArray, strides: Sequence[int], eta: float,
         coeffs: FloatArray | None = None, *, dist: FloatArray | None = None
         ) -> tuple[ComplexArray, list[int]]:
    """The configuration of ``roots`` at root-space tolerance ``eta`` (chordal): roots within
    ``eta`` merge (single linkage) into one point with their count as multiplicity; a cluster
    closed under conjugation becomes real, one within ``eta`` of 0 or inf becomes 0 or inf;
    then, for every stride ``S`` in ``strides`` (largest first), points within ``eta`` of a
    rotation of each other by an ``S``-th root of unity are moved onto one exact orbit (a
    conjugation-closed group onto an orbit with real ``S``-th power). Conjugate clusters stay
    exact conjugates."""
    if len(roots) == 0:
        return np.zeros(0, dtype=np.complex128), []
    if dist is None:
        dist = pair_distances(roots)
    centers, mults, conj_of = _clusters(roots, eta, coeffs, dist)
    for S in sorted(set(strides), reverse=True):
        if S > 1:
            _snap_orbits(centers, conj_of, S, eta)
    # merge points that now coincide
    groups = P.cluster(P.chordal(centers[:, None], centers[None, :]), 1e-13)
    return (np.array([centers[g[0]] for g in groups], dtype=np.complex128),
            [sum(mults[i] for i in g) for g in groups])


def _polish_center(coeffs: FloatArray, z: complex, m: int) -> complex:
    """The centre of a cluster of ``m`` roots moved onto the simple root of the ``(m-1)``-th
    derivative of the form next to it (Newton, in the chart where ``z`` is bounded). A root
    of multiplicity ``m`` splits under a perturbation ``eps`` into roots ``eps^(1/m)`` apart
    whose float values are far less accurate than that; the derivative's root moves only by
    ``O(eps)``. The move is kept only when it stays within the cluster's scale."""
    if m < 2 or m > 64 or z == 0 or math.isinf(z.real) or math.isinf(z.imag):
        return z
    rev = abs(z) > 1
    c = np.asarray(coeffs[::-1] if rev else coeffs, dtype=np.float64)
    n = c.size - 1
    if n < m:
        return z
    # p^(m-1) / (m-1)! has coefficients c_i C(n-i, m-1); the binomials overflow for large n,
    # and only the root matters, so they are scaled in logarithms
    j = np.arange(n - m + 2)  # the surviving coefficients c_0 .. c_{n-m+1}
    logb = np.array([math.lgamma(n - i + 1) - math.lgamma(n - i - m + 2) for i in j])
    d = c[: n - m + 2] * np.exp(logb - logb.max())
    if not np.any(d):
        return z
    dd = np.polyder(d)
    t = 1.0 / z if rev else z
    t0 = t
    with np.errstate(all="ignore"):
        for _ in range(4):
            v, dv = np.polyval(d, t), np.polyval(dd, t)
            if dv == 0 or not np.isfinite(v / dv):
                break
            t = complex(t - v / dv)
    if not np.isfinite(t) or abs(t - t0) > 0.1 * max(abs(t0), 1e-3):
        return z
    t = complex(t)
    return (1.0 / t if t != 0 else P.INF) if rev else t


def pair_distances(roots: ComplexArray) -> FloatArray:
    """``(2, N, N)``: chordal distances between the roots, and from their conjugates to them."""
    return np.stack([P.chordal(roots[:, None], roots[None, :]),
                     P.chordal(np.conj(roots)[:, None], roots[None, :])])


def _clusters(roots: ComplexArray, eta: float, coeffs: FloatArray | None, dist: FloatArray
              ) -> tuple[ComplexArray, list[int], NDArray[np.int64]]:
    """Single-linkage clusters of the roots at ``eta``: their centers (snapped to 0, inf or
    the real line within ``eta``, exact conjugates of each other), sizes, and the index of
    each cluster's conjugate cluster."""
    N = len(roots)
    clusters = P.cluster(dist[0], eta)
    cid = np.empty(N, dtype=np.int64)
    for c, mem in enumerate(clusters):
        cid[mem] = c
    K = len(clusters)
    centers = np.empty(K, dtype=np.complex128)
    firsts = np.array([m[0] for m in clusters])
    conj_of = cid[np.argmin(dist[1][firsts], axis=1)]
    done = np.zeros(K, dtype=bool)
    for c, mem in enumerate(clusters):
        if done[c]:
            continue
        z = complex(roots[mem[0]]) if len(mem) == 1 else P.mean_point(roots[mem])
        if coeffs is not None:
            z = _polish_center(coeffs, z, len(mem))
        if P.chordal1(z, 0j) <= eta:
            z = 0j
        elif P.chordal1(z, P.INF) <= eta:
            z = P.INF
        if conj_of[c] == c or P.is_real_point(z, eta):
            centers[c] = P.real_point(z)
            done[c] = True
            if conj_of[c] != c:  # two conjugate clusters within eta of the real line
                centers[conj_of[c]] = centers[c]
                done[conj_of[c]] = True
        else:
            centers[c] = z
            centers[conj_of[c]] = np.conj(z)
            done[c] = done[conj_of[c]] = True
    return centers, [len(m) for m in clusters], conj_of


def _snap_orbits(centers: ComplexArray, conj_of: NDArray[np.int64], S: int, eta: float
                 ) -> None:
    """Move the finite nonzero centers that are within ``eta`` of a rotation of each other
    by an ``S``-th root of unity onto one exact orbit, in place (mirrored onto the conjugate
    group, or onto an orbit with real ``S``-th power when the group is its own conjugate)."""
    movable = np.flatnonzero(~P.is_inf(centers) & (centers != 0))
    if movable.size < 2:
        return
    zeta = np.exp(2j * np.pi * np.arange(S) / S)
    for grp in P.cluster(P.orbit_distance(centers[movable], centers[movable], S), eta):
        if len(grp) < 2:
            continue
        members = movable[grp]
        ref = centers[members[0]]
        ks = np.argmin(P.chordal(ref * zeta[None, :], centers[members][:, None]), axis=1)
        base = P.mean_point([centers[m] / zeta[k] for m, k in zip(members, ks, strict=True)])
        self_conj = float(np.min(P.orbit_distance(np.conj(centers[members[:1]]),
                                                  centers[members], S))) <= eta
        if self_conj:
            th = float(np.angle(base))
            th = round(th * S / np.pi) * np.pi / S
            base = abs(base) * complex(np.exp(1j * th))
        for m, k in zip(members, ks, strict=True):
            was_real = centers[m].imag == 0
            z = base * zeta[k]
            centers[m] = complex(z.real, 0.0) if was_real else z
        if not self_conj:
            # mirror onto the conjugate group (its members are the conjugate clusters)
            for m in members:
                centers[conj_of[m]] = np.conj(centers[m])


def config_residual(values: ComplexArray, mults: Sequence[int], f: FloatArray) -> float:
    """``min_c ||c F - f|| / ||f||`` for the form ``F`` with exactly these roots: an upper
    bound on the distance from ``f`` to the forms with this configuration."""
    F = P.form_from_roots([v for v, m in zip(values, mults, strict=True) for _ in range(m)]).real
    den = float(F @ F)
    fn = float(np.linalg.norm(f))
    if den == 0 or fn == 0:
        return math.inf
    c = float(F @ f) / den
    return float(np.linalg.norm(c * F - f)) / fn


def events(roots: ComplexArray, strides: Sequence[int]) -> list[float]:
    """Root-space tolerances at which the configuration can change (distances between roots,
    and up to rotation by ``S``-th roots of unity for each stride, and to 0 and inf),
    thinned to the upper end of every run of values within a factor 1.5."""
    N = len(roots)
    ev = [np.zeros(1)]
    if N > 1:
        iu = np.triu_indices(N, 1)
        for S in sorted({1, *strides}):
            ev.append(P.orbit_distance(roots, roots, S)[iu])
    ev.append(P.chordal(roots, 0))
    ev.append(P.chordal(roots, P.INF))
    allv = np.unique(np.concatenate(ev))
    allv = allv[allv <= 0.5]
    out: list[float] = [0.0]
    for i, v in enumerate(allv):
        if v == 0:
            continue
        nxt = allv[i + 1] if i + 1 < len(allv) else math.inf
        # one step per run of values within a factor 1.5; everything below 1e-12 (roundoff
        # of the root finder) is one run
        if nxt > 1.5 * v and nxt > 1e-12:
            out.append(float(v) * (1 + 1e-9))
    return out

