"""The path tracker of :mod:`.track` for :class:`~.system.CriticalSystem`, compiled for the CPU.

Why: the critical systems are tiny (``n <= 10`` unknowns, filters of ``m <= 20`` taps), so
the batched torch tracker spends its time in dispatch (about 350 small ops per step of the
whole batch, 4 ms per step at 1000 paths here) and in batched ``n x n`` matrix kernels that
are slow at these sizes. Here :data:`LANES` paths are tracked in lockstep by compiled loops
(numba) whose innermost loop runs over the paths, so that the complex arithmetic of the
evaluation and of the elimination is SIMD across paths (measured 2.2-2.7x one path at a
time); a path that finishes leaves its lane to the next one, and the live lanes are kept at
the front so idle ones cost nothing. Each path follows the *same* algorithm as
:func:`.track.track` step for step: the moving Householder chart re-centred before every
step, the RK4 predictor on
``dx/dt = -F_x^{-1} s'(t) F(x; p_1 - p_0)``, two Newton corrections at ``t + h``, the same
acceptance test, step-size rule and statuses, and the map back to the fixed chart. The
evaluation is that of :meth:`.system.CriticalSystem.evaluate` written out: the products
``mu``, ``Q_j`` (all layers but ``j``) and ``Q_jc`` of the upsampled layers, ``Jz``, ``g = lam G
mu - b``, ``F = (Jz^T g, mu^T g)`` and its Jacobian with the Hessian blocks
``B_j^T [sum_t Q_jc[t] g[t + i S_j + l S_c]]_{il} B_c``; linear systems by Gaussian
elimination with partial pivoting, rows swapped per path (an exactly zero pivot counts as
singular, like ``torch.linalg.solve_ex``).

Paths are split over a thread pool in blocks of :data:`BLOCK` (the kernel releases the GIL).
numba is optional: without it :func:`supports` is ``False`` and the torch tracker runs.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lcn import _numba
from lcn._numba import jit
from lcn.homotopy.system import CriticalSystem, ZeroSystem

__all__ = ["BLOCK", "LANES", "supports", "track_native"]

_njit = jit(error_model="numpy")
_inline = jit(error_model="numpy", inline="always")

#: Paths per work item of the thread pool.
BLOCK = 512
#: Paths tracked in lockstep by one thread (the inner loops run over them: SIMD).
LANES = 64

RUNNING = 4  # the statuses of :mod:`.track`
OK, DIVERGED, SINGULAR, MAX_STEPS = 0, 1, 2, 3


@_inline
def _layers(x: Any, W0: Any, Bs: Any, k: Any, offs: Any, woff: Any, boff: Any,
            w: Any, nc: int) -> None:
    """``w_j = W0_j + Bs_j z_j`` for every active layer with ``offs[j] >= 0``, into the flat
    ``w`` (lanes ``< nc``)."""
    for j in range(k.shape[0]):
        kj, o, wo, bo = k[j], offs[j], woff[j], boff[j]
        if o < 0:  # not a variable layer (the zero layer of a zero-filter system)
            continue
        for i in range(kj):
            wr = w[wo + i]
            W0r = W0[wo + i]
            for r in range(nc):
                wr[r] = W0r[r]
            for c in range(kj - 1):
                Br = Bs[bo + i * (kj - 1) + c]
                xr = x[o + c]
                for r in range(nc):
                    wr[r] += Br[r] * xr[r]


@_inline
def _prod(w: Any, k: Any, S: Any, woff: Any, skip1: int, skip2: int, acc: Any,
          tmp: Any, nc: int) -> int:
    """Product of the upsampled layers other than ``skip1``, ``skip2`` into ``acc`` (lanes
    ``< nc``); returns its length."""
    for r in range(nc):
        acc[0, r] = 1.0
    n = 1
    for j in range(k.shape[0]):
        if j == skip1 or j == skip2:
            continue
        nn = n + (k[j] - 1) * S[j]
        for t in range(nn):
            tr = tmp[t]
            for r in range(nc):
                tr[r] = 0.0
        for i in range(k[j]):
            wi = w[woff[j] + i]
            sh = i * S[j]
            for t in range(n):
                tr = tmp[sh + t]
                ar = acc[t]
                for r in range(nc):
                    tr[r] += wi[r] * ar[r]
        for t in range(nn):
            tr = tmp[t]
            ar = acc[t]
            for r in range(nc):
                ar[r] = tr[r]
        n = nn
    return n


@_inline
def _residual(p: Any, mu: Any, Jz: Any, lam: Any, m: int, nz: int, Gmu: Any, g: Any,
              F: Any, nc: int) -> None:
    """For parameters ``p = (vec G, b)`` (lanes ``< nc``): ``Gmu = G mu``,
    ``g = lam G mu - b`` and ``F = (Jz^T g, mu . g)``."""
    mm = m * m
    for t in range(m):
        Gt = Gmu[t]
        for r in range(nc):
            Gt[r] = 0.0
        for t2 in range(m):
            pr = p[t * m + t2]
            mr = mu[t2]
            for r in range(nc):
                Gt[r] += pr[r] * mr[r]
        gt = g[t]
        br = p[mm + t]
        for r in range(nc):
            gt[r] = lam[r] * Gt[r] - br[r]
    for c in range(nz + 1):
        Fc = F[c]
        for r in range(nc):
            Fc[r] = 0.0
        for t in range(m):
            gt = g[t]
            Jt = Jz[t, c] if c < nz else mu[t]
            for r in range(nc):
                Fc[r] += gt[r] * Jt[r]


@_njit
def _evaluate(x: Any, W0: Any, Bs: Any, k: Any, S: Any, offs: Any, woff: Any, boff: Any,
              m: int, pc: Any, dp: Any, F: Any, J: Any, Fd: Any,
              w: Any, mu: Any, acc: Any, tmp: Any, Jz: Any, Gmu: Any, g: Any, GJ: Any,
              Hw: Any, s1: Any, nc: int) -> None:
    """``F(x; pc)``, its Jacobian ``J`` and (when ``dp`` has rows) ``Fd = F(x; dp)`` in the
    charts ``(W0, Bs)``, for lanes ``< nc`` (:meth:`CriticalSystem.evaluate`)."""
    A = k.shape[0]
    n = x.shape[0]
    nz = n - 1
    lam = x[nz]
    _layers(x, W0, Bs, k, offs, woff, boff, w, nc)
    _prod(w, k, S, woff, -1, -1, acc, tmp, nc)
    for t in range(m):
        mt = mu[t]
        at = acc[t]
        for r in range(nc):
            mt[r] = at[r]
    for t in range(m):
        for c in range(nz):
            Jtc = Jz[t, c]
            for r in range(nc):
                Jtc[r] = 0.0
    for j in range(A):
        q = _prod(w, k, S, woff, j, -1, acc, tmp, nc)
        kj, o, bo = k[j], offs[j], boff[j]
        for i in range(kj):
            sh = i * S[j]
            for tt in range(q):
                qv = acc[tt]
                for c in range(kj - 1):
                    Br = Bs[bo + i * (kj - 1) + c]
                    Jtc = Jz[tt + sh, o + c]
                    for r in range(nc):
                        Jtc[r] += qv[r] * Br[r]
    _residual(pc, mu, Jz, lam, m, nz, Gmu, g, F, nc)
    if dp.shape[0] > 0:
        # F(x; dp), with acc and tmp (free until the Hessian blocks) for dG mu and gd
        _residual(dp, mu, Jz, lam, m, nz, acc, tmp, Fd, nc)
    for t in range(m):
        for c in range(nz):
            Gtc = GJ[t, c]
            for r in range(nc):
                Gtc[r] = 0.0
            for t2 in range(m):
                pr = pc[t * m + t2]
                Jtc = Jz[t2, c]
                for r in range(nc):
                    Gtc[r] += pr[r] * Jtc[r]
    for a in range(nz):
        for c in range(nz):
            for r in range(nc):
                s1[r] = 0.0
            for t in range(m):
                Ja = Jz[t, a]
                Gc = GJ[t, c]
                for r in range(nc):
                    s1[r] += Ja[r] * Gc[r]
            Jac = J[a, c]
            for r in range(nc):
                Jac[r] = lam[r] * s1[r]
    for j in range(A):
        for c2 in range(j + 1, A):
            q = _prod(w, k, S, woff, j, c2, acc, tmp, nc)
            kj, kc = k[j], k[c2]
            for i1 in range(kj):
                for i2 in range(kc):
                    sh = i1 * S[j] + i2 * S[c2]
                    Hr = Hw[i1, i2]
                    for r in range(nc):
                        Hr[r] = 0.0
                    for tt in range(q):
                        ar = acc[tt]
                        gr = g[tt + sh]
                        for r in range(nc):
                            Hr[r] += ar[r] * gr[r]
            oj, oc, bj, bc = offs[j], offs[c2], boff[j], boff[c2]
            for a in range(kj - 1):
                for b in range(kc - 1):
                    for r in range(nc):
                        s1[r] = 0.0
                    for i1 in range(kj):
                        Bj = Bs[bj + i1 * (kj - 1) + a]
                        for i2 in range(kc):
                            Bc = Bs[bc + i2 * (kc - 1) + b]
                            Hr = Hw[i1, i2]
                            for r in range(nc):
                                s1[r] += Bj[r] * Hr[r] * Bc[r]
                    J1 = J[oj + a, oc + b]
                    J2 = J[oc + b, oj + a]
                    for r in range(nc):
                        J1[r] += s1[r]
                        J2[r] += s1[r]
    for a in range(nz):
        for r in range(nc):
            s1[r] = 0.0
        for t in range(m):
            Ja = Jz[t, a]
            Gt = Gmu[t]
            for r in range(nc):
                s1[r] += Ja[r] * Gt[r]
        Jan = J[a, nz]
        Jna = J[nz, a]
        Fa = F[a]
        for r in range(nc):
            Jan[r] = s1[r]
            Jna[r] = Fa[r] + lam[r] * s1[r]
    Jnn = J[nz, nz]
    for r in range(nc):
        Jnn[r] = 0.0
    for t in range(m):
        mt = mu[t]
        Gt = Gmu[t]
        for r in range(nc):
            Jnn[r] += mt[r] * Gt[r]


@_njit
def _evaluate_zero(x: Any, W0: Any, Bs: Any, k: Any, S: Any, offs: Any, woff: Any,
                   boff: Any, zj: int, kz: int, Sz: int, pc: Any, dp: Any, F: Any, J: Any,
                   Fd: Any, w: Any, acc: Any, tmp: Any, Hw: Any, s1: Any, nc: int) -> None:
    """The zero-filter system (:class:`~.system.ZeroSystem`, fixed chart), lanes ``< nc``:
    ``F_i = sum_t b[t + i S_z] Q_z[t]`` (``Q_z`` the product of the layers other than the zero
    layer ``zj``, all of them when ``zj = -1``, a zero layer of size 1) for ``i < k_z``, its
    Jacobian ``sum_l Bs_c[l, .] sum_t Q_zc[t] b[t + l S_c + i S_z]`` and ``Fd = F(x; dp)``."""
    _layers(x, W0, Bs, k, offs, woff, boff, w, nc)
    q = _prod(w, k, S, woff, zj, -1, acc, tmp, nc)
    for i in range(kz):
        Fi = F[i]
        Fdi = Fd[i]
        for r in range(nc):
            Fi[r] = 0.0
            Fdi[r] = 0.0
        for tt in range(q):
            ar = acc[tt]
            br = pc[tt + i * Sz]
            for r in range(nc):
                Fi[r] += br[r] * ar[r]
            if dp.shape[0] > 0:
                dr = dp[tt + i * Sz]
                for r in range(nc):
                    Fdi[r] += dr[r] * ar[r]
    for c in range(k.shape[0]):
        if offs[c] < 0:
            continue
        q = _prod(w, k, S, woff, zj, c, acc, tmp, nc)
        kc, oc, bc = k[c], offs[c], boff[c]
        for i in range(kz):
            for li in range(kc):
                Hr = Hw[li, 0]
                for r in range(nc):
                    Hr[r] = 0.0
                sh = li * S[c] + i * Sz
                for tt in range(q):
                    ar = acc[tt]
                    br = pc[tt + sh]
                    for r in range(nc):
                        Hr[r] += ar[r] * br[r]
            for col in range(kc - 1):
                for r in range(nc):
                    s1[r] = 0.0
                for li in range(kc):
                    Br = Bs[bc + li * (kc - 1) + col]
                    Hr = Hw[li, 0]
                    for r in range(nc):
                        s1[r] += Br[r] * Hr[r]
                Jr = J[i, oc + col]
                for r in range(nc):
                    Jr[r] = s1[r]


@_inline
def _eval(zero: bool, zj: int, kz: int, Sz: int, x: Any, W0: Any, Bs: Any, k: Any, S: Any,
          offs: Any, woff: Any, boff: Any, m: int, pc: Any, dp: Any, F: Any, J: Any, Fd: Any,
          w: Any, mu: Any, acc: Any, tmp: Any, Jz: Any, Gmu: Any, g: Any, GJ: Any, Hw: Any,
          s1: Any, nc: int) -> None:
    """:func:`_evaluate_zero` or :func:`_evaluate`; ``Fd = F(x; dp)`` only where ``dp`` has
    rows. Why an empty ``dp`` and not a flag, and why lane counts are never literals: numba
    compiles a callee once per literal argument (``True``, ``False``, ``1``), which tripled
    the first-run compile time of both evaluations (measured 15.6 s against 4.7 s; the
    whole tracker 26.8 s against 14.7 s; the tracking itself is as fast)."""
    if zero:
        _evaluate_zero(x, W0, Bs, k, S, offs, woff, boff, zj, kz, Sz, pc, dp, F, J,
                       Fd, w, acc, tmp, Hw, s1, nc)
    else:
        _evaluate(x, W0, Bs, k, S, offs, woff, boff, m, pc, dp, F, J, Fd, w, mu,
                  acc, tmp, Jz, Gmu, g, GJ, Hw, s1, nc)


@_njit
def _solve(A: Any, b: Any, LU: Any, out: Any, ok: Any, nc: int) -> None:
    """``out = A^{-1} b`` in every lane by Gaussian elimination with partial pivoting (rows
    swapped per lane, the elimination shared); ``ok[r] = False`` and NaN for a lane with an
    exactly zero pivot (lanes ``< nc``)."""
    n = b.shape[0]
    for i in range(n):
        for r in range(nc):
            out[i, r] = b[i, r]
        for j in range(n):
            Lr = LU[i, j]
            Ar = A[i, j]
            for r in range(nc):
                Lr[r] = Ar[r]
    for r in range(nc):
        ok[r] = True
    for c in range(n):
        for r in range(nc):
            p = c
            best = abs(LU[c, c, r])
            for i in range(c + 1, n):
                v = abs(LU[i, c, r])
                if v > best:
                    best, p = v, i
            if best == 0.0 or not best == best:
                ok[r] = False
                LU[c, c, r] = 1.0  # keeps the lane finite; its result is NaN below
            elif p != c:
                for j in range(n):
                    LU[c, j, r], LU[p, j, r] = LU[p, j, r], LU[c, j, r]
                out[c, r], out[p, r] = out[p, r], out[c, r]
        piv = LU[c, c]
        oc = out[c]
        for i in range(c + 1, n):
            Li = LU[i, c]
            oi = out[i]
            for r in range(nc):
                Li[r] = Li[r] / piv[r]
            for j in range(c + 1, n):
                Lij = LU[i, j]
                Lcj = LU[c, j]
                for r in range(nc):
                    Lij[r] -= Li[r] * Lcj[r]
            for r in range(nc):
                oi[r] -= Li[r] * oc[r]
    for c in range(n - 1, -1, -1):
        oc = out[c]
        for j in range(c + 1, n):
            Lcj = LU[c, j]
            oj = out[j]
            for r in range(nc):
                oc[r] -= Lcj[r] * oj[r]
        piv = LU[c, c]
        for r in range(nc):
            oc[r] = oc[r] / piv[r]
    for r in range(nc):
        if not ok[r]:
            for i in range(n):
                out[i, r] = np.nan


@_njit
def _recenter(x: Any, W0: Any, Bs: Any, k: Any, offs: Any, woff: Any, boff: Any, w: Any,
              u: Any, nc: int) -> None:
    """Re-centre the charts of lanes ``< nc`` at their current layers
    (:meth:`CriticalSystem.recenter`)."""
    _layers(x, W0, Bs, k, offs, woff, boff, w, nc)
    for r in range(nc):
        for j in range(k.shape[0]):
            kj, wo, bo = k[j], woff[j], boff[j]
            nrm = 0.0
            for i in range(kj):
                nrm += abs(w[wo + i, r]) ** 2
            nrm = math.sqrt(nrm)
            for i in range(kj):
                u[i] = w[wo + i, r] / nrm
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
                    Bs[bo + i * (kj - 1) + c - 1, r] = h
                W0[wo + i, r] = w[wo + i, r]
        for c in range(x.shape[0] - 1):
            x[c, r] = 0


@_njit
def _track_range(X0: Any, P0: Any, i0: Any, P1: Any, i1: Any, gam: Any, a_fix: Any,
                 B_fix: Any, k: Any, S: Any, offs: Any, woff: Any, boff: Any, m: int,
                 h0: float, h_max: float, h_min: float, beta: float, max_steps: int,
                 x_max: float, lo: int, hi: int, lanes: int, zero: bool, zj: int, kz: int,
                 Sz: int, Xout: Any, status: Any, steps: Any) -> None:
    """Track paths ``lo <= q < hi`` from ``P0[i0[q]]`` to ``P1[i1[q]]`` (see the module
    docstring), ``lanes`` at a time in lockstep (a lane that finishes takes the next path);
    endpoints in the fixed chart, those that ended OK after three Newton steps at
    ``P1[i1[q]]``. ``zero``: the zero-filter system of ``(zj, kz, Sz)`` (:func:`_evaluate_zero`,
    fixed chart, no ``lam``), else the critical system (moving charts)."""
    n = X0.shape[1]
    nz = n - 1
    P = P0.shape[1]
    A = k.shape[0]
    C = lanes
    kmax = 1
    for j in range(A):
        kmax = max(kmax, k[j])
    c16 = np.complex128
    nk, nb = a_fix.shape[0], B_fix.shape[0]
    W0 = np.empty((nk, C), c16)
    Bs = np.empty((nb, C), c16)
    w = np.empty((nk, C), c16)
    mu = np.empty((m, C), c16)
    acc = np.empty((m, C), c16)
    tmp = np.empty((m, C), c16)
    Jz = np.empty((m, max(nz, 1), C), c16)
    Gmu = np.empty((m, C), c16)
    g = np.empty((m, C), c16)
    GJ = np.empty((m, max(nz, 1), C), c16)
    Hw = np.empty((kmax, kmax, C), c16)
    s1 = np.empty(C, c16)
    uvec = np.empty(kmax, c16)
    F = np.empty((n, C), c16)
    Fd = np.empty((n, C), c16)
    J = np.empty((n, n, C), c16)
    LU = np.empty((n, n, C), c16)
    K = np.empty((4, n, C), c16)
    rhs = np.empty((n, C), c16)
    d = np.empty((n, C), c16)
    x = np.empty((n, C), c16)
    xs = np.empty((n, C), c16)
    xp = np.empty((n, C), c16)
    p0 = np.empty((P, C), c16)
    dp = np.empty((P, C), c16)
    nodp = np.empty((0, C), c16)  # the correctors need no F(x; dp)
    pc = np.empty((P, C), c16)
    ok = np.empty(C, np.bool_)
    good = np.empty(C, np.bool_)
    ga = np.empty(C, c16)
    t = np.zeros(C)
    h = np.zeros(C)
    dt = np.zeros(C)
    t1 = np.zeros(C)
    d1 = np.zeros(C)
    d2 = np.zeros(C)
    sc = np.empty(C, c16)
    dsc = np.empty(C, c16)
    nst = np.zeros(C, np.int64)
    path = np.full(C, -1, np.int64)
    cst = (0.0, 0.5, 0.5, 1.0)
    # live lanes are 0 .. nc - 1; lane indices are never literals (see _eval)
    nc = min(C, max(hi - lo, 0))
    for r in range(nc):
        _load(r, lo + r, X0, P0, i0, P1, i1, gam, a_fix, B_fix, h0, x, W0, Bs, p0, dp, ga, t,
              h, nst, path)
    nxt = lo + nc
    while nc > 0:
        for r in range(nc):
            dt[r] = min(h[r], 1 - t[r])
            good[r] = True
        if not zero:
            _recenter(x, W0, Bs, k, offs, woff, boff, w, uvec, nc)
        for qs in range(4):
            for i in range(n):
                for r in range(nc):
                    xs[i, r] = (x[i, r] if qs == 0 else
                                x[i, r] + cst[qs] * dt[r] * K[qs - 1, i, r])
            for r in range(nc):
                tt = t[r] + cst[qs] * dt[r]
                den = ga[r] * tt + (1 - tt)
                sc[r] = ga[r] * tt / den
                dsc[r] = ga[r] / (den * den)
            for i in range(P):
                for r in range(nc):
                    pc[i, r] = p0[i, r] + sc[r] * dp[i, r]
            _eval(zero, zj, kz, Sz, xs, W0, Bs, k, S, offs, woff, boff, m, pc, dp, F, J, Fd, w,
                  mu, acc, tmp, Jz, Gmu, g, GJ, Hw, s1, nc)
            for i in range(n):
                for r in range(nc):
                    rhs[i, r] = -Fd[i, r] * dsc[r]
            _solve(J, rhs, LU, K[qs], ok, nc)
            for r in range(nc):
                good[r] = good[r] and ok[r]
        for r in range(nc):
            t1[r] = 1.0 if h[r] >= 1 - t[r] else t[r] + dt[r]
            den = ga[r] * t1[r] + (1 - t1[r])
            sc[r] = ga[r] * t1[r] / den
        for i in range(n):
            for r in range(nc):
                xp[i, r] = x[i, r] + dt[r] / 6 * (K[0, i, r] + 2 * K[1, i, r]
                                                  + 2 * K[2, i, r] + K[3, i, r])
        for i in range(P):
            for r in range(nc):
                pc[i, r] = p0[i, r] + sc[r] * dp[i, r]
        for it in range(2):
            _eval(zero, zj, kz, Sz, xp, W0, Bs, k, S, offs, woff, boff, m, pc, nodp, F, J,
                  Fd, w, mu, acc, tmp, Jz, Gmu, g, GJ, Hw, s1, nc)
            for i in range(n):
                for r in range(nc):
                    rhs[i, r] = -F[i, r]
            _solve(J, rhs, LU, d, ok, nc)
            for i in range(n):
                for r in range(nc):
                    xp[i, r] += d[i, r]
            for r in range(nc):
                good[r] = good[r] and ok[r]
                mx = 0.0
                for i in range(n):
                    a = abs(d[i, r])
                    if not a <= mx:  # NaN propagates, like torch.amax
                        mx = a
                if it == 0:
                    d1[r] = mx
                else:
                    d2[r] = mx
        for r in range(nc):
            mx = 0.0
            finite = True
            for i in range(n):
                v = xp[i, r]
                a = abs(v)
                if not a <= mx:
                    mx = a
                if not (math.isfinite(v.real) and math.isfinite(v.imag)):
                    finite = False
            scale = 1 + mx
            tiny = 1e-13 * scale
            tol = beta * scale
            acc_ = good[r] and finite and d1[r] <= tol and d2[r] <= 0.1 * d1[r] + tiny
            ratio = (d1[r] + tiny) / tol
            if not math.isfinite(ratio):
                ratio = 1e6
            fac = 0.8 * max(ratio, 1e-10) ** -0.2
            if acc_:
                hn = min(h[r] * min(max(fac, 0.5), 2.0), h_max)
                for i in range(n):
                    x[i, r] = xp[i, r]
                t[r] = t1[r]
            else:
                hn = h[r] * min(max(fac, 0.2), 0.5)
            h[r] = hn
            nst[r] += 1
            st = RUNNING
            if acc_ and t1[r] >= 1.0:
                st = OK
            if acc_ and scale > x_max:
                st = DIVERGED
            if st == RUNNING and hn < h_min:
                st = SINGULAR
            if st == RUNNING and nst[r] >= max_steps:
                st = MAX_STEPS
            if st == RUNNING:
                continue
            q = path[r]
            _finish(x[:, r], W0[:, r], Bs[:, r], a_fix, B_fix, k, S, offs, woff, boff, m,
                    P1[i1[q]], st == OK, zero, zj, kz, Sz, Xout[q])
            status[q] = st
            steps[q] = nst[r]
            if nxt < hi:
                _load(r, nxt, X0, P0, i0, P1, i1, gam, a_fix, B_fix, h0, x, W0, Bs, p0, dp,
                      ga, t, h, nst, path)
                nxt += 1
            else:
                path[r] = -1
        # compaction: the live lanes move to the front, so the loops run over them only
        live = np.int64(0)
        for r in range(nc):
            if path[r] < 0:
                continue
            if r != live:
                _move(r, live, x, W0, Bs, p0, dp, ga, t, h, nst, path)
            live += 1
        nc = int(live)


@_njit
def _load(r: int, q: int, X0: Any, P0: Any, i0: Any, P1: Any, i1: Any, gam: Any,
          a_fix: Any, B_fix: Any, h0: float, x: Any, W0: Any, Bs: Any, p0: Any, dp: Any,
          ga: Any, t: Any, h: Any, nst: Any, path: Any) -> None:
    """Start path ``q`` in lane ``r``: its start root, the fixed chart, its parameters."""
    for i in range(x.shape[0]):
        x[i, r] = X0[q, i]
    for i in range(W0.shape[0]):
        W0[i, r] = a_fix[i]
    for i in range(Bs.shape[0]):
        Bs[i, r] = B_fix[i]
    for i in range(p0.shape[0]):
        p0[i, r] = P0[i0[q], i]
        dp[i, r] = P1[i1[q], i] - P0[i0[q], i]
    ga[r] = gam[q]
    t[r] = 0.0
    h[r] = h0
    nst[r] = 0
    path[r] = q


@_njit
def _move(src: int, dst: int, x: Any, W0: Any, Bs: Any, p0: Any, dp: Any, ga: Any, t: Any,
          h: Any, nst: Any, path: Any) -> None:
    """Move a path's state from lane ``src`` to lane ``dst``."""
    for i in range(x.shape[0]):
        x[i, dst] = x[i, src]
    for i in range(W0.shape[0]):
        W0[i, dst] = W0[i, src]
    for i in range(Bs.shape[0]):
        Bs[i, dst] = Bs[i, src]
    for i in range(p0.shape[0]):
        p0[i, dst] = p0[i, src]
        dp[i, dst] = dp[i, src]
    ga[dst] = ga[src]
    t[dst] = t[src]
    h[dst] = h[src]
    nst[dst] = nst[src]
    path[dst] = path[src]
    path[src] = -1


@_njit
def _finish(x: Any, W0: Any, Bs: Any, a_fix: Any, B_fix: Any, k: Any, S: Any, offs: Any,
            woff: Any, boff: Any, m: int, p1: Any, polish: bool, zero: bool, zj: int, kz: int,
            Sz: int, out: Any) -> None:
    """One path's end (one lane's ``x``, ``W0``, ``Bs``): its point in the fixed chart
    (``w / (a . w)``, ``lam prod (a . w)``; already there for a zero-filter system), then,
    when ``polish``, three Newton steps there at ``p1``; into ``out``."""
    n = x.shape[0]
    nz = n - 1
    A = k.shape[0]
    P = p1.shape[0]
    nk, nb = a_fix.shape[0], B_fix.shape[0]
    kmax = 1
    for j in range(A):
        kmax = max(kmax, k[j])
    c16 = np.complex128
    xx = np.empty((n, 1), c16)
    w = np.empty((nk, 1), c16)
    W1 = np.empty((nk, 1), c16)
    B1 = np.empty((nb, 1), c16)
    for i in range(n):
        xx[i, 0] = x[i]
    for i in range(nk):
        W1[i, 0] = W0[i]
    for i in range(nb):
        B1[i, 0] = Bs[i]
    one = xx.shape[1]  # one lane, not a literal 1 (see _eval)
    _layers(xx, W1, B1, k, offs, woff, boff, w, one)
    lam = x[nz]
    for j in range(0 if zero else A):
        kj, wo, bo, o = k[j], woff[j], boff[j], offs[j]
        aw = 0j
        for i in range(kj):
            aw += a_fix[wo + i] * w[wo + i, 0]
        for c in range(kj - 1):
            z = 0j
            for i in range(kj):
                z += (w[wo + i, 0] / aw - a_fix[wo + i]) * B_fix[bo + i * (kj - 1) + c]
            xx[o + c, 0] = z
        lam = lam * aw
    if not zero:
        xx[nz, 0] = lam
    if polish:
        for i in range(nk):
            W1[i, 0] = a_fix[i]
        for i in range(nb):
            B1[i, 0] = B_fix[i]
        pc = np.empty((P, 1), c16)
        nodp = np.empty((0, 1), c16)
        for i in range(P):
            pc[i, 0] = p1[i]
        F = np.empty((n, 1), c16)
        J = np.empty((n, n, 1), c16)
        LU = np.empty((n, n, 1), c16)
        rhs = np.empty((n, 1), c16)
        d = np.empty((n, 1), c16)
        ok = np.empty(1, np.bool_)
        mu = np.empty((m, 1), c16)
        acc = np.empty((m, 1), c16)
        tmp = np.empty((m, 1), c16)
        Gmu = np.empty((m, 1), c16)
        g = np.empty((m, 1), c16)
        Jz = np.empty((m, max(nz, 1), 1), c16)
        GJ = np.empty((m, max(nz, 1), 1), c16)
        Hw = np.empty((kmax, kmax, 1), c16)
        s1 = np.empty(1, c16)
        for _ in range(3):
            _eval(zero, zj, kz, Sz, xx, W1, B1, k, S, offs, woff, boff, m, pc, nodp, F,
                  J, F, w, mu, acc, tmp, Jz, Gmu, g, GJ, Hw, s1, one)
            for i in range(n):
                rhs[i, 0] = -F[i, 0]
            _solve(J, rhs, LU, d, ok, one)
            if ok[0]:
                for i in range(n):
                    xx[i, 0] += d[i, 0]
    for i in range(n):
        out[i] = xx[i, 0]


def supports(system: Any) -> bool:
    """Whether :func:`track_native` can track ``system``'s paths."""
    return _numba.available() and isinstance(system, CriticalSystem | ZeroSystem)


def track_native(system: CriticalSystem | ZeroSystem, x0: np.ndarray, p0: np.ndarray,
                 p1: np.ndarray, gamma: np.ndarray, options: Any, threads: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track every row of ``x0`` from ``p0`` to ``p1`` along ``gamma`` (NumPy arrays, the
    arguments of :func:`.track.track`; a parameter array whose rows all share one stride-0
    row, like a broadcast start, is read once); returns the endpoints in the fixed chart
    (polished at ``p1`` for the paths that ended OK), the statuses and the steps."""
    ch = system.chart
    sizes = np.array(ch.sizes, dtype=np.int64)
    S = np.array(ch.strides, dtype=np.int64)
    zero = isinstance(system, ZeroSystem)
    if isinstance(system, ZeroSystem):
        offs = np.array([system.offs.get(j, -1) for j in range(len(ch.active))], np.int64)
        zj = -1 if system.zero is None else int(system.zero)
        kz, Sz = int(system.eqs), int(ch.arch.S[system.layer])
    else:
        offs = np.array(ch.offsets, dtype=np.int64)
        zj, kz, Sz = -1, 0, 0
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
                     o.h0, o.h_max, o.h_min, o.beta, o.max_steps, o.x_max, lo, hi, LANES,
                     zero, zj, kz, Sz, Xout, status, steps)

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
