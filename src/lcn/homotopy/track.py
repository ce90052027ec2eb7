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
* corrector: two Newton steps at ``t + h``; the step is accepted when the first Newton
  correction is below ``beta (1 + |x|)`` (the prediction was close: no jump to a neighbouring
  path) and the second is at most a tenth of the first (the quadratic convergence of a start
  inside the basin; up to ``1e-13 (1 + |x|)`` of rounding);
* step size: the first correction estimates the predictor's local error (``O(h^5)``), so the
  next step is ``h (0.8 / ratio)^(1/5)`` with ``ratio = |d_1| / (beta (1 + |x|))``, between
  ``h / 2`` and ``2 h`` after an accepted step (at most ``h_max``), between ``h / 5`` and
  ``h / 2`` after a rejected one.

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

from lcn.homotopy import native

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
          options: TrackOptions | None = None, threads: int | None = None
          ) -> tuple[Any, Any, Any]:
    """Track every row of ``x0`` (``(N, n)`` roots of ``F(.; p0)``) from ``p0`` to ``p1``
    (``(N, P)`` each) along ``gamma`` (``(N,)`` complex). Returns the endpoints ``(N, n)``, the
    statuses ``(N,)`` (int64, :data:`STATUS`) and the steps taken ``(N,)``.

    On the CPU the systems of :mod:`.system` are tracked by the compiled tracker of
    :mod:`.native` (the same algorithm, on ``threads`` threads, default torch's count); CUDA
    tensors (and any other system) by the batched torch loop below."""
    import torch

    opt = options or TrackOptions()
    if x0.device.type == "cpu" and native.supports(system):
        nthreads = torch.get_num_threads() if threads is None else threads
        xe, st, ns = native.track_native(system, x0.numpy(), p0.numpy(), p1.numpy(),
                                         gamma.numpy(), opt, nthreads)
        return torch.as_tensor(xe), torch.as_tensor(st), torch.as_tensor(ns)
    x, status, steps = _track_torch(system, x0, p0, p1, gamma, opt)
    done = status == OK
    if bool(done.any()):
        sel = torch.nonzero(done)[:, 0]
        xs = x[sel]
        for _ in range(3):
            F, Jx, _ = system.evaluate(xs, p1[sel])
            d, ok = _solve(torch, Jx, -F)
            xs = torch.where(ok[:, None], xs + d, xs)
        x[sel] = xs
    return x, status, steps


def _track_torch(system: Any, x0: Any, p0: Any, p1: Any, gamma: Any, opt: TrackOptions
                 ) -> tuple[Any, Any, Any]:
    """The batched torch tracker: endpoints in the fixed chart (unpolished), statuses, steps."""
    import torch

    dev = x0.device
    N = x0.shape[0]
    x = x0.clone()
    t = torch.zeros(N, dtype=torch.float64, device=dev)
    h = torch.full((N,), opt.h0, dtype=torch.float64, device=dev)
    status = torch.full((N,), RUNNING, dtype=torch.int64, device=dev)
    steps = torch.zeros(N, dtype=torch.int64, device=dev)
    dp_all = p1 - p0
    idx = torch.arange(N, device=dev)
    moving = hasattr(system, "recenter")
    if moving:
        W0, Bs = system.fixed_charts()
        charts = ([w.expand(N, -1).clone() for w in W0],
                  [B.expand(N, -1, -1).clone() for B in Bs])
    while idx.numel():
        xa, ta, ha = x[idx], t[idx], h[idx]
        P0, dP, ga = p0[idx], dp_all[idx], gamma[idx]
        dt = torch.minimum(ha, 1 - ta)
        ch: Any = None
        if moving:
            xa, ch = system.recenter(xa, ([w[idx] for w in charts[0]],
                                          [B[idx] for B in charts[1]]))
            for j in range(len(ch[0])):
                charts[0][j][idx] = ch[0][j]
                charts[1][j][idx] = ch[1][j]
            x[idx] = xa

        def velocity(xx: Any, tt: Any, P0: Any = P0, dP: Any = dP, ga: Any = ga,
                     ch: Any = ch) -> tuple[Any, Any]:
            s, ds = _s(torch, tt.to(ga.dtype), ga)
            if ch is None:
                _, Jx, Fd = system.evaluate(xx, P0 + s[:, None] * dP, dP)
            else:
                _, Jx, Fd = system.evaluate(xx, P0 + s[:, None] * dP, dP, ch)
            return _solve(torch, Jx, -Fd * ds[:, None])

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
        for _ in range(2):
            F, Jx, _ = (system.evaluate(xp, p) if ch is None else
                        system.evaluate(xp, p, None, ch))
            d, ok = _solve(torch, Jx, -F)
            good &= ok
            xp = xp + d
            nrm.append(_norm(d))
        scale = 1 + _norm(xp)
        d1, d2 = nrm
        finite = torch.isfinite(xp.real).all(1) & torch.isfinite(xp.imag).all(1)
        tiny = 1e-13 * scale
        tol = opt.beta * scale
        acc = good & finite & (d1 <= tol) & (d2 <= 0.1 * d1 + tiny)
        # the first correction estimates the predictor's local error, O(h^5) for RK4
        ratio = torch.nan_to_num((d1 + tiny) / tol, nan=1e6, posinf=1e6)
        fac = 0.8 * ratio.clamp(min=1e-10) ** -0.2
        hn = torch.where(acc, torch.clamp(ha * fac.clamp(0.5, 2.0), max=opt.h_max),
                         ha * fac.clamp(0.2, 0.5))
        x[idx] = torch.where(acc[:, None], xp, xa)
        t[idx] = torch.where(acc, t1, ta)
        h[idx] = hn
        steps[idx] += 1
        st = torch.full_like(idx, RUNNING)
        st = torch.where(acc & (t1 >= 1.0), OK, st)
        st = torch.where(acc & (scale > opt.x_max), DIVERGED, st)
        st = torch.where((st == RUNNING) & (hn < opt.h_min), SINGULAR, st)
        st = torch.where((st == RUNNING) & (steps[idx] >= opt.max_steps), MAX_STEPS, st)
        status[idx] = st
        idx = idx[st == RUNNING]
    if moving:
        x = system.to_fixed(x, charts)
    return x, status, steps
