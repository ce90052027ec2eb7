"""The compiled kernel of the batched end-to-end filter ``mu`` (MATH.md 2), for large float
batches.

``mu(w) = pi_{S_L}(w_L) ... pi_{S_1}(w_1)`` by upsample-multiply: tap ``j`` of layer ``i`` adds
``w_i[j] acc`` shifted by ``j S_i``. A chunk of :data:`CHUNK` rows is copied into chunk-local
``(taps, CHUNK)`` arrays, so that every multiply-add is an inner loop over the chunk's rows
(SIMD) and every partial product stays in L1 cache; the NumPy tap loop instead streams each
partial product through memory once per tap. The rows are read from the caller's ``(B, k_i)``
arrays and the result is written in ``(B, d+1)`` C order, so no layout conversion is paid
outside the kernel.

numba is imported, and the kernel compiled (or loaded from numba's on-disk cache), on first
use only, so ``import lcn`` stays light; :func:`compiled` is ``None`` without numba and the
NumPy tap loop of :mod:`lcn.parametrization` runs instead.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

__all__ = ["CHUNK", "compiled"]

#: Rows per chunk (measured best of 32-256 for ``k=(5,5,5)`` on this project's machine). A
#: compile-time constant: with the chunk arrays' row stride known to LLVM the kernel runs 2x
#: faster than with the same size passed at run time (measured on ``k=(4,4)`` and ``(5,5,5)``).
CHUNK = 64


def _mu_rows(fs: Any, k: Any, S: Any, out: Any, lo: int, hi: int) -> None:
    """``out[r] = mu(fs[0][r], ..., fs[L-1][r])`` for rows ``lo <= r < hi``."""
    L = k.shape[0]
    n_out = out.shape[1]
    kmax = 1
    for i in range(L):
        kmax = max(kmax, k[i])
    a = np.zeros((n_out, CHUNK))
    b = np.zeros((n_out, CHUNK))
    w = np.zeros((kmax, CHUNK))
    nc = a.shape[1]  # a run-time bound: the loops over it vectorize with alias checks
    for r0 in range(lo, hi, CHUNK):
        nb = min(CHUNK, hi - r0)
        # row views, so the copies index with bare loop variables (no negative-index checks)
        f = fs[0][r0 : r0 + nb]
        for t in range(k[0]):
            for r in range(nb):
                a[t, r] = f[r, t]
        n = k[0]
        for i in range(1, L):
            f = fs[i][r0 : r0 + nb]
            for j in range(k[i]):
                for r in range(nb):
                    w[j, r] = f[r, j]
            nn = n + S[i] * (k[i] - 1)
            # tap 0 assigns (no zeroing pass under it); the others accumulate two rows of the
            # partial product per inner loop, which halves the loops' fixed costs
            for t in range(n):
                for r in range(nc):
                    b[t, r] = w[0, r] * a[t, r]
            for t in range(n, nn):
                for r in range(nc):
                    b[t, r] = 0.0
            n2 = n - n % 2
            for j in range(1, k[i]):
                sh = j * S[i]
                for t in range(0, n2, 2):
                    for r in range(nc):
                        b[sh + t, r] += w[j, r] * a[t, r]
                        b[sh + t + 1, r] += w[j, r] * a[t + 1, r]
                for t in range(n2, n):
                    for r in range(nc):
                        b[sh + t, r] += w[j, r] * a[t, r]
            a, b = b, a
            n = nn
        o = out[r0 : r0 + nb]
        if n >= 8:
            # contiguous stores, strided loads: 5.8x faster than the other order for 29 taps
            # (scattered stores stall), 1.4x slower for 5 taps
            for r in range(nb):
                for t in range(n):
                    o[r, t] = a[t, r]
        else:
            for t in range(n):
                for r in range(nb):
                    o[r, t] = a[t, r]


@cache
def compiled() -> Any:
    """The numba-compiled :func:`_mu_rows` (releases the GIL), or ``None`` without numba."""
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(cache=True, nogil=True, fastmath={"contract"})(_mu_rows)
