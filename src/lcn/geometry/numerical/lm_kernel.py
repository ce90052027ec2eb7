"""The batched Levenberg-Marquardt of :mod:`.lm`, compiled (numba), for :func:`nearest`.

Same algorithm, start for start: Marquardt scaling, Nielsen's gain-ratio damping, the layers
rebalanced after every accepted step, the same stopping tests and the same pruning of starts
far above the best (every 5 iterations from the 10th, against the cost 5 iterations back).
Why compiled: a start of degree 10 has 8 parameters, so each NumPy call of the batched solver
costs far more in dispatch than in arithmetic (about 30 calls per iteration).

Why it is also cheaper in arithmetic: the Jacobian of ``mu`` is block-Toeplitz, column
``a`` of layer ``i`` being the product ``Q_i`` of the other layers shifted by ``a S_i``
(MATH.md 2), so without a metric the Gauss-Newton matrix needs only the cross-correlations
of the ``Q_i``: ``(J^T J)[(i, a), (j, b)] = sum_u Q_i[u] Q_j[u + a S_i - b S_j]``, ``sum q_i q_j``
multiply-adds instead of ``n P^2`` (``(11, 21) s=(2, 1)``: 2.9e3 against 5.2e4). With a metric
``C`` the dense ``(C J)^T (C J)`` is formed. Linear systems: Gaussian elimination with partial
pivoting (the damped matrix is positive definite).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lcn import _numba
from lcn._numba import jit

__all__ = ["available", "lm_run", "products", "solve_dense"]

_njit = jit(error_model="numpy")


def available() -> bool:
    """Whether the compiled solver can run (numba imports)."""
    return _numba.available()


@_njit
def products(th: Any, ks: Any, Ss: Any, offs: Any, n: int, mu: Any, Q: Any,
              pre: Any, suf: Any) -> None:
    """``mu`` of the parameters ``th`` and the products ``Q[i, :q_i]`` of all layers but
    ``i`` (``pre``/``suf``: scratch ``(L + 1, n)``)."""
    L = ks.shape[0]
    pre[0, 0] = 1.0
    ln = 1
    for i in range(L):
        k, S, o = ks[i], Ss[i], offs[i]
        nn = ln + (k - 1) * S
        for t in range(nn):
            pre[i + 1, t] = 0.0
        for j in range(k):
            wj = th[o + j]
            for t in range(ln):
                pre[i + 1, t + j * S] += wj * pre[i, t]
        ln = nn
    for t in range(n):
        mu[t] = pre[L, t]
    suf[L, 0] = 1.0
    ln = 1
    for i in range(L - 1, -1, -1):
        k, S, o = ks[i], Ss[i], offs[i]
        nn = ln + (k - 1) * S
        for t in range(nn):
            suf[i, t] = 0.0
        for j in range(k):
            wj = th[o + j]
            for t in range(ln):
                suf[i, t + j * S] += wj * suf[i + 1, t]
        ln = nn
    lp = 1
    for i in range(L):
        ls = n - (lp - 1) - (ks[i] - 1) * Ss[i]  # length of suf[i + 1]
        q = lp + ls - 1
        for t in range(q):
            Q[i, t] = 0.0
        for a in range(lp):
            pa = pre[i, a]
            for b in range(ls):
                Q[i, a + b] += pa * suf[i + 1, b]
        lp = lp + (ks[i] - 1) * Ss[i]


@_njit
def _residual(mu: Any, f: Any, C: Any, r: Any, d: Any) -> float:
    """``r = C (mu - f)`` (``C`` empty: the identity) and its squared norm."""
    n = f.shape[0]
    for t in range(n):
        d[t] = mu[t] - f[t]
    if C.shape[0] == 0:
        for t in range(n):
            r[t] = d[t]
    else:
        for t in range(n):
            s = 0.0
            for u in range(n):
                s += C[t, u] * d[u]
            r[t] = s
    c = 0.0
    for t in range(n):
        c += r[t] * r[t]
    return c


@_njit
def _normal(ks: Any, Ss: Any, offs: Any, n: int, Q: Any, C: Any, r: Any, A: Any, g: Any,
            Jd: Any, corr: Any) -> float:
    """``A = J^T J``, ``g = J^T r`` for ``J = C d mu`` (structured without a metric, see the
    module docstring); returns ``||J||_F``."""
    L = ks.shape[0]
    P = A.shape[0]
    if C.shape[0] == 0:
        jn2 = 0.0
        for i in range(L):
            qi = n - (ks[i] - 1) * Ss[i]
            s = 0.0
            for t in range(qi):
                s += Q[i, t] * Q[i, t]
            jn2 += ks[i] * s
            for a in range(ks[i]):
                sh = a * Ss[i]
                s = 0.0
                for t in range(qi):
                    s += Q[i, t] * r[t + sh]
                g[offs[i] + a] = s
        for i in range(L):
            qi = n - (ks[i] - 1) * Ss[i]
            for j in range(i, L):
                qj = n - (ks[j] - 1) * Ss[j]
                # corr[lag + qj - 1] = sum_u Q_i[u] Q_j[u + lag], lag in (-qi, qj)
                for lag in range(-(qi - 1), qj):
                    s = 0.0
                    lo = max(0, -lag)
                    hi = min(qi, qj - lag)
                    for u in range(lo, hi):
                        s += Q[i, u] * Q[j, u + lag]
                    corr[lag + qi - 1] = s
                for a in range(ks[i]):
                    for b in range(ks[j]):
                        lag = a * Ss[i] - b * Ss[j]
                        v = corr[lag + qi - 1] if -(qi - 1) <= lag < qj else 0.0
                        A[offs[i] + a, offs[j] + b] = v
                        A[offs[j] + b, offs[i] + a] = v
        return math.sqrt(jn2)
    # with a metric: the dense C J
    for t in range(n):
        for p in range(P):
            Jd[t, p] = 0.0
    for i in range(L):
        qi = n - (ks[i] - 1) * Ss[i]
        for a in range(ks[i]):
            col = offs[i] + a
            for t in range(n):
                s = 0.0
                for u in range(qi):
                    s += C[t, u + a * Ss[i]] * Q[i, u]
                Jd[t, col] = s
    jn2 = 0.0
    for p in range(P):
        s = 0.0
        for t in range(n):
            s += Jd[t, p] * r[t]
            jn2 += Jd[t, p] * Jd[t, p]
        g[p] = s
        for p2 in range(p, P):
            s = 0.0
            for t in range(n):
                s += Jd[t, p] * Jd[t, p2]
            A[p, p2] = s
            A[p2, p] = s
    return math.sqrt(jn2)


@_njit
def _balance(th: Any, ks: Any, offs: Any) -> None:
    """Rescale the layers to equal norms (same ``mu``), in place."""
    L = ks.shape[0]
    if L == 1:
        return
    lg = 0.0
    for i in range(L):
        s = 0.0
        for j in range(ks[i]):
            s += th[offs[i] + j] ** 2
        if s == 0.0:
            return
        lg += 0.5 * math.log(s)
    lg /= L
    for i in range(L):
        s = 0.0
        for j in range(ks[i]):
            s += th[offs[i] + j] ** 2
        fac = math.exp(lg) / math.sqrt(s)
        for j in range(ks[i]):
            th[offs[i] + j] *= fac


@_njit
def solve_dense(M: Any, b: Any, LU: Any, out: Any) -> bool:
    """``out = M^{-1} b`` by Gaussian elimination with partial pivoting (``LU``: scratch of
    ``M``'s shape); ``False`` for an exactly zero or NaN pivot."""
    P = b.shape[0]
    for i in range(P):
        out[i] = b[i]
        for j in range(P):
            LU[i, j] = M[i, j]
    for c in range(P):
        p = c
        best = abs(LU[c, c])
        for i in range(c + 1, P):
            if abs(LU[i, c]) > best:
                best, p = abs(LU[i, c]), i
        if best == 0.0 or not best == best:
            return False
        if p != c:
            for j in range(P):
                LU[c, j], LU[p, j] = LU[p, j], LU[c, j]
            out[c], out[p] = out[p], out[c]
        for i in range(c + 1, P):
            fct = LU[i, c] / LU[c, c]
            if fct != 0.0:
                for j in range(c + 1, P):
                    LU[i, j] -= fct * LU[c, j]
                out[i] -= fct * out[c]
    for c in range(P - 1, -1, -1):
        s = out[c]
        for j in range(c + 1, P):
            s -= LU[c, j] * out[j]
        out[c] = s / LU[c, c]
    return True


@_njit
def lm_run(theta: Any, ks: Any, Ss: Any, offs: Any, n: int, f: Any, C: Any, max_iter: int,
           ftol: float, gtol: float, prune: bool, cost: Any) -> None:
    """:func:`.lm.levenberg_marquardt` on the rows of ``theta`` ``(B, P)`` (balanced and
    updated in place; final costs into ``cost``); ``C`` ``(0, 0)`` for no metric."""
    B, P = theta.shape
    L = ks.shape[0]
    mu = np.empty(n)
    d = np.empty(n)
    Q = np.empty((L, n))
    pre = np.empty((L + 1, n))
    suf = np.empty((L + 1, n))
    corr = np.empty(2 * n)
    Jd = np.empty((n, P))
    LU = np.empty((P, P))
    Ad = np.empty((P, P))
    step = np.empty(P)
    th_new = np.empty(P)
    r_new = np.empty(n)
    R = np.empty((B, n))
    A = np.empty((B, P, P))
    g = np.empty((B, P))
    gn = np.empty(B)
    jn = np.empty(B)
    lam = np.full(B, 1e-3)
    nu = np.full(B, 2.0)
    active = np.empty(B, np.bool_)
    hist = np.empty((max_iter + 2, B))
    fn = 0.0
    if C.shape[0] == 0:
        for t in range(n):
            fn += f[t] * f[t]
    else:
        for t in range(n):
            s = 0.0
            for u in range(n):
                s += C[t, u] * f[u]
            fn += s * s
    fn = math.sqrt(fn)
    floor = (1e-16 * max(1.0, fn)) ** 2
    for b in range(B):
        _balance(theta[b], ks, offs)
        products(theta[b], ks, Ss, offs, n, mu, Q, pre, suf)
        cost[b] = _residual(mu, f, C, R[b], d)
        jn[b] = _normal(ks, Ss, offs, n, Q, C, R[b], A[b], g[b], Jd, corr)
        active[b] = cost[b] > floor
        hist[0, b] = cost[b]
    nh = 1
    for it in range(max_iter):
        if prune and it >= 10 and it % 5 == 0:
            old = hist[nh - 5] if nh >= 5 else hist[0]
            best = np.inf
            for b in range(B):
                best = min(best, cost[b])
            for b in range(B):
                if cost[b] > 1e4 * best + floor and cost[b] > 0.5 * old[b]:
                    active[b] = False
        for b in range(B):
            hist[nh, b] = cost[b]
        nh += 1
        any_active = False
        for b in range(B):
            if not active[b]:
                continue
            any_active = True
            Ab, gb = A[b], g[b]
            dmax = 0.0
            for p in range(P):
                dmax = max(dmax, Ab[p, p])
            for p in range(P):
                for q in range(P):
                    Ad[p, q] = Ab[p, q]
                Ad[p, p] += lam[b] * (Ab[p, p] + 1e-10 * dmax + 1e-300)
            if not solve_dense(Ad, gb, LU, step):
                active[b] = False  # the NumPy solver falls back to least squares here
                continue
            for p in range(P):
                step[p] = -step[p]
            pred = 0.0
            for p in range(P):
                s = 0.0
                for q in range(P):
                    s += Ab[p, q] * step[q]
                pred -= 2 * step[p] * gb[p] + step[p] * s
            for p in range(P):
                th_new[p] = theta[b, p] + step[p]
            products(th_new, ks, Ss, offs, n, mu, Q, pre, suf)
            c_new = _residual(mu, f, C, r_new, d)
            if c_new < cost[b]:
                rho = (cost[b] - c_new) / max(pred, 1e-300)
                _balance(th_new, ks, offs)
                products(th_new, ks, Ss, offs, n, mu, Q, pre, suf)
                c_acc = _residual(mu, f, C, R[b], d)
                jn[b] = _normal(ks, Ss, offs, n, Q, C, R[b], A[b], g[b], Jd, corr)
                dec = cost[b] - c_acc
                sn, tn = 0.0, 0.0
                for p in range(P):
                    sn += step[p] ** 2
                    tn += theta[b, p] ** 2
                small = math.sqrt(sn) <= 1e-15 * (1.0 + math.sqrt(tn))
                old_cost = cost[b]
                for p in range(P):
                    theta[b, p] = th_new[p]
                cost[b] = c_acc
                lam[b] = max(lam[b] * max(1 / 3, 1 - (2 * min(rho, 1.0) - 1) ** 3), 1e-15)
                nu[b] = 2.0
                s = 0.0
                for p in range(P):
                    s += g[b, p] ** 2
                gn[b] = math.sqrt(s)
                stationary = gn[b] <= jn[b] * (gtol * math.sqrt(c_acc) + 1e-14 * fn)
                stalled = dec <= ftol * max(old_cost, floor) and lam[b] <= 1e-4
                if stationary or stalled or c_acc <= floor or small:
                    active[b] = False
            else:
                lam[b] *= nu[b]
                nu[b] *= 2.0
                if lam[b] > 1e16:
                    active[b] = False
        if not any_active:
            break
