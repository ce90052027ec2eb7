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


def orbit_distance(a: ComplexArray, b: ComplexArray, S: int) -> NDArray[np.float64]:
    """``min_k chordal(zeta^k a_i, b_j)`` for all pairs (``zeta = exp(2 pi i / S)``)."""
    zeta = np.exp(2j * np.pi * np.arange(S) / S)
    fin = ~P.is_inf(a)
    rot = np.where(fin[:, None], np.where(fin, a, 0)[:, None] * zeta[None, :], P.INF)
    return np.min(P.chordal(rot[:, :, None], b[None, None, :]), axis=1)


def snap(roots: ComplexArray, S_top: int, eta: float) -> tuple[ComplexArray, list[int]]:
    """The configuration of ``roots`` at root-space tolerance ``eta`` (chordal): roots within
    ``eta`` merge (single linkage) into one point with their count as multiplicity; a cluster
    closed under conjugation becomes real, one within ``eta`` of 0 or inf becomes 0 or inf;
    points within ``eta`` of a rotation of each other by an ``S_top``-th root of unity are
    moved onto one exact orbit (a conjugation-closed group onto an orbit with real ``S_top``-th
    power). Conjugate clusters stay exact conjugates."""
    N = len(roots)
    if N == 0:
        return np.zeros(0, dtype=np.complex128), []
    clusters = P.cluster(P.chordal(roots[:, None], roots[None, :]), eta)
    cid = np.empty(N, dtype=int)
    for c, mem in enumerate(clusters):
        cid[mem] = c
    K = len(clusters)
    centers = np.empty(K, dtype=np.complex128)
    mults = [len(m) for m in clusters]
    firsts = np.array([m[0] for m in clusters])
    conj_of = cid[np.argmin(P.chordal(np.conj(roots[firsts])[:, None], roots[None, :]), axis=1)]
    done = np.zeros(K, dtype=bool)
    for c, mem in enumerate(clusters):
        if done[c]:
            continue
        z = P.mean_point(roots[mem])
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
    if S_top > 1:
        movable = np.flatnonzero(~P.is_inf(centers) & (centers != 0))
        if movable.size > 1:
            P_ = centers[movable]
            Dz = orbit_distance(P_, P_, S_top)
            zeta = np.exp(2j * np.pi * np.arange(S_top) / S_top)
            for grp in P.cluster(Dz, eta):
                if len(grp) < 2:
                    continue
                members = movable[grp]
                ref = centers[members[0]]
                ks = [int(np.argmin(P.chordal(ref * zeta, centers[m]))) for m in members]
                base = P.mean_point([centers[m] / zeta[k] for m, k in zip(members, ks,
                                                                         strict=True)])
                self_conj = float(np.min(orbit_distance(np.conj(centers[members[:1]]),
                                                         centers[members], S_top))) <= eta
                if self_conj:
                    th = float(np.angle(base))
                    th = round(th * S_top / np.pi) * np.pi / S_top
                    base = abs(base) * complex(np.exp(1j * th))
                for m, k in zip(members, ks, strict=True):
                    was_real = centers[m].imag == 0
                    z = base * zeta[k]
                    centers[m] = complex(z.real, 0.0) if was_real else z
                if not self_conj:
                    # mirror onto the conjugate group (its members are the conjugate clusters)
                    for m in members:
                        centers[conj_of[m]] = np.conj(centers[m])
    # merge points that now coincide
    vals: list[complex] = []
    mm: list[int] = []
    for z, m in zip(centers.tolist(), mults, strict=True):
        for t, v in enumerate(vals):
            if P.chordal1(v, z) <= 1e-13:
                mm[t] += m
                break
        else:
            vals.append(complex(z))
            mm.append(m)
    return np.array(vals, dtype=np.complex128), mm


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


def events(roots: ComplexArray, S_top: int) -> list[float]:
    """Root-space tolerances at which the configuration can change (distances between roots
    up to rotation by ``S_top``-th roots of unity, and to 0 and inf), thinned to the upper
    end of every run of values within a factor 1.5."""
    N = len(roots)
    ev = [np.zeros(1)]
    if N > 1:
        Dz = orbit_distance(roots, roots, max(S_top, 1))
        ev.append(Dz[np.triu_indices(N, 1)])
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

