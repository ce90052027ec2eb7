"""The compiled CPU kernel of the fused gradient-descent step (MATH.md 2, 8).

The same step as :mod:`lcn.training.fused` (the end-to-end filter by upsample-multiply, the
closed-form gradient ``grad = d mu^T 2 G (mu - u)``, the fixed or backtracking update, the tie
projection), compiled with numba into one loop per block of runs. Why a compiled kernel: a
run-step of ``k=(3,3,3) s=(2,2,1)`` is a few hundred flops, so the torch step, even fused and
compiled, spends most of its time in dispatch and in reading and writing intermediates of
``(taps, runs)`` shape to memory. Here the runs of a chunk of :data:`CHUNK` runs do all their
steps with every intermediate in L1 cache, and each tap-loop is an inner loop over the chunk's
runs, which LLVM turns into SIMD instructions.

Layout: the caller's arrays are ``(runs, taps)`` (the trainer's own layout; shared data has one
run); each chunk is copied into chunk-local ``(taps, CHUNK)`` arrays, does its steps there and
is copied back, so no transposed copy of all runs is ever made. The kernels release the GIL, so
several threads share the runs (:func:`descend_steps`).

numba is optional: :func:`available` says whether it imports (``pip install numba``), and the
trainer falls back to the torch step otherwise. The first call compiles (about 13 s per dtype on
this project's 2-core machine), and numba caches the machine code on disk (later processes load
it in under a second).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np

from lcn import _numba
from lcn._numba import jit

__all__ = ["CHUNK", "available", "descend_steps"]

#: Runs per inner chunk: long enough inner loops for SIMD (CHUNK / 4 AVX2 vectors a row)
#: while the chunk's state and intermediates (about 100 rows for ``k=(3,3,3)``) stay in L2;
#: measured 64 and 128 best of 16-256 on this project's machine.
CHUNK = 128


# without numba the trainer uses the torch step instead (available() is False)
_njit = jit(fastmath={"contract"})


C = CHUNK

# Every innermost loop runs over the runs of a chunk, ``for r in range(nc)``, with the bare
# loop index into chunk-local arrays. Two things measured to stop LLVM from vectorizing: an
# index like ``r0 + r`` (numba then checks for a negative index element by element), and a
# compile-time trip count (``range(C)``: the loop is unrolled, and the unrolled statements
# cannot get the run-time alias checks the loop vectorizer adds). ``nc`` is read from an
# array's shape, so it is a run-time value.

@_njit
def forward(th: Any, k: Any, S: Any, toff: Any, aoff: Any, acc: Any) -> int:
    """The partial products ``acc_0 = w_0``, ``acc_i = acc_{i-1} * pi_{S_i}(w_i)`` of the chunk
    ``th (P, C)`` into the rows ``aoff[i] ..`` of ``acc``; returns ``d + 1``."""
    L = k.shape[0]
    nc = th.shape[1]
    for a in range(k[0]):
        for r in range(nc):
            acc[a, r] = th[a, r]
    n = k[0]
    for i in range(1, L):
        o_prev, o = aoff[i - 1], aoff[i]
        nn = n + S[i] * (k[i] - 1)
        for a in range(nn):
            for r in range(nc):
                acc[o + a, r] = 0.0
        for j in range(k[i]):
            row = toff[i] + j
            sh = o + j * S[i]
            for a in range(n):
                for r in range(nc):
                    acc[sh + a, r] += th[row, r] * acc[o_prev + a, r]
        n = nn
    return n


@_njit
def rel_grad(th: Any, grad: Any, ul: Any, Gnl: Any, k: Any, S: Any, toff: Any, aoff: Any,
             acc: Any, tmp: Any, out: Any) -> None:
    """``||grad L|| / (2 ||G|| ||d mu||_F (||mu|| + ||u||))`` per run of the chunk (the
    measure of :func:`lcn.training.relative_gradient_norm`), with ``||d mu||_F^2 = sum_i k_i
    ||prod_{l != i} pi_{S_l}(w_l)||^2``: replacing ``w_i`` by the unit vector ``e_j`` gives
    that product times ``x^{j S_i}``, whose norm does not depend on ``j`` (MATH.md 2)."""
    L = k.shape[0]
    P = th.shape[0]
    nc = th.shape[1]
    o = aoff[L - 1]
    m = forward(th, k, S, toff, aoff, acc)
    for r in range(nc):
        out[r] = 0.0  # ||mu||^2, then the denominator
    for a in range(m):
        for r in range(nc):
            out[r] += acc[o + a, r] * acc[o + a, r]
    for r in range(nc):
        un = 0.0
        for a in range(m):
            un += ul[a, r] * ul[a, r]
        out[r] = np.sqrt(out[r]) + np.sqrt(un)
    fro = np.zeros(nc, th.dtype)
    for i in range(L):
        for p in range(P):
            for r in range(nc):
                tmp[p, r] = th[p, r]
        for p in range(toff[i], toff[i + 1]):
            for r in range(nc):
                tmp[p, r] = 1.0 if p == toff[i] else 0.0
        forward(tmp, k, S, toff, aoff, acc)
        for a in range(m):
            for r in range(nc):
                fro[r] += k[i] * acc[o + a, r] * acc[o + a, r]
    for r in range(nc):
        g2 = 0.0
        for p in range(P):
            g2 += grad[p, r] * grad[p, r]
        den = 2.0 * Gnl[r] * np.sqrt(fro[r]) * out[r]
        out[r] = np.sqrt(g2) / max(den, 1e-300)


@_njit
def value_grad(th: Any, G: Any, ul: Any, cl: Any, shared: bool, k: Any, S: Any,
               toff: Any, aoff: Any, acc: Any, gb: Any, gb2: Any, grad: Any, Gr: Any,
               lossv: Any) -> None:
    """Loss, gradient and ``G (mu - u)`` of the chunk ``th (P, C)`` (``G (m, m, 1)``
    shared or ``(m, m, C)`` the chunk's own)."""
    L = k.shape[0]
    nc = th.shape[1]
    n = forward(th, k, S, toff, aoff, acc)
    m = n
    o = aoff[L - 1]
    # residual (into gb2), G r, loss, gbar = 2 G r
    for a in range(m):
        for r in range(nc):
            gb2[a, r] = acc[o + a, r] - ul[a, r]
    if shared:
        # four columns of G per pass: a quarter of the loads and stores of Gr
        m4 = m - m % 4
        for a in range(m):
            for r in range(nc):
                Gr[a, r] = 0.0
            for b in range(0, m4, 4):
                g0, g1, g2, g3 = G[a, b, 0], G[a, b + 1, 0], G[a, b + 2, 0], G[a, b + 3, 0]
                for r in range(nc):
                    Gr[a, r] += (g0 * gb2[b, r] + g1 * gb2[b + 1, r]
                                 + g2 * gb2[b + 2, r] + g3 * gb2[b + 3, r])
            for b in range(m4, m):
                g0 = G[a, b, 0]
                for r in range(nc):
                    Gr[a, r] += g0 * gb2[b, r]
    else:
        for a in range(m):
            for r in range(nc):
                Gr[a, r] = 0.0
            for b in range(m):
                for r in range(nc):
                    Gr[a, r] += G[a, b, r] * gb2[b, r]
    for r in range(nc):
        lossv[r] = cl[r]
    for a in range(m):
        for r in range(nc):
            lossv[r] += gb2[a, r] * Gr[a, r]
            gb[a, r] = 2.0 * Gr[a, r]
    # backward: grad w_i[j] = <acc_{i-1}, gbar[j S_i :]>, gbar <- sum_j w_i[j] gbar[j S_i:]
    for i in range(L - 1, 0, -1):
        o_prev = aoff[i - 1]
        n = m - S[i] * (k[i] - 1)
        for j in range(k[i]):
            row = toff[i] + j
            sh = j * S[i]
            for r in range(nc):
                grad[row, r] = 0.0
            for a in range(n):
                for r in range(nc):
                    grad[row, r] += acc[o_prev + a, r] * gb[sh + a, r]
        for a in range(n):
            for r in range(nc):
                gb2[a, r] = 0.0
        for j in range(k[i]):
            row = toff[i] + j
            sh = j * S[i]
            for a in range(n):
                for r in range(nc):
                    gb2[a, r] += th[row, r] * gb[sh + a, r]
        for a in range(n):
            for r in range(nc):
                gb[a, r] = gb2[a, r]
        m = n
    for a in range(k[0]):
        for r in range(nc):
            grad[a, r] = gb[a, r]

@_njit
def project(th: Any, tie: Any, tmp: Any) -> None:
    """``th[p] <- th[tie[p]]`` (the tie projection; no-op for an empty ``tie``)."""
    P = tie.shape[0]
    nc = th.shape[1]
    if P == 0:
        return
    for p in range(P):
        q = tie[p]
        for r in range(nc):
            tmp[p, r] = th[q, r]
    for p in range(P):
        for r in range(nc):
            th[p, r] = tmp[p, r]


@_njit
def block(th: Any, lossv: Any, grad: Any, Gr: Any, eta: Any, active: Any, lr: Any,
          fixed: bool, G: Any, u: Any, c: Any, Gnorm: Any, shared: bool, k: Any, S: Any,
          tie: Any, steps: int, init: bool, rel: Any, lo: int, hi: int, nacc: int) -> None:
    """``steps`` descent steps of runs ``lo .. hi``, chunk by chunk, in place (``init``:
    first compute the state ``lossv, grad, Gr`` at ``th``)."""
    L = k.shape[0]
    P = th.shape[1]
    m = Gr.shape[1]
    dt = th.dtype
    toff = np.zeros(L + 1, np.int64)
    for i in range(L):
        toff[i + 1] = toff[i] + k[i]
    aoff = np.zeros(L, np.int64)
    n = k[0]
    for i in range(1, L):
        aoff[i] = aoff[i - 1] + n
        n = n + S[i] * (k[i] - 1)
    acc = np.zeros((nacc, C), dt)
    gb = np.zeros((m, C), dt)
    gb2 = np.zeros((m, C), dt)
    tmp = np.zeros((P, C), dt)
    # the chunk's state and data (padding columns repeat the chunk's first run)
    tl = np.zeros((P, C), dt)
    gl = np.zeros((P, C), dt)
    Grl = np.zeros((m, C), dt)
    ll = np.zeros(C, dt)
    cand = np.zeros((P, C), dt)
    gc = np.zeros((P, C), dt)
    Grc = np.zeros((m, C), dt)
    lc = np.zeros(C, dt)
    ul = np.zeros((m, C), dt)
    cl = np.zeros(C, dt)
    Gnl = np.zeros(C, dt)
    step = np.zeros(C, dt)
    prod = np.zeros(C, dt)
    s1 = np.zeros(C, dt)
    s2 = np.zeros(C, dt)
    q1 = np.zeros(C, dt)
    q2 = np.zeros(C, dt)
    ok = np.zeros(C, np.bool_)
    el = np.zeros(C, dt)
    al = np.zeros(C, dt)
    Gl = np.zeros((m, m, 1 if shared else C), dt)
    nc = tl.shape[1]  # a run-time value, see above
    if shared:
        # element loops, not ``Gl[:, :, 0] = G[0]``: numba's slice assignment brings its
        # shape-mismatch error formatting, 5 s of first-run compile time
        for a in range(m):
            for b in range(m):
                Gl[a, b, 0] = G[0, a, b]
    for r0 in range(lo, hi, C):
        nb = min(C, hi - r0)
        live = False
        for r in range(nc):
            q = r0 + (r if r < nb else 0)
            d = 0 if shared else q
            for p in range(P):
                tl[p, r] = th[q, p]
                gl[p, r] = grad[q, p]
            for a in range(m):
                Grl[a, r] = Gr[q, a]
                ul[a, r] = u[d, a]
            ll[r] = lossv[q]
            cl[r] = c[d]
            Gnl[r] = Gnorm[d]
            el[r] = eta[q]
            # the fixed step (or 0 for a frozen run); 1 / 0 marks active in the auto rule
            al[r] = (lr[q] if fixed else 1.0) if active[q] and r < nb else 0.0
            live = live or al[r] != 0.0
            if not shared:
                for a in range(m):
                    for b in range(m):
                        Gl[a, b, r] = G[q, a, b]
        if init:
            value_grad(tl, Gl, ul, cl, shared, k, S, toff, aoff, acc, gb, gb2, gl, Grl, ll)
        # a chunk with no active run would not change (its steps are 0)
        for _ in range(steps if live else 0):
            if fixed:
                for p in range(P):
                    for r in range(nc):
                        tl[p, r] -= al[r] * gl[p, r]
                project(tl, tie, tmp)
                value_grad(tl, Gl, ul, cl, shared, k, S, toff, aoff, acc, gb, gb2, gl, Grl,
                           ll)
                continue
            # the step eta / Lhat of Engine.lipschitz, then backtracking on the loss
            for r in range(nc):
                prod[r] = 1.0
                s1[r] = 0.0
                s2[r] = 0.0
                q2[r] = 0.0
            for i in range(L):
                for r in range(nc):
                    q1[r] = 0.0
                for p in range(toff[i], toff[i + 1]):
                    for r in range(nc):
                        q1[r] += tl[p, r] * tl[p, r]
                for r in range(nc):
                    ni = max(np.sqrt(q1[r]), 1e-150)
                    prod[r] *= ni
                    s1[r] += 1.0 / ni
                    s2[r] += 1.0 / (ni * ni)
            for a in range(m):
                for r in range(nc):
                    q2[r] += Grl[a, r] * Grl[a, r]
            for r in range(nc):
                lip = (2.0 * Gnl[r] * prod[r] * prod[r] * s2[r]
                       + 2.0 * np.sqrt(q2[r]) * prod[r] * (s1[r] * s1[r] - s2[r]))
                step[r] = el[r] / lip * al[r]
            for p in range(P):
                for r in range(nc):
                    cand[p, r] = tl[p, r] - step[r] * gl[p, r]
            project(cand, tie, tmp)
            value_grad(cand, Gl, ul, cl, shared, k, S, toff, aoff, acc, gb, gb2, gc, Grc,
                       lc)
            for r in range(nc):
                ok[r] = np.isfinite(lc[r]) and lc[r] <= ll[r]
                ll[r] = lc[r] if ok[r] else ll[r]
                el[r] = el[r] if ok[r] or al[r] == 0.0 else 0.5 * el[r]
            for p in range(P):
                for r in range(nc):
                    tl[p, r] = cand[p, r] if ok[r] else tl[p, r]
                    gl[p, r] = gc[p, r] if ok[r] else gl[p, r]
            for a in range(m):
                for r in range(nc):
                    Grl[a, r] = Grc[a, r] if ok[r] else Grl[a, r]
        if rel.shape[0] > 0:
            rel_grad(tl, gl, ul, Gnl, k, S, toff, aoff, acc, tmp, step)
        for r in range(nb):
            q = r0 + r
            if rel.shape[0] > 0:
                rel[q] = step[r]
            for p in range(P):
                th[q, p] = tl[p, r]
                grad[q, p] = gl[p, r]
            for a in range(m):
                Gr[q, a] = Grl[a, r]
            lossv[q] = ll[r]
            eta[q] = el[r]


def available() -> bool:
    """Whether the compiled kernel can run (numba imports)."""
    return _numba.available()


@cache
def _pool(n: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(n, thread_name_prefix="lcn-kernel")


def descend_steps(
    th: np.ndarray, lossv: np.ndarray, grad: np.ndarray, Gr: np.ndarray, eta: np.ndarray,
    active: np.ndarray, lr: np.ndarray | None, G: np.ndarray, u: np.ndarray, c: np.ndarray,
    Gnorm: np.ndarray, k: tuple[int, ...], S: tuple[int, ...], tie: np.ndarray | None,
    steps: int, *, init: bool = False, rel: np.ndarray | None = None, threads: int = 1,
) -> None:
    """``steps`` steps of the fused descent (:mod:`lcn.training.fused`), in place, for the
    ``R`` runs of ``th (R, P)``; the state is ``lossv (R,)``, ``grad (R, P)``, ``Gr (R, m)``
    (``G (mu - u)``) and ``eta (R,)``, with ``init`` computed at ``th`` first. ``active
    (R,)`` bool: runs that step (the others keep their state). ``lr (R,)``: fixed steps;
    ``None``: the automatic step ``eta / Lhat`` with backtracking. The data ``G (Rd, m, m)``,
    ``u (Rd, m)``, ``c (Rd,)``, ``Gnorm (Rd,)`` have ``Rd = R`` (per run) or ``Rd = 1``
    (shared). ``tie (P,)``: the projection ``theta[p] <- theta[tie[p]]`` after every update.
    ``rel (R,)``: if given, receives the relative gradient norm of every run after the steps
    (:func:`lcn.training.relative_gradient_norm`). All arrays C-contiguous, of one float dtype;
    ``threads`` threads share the runs."""
    if not _numba.available():
        raise RuntimeError("the compiled kernel needs numba (pip install numba)")
    R = th.shape[0]
    shared = G.shape[0] == 1  # (a single run's own data is indexed the same way)
    fixed = lr is not None
    lr_a = lr if lr is not None else eta
    tie_a = tie if tie is not None else np.zeros(0, np.int64)
    rel_a = rel if rel is not None else np.zeros(0, th.dtype)
    k_a = np.asarray(k, np.int64)
    S_a = np.asarray(S, np.int64)
    n = nacc = k[0]  # rows of all partial products
    for ki, Si in zip(k[1:], S[1:], strict=True):
        n += Si * (ki - 1)
        nacc += n

    def part(lo: int, hi: int) -> None:
        block(th, lossv, grad, Gr, eta, active, lr_a, fixed, G, u, c, Gnorm, shared, k_a,
              S_a, tie_a, steps, init, rel_a, lo, hi, nacc)

    if threads <= 1 or R < 2 * CHUNK:
        part(0, R)
        return
    cuts = np.linspace(0, -(-R // CHUNK), threads + 1).astype(int) * CHUNK
    cuts[-1] = R
    futs = [_pool(threads).submit(part, int(a), int(b))
            for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    for f in futs:
        f.result()
