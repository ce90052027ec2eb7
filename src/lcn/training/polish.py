"""Second-order solvers on the batched engine: Levenberg-Marquardt on ``grad L = 0`` with the
gauge rows (the polish and the critical-point search) and a regularized Newton descent
(MATH.md 7, 8). Every iteration is a handful of batched small solves for all active runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lcn.architecture import Architecture
from lcn.training import polish_kernel
from lcn.training.engine import Engine

if TYPE_CHECKING:
    import torch

__all__ = ["lm_solve", "newton_descent", "strict_saddle"]


@dataclass(frozen=True)
class _Gauge:
    """Gauge rows ``gamma (q(w) - q0)`` of the LM residual (``q0=None``: none)."""

    q0: Any
    gamma: Any

    def residual(self, eng: Engine, th: Any) -> tuple[Any, Any, Any]:
        """``F = [grad L; gamma (q - q0)]``, ``grad L`` and ``v = mu(w)``."""
        torch = eng.torch
        _, g, v, _ = eng.value_grad(th)
        if self.q0 is None:
            return g, g, v
        q = eng.gauge_values(th)
        return torch.cat([g, self.gamma[:, None] * (q - self.q0)], dim=1), g, v

    def subset(self, idx: Any) -> _Gauge:
        return _Gauge(None if self.q0 is None else self.q0[idx], self.gamma[idx])

    def repeat(self, n: int) -> _Gauge:
        """The same rows for ``n`` stacked copies of the batch."""
        return _Gauge(None if self.q0 is None else self.q0.repeat(n, 1), self.gamma.repeat(n))


def _gauge_scale(eng: Engine, theta: torch.Tensor) -> torch.Tensor:
    """Scale of the gauge rows: match the Hessian's size at the start."""
    torch = eng.torch
    H0 = eng.hessian(theta)
    D0 = eng.gauge(theta)[1]
    gamma = torch.linalg.matrix_norm(H0) / torch.linalg.matrix_norm(D0).clamp_min(1e-300)
    return torch.where(torch.isfinite(gamma) & (gamma > 0), gamma, torch.ones_like(gamma))


def lm_solve(
    eng: Engine, theta: torch.Tensor, q0: torch.Tensor | None, max_iter: int, tol: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Levenberg-Marquardt on ``F(w) = [grad L(w); gamma (q(w) - q0)]`` (``q0 = None``: no
    gauge rows; the damping then picks a minimum-norm step along the orbits). For an LCN on
    the CPU in float64 the compiled version runs (:mod:`lcn.training.polish_kernel`, the same
    algorithm).

    A zero of ``F`` is a critical point of ``L`` of *any* index (this is Gauss-Newton on
    ``||F||^2``, not descent on ``L``); the gauge rows make the zero isolated for LCNs at
    points with all ``w_i != 0`` (dense networks keep an orthogonal-group freedom, which the
    damping handles). Iterates per run until ``rel_grad <= tol`` or ``max_iter``; converged
    runs leave the batch. Returns (theta, rel_grad, iterations).
    """
    torch = eng.torch
    arch = eng.model.arch
    if (polish_kernel.available() and theta.device.type == "cpu"
            and theta.dtype == torch.float64 and eng.model.lifts() is not None):
        assert isinstance(arch, Architecture)  # lifts() is not None: an LCN
        th, rel, it = polish_kernel.lm_solve(
            theta.numpy(), arch.k, arch.S, eng.G.numpy(), eng.u.numpy(), eng.Gnorm.numpy(),
            None if q0 is None else q0.numpy(), max_iter, tol)
        return torch.from_numpy(th), torch.from_numpy(rel), torch.from_numpy(it)
    return _lm_solve_torch(eng, theta, q0, max_iter, tol)


def _lm_solve_torch(
    eng: Engine, theta: torch.Tensor, q0: torch.Tensor | None, max_iter: int, tol: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`lm_solve` in batched torch (CUDA, float32, dense networks, no numba)."""
    torch = eng.torch
    B = theta.shape[0]
    theta = theta.clone()
    if q0 is not None and eng.model.L > 1:
        gauge = _Gauge(q0, _gauge_scale(eng, theta))
    else:
        gauge = _Gauge(None, torch.ones(B, dtype=theta.dtype, device=theta.device))
    lam = torch.full((B,), 1e-4, dtype=theta.dtype, device=theta.device)

    def step(sub: Engine, idx: Any) -> tuple[Any, Any]:
        new_th, l_idx, g1, v1 = _lm_iteration(sub, theta[idx], gauge.subset(idx), lam[idx])
        lam[idx] = l_idx
        theta[idx] = new_th
        r1 = sub.rel_grad(new_th, g1, v1)
        return r1, ~torch.isfinite(r1) | (l_idx >= 1e12)

    _, g0, v0, _ = eng.value_grad(theta)
    rel, iters = _while_active(eng, eng.rel_grad(theta, g0, v0), max_iter, tol, step)
    return theta, rel, iters


def _while_active(
    eng: Engine, rel: Any, max_iter: int, tol: float, step: Any
) -> tuple[Any, Any]:
    """The active-set loop of the batched solvers: ``step(sub_engine, idx)`` advances the
    runs ``idx`` still above ``tol`` by one iteration and returns their new relative gradient
    norms and a mask of runs to stop anyway; converged runs leave the batch."""
    torch = eng.torch
    iters = torch.zeros(rel.shape[0], dtype=torch.long, device=rel.device)
    active = ~(rel <= tol)
    for _ in range(max_iter):
        idx = torch.nonzero(active).squeeze(-1)
        if idx.numel() == 0:
            break
        r1, stop = step(eng.subset(idx), idx)
        iters[idx] += 1
        rel[idx] = r1
        active[idx[(r1 <= tol) | stop]] = False
    return rel, iters


#: Damping levels tried in one LM iteration (``lam``, ``100 lam``, ``10^4 lam``).
_TRIES = 3


def _lm_iteration(
    eng: Engine, th: torch.Tensor, gauge: _Gauge, lam: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One LM iteration for every run of ``eng``: the normal equations are formed once and
    solved at the three damping levels ``lam, 100 lam, 10^4 lam`` in one batched
    ``solve_ex`` (and one batched residual), then each run takes the first level that
    decreases ``||F||`` -- the same outcome as trying the levels one after the other, without
    a Python round per level. Returns the new iterate, the new damping, and the gradient and
    ``mu`` at the new iterate (reused for the convergence test)."""
    torch = eng.torch
    B, P = th.shape
    F, g, v = gauge.residual(eng, th)
    H = eng.hessian(th)
    if gauge.q0 is None:
        A = H
    else:
        A = torch.cat([H, gauge.gamma[:, None, None] * eng.gauge(th)[1]], dim=1)
    AtA = A.transpose(1, 2) @ A
    AtF = (A.transpose(1, 2) @ F.unsqueeze(-1)).squeeze(-1)
    scale = torch.diagonal(AtA, dim1=1, dim2=2).mean(-1).clamp_min(1e-300)
    Fn = torch.linalg.vector_norm(F, dim=-1)
    n = _TRIES
    levels = [lam]
    for _ in range(n - 1):
        levels.append(levels[-1] * 100.0)  # the products of sequential tries, bit for bit
    lams = torch.cat(levels)  # (n B,): level-major
    eye = torch.eye(P, dtype=th.dtype, device=th.device)
    M = AtA.repeat(n, 1, 1) + (lams * scale.repeat(n))[:, None, None] * eye
    sol, info = torch.linalg.solve_ex(M, -AtF.repeat(n, 1).unsqueeze(-1))
    step = torch.where((info == 0)[:, None], sol.squeeze(-1),
                       torch.full_like(sol.squeeze(-1), float("nan")))
    cand = th.repeat(n, 1) + step
    Fc, gc, vc = gauge.repeat(n).residual(eng.tiled(n), cand)
    ok = (torch.isfinite(Fc).all(-1) & (torch.linalg.vector_norm(Fc, dim=-1) < Fn.repeat(n)))
    ok = ok.reshape(n, B)
    first = torch.where(ok.any(0), ok.to(torch.int8).argmax(0), n)  # n: none accepted
    rows = torch.arange(B, device=th.device)
    pick = first.clamp_max(n - 1) * B + rows
    took = first < n
    new_th = torch.where(took[:, None], cand[pick], th)
    g1 = torch.where(took[:, None], gc[pick], g)
    v1 = torch.where(took[:, None], vc[pick], v)
    # damping after the sequential tries: accepted at level j -> lam 100^j / 10; none -> 10^6
    lam_new = torch.where(took, (lams[pick] * 0.1).clamp_min(1e-15), levels[-1] * 100.0)
    return new_th, lam_new.clamp_max(1e12), g1, v1


def newton_descent(
    eng: Engine, theta: torch.Tensor, max_iter: int, tol: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Regularized Newton descent on ``L``:
    ``step = -(H + (max(0, -lambda_min) + nu ||H||) I)^{-1} grad`` (the shift makes the
    model convex, so the step descends and follows negative curvature out of saddles),
    accepted when the loss does not increase, ``nu`` adapted as in a trust region.
    Converges quadratically to the local minimum of the valley it starts in; used when
    gradient descent is too slow (ill-conditioned ``G``) to reach a critical point in its
    step budget. Returns (theta, rel_grad, iterations)."""
    torch = eng.torch
    B = theta.shape[0]
    theta = theta.clone()
    nu = torch.full((B,), 1e-3, dtype=theta.dtype, device=theta.device)
    lossv, g, v, _ = eng.value_grad(theta)

    def step(sub: Engine, idx: Any) -> tuple[Any, Any]:
        th, gi, li = theta[idx], g[idx], lossv[idx]
        H = sub.hessian(th)
        ev, V = torch.linalg.eigh(0.5 * (H + H.transpose(1, 2)))
        hn = ev.abs().amax(-1).clamp_min(1e-300)
        nui = nu[idx]
        shift = (-ev[:, 0]).clamp_min(0.0) + nui * hn
        coef = (V.transpose(1, 2) @ gi.unsqueeze(-1)).squeeze(-1) / (ev + shift[:, None])
        cand = th - (V @ coef.unsqueeze(-1)).squeeze(-1)
        lc, gc, vc, _ = sub.value_grad(cand)
        ok = torch.isfinite(lc) & (lc <= li)
        okc = ok[:, None]
        th = torch.where(okc, cand, th)
        theta[idx] = th
        lossv[idx] = torch.where(ok, lc, li)
        g[idx] = torch.where(okc, gc, gi)
        v[idx] = torch.where(okc, vc, v[idx])
        nu[idx] = torch.where(ok, (nui * 0.3).clamp_min(1e-12), nui * 10.0)
        return sub.rel_grad(th, g[idx], v[idx]), nu[idx] >= 1e8

    rel, iters = _while_active(eng, eng.rel_grad(theta, g, v), max_iter, tol, step)
    return theta, rel, iters


def strict_saddle(eng: Engine, theta: torch.Tensor) -> torch.Tensor:
    """Whether the Hessian at ``theta`` has an eigenvalue below ``-1e-6 ||H||``."""
    torch = eng.torch
    H = eng.hessian(theta)
    ev = torch.linalg.eigvalsh(0.5 * (H + H.transpose(1, 2)))
    return ev[:, 0] < -1e-6 * ev.abs().amax(-1)
