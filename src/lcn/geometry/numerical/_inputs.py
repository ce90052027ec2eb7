"""Argument coercion shared by the numerical verbs: the target vector, the metric factor, and
an overflow-free norm (the verbs are scale-invariant, so they work on ``f / ||f||``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import forms
from lcn.architecture import Architecture
from lcn.errors import FilterError

FloatArray = NDArray[np.float64]


def target_vector(arch: Architecture, filt: Any, argument: str = "filter") -> FloatArray:
    f = forms.as_float(filt, argument)
    if f.ndim != 1:
        raise FilterError(argument, "must be one end-to-end filter (a 1-D vector), not a batch")
    if f.shape[0] != arch.filter_size:
        raise FilterError(
            argument,
            f"has {f.shape[0]} entries but the end-to-end filter of {arch} has "
            f"d+1 = {arch.filter_size}; give d+1 coefficients ordered x^d, ..., y^d",
        )
    return np.array(f, dtype=np.float64)


def metric_factor(metric: Any, n: int) -> FloatArray | None:
    """``C`` with ``C^T C = metric`` (upper triangular), or ``None`` for the Euclidean norm."""
    if metric is None:
        return None
    M = forms.as_float(metric, "metric", min_ndim=2)
    if M.shape != (n, n):
        raise FilterError(
            "metric", f"has shape {M.shape}; it must be a ({n}, {n}) positive definite matrix"
        )
    scale = float(np.max(np.abs(M)))
    if scale == 0 or not np.allclose(M, M.T, rtol=1e-10, atol=1e-12 * scale):
        raise FilterError("metric", "must be a symmetric positive definite matrix")
    try:
        Lc = np.linalg.cholesky((M + M.T) / 2)
    except np.linalg.LinAlgError:
        raise FilterError(
            "metric", "is not positive definite; give a symmetric positive definite matrix "
            "(e.g. the data Gram matrix plus a small ridge)"
        ) from None
    return np.ascontiguousarray(Lc.T)


def safe_norm(f: FloatArray) -> float:
    """Euclidean norm without overflow or underflow: scale by ``max|f|`` first (the answers
    are scale-invariant, and entries near 1e308 or 1e-320 are legal floats)."""
    m = float(np.max(np.abs(f))) if f.size else 0.0
    if m == 0.0:
        return 0.0
    return m * float(np.linalg.norm(f / m))

