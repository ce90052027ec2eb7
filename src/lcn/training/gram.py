"""The squared-error loss as a quadratic form on end-to-end filters (MATH.md 8)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn.errors import DataError
from lcn.training.data import Dataset
from lcn.training.model import Model, model_for

__all__ = ["GramForm", "gram_form", "grams_for"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class GramForm:
    """The squared-error loss as a quadratic form on end-to-end filters (MATH.md 8):
    ``l(v) = (v - u)^T G (v - u) + c``.

    ``G`` is symmetric positive semi-definite (``m x m``, ``m = d + 1`` for an LCN,
    ``n_L n_0`` for a dense network), ``u`` a minimizer of ``l`` (the minimum-norm one when
    ``G`` is singular), ``c = min l >= 0``. ``norm`` is ``||G||_2`` (computed when not given).
    """

    G: FloatArray
    u: FloatArray
    c: float
    norm: float = field(default=0.0)

    def __post_init__(self) -> None:
        G = np.array(self.G, dtype=np.float64)
        u = np.array(self.u, dtype=np.float64).reshape(-1)
        if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] != u.shape[0]:
            raise DataError("G", f"has shape {G.shape}; it must be square, matching u {u.shape}")
        if not (np.all(np.isfinite(G)) and np.all(np.isfinite(u)) and math.isfinite(self.c)):
            raise DataError("G", "contains NaN or inf")
        G = 0.5 * (G + G.T)
        G.setflags(write=False)
        u.setflags(write=False)
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "c", float(self.c))
        if not self.norm:
            object.__setattr__(self, "norm", float(max(np.linalg.eigvalsh(G)[-1], 0.0)))

    @property
    def size(self) -> int:
        """Dimension ``m`` of the filter space."""
        return int(self.u.shape[0])

    def loss(self, v: Any) -> FloatArray:
        """``l(v)`` for filters ``v`` of shape ``(..., m)``."""
        r = np.asarray(v, dtype=np.float64) - self.u
        return np.einsum("...i,ij,...j->...", r, self.G, r) + self.c

    def grad(self, v: Any) -> FloatArray:
        """``grad l(v) = 2 G (v - u)``."""
        return 2.0 * (np.asarray(v, dtype=np.float64) - self.u) @ self.G


def gram_form(arch: Any, data: Dataset | GramForm) -> GramForm:
    """Reduce a dataset to ``l(v) = (v-u)^T G (v-u) + c`` (MATH.md 8).

    ``G_{jj'} = sum_{r,i} X_{rS+j,i} X_{rS+j',i}`` (``S = s_1...s_L``); ``u`` solves the normal
    equations ``G u = b`` with ``b_j = sum_{r,i} Y_{r,i} X_{rS+j,i}`` (``u = G^+ b``, the minimum
    norm solution when ``G`` is singular, e.g. ``n_L N < d + 1``); ``c`` is the residual
    ``||y - A u||^2``. Because ``b`` lies in the range of ``G`` the identity
    ``||Y - T X||^2 = (v-u)^T G (v-u) + c`` is exact for every ``v`` even for singular ``G``.
    """
    return _gram(model_for(arch), data)


def _gram(model: Model, data: Any) -> GramForm:
    if isinstance(data, GramForm):
        if data.size != model.m:
            raise DataError(
                "data", f"is a Gram form of size {data.size}; {model.arch} needs {model.m}"
            )
        return data
    if not isinstance(data, Dataset):
        raise DataError("data", f"must be an lcn.training.Dataset, got {type(data).__name__}")
    data.check(model.arch)
    A, y = model.design(data.X, data.Y)
    G = A.T @ A
    b = A.T @ y
    # u = G^+ b from the eigendecomposition of the small m x m matrix G (a LAPACK call on the
    # tall design matrix is needlessly slow under thread contention), with one step of iterative
    # refinement; c is then the residual itself, never the cancellation-prone ||y||^2 - u^T b
    lam, V = np.linalg.eigh(G)
    cut = max(float(lam[-1]), 0.0) * G.shape[0] * np.finfo(float).eps
    inv = np.where(lam > cut, 1.0 / np.where(lam > cut, lam, 1.0), 0.0)

    def pinv_apply(z: FloatArray) -> FloatArray:
        return V @ (inv * (V.T @ z))

    u = pinv_apply(b)
    u = u + pinv_apply(b - G @ u)
    res = y - A @ u
    return GramForm(G, u, float(res @ res), norm=float(max(lam[-1], 0.0)))


def grams_for(
    model: Model, data: Any, runs: int | None, argument: str = "data"
) -> list[GramForm]:
    """One Gram form (shared by all runs) or one per run, from a dataset, a Gram form, or a
    list of them (of length 1 or ``runs``)."""
    if isinstance(data, Dataset | GramForm):
        return [_gram(model, data)]
    if isinstance(data, Sequence) and not isinstance(data, str) and len(data) > 0:
        if runs is not None and len(data) not in (1, runs):
            raise DataError(
                argument, f"has {len(data)} datasets for {runs} runs; give one dataset, or one "
                "per run"
            )
        # one reduction per distinct dataset object (a list often repeats each dataset)
        cache: dict[int, GramForm] = {}
        for d in data:
            if id(d) not in cache:
                cache[id(d)] = _gram(model, d)
        return [cache[id(d)] for d in data]
    raise DataError(argument, "must be a Dataset, a GramForm, or a non-empty list of them")
