"""The reference trainer on the raw data (the benchmark's data-space baseline and the
trajectory oracle of the tests, MATH.md 8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn._validate import check_choice, check_int, check_real
from lcn.errors import ConfigError, DataError
from lcn.training.backend import fixed_threads, small_op_threads
from lcn.training.data import Dataset
from lcn.training.gram import gram_form
from lcn.training.init import init_params
from lcn.training.loss import metrics
from lcn.training.model import Model, model_for
from lcn.training.train import TrainResult, pair_drift

__all__ = ["train_reference"]

FloatArray = NDArray[np.float64]
_Recorded = tuple[FloatArray, list[int], list[FloatArray], list[FloatArray]]


def train_reference(
    arch: Any,
    data: Dataset | Sequence[Dataset],
    runs: int,
    init: str | Any = "gaussian",
    steps: int = 100,
    lr: float | Any = 1e-3,
    seed: int = 0,
    record_every: int | None = None,
    *,
    mode: str = "grouped",
    tol: float = 1e-10,
    threads: int | None = None,
) -> TrainResult:
    """Plain gradient descent on ``||Y - net(X)||_F^2`` computed on the raw data by torch
    modules (autograd), with the same initialization as :func:`lcn.training.train` (same
    ``init`` and ``seed``) and a fixed step ``lr`` (number or per-run array).

    ``mode="per_run"``: one ``nn.Sequential`` of ``nn.Conv1d(1, 1, k_i, stride=s_i)`` per run
    (``nn.Linear`` layers for dense networks), trained one after the other. ``mode="grouped"``:
    all runs at once as ``nn.Conv1d(R, R, k_i, stride=s_i, groups=R)`` (run ``r`` on channel
    ``r``; batched matmuls for dense networks). Both are float64 and never form the Gram matrix.
    No polish; ``converged`` just compares the final relative gradient norm with ``tol``.
    ``threads``: torch intra-op threads (``None``: one thread for small work, as
    :func:`lcn.training.train` does; the benchmark sets it explicitly).
    """
    import torch

    model = model_for(arch)
    runs = check_int(runs, "runs", min=1, error=ConfigError)
    steps = check_int(steps, "steps", min=0, max=10**9, error=ConfigError)
    mode = check_choice(mode, "mode", ("grouped", "per_run"), error=ConfigError)
    tol = check_real(tol, "tol", min=0.0, error=ConfigError)
    if record_every is not None:
        record_every = check_int(record_every, "record_every", min=1, error=ConfigError)
    datasets = _datasets(model, data, runs)
    lr_arr = _fixed_lr(lr, runs)
    theta0 = init_params(model.arch, datasets, runs, init, seed)
    if threads is None:
        ctx: Any = small_op_threads(torch, torch.device("cpu"), 0)
    else:
        ctx = fixed_threads(torch, check_int(threads, "threads", min=1, max=1024,
                                             error=ConfigError))
    Xs = [torch.tensor(np.array(d.X), dtype=torch.float64) for d in datasets]
    Ys = [torch.tensor(np.array(d.Y), dtype=torch.float64) for d in datasets]
    with ctx:
        run = _per_run if mode == "per_run" else _grouped
        final, traj_s, traj_p, traj_l = run(model, theta0, Xs, Ys, steps, lr_arr, record_every)
    res = metrics(model, [gram_form(model.arch, d) for d in datasets], final)
    q_init = model.layer_sq_norms(theta0)
    trajectories = None
    if record_every is not None:
        trajectories = {"step": np.array(traj_s), "params": np.stack(traj_p, axis=1),
                        "loss": np.stack(traj_l, axis=1)}
    return TrainResult(
        params=final, loss=res["loss"], grad_norm=res["grad_norm"],
        rel_grad_norm=res["rel"], converged=res["rel"] <= tol,
        steps=np.full(runs, steps, dtype=np.int64),
        invariant_drift=pair_drift(q_init, model.layer_sq_norms(final)),
        initial_params=theta0, gd_params=final.copy(),
        polish_steps=np.zeros(runs, dtype=np.int64), invariant_scale=q_init.max(axis=1),
        trajectories=trajectories, tol=tol, backend="reference",
    )


def _datasets(model: Model, data: Any, runs: int) -> list[Dataset]:
    if isinstance(data, Dataset):
        return [data.check(model.arch)]
    if isinstance(data, Sequence) and data and all(isinstance(d, Dataset) for d in data):
        if len(data) not in (1, runs):
            raise DataError("data", f"has {len(data)} datasets for {runs} runs")
        return [d.check(model.arch) for d in data]
    raise DataError("data", "the reference trainer needs raw Datasets (not Gram forms)")


def _fixed_lr(lr: Any, runs: int) -> FloatArray:
    try:
        arr = np.asarray(lr, dtype=np.float64)
        out = np.broadcast_to(arr, (runs,)).copy()
    except (TypeError, ValueError, OverflowError):
        raise ConfigError("lr", f"is {lr!r:.60}; the reference trainer needs a fixed positive "
                          "step (a number or one per run)") from None
    if not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise ConfigError("lr", f"is {lr!r:.60}; the reference trainer needs a fixed positive "
                          "step")
    return out


def _per_run(model: Model, theta0: FloatArray, Xs: list[Any], Ys: list[Any], steps: int,
             lr: FloatArray, record_every: int | None) -> _Recorded:
    """One module per run, trained one after the other."""
    import torch

    runs = theta0.shape[0]
    final = np.empty_like(theta0)
    per_p: list[list[FloatArray]] = []
    per_l: list[list[float]] = []
    for r in range(runs):
        X = Xs[r if len(Xs) > 1 else 0]
        Y = Ys[r if len(Ys) > 1 else 0]
        net = model.reference_module(theta0[r])
        xin, target = model.reference_input(X), model.reference_input(Y)
        params = list(net.parameters())
        rec_p: list[FloatArray] = []
        rec_l: list[float] = []
        for t in range(steps + 1):
            lv = ((net(xin) - target) ** 2).sum()
            if record_every is not None and (t % record_every == 0 or t == steps):
                rec_p.append(_flat(params, 1)[0])
                rec_l.append(float(lv.detach()))
            if t == steps:
                break
            grads = torch.autograd.grad(lv, params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p -= lr[r] * g
        final[r] = _flat(params, 1)[0]
        per_p.append(rec_p)
        per_l.append(rec_l)
    if record_every is None:
        return final, [], [], []
    traj_s = [t for t in range(steps + 1) if t % record_every == 0 or t == steps]
    traj_p = [np.stack([per_p[r][i] for r in range(runs)]) for i in range(len(traj_s))]
    traj_l = [np.array([per_l[r][i] for r in range(runs)]) for i in range(len(traj_s))]
    return final, traj_s, traj_p, traj_l


def _flat(params: list[Any], R: int) -> FloatArray:
    return np.concatenate([p.detach().numpy().reshape(R, -1) for p in params], axis=1)


def _grouped(model: Model, theta0: FloatArray, Xs: list[Any], Ys: list[Any], steps: int,
             lr: FloatArray, record_every: int | None) -> _Recorded:
    """All runs at once (run ``r`` on channel / batch entry ``r``)."""
    import torch

    R = theta0.shape[0]
    lr_t = torch.as_tensor(lr, dtype=torch.float64)
    if len(Xs) == 1:
        X = Xs[0].T.unsqueeze(1).expand(-1, R, -1)  # (N, R, n_0): run r reads channel r
        Y = Ys[0].T.unsqueeze(1).expand(-1, R, -1)
    else:
        X = torch.stack([x.T for x in Xs], dim=1)
        Y = torch.stack([y.T for y in Ys], dim=1)
    X, Y = X.contiguous(), Y.contiguous()
    params, forward = model.reference_grouped(theta0)
    traj_s: list[int] = []
    traj_p: list[FloatArray] = []
    traj_l: list[FloatArray] = []
    for t in range(steps + 1):
        per_run = ((forward(X) - Y) ** 2).sum(dim=(0, 2))
        if record_every is not None and (t % record_every == 0 or t == steps):
            traj_s.append(t)
            traj_p.append(_flat(params, R))
            traj_l.append(per_run.detach().numpy().copy())
        if t == steps:
            break
        grads = torch.autograd.grad(per_run.sum(), params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= lr_t.reshape(R, *([1] * (p.dim() - 1))) * g
    return _flat(params, R), traj_s, traj_p, traj_l
