"""The loss ``L(w) = l(mu(w))`` on the Gram form and its derivatives, in NumPy (MATH.md 8)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn._validate import check_size
from lcn.errors import FilterError
from lcn.training.backend import small_op_threads
from lcn.training.data import Dataset
from lcn.training.engine import Engine
from lcn.training.gram import GramForm, gram_form
from lcn.training.model import Model, as_params, model_for

__all__ = [
    "function",
    "function_jacobian",
    "loss",
    "gradient",
    "hessian",
    "relative_gradient_norm",
    "metrics",
]

FloatArray = NDArray[np.float64]


def _checked(arch: Any, params: Any, per_row: str = "m") -> tuple[Model, FloatArray]:
    model = model_for(arch)
    th = as_params(model, params)
    rows = th.size // model.P
    width = {"m": model.m, "mP": model.m * model.P, "PP": model.P * (model.P + model.m)}
    check_size(rows * width[per_row], "params", what="output entries", error=FilterError)
    return model, th


def function(arch: Any, params: Any) -> FloatArray:
    """``mu(w)`` for flat parameters ``(..., P)`` (LCN end-to-end filter, or ``vec(W)``)."""
    model, th = _checked(arch, params)
    return model.mu(th)


def function_jacobian(arch: Any, params: Any) -> FloatArray:
    """Jacobian ``d mu(w)`` of shape ``(..., m, P)``."""
    model, th = _checked(arch, params, "mP")
    return model.jacobian(th)


def loss(arch: Any, data: Dataset | GramForm, params: Any) -> FloatArray:
    """``L(w) = l(mu(w))`` via the Gram form (NumPy, batched over leading axes)."""
    return gram_form(arch, data).loss(function(arch, params))


def gradient(arch: Any, data: Dataset | GramForm, params: Any) -> FloatArray:
    """``grad L(w) = d mu(w)^T 2 G (mu(w) - u)`` (NumPy, batched)."""
    gf = gram_form(arch, data)
    model, th = _checked(arch, params, "mP")
    return np.einsum("...mp,...m->...p", model.jacobian(th), gf.grad(model.mu(th)))


def hessian(arch: Any, data: Dataset | GramForm, params: Any) -> FloatArray:
    """Hessian of ``L`` at ``params`` (``(..., P, P)``; closed-form Jacobian and an exact
    difference quotient of the multilinear ``mu``, :meth:`Engine.hessian`, in float64)."""
    import torch

    gf = gram_form(arch, data)
    model, th = _checked(arch, params, "PP")
    flat = th.reshape(-1, th.shape[-1])
    eng = Engine(model, [gf], flat.shape[0], torch.device("cpu"), torch.float64)
    with small_op_threads(torch, torch.device("cpu"), flat.size), torch.no_grad():
        H = eng.hessian(torch.as_tensor(flat, dtype=torch.float64))
    return H.numpy().reshape(*th.shape, th.shape[-1])


def relative_gradient_norm(arch: Any, data: Dataset | GramForm, params: Any) -> FloatArray:
    """``||grad L(w)|| / (||d mu(w)||_F * 2 ||G||_2 * (||mu(w)|| + ||u||))``.

    The denominator bounds ``||d mu^T 2 G (mu - u)||`` by the sizes of its factors, so the ratio
    is invariant under scaling the data and measures how far ``w`` is from critical in units of
    the rounding error of the gradient itself (about ``1e-16`` at an exact critical point).
    """
    gf = gram_form(arch, data)
    model, th = _checked(arch, params, "mP")
    J = model.jacobian(th)
    v = model.mu(th)
    g = np.einsum("...mp,...m->...p", J, gf.grad(v))
    den = (
        np.linalg.norm(J, axis=(-2, -1)) * 2.0 * gf.norm
        * (np.linalg.norm(v, axis=-1) + np.linalg.norm(gf.u))
    )
    return np.linalg.norm(g, axis=-1) / np.maximum(den, np.finfo(float).tiny)


#: Rows per block of :func:`metrics`.
METRIC_BLOCK = 8192


def _fill(out: dict[str, FloatArray], rows: slice, J: FloatArray, v: FloatArray,
          gf: GramForm) -> None:
    g = np.einsum("rmp,rm->rp", J, gf.grad(v))
    gn = np.linalg.norm(g, axis=1)
    den = (np.linalg.norm(J, axis=(1, 2)) * 2.0 * gf.norm
           * (np.linalg.norm(v, axis=1) + np.linalg.norm(gf.u)))
    out["loss"][rows] = gf.loss(v)
    out["grad_norm"][rows] = gn
    out["rel"][rows] = gn / np.maximum(den, np.finfo(float).tiny)


def metrics(model: Model, grams: list[GramForm], params: FloatArray) -> dict[str, FloatArray]:
    """Loss, gradient norm and relative gradient norm of each row of ``params`` in NumPy
    (float64, closed-form ``J``): the figures every result reports, computed the same way
    whatever trainer produced the point. ``grams``: one shared form or one per row.
    Non-finite rows get NaN (and ``rel = inf``)."""
    runs = params.shape[0]
    out = {"loss": np.empty(runs), "grad_norm": np.empty(runs), "rel": np.empty(runs)}
    finite = np.all(np.isfinite(params), axis=1)
    safe = np.where(finite[:, None], params, 0.0)
    # blocks of rows: the Jacobians of 10^5 runs alone would take 100 MB
    for lo in range(0, runs, METRIC_BLOCK):
        hi = min(runs, lo + METRIC_BLOCK)
        J = model.jacobian(safe[lo:hi])
        v = model.mu(safe[lo:hi])
        if len(grams) == 1:
            _fill(out, slice(lo, hi), J, v, grams[0])
            continue
        for r in range(lo, hi):
            _fill(out, slice(r, r + 1), J[r - lo : r - lo + 1], v[r - lo : r - lo + 1],
                  grams[r])
    for key in out:
        out[key][~finite] = np.nan
    out["rel"][~finite] = np.inf
    return out
