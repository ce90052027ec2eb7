"""Batched Levenberg-Marquardt in the layer filters: minimizes ``||C (mu(theta_b) - f)||^2``
for many starting points ``theta_b`` at once (the core solver of :func:`nearest`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

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

