"""Root-orbit starting points for :func:`nearest` (MATH.md 3-4: hyperroots of order ``S`` are
orbits of ``S``-th roots of unity among the roots of ``f``).

The roots of the target are assigned to levels top-down, cheapest complete orbit first, kept
closed under conjugation; each level's hyperroots are split among its layers and every layer
polynomial is expanded. A bottom stride-one layer is then solved by least squares."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn.geometry.numerical.levels import Level
from lcn.geometry.numerical.model import BatchModel

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]


def _robust_hyperroot(hs: ComplexArray) -> complex:
    """Hyperroot of a matched orbit: the mean of the ``S``-th powers that agree with their
    medoid (a root displaced by noise, or a wrong match, must not drag the estimate)."""
    if hs.size <= 2:
        return P.mean_point(hs)
    D = P.chordal(hs[:, None], hs[None, :])
    med = int(np.argmin(D.sum(axis=1)))
    dev = D[med]
    scale = max(float(np.median(dev)), 1e-15)
    return P.mean_point(hs[dev <= 3 * scale])


def _match(pts: ComplexArray, avail: NDArray[np.bool_], targets: ComplexArray
           ) -> tuple[list[int], float] | None:
    """Greedily match each target point to the nearest available root (each used once)."""
    avail = avail.copy()
    out: list[int] = []
    dists: list[float] = []
    for t in targets:
        idx = np.flatnonzero(avail)
        if idx.size == 0:
            return None
        dist = P.chordal(complex(t), pts[idx])
        j = int(np.argmin(dist))
        out.append(int(idx[j]))
        dists.append(float(dist[j]))
        avail[idx[j]] = False
    return out, _robust_cost(np.array(dists))


def _robust_cost(dists: Any) -> float:
    """Cost of an orbit from its match distances (last axis): the sum without the largest,
    plus a tenth of the largest, once there are two or more. A true orbit with one root
    displaced by noise then stays cheaper than an accidental near-orbit."""
    d = np.sort(np.asarray(dists, dtype=np.float64), axis=-1)
    if d.shape[-1] < 2:
        return d.sum(axis=-1)  # type: ignore[no-any-return]
    return d[..., :-1].sum(axis=-1) + 0.1 * d[..., -1]  # type: ignore[no-any-return]


def _select_level(
    pts: ComplexArray,
    alive: NDArray[np.bool_],
    S: int,
    n: int,
    e: int,
    rng: np.random.Generator,
    noise: float,
    real_thr: float,
) -> tuple[list[complex], list[complex]]:
    """Pick ``n`` hyperroots of order ``S`` from the alive roots (marking them used): complete
    (or nearly complete) orbits of the ``S``-th roots of unity, cheapest first, closed under
    conjugation (a nonreal orbit is taken together with the orbit of the conjugates; when only
    one more is needed it is projected to the real line). At least ``e`` are made real by
    collapsing the most nearly real conjugate pairs into double real hyperroots."""
    pick = _Picker(pts, alive, S, rng, noise)
    pick.rebuild()
    while pick.count < n:
        if not pick.heap:
            pick.rebuild()
            if not pick.heap:
                break
        _, _, kind, i = heapq.heappop(pick.heap)
        if kind in ("zero", "inf"):
            pick.take_special(0j if kind == "zero" else P.INF, kind)
        elif alive[i]:
            pick.take_orbit(i, n, real_thr)
    pairs = sorted(pick.pairs, key=lambda h: P.chordal1(h, h.conjugate()))
    reals = pick.reals
    while len(reals) < e and pairs:
        h = pairs.pop(0)
        reals += [P.real_point(h)] * 2
    return reals, pairs


class _Picker:
    """The state of :func:`_select_level`: a heap of candidate orbits by (perturbed) cost,
    the hyperroots taken so far (``reals``, ``pairs`` as the upper member of a conjugate
    pair) and their count. ``alive`` (shared with the caller) marks the roots still free."""

    def __init__(self, pts: ComplexArray, alive: NDArray[np.bool_], S: int,
                 rng: np.random.Generator, noise: float) -> None:
        self.pts, self.alive, self.S, self.rng, self.noise = pts, alive, S, rng, noise
        self.zeta = np.exp(2j * np.pi * np.arange(1, S) / S)
        self.infm = P.is_inf(pts)
        self.reals: list[complex] = []
        self.pairs: list[complex] = []
        self.count = 0
        self.heap: list[tuple[float, int, str, int]] = []
        self.tie = itertools.count()

    def perturb(self, c: float) -> float:
        """A cost randomized for the randomized starts (``noise > 0``)."""
        if self.noise == 0:
            return c
        return c * math.exp(self.noise * self.rng.standard_normal()) + 1e-9 * self.rng.random()

    def push(self, c: float, kind: str, i: int) -> None:
        heapq.heappush(self.heap, (c, next(self.tie), kind, i))

    def cheaper_waits(self, c: float) -> bool:
        """A candidate whose cost went up waits behind a cheaper one."""
        return bool(self.heap) and c > self.heap[0][0] * 1.0001 + 1e-15

    def special_members(self, point: complex) -> list[int] | None:
        """The ``S`` alive roots nearest to ``0`` or ``inf``."""
        idx = np.flatnonzero(self.alive)
        if idx.size < self.S:
            return None
        dist = P.chordal(point, self.pts[idx])
        return [int(i) for i in idx[np.argsort(dist, kind="stable")[: self.S]]]

    def rebuild(self) -> None:
        """Push every alive root with the robust cost of its best orbit, and the hyperroots 0
        and inf when ``S`` roots are near them."""
        S, idx = self.S, np.flatnonzero(self.alive)
        P_ = self.pts[idx]
        if S > 1 and idx.size:
            fin = ~self.infm[idx] & (P_ != 0)
            rot = np.where(fin, P_, 0)[:, None] * self.zeta[None, :]  # |rot| = |P_|
            D = P.chordal(rot[:, :, None], P_[None, None, :])
            D[np.arange(idx.size), :, np.arange(idx.size)] = np.inf
            est = np.where(fin, _robust_cost(D.min(axis=2)), np.inf)
        else:
            est = np.zeros(idx.size)
        for i, c in zip(idx, est, strict=True):
            if np.isfinite(c):
                self.push(self.perturb(float(c)), "pt", int(i))
        if S == 1 or idx.size < S:
            return
        for kind, dist in (("zero", P.chordal(P_, 0j)), ("inf", P.chordal(P_, P.INF))):
            c = float(np.sum(np.partition(dist, S - 1)[:S]))
            if c <= 0.5 * S:
                self.push(self.perturb(c), kind, -1)

    def take_special(self, point: complex, kind: str) -> None:
        """Take the hyperroot ``0`` or ``inf`` (``S`` roots near it), unless it got dearer."""
        mem = self.special_members(point)
        if mem is None:
            return
        c = self.perturb(float(np.sum(P.chordal(point, self.pts[mem]))))
        if self.cheaper_waits(c):
            self.push(c, kind, -1)
            return
        self.alive[mem] = False
        self.reals.append(point)
        self.count += 1
        nxt = self.special_members(point)
        if nxt is not None:
            self.push(self.perturb(float(np.sum(P.chordal(point, self.pts[nxt])))), kind, -1)

    def take_orbit(self, i: int, n: int, real_thr: float) -> None:
        """Take the orbit of root ``i``: real when its hyperroot is (nearly) real or only one
        more is needed, else with its conjugate orbit as a pair, else projected to real."""
        pts, alive = self.pts, self.alive
        avail = alive.copy()
        avail[i] = False
        m = _match(pts, avail, pts[i] * self.zeta) if self.S > 1 else ([], 0.0)
        if m is None:
            return
        members = [i, *m[0]]
        c = self.perturb(m[1])
        if self.cheaper_waits(c):
            self.push(c, "pt", i)
            return
        h = _robust_hyperroot(P.power(pts[members], self.S))
        if P.is_real_point(h, real_thr) or n - self.count == 1:
            alive[members] = False
            self.reals.append(P.real_point(h))
            self.count += 1
            return
        avail = alive.copy()
        avail[members] = False
        m2 = _match(pts, avail, np.conj(pts[members]))
        # the conjugate orbit must be (nearly) present; when it is farther than the members
        # are from being a conjugation-closed orbit (e.g. its roots were taken by a higher
        # level), project this orbit to a real hyperroot instead
        c_proj = 0.5 * float(np.sum(P.chordal(pts[members], np.conj(pts[members]))))
        alive[members] = False
        if m2 is None or self.perturb(m2[1]) > c_proj:
            self.reals.append(P.real_point(h))
            self.count += 1
            return
        alive[m2[0]] = False
        self.pairs.append(complex(h.real, abs(h.imag)))
        self.count += 2


def _distribute(
    level: Level, reals: list[complex], pairs: list[complex], rng: np.random.Generator,
    randomize: bool,
) -> list[list[complex]]:
    """Split a level's hyperroots among its original layers, conjugation-closed per layer:
    each odd layer gets one real hyperroot, the rest go in pairs (two reals or ``h, conj h``)."""
    reals, pairs = list(reals), list(pairs)
    if randomize:
        rng.shuffle(reals)  # type: ignore[arg-type]
        rng.shuffle(pairs)  # type: ignore[arg-type]
    out: list[list[complex]] = [[] for _ in level.degrees]
    for li, d in enumerate(level.degrees):
        if d % 2 and reals:
            out[li].append(reals.pop())
    units: list[tuple[complex, complex]] = []
    while len(reals) >= 2:
        units.append((reals.pop(), reals.pop()))
    units += [(h, complex(np.conj(h))) for h in pairs]
    if randomize:
        order = rng.permutation(len(units))
        units = [units[int(j)] for j in order]
    leftovers = list(reals)
    for li, d in enumerate(level.degrees):
        while len(out[li]) + 1 < d and units:
            out[li] += list(units.pop())
    # whatever is left (only after a failed projection) fills the layers that still need roots
    rest = [h for u in units for h in u] + leftovers
    for li, d in enumerate(level.degrees):
        while len(out[li]) < d and rest:
            out[li].append(rest.pop())
    return out


def orbit_theta(
    pts: ComplexArray,
    levels: Sequence[Level],
    model: BatchModel,
    rng: np.random.Generator,
    noise: float,
    real_thr: float,
    randomize: bool,
) -> FloatArray:
    """One root-orbit starting point: assign the roots to levels top-down, split each level's
    hyperroots among its layers, and expand every layer polynomial (real parts). A bottom
    level (``S = 1``) with a single layer is left at ones: :func:`init_batch` solves for it
    by least squares."""
    alive = np.ones(len(pts), dtype=bool)
    theta = np.zeros(model.P)
    skip = _ls_layer_index(levels)
    for lv in sorted(levels, key=lambda lv: -lv.S):
        if skip is not None and lv.layers == (skip,):
            theta[model.offsets[skip] : model.offsets[skip] + model.ks[skip]] = 1.0
            continue
        if lv.n == 0:
            parts: list[list[complex]] = [[] for _ in lv.degrees]
        else:
            reals, pairs = _select_level(pts, alive, lv.S, lv.n, lv.e, rng, noise, real_thr)
            parts = _distribute(lv, reals, pairs, rng, randomize)
        for li, hs in zip(lv.layers, parts, strict=True):
            k = model.ks[li]
            c = P.form_from_roots(hs[: k - 1]).real
            if c.size < k:  # only when the roots ran out: pad generically
                c = np.concatenate([c, 0.1 * rng.standard_normal(k - c.size)])
            theta[model.offsets[li] : model.offsets[li] + k] = c
    return theta


def _ls_layer_index(levels: Sequence[Level]) -> int | None:
    """The layer solved by least squares in the starting points: the only layer of a bottom
    level with ``S = 1`` and positive degree (``mu`` is linear in it)."""
    lv = levels[0]
    if lv.S == 1 and len(lv.layers) == 1 and lv.n > 0 and len(levels) > 1:
        return lv.layers[0]
    return None


def init_batch(model: BatchModel, levels: Sequence[Level], theta: FloatArray, f: FloatArray,
                C: FloatArray | None) -> FloatArray:
    """Finish starting points: the least-squares layer (given the others) when there is one,
    else the best overall scalar."""
    li = _ls_layer_index(levels)
    if li is None:
        return fit_scale(model, theta, f, C)
    o, k = model.offsets[li], model.ks[li]
    _, J = model.mu_jac(theta)
    A = J[:, :, o : o + k]
    fc = f
    if C is not None:
        A, fc = np.matmul(C, A), C @ f
    AT = A.transpose(0, 2, 1)
    G = AT @ A
    G[:, np.arange(k), np.arange(k)] += 1e-14 * np.trace(G, axis1=1, axis2=2)[:, None] + 1e-300
    rhs = AT @ fc
    theta = theta.copy()
    theta[:, o : o + k] = np.linalg.solve(G, rhs[..., None])[..., 0]
    return theta


def fit_scale(model: BatchModel, theta: FloatArray, f: FloatArray, C: FloatArray | None
               ) -> FloatArray:
    """Multiply layer 1 by the least-squares scalar so that ``mu`` best fits ``f``."""
    m = model.mu(theta)
    if C is not None:
        m, fc = m @ C.T, C @ f
    else:
        fc = f
    num = m @ fc
    den = np.einsum("bn,bn->b", m, m)
    c = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    theta = theta.copy()
    theta[:, : model.ks[0]] *= c[:, None]
    return theta

