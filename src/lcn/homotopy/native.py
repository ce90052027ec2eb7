"""The path tracker of :mod:`.track` for :class:`~.system.CriticalSystem`, compiled for the CPU.

Why: the critical systems are tiny (``n <= 10`` unknowns, filters of ``m <= 20`` taps), so
the batched torch tracker spends its time in dispatch (about 350 small ops per step of the
whole batch, 4 ms per step at 1000 paths here) and in batched ``n x n`` matrix kernels that
are slow at these sizes. Here one path is tracked at a time by straight-line complex loops
(numba), with the *same* algorithm as :func:`.track.track` step for step: the moving
Householder chart re-centred before every step, the RK4 predictor on
``dx/dt = -F_x^{-1} s'(t) F(x; p_1 - p_0)``, two Newton corrections at ``t + h``, the same
acceptance test, step-size rule and statuses, and the map back to the fixed chart. The
evaluation is that of :meth:`.system.CriticalSystem.evaluate` written out: the products
``mu``, ``Q_j`` (all layers but ``j``) and ``Q_jc`` of the upsampled layers, ``Jz``, ``g = lam G
mu - b``, ``F = (Jz^T g, mu^T g)`` and its Jacobian with the Hessian blocks
``B_j^T [sum_t Q_jc[t] g[t + i S_j + l S_c]]_{il} B_c``; linear systems by Gaussian
elimination with partial pivoting (an exactly zero pivot counts as singular, like
``torch.linalg.solve_ex``).

Paths are split over a thread pool in blocks of :data:`BLOCK` (the kernel releases the GIL).
numba is optional: without it :func:`available` is ``False`` and the torch tracker runs.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lcn.homotopy.system import CriticalSystem

__all__ = ["BLOCK", "available", "track_native"]

numba: Any
try:
    import numba

    _njit = numba.njit(cache=True, nogil=True, error_model="numpy")
    _inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

    def _njit(f: Any) -> Any:
        return f

    _inline = _njit

#: Paths per work item of the thread pool.
BLOCK = 32

RUNNING = 4  # the statuses of :mod:`.track`
OK, DIVERGED, SINGULAR, MAX_STEPS = 0, 1, 2, 3


def available() -> bool:
    """Whether the compiled tracker can run (numba imports)."""
    return numba is not None


@_inline
def _layers(x: Any, W0: Any, Bs: Any, k: Any, offs: Any, woff: Any, boff: Any,
            w: Any) -> None:
    """``w_j = W0_j + Bs_j z_j`` for every active layer, into the flat ``w``."""
    for j in range(k.shape[0]):
        kj, o, wo, bo = k[j], offs[j], woff[j], boff[j]
        for i in range(kj):
            acc = W0[wo + i]
            for c in range(kj - 1):
                acc += Bs[bo + i * (kj - 1) + c] * x[o + c]
            w[wo + i] = acc


@_inline
def _prod(w: Any, k: Any, S: Any, woff: Any, skip1: int, skip2: int, acc: Any,
          tmp: Any) -> int:
    """Product of the upsampled layers other than ``skip1``, ``skip2`` into ``acc``; returns
    its length."""
    acc[0] = 1.0
    n = 1
    for j in range(k.shape[0]):
        if j == skip1 or j == skip2:
            continue
        nn = n + (k[j] - 1) * S[j]
        for t in range(nn):
            tmp[t] = 0.0
        for i in range(k[j]):
            wi = w[woff[j] + i]
            sh = i * S[j]
            for t in range(n):
                tmp[sh + t] += wi * acc[t]
        for t in range(nn):
            acc[t] = tmp[t]
        n = nn
    return n


@_inline
def _residual(p: Any, mu: Any, Jz: Any, lam: complex, m: int, nz: int, Gmu: Any, g: Any,
              F: Any) -> None:
    """For parameters ``p = (vec G, b)``: ``Gmu = G mu``, ``g = lam G mu - b`` and
    ``F = (Jz^T g, mu . g)``."""
    mm = m * m
    for t in range(m):
        s = 0j
        for t2 in range(m):
            s += p[t * m + t2] * mu[t2]
        Gmu[t] = s
        g[t] = lam * s - p[mm + t]
    for c in range(nz):
        s = 0j
        for t in range(m):
            s += g[t] * Jz[t, c]
        F[c] = s
    s = 0j
    for t in range(m):
        s += mu[t] * g[t]
    F[nz] = s


@_njit
def _evaluate(x: Any, W0: Any, Bs: Any, k: Any, S: Any, offs: Any, woff: Any, boff: Any,
              m: int, pc: Any, dp: Any, want_dp: bool, F: Any, J: Any, Fd: Any,
              w: Any, mu: Any, acc: Any, tmp: Any, Jz: Any, Gmu: Any, g: Any, GJ: Any,
              Hw: Any) -> None:
    """``F(x; pc)``, its Jacobian ``J`` and (when ``want_dp``) ``Fd = F(x; dp)`` in the chart
    ``(W0, Bs)`` (:meth:`CriticalSystem.evaluate`)."""
    A = k.shape[0]
    n = x.shape[0]
    nz = n - 1
    lam = x[nz]
    _layers(x, W0, Bs, k, offs, woff, boff, w)
    _prod(w, k, S, woff, -1, -1, acc, tmp)
    for t in range(m):
        mu[t] = acc[t]
    for t in range(m):
        for c in range(nz):
            Jz[t, c] = 0.0
    for j in range(A):
        q = _prod(w, k, S, woff, j, -1, acc, tmp)
        kj, o, bo = k[j], offs[j], boff[j]
        for i in range(kj):
            sh = i * S[j]
            for tt in range(q):
                qv = acc[tt]
                for c in range(kj - 1):
                    Jz[tt + sh, o + c] += qv * Bs[bo + i * (kj - 1) + c]
    _residual(pc, mu, Jz, lam, m, nz, Gmu, g, F)
    if want_dp:
        # F(x; dp), with acc and tmp (free until the Hessian blocks) for dG mu and gd
        _residual(dp, mu, Jz, lam, m, nz, acc, tmp, Fd)
    for t in range(m):
        for c in range(nz):
            s = 0j
            for t2 in range(m):
                s += pc[t * m + t2] * Jz[t2, c]
            GJ[t, c] = s
    for a in range(nz):
        for c in range(nz):
            s = 0j
            for t in range(m):
                s += Jz[t, a] * GJ[t, c]
            J[a, c] = lam * s
    for j in range(A):
        for c2 in range(j + 1, A):
            q = _prod(w, k, S, woff, j, c2, acc, tmp)
            kj, kc = k[j], k[c2]
            for i1 in range(kj):
                for i2 in range(kc):
                    sh = i1 * S[j] + i2 * S[c2]
                    s = 0j
                    for tt in range(q):
                        s += acc[tt] * g[tt + sh]
                    Hw[i1, i2] = s
            oj, oc, bj, bc = offs[j], offs[c2], boff[j], boff[c2]
            for a in range(kj - 1):
                for b in range(kc - 1):
                    s = 0j
                    for i1 in range(kj):
                        for i2 in range(kc):
                            s += (Bs[bj + i1 * (kj - 1) + a] * Hw[i1, i2]
                                  * Bs[bc + i2 * (kc - 1) + b])
                    J[oj + a, oc + b] += s
                    J[oc + b, oj + a] += s
    for a in range(nz):
        s = 0j
        for t in range(m):
            s += Jz[t, a] * Gmu[t]
        J[a, nz] = s
        J[nz, a] = F[a] + lam * s
    s = 0j
    for t in range(m):
        s += mu[t] * Gmu[t]
    J[nz, nz] = s


@_njit
def _solve(A: Any, b: Any, LU: Any, out: Any) -> bool:
    """``out = A^{-1} b`` by Gaussian elimination with partial pivoting; ``False`` (and NaN)
    for an exactly zero pivot."""
    n = b.shape[0]
    for i in range(n):
        out[i] = b[i]
        for j in range(n):
            LU[i, j] = A[i, j]
    for c in range(n):
        p = c
        best = abs(LU[c, c])
        for r in range(c + 1, n):
            v = abs(LU[r, c])
            if v > best:
                best, p = v, r
        if best == 0.0 or not best == best:
            for i in range(n):
                out[i] = np.nan
            return False
        if p != c:
            for j in range(n):
                LU[c, j], LU[p, j] = LU[p, j], LU[c, j]
            out[c], out[p] = out[p], out[c]
        piv = LU[c, c]
        for r in range(c + 1, n):
            f = LU[r, c] / piv
            if f != 0:
                for j in range(c + 1, n):
                    LU[r, j] -= f * LU[c, j]
                out[r] -= f * out[c]
    for c in range(n - 1, -1, -1):
        s = out[c]
        for j in range(c + 1, n):
            s -= LU[c, j] * out[j]
        out[c] = s / LU[c, c]
    return True


@_njit
def _recenter(x: Any, W0: Any, Bs: Any, k: Any, offs: Any, woff: Any, boff: Any, w: Any,
              u: Any) -> None:
    """Re-centre the chart at the current layers (:meth:`CriticalSystem.recenter`)."""
    _layers(x, W0, Bs, k, offs, woff, boff, w)
    for j in range(k.shape[0]):
        kj, wo, bo = k[j], woff[j], boff[j]
        nrm = 0.0
        for i in range(kj):
            nrm += abs(w[wo + i]) ** 2
        nrm = math.sqrt(nrm)
        for i in range(kj):
            u[i] = w[wo + i] / nrm
        a0 = abs(u[0])
        ph = u[0] / a0 if a0 != 0 else 1.0 + 0j
        u[0] += ph
        uu = 0.0
        for i in range(kj):
            uu += abs(u[i]) ** 2
        for i in range(kj):
            for c in range(1, kj):
                h = -2 * u[i] * u[c].conjugate() / uu
                if i == c:
                    h += 1
                Bs[bo + i * (kj - 1) + c - 1] = h
            W0[wo + i] = w[wo + i]
    for c in range(x.shape[0] - 1):
        x[c] = 0


@_inline
def _maxabs(v: Any) -> float:
    out = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i])
        if not a <= out:  # NaN propagates, like torch.amax
            out = a
    return out


@_njit
def _track_range(X0: Any, P0: Any, i0: Any, P1: Any, i1: Any, gam: Any, a_fix: Any,
                 B_fix: Any, k: Any, S: Any, offs: Any, woff: Any, boff: Any, m: int,
                 h0: float, h_max: float, h_min: float, beta: float, max_steps: int,
                 x_max: float, lo: int, hi: int, Xout: Any, status: Any, steps: Any) -> None:
    """Track paths ``lo <= r < hi`` from ``P0[i0[r]]`` to ``P1[i1[r]]`` (see the module
    docstring); endpoints in the fixed chart, those that ended OK after three Newton steps
    at ``P1[i1[r]]``."""
    n = X0.shape[1]
    nz = n - 1
    P = P0.shape[1]
    A = k.shape[0]
    kmax = 1
    for j in range(A):
        kmax = max(kmax, k[j])
    c16 = np.complex128
    W0 = np.empty(a_fix.shape[0], c16)
    Bs = np.empty(B_fix.shape[0], c16)
    w = np.empty(a_fix.shape[0], c16)
    mu = np.empty(m, c16)
    acc = np.empty(m, c16)
    tmp = np.empty(m, c16)
    Jz = np.empty((m, max(nz, 1)), c16)
    Gmu = np.empty(m, c16)
    g = np.empty(m, c16)
    GJ = np.empty((m, max(nz, 1)), c16)
    Hw = np.empty((kmax, kmax), c16)
    uvec = np.empty(kmax, c16)
    F = np.empty(n, c16)
    Fd = np.empty(n, c16)
    J = np.empty((n, n), c16)
    LU = np.empty((n, n), c16)
    K = np.empty((4, n), c16)
    rhs = np.empty(n, c16)
    d = np.empty(n, c16)
    x = np.empty(n, c16)
    xs = np.empty(n, c16)
    xp = np.empty(n, c16)
    p0 = np.empty(P, c16)
    dp = np.empty(P, c16)
    pc = np.empty(P, c16)
    cst = (0.0, 0.5, 0.5, 1.0)
    for r in range(lo, hi):
        for i in range(a_fix.shape[0]):
            W0[i] = a_fix[i]
        for i in range(B_fix.shape[0]):
            Bs[i] = B_fix[i]
        for i in range(n):
            x[i] = X0[r, i]
        for i in range(P):
            p0[i] = P0[i0[r], i]
            dp[i] = P1[i1[r], i] - P0[i0[r], i]
        ga = gam[r]
        t = 0.0
        h = h0
        st = RUNNING
        nst = 0
        while st == RUNNING:
            dt = min(h, 1 - t)
            _recenter(x, W0, Bs, k, offs, woff, boff, w, uvec)
            good = True
            for q in range(4):
                for i in range(n):
                    xs[i] = x[i] if q == 0 else x[i] + cst[q] * dt * K[q - 1, i]
                tt = t + cst[q] * dt
                den = ga * tt + (1 - tt)
                s = ga * tt / den
                ds = ga / (den * den)
                for i in range(P):
                    pc[i] = p0[i] + s * dp[i]
                _evaluate(xs, W0, Bs, k, S, offs, woff, boff, m, pc, dp, True, F, J, Fd,
                          w, mu, acc, tmp, Jz, Gmu, g, GJ, Hw)
                for i in range(n):
                    rhs[i] = -Fd[i] * ds
                good &= _solve(J, rhs, LU, K[q])
            for i in range(n):
                xp[i] = x[i] + dt / 6 * (K[0, i] + 2 * K[1, i] + 2 * K[2, i] + K[3, i])
            t1 = 1.0 if h >= 1 - t else t + dt
            den = ga * t1 + (1 - t1)
            s = ga * t1 / den
            for i in range(P):
                pc[i] = p0[i] + s * dp[i]
            d1 = 0.0
            d2 = 0.0
            for it in range(2):
                _evaluate(xp, W0, Bs, k, S, offs, woff, boff, m, pc, dp, False, F, J, Fd,
                          w, mu, acc, tmp, Jz, Gmu, g, GJ, Hw)
                for i in range(n):
                    rhs[i] = -F[i]
                good &= _solve(J, rhs, LU, d)
                for i in range(n):
                    xp[i] += d[i]
                if it == 0:
                    d1 = _maxabs(d)
                else:
                    d2 = _maxabs(d)
            scale = 1 + _maxabs(xp)
            finite = True
            for i in range(n):
                if not (math.isfinite(xp[i].real) and math.isfinite(xp[i].imag)):
                    finite = False
            tiny = 1e-13 * scale
            tol = beta * scale
            acc_ = good and finite and d1 <= tol and d2 <= 0.1 * d1 + tiny
            ratio = (d1 + tiny) / tol
            if not math.isfinite(ratio):
                ratio = 1e6
            fac = 0.8 * max(ratio, 1e-10) ** -0.2
            if acc_:
                hn = min(h * min(max(fac, 0.5), 2.0), h_max)
                for i in range(n):
                    x[i] = xp[i]
                t = t1
            else:
                hn = h * min(max(fac, 0.2), 0.5)
            h = hn
            nst += 1
            if acc_ and t1 >= 1.0:
                st = OK
            if acc_ and scale > x_max:
                st = DIVERGED
            if st == RUNNING and hn < h_min:
                st = SINGULAR
            if st == RUNNING and nst >= max_steps:
                st = MAX_STEPS
        # back to the fixed chart: w / (a . w), lam prod (a . w)
        _layers(x, W0, Bs, k, offs, woff, boff, w)
        lam = x[nz]
        for j in range(A):
            kj, wo, bo, o = k[j], woff[j], boff[j], offs[j]
            aw = 0j
            for i in range(kj):
                aw += a_fix[wo + i] * w[wo + i]
            for c in range(kj - 1):
                z = 0j
                for i in range(kj):
                    z += (w[wo + i] / aw - a_fix[wo + i]) * B_fix[bo + i * (kj - 1) + c]
                Xout[r, o + c] = z
            lam = lam * aw
        x[nz] = lam
        for i in range(nz):
            x[i] = Xout[r, i]
        if st == OK:
            for i in range(a_fix.shape[0]):
                W0[i] = a_fix[i]
            for i in range(B_fix.shape[0]):
                Bs[i] = B_fix[i]
            for i in range(P):
                pc[i] = P1[i1[r], i]
            for _ in range(3):
                _evaluate(x, W0, Bs, k, S, offs, woff, boff, m, pc, dp, False, F, J, Fd,
                          w, mu, acc, tmp, Jz, Gmu, g, GJ, Hw)
                for i in range(n):
                    rhs[i] = -F[i]
                if _solve(J, rhs, LU, d):
                    for i in range(n):
                        x[i] += d[i]
        for i in range(n):
            Xout[r, i] = x[i]
        status[r] = st
        steps[r] = nst


def track_native(system: CriticalSystem, x0: np.ndarray, p0: np.ndarray, p1: np.ndarray,
                 gamma: np.ndarray, options: Any, threads: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track every row of ``x0`` from ``p0`` to ``p1`` along ``gamma`` (NumPy arrays, the
    arguments of :func:`.track.track`; a parameter array whose rows all share one stride-0
    row, like a broadcast start, is read once); returns the endpoints in the fixed chart
    (polished at ``p1`` for the paths that ended OK), the statuses and the steps."""
    ch = system.chart
    sizes = np.array(ch.sizes, dtype=np.int64)
    S = np.array(ch.strides, dtype=np.int64)
    offs = np.array(ch.offsets, dtype=np.int64)
    woff = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    bsz = sizes * (sizes - 1)
    boff = np.concatenate([[0], np.cumsum(bsz)[:-1]]).astype(np.int64)
    a_fix = np.concatenate([np.asarray(a, np.complex128) for a in ch.a]) if ch.a else \
        np.zeros(0, np.complex128)
    B_fix = np.concatenate([np.asarray(B, np.complex128).reshape(-1) for B in ch.B]) \
        if ch.B else np.zeros(0, np.complex128)
    N, n = x0.shape
    X0 = np.ascontiguousarray(x0, dtype=np.complex128)
    P0, i0 = _table(p0)
    P1, i1 = _table(p1)
    gam = np.ascontiguousarray(gamma, dtype=np.complex128)
    Xout = np.empty((N, n), np.complex128)
    status = np.empty(N, np.int64)
    steps = np.empty(N, np.int64)
    o = options

    def run(lo: int, hi: int) -> None:
        _track_range(X0, P0, i0, P1, i1, gam, a_fix, B_fix, sizes, S, offs, woff, boff, ch.m,
                     o.h0, o.h_max, o.h_min, o.beta, o.max_steps, o.x_max, lo, hi, Xout,
                     status, steps)

    blocks = [(lo, min(lo + BLOCK, N)) for lo in range(0, N, BLOCK)]
    if threads <= 1 or len(blocks) <= 1:
        run(0, N)
    else:
        with ThreadPoolExecutor(max_workers=threads) as ex:
            list(ex.map(lambda b: run(*b), blocks))
    return Xout, status, steps


def _table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows and a row index: one row for a broadcast (stride-0) array."""
    N = p.shape[0]
    if N > 1 and p.strides[0] == 0:
        return np.ascontiguousarray(p[:1], dtype=np.complex128), np.zeros(N, np.int64)
    return np.ascontiguousarray(p, dtype=np.complex128), np.arange(N, dtype=np.int64)
