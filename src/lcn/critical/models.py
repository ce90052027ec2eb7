"""One interface for the two kinds of network (STYLE.md: numpy.polynomial's base class): what
the classification needs to know about an LCN or a dense linear network, chosen once by
:func:`network_of`; the classification itself never asks which kind it has.

A :class:`Network` answers: the rank of ``d mu(w)``, the tangent of the symmetry orbit of
``w`` (rescalings for an LCN, ``GL(n_1) x ... x GL(n_{L-1})`` for a dense network), the location
of ``v = mu(w)`` in ``M``, and the tangent space of the stratum holding it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import parametrization
from lcn.architecture import Architecture, as_architecture
from lcn.critical.location import Location, locate
from lcn.critical.options import GEOMETRY_TOL, ClassifyOptions
from lcn.critical.tangent import (
    dense_matrix,
    dense_stratum_tangent,
    lcn_stratum_tangent,
    matrix_rank,
)
from lcn.dense import DenseArchitecture, split_dense
from lcn.geometry.numerical import jacobian_rank

FloatArray = NDArray[np.float64]


class Network(ABC):
    """An architecture seen by the critical-point classification."""

    arch: Any

    @property
    def dimension(self) -> int:
        """``dim M``."""
        return int(self.arch.dimension)

    @property
    def slices(self) -> list[slice]:
        """The parameters of each layer within a flat parameter vector."""
        cuts = np.concatenate([[0], np.cumsum(self.arch.k)])
        return [slice(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]

    @abstractmethod
    def rank(self, theta: FloatArray, J: FloatArray, rtol: float) -> int:
        """``rank d mu(w)`` (``J`` the Jacobian at ``theta``) at relative tolerance ``rtol``."""

    @abstractmethod
    def orbit_tangent(self, theta: FloatArray) -> FloatArray:
        """Columns spanning the tangent of the symmetry orbit of ``theta`` (same ``mu``)."""

    @abstractmethod
    def locate(self, theta: FloatArray, v: FloatArray, opt: ClassifyOptions,
               cache: dict[bytes, Location]) -> Location:
        """Where ``v = mu(theta) != 0`` lies in ``M``."""

    @abstractmethod
    def stratum_tangent(self, theta: FloatArray, where: Location, opt: ClassifyOptions
                        ) -> FloatArray | None:
        """Orthonormal basis of the tangent of the stratum holding ``v``, or ``None``."""


class LCNNetwork(Network):
    """A linear convolutional network (MATH.md 1-7)."""

    def __init__(self, arch: Architecture) -> None:
        self.arch = arch

    def rank(self, theta: FloatArray, J: FloatArray, rtol: float) -> int:
        # jacobian_rank balances the layers first (same rank, better conditioned)
        filters = parametrization.split_params(self.arch, theta)
        return int(jacobian_rank(self.arch, filters, rtol=rtol).rank)

    def orbit_tangent(self, theta: FloatArray) -> FloatArray:
        """Rescalings ``w_i -> l_i w_i, prod l_i = 1``: the directions ``(w_i, -w_{i+1})``."""
        sl = self.slices
        gens = np.zeros((len(sl) - 1, theta.shape[0]))
        for i in range(len(sl) - 1):
            gens[i, sl[i]] = theta[sl[i]]
            gens[i, sl[i + 1]] = -theta[sl[i + 1]]
        return gens.T

    def locate(self, theta: FloatArray, v: FloatArray, opt: ClassifyOptions,
               cache: dict[bytes, Location]) -> Location:
        """Via :func:`lcn.critical.location.locate`, shared by points with the same ``v`` up
        to ``1e-9`` (relative)."""
        key = np.round(v / max(float(np.linalg.norm(v)), 1e-300), 9).tobytes()
        if key not in cache:
            filters = parametrization.split_params(self.arch, theta)
            cache[key] = locate(self.arch, v, filters, opt.geometry_tol)
        return cache[key]

    def stratum_tangent(self, theta: FloatArray, where: Location, opt: ClassifyOptions
                        ) -> FloatArray | None:
        return lcn_stratum_tangent(self.arch, theta, where.location, where.factorization,
                                   opt.geometry_tol)


class DenseNetwork(Network):
    """A dense linear network: ``M`` is the matrices of rank at most ``r`` (MATH.md 8)."""

    def __init__(self, arch: DenseArchitecture) -> None:
        self.arch = arch

    def rank(self, theta: FloatArray, J: FloatArray, rtol: float) -> int:
        return matrix_rank(J, rtol)

    def orbit_tangent(self, theta: FloatArray) -> FloatArray:
        """``W_{i+1} -> W_{i+1} E``, ``W_i -> -E W_i`` for every elementary ``E``."""
        Ws = split_dense(self.arch, theta)
        sl = self.slices
        gens = []
        for i in range(self.arch.layers - 1):
            n = self.arch.widths[i + 1]
            for a in range(n):
                for b in range(n):
                    E = np.zeros((n, n))
                    E[a, b] = 1.0
                    g = np.zeros(theta.shape[0])
                    g[sl[i + 1]] = (Ws[i + 1] @ E).reshape(-1)
                    g[sl[i]] = -(E @ Ws[i]).reshape(-1)
                    gens.append(g)
        return np.stack(gens, axis=1) if gens else np.zeros((theta.shape[0], 0))

    def locate(self, theta: FloatArray, v: FloatArray, opt: ClassifyOptions,
               cache: dict[bytes, Location]) -> Location:
        """Rank ``r' < r`` is singular, except when ``M`` fills the matrix space (then no
        point is singular); a dense network has no boundary."""
        rk = matrix_rank(dense_matrix(self.arch, theta), opt.rank_rtol)
        if rk < self.arch.rank and not self.arch.filling:
            return Location("singular", (rk,), False, "rank")
        return Location("interior", None, False, "rank")

    def stratum_tangent(self, theta: FloatArray, where: Location, opt: ClassifyOptions
                        ) -> FloatArray | None:
        return dense_stratum_tangent(self.arch, theta, opt.rank_rtol)


def network_of(arch: Any) -> Network:
    """The :class:`Network` of an architecture: the one place LCN and dense are told apart
    (a :class:`DenseArchitecture`, or whatever :func:`lcn.architecture.as_architecture`
    accepts)."""
    if isinstance(arch, DenseArchitecture):
        return DenseNetwork(arch)
    return LCNNetwork(as_architecture(arch))


def stratum_tangent(
    arch: Any,
    params: Any,
    location: str,
    component_factorization: Any = None,
    tol: float = GEOMETRY_TOL,
) -> FloatArray | None:
    """Orthonormal basis (columns) of the tangent space of the stratum of ``M`` containing
    ``v = mu(w)`` (see :mod:`lcn.critical.tangent`), or ``None`` where it cannot be
    determined. ``component_factorization``: ``(component architecture, filters)`` for a
    singular ``location``."""
    where = Location(location, None, False, "given", component_factorization)
    return network_of(arch).stratum_tangent(np.asarray(params, dtype=np.float64), where,
                                            ClassifyOptions(geometry_tol=tol))
