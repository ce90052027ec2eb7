"""Batched gradient descent on the Gram form (MATH.md 8): the fused closed-form step for
models that have one (:mod:`lcn.training.fused`), the generic engine step otherwise.

Both follow the same rule, so they give the same trajectories: a fixed step ``lr`` per run,
or the automatic step ``eta / Lhat(w)`` with backtracking; a run freezes once its relative
gradient norm is ``<= tol``, checked every :data:`lcn.training.fused.CHECK_EVERY` steps (the
only host-device synchronisation of the loop on CUDA).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lcn.architecture import Architecture
from lcn.training import fused, kernel
from lcn.training.engine import Engine

if TYPE_CHECKING:
    import torch

__all__ = ["DescentOptions", "Trajectory", "descend"]


@dataclass
class Trajectory:
    """Parameters and losses recorded every ``every`` steps (host copies)."""

    every: int
    step: list[int] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    loss: list[Any] = field(default_factory=list)

    def record(self, t: int, theta: Any, lossv: Any) -> None:
        self.step.append(t)
        self.params.append(theta.cpu().numpy().copy())
        self.loss.append(lossv.cpu().numpy().copy())

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": np.array(self.step),
            "params": np.stack(self.params, axis=1),
            "loss": np.stack(self.loss, axis=1),
        }


@dataclass(frozen=True)
class DescentOptions:
    """``steps``; ``tol`` (freeze threshold of the relative gradient norm); ``tie`` (project
    every iterate onto the tied layers); ``compile``: ``None`` runs the compiled CPU kernel
    (:mod:`lcn.training.kernel`, when numba is installed; on CUDA the torch step, compiled by
    the amount of work), ``True`` ``torch.compile`` of the torch step, ``False`` the plain
    torch step; ``fused`` (``False``: the generic engine step, the oracle of the tests);
    ``threads``: CPU threads of the kernel."""

    steps: int
    tol: float
    tie: bool = False
    compile: bool | None = None
    fused: bool = True
    threads: int = 1


def descend(
    eng: Engine, theta: torch.Tensor, lr: torch.Tensor | None, eta: torch.Tensor,
    opts: DescentOptions, traj: Trajectory | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """``opts.steps`` steps of gradient descent (see :func:`lcn.training.train`) from
    ``theta (B, P)``; ``lr (B,)`` fixed steps or ``None`` (automatic, state ``eta (B,)``).
    Returns (theta, eta, steps taken per run, backend)."""
    if opts.fused and eng.model.lifts() is not None:
        if (opts.compile is None and traj is None and eng.device.type == "cpu"
                and kernel.available()):
            th, et, taken = _descend_kernel(eng, theta, lr, eta, opts)
            return th, et, taken, "kernel"
        return _descend_fused(eng, theta, lr, eta, opts, traj)
    th, et, taken = _descend_generic(eng, theta, lr, eta, opts, traj)
    return th, et, taken, "engine"


def _tie_fn(eng: Engine, axis: int) -> Any:
    if not eng.model.perm_groups:
        return None
    src = eng.torch.as_tensor(eng.model.tie_index(), device=eng.device)

    def tie(theta: Any) -> Any:
        return theta.index_select(axis, src)

    return tie


def _descend_generic(
    eng: Engine, theta: torch.Tensor, lr_t: torch.Tensor | None, eta: torch.Tensor,
    opts: DescentOptions, traj: Trajectory | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch = eng.torch
    B = theta.shape[0]
    tie = _tie_fn(eng, 1) if opts.tie else None
    lossv, grad, v, Gr = eng.value_grad(theta)
    active = torch.ones(B, dtype=torch.bool, device=theta.device)
    taken = torch.zeros(B, dtype=torch.long, device=theta.device)
    for t in range(opts.steps):
        if traj is not None and t % traj.every == 0:
            traj.record(t, theta, lossv)
        if lr_t is not None:
            cand = theta - (lr_t * active)[:, None] * grad
            theta = cand if tie is None else tie(cand)
            lossv, grad, v, Gr = eng.value_grad(theta)
        else:
            step = eta / eng.lipschitz(theta, Gr) * active
            cand = theta - step[:, None] * grad
            cand = cand if tie is None else tie(cand)
            lc, gc, vc, Grc = eng.value_grad(cand)
            ok = torch.isfinite(lc) & (lc <= lossv)
            okc = ok[:, None]
            theta = torch.where(okc, cand, theta)
            lossv = torch.where(ok, lc, lossv)
            grad = torch.where(okc, gc, grad)
            v = torch.where(okc, vc, v)
            Gr = torch.where(okc, Grc, Gr)
            eta = torch.where(ok | ~active, eta, 0.5 * eta)
        taken += active
        if (t + 1) % fused.CHECK_EVERY == 0:
            active &= ~(eng.rel_grad(theta, grad, v) <= opts.tol)
            if not bool(active.any()):
                break
    if traj is not None:
        traj.record(int(taken.max()), theta, lossv)
    return theta, eta, taken


def _descend_fused(
    eng: Engine, theta: torch.Tensor, lr_t: torch.Tensor | None, eta: torch.Tensor,
    opts: DescentOptions, traj: Trajectory | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
    torch = eng.torch
    B = theta.shape[0]
    compile_ = opts.compile
    if compile_ is None:
        compile_ = B * opts.steps >= fused.COMPILE_WORK
    fs = fused.fused_step(eng, tie=_tie_fn(eng, 0) if opts.tie else None, compile=compile_)
    thT = theta.T.contiguous()
    eta = eta.clone()
    taken = torch.zeros(B, dtype=torch.long, device=theta.device)
    # cache blocks on the CPU; one block on CUDA (and when recording a trajectory)
    block = B if (eng.device.type == "cuda" or traj is not None) else fused.BLOCK
    for a in range(0, B, block):
        idx = slice(a, min(B, a + block))
        th, et, tk = _fused_block(eng, fs, thT[:, idx].contiguous(), lr_t, eta[idx], opts,
                                  traj, idx)
        thT[:, idx] = th
        eta[idx] = et
        taken[idx] = tk
    return thT.T.contiguous(), eta, taken, fs.backend


def _descend_kernel(
    eng: Engine, theta: torch.Tensor, lr_t: torch.Tensor | None, eta: torch.Tensor,
    opts: DescentOptions,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same rule as :func:`_fused_block`, by the compiled kernel: segments of
    :data:`~lcn.training.fused.CHECK_EVERY` steps over all runs, then the convergence check."""
    torch = eng.torch
    B = theta.shape[0]
    dt = theta.dtype
    th = theta.detach().clone().contiguous()
    eta = eta.detach().clone().contiguous()
    lossv = torch.zeros(B, dtype=dt)
    grad = torch.zeros_like(th)
    Gr = torch.zeros(B, eng.G.shape[-1], dtype=dt)
    active = torch.ones(B, dtype=torch.bool)
    taken = torch.zeros(B, dtype=torch.long)
    G, u, c, Gn = (np.ascontiguousarray(x.numpy()) for x in (eng.G, eng.u, eng.c, eng.Gnorm))
    lr = None if lr_t is None else np.ascontiguousarray(lr_t.to(dt).numpy())
    tie = eng.model.tie_index() if opts.tie and eng.model.perm_groups else None
    arch = eng.model.arch
    assert isinstance(arch, Architecture)  # lifts() is not None: an LCN
    state = [x.numpy() for x in (th, lossv, grad, Gr, eta, active)]
    rel = np.empty(B, dtype=state[0].dtype)
    done = 0
    while done < opts.steps:
        n = min(fused.CHECK_EVERY, opts.steps - done)
        check = n == fused.CHECK_EVERY
        # the kernel also computes the convergence measure at the end of a full segment
        kernel.descend_steps(state[0], state[1], state[2], state[3], state[4], state[5], lr,
                             G, u, c, Gn, arch.k, arch.S, tie, n, init=done == 0,
                             rel=rel if check else None, threads=opts.threads)
        done += n
        taken += active * n
        if check:
            active &= ~torch.from_numpy(rel <= opts.tol)
            if not bool(active.any()):
                break
    return th, eta, taken


def _fused_block(
    eng: Engine, fs: fused.FusedStep, th: torch.Tensor, lr_t: torch.Tensor | None,
    eta: torch.Tensor, opts: DescentOptions, traj: Trajectory | None, idx: slice,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All steps of one block of runs in ``(taps, runs)`` layout."""
    torch = eng.torch
    data = fused.gram_layout(eng, idx)
    lossv, grad, Gr = fs.value_grad(th, *data[:3])
    n = th.shape[1]
    active = torch.ones(n, dtype=torch.bool, device=th.device)
    taken = torch.zeros(n, dtype=torch.long, device=th.device)
    lr_b = lr_t[idx] if lr_t is not None else None
    since = 0
    for t in range(opts.steps):
        if traj is not None and t % traj.every == 0:
            traj.record(t, th.T, lossv)
        if lr_b is not None:
            th, lossv, grad, Gr = fs.fixed(th, grad, lr_b * active, data)
        else:
            th, lossv, grad, Gr, eta = fs.auto(th, lossv, grad, Gr, eta, active, data)
        since += 1
        if (t + 1) % fused.CHECK_EVERY == 0:
            taken += active * since
            since = 0
            active = fused.check_active(eng, th, grad, active, opts.tol, idx)
            if not bool(active.any()):
                break
    taken += active * since
    if traj is not None:
        traj.record(int(taken.max()), th.T, lossv)
    return th, eta, taken
