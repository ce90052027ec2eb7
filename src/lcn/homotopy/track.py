"""Batched adaptive predictor-corrector path tracking (torch, complex128, CPU or CUDA).

A path solves ``F(x(t); p(t)) = 0`` for ``t`` from 0 to 1 along the parameter path

    ``p(t) = p_0 + s(t) (p_1 - p_0)``,   ``s(t) = gamma t / (gamma t + 1 - t)``

(the *gamma trick*: for a random unit complex ``gamma`` the curve ``s([0, 1])`` is a random
arc from 0 to 1 in the complex plane, which avoids the discriminant of the system with
probability one except perhaps at ``t = 1``; ``gamma = 1`` is the straight segment). Because
the systems are linear in ``p``, ``dF/dt = s'(t) F(x; p_1 - p_0)`` with
``s'(t) = gamma / (gamma t + 1 - t)^2``.

Per step, for every path still running (finished paths leave the batch):

* predictor: classical RK4 on ``dx/dt = -F_x^{-1} dF/dt``;
* corrector: three Newton steps at ``t + h``; the step is accepted when the first Newton
  correction is below ``beta (1 + |x|)`` (the prediction was close: no jump to a neighbouring
  path) and each correction is at most a tenth of the previous one (the quadratic convergence
  of a start inside the basin; up to ``1e-13 (1 + |x|)`` of rounding);
* step size: doubled after an accepted step whose first correction was far below ``beta``
  (else times 1.25), halved after a rejected one, at most ``h_max``.

A path ends with status :data:`OK` at ``t = 1`` (after three more Newton steps there),
:data:`DIVERGED` when ``|x|_inf`` exceeds ``x_max`` (a root going to infinity: special data),
:data:`SINGULAR` when the step size falls below ``h_min`` (the Jacobian degenerates along the
path: a singular endpoint or a path crossing), :data:`MAX_STEPS` after ``max_steps`` steps.
``torch.linalg.solve_ex`` reports a singular linear system without raising; those paths take a
rejected step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DIVERGED", "MAX_STEPS", "OK", "SINGULAR", "STATUS", "TrackOptions", "track"]

OK, DIVERGED, SINGULAR, MAX_STEPS, RUNNING = 0, 1, 2, 3, 4
#: Names of the path statuses.
STATUS = {OK: "ok", DIVERGED: "diverged", SINGULAR: "singular", MAX_STEPS: "max_steps"}


@dataclass(frozen=True)
class TrackOptions:
    """Tracker tolerances (see the module docstring)."""

    h0: float = 0.02
    h_max: float = 0.1
    h_min: float = 1e-9
    beta: float = 1e-3
    max_steps: int = 4000
    x_max: float = 1e8


def _s(torch: Any, t: Any, gamma: Any) -> tuple[Any, Any]:
    den = gamma * t + (1 - t)
    return gamma * t / den, gamma / (den * den)


def _solve(torch: Any, A: Any, b: Any) -> tuple[Any, Any]:
    sol, info = torch.linalg.solve_ex(A, b[..., None])
    return sol[..., 0], info == 0


def _norm(x: Any) -> Any:
    return x.abs().amax(dim=-1)


def track(system: Any, x0: Any, p0: Any, p1: Any, gamma: Any,
          options: TrackOptions | None = None) -> tuple[Any, Any, Any]:
    """Track every row of ``x0`` (``(N, n)`` roots of ``F(.; p0)``) from ``p0`` to ``p1``
    (``(N, P)`` each) along ``gamma`` (``(N,)`` complex). Returns the endpoints ``(N, n)``, the
    statuses ``(N,)`` (int64, :data:`STATUS`) and the steps taken ``(N,)``."""
    import torch

    opt = options or TrackOptions()
    dev = x0.device
    N = x0.shape[0]
    x = x0.clone()
    t = torch.zeros(N, dtype=torch.float64, device=dev)
    h = torch.full((N,), opt.h0, dtype=torch.float64, device=dev)
    status = torch.full((N,), RUNNING, dtype=torch.int64, device=dev)
    steps = torch.zeros(N, dtype=torch.int64, device=dev)
    dp_all = p1 - p0
    idx = torch.arange(N, device=dev)
    while idx.numel():
        xa, ta, ha = x[idx], t[idx], h[idx]
        P0, dP, ga = p0[idx], dp_all[idx], gamma[idx]
        dt = torch.minimum(ha, 1 - ta)

        def velocity(xx: Any, tt: Any, P0: Any = P0, dP: Any = dP, ga: Any = ga
                     ) -> tuple[Any, Any]:
            s, ds = _s(torch, tt.to(ga.dtype), ga)
            _, Jx = system.evaluate(xx, P0 + s[:, None] * dP)
            Ft = system.residual(xx, dP) * ds[:, None]
            v, ok = _solve(torch, Jx, -Ft)
            return v, ok

        dtc = dt.to(xa.dtype)[:, None]
        k1, ok1 = velocity(xa, ta)
        k2, ok2 = velocity(xa + 0.5 * dtc * k1, ta + 0.5 * dt)
        k3, ok3 = velocity(xa + 0.5 * dtc * k2, ta + 0.5 * dt)
        k4, ok4 = velocity(xa + dtc * k3, ta + dt)
        xp = xa + dtc / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t1 = torch.where(ha >= 1 - ta, torch.ones_like(ta), ta + dt)
        s1, _ = _s(torch, t1.to(ga.dtype), ga)
        p = P0 + s1[:, None] * dP
        good = ok1 & ok2 & ok3 & ok4
        nrm = []
        for _ in range(3):
            F, Jx = system.evaluate(xp, p)
            d, ok = _solve(torch, Jx, -F)
            good &= ok
            xp = xp + d
            nrm.append(_norm(d))
        scale = 1 + _norm(xp)
        d1, d2, d3 = nrm
        finite = torch.isfinite(xp.real).all(1) & torch.isfinite(xp.imag).all(1)
        tiny = 1e-13 * scale
        acc = (good & finite & (d1 <= opt.beta * scale) & (d2 <= 0.1 * d1 + tiny)
               & (d3 <= 0.1 * d2 + tiny))
        # accepted: advance; rejected: halve
        x[idx] = torch.where(acc[:, None], xp, xa)
        t[idx] = torch.where(acc, t1, ta)
        grow = torch.where(d1 <= 0.01 * opt.beta * scale, 2.0, 1.25)
        hn = torch.where(acc, torch.clamp(ha * grow, max=opt.h_max), ha * 0.5)
        h[idx] = hn
        steps[idx] += 1
        st = torch.full_like(idx, RUNNING)
        st = torch.where(acc & (t1 >= 1.0), OK, st)
        st = torch.where(acc & (scale > opt.x_max), DIVERGED, st)
        st = torch.where((st == RUNNING) & (hn < opt.h_min), SINGULAR, st)
        st = torch.where((st == RUNNING) & (steps[idx] >= opt.max_steps), MAX_STEPS, st)
        status[idx] = st
        idx = idx[st == RUNNING]
    done = status == OK
    if bool(done.any()):
        sel = torch.nonzero(done)[:, 0]
        xs = x[sel]
        for _ in range(3):
            F, Jx = system.evaluate(xs, p1[sel])
            d, ok = _solve(torch, Jx, -F)
            xs = torch.where(ok[:, None], xs + d, xs)
        x[sel] = xs
    return x, status, steps
