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
) -> tuple[FloatArray, FloatArray]:
    """Minimize ``||C (mu(theta_b) - f)||^2`` for every start ``b`` (damped Gauss-Newton,
    Marquardt scaling, per-start damping); returns the final parameters and costs."""
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
    active = np.ones(B, dtype=bool)
    floor = (1e-16 * max(1.0, float(np.linalg.norm(f)))) ** 2
    active &= cost > floor
    diag = np.arange(P)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Ja, ra = J[idx], r[idx]
        JT = Ja.transpose(0, 2, 1)
        A = JT @ Ja
        g = np.einsum("bpn,bn->bp", JT, ra)
        dA = A[:, diag, diag]
        scale = dA + 1e-10 * dA.max(axis=1, keepdims=True) + 1e-300
        A[:, diag, diag] += lam[idx, None] * scale
        try:
            step = -np.linalg.solve(A, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.stack([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(A, g,
                                                                                    strict=True)])
        th_new = theta[idx] + step
        c_new = np.einsum("bn,bn->b", *(2 * (resid(th_new),)))
        ok = c_new < cost[idx]
        if np.any(ok):
            acc = idx[ok]
            th_acc = model.balance(th_new[ok])
            r_acc, J_acc = resid_jac(th_acc)
            c_acc = np.einsum("bn,bn->b", r_acc, r_acc)
            dec = cost[acc] - c_acc
            small_step = np.linalg.norm(step[ok], axis=1) <= 1e-15 * (
                1.0 + np.linalg.norm(theta[acc], axis=1))
            theta[acc], r[acc], J[acc], cost[acc] = th_acc, r_acc, J_acc, c_acc
            lam[acc] = np.maximum(lam[acc] / 4.0, 1e-14)
            # stationarity: the residual is orthogonal to every column of J (cosine test);
            # a vanishing decrease only counts once the damping is small (a heavily damped
            # step decreases little far from a minimum too)
            gnorm = np.linalg.norm(np.einsum("bnp,bn->bp", J_acc, r_acc), axis=1)
            jnorm = np.sqrt(np.einsum("bnp,bnp->b", J_acc, J_acc))
            stationary = gnorm <= gtol * jnorm * np.sqrt(c_acc)
            stalled = (dec <= ftol * np.maximum(cost[acc] + dec, floor)) & (lam[acc] <= 1e-6)
            done = stationary | stalled | (c_acc <= floor) | small_step
            active[acc[done]] = False
        rej = idx[~ok]
        if rej.size:
            lam[rej] *= 6.0
            active[rej[lam[rej] > 1e14]] = False
    return theta, cost


def _tangent_residual(model: _Model, theta: FloatArray, f: FloatArray,
                      C: FloatArray | None) -> float:
    """``||P_T r||``: the residual's component along the tangent space ``im d mu`` (zero at a
    critical point of the distance), for one parameter vector ``theta (1, P)``."""
    m, J = model.mu_jac(theta)
    r = (m - f)[0]
    Jm = J[0]
    if C is not None:
        r, Jm = C @ r, C @ Jm
    U, s, _ = np.linalg.svd(Jm, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return 0.0
    U = U[:, s > 1e-12 * s[0]]
    return float(np.linalg.norm(U.T @ r))


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
    if np.mean(np.abs(ps)) <= 1.0:
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
    return bool(_isinf(h)) or float(_chordal(h, np.conj(h))) <= thr


def _real_point(h: complex) -> complex:
    return _INF if _isinf(h) else complex(h.real, 0.0)


# ============================================================================================
# Root-orbit initialization (MATH.md 3: hyperroots are orbits of S-th roots of unity)
# ============================================================================================
def _match(pts: ComplexArray, avail: NDArray[np.bool_], targets: ComplexArray
           ) -> tuple[list[int], float] | None:
    """Greedily match each target point to the nearest available root (each used once)."""
    avail = avail.copy()
    out, cost = [], 0.0
    for t in targets:
        idx = np.flatnonzero(avail)
        if idx.size == 0:
            return None
        dist = _chordal(t, pts[idx])
        j = int(np.argmin(dist))
        out.append(int(idx[j]))
        cost += float(dist[j])
        avail[idx[j]] = False
    return out, cost


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
            fin = ~_isinf(P_) & (P_ != 0)
            D = _chordal((P_[:, None] * zeta[None, :])[:, :, None], P_[None, None, :])
            D[np.arange(idx.size), :, np.arange(idx.size)] = np.inf
            est = np.where(fin, D.min(axis=2).sum(axis=1), np.inf)
        else:
            est = np.zeros(idx.size)
        for i, c in zip(idx, est, strict=True):
            if np.isfinite(c):
                heapq.heappush(heap, (perturb(float(c)), next(tie), "pt", int(i)))
        for kind, point in (("zero", 0j), ("inf", _INF)):
            mem = special_members(point) if S > 1 else None
            if mem is not None:
                c = float(np.sum(_chordal(point, pts[mem])))
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
        m = _match(pts, avail, pts[i] * zeta) if S > 1 else ([], 0.0)
        if m is None:
            continue
        members = [i, *m[0]]
        c = perturb(m[1])
        if heap and c > heap[0][0] * 1.0001 + 1e-15:
            heapq.heappush(heap, (c, next(tie), "pt", i))
            continue
        h = _mean_point(_power(pts[members], S))
        if _is_real_point(h, real_thr) or n - count == 1:
            alive[members] = False
            reals.append(_real_point(h))
            count += 1
            continue
        avail = alive.copy()
        avail[members] = False
        m2 = _match(pts, avail, np.conj(pts[members]))
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
    pairs.sort(key=lambda h: float(_chordal(h, np.conj(h))))
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
    hyperroots among its layers, and expand every layer polynomial (real parts)."""
    alive = np.ones(len(pts), dtype=bool)
    theta = np.zeros(model.P)
    for lv in sorted(levels, key=lambda lv: -lv.S):
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


def _solve(
    model: _Model,
    levels: Sequence[_Level],
    f: FloatArray,
    C: FloatArray | None,
    starts: int,
    seed: int,
    extra: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Multi-start root-orbit initialization + batched LM; returns all final parameters
    (sorted by cost) and their costs."""
    rng = np.random.default_rng(seed)
    pts = _roots(f) if np.any(f) else np.zeros(model.n - 1, dtype=np.complex128)
    n_rand = starts // 4 if model.n <= 41 and starts >= 4 else 0
    inits = []
    for b in range(starts - n_rand):
        if b == 0:
            inits.append(_orbit_theta(pts, levels, model, rng, 0.0, 1e-6, False))
        else:
            thr = 10 ** rng.uniform(-8, -0.5)
            inits.append(_orbit_theta(pts, levels, model, rng, 0.7, thr, True))
    for _ in range(n_rand):
        inits.append(rng.standard_normal(model.P))
    theta0 = np.stack(inits)
    if extra is not None:
        theta0 = np.concatenate([np.atleast_2d(extra), theta0])
    theta0 = _fit_scale(model, theta0, f, C)
    theta, cost = _lm(model, theta0, f, C)
    order = np.argsort(cost, kind="stable")
    return theta[order], cost[order]


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
    * ``grad_norm``: first-order certificate: the norm (in the metric) of the residual's
      component along the tangent space ``im d mu`` at the found point, relative to
      ``||f||_M``; zero at a critical point of the distance;
    * ``starts``: number of starts polished; ``agreed``: the two best starts reached the same
      distance within ``tol * ||f||_M``; ``tol``: that tolerance;
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
        for mp in (m, m + 1):
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
    c = np.vdot(m, target) / den if den != 0 else 1.0
    # spread the scalar evenly (balanced layers), keeping its phase on layer 1
    mag = abs(c) ** (1.0 / arch.layers) if c != 0 else 0.0
    filters = [f * mag for f in filters]
    filters[0] = filters[0] * (c / abs(c) if c != 0 else 1.0)
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
    polynomials built from these (``starts`` variants: cheapest-first, randomized choices, and
    for small degrees random filters) are polished together by a batched Levenberg-Marquardt
    solve in the layer filters, rebalancing layer norms along the rescaling orbit.

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
    if not (isinstance(tol, float | int) and tol > 0):
        raise FilterError("tol", f"is {tol!r}; give a positive number")
    C = _metric_factor(metric, arch.filter_size)
    fnorm = float(np.linalg.norm(f if C is None else C @ f))
    if fnorm == 0:
        return NearestResult(np.zeros_like(f), [np.zeros(k) for k in arch.k], 0.0, 0.0, 0,
                             True, float(tol), 0.0, None)
    fs = f / fnorm
    levels = _levels(arch)

    if target == "function_space":
        model = _Model(arch.k, arch.S)
        theta, cost = _solve(model, levels, fs, C, int(starts), seed)
        best = theta[0]
        dist = math.sqrt(max(float(cost[0]), 0.0))
        agreed = len(cost) > 1 and abs(math.sqrt(cost[1]) - dist) <= tol
        gn = _tangent_residual(model, best[None, :], fs, C)
        filters: list[Any] = _theta_filters(model, best, fnorm)
        point = model.mu(best[None, :])[0] * fnorm
        if _is_filling(arch):
            point, dist = f.copy(), 0.0
        return NearestResult(point, filters, dist * fnorm, gn, len(cost), bool(agreed),
                             float(tol), _residual(arch, filters, point), None)

    # --- closure -------------------------------------------------------------------------
    Ss = [lv.S for lv in levels]
    if len(levels) == 1:
        hs = [complex(z) for z in _roots(f)]
        filters, res = _complex_factorization(arch, levels, [hs], f)
        return NearestResult(f.copy(), filters, 0.0, 0.0, 0, True, float(tol), res,
                             (levels[0].n,))
    best_d: tuple[float, float, tuple[int, ...], FloatArray, FloatArray, _Model] | None = None
    runs: list[float] = []
    for comp in _closure_components(levels):
        model = _Model([c + 1 for c in comp], Ss)
        theta, cost = _solve(model, _reduced_levels(Ss, comp), fs, C, int(starts), seed)
        runs += [math.sqrt(max(float(c), 0.0)) for c in cost]
        cand = (math.sqrt(max(float(cost[0]), 0.0)), 0.0, comp, theta[0], cost, model)
        if best_d is None or cand[0] < best_d[0]:
            best_d = cand
    assert best_d is not None
    dist, _, comp, best, _, model = best_d
    runs.sort()
    agreed = len(runs) > 1 and abs(runs[1] - runs[0]) <= tol
    gn = _tangent_residual(model, best[None, :], fs, C)
    point = model.mu(best[None, :])[0] * fnorm
    level_roots = [_layer_hyperroots(w[0]) for w in model.split(best[None, :])]
    filters, res = _complex_factorization(arch, levels, level_roots, point)
    return NearestResult(point, filters, dist * fnorm, gn, len(runs), bool(agreed),
                         float(tol), res, comp)


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


@dataclass(frozen=True)
class Classification:
    """placeholder"""

    category: str


def classify(arch: Architecture, filter: Any, tol: float = CLASSIFY_TOL) -> Classification:
    """placeholder"""
    raise NotImplementedError
