"""Layer filters from hyperroots (MATH.md 3-4): the real components of the Zariski closure,
and (possibly complex) factorizations of a point for the original architecture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn.architecture import Architecture
from lcn.geometry.numerical.levels import Level
from lcn.geometry.numerical.model import BatchModel

FloatArray = NDArray[np.float64]


def closure_components(levels: Sequence[Level]) -> list[tuple[int, ...]]:
    """Degree vectors ``d'`` (reduced) whose real function spaces cover the real points of the
    Zariski closure: ``closure ∩ R^{d+1} = union of M_{d',S}`` [derived here, see
    docs/geometry.md]. Top-down, level ``l`` takes ``m`` or ``m + 1`` hyperroots, ``m`` being
    what is still needed after the excess ``E`` pushed down from above."""
    R = len(levels)
    out: set[tuple[int, ...]] = set()

    def rec(j: int, E: int, acc: list[int]) -> None:
        lv = levels[j]
        if j == 0:
            m = lv.n - E // lv.S
            if m >= 0:
                out.add(tuple([m, *reversed(acc)]))
            return
        m = max(0, lv.n - E // lv.S)
        # a size-1 level is a scalar: it never takes hyperroots (as exact._effective)
        for mp in (m,) if lv.n == 0 else (m, m + 1):
            rec(j - 1, E + (mp - lv.n) * lv.S, [*acc, mp])

    rec(R - 1, 0, [])
    return sorted(out, key=lambda dp: (sum(dp) != sum(lv.n for lv in levels), dp))


def layer_hyperroots(w: Any) -> list[complex]:
    """Roots (in ``u``) of a layer polynomial ``sum_j w_j u^{k-1-j} v^j``, ``inf`` for a
    vanishing leading coefficient."""
    w = np.asarray(w)
    if w.size <= 1:
        return []
    if not np.any(w):
        return [0j] * (w.size - 1)
    return [complex(z) for z in P.roots(np.asarray(w, dtype=np.float64))]


def _push_down(h: complex, r: int) -> list[complex]:
    """The ``r`` hyperroots of order ``S/r`` forming the orbit of a hyperroot ``h`` of order
    ``S``: the ``r``-th roots of ``h`` (``0`` and ``inf`` are fixed, with multiplicity ``r``)."""
    if r == 1:
        return [h]
    if P.is_inf(h) or h == 0:
        return [h] * r
    base = complex(np.exp(np.log(complex(h)) / r))
    return [base * complex(np.exp(2j * np.pi * m / r)) for m in range(r)]


def _take_conjugate_closed(pool: list[complex], n: int, want_real: int
                           ) -> tuple[list[complex], list[complex]]:
    """Choose ``n`` of ``pool`` keeping both parts closed under conjugation when possible
    (``want_real`` real ones first)."""
    thr = 1e-9
    reals = [h for h in pool if P.is_real_point(h, thr)]
    cplx = [h for h in pool if not P.is_real_point(h, thr)]
    ups = sorted([h for h in cplx if h.imag > 0], key=lambda h: h.real)
    downs = [h for h in cplx if h.imag <= 0]
    pairs: list[tuple[complex, complex]] = []
    for h in ups:
        if not downs:
            break
        j = int(np.argmin(P.chordal(np.conj(h), np.array(downs))))
        pairs.append((h, downs.pop(j)))
    loose = [h for h in cplx if not any(h is a or h is b for a, b in pairs)]
    take: list[complex] = []
    while len(take) < min(want_real, n) and reals:
        take.append(reals.pop())
    while n - len(take) >= 2 and pairs:
        take += list(pairs.pop())
    while len(take) < n and reals:
        take.append(reals.pop())
    rest_pool = reals + [h for p in pairs for h in p] + loose
    while len(take) < n and rest_pool:
        take.append(rest_pool.pop())
    return take, rest_pool


def complex_factorization(
    arch: Architecture, levels: Sequence[Level], level_roots: Sequence[list[complex]],
    target: FloatArray,
) -> tuple[list[Any], float]:
    """Layer filters of the original architecture from hyperroots given per reduced level
    (possibly more than the level needs): the surplus of a level is pushed down as the orbit
    of ``S_l / S_{l-1}`` hyperroots of the level below (MATH.md 3-4). Conjugation-closed
    choices are preferred, so the filters are real whenever that is possible this way."""
    filters: list[Any] = [None] * arch.layers
    pushed: list[complex] = []
    for j in range(len(levels) - 1, -1, -1):
        lv = levels[j]
        pool = list(level_roots[j]) + pushed
        take, rest = _take_conjugate_closed(pool, lv.n, lv.e)
        if j > 0:
            r = lv.S // levels[j - 1].S
            pushed = [g for h in rest for g in _push_down(h, r)]
        reals = [h for h in take if P.is_real_point(h, 1e-9)]
        cplx = [h for h in take if not P.is_real_point(h, 1e-9)]
        parts: list[list[complex]] = [[] for _ in lv.degrees]
        for li, d in enumerate(lv.degrees):
            if d % 2 and reals:
                parts[li].append(reals.pop())
        ups = sorted([h for h in cplx if h.imag > 0], key=lambda h: h.real)
        downs = [h for h in cplx if h.imag <= 0]
        seq: list[complex] = []
        for h in ups:
            if downs:
                k = int(np.argmin(P.chordal(np.conj(h), np.array(downs))))
                seq += [h, downs.pop(k)]
            else:
                seq.append(h)
        seq += downs
        while len(reals) >= 2:
            seq += [reals.pop(), reals.pop()]
        seq += reals
        for li, d in enumerate(lv.degrees):
            while len(parts[li]) < d and seq:
                parts[li].append(seq.pop(0))
        for li, hs in zip(lv.layers, parts, strict=True):
            c = P.form_from_roots(hs)
            if c.size < arch.k[li]:
                c = np.concatenate([c, np.zeros(arch.k[li] - c.size)])
            filters[li] = c
    model = BatchModel(arch.k, arch.S)
    theta = np.concatenate(filters)[None, :]
    m = model.mu(theta)[0]
    den = np.vdot(m, m)
    scal = complex(np.vdot(m, target) / den) if den != 0 else 1.0 + 0j
    # spread the scalar evenly (balanced layers), keeping its phase on layer 1
    mag = abs(scal) ** (1.0 / arch.layers) if scal != 0 else 0.0
    filters = [f * mag for f in filters]
    filters[0] = filters[0] * (scal / abs(scal) if scal != 0 else 1.0)
    out: list[Any] = []
    for f in filters:
        fr = np.asarray(f)
        if np.all(np.abs(fr.imag) <= 1e-12 * max(1.0, float(np.max(np.abs(fr))))):
            out.append(np.ascontiguousarray(fr.real))
        else:
            out.append(fr)
    return out, factor_residual(arch, out, target)


def factor_residual(arch: Architecture, filters: Sequence[Any], point: FloatArray) -> float:
    model = BatchModel(arch.k, arch.S)
    theta = np.concatenate([np.asarray(f) for f in filters])[None, :]
    m = model.mu(theta)[0]
    scale = float(np.max(np.abs(point))) or 1.0
    return float(np.max(np.abs(m - point))) / scale


def theta_filters(model: BatchModel, theta: FloatArray, scale: float) -> list[FloatArray]:
    """Per-layer filters from one parameter vector, multiplied by ``scale`` in total
    (balanced: each layer by ``scale^(1/L)``)."""
    fac = scale ** (1.0 / model.L)
    return [np.array(w[0] * fac) for w in model.split(theta[None, :])]

