"""Second-order and conserved data of a critical point: the Morse index and nullity of the
Hessian of ``L = l o mu``, and the gradient-flow invariants (MATH.md 8)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lcn.critical.options import HESSIAN_RTOL
from lcn.critical.tangent import orth_basis

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SecondOrder:
    """``morse_index``: Hessian eigenvalues below ``-HESSIAN_RTOL * max|eigenvalue|``;
    ``nullity``: eigenvalues within that of zero, beyond the dimension of the symmetry orbit
    (``0`` at a Morse point modulo the symmetry); ``invariants``: ``||w_i||^2 - ||w_{i+1}||^2``,
    constant along gradient flow for every pair of layers (MATH.md 8)."""

    morse_index: int
    nullity: int
    invariants: tuple[float, ...]


def second_order(H: FloatArray, theta: FloatArray, slices: list[slice], orbit: FloatArray
                 ) -> SecondOrder:
    """The :class:`SecondOrder` data of ``theta`` from its Hessian ``H`` and the columns
    ``orbit`` spanning the tangent of its symmetry orbit."""
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    hn = max(float(np.abs(ev).max()), np.finfo(float).tiny)
    morse = int(np.sum(ev < -HESSIAN_RTOL * hn))
    kernel = int(np.sum(np.abs(ev) <= HESSIAN_RTOL * hn))
    orbit_dim = orth_basis(orbit).shape[1] if orbit.shape[1] else 0
    sq = [float(theta[s] @ theta[s]) for s in slices]
    return SecondOrder(morse, max(kernel - orbit_dim, 0),
                       tuple(sq[i] - sq[i + 1] for i in range(len(sq) - 1)))
