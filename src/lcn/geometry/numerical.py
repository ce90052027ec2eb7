"""Numerical geometry of LCN function spaces (MATH.md 3-7) for floating-point filters.

Exact membership of a float vector in a lower-dimensional set is meaningless, so this module
answers the questions that make sense for measured or trained filters:

* :func:`nearest`: the nearest point of the function space ``M`` (or of its Zariski closure)
  to a filter, in the Euclidean norm or in the norm of a positive definite matrix, with a
  factorization into layer filters and a certificate (first-order optimality, number of
  starts, agreement of the two best starts);
* :func:`classify`: the categories of :data:`lcn.geometry.exact.CATEGORIES` decided from the
  numerical root structure of the filter with a stated tolerance, ``"undecided"`` (and the
  categories in play) when the verdict changes within a factor :data:`CLASSIFY_MARGIN` of it;
* :func:`jacobian_rank`: the numerical rank of ``d mu`` with a relative tolerance (MATH.md 7).

Conventions: a form of degree ``d`` is its coefficient vector ``x^d, x^{d-1}y, ..., y^d``
(MATH.md 2); points of the projective line are complex numbers ``t = x/y`` with ``inf`` for
``[1:0]``; distances between points of the line are chordal (so ``0`` and ``inf`` are treated
alike).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import forms
from lcn.architecture import Architecture
from lcn.errors import ArchitectureError, FilterError
from lcn.geometry import _orbits

__all__ = [
    "NearestResult",
    "Classification",
    "RankResult",
    "nearest",
    "classify",
    "jacobian_rank",
    "NEAREST_TOL",
    "CLASSIFY_TOL",
    "CLASSIFY_MARGIN",
    "RANK_RTOL",
]

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]

#: Default agreement/convergence tolerance of :func:`nearest`, relative to ``||f||_M``.
NEAREST_TOL = 1e-10
#: Default tolerance of :func:`classify`, relative to ``||f||_2``.
CLASSIFY_TOL = 1e-8
#: :func:`classify` says ``undecided`` when its verdict differs anywhere in
#: ``[tol / CLASSIFY_MARGIN, tol * CLASSIFY_MARGIN]``.
CLASSIFY_MARGIN = 10.0
#: Default relative tolerance of :func:`jacobian_rank`.
RANK_RTOL = 1e-9

_INF = complex(math.inf, 0.0)


# ============================================================================================
# Input checks
# ============================================================================================
def _check_arch(arch: Any) -> Architecture:
    if not isinstance(arch, Architecture):
        raise ArchitectureError(
            "arch", f"must be an lcn.Architecture (e.g. Architecture((3, 2), (2, 1))), "
            f"got {type(arch).__name__}"
        )
    return arch


def _target(arch: Architecture, filt: Any, argument: str = "filter") -> FloatArray:
    f = forms.as_float(filt, argument)
    if f.ndim != 1:
        raise FilterError(argument, "must be one end-to-end filter (a 1-D vector), not a batch")
    if f.shape[0] != arch.filter_size:
        raise FilterError(
            argument,
            f"has {f.shape[0]} entries but the end-to-end filter of {arch} has "
            f"d+1 = {arch.filter_size}; give d+1 coefficients ordered x^d, ..., y^d",
        )
    return np.array(f, dtype=np.float64)


def _metric_factor(metric: Any, n: int) -> FloatArray | None:
    """``C`` with ``C^T C = metric`` (upper triangular), or ``None`` for the Euclidean norm."""
    if metric is None:
        return None
    M = forms.as_float(metric, "metric", min_ndim=2)
    if M.shape != (n, n):
        raise FilterError(
            "metric", f"has shape {M.shape}; it must be a ({n}, {n}) positive definite matrix"
        )
    scale = float(np.max(np.abs(M)))
    if scale == 0 or not np.allclose(M, M.T, rtol=1e-10, atol=1e-12 * scale):
        raise FilterError("metric", "must be a symmetric positive definite matrix")
    try:
        Lc = np.linalg.cholesky((M + M.T) / 2)
    except np.linalg.LinAlgError:
        raise FilterError(
            "metric", "is not positive definite; give a symmetric positive definite matrix "
            "(e.g. the data Gram matrix plus a small ridge)"
        ) from None
    return np.ascontiguousarray(Lc.T)


# ============================================================================================
# Levels of an architecture (MATH.md 3): merged stride-one blocks
# ============================================================================================
@dataclass(frozen=True)
class _Level:
    """One layer of the reduced architecture: the original layers ``layers`` (all with the
    same ``S``) and their degrees. ``n`` hyperroots of order ``S``; ``e`` odd degrees, so the
    block polynomial needs ``e`` real hyperroots (MATH.md 3, stride one)."""

    S: int
    layers: tuple[int, ...]
    degrees: tuple[int, ...]

    @property
    def n(self) -> int:
        return sum(self.degrees)

    @property
    def e(self) -> int:
        return sum(d % 2 for d in self.degrees)


def _levels(arch: Architecture) -> tuple[_Level, ...]:
    S, d = arch.S, arch.d
    return tuple(
        _Level(S[g[0]], tuple(g), tuple(d[i] for i in g)) for g in arch.blocks()
    )


def _reduced_levels(S: Sequence[int], dprime: Sequence[int]) -> tuple[_Level, ...]:
    """Levels of the reduced architecture with degrees ``dprime`` (one layer per level)."""
    return tuple(_Level(Sj, (j,), (dj,)) for j, (Sj, dj) in enumerate(zip(S, dprime, strict=True)))


def _is_filling(arch: Architecture) -> bool:
    """``M = R[x,y]_d``: full-dimensional with at most one odd degree (MATH.md 3)."""
    return arch.full_dimensional and sum(di % 2 for di in arch.d if di > 0) <= 1


# ============================================================================================
# Fast batched mu and Jacobian (MATH.md 2): theta has shape (B, sum k_i)
# ============================================================================================
def _upmul(acc: FloatArray, w: Any, S: int) -> Any:
    """``acc * pi_S(w)`` for batches ``acc (B, n)``, ``w (B, k)`` (real or complex)."""
    n, k = acc.shape[-1], w.shape[-1]
    B = max(acc.shape[0], w.shape[0])
    dtype = np.result_type(acc, w)
    out = np.zeros((B, n + S * (k - 1)), dtype=dtype)
    if k <= n:
        for j in range(k):
            out[:, j * S : j * S + n] += acc * w[:, j : j + 1]
    else:
        for i in range(n):
            out[:, i : i + S * (k - 1) + 1 : S] += acc[:, i : i + 1] * w
    return out


class _Model:
    """The parametrization ``theta -> pi_{S_L}(w_L) ... pi_{S_1}(w_1)`` with closed-form
    Jacobian (``mu`` is linear in each layer: block ``i`` is the convolution matrix of the
    product of the other layers against ``pi_{S_i}``)."""

    def __init__(self, ks: Sequence[int], Ss: Sequence[int]) -> None:
        self.ks = tuple(int(k) for k in ks)
        self.Ss = tuple(int(S) for S in Ss)
        self.L = len(self.ks)
        self.P = sum(self.ks)
        self.n = sum((k - 1) * S for k, S in zip(self.ks, self.Ss, strict=True)) + 1
        self.offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(self.ks)]))

    def split(self, theta: Any) -> list[Any]:
        return [theta[:, o : o + k] for o, k in zip(self.offsets, self.ks, strict=False)]

    def mu(self, theta: Any) -> Any:
        acc = np.ones((theta.shape[0], 1), dtype=theta.dtype)
        for w, S in zip(self.split(theta), self.Ss, strict=True):
            acc = _upmul(acc, w, S)
        return acc

    def mu_jac(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        ws = self.split(theta)
        B = theta.shape[0]
        one = np.ones((B, 1))
        pre = [one]
        for w, S in zip(ws, self.Ss, strict=True):
            pre.append(_upmul(pre[-1], w, S))
        suf = [one]
        for w, S in zip(reversed(ws), reversed(self.Ss), strict=True):
            suf.append(_upmul(suf[-1], w, S))
        suf.reverse()  # suf[i] = product of layers i..L-1
        J = np.zeros((B, self.n, self.P))
        for i in range(self.L):
            Q = _upmul(pre[i], suf[i + 1], 1)
            m, S, o = Q.shape[1], self.Ss[i], self.offsets[i]
            for j in range(self.ks[i]):
                J[:, j * S : j * S + m, o + j] = Q
        return pre[-1], J

    def balance(self, theta: FloatArray) -> FloatArray:
        """Rescale layers to equal norms (same ``mu``): keeps the Gauss-Newton system well
        conditioned along the rescaling orbit ``w_i -> l_i w_i, prod l_i = 1`` (MATH.md 7)."""
        if self.L == 1:
            return theta
        ws = self.split(theta)
        norms = np.stack([np.linalg.norm(w, axis=1) for w in ws], axis=1)  # (B, L)
        ok = np.all(norms > 0, axis=1)
        if not np.any(ok):
            return theta
        out = theta.copy()
        g = np.exp(np.mean(np.log(np.where(ok[:, None], norms, 1.0)), axis=1))
        for i, (o, k) in enumerate(zip(self.offsets, self.ks, strict=False)):
            fac = np.where(ok, g / np.where(ok, norms[:, i], 1.0), 1.0)
            out[:, o : o + k] *= fac[:, None]
        return out


# ============================================================================================
# Batched Levenberg-Marquardt in the layer filters
# ============================================================================================
def _lm(
    model: _Model,
    theta: FloatArray,
    f: FloatArray,
    C: FloatArray | None,
    max_iter: int = 400,
    ftol: float = 1e-15,
    gtol: float = 1e-13,
    prune: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Minimize ``||C (mu(theta_b) - f)||^2`` for every start ``b``: Levenberg-Marquardt with
    Marquardt scaling and Nielsen's gain-ratio damping update, per start, batched; the layers
    are rebalanced after every accepted step. Returns the final parameters and costs."""
    theta = model.balance(np.array(theta, dtype=np.float64))
    B, P = theta.shape

    def resid(th: FloatArray) -> FloatArray:
        d = model.mu(th) - f
        return d if C is None else d @ C.T

    def resid_jac(th: FloatArray) -> tuple[FloatArray, FloatArray]:
        m, J = model.mu_jac(th)
        d = m - f
        if C is not None:
            return d @ C.T, np.matmul(C, J)
        return d, J

    r, J = resid_jac(theta)
    cost = np.einsum("bn,bn->b", r, r)
    lam = np.full(B, 1e-3)
    nu = np.full(B, 2.0)
    active = np.ones(B, dtype=bool)
    fnorm = float(np.linalg.norm(f if C is None else C @ f))
    floor = (1e-16 * max(1.0, fnorm)) ** 2
    active &= cost > floor
    diag = np.arange(P)
    history = [cost.copy()]
    for it in range(max_iter):
        if prune and it >= 10 and it % 5 == 0:
            # drop starts that are far above the best and barely moving: with a near-member
            # target the good start reaches the noise level in a few steps while starts in
            # wrong basins creep along for hundreds
            old = history[-5] if len(history) >= 5 else history[0]
            best = float(np.min(cost))
            stuck = (cost > 1e4 * best + floor) & (cost > 0.5 * old)
            active &= ~stuck
        history.append(cost.copy())
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Ja, ra = J[idx], r[idx]
        JT = Ja.transpose(0, 2, 1)
        A = JT @ Ja
        g = np.einsum("bpn,bn->bp", JT, ra)
        dA = A[:, diag, diag]
        scale = dA + 1e-10 * dA.max(axis=1, keepdims=True) + 1e-300
        Ad = A.copy()
        Ad[:, diag, diag] += lam[idx, None] * scale
        try:
            step = -np.linalg.solve(Ad, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.stack([np.linalg.lstsq(a, b, rcond=None)[0]
                              for a, b in zip(Ad, g, strict=True)])
        # predicted decrease of the quadratic model: -(2 h.g + h.A.h)
        pred = -(2 * np.einsum("bp,bp->b", step, g)
                 + np.einsum("bp,bpq,bq->b", step, A, step))
        th_new = theta[idx] + step
        r_new = resid(th_new)
        c_new = np.einsum("bn,bn->b", r_new, r_new)
        ok = c_new < cost[idx]
        if np.any(ok):
            acc = idx[ok]
            rho = (cost[acc] - c_new[ok]) / np.maximum(pred[ok], 1e-300)
            th_acc = model.balance(th_new[ok])
            r_acc, J_acc = resid_jac(th_acc)
            c_acc = np.einsum("bn,bn->b", r_acc, r_acc)
            dec = cost[acc] - c_acc
            small_step = np.linalg.norm(step[ok], axis=1) <= 1e-15 * (
                1.0 + np.linalg.norm(theta[acc], axis=1))
            theta[acc], r[acc], J[acc], cost[acc] = th_acc, r_acc, J_acc, c_acc
            lam[acc] = np.maximum(
                lam[acc] * np.maximum(1 / 3, 1 - (2 * np.minimum(rho, 1.0) - 1) ** 3), 1e-15)
            nu[acc] = 2.0
            # stationarity: the residual is orthogonal to the columns of J (cosine test);
            # a vanishing decrease counts only with small damping (heavily damped steps
            # decrease little far from a minimum too)
            gnorm = np.linalg.norm(np.einsum("bnp,bn->bp", J_acc, r_acc), axis=1)
            jnorm = np.sqrt(np.einsum("bnp,bnp->b", J_acc, J_acc))
            # (the residual itself carries roundoff of order eps ||f||, so its direction is
            # only known to that accuracy)
            stationary = gnorm <= jnorm * (gtol * np.sqrt(c_acc) + 1e-14 * fnorm)
            stalled = (dec <= ftol * np.maximum(cost[acc] + dec, floor)) & (lam[acc] <= 1e-4)
            done = stationary | stalled | (c_acc <= floor) | small_step
            active[acc[done]] = False
        rej = idx[~ok]
        if rej.size:
            lam[rej] *= nu[rej]
            nu[rej] *= 2.0
            active[rej[lam[rej] > 1e16]] = False
    return theta, cost


def _grad_norm(model: _Model, theta: FloatArray, f: FloatArray, C: FloatArray | None
               ) -> float:
    """Scale-free first-order certificate at one parameter vector ``theta (1, P)`` (balanced
    layers): ``||J^T r|| / (||J||_2 ||f||_M)``, the cosine-type measure of how far the
    residual is from being orthogonal to every direction the layers can move ``mu`` in."""
    m, J = model.mu_jac(model.balance(theta))
    r = (m - f)[0]
    Jm = J[0]
    if C is not None:
        r, Jm = C @ r, C @ Jm
    if not (np.all(np.isfinite(Jm)) and np.all(np.isfinite(r))):
        return math.inf  # a diverged start certifies nothing
    jn = float(np.linalg.norm(Jm, 2))
    fn = float(np.linalg.norm(f if C is None else C @ f))
    if jn == 0 or fn == 0:
        return 0.0
    return float(np.linalg.norm(Jm.T @ r)) / (jn * fn)


# ============================================================================================
# Points of the projective line
# ============================================================================================
def _isinf(z: Any) -> Any:
    return np.isinf(np.real(z)) | np.isinf(np.imag(z))


def _chordal(a: Any, b: Any) -> Any:
    """Chordal distance on the Riemann sphere (``inf`` allowed), vectorized."""
    a = np.asarray(a, dtype=np.complex128)
    b = np.asarray(b, dtype=np.complex128)
    ia, ib = _isinf(a), _isinf(b)
    a0 = np.where(ia, 0, a)
    b0 = np.where(ib, 0, b)
    ha, hb = np.hypot(1.0, np.abs(a0)), np.hypot(1.0, np.abs(b0))
    d = np.abs(a0 - b0) / (ha * hb)
    d = np.where(ia & ~ib, 1.0 / hb, d)
    d = np.where(ib & ~ia, 1.0 / ha, d)
    return np.where(ia & ib, 0.0, d)


def _ch(a: complex, b: complex) -> float:
    """Scalar chordal distance (fast path of :func:`_chordal`)."""
    ia = math.isinf(a.real) or math.isinf(a.imag)
    ib = math.isinf(b.real) or math.isinf(b.imag)
    if ia or ib:
        if ia and ib:
            return 0.0
        return 1.0 / math.hypot(1.0, abs(b if ia else a))
    return abs(a - b) / (math.hypot(1.0, abs(a)) * math.hypot(1.0, abs(b)))


def _pow1(p: complex, S: int) -> complex:
    """Scalar ``p^S`` on the projective line (fast path of :func:`_power`)."""
    if math.isinf(p.real) or math.isinf(p.imag):
        return _INF
    if abs(p) <= 1:
        return p**S
    q = (1.0 / p) ** S
    return _INF if q == 0 else 1.0 / q


def _power(p: Any, S: int) -> Any:
    """``p^S`` on the projective line without overflow (``inf^S = inf``)."""
    p = np.asarray(p, dtype=np.complex128)
    inf = _isinf(p)
    small = np.abs(p) <= 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = np.where(small | inf, 1.0, 1.0 / np.where(p == 0, 1.0, p)) ** S
        big = np.where(inv == 0, _INF, 1.0 / np.where(inv == 0, 1.0, inv))
        out = np.where(small, np.where(small, p, 0) ** S, big)
    return np.where(inf, _INF, out)


def _mean_point(ps: Any) -> complex:
    """Average of nearby points of the line, in the chart where they are bounded."""
    ps = np.asarray(ps, dtype=np.complex128)
    if np.any(_isinf(ps)):
        fin = ps[~_isinf(ps)]
        if fin.size == 0 or np.mean(np.abs(1.0 / np.where(fin == 0, 1.0, fin))) < 1.0:
            inv = np.where(_isinf(ps), 0.0, 1.0 / np.where(ps == 0, 1.0, ps))
            m = complex(np.mean(inv))
            return _INF if m == 0 else 1.0 / m
    if np.mean(np.abs(ps)) <= 1.0 or np.any(ps == 0):
        # bounded points, or a cluster holding 0 itself: the chart at 0 is the one to use
        return complex(np.mean(ps))
    inv = 1.0 / ps
    m = complex(np.mean(inv))
    return _INF if m == 0 else 1.0 / m


def _roots(f: FloatArray) -> ComplexArray:
    """Roots of a nonzero form on the projective line with multiplicity (``inf`` for ``[1:0]``),
    computed in the chart whose leading coefficient is the larger end coefficient."""
    c = np.asarray(f, dtype=np.float64)
    nz = np.flatnonzero(c)
    lead, trail = int(nz[0]), len(c) - 1 - int(nz[-1])
    core = c[lead : len(c) - trail]
    if core.size > 1:
        if abs(core[0]) >= abs(core[-1]):
            r = np.roots(core).astype(np.complex128)
        else:
            r = 1.0 / np.roots(core[::-1]).astype(np.complex128)
    else:
        r = np.zeros(0, dtype=np.complex128)
    return np.concatenate([np.full(lead, _INF), r, np.zeros(trail, dtype=np.complex128)])


def _robust_hyperroot(hs: ComplexArray) -> complex:
    """Hyperroot of a matched orbit: the mean of the ``S``-th powers that agree with their
    medoid (a root displaced by noise, or a wrong match, must not drag the estimate)."""
    if hs.size <= 2:
        return _mean_point(hs)
    D = _chordal(hs[:, None], hs[None, :])
    med = int(np.argmin(D.sum(axis=1)))
    dev = D[med]
    scale = max(float(np.median(dev)), 1e-15)
    return _mean_point(hs[dev <= 3 * scale])


def _poly_from_roots(hs: Sequence[complex]) -> ComplexArray:
    """Coefficients (``u^n, ..., v^n``) of ``prod (u - h v)`` with each factor scaled to unit
    size (``v`` for ``h = inf``); the overall scale is arbitrary."""
    c = np.ones(1, dtype=np.complex128)
    for h in hs:
        if _isinf(h):
            fac = np.array([0.0, 1.0], dtype=np.complex128)
        elif abs(h) <= 1:
            fac = np.array([1.0, -h], dtype=np.complex128)
        else:
            fac = np.array([1.0 / h, -1.0], dtype=np.complex128)
        c = np.convolve(c, fac)
    return c


def _is_real_point(h: complex, thr: float) -> bool:
    h = complex(h)
    return _ch(h, h.conjugate()) <= thr


def _real_point(h: complex) -> complex:
    return _INF if _isinf(h) else complex(h.real, 0.0)


# ============================================================================================
# Root-orbit initialization (MATH.md 3: hyperroots are orbits of S-th roots of unity)
# ============================================================================================
class _Points:
    """Roots with the pieces of the chordal metric precomputed (for many lookups)."""

    def __init__(self, pts: ComplexArray) -> None:
        self.pts = pts
        self.infm = _isinf(pts)
        self.fin = np.where(self.infm, 0, pts)
        self.hyp = np.hypot(1.0, np.abs(self.fin))


def _match(P: _Points, avail: NDArray[np.bool_], targets: ComplexArray
           ) -> tuple[list[int], float] | None:
    """Greedily match each target point to the nearest available root (each used once)."""
    avail = avail.copy()
    out: list[int] = []
    dists: list[float] = []
    infm, fin_pts, hyp = P.infm, P.fin, P.hyp
    for t in targets:
        idx = np.flatnonzero(avail)
        if idx.size == 0:
            return None
        t = complex(t)
        if math.isinf(t.real) or math.isinf(t.imag):
            dist = np.where(infm[idx], 0.0, 1.0 / hyp[idx])
        else:
            dist = np.abs(t - fin_pts[idx]) / (math.hypot(1.0, abs(t)) * hyp[idx])
            if infm.any():
                dist = np.where(infm[idx], 1.0 / math.hypot(1.0, abs(t)), dist)
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
    zeta = np.exp(2j * np.pi * np.arange(1, S) / S)
    PP = _Points(pts)
    reals: list[complex] = []
    pairs: list[complex] = []
    count = 0
    heap: list[tuple[float, int, str, int]] = []
    tie = itertools.count()

    def perturb(c: float) -> float:
        if noise == 0:
            return c
        return c * math.exp(noise * rng.standard_normal()) + 1e-9 * rng.random()

    def special_members(point: complex) -> list[int] | None:
        idx = np.flatnonzero(alive)
        if idx.size < S:
            return None
        dist = _chordal(point, pts[idx])
        return [int(i) for i in idx[np.argsort(dist, kind="stable")[:S]]]

    def rebuild() -> None:
        idx = np.flatnonzero(alive)
        P_ = pts[idx]
        if S > 1 and idx.size:
            fin = ~PP.infm[idx] & (P_ != 0)
            rot = np.where(fin, P_, 0)[:, None] * zeta[None, :]  # |rot| = |P_|
            D = np.abs(rot[:, :, None] - PP.fin[idx][None, None, :]) / (
                PP.hyp[idx][:, None, None] * PP.hyp[idx][None, None, :])
            inf_cols = PP.infm[idx]
            if inf_cols.any():  # chordal distance to inf
                D[:, :, inf_cols] = 1.0 / PP.hyp[idx][:, None, None]
            D[np.arange(idx.size), :, np.arange(idx.size)] = np.inf
            est = np.where(fin, _robust_cost(D.min(axis=2)), np.inf)
        else:
            est = np.zeros(idx.size)
        for i, c in zip(idx, est, strict=True):
            if np.isfinite(c):
                heapq.heappush(heap, (perturb(float(c)), next(tie), "pt", int(i)))
        if S == 1 or idx.size < S:
            return
        # the hyperroots 0 and inf need S roots near the point (chordal distance to 0 is
        # |p| / hyp, to inf 1 / hyp)
        d0 = np.abs(PP.fin[idx]) / PP.hyp[idx]
        dinf = np.where(PP.infm[idx], 0.0, 1.0 / PP.hyp[idx])
        for kind, dist in (("zero", d0), ("inf", dinf)):
            c = float(np.sum(np.partition(dist, S - 1)[:S]))
            if c <= 0.5 * S:
                heapq.heappush(heap, (perturb(c), next(tie), kind, -1))

    rebuild()
    while count < n:
        if not heap:
            rebuild()
            if not heap:
                break
        key, _, kind, i = heapq.heappop(heap)
        if kind in ("zero", "inf"):
            point = 0j if kind == "zero" else _INF
            mem = special_members(point)
            if mem is None:
                continue
            c = perturb(float(np.sum(_chordal(point, pts[mem]))))
            if heap and c > heap[0][0] * 1.0001 + 1e-15:
                heapq.heappush(heap, (c, next(tie), kind, -1))
                continue
            alive[mem] = False
            reals.append(point)
            count += 1
            nxt = special_members(point)
            if nxt is not None:
                heapq.heappush(heap, (perturb(float(np.sum(_chordal(point, pts[nxt])))),
                                      next(tie), kind, -1))
            continue
        if not alive[i]:
            continue
        avail = alive.copy()
        avail[i] = False
        m = _match(PP, avail, pts[i] * zeta) if S > 1 else ([], 0.0)
        if m is None:
            continue
        members = [i, *m[0]]
        c = perturb(m[1])
        if heap and c > heap[0][0] * 1.0001 + 1e-15:
            heapq.heappush(heap, (c, next(tie), "pt", i))
            continue
        h = _robust_hyperroot(_power(pts[members], S))
        if _is_real_point(h, real_thr) or n - count == 1:
            alive[members] = False
            reals.append(_real_point(h))
            count += 1
            continue
        avail = alive.copy()
        avail[members] = False
        m2 = _match(PP, avail, np.conj(pts[members]))
        # the conjugate orbit must be (nearly) present; when it is farther than the members
        # are from being a conjugation-closed orbit (e.g. its roots were taken by a higher
        # level), project this orbit to a real hyperroot instead
        c_proj = 0.5 * float(np.sum(_chordal(pts[members], np.conj(pts[members]))))
        if m2 is None or perturb(m2[1]) > c_proj:
            alive[members] = False
            reals.append(_real_point(h))
            count += 1
            continue
        alive[members] = False
        alive[m2[0]] = False
        pairs.append(complex(h.real, abs(h.imag)))
        count += 2
    pairs.sort(key=lambda h: _ch(h, h.conjugate()))
    while len(reals) < e and pairs:
        h = pairs.pop(0)
        reals += [_real_point(h)] * 2
    return reals, pairs


def _distribute(
    level: _Level, reals: list[complex], pairs: list[complex], rng: np.random.Generator,
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


def _orbit_theta(
    pts: ComplexArray,
    levels: Sequence[_Level],
    model: _Model,
    rng: np.random.Generator,
    noise: float,
    real_thr: float,
    randomize: bool,
) -> FloatArray:
    """One root-orbit starting point: assign the roots to levels top-down, split each level's
    hyperroots among its layers, and expand every layer polynomial (real parts). A bottom
    level (``S = 1``) with a single layer is left at ones: :func:`_init_batch` solves for it
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
            c = _poly_from_roots(hs[: k - 1]).real
            if c.size < k:  # only when the roots ran out: pad generically
                c = np.concatenate([c, 0.1 * rng.standard_normal(k - c.size)])
            theta[model.offsets[li] : model.offsets[li] + k] = c
    return theta


def _ls_layer_index(levels: Sequence[_Level]) -> int | None:
    """The layer solved by least squares in the starting points: the only layer of a bottom
    level with ``S = 1`` and positive degree (``mu`` is linear in it)."""
    lv = levels[0]
    if lv.S == 1 and len(lv.layers) == 1 and lv.n > 0 and len(levels) > 1:
        return lv.layers[0]
    return None


def _init_batch(model: _Model, levels: Sequence[_Level], theta: FloatArray, f: FloatArray,
                C: FloatArray | None) -> FloatArray:
    """Finish starting points: the least-squares layer (given the others) when there is one,
    else the best overall scalar."""
    li = _ls_layer_index(levels)
    if li is None:
        return _fit_scale(model, theta, f, C)
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


def _fit_scale(model: _Model, theta: FloatArray, f: FloatArray, C: FloatArray | None
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


#: A target closer than this (relative) to the point found by the two first starts, which
#: agree, counts as a near-member: the remaining starts are skipped.
_NEAR_MEMBER = 1e-3


def _solve(
    model: _Model,
    levels: Sequence[_Level],
    f: FloatArray,
    C: FloatArray | None,
    starts: int,
    seed: int,
    tol: float = NEAREST_TOL,
) -> tuple[FloatArray, FloatArray, int]:
    """Multi-start search for the nearest point (``f`` of unit norm).

    Up to ``starts`` root-orbit starting points: the first from the roots of ``f`` taken
    cheapest-first, the others with randomized choices, every other one from the roots of a
    randomly perturbed ``f`` (real roots merge into pairs and pairs split into real roots,
    exploring other orbit/reality configurations). The first two are polished first; if they
    agree within ``tol`` on a distance below ``_NEAR_MEMBER`` the target is a perturbed member
    and the search stops. Otherwise the other starts follow, and for small degrees
    (``d <= 40``) ``6 * starts`` random filters join them: all are screened by a short
    batched LM run and the ``starts`` best are polished to convergence. Returns the polished
    parameters and costs sorted by cost, and the number of starting points tried."""
    rng = np.random.default_rng(seed)
    pts = _roots(f) if np.any(f) else np.zeros(model.n - 1, dtype=np.complex128)
    fn = float(np.linalg.norm(f))

    def orbit_start(b: int) -> FloatArray:
        if b == 0:
            return _orbit_theta(pts, levels, model, rng, 0.0, 1e-6, False)
        sigma = fn * 10 ** rng.uniform(-2.5, -0.3) if b % 2 == 0 else 0.0
        g = f + sigma * rng.standard_normal(f.shape)
        pb = _roots(g) if sigma and np.any(g) else pts
        return _orbit_theta(pb, levels, model, rng, 0.7, 10 ** rng.uniform(-8, -0.5), True)

    first = min(2, starts)
    theta1, cost1 = _lm(model, _init_batch(model, levels, np.stack([orbit_start(b) for b in
                                                                    range(first)]), f, C),
                        f, C)
    d1 = np.sqrt(np.maximum(cost1, 0.0))
    if first == starts or (first == 2 and abs(d1[0] - d1[1]) <= tol
                           and float(np.max(d1)) <= _NEAR_MEMBER):
        order = np.argsort(cost1, kind="stable")
        return theta1[order], cost1[order], first
    inits = [orbit_start(b) for b in range(first, starts)]
    n_rand = 6 * starts if model.n <= 41 and model.L > 1 else 0
    theta0 = _init_batch(model, levels, np.stack(inits), f, C) if inits else np.zeros(
        (0, model.P))
    if n_rand:
        theta0 = np.concatenate([theta0, _fit_scale(
            model, rng.standard_normal((n_rand, model.P)), f, C)])
    keep = starts - first
    if n_rand:
        theta0, cost0 = _lm(model, theta0, f, C, max_iter=25)
        theta0 = theta0[np.argsort(cost0, kind="stable")[:keep]]
    theta2, cost2 = _lm(model, theta0, f, C)
    theta = np.concatenate([theta1, theta2])
    cost = np.concatenate([cost1, cost2])
    order = np.argsort(cost, kind="stable")
    return theta[order], cost[order], first + len(inits)


# ============================================================================================
# nearest
# ============================================================================================
@dataclass(frozen=True)
class NearestResult:
    """Result of :func:`nearest`.

    * ``point``: the nearest point found, shape ``(d+1,)``;
    * ``filters``: layer filters of the ORIGINAL architecture with ``mu(filters) = point``
      (real arrays for ``function_space``; complex arrays when ``closure`` needs a complex
      factorization, MATH.md 4);
    * ``distance``: ``sqrt((point - f)^T M (point - f))`` (``M`` the metric, identity by
      default);
    * ``grad_norm``: first-order certificate ``||J^T r|| / (||J||_2 ||f||_M)`` at the found
      (balanced) layer filters, ``r`` the metric residual and ``J`` the Jacobian of ``mu``;
      zero at a critical point of the distance (also where the point is singular or on the
      boundary, where ``im d mu`` drops rank);
    * ``starts``: number of starts polished to convergence (at most the ``starts`` asked
      for; two when the first two agree on a near-member target); ``screened``: number of
      starting points tried in all (with the random ones screened for small degrees);
      ``agreed``: the two best starts reached the same distance within ``tol * ||f||_M``;
      ``tol``: that tolerance;
    * ``residual``: ``max |mu(filters) - point| / max |point|`` (how well the returned
      factorization reproduces the point); ``component``: for ``closure``, the degree vector of
      the reduced architecture whose real function space holds the point (MATH.md 5).
    """

    point: FloatArray
    filters: list[Any]
    distance: float
    grad_norm: float
    starts: int
    agreed: bool
    tol: float
    residual: float = 0.0
    component: tuple[int, ...] | None = None
    screened: int = 0


def _closure_components(levels: Sequence[_Level]) -> list[tuple[int, ...]]:
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


def _layer_hyperroots(w: Any) -> list[complex]:
    """Roots (in ``u``) of a layer polynomial ``sum_j w_j u^{k-1-j} v^j``, ``inf`` for a
    vanishing leading coefficient."""
    w = np.asarray(w)
    if w.size <= 1:
        return []
    if not np.any(w):
        return [0j] * (w.size - 1)
    return [complex(z) for z in _roots(np.asarray(w, dtype=np.float64))]


def _push_down(h: complex, r: int) -> list[complex]:
    """The ``r`` hyperroots of order ``S/r`` forming the orbit of a hyperroot ``h`` of order
    ``S``: the ``r``-th roots of ``h`` (``0`` and ``inf`` are fixed, with multiplicity ``r``)."""
    if r == 1:
        return [h]
    if _isinf(h) or h == 0:
        return [h] * r
    base = complex(np.exp(np.log(complex(h)) / r))
    return [base * complex(np.exp(2j * np.pi * m / r)) for m in range(r)]


def _take_conjugate_closed(pool: list[complex], n: int, want_real: int
                           ) -> tuple[list[complex], list[complex]]:
    """Choose ``n`` of ``pool`` keeping both parts closed under conjugation when possible
    (``want_real`` real ones first)."""
    thr = 1e-9
    reals = [h for h in pool if _is_real_point(h, thr)]
    cplx = [h for h in pool if not _is_real_point(h, thr)]
    ups = sorted([h for h in cplx if h.imag > 0], key=lambda h: h.real)
    downs = [h for h in cplx if h.imag <= 0]
    pairs: list[tuple[complex, complex]] = []
    for h in ups:
        if not downs:
            break
        j = int(np.argmin(_chordal(np.conj(h), np.array(downs))))
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


def _complex_factorization(
    arch: Architecture, levels: Sequence[_Level], level_roots: Sequence[list[complex]],
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
        reals = [h for h in take if _is_real_point(h, 1e-9)]
        cplx = [h for h in take if not _is_real_point(h, 1e-9)]
        parts: list[list[complex]] = [[] for _ in lv.degrees]
        for li, d in enumerate(lv.degrees):
            if d % 2 and reals:
                parts[li].append(reals.pop())
        ups = sorted([h for h in cplx if h.imag > 0], key=lambda h: h.real)
        downs = [h for h in cplx if h.imag <= 0]
        seq: list[complex] = []
        for h in ups:
            if downs:
                k = int(np.argmin(_chordal(np.conj(h), np.array(downs))))
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
            c = _poly_from_roots(hs)
            if c.size < arch.k[li]:
                c = np.concatenate([c, np.zeros(arch.k[li] - c.size)])
            filters[li] = c
    model = _Model(arch.k, arch.S)
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
    return out, _residual(arch, out, target)


def _residual(arch: Architecture, filters: Sequence[Any], point: FloatArray) -> float:
    model = _Model(arch.k, arch.S)
    theta = np.concatenate([np.asarray(f) for f in filters])[None, :]
    m = model.mu(theta)[0]
    scale = float(np.max(np.abs(point))) or 1.0
    return float(np.max(np.abs(m - point))) / scale


def _theta_filters(model: _Model, theta: FloatArray, scale: float) -> list[FloatArray]:
    """Per-layer filters from one parameter vector, multiplied by ``scale`` in total
    (balanced: each layer by ``scale^(1/L)``)."""
    fac = scale ** (1.0 / model.L)
    return [np.array(w[0] * fac) for w in model.split(theta[None, :])]


def _safe_norm(f: FloatArray) -> float:
    """Euclidean norm without overflow or underflow: scale by ``max|f|`` first (the answers
    are scale-invariant, and entries near 1e308 or 1e-320 are legal floats)."""
    m = float(np.max(np.abs(f))) if f.size else 0.0
    if m == 0.0:
        return 0.0
    return m * float(np.linalg.norm(f / m))


def nearest(
    arch: Architecture,
    filter: Any,
    target: str = "function_space",
    metric: Any = None,
    starts: int = 8,
    seed: int = 0,
    *,
    tol: float = NEAREST_TOL,
) -> NearestResult:
    """Nearest point of the function space ``M`` (or its Zariski closure) to ``filter``.

    Minimizes ``||mu(w) - f||_M`` with ``||v||_M^2 = v^T M v`` (``metric = M`` positive
    definite, identity by default; training's loss is such a norm, MATH.md 8).

    Method: roots of ``f`` on the projective line are grouped into orbits of the ``S_l``-th
    roots of unity, top level first; complete (or nearly complete) orbits become hyperroots,
    taken as real hyperroots or conjugate pairs, and a stride-one block that needs ``e`` real
    hyperroots gets them by collapsing its most nearly real pairs (MATH.md 3-4, 6). The layer
    polynomials built from these (up to ``starts`` variants: cheapest-first, then randomized
    choices) are polished together by a batched Levenberg-Marquardt solve in the layer
    filters, rebalancing layer norms along the rescaling orbit. When the first two agree
    within ``tol`` on a relative distance below ``1e-3`` (a perturbed member) the search stops
    there; otherwise the other starts, and for degree ``d <= 40`` also ``6 * starts`` random
    filters screened by a short run, compete (:func:`_solve`).

    ``target="closure"``: the real points of the Zariski closure are the union of the real
    function spaces ``M_{d',S}`` of the reduced architecture for ``d'`` in a short list (at
    most ``2^(L-1)``, see :func:`_closure_components`), so the nearest point is the best over
    them; its factorization for the original architecture may be complex (MATH.md 4).

    Filling architectures (``M = R[x,y]_d``, MATH.md 3) give ``point = f``, distance ``0`` and a
    factorization. ``f = 0`` gives the zero point and zero filters.
    """
    arch = _check_arch(arch)
    f = _target(arch, filter)
    if target not in ("function_space", "closure"):
        raise FilterError("target", f"is {target!r}; use 'function_space' or 'closure'")
    if isinstance(starts, bool) or not isinstance(starts, int | np.integer) or starts < 1:
        raise FilterError("starts", f"is {starts!r}; give a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise FilterError("seed", f"is {seed!r}; give a non-negative integer")
    if isinstance(tol, bool) or not (isinstance(tol, float | int) and 0 < tol < math.inf):
        raise FilterError("tol", f"is {tol!r}; give a finite positive number")
    C = _metric_factor(metric, arch.filter_size)
    fnorm = _safe_norm(f if C is None else C @ f)
    if fnorm == 0:
        return NearestResult(np.zeros_like(f), [np.zeros(k) for k in arch.k], 0.0, 0.0, 0,
                             True, float(tol), 0.0, None)
    fs = f / fnorm
    levels = _levels(arch)

    if target == "function_space":
        model = _Model(arch.k, arch.S)
        theta, cost, tried = _solve(model, levels, fs, C, int(starts), seed, tol)
        best = theta[0]
        dist = math.sqrt(max(float(cost[0]), 0.0))
        agreed = len(cost) > 1 and abs(math.sqrt(cost[1]) - dist) <= tol
        gn = _grad_norm(model, best[None, :], fs, C)
        filters: list[Any] = _theta_filters(model, best, fnorm)
        point = model.mu(best[None, :])[0] * fnorm
        if _is_filling(arch):
            point, dist = f.copy(), 0.0
        return NearestResult(point, filters, dist * fnorm, gn, len(cost), bool(agreed),
                             float(tol), _residual(arch, filters, point), None, tried)

    # --- closure -------------------------------------------------------------------------
    Ss = [lv.S for lv in levels]
    if len(levels) == 1:
        hs = [complex(z) for z in _roots(f)]
        filters, res = _complex_factorization(arch, levels, [hs], f)
        return NearestResult(f.copy(), filters, 0.0, 0.0, 0, True, float(tol), res,
                             (levels[0].n,))
    best_d: tuple[float, float, tuple[int, ...], FloatArray, FloatArray, _Model] | None = None
    runs: list[float] = []
    tried = 0
    for comp in _closure_components(levels):
        model = _Model([c + 1 for c in comp], Ss)
        theta, cost, n_tried = _solve(model, _reduced_levels(Ss, comp), fs, C, int(starts),
                                      seed, tol)
        tried += n_tried
        runs += [math.sqrt(max(float(c), 0.0)) for c in cost]
        cand = (math.sqrt(max(float(cost[0]), 0.0)), 0.0, comp, theta[0], cost, model)
        if best_d is None or cand[0] < best_d[0]:
            best_d = cand
    assert best_d is not None
    dist, _, comp, best, _, model = best_d
    runs.sort()
    agreed = len(runs) > 1 and abs(runs[1] - runs[0]) <= tol
    gn = _grad_norm(model, best[None, :], fs, C)
    point = model.mu(best[None, :])[0] * fnorm
    level_roots = [_layer_hyperroots(w[0]) for w in model.split(best[None, :])]
    filters, res = _complex_factorization(arch, levels, level_roots, point)
    return NearestResult(point, filters, dist * fnorm, gn, len(runs), bool(agreed),
                         float(tol), res, comp, tried)


# ============================================================================================
# Numerical regular points (MATH.md 7)
# ============================================================================================
@dataclass(frozen=True)
class RankResult:
    """Result of :func:`jacobian_rank`: ``rank`` of ``d mu(w)`` (singular values above
    ``rtol * sigma_max`` after balancing the layers), ``dimension`` of ``M``, ``regular``
    (``rank == dimension``), ``smallest_singular_value`` (``sigma_dimension / sigma_max``, the
    relative singular value that decides regularity; ``0.0`` when the Jacobian vanishes) and
    the tolerance ``rtol``."""

    rank: int
    dimension: int
    regular: bool
    smallest_singular_value: float
    rtol: float


def jacobian_rank(arch: Architecture, filters: Any, rtol: float = RANK_RTOL) -> RankResult:
    """Numerical rank of the Jacobian of ``mu`` at ``filters`` (MATH.md 7).

    ``w`` is regular iff ``rank d mu(w) = dim M = sum d_i + 1``; the rank never exceeds that
    because of the rescaling symmetry. The layers are first rescaled to equal norms (same
    fibre of ``mu``, same rank, better conditioned), then the singular values ``sigma_i`` of the
    ``(d+1) x sum k_i`` Jacobian are compared with ``rtol * sigma_max``.
    Exact filters (ints, fractions, strings) are converted to floats; their exact answer is
    :func:`lcn.geometry.exact.is_regular`.
    """
    from lcn.parametrization import coerce_filters

    arch = _check_arch(arch)
    if not (isinstance(rtol, float | int) and 0 < rtol < 1):
        raise FilterError("rtol", f"is {rtol!r}; give a relative tolerance in (0, 1)")
    fs = coerce_filters(arch, filters, exact=False)
    if fs[0].ndim != 1:
        raise FilterError("filters", "jacobian_rank takes one filter per layer, not a batch")
    model = _Model(arch.k, arch.S)
    theta = model.balance(np.concatenate([np.asarray(f, dtype=np.float64) for f in fs])[None])
    _, J = model.mu_jac(theta)
    s = np.linalg.svd(J[0], compute_uv=False)
    dim = arch.dimension
    if s.size == 0 or s[0] == 0:
        return RankResult(0, dim, False, 0.0, float(rtol))
    rank = int(np.sum(s > rtol * s[0]))
    sig = float(s[dim - 1] / s[0]) if dim - 1 < s.size else 0.0
    return RankResult(rank, dim, rank == dim, sig, float(rtol))




# ============================================================================================
# Root configurations and their combinatorial classification (MATH.md 3-6)
# ============================================================================================
# A configuration is a list of distinct points of the projective line with multiplicities,
# in which every intended coincidence (multiple roots, real roots, orbits of roots of unity)
# holds to roundoff after snapping. The decisions below are then exact combinatorics.
_REL_TOL = 1e-12


@dataclass(frozen=True)
class _Verdict:
    category: str
    component: tuple[int, ...] | None
    in_closure: bool
    in_function_space: bool
    i_s_degrees: tuple[int, ...]
    real_roots: int


def _is_real_value(h: complex) -> bool:
    return bool(_isinf(h)) or abs(h.imag) <= _REL_TOL * (1.0 + abs(h))


def _hyperroots(values: ComplexArray, mults: Sequence[int], S: int
                ) -> tuple[list[tuple[complex, int]], int, int]:
    """``I_S(F)`` of a configuration as level hyperroots: the finite nonzero ``h = p^S`` whose
    whole orbit of ``S`` points is present, with the least multiplicity on the orbit; and the
    multiplicities of 0 and inf rounded down to multiples of ``S`` (MATH.md 4), in orbits."""
    m0 = minf = 0
    fin: list[tuple[complex, int]] = []
    for v, m in zip(values.tolist(), mults, strict=True):
        if math.isinf(v.real) or math.isinf(v.imag):
            minf += int(m)
        elif v == 0:
            m0 += int(m)
        else:
            fin.append((complex(v), int(m)))
    groups: list[tuple[complex, list[int]]] = []
    for v, m in fin:
        h = _pow1(v, S)
        for g in groups:
            if _ch(g[0], h) <= S * _REL_TOL:
                g[1].append(m)
                break
        else:
            groups.append((h, [m]))
    out = [(_real_point(h) if _is_real_value(h) else h, min(ms))
           for h, ms in groups if len(ms) == S]
    return out, m0 // S, minf // S


def _lookup(hs: Sequence[tuple[complex, int]], h: complex) -> int:
    for i, (v, _) in enumerate(hs):
        if _ch(v, h) <= 10 * _REL_TOL:
            return i
    return -1


def _decide(values: ComplexArray, mults: Sequence[int], levels: Sequence[_Level]) -> _Verdict:
    """Exact combinatorial category of a snapped configuration (MATH.md 3-6): the decision
    procedure of :func:`lcn.geometry.exact.membership`, on orbit data read off the snapped
    roots (points related by roots of unity agree to roundoff after snapping):

    * level ``j`` (reduced layers of positive degree ``D_j``, stride ``S_j``): ``g_j = I_{S_j}``
      as hyperroots with multiplicities; closure iff ``deg g_j >= T_j`` (MATH.md 4); the slack
      is the excess, the piece the part of ``g_j`` not covered by ``g_{j+1}``;
    * membership: the orbit-kind greedy on the real counts of the pieces;
    * singular iff a level above the first has slack; the component is the vector of piece
      degrees (the smallest-dimensional component through the point, MATH.md 5);
    * boundary: a non-singular point is on the stride-one boundary iff a block with ``e >= 2``
      has fewer than ``e`` distinct real hyperroots of odd multiplicity in its piece (MATH.md
      6); a singular point by the local degenerations of :func:`_orbits.singular_boundary`.
    """
    real_roots = sum(int(m) for v, m in zip(values.tolist(), mults, strict=True)
                     if _is_real_value(complex(v)))
    isd_all = []
    for lv in levels:
        h0, a0, b0 = _hyperroots(values, mults, lv.S)
        isd_all.append(lv.S * (sum(mu for _, mu in h0) + a0 + b0))
    isd = tuple(isd_all)
    keep = [j for j, lv in enumerate(levels) if lv.n > 0]
    if not keep:
        return _Verdict("interior", None, True, True, isd, real_roots)
    D = [levels[j].n for j in keep]
    S = [levels[j].S for j in keep]
    e = [levels[j].e for j in keep]
    m = len(keep)
    data = [_hyperroots(values, mults, Sj) for Sj in S]
    slack = _orbits.slacks(D, S, [sum(mu for _, mu in h) + a + b for h, a, b in data])
    if slack is None:
        return _Verdict("outside", None, False, False, isd, real_roots)
    specials = _orbits.piece_specials(S, [a for _, a, _ in data], [b for _, _, b in data])
    z0s, zinfs = [z0 for z0, _ in specials], [zinf for _, zinf in specials]
    pieces: list[list[tuple[complex, int]]] = []
    cover: list[list[int]] = []  # index of the covering hyperroot one level up, or -1
    for j, (h, _, _) in enumerate(data):
        if j + 1 < m:
            hn = data[j + 1][0]
            idx = [_lookup(hn, _pow1(c, S[j + 1] // S[j])) for c, _ in h]
            pieces.append([(c, mu - (hn[i][1] if i >= 0 else 0))
                           for (c, mu), i in zip(h, idx, strict=True)])
            cover.append(idx)
        else:
            pieces.append(list(h))
            cover.append([-1] * len(h))
    counts = []
    for j in range(m):
        pos = sum(nu for c, nu in pieces[j] if _is_real_value(c) and c.real > 0)
        neg = sum(nu for c, nu in pieces[j] if _is_real_value(c) and c.real < 0)
        counts.append((pos, neg, z0s[j] + zinfs[j]))
    # float-snapped orbit data: clamp rather than assert (see _orbits.greedy)
    if not _orbits.greedy(D, S, slack, counts, e, strict=False)[0]:
        return _Verdict("outside", None, True, False, isd, real_roots)
    singular = any(sl > 0 for sl in slack[1:])
    comp = None
    kind: str | None = None
    if singular:
        full = [0] * len(levels)
        for jj, j in enumerate(keep):
            full[j] = sum(nu for _, nu in pieces[jj]) + z0s[jj] + zinfs[jj]
        comp = tuple(full)
        forest: list[list[_orbits.Group]] = []
        group_of: list[dict[int, int]] = []  # hyperroot index -> group index, per level
        for j in range(m - 1, -1, -1):
            h, a, b = data[j]
            up = forest[0] if forest else []
            up_map = group_of[0] if group_of else {}
            gmap: dict[int, int] = {}
            groups = _orbits.special_groups(up, a, z0s[j], b, zinfs[j])
            for t, ((c, mu), (_, nu)) in enumerate(zip(h, pieces[j], strict=True)):
                if not _is_real_value(c):
                    continue
                par = up_map.get(cover[j][t]) if mu > nu else None
                gmap[t] = len(groups)
                groups.append(_orbits.Group("pos" if c.real > 0 else "neg", mu, nu, par))
            forest.insert(0, groups)
            group_of.insert(0, gmap)
        piece_core = [sum(nu for _, nu in pc) for pc in pieces]
        try:
            kind = _orbits.singular_boundary(D, S, e, slack, forest, piece_core)
        except _orbits.TooComplex:  # the point keeps the label "singular", as in exact
            kind = None
    else:
        odd = [sum(1 for c, nu in pc if _is_real_value(c) and nu % 2) for pc in pieces]
        if _orbits.stride1_boundary(e, specials, lambda j: (odd[j], odd[j])):
            kind = "stride1"
    category = {"reduced": "boundary_reduced", "stride1": "boundary_stride1"}.get(
        kind or "", "singular" if singular else "interior")
    return _Verdict(category, comp, True, True, isd, real_roots)


# ============================================================================================
# Snapping float roots to configurations, with a residual certificate
# ============================================================================================
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


def _orbit_distance(a: ComplexArray, b: ComplexArray, S: int) -> NDArray[np.float64]:
    """``min_k chordal(zeta^k a_i, b_j)`` for all pairs (``zeta = exp(2 pi i / S)``)."""
    zeta = np.exp(2j * np.pi * np.arange(S) / S)
    fin = ~_isinf(a)
    rot = np.where(fin[:, None], np.where(fin, a, 0)[:, None] * zeta[None, :], _INF)
    return np.min(_chordal(rot[:, :, None], b[None, None, :]), axis=1)


def _snap(roots: ComplexArray, S_top: int, eta: float) -> tuple[ComplexArray, list[int]]:
    """The configuration of ``roots`` at root-space tolerance ``eta`` (chordal): roots within
    ``eta`` merge (single linkage) into one point with their count as multiplicity; a cluster
    closed under conjugation becomes real, one within ``eta`` of 0 or inf becomes 0 or inf;
    points within ``eta`` of a rotation of each other by an ``S_top``-th root of unity are
    moved onto one exact orbit (a conjugation-closed group onto an orbit with real ``S_top``-th
    power). Conjugate clusters stay exact conjugates."""
    N = len(roots)
    if N == 0:
        return np.zeros(0, dtype=np.complex128), []
    uf = _UnionFind(N)
    D = _chordal(roots[:, None], roots[None, :])
    ii, jj = np.nonzero(np.triu(D <= eta, 1))
    for a, b in zip(ii, jj, strict=True):
        uf.union(int(a), int(b))
    clusters = uf.groups()
    cid = np.empty(N, dtype=int)
    for c, mem in enumerate(clusters):
        cid[mem] = c
    K = len(clusters)
    centers = np.empty(K, dtype=np.complex128)
    mults = [len(m) for m in clusters]
    firsts = np.array([m[0] for m in clusters])
    conj_of = cid[np.argmin(_chordal(np.conj(roots[firsts])[:, None], roots[None, :]), axis=1)]
    done = np.zeros(K, dtype=bool)
    for c, mem in enumerate(clusters):
        if done[c]:
            continue
        z = _mean_point(roots[mem])
        if _ch(z, 0j) <= eta:
            z = 0j
        elif _ch(z, _INF) <= eta:
            z = _INF
        if conj_of[c] == c or _is_real_point(z, eta):
            centers[c] = _real_point(z)
            done[c] = True
            if conj_of[c] != c:  # two conjugate clusters within eta of the real line
                centers[conj_of[c]] = centers[c]
                done[conj_of[c]] = True
        else:
            centers[c] = z
            centers[conj_of[c]] = np.conj(z)
            done[c] = done[conj_of[c]] = True
    if S_top > 1:
        movable = np.flatnonzero(~_isinf(centers) & (centers != 0))
        if movable.size > 1:
            P_ = centers[movable]
            Dz = _orbit_distance(P_, P_, S_top)
            uf2 = _UnionFind(movable.size)
            ii, jj = np.nonzero(np.triu(Dz <= eta, 1))
            for a, b in zip(ii, jj, strict=True):
                uf2.union(int(a), int(b))
            zeta = np.exp(2j * np.pi * np.arange(S_top) / S_top)
            for grp in uf2.groups():
                if len(grp) < 2:
                    continue
                members = movable[grp]
                ref = centers[members[0]]
                ks = [int(np.argmin(_chordal(ref * zeta, centers[m]))) for m in members]
                base = _mean_point([centers[m] / zeta[k] for m, k in zip(members, ks,
                                                                         strict=True)])
                self_conj = float(np.min(_orbit_distance(np.conj(centers[members[:1]]),
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
            if _ch(v, z) <= 1e-13:
                mm[t] += m
                break
        else:
            vals.append(complex(z))
            mm.append(m)
    return np.array(vals, dtype=np.complex128), mm


def _config_residual(values: ComplexArray, mults: Sequence[int], f: FloatArray) -> float:
    """``min_c ||c F - f|| / ||f||`` for the form ``F`` with exactly these roots: an upper
    bound on the distance from ``f`` to the forms with this configuration."""
    F = _poly_from_roots([v for v, m in zip(values, mults, strict=True) for _ in range(m)]).real
    den = float(F @ F)
    fn = float(np.linalg.norm(f))
    if den == 0 or fn == 0:
        return math.inf
    c = float(F @ f) / den
    return float(np.linalg.norm(c * F - f)) / fn


def _events(roots: ComplexArray, S_top: int) -> list[float]:
    """Root-space tolerances at which the configuration can change (distances between roots
    up to rotation by ``S_top``-th roots of unity, and to 0 and inf), thinned to the upper
    end of every run of values within a factor 1.5."""
    N = len(roots)
    ev = [np.zeros(1)]
    if N > 1:
        Dz = _orbit_distance(roots, roots, max(S_top, 1))
        ev.append(Dz[np.triu_indices(N, 1)])
    ev.append(_chordal(roots, 0))
    ev.append(_chordal(roots, _INF))
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


# ============================================================================================
# classify
# ============================================================================================
@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify`.

    * ``category``: one of :data:`lcn.geometry.exact.CATEGORIES` or ``"undecided"``;
    * ``component``: for a point of ``M`` on a singular component (``singular``, and boundary
      points that are also singular), the degree vector ``d'`` (reduced architecture) of the
      smallest-dimensional one (MATH.md 5), as the exact ``singular_component``; else ``None``;
    * ``candidates``: the categories in play (one element when decided);
    * ``tol``: the tolerance, relative to ``||f||_2``; ``distance``: distance from ``f`` to
      ``M`` relative to ``||f||_2`` (an upper bound from the snapped configuration when it is in
      ``M``, else from :func:`nearest`);
    * diagnostics of the snapped configuration at ``tol``: ``residual`` (relative distance
      from ``f`` to the snapped form), ``root_tolerance`` (the chordal root-space tolerance used
      for snapping), ``i_s_degrees`` (``deg I_{S_j}`` for the reduced levels, MATH.md 4),
      ``in_closure``, ``real_roots`` (real roots with multiplicity), ``multiplicities`` (of the
      distinct roots), and ``component_distances``: relative distance from ``f`` to each
      singular component ``M_{d',S}`` (only with ``details=True``; else empty).
    """

    category: str
    component: tuple[int, ...] | None
    candidates: tuple[str, ...]
    tol: float
    distance: float
    residual: float = 0.0
    root_tolerance: float = 0.0
    i_s_degrees: tuple[int, ...] = ()
    in_closure: bool = True
    real_roots: int = 0
    multiplicities: tuple[int, ...] = ()
    component_distances: tuple[tuple[tuple[int, ...], float], ...] = ()


def classify(
    arch: Architecture,
    filter: Any,
    tol: float = CLASSIFY_TOL,
    *,
    margin: float = CLASSIFY_MARGIN,
    details: bool = False,
) -> Classification:
    """Tolerant classification of a float filter relative to ``M`` (MATH.md 3-6).

    Categories as in :func:`lcn.geometry.exact.membership`: ``zero``, ``interior``,
    ``singular`` (with its component), ``boundary_stride1``, ``boundary_reduced``,
    ``outside``; and ``undecided`` when the verdict is not stable.

    Method (tolerance ``tol`` relative to ``||f||_2``): the roots of ``f`` on the projective
    line are snapped at increasing root-space tolerances ``eta`` (clusters become multiple
    roots, conjugation-closed clusters real roots, near-orbits of ``S``-th roots of unity exact
    orbits; see :func:`_snap`). Each snapped configuration is an exact form ``F_eta``; its
    relative distance ``r(eta) = min_c ||c F_eta - f|| / ||f||`` certifies it, and its
    category is decided exactly (``I_S`` degrees from complete orbits, slack, real counts of
    the pieces, the orbit-kind greedy, singular components and boundary degenerations: the
    procedure of the exact geometry on the snapped orbit data, see :func:`_decide`). The
    verdict at tolerance ``t`` is ``outside`` when the distance from ``f`` to ``M`` exceeds
    ``t``, else the category of the most snapped member configuration with ``r <= t``. The
    distance is the smallest certificate of a snapped member, or :func:`nearest`'s when that
    leaves ``outside`` in play (and when no snapping of ``f`` within ``t`` is in ``M`` the
    nearest point's configuration is classified). If the verdicts for tolerances in
    ``[tol / margin, tol * margin]`` differ, the answer is ``undecided`` with those verdicts
    as ``candidates``.

    Only the exact zero vector is ``zero`` (the other categories are invariant under scaling).
    Exact input (ints, fractions, strings) is converted to floats; its exact answer is
    :func:`lcn.geometry.exact.membership`.
    """
    arch = _check_arch(arch)
    f = _target(arch, filter)
    if isinstance(tol, bool) or not (isinstance(tol, float | int) and 0 < tol < 1):
        raise FilterError("tol", f"is {tol!r}; give a relative tolerance in (0, 1)")
    if isinstance(margin, bool) or not (isinstance(margin, float | int) and 1 <= margin < 1e6):
        raise FilterError("margin", f"is {margin!r}; give a finite factor >= 1")
    tol, margin = float(tol), float(margin)
    if not np.any(f):
        return Classification("zero", None, ("zero",), tol, 0.0)
    levels = _levels(arch)
    fs = f / _safe_norm(f)
    lo, hi = tol / margin, tol * margin
    ev_f = _search(fs, levels, hi)
    in_m = [e for e in ev_f if e.verdict.in_function_space]
    # distance to M: the snapped members of M bound it; ask nearest() only when that bound
    # leaves "outside" in play
    dist = min((e.residual for e in in_m), default=math.inf)
    near: NearestResult | None = None
    if dist > lo:
        # two root-orbit starts settle clear cases; near the band search properly
        near = nearest(arch, fs, starts=2)
        if near.distance <= 100 * hi:
            near = min(near, nearest(arch, fs), key=lambda res: res.distance)
        dist = min(dist, near.distance)
    ev_p: list[_Eval] | None = None

    def in_m_at(t: float) -> _Eval:
        nonlocal ev_p
        ok = [e for e in in_m if e.residual <= t]
        if ok:
            return ok[-1]
        if ev_p is None:  # f is within t of M but no snapping of f shows it: use the point
            p = (near if near is not None else nearest(arch, fs)).point
            ev_p = [e for e in _search(p / float(np.linalg.norm(p)), levels, hi)
                    if e.verdict.in_function_space] or ev_f[:1]
        ok = [e for e in ev_p if e.residual <= max(t - dist, t / margin)]
        return ok[-1] if ok else ev_p[0]

    def verdict_at(t: float) -> _Eval | None:
        return None if dist > t else in_m_at(t)

    ts = {lo, tol, hi} | {e.residual for e in ev_f if lo < e.residual <= hi}
    if lo < dist <= hi:
        ts.add(dist)
    outcomes = {t: verdict_at(t) for t in sorted(ts)}
    names = tuple(sorted({"outside" if o is None else o.verdict.category
                          for o in outcomes.values()}))
    chosen = outcomes[tol]
    # diagnostics: the configuration behind the verdict at tol (outside: the most snapped
    # configuration of f within tol)
    within = [e for e in ev_f if e.residual <= tol]
    shown = chosen if chosen is not None else (within[-1] if within else ev_f[0])
    category = names[0] if len(names) == 1 else "undecided"
    comp_d: tuple[tuple[tuple[int, ...], float], ...] = ()
    if details:
        from lcn.geometry.exact import singular_components

        Ss = [lv.S for lv in levels]
        strides = [*(b // a for a, b in zip(Ss, Ss[1:], strict=False)), 1]
        comp_d = tuple(
            (dp, nearest(Architecture([x + 1 for x in dp], strides), fs).distance)
            for dp in singular_components(arch))
    vd = shown.verdict
    on_sing = category in ("singular", "boundary_reduced", "boundary_stride1")
    return Classification(
        category,
        vd.component if on_sing else None,
        names,
        tol,
        float(min(dist, 1.0)),
        float(shown.residual),
        float(shown.eta),
        vd.i_s_degrees,
        vd.in_closure,
        vd.real_roots,
        tuple(sorted(shown.mults, reverse=True)),
        comp_d,
    )


@dataclass(frozen=True)
class _Eval:
    """One snapped configuration: root tolerance, certificate, verdict, multiplicities."""

    eta: float
    residual: float
    verdict: _Verdict
    mults: tuple[int, ...]


def _search(fs: FloatArray, levels: Sequence[_Level], limit: float) -> list[_Eval]:
    """Snap the roots of ``fs`` at increasing root tolerances (:func:`_events`) until the
    certificate exceeds ``limit``; every distinct configuration met is decided. The first
    entry is the raw configuration (only exact repetitions merged). The tolerances are walked
    a decade at a time; the decade where the certificate first exceeds ``limit`` is walked
    event by event."""
    S_top = levels[-1].S
    roots = _roots(fs)
    fine = _events(roots, S_top)
    coarse = [i for i, v in enumerate(fine)
              if i == 0 or i + 1 == len(fine) or fine[i + 1] > 10 * v]
    evals: list[_Eval] = []
    seen: dict[tuple[Any, ...], bool] = {}

    def run(eta: float) -> bool:
        """Evaluate one tolerance; False once the certificate exceeds the limit."""
        vals, mults = _snap(roots, S_top, eta)
        key = (tuple(np.round(vals, 12).tolist()), tuple(mults))
        if key in seen:
            return seen[key]
        r = _config_residual(vals, mults, fs)
        ok = r <= limit
        seen[key] = ok
        if ok or not evals:
            evals.append(_Eval(eta, r, _decide(vals, mults, levels), tuple(mults)))
        return ok

    last = -1
    for i in coarse:
        if not run(fine[i]):
            for j in range(last + 1, i):  # the decade in between, event by event
                if not run(fine[j]):
                    break
            break
        last = i
    evals.sort(key=lambda e: e.eta)
    return evals
