"""The fused gradient-descent step of the batched LCN trainer (MATH.md 2, 8).

One step for ``R`` runs is a few large batched kernels in ``(taps, runs)`` layout (every
parameter, every tap of a partial product is one contiguous row of ``R`` values):

* forward, the one layer map of :func:`lcn.parametrization.lift_matrix`: the partial product
  ``acc`` (``n x R``) times the next upsampled filter is the outer product
  ``acc (x) w_i`` (``n k_i x R``, one broadcast multiply) followed by one matrix product with the
  0/1 lift ``E_i^T``;
* the gradient of ``l(v) = (v-u)^T G (v-u) + c`` in closed form (no autograd): ``gbar = 2 G
  (v - u)``, then for ``i = L..2``: ``Z = E_i gbar`` holds ``gbar`` at the shifts of layer
  ``i``, ``grad w_i = sum_a acc_{i-1}[a] Z[a, :]`` and ``gbar <- sum_j w_i[j] Z[:, j]``;
  ``grad w_1 = gbar``;
* the update, with the automatic step of :func:`lcn.training.train` (backtracking on the loss)
  or a fixed step, and the tie projection when asked.

Measured on this project's 2-core machine (``bench/bench_train.py``): this layout runs the
``k=(3,3,3) s=(2,2,1)`` step at several times the rate of the ``(runs, taps)`` engine, whose
per-run matrix products are tiny ``bmm`` calls. Runs are processed in cache-sized blocks of
:data:`BLOCK` runs, each block doing all its steps before the next starts (runs are
independent, so this is the same computation, with every intermediate in the L2 cache).

``torch.compile`` of the step fuses the elementwise work between the matrix products; it is
used when asked (``compile=True``) or, with ``compile=None``, when the work is large enough to
repay the compilation (:data:`COMPILE_WORK` run-steps). A failure to compile is caught: the
plain step runs instead and the result says so (``TrainResult.backend``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lcn.training.engine import Engine

if TYPE_CHECKING:
    import torch

__all__ = ["BLOCK", "COMPILE_WORK", "FusedStep", "fused_step"]

#: Runs per cache block on the CPU (intermediates of ``k=(3,3,3)`` stay under 1 MB).
BLOCK = 4096

#: Run-steps from which ``compile=None`` compiles the step (compilation costs seconds).
COMPILE_WORK = 2 * 10**8

#: Steps between convergence checks (a check costs a Jacobian norm and, on CUDA, one sync).
CHECK_EVERY = 100


@dataclass
class FusedStep:
    """The closed-form step of one architecture on one device, for a batch of runs whose
    Gram forms are given in ``(taps, runs)`` layout. ``backend`` says which path runs:
    ``"fused"``, ``"fused+compile"``, or ``"fused (compile failed: ...)"``."""

    value_grad: Callable[..., Any]
    fixed: Callable[..., Any]
    auto: Callable[..., Any]
    backend: str


def up_multiply(acc: Any, w: Any, S: int) -> Any:
    """``acc * pi_S(w)`` in ``(taps, runs)`` layout: ``acc (n, R)``, ``w (k, R)`` ->
    ``(n + S(k-1), R)``; tap ``j`` adds ``w_j acc`` at offset ``j S`` (one multiply-add over
    ``n R`` contiguous values; the same map as :func:`lcn.parametrization.mul_upsampled`)."""
    n = acc.shape[0]
    k = w.shape[0]
    out = acc.new_zeros((n + S * (k - 1), acc.shape[1]))
    for j in range(k):
        out[j * S : j * S + n].addcmul_(acc, w[j])
    return out


def up_multiply_vjp(acc: Any, w: Any, S: int, gbar: Any) -> tuple[Any, Any]:
    """The transpose of :func:`up_multiply` in both factors: for ``out = acc * pi_S(w)`` and
    a cotangent ``gbar`` of ``out``, ``(d/dw, d/dacc) <gbar, out>``. ``Z[a, j] = gbar[a + j S]``
    is a strided view of ``gbar`` (no copy), so ``d/dw_j = sum_a acc[a] Z[a, j]`` and
    ``d/dacc[a] = sum_j w_j Z[a, j]``."""
    n = acc.shape[0]
    Z = gbar.unfold(0, n, S).permute(2, 0, 1)  # (n, k, R), strides (R, S R, 1)
    return (acc.unsqueeze(1) * Z).sum(0), (Z * w.unsqueeze(0)).sum(1)


def _make_value_grad(eng: Engine) -> Callable[..., Any]:
    """``(theta (P, R), G, u, c) -> loss (R,), grad (P, R), Gr (m, R)``; ``G`` is
    ``(m, m)`` (shared) or ``(m, m, R)`` (per run), ``u`` ``(m, 1)`` or ``(m, R)``."""
    torch = eng.torch
    model = eng.model
    S = model.arch.S  # type: ignore[union-attr]
    cuts = [(s.start, s.stop) for s in model.slices]

    def value_grad(theta: Any, G: Any, u: Any, c: Any) -> tuple[Any, Any, Any]:
        ws = [theta[a:b] for a, b in cuts]
        accs = [ws[0]]
        for w, Si in zip(ws[1:], S[1:], strict=True):
            accs.append(up_multiply(accs[-1], w, Si))
        r = accs[-1] - u
        # shared G: one matrix product (measured faster than m fused multiply-adds, also
        # under torch.compile); per-run G (m, m, R): a broadcast product and a sum
        Gr = G @ r if G.dim() == 2 else (G * r.unsqueeze(0)).sum(1)
        lossv = (r * Gr).sum(0) + c
        gb = 2.0 * Gr
        grads: list[Any] = list(ws)
        for i in range(len(ws) - 1, 0, -1):
            grads[i], gb = up_multiply_vjp(accs[i - 1], ws[i], S[i], gb)
        grads[0] = gb
        return lossv, torch.cat(grads, 0), Gr

    return value_grad


def _make_steps(eng: Engine, value_grad: Callable[..., Any],
                tie: Callable[[Any], Any] | None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    torch = eng.torch
    cuts = [(s.start, s.stop) for s in eng.model.slices]

    def project(theta: Any) -> Any:
        return theta if tie is None else tie(theta)

    def fixed(theta: Any, grad: Any, step: Any, data: tuple[Any, ...]) -> tuple[Any, ...]:
        """``theta - step grad`` and its loss and gradient (``step`` is 0 for frozen runs);
        ``data`` is :func:`gram_layout`'s ``(G, u, c, ||G||)``."""
        G, u, c, _ = data
        theta = project(theta - step * grad)
        lossv, grad, Gr = value_grad(theta, G, u, c)
        return theta, lossv, grad, Gr

    def auto(theta: Any, lossv: Any, grad: Any, Gr: Any, eta: Any, active: Any,
             data: tuple[Any, ...]) -> tuple[Any, ...]:
        """One backtracking step: ``eta / Lhat`` (:meth:`Engine.lipschitz`), accepted when the
        loss does not increase, else rejected and ``eta`` halved."""
        G, u, c, Gnorm = data
        n = torch.stack([(theta[a:b] ** 2).sum(0) for a, b in cuts]).sqrt().clamp_min(1e-150)
        prod = torch.prod(n, dim=0)
        inv = 1.0 / n
        gn = prod**2 * (inv**2).sum(0)
        curv = prod * (inv.sum(0) ** 2 - (inv**2).sum(0))
        lip = 2.0 * Gnorm * gn + 2.0 * torch.linalg.vector_norm(Gr, dim=0) * curv
        step = eta / lip * active
        cand = project(theta - step * grad)
        lc, gc, Grc = value_grad(cand, G, u, c)
        ok = torch.isfinite(lc) & (lc <= lossv)
        theta = torch.where(ok, cand, theta)
        lossv = torch.where(ok, lc, lossv)
        grad = torch.where(ok, gc, grad)
        Gr = torch.where(ok, Grc, Gr)
        eta = torch.where(ok | ~active, eta, 0.5 * eta)
        return theta, lossv, grad, Gr, eta

    return fixed, auto


def fused_step(
    eng: Engine, *, tie: Callable[[Any], Any] | None = None, compile: bool = False
) -> FusedStep:
    """Build the fused step for ``eng``'s model (which must have :meth:`Model.lifts`).

    ``compile=True``: wrap the steps in ``torch.compile``; the first call compiles, and any
    failure (no compiler, an unsupported platform) falls back to the plain step, recorded in
    ``backend``.
    """
    torch = eng.torch
    vg = _make_value_grad(eng)
    fixed, auto = _make_steps(eng, vg, tie)
    if not compile:
        return FusedStep(vg, fixed, auto, "fused")
    try:
        cf = torch.compile(fixed, dynamic=False)
        ca = torch.compile(auto, dynamic=False)
    except Exception as exc:  # torch.compile unavailable on this platform
        return FusedStep(vg, fixed, auto, f"fused (compile failed: {type(exc).__name__})")
    out = FusedStep(vg, fixed, auto, "fused+compile")

    def guarded(compiled: Callable[..., Any], plain: Callable[..., Any]) -> Any:
        def call(*args: Any) -> Any:
            if out.backend != "fused+compile":
                return plain(*args)
            try:
                return compiled(*args)
            except Exception as exc:  # compilation runs (and can fail) on the first call
                out.backend = f"fused (compile failed: {type(exc).__name__})"
                return plain(*args)
        return call

    out.fixed = guarded(cf, fixed)
    out.auto = guarded(ca, auto)
    return out


def gram_layout(eng: Engine, idx: slice) -> tuple[Any, Any, Any, Any]:
    """``G, u, c, ||G||`` of runs ``idx`` in ``(taps, runs)`` layout (shared data stays
    shared: ``G (m, m)``, ``u (m, 1)``, scalars)."""
    if eng.shared:
        return eng.G[0], eng.u[0].unsqueeze(1), eng.c[0], eng.Gnorm[0]
    return (eng.G[idx].permute(1, 2, 0).contiguous(), eng.u[idx].T.contiguous(), eng.c[idx],
            eng.Gnorm[idx])


def check_active(eng: Engine, theta_t: torch.Tensor, grad_t: torch.Tensor, active: Any,
                 tol: float, idx: slice) -> Any:
    """Freeze the runs of block ``idx`` whose relative gradient norm is ``<= tol``."""
    sub = eng if eng.shared else eng.subset(eng.torch.arange(idx.start, idx.stop,
                                                              device=theta_t.device))
    th = theta_t.T
    v = sub.mu(th)
    rel = sub.rel_grad(th, grad_t.T, v)
    return active & ~(rel <= tol)
