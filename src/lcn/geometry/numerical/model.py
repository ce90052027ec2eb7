"""Batched ``mu`` and its closed-form Jacobian over many parameter vectors (MATH.md 2), for
the Levenberg-Marquardt solves of :mod:`lcn.geometry.numerical.nearest`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def upmul(acc: FloatArray, w: Any, S: int) -> Any:
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


class BatchModel:
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
            acc = upmul(acc, w, S)
        return acc

    def mu_jac(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        ws = self.split(theta)
        B = theta.shape[0]
        one = np.ones((B, 1))
        pre = [one]
        for w, S in zip(ws, self.Ss, strict=True):
            pre.append(upmul(pre[-1], w, S))
        suf = [one]
        for w, S in zip(reversed(ws), reversed(self.Ss), strict=True):
            suf.append(upmul(suf[-1], w, S))
        suf.reverse()  # suf[i] = product of layers i..L-1
        J = np.zeros((B, self.n, self.P))
        for i in range(self.L):
            Q = upmul(pre[i], suf[i + 1], 1)
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

