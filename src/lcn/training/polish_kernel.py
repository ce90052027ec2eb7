"""The Levenberg-Marquardt polish of :func:`lcn.training.polish.lm_solve`, compiled (numba),
for LCNs on the CPU in float64.

Same algorithm, run for run: the residual ``F = [grad L; gamma (q - q0)]`` with the gauge rows
``q_i = ||w_i||^2 - ||w_{i+1}||^2`` scaled by ``gamma = ||H_0||_F / ||D_0||_F`` at the start,
the normal equations ``A^T A + lam s I`` (``s`` the mean of the diagonal) tried at ``lam``,
``100 lam``, ``10^4 lam`` in turn, the first level that lowers ``||F||`` taken (then
``lam <- 0.1 lam_level``; none: ``lam <- 10^6 lam``, at most ``10^12``), until the relative
gradient norm is at most ``tol``. Why compiled: a run has a few dozen parameters, so the
batched torch iteration spends about 1 ms per iteration in dispatch (``make run``: 7600
iterations, 8 s).

Everything is closed form (MATH.md 2, 8): with the products ``Q_i`` of the upsampled layers
other than ``i`` and ``Q_ij`` of those other than ``i, j``, ``d mu / d w_i[a]`` is ``Q_i``
shifted by ``a S_i``, ``grad L = 2 J^T G (mu - u)``, and the Hessian is
``2 J^T G J`` plus, between layers ``i != j``, ``2 sum_t Q_ij[t] (G r)[t + a S_i + b S_j]``
(``mu`` is multilinear: no diagonal blocks). The torch engine forms that second term by an
exact difference quotient, so the two agree up to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lcn import _numba
from lcn._numba import jit
from lcn.geometry.numerical.lm_kernel import products, solve_dense

__all__ = ["available", "lm_solve"]

_njit = jit(error_model="numpy")


def available() -> bool:
    """Whether the compiled solver can run (numba imports)."""
    return _numba.available()


@_njit
def _prod(th: Any, k: Any, S: Any, offs: Any, skip1: int, skip2: int, out: Any,
          tmp: Any) -> int:
    """Product of the upsampled layers other than ``skip1``, ``skip2`` into ``out`` (the
    ``Q_ij`` of the Hessian); returns its length."""
    out[0] = 1.0
    n = 1
    for i in range(k.shape[0]):
        if i == skip1 or i == skip2:
            continue
        nn = n + (k[i] - 1) * S[i]
        for t in range(nn):
            tmp[t] = 0.0
        for a in range(k[i]):
            wa = th[offs[i] + a]
            sh = a * S[i]
            for t in range(n):
                tmp[sh + t] += wa * out[t]
        for t in range(nn):
            out[t] = tmp[t]
        n = nn
    return n


@_njit
def _grad(th: Any, k: Any, S: Any, offs: Any, G: Any, u: Any, g: Any, v: Any, Gr: Any,
          Q: Any, pre: Any, suf: Any) -> float:
    """``grad L`` into ``g``, ``mu`` into ``v``, ``G (mu - u)`` into ``Gr`` and the products
    ``Q[i]`` (prefix/suffix products, :func:`lm_kernel.products`); returns
    ``||d mu||_F^2 = sum_i k_i ||Q_i||^2``."""
    m = v.shape[0]
    products(th, k, S, offs, m, v, Q, pre, suf)
    for t in range(m):
        s = 0.0
        for t2 in range(m):
            s += G[t, t2] * (v[t2] - u[t2])
        Gr[t] = s
    jn2 = 0.0
    for i in range(k.shape[0]):
        q = m - (k[i] - 1) * S[i]
        s = 0.0
        for t in range(q):
            s += Q[i, t] * Q[i, t]
        jn2 += k[i] * s
        for a in range(k[i]):
            s = 0.0
            for t in range(q):
                s += Q[i, t] * Gr[t + a * S[i]]
            g[offs[i] + a] = 2.0 * s
    return jn2


@_njit
def _hessian(th: Any, k: Any, S: Any, offs: Any, G: Any, Gr: Any, Q: Any, H: Any,
             J: Any, GJ: Any, acc: Any, tmp: Any) -> None:
    """The Hessian of ``L`` (module docstring) at ``th``, with ``Gr`` and ``Q`` from
    :func:`_grad` at the same point."""
    m = Gr.shape[0]
    P = H.shape[0]
    L = k.shape[0]
    for t in range(m):
        for p in range(P):
            J[t, p] = 0.0
    for i in range(L):
        q = m - (k[i] - 1) * S[i]
        for a in range(k[i]):
            for t in range(q):
                J[t + a * S[i], offs[i] + a] = Q[i, t]
    for t in range(m):
        for p in range(P):
            s = 0.0
            for t2 in range(m):
                s += G[t, t2] * J[t2, p]
            GJ[t, p] = s
    for p in range(P):
        for p2 in range(p, P):
            s = 0.0
            for t in range(m):
                s += J[t, p] * GJ[t, p2]
            H[p, p2] = 2.0 * s
            H[p2, p] = 2.0 * s
    for i in range(L):
        for j in range(i + 1, L):
            q = _prod(th, k, S, offs, i, j, acc, tmp)
            for a in range(k[i]):
                for b in range(k[j]):
                    sh = a * S[i] + b * S[j]
                    s = 0.0
                    for t in range(q):
                        s += acc[t] * Gr[t + sh]
                    H[offs[i] + a, offs[j] + b] += 2.0 * s
                    H[offs[j] + b, offs[i] + a] += 2.0 * s


@_njit
def _residual(th: Any, k: Any, offs: Any, g: Any, q0: Any, gamma: float, F: Any) -> float:
    """``F = [g; gamma (q - q0)]`` (no gauge rows when ``q0`` is empty); returns ``||F||``."""
    P = g.shape[0]
    s = 0.0
    for p in range(P):
        F[p] = g[p]
        s += g[p] * g[p]
    nq = q0.shape[0]
    if nq:
        prev = 0.0
        for i in range(k.shape[0]):
            n2 = 0.0
            for a in range(k[i]):
                n2 += th[offs[i] + a] ** 2
            if i > 0:
                f = gamma * (prev - n2 - q0[i - 1])
                F[P + i - 1] = f
                s += f * f
            prev = n2
    return math.sqrt(s)


@_njit
def _lm_runs(theta: Any, k: Any, S: Any, offs: Any, G: Any, u: Any, Gnorm: Any, unorm: Any,
             q0: Any, max_iter: int, tol: float, rel: Any, iters: Any) -> None:
    """:func:`lm_solve` on every row of ``theta`` (in place); ``G``, ``u``, ``Gnorm``,
    ``unorm`` per run or shared (one row); ``q0`` ``(B, L - 1)`` or ``(B, 0)``."""
    B, P = theta.shape
    L = k.shape[0]
    m = u.shape[1]
    nq = q0.shape[1]
    R = P + nq
    g = np.empty(P)
    v = np.empty(m)
    Gr = np.empty(m)
    Q = np.empty((L, m))
    Qc = np.empty((L, m))
    Grc = np.empty(m)
    pre = np.empty((L + 1, m))
    suf = np.empty((L + 1, m))
    tmp = np.empty(m)
    acc = np.empty(m)
    H = np.empty((P, P))
    J = np.empty((m, P))
    GJ = np.empty((m, P))
    A = np.empty((R, P))
    AtA = np.empty((P, P))
    AtF = np.empty(P)
    M = np.empty((P, P))
    LU = np.empty((P, P))
    step = np.empty(P)
    cand = np.empty(P)
    F = np.empty(R)
    Fc = np.empty(R)
    gc = np.empty(P)
    vc = np.empty(m)
    for b in range(B):
        d = 0 if G.shape[0] == 1 else b
        Gb, ub = G[d], u[d]
        th = theta[b]
        q0b = q0[b]
        jn2 = _grad(th, k, S, offs, Gb, ub, g, v, Gr, Q, pre, suf)
        vn = 0.0
        for t in range(m):
            vn += v[t] * v[t]
        den = math.sqrt(jn2) * 2.0 * Gnorm[d] * (math.sqrt(vn) + unorm[d])
        r = math.sqrt(np.sum(g * g)) / max(den, 1e-300)
        rel[b] = r
        iters[b] = 0
        if r <= tol:
            continue
        gamma = 1.0
        if nq:
            _hessian(th, k, S, offs, Gb, Gr, Q, H, J, GJ, acc, tmp)
            hn = math.sqrt(np.sum(H * H))
            dn = 2.0 * math.sqrt(np.sum(th * th) + np.sum(th[offs[1]:offs[L - 1]] ** 2))
            gamma = hn / max(dn, 1e-300)
            if not (math.isfinite(gamma) and gamma > 0):
                gamma = 1.0
        lam = 1e-4
        for _ in range(max_iter):
            Fn = _residual(th, k, offs, g, q0b, gamma, F)
            _hessian(th, k, S, offs, Gb, Gr, Q, H, J, GJ, acc, tmp)
            for p in range(P):
                for c in range(P):
                    A[p, c] = H[p, c]
            for i in range(nq):
                for c in range(P):
                    A[P + i, c] = 0.0
                for a in range(k[i]):
                    A[P + i, offs[i] + a] = gamma * 2.0 * th[offs[i] + a]
                for a in range(k[i + 1]):
                    A[P + i, offs[i + 1] + a] = -gamma * 2.0 * th[offs[i + 1] + a]
            sd = 0.0
            for p in range(P):
                for c in range(p, P):
                    s = 0.0
                    for e in range(R):
                        s += A[e, p] * A[e, c]
                    AtA[p, c] = s
                    AtA[c, p] = s
                s = 0.0
                for e in range(R):
                    s += A[e, p] * F[e]
                AtF[p] = s
                sd += AtA[p, p]
            scale = max(sd / P, 1e-300)
            level = lam
            took = False
            for _try in range(3):
                if _try:
                    level = level * 100.0
                for p in range(P):
                    for c in range(P):
                        M[p, c] = AtA[p, c]
                    M[p, p] += level * scale
                    AtF[p] = -AtF[p]
                ok = solve_dense(M, AtF, LU, step)
                for p in range(P):
                    AtF[p] = -AtF[p]
                if not ok:
                    continue
                for p in range(P):
                    cand[p] = th[p] + step[p]
                # the candidate's products go to their own scratch: a rejected one leaves
                # the current point's Gr and Q intact for the next Hessian
                jc = _grad(cand, k, S, offs, Gb, ub, gc, vc, Grc, Qc, pre, suf)
                Fcn = _residual(cand, k, offs, gc, q0b, gamma, Fc)
                if math.isfinite(Fcn) and Fcn < Fn:
                    took = True
                    jn2 = jc
                    for p in range(P):
                        th[p] = cand[p]
                        g[p] = gc[p]
                    for t in range(m):
                        v[t] = vc[t]
                    Gr, Grc = Grc, Gr
                    Q, Qc = Qc, Q
                    break
            if took:
                lam = max(level * 0.1, 1e-15)
            else:
                lam = level * 100.0
            lam = min(lam, 1e12)
            vn = 0.0
            for t in range(m):
                vn += v[t] * v[t]
            den = math.sqrt(jn2) * 2.0 * Gnorm[d] * (math.sqrt(vn) + unorm[d])
            gs = 0.0
            for p in range(P):
                gs += g[p] * g[p]
            r = math.sqrt(gs) / max(den, 1e-300)
            iters[b] += 1
            rel[b] = r
            if r <= tol or not math.isfinite(r) or lam >= 1e12:
                break


def lm_solve(theta: np.ndarray, k: tuple[int, ...], S: tuple[int, ...], G: np.ndarray,
             u: np.ndarray, Gnorm: np.ndarray, q0: np.ndarray | None, max_iter: int,
             tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`lcn.training.polish.lm_solve` for an LCN with layer sizes ``k`` and cumulative
    strides ``S``, on float64 NumPy arrays: ``theta (B, P)``, ``G (Rd, m, m)``, ``u (Rd, m)``,
    ``Gnorm (Rd,)`` with ``Rd = B`` or 1 (shared), ``q0 (B, L - 1)`` or ``None`` (no gauge
    rows). Returns the new ``theta``, the relative gradient norms and the iterations."""
    th = np.array(theta, dtype=np.float64, order="C", copy=True)
    B = th.shape[0]
    kk = np.array(k, np.int64)
    offs = np.concatenate([[0], np.cumsum(kk)]).astype(np.int64)
    if q0 is None or len(k) == 1:
        q = np.zeros((B, 0))
    else:
        q = np.ascontiguousarray(q0, dtype=np.float64)
    u = np.ascontiguousarray(u, dtype=np.float64)
    rel = np.empty(B)
    iters = np.zeros(B, np.int64)
    _lm_runs(th, kk, np.array(S, np.int64), offs, np.ascontiguousarray(G, dtype=np.float64),
             u, np.ascontiguousarray(Gnorm, dtype=np.float64), np.linalg.norm(u, axis=1),
             q, max_iter, tol, rel, iters)
    return th, rel, iters
