"""The local critical-point search: ``grad L(w) = 0`` from many random starts, batched, then
deduplicated (MATH.md 7, 8)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn._validate import check_int, check_real, check_seed, check_size
from lcn.errors import ConfigError
from lcn.training._json import json_array
from lcn.training.backend import small_op_threads, torch_setup
from lcn.training.data import Dataset
from lcn.training.engine import Engine
from lcn.training.gram import GramForm, gram_form
from lcn.training.loss import metrics
from lcn.training.model import Model, model_for
from lcn.training.polish import lm_solve
from lcn.training.train import MAX_WORK

__all__ = ["ZERO_RTOL", "CriticalPoints", "critical_points", "dedup_keys", "deduplicate"]

FloatArray = NDArray[np.float64]

#: A critical value ``v = mu(w)`` counts as the zero function when ``||v|| <= ZERO_RTOL ||u||``
#: (``u`` the unconstrained optimum of the Gram form); shared by the search's deduplication and
#: :func:`lcn.critical.classify_critical_points`, so both agree on which points are zero.
ZERO_RTOL = 1e-7

#: Layer orders listed per point before switching to a canonical order.
MAX_DEDUP_ORDERS = 720


@dataclass(frozen=True, eq=False)
class CriticalPoints:
    """Distinct critical points found by :func:`critical_points` (one row each).

    ``params`` (m, P): a representative with balanced layers (``||w_i||`` all equal; the
    all-zero vector for the zero class); ``function`` (m, filter_size) ``= mu(params)``;
    ``loss``, ``grad_norm``, ``rel_grad_norm``; ``converged`` (all ``True``: only converged
    solves are kept); ``count`` how many starts reached each point; ``labels`` (starts,) the
    index of the point each start reached, ``-1`` for starts that did not converge;
    ``starts``; ``tol``.
    """

    params: FloatArray
    function: FloatArray
    loss: FloatArray
    grad_norm: FloatArray
    rel_grad_norm: FloatArray
    converged: NDArray[np.bool_]
    count: NDArray[np.int64]
    labels: NDArray[np.int64]
    starts: int
    tol: float

    def __len__(self) -> int:
        return int(self.params.shape[0])

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (arrays as lists, non-finite floats as ``None``)."""
        out: dict[str, Any] = {"points": len(self), "starts": self.starts, "tol": self.tol}
        for name in ("params", "function", "loss", "grad_norm", "rel_grad_norm", "converged",
                     "count", "labels"):
            out[name] = json_array(getattr(self, name))
        return out


def critical_points(
    arch: Any,
    data: Dataset | GramForm,
    starts: int,
    seed: int = 0,
    device: str = "cpu",
    tol: float = 1e-10,
    max_iter: int = 80,
    tied_fraction: float = 0.25,
    *,
    dedup_tol: float = 1e-6,
) -> CriticalPoints:
    """Solve ``grad L(w) = 0`` from ``starts`` random starts, batched, and deduplicate.

    Each start runs the gauge-fixed Levenberg-Marquardt of
    :func:`lcn.training.polish.lm_solve` with the balanced gauge ``||w_1|| = ... = ||w_L||``
    (every rescaling orbit with all ``w_i != 0`` meets it), so solves converge to saddles and
    spurious points as well as minima. Starts: Gaussian layers at scale ``||u|| e^{z/2}``
    (``z`` standard normal); a fraction ``tied_fraction`` of them (when the architecture has
    interchangeable layers, i.e. equal sizes in one stride-one block) starts with those layers
    equal, which the iteration preserves: this finds the critical points with repeated filters
    (non-regular, often boundary or spurious, MATH.md 8).

    Deduplication (:func:`deduplicate`, relative tolerance ``dedup_tol``): points with
    ``mu(w) ~ 0`` form one class; otherwise two points are equal when their end-to-end filters
    agree and their layers agree up to rescaling and permuting interchangeable layers.
    """
    import torch

    model = model_for(arch)
    starts = check_int(starts, "starts", min=1, error=ConfigError)
    seed = check_seed(seed, error=ConfigError)
    tol = check_real(tol, "tol", min=0.0, error=ConfigError)
    max_iter = check_int(max_iter, "max_iter", min=0, max=10**6, error=ConfigError)
    tied_fraction = check_real(tied_fraction, "tied_fraction", min=0.0, max=1.0,
                               error=ConfigError)
    dedup_tol = check_real(dedup_tol, "dedup_tol", min=0.0, error=ConfigError)
    check_size(starts * model.P * (model.P + model.m + 1), "starts",
               what="entries of per-start working memory", limit=MAX_WORK, error=ConfigError)
    gf = gram_form(model.arch, data)
    th0 = _starts(model, gf, starts, seed, tied_fraction)
    dev, dt = torch_setup(device, "float64")
    eng = Engine(model, [gf], starts, dev, dt)
    with torch.no_grad(), small_op_threads(torch, dev, starts * model.P):
        theta = torch.as_tensor(th0, device=dev, dtype=dt)
        q0 = torch.zeros(starts, max(model.L - 1, 0), device=dev, dtype=dt)
        theta, _, _ = lm_solve(eng, theta, q0, max_iter, tol)
    params = theta.cpu().numpy().astype(np.float64)
    fin = metrics(model, [gf], params)
    ok = np.isfinite(fin["rel"]) & (fin["rel"] <= tol)
    return deduplicate(model, gf, params, ok, tol=tol, dedup_tol=dedup_tol)


def _starts(model: Model, gf: GramForm, starts: int, seed: int, tied: float) -> FloatArray:
    rng = np.random.default_rng(seed)
    unorm = max(float(np.linalg.norm(gf.u)), 1e-12)
    scale = unorm * np.exp(0.5 * rng.standard_normal(starts))
    th0 = model.init(rng, starts, scale)
    if model.perm_groups and tied > 0:
        n_tied = int(round(tied * starts))
        th0[:n_tied] = model.tie(th0[:n_tied])
    # the balanced representative of the same orbit
    return model.balance(th0)


def deduplicate(model: Model, gf: GramForm, params: FloatArray, ok: NDArray[np.bool_], *,
                tol: float, dedup_tol: float) -> CriticalPoints:
    """Group the converged rows ``params[ok]`` into distinct critical points (see
    :func:`critical_points`); the zero class gets the exact critical point ``w = 0``."""
    starts = params.shape[0]
    labels = np.full(starts, -1, dtype=np.int64)
    reps: list[int] = []
    reps_keys: list[FloatArray] = []
    v_all = model.mu(np.where(np.isfinite(params), params, 0.0))
    zero_thr = ZERO_RTOL * max(float(np.linalg.norm(gf.u)), 1e-12)
    zero_label = -1
    for i in (int(j) for j in np.nonzero(ok)[0]):
        if np.linalg.norm(v_all[i]) <= zero_thr:
            if zero_label < 0:
                zero_label = len(reps)
                reps.append(i)
                reps_keys.append(np.full(1, np.nan))
            labels[i] = zero_label
            continue
        keys = dedup_keys(model, params[i], v_all[i])
        found = next((j for j, rk in enumerate(reps_keys) if rk.shape == keys.shape[1:] and np.any(
            np.abs(keys - rk).max(axis=1) <= dedup_tol * max(1.0, float(np.abs(rk).max())))),
            -1)
        if found < 0:
            found = len(reps)
            reps.append(i)
            reps_keys.append(keys[0])
        labels[i] = found
    idx = np.array(reps, dtype=np.int64)
    out = params[idx].copy() if len(idx) else np.zeros((0, model.P))
    if zero_label >= 0:
        out[zero_label] = 0.0
    fin = metrics(model, [gf], out)
    if zero_label >= 0:
        fin["rel"][zero_label] = 0.0  # w = 0 is an exact critical point (L >= 2)
        fin["grad_norm"][zero_label] = 0.0
    return CriticalPoints(
        params=out,
        function=model.mu(out) if len(idx) else np.zeros((0, model.m)),
        loss=fin["loss"], grad_norm=fin["grad_norm"], rel_grad_norm=fin["rel"],
        converged=np.ones(len(idx), dtype=bool),
        count=np.array([(labels == j).sum() for j in range(len(reps))], dtype=np.int64),
        labels=labels, starts=starts, tol=tol,
    )


def dedup_keys(model: Model, theta: FloatArray, v: FloatArray) -> FloatArray:
    """Comparison keys of one point: ``mu(w) / ||mu(w)||_inf`` followed by the normalized
    layers (:meth:`Model.layer_keys`), one row per permutation of interchangeable layers (or
    one canonically sorted row when there are more than :data:`MAX_DEDUP_ORDERS`)."""
    vk = v / max(float(np.abs(v).max()), 1e-300)
    layers = model.layer_keys(theta)
    if layers is None:
        return vk[None, :]
    rows = [np.concatenate([vk, *[layers[i] for i in order]]) for order in _orders(model,
                                                                                    layers)]
    return np.stack(rows)


def _orders(model: Model, layers: list[FloatArray]) -> list[list[int]]:
    orders: list[list[int]] = [list(range(model.L))]
    if math.prod(math.factorial(len(g)) for g in model.perm_groups) > MAX_DEDUP_ORDERS:
        # too many orders to list (factorial growth): one canonical order per group instead,
        # layers sorted by their (sign-fixed, normalized) coefficients; exact ties are equal
        # layers, whose order does not matter
        order = orders[0]
        for group in model.perm_groups:
            ranked = sorted(group, key=lambda i: tuple(np.round(layers[i], 9)))
            for dst, src in zip(group, ranked, strict=True):
                order[dst] = src
        return orders
    for group in model.perm_groups:
        new = []
        for base in orders:
            for perm in itertools.permutations(group):
                b = list(base)
                for src, dst in zip(group, perm, strict=True):
                    b[dst] = base[src]
                new.append(b)
        orders = new
    return orders
