"""Batched Levenberg-Marquardt in the layer filters: minimizes ``||C (mu(theta_b) - f)||^2``
for many starting points ``theta_b`` at once (the core solver of :func:`nearest`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from lcn.geometry.numerical import lm_kernel
from lcn.geometry.numerical.model import BatchModel

FloatArray = NDArray[np.float64]


def levenberg_marquardt(
    model: BatchModel,
    theta: FloatArray,
    f: FloatArray,
    C: FloatArray | None,
    max_iter: int = 400,
    ftol: float = 1e-15,
    gtol: float = 1e-13,
    prune: bool = True,
    compiled: bool | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Minimize ``||C (mu(theta_b) - f)||^2`` for every start ``b``: Levenberg-Marquardt with
    Marquardt scaling and Nielsen's gain-ratio damping update, per start, batched; the layers
    are rebalanced after every accepted step. Returns the final parameters and costs.

    ``compiled``: run the compiled solver (:mod:`.lm_kernel`, the same algorithm; default:
    when numba is available) or the batched NumPy one (the fallback, and the tests'
    reference)."""
    if compiled is None:
        compiled = lm_kernel.available()
    if compiled:
        th = np.array(theta, dtype=np.float64, order="C", copy=True)
        cost = np.empty(th.shape[0])
        Cm = np.zeros((0, 0)) if C is None else np.ascontiguousarray(C, dtype=np.float64)
        lm_kernel.lm_run(th, np.array(model.ks, np.int64), np.array(model.Ss, np.int64),
                         np.array(model.offsets, np.int64), model.n,
                         np.ascontiguousarray(f, dtype=np.float64), Cm, max_iter, ftol, gtol,
                         prune, cost)
        return th, cost
    st = _LM(model, f, C, model.balance(np.array(theta, dtype=np.float64)))
    history = [st.cost.copy()]
    for it in range(max_iter):
        if prune and it >= 10 and it % 5 == 0:
            # drop starts that are far above the best and barely moving: with a near-member
            # target the good start reaches the noise level in a few steps while starts in
            # wrong basins creep along for hundreds
            old = history[-5] if len(history) >= 5 else history[0]
            best = float(np.min(st.cost))
            st.active &= ~((st.cost > 1e4 * best + st.floor) & (st.cost > 0.5 * old))
        history.append(st.cost.copy())
        idx = np.flatnonzero(st.active)
        if idx.size == 0:
            break
        step, pred = st.damped_step(idx)
        th_new = st.theta[idx] + step
        r_new = st.resid(th_new)
        c_new = np.einsum("bn,bn->b", r_new, r_new)
        ok = c_new < st.cost[idx]
        if np.any(ok):
            st.accept(idx[ok], th_new[ok], step[ok], c_new[ok], pred[ok], ftol, gtol)
        rej = idx[~ok]
        if rej.size:
            st.lam[rej] *= st.nu[rej]
            st.nu[rej] *= 2.0
            st.active[rej[st.lam[rej] > 1e16]] = False
    return st.theta, st.cost


class _LM:
    """The state of a batched Levenberg-Marquardt run: parameters, residuals, Jacobians,
    costs, damping ``lam`` and its growth factor ``nu``, and which starts are still active."""

    def __init__(self, model: BatchModel, f: FloatArray, C: FloatArray | None,
                 theta: FloatArray) -> None:
        self.model, self.f, self.C = model, f, C
        B = theta.shape[0]
        self.theta = theta
        self.r, self.J = self.resid_jac(theta)
        self.cost = np.einsum("bn,bn->b", self.r, self.r)
        self.lam = np.full(B, 1e-3)
        self.nu = np.full(B, 2.0)
        self.fnorm = float(np.linalg.norm(f if C is None else C @ f))
        self.floor = (1e-16 * max(1.0, self.fnorm)) ** 2
        self.active = self.cost > self.floor

    def resid(self, th: FloatArray) -> FloatArray:
        d = self.model.mu(th) - self.f
        return d if self.C is None else d @ self.C.T

    def resid_jac(self, th: FloatArray) -> tuple[FloatArray, FloatArray]:
        m, J = self.model.mu_jac(th)
        d = m - self.f
        if self.C is not None:
            return d @ self.C.T, np.matmul(self.C, J)
        return d, J

    def damped_step(self, idx: NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        """The Marquardt-scaled damped Gauss-Newton step of the starts ``idx`` and the
        decrease ``-(2 h.g + h.A.h)`` the quadratic model predicts for it."""
        Ja, ra = self.J[idx], self.r[idx]
        JT = Ja.transpose(0, 2, 1)
        A = JT @ Ja
        g = np.einsum("bpn,bn->bp", JT, ra)
        diag = np.arange(A.shape[1])
        dA = A[:, diag, diag]
        scale = dA + 1e-10 * dA.max(axis=1, keepdims=True) + 1e-300
        Ad = A.copy()
        Ad[:, diag, diag] += self.lam[idx, None] * scale
        try:
            step = -np.linalg.solve(Ad, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.stack([np.linalg.lstsq(a, b, rcond=None)[0]
                              for a, b in zip(Ad, g, strict=True)])
        pred = -(2 * np.einsum("bp,bp->b", step, g) + np.einsum("bp,bpq,bq->b", step, A, step))
        return step, pred

    def accept(self, acc: NDArray[np.int64], th_new: FloatArray, step: FloatArray,
               c_new: FloatArray, pred: FloatArray, ftol: float, gtol: float) -> None:
        """Take the steps that lowered the cost (rebalanced), update the damping by the gain
        ratio, and retire the starts that have converged."""
        rho = (self.cost[acc] - c_new) / np.maximum(pred, 1e-300)
        th_acc = self.model.balance(th_new)
        r_acc, J_acc = self.resid_jac(th_acc)
        c_acc = np.einsum("bn,bn->b", r_acc, r_acc)
        dec = self.cost[acc] - c_acc
        small_step = np.linalg.norm(step, axis=1) <= 1e-15 * (
            1.0 + np.linalg.norm(self.theta[acc], axis=1))
        self.theta[acc], self.r[acc], self.J[acc], self.cost[acc] = th_acc, r_acc, J_acc, c_acc
        self.lam[acc] = np.maximum(
            self.lam[acc] * np.maximum(1 / 3, 1 - (2 * np.minimum(rho, 1.0) - 1) ** 3), 1e-15)
        self.nu[acc] = 2.0
        # stationarity: the residual is orthogonal to the columns of J (cosine test); a
        # vanishing decrease counts only with small damping (heavily damped steps decrease
        # little far from a minimum too). The residual carries roundoff of order eps ||f||,
        # so its direction is only known to that accuracy.
        gnorm = np.linalg.norm(np.einsum("bnp,bn->bp", J_acc, r_acc), axis=1)
        jnorm = np.sqrt(np.einsum("bnp,bnp->b", J_acc, J_acc))
        stationary = gnorm <= jnorm * (gtol * np.sqrt(c_acc) + 1e-14 * self.fnorm)
        stalled = (dec <= ftol * np.maximum(self.cost[acc] + dec, self.floor)) & (
            self.lam[acc] <= 1e-4)
        done = stationary | stalled | (c_acc <= self.floor) | small_step
        self.active[acc[done]] = False


def grad_norm(model: BatchModel, theta: FloatArray, f: FloatArray, C: FloatArray | None
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

