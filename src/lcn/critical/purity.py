"""Pure or spurious (MATH.md 8): is ``v = mu(w)`` a critical point of ``l`` restricted to the
stratum of ``M`` holding it, i.e. is ``grad l(v) = 2 G (v - u)`` orthogonal to the stratum's
tangent space?

Facts worth knowing (proved in :mod:`lcn.critical` and observed in the tests): a critical point
of a *dense* network is always pure in this sense (``col W`` and ``row W`` lie in those of the
partial products), and so is a *stride-one* critical point on the boundary (the pattern
tangent lies in ``im d mu(w) = (v / lcm) R_{deg lcm}``). Spurious points appear where ``w`` is
not regular but ``v`` is a smooth interior point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lcn.critical.options import PURE_MARGIN

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Purity:
    """``pure`` (``None``: undecided or no tangent), the ``projected_gradient``
    ``||P_T grad l(v)|| / scale`` (NaN without a tangent), the ``stratum_dimension`` and a
    ``note`` saying why it is undecided."""

    pure: bool | None
    projected_gradient: float
    stratum_dimension: int | None
    note: str | None = None


def purity(T: FloatArray | None, grad_l: FloatArray, scale: float, pure_tol: float) -> Purity:
    """Pure when the projected gradient is at most ``pure_tol``, spurious above
    ``pure_tol * PURE_MARGIN``, undecided in between or when the tangent ``T`` (orthonormal
    columns) is unknown."""
    if T is None:
        return Purity(None, float("nan"), None, "stratum tangent undetermined")
    proj = float(np.linalg.norm(T.T @ grad_l)) / scale
    dim = int(T.shape[1])
    if proj <= pure_tol:
        return Purity(True, proj, dim)
    if proj > pure_tol * PURE_MARGIN:
        return Purity(False, proj, dim)
    return Purity(None, proj, dim, f"projected gradient {proj:.1e} within the margin of "
                  f"{pure_tol}")
