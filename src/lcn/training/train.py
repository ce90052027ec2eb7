"""The batched trainer: gradient descent on the Gram form, then the polish (MATH.md 8)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn._validate import check_choice, check_int, check_real, check_size
from lcn.errors import ConfigError
from lcn.training._json import json_array
from lcn.training.backend import small_op_threads, torch_setup
from lcn.training.data import Dataset
from lcn.training.descent import DescentOptions, Trajectory, descend
from lcn.training.engine import Engine
from lcn.training.gram import GramForm, grams_for
from lcn.training.init import init_params
from lcn.training.loss import metrics
from lcn.training.model import Model, model_for
from lcn.training.polish import lm_solve, newton_descent, strict_saddle

__all__ = ["OPTIMIZERS", "TrainResult", "train", "pair_drift", "MAX_WORK"]

FloatArray = NDArray[np.float64]

#: The optimizers of :func:`train`.
OPTIMIZERS = ("gd", "none")

#: Most entries of the polish's per-run Hessians (``runs P (P + m)``) one call may hold.
MAX_WORK = 2 * 10**8


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Outcome of :func:`train` / :func:`lcn.training.train_reference` (one row per run).

    ``params`` (runs, P) final parameters; ``initial_params``; ``loss``; ``grad_norm``
    (``||grad L||``); ``rel_grad_norm`` (:func:`lcn.training.relative_gradient_norm`);
    ``converged`` (``rel_grad_norm <= tol``); ``steps`` (gradient-descent steps taken, counting
    rejected backtracking steps); ``polish_steps`` (Newton iterations); ``gd_params``
    (parameters at the end of gradient descent, before the polish); ``invariant_drift`` (max
    over layer pairs ``i<j`` of ``|(||w_i||^2 - ||w_j||^2)_{end of GD} - (...)_{init}|``, zero
    for exact gradient flow, MATH.md 8); ``invariant_scale`` (max over layers of ``||w_i||^2``
    at the start, to judge the drift); ``saddle`` (the kept point is a critical point with a
    clearly negative Hessian eigenvalue, see :func:`train`); ``trajectories`` (``None`` or a
    dict with ``step`` (T,), ``params`` (runs, T, P), ``loss`` (runs, T)) recorded every
    ``record_every`` steps of the first round of gradient descent; ``tol``; ``backend`` (the
    descent path that ran: ``"kernel"`` (the compiled CPU kernel), ``"fused"``,
    ``"fused+compile"``, ``"fused (compile failed: ...)"``, ``"engine"``, ``"reference"``);
    ``dtype`` of the descent (the reported metrics are always recomputed in float64).
    """

    params: FloatArray
    loss: FloatArray
    grad_norm: FloatArray
    rel_grad_norm: FloatArray
    converged: NDArray[np.bool_]
    steps: NDArray[np.int64]
    invariant_drift: FloatArray
    initial_params: FloatArray
    gd_params: FloatArray
    polish_steps: NDArray[np.int64]
    invariant_scale: FloatArray
    saddle: NDArray[np.bool_] | None = None
    trajectories: dict[str, Any] | None = None
    tol: float = 1e-10
    backend: str = "engine"
    dtype: str = "float64"

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.params.shape[0])

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (arrays as lists, non-finite floats as ``None``);
        trajectories, when recorded, as lists too."""
        out: dict[str, Any] = {"runs": self.runs, "tol": self.tol, "backend": self.backend,
                               "dtype": self.dtype}
        for name in ("params", "loss", "grad_norm", "rel_grad_norm", "converged", "steps",
                     "invariant_drift", "initial_params", "gd_params", "polish_steps",
                     "invariant_scale", "saddle"):
            out[name] = json_array(getattr(self, name))
        out["trajectories"] = None if self.trajectories is None else {
            k: json_array(v) for k, v in self.trajectories.items()}
        return out


def pair_drift(q_init: FloatArray, q_end: FloatArray) -> FloatArray:
    """Max over layer pairs of the change of ``||w_i||^2 - ||w_j||^2`` (rows: runs)."""
    diff_i = q_init[:, :, None] - q_init[:, None, :]
    diff_e = q_end[:, :, None] - q_end[:, None, :]
    return np.abs(diff_e - diff_i).max(axis=(1, 2))


@dataclass(frozen=True)
class _Plan:
    """Everything one training needs, checked."""

    model: Model
    grams: list[GramForm]
    theta0: FloatArray
    lr: FloatArray | None
    descent: DescentOptions
    device: Any
    dtype: Any
    polish: bool
    polish_steps: int
    rounds: int
    record_every: int | None


def train(
    arch: Any,
    data: Dataset | GramForm | Sequence[Dataset | GramForm],
    runs: int,
    init: str | Any = "gaussian",
    optimizer: str = "gd",
    steps: int = 2000,
    lr: float | Any | None = None,
    device: str = "cpu",
    *,
    seed: int = 0,
    polish: bool = True,
    record_every: int | None = None,
    tol: float = 1e-10,
    polish_steps: int = 60,
    rounds: int = 3,
    dtype: str = "float64",
    compile: bool | None = None,
    fused: bool = True,
) -> TrainResult:
    """Train ``runs`` networks by gradient descent on the Gram form, then polish (MATH.md 8).

    ``data``: one dataset (shared by all runs) or a list with one per run. ``init``: see
    :func:`lcn.training.init_params` (``"tied"`` also keeps the tie exactly: every iterate is
    projected back onto the tied layers). ``optimizer``: ``"gd"`` (plain gradient descent, the
    discretized gradient flow the theory speaks of) or ``"none"`` (only the polish).

    Step size: ``lr`` a number (or per-run array): fixed step, no safeguard (this is what
    :func:`lcn.training.train_reference` reproduces; a step so large that the iterates
    overflow leaves those runs non-finite, reported with NaN loss, never an exception).
    ``lr=None``: per run and per step ``eta / Lhat(w)`` with ``Lhat`` the local smoothness
    estimate of :meth:`Engine.lipschitz`, ``eta = 1`` halved whenever a step would increase
    the loss (the step is then rejected), so the loss decreases monotonically.

    The descent is the fused closed-form step of :mod:`lcn.training.fused` for LCNs (the
    generic engine step for dense networks, or with ``fused=False``). ``compile=None`` (the
    default) runs it as the compiled CPU kernel of :mod:`lcn.training.kernel` (numba; on as
    many threads as torch uses) on the CPU, and as torch kernels on CUDA (with ``torch.compile``
    when the work is large); ``compile=True`` forces ``torch.compile`` of the torch step,
    ``False`` the plain torch step; a compilation failure falls back to the plain step and
    ``backend`` says so. Trajectories are recorded by the torch step.
    ``dtype="float32"`` runs the descent in single precision: with a fixed step the
    parameters follow float64 to about 1e-6 relative over 300 steps
    (measured on ``k=(3,3,2) s=(2,2,1)``); with the automatic step the backtracking may accept
    other steps, so parameters can differ by up to 1e-3 relative along flat directions while
    the losses agree to about 1e-8. The polish and the reported metrics stay float64, so
    ``tol`` keeps its meaning.

    A run stops descending once its ``rel_grad_norm <= tol`` (checked every 100 steps). Then
    the polish: Levenberg-Marquardt on ``[grad L; gauge]`` with the gauge rows fixing the
    invariants ``||w_i||^2 - ||w_{i+1}||^2`` at their values at the end of descent
    (:func:`lcn.training.polish.lm_solve`), which converges quadratically to the critical point
    the descent was approaching without moving along the rescaling orbit. Gradient descent
    from a generic start does not converge to a strict saddle, so a polished point with a
    clearly negative Hessian eigenvalue (below ``-1e-6 ||H||``), or a failed polish, sends the
    run back to descent (from its descent iterate) for another ``steps`` steps, at most
    ``rounds`` rounds in all. In the last round a run still without a minimum gets a
    regularized Newton descent (:func:`lcn.training.polish.newton_descent`) and then the
    polish; the point found is kept whatever it is (``saddle`` says so), a failed polish
    leaves the run at its descent iterate. Without polish there is one round.
    ``converged`` reports ``rel_grad_norm <= tol`` at the end.
    """
    import torch

    plan = _plan(arch, data, runs, init, optimizer, steps, lr, device, dtype=dtype, seed=seed,
                 polish=polish, record_every=record_every, tol=tol, polish_steps=polish_steps,
                 rounds=rounds, compile=compile, fused=fused,
                 threads=torch.get_num_threads())
    with small_op_threads(torch, plan.device, plan.theta0.size):
        return _run(plan)


def _plan(arch: Any, data: Any, runs: Any, init: Any, optimizer: Any, steps: Any, lr: Any,
          device: Any, **kw: Any) -> _Plan:
    model = model_for(arch)
    runs = check_int(runs, "runs", min=1, error=ConfigError)
    steps = check_int(steps, "steps", min=0, max=10**9, error=ConfigError)
    optimizer = check_choice(optimizer, "optimizer", OPTIMIZERS, error=ConfigError)
    rec = kw["record_every"]
    if rec is not None:
        rec = check_int(rec, "record_every", min=1, error=ConfigError)
        check_size(runs * model.P * (steps // rec + 2), "record_every",
                   what="recorded parameters", error=ConfigError)
    rounds = check_int(kw["rounds"], "rounds", min=1, max=100, error=ConfigError)
    tol = check_real(kw["tol"], "tol", min=0.0, error=ConfigError)
    polish_steps = check_int(kw["polish_steps"], "polish_steps", min=0, max=10**6,
                             error=ConfigError)
    polish = bool(kw["polish"])
    check_size(runs * model.P * (model.P + model.m + 1), "runs",
               what="entries of per-run working memory", limit=MAX_WORK, error=ConfigError)
    grams = grams_for(model, data, runs)
    theta0 = init_params(model.arch, grams, runs, init, kw["seed"])
    fixed_lr: FloatArray | None = None
    if lr is not None:
        fixed_lr = _as_lr(lr, runs)
    dev, dt = torch_setup(device, kw["dtype"])
    nsteps = steps if optimizer == "gd" else 0
    descent = DescentOptions(nsteps, tol, tie=isinstance(init, str) and init == "tied",
                             compile=kw["compile"], fused=bool(kw["fused"]),
                             threads=int(kw["threads"]))
    return _Plan(model, grams, theta0, fixed_lr, descent, dev, dt, polish, polish_steps,
                 rounds if nsteps > 0 and polish else 1, rec)


def _as_lr(lr: Any, runs: int) -> FloatArray:
    """A positive finite step per run; a step whose square overflows float64 (``1e300``) is
    refused, since no iterate could stay finite."""
    if isinstance(lr, str):
        raise ConfigError("lr", f"is {lr!r}; give a positive number, a per-run array, or None")
    try:
        with np.errstate(all="ignore"):
            arr = np.asarray(lr, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError("lr", f"is {lr!r:.60}; give a positive number, a per-run array, "
                          "or None") from None
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, runs)):
        raise ConfigError("lr", f"has shape {arr.shape}; give one number or {runs} (one per "
                          "run)")
    out = np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (runs,)).copy()
    if not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise ConfigError("lr", f"is {lr!r:.60}; it must be positive and finite (or None for "
                          "automatic)")
    if np.any(out > 1e150):
        raise ConfigError("lr", f"is {float(out.max()):g}; steps above 1e150 overflow float64 "
                          "in one step; use a smaller step or None for automatic")
    return out


def _run(plan: _Plan) -> TrainResult:
    import torch

    model, dev, dt = plan.model, plan.device, plan.dtype
    runs = plan.theta0.shape[0]
    eng = Engine(model, plan.grams, runs, dev, dt)
    state = _State.start(torch, plan, runs)
    traj = Trajectory(plan.record_every) if plan.record_every is not None else None
    backend = "engine"
    with torch.no_grad():
        for rnd in range(plan.rounds):
            idx = torch.nonzero(~state.done).squeeze(-1)
            if idx.numel() == 0:
                break
            sub = eng.subset(idx) if idx.numel() < runs else eng
            lr_sub = state.lr[idx] if state.lr is not None else None
            th, eta_sub, taken, backend = descend(
                sub, state.gd[idx], lr_sub, state.eta[idx], plan.descent,
                traj if rnd == 0 else None,
            )
            state.eta[idx] = eta_sub
            state.steps[idx] += taken
            state.gd[idx] = th
            _finish_round(plan, state, eng, idx, th.to(torch.float64),
                          last=rnd == plan.rounds - 1)
    return _result(plan, state, traj, backend)


@dataclass
class _State:
    """Per-run state of a training across rounds (torch tensors on the device)."""

    gd: Any
    final: Any
    eta: Any
    steps: Any
    polish: Any
    done: Any
    saddle: Any
    lr: Any

    @classmethod
    def start(cls, torch: Any, plan: _Plan, runs: int) -> _State:
        dev, dt = plan.device, plan.dtype
        theta = torch.as_tensor(plan.theta0, device=dev, dtype=dt).clone()
        zeros = torch.zeros(runs, dtype=torch.long, device=dev)
        return cls(
            gd=theta, final=theta.to(torch.float64).clone(),
            eta=torch.ones(runs, device=dev, dtype=dt), steps=zeros.clone(),
            polish=zeros.clone(), done=torch.zeros(runs, dtype=torch.bool, device=dev),
            saddle=torch.zeros(runs, dtype=torch.bool, device=dev),
            lr=torch.as_tensor(plan.lr, device=dev, dtype=dt) if plan.lr is not None else None,
        )


def _finish_round(plan: _Plan, state: _State, eng: Engine, idx: Any, th: Any,
                  last: bool) -> None:
    """Polish the runs ``idx`` after a round of descent and decide which are done."""
    torch = eng.torch
    eng64 = eng if eng.dtype == torch.float64 else Engine(
        plan.model, plan.grams, eng.runs, eng.device, torch.float64)
    sub = eng64.subset(idx) if idx.numel() < eng.runs else eng64
    fin = torch.isfinite(th).all(-1)
    if not plan.polish:
        _, g, v, _ = sub.value_grad(th)
        rel = sub.rel_grad(th, g, v)
        state.final[idx] = th
        state.done[idx] = (rel <= plan.descent.tol) | torch.tensor(last, device=th.device) | ~fin
        return
    if not bool(fin.all()):
        # diverged runs (possible with a fixed step) stay as they are
        state.final[idx[~fin]] = th[~fin]
        state.done[idx[~fin]] = True
        sub = sub.subset(torch.nonzero(fin).squeeze(-1))
        idx, th = idx[fin], th[fin]
    if idx.numel() == 0:
        return
    tol, steps = plan.descent.tol, plan.polish_steps
    q, _ = sub.gauge(th)
    pol, rel, it = lm_solve(sub, th, q, steps, tol)
    state.polish[idx] += it
    crit = rel <= tol
    sad = crit & strict_saddle(sub, pol) if bool(crit.any()) else torch.zeros_like(crit)
    good = crit & ~sad
    if last and bool((~good).any()):
        # the step budget is spent: a second-order descent from the descent iterate reaches
        # the minimum of its valley (or escapes the saddle) fast
        j = torch.nonzero(~good).squeeze(-1)
        sub2 = sub.subset(j)
        nd, _, it2 = newton_descent(sub2, th[j], steps, tol)
        q2, _ = sub2.gauge(nd)
        nd, rel2, it3 = lm_solve(sub2, nd, q2, steps, tol)
        state.polish[idx[j]] += it2 + it3
        pol[j] = nd
        crit[j] = rel2 <= tol
        sad[j] = crit[j] & strict_saddle(sub2, nd)
        good = crit & ~sad
    keep = good if not last else torch.ones_like(good)
    # a failed polish leaves the run at its descent iterate
    state.final[idx] = torch.where((keep & crit)[:, None], pol, th)
    state.saddle[idx] = sad & keep
    state.done[idx] = keep


def _result(plan: _Plan, state: _State, traj: Trajectory | None, backend: str) -> TrainResult:
    model = plan.model
    params = state.final.cpu().numpy().astype(np.float64)
    res = metrics(model, plan.grams, params)
    gd = state.gd.cpu().numpy().astype(np.float64)
    q_init = model.layer_sq_norms(plan.theta0)
    return TrainResult(
        params=params,
        loss=res["loss"],
        grad_norm=res["grad_norm"],
        rel_grad_norm=res["rel"],
        converged=res["rel"] <= plan.descent.tol,
        steps=state.steps.cpu().numpy().astype(np.int64),
        invariant_drift=pair_drift(q_init, model.layer_sq_norms(gd)),
        initial_params=plan.theta0,
        gd_params=gd,
        polish_steps=state.polish.cpu().numpy().astype(np.int64),
        invariant_scale=q_init.max(axis=1),
        saddle=state.saddle.cpu().numpy(),
        trajectories=traj.to_dict() if traj is not None else None,
        tol=plan.descent.tol,
        backend=backend,
        dtype=str(plan.dtype).replace("torch.", ""),
    )
