"""The gauge-fixed chart of the critical equations (MATH.md 7-9).

The loss ``L(w) = (mu(w) - u)^T G (mu(w) - u) + c`` is invariant under the rescalings
``w_i -> l_i w_i`` with ``prod l_i = 1`` (MATH.md 7), so its critical points with ``mu(w) != 0``
come in orbits. The chart picks one point per orbit: on every layer of size ``k_i >= 2`` a
random *real* affine slice ``a_i . w_i = 1``, parametrized as ``w_i = a_i + B_i z_i`` with
``B_i`` an orthonormal basis of ``a_i^perp`` (``z_i in C^{k_i - 1}``); layers of size 1 are the
scalar 1; and one scale ``lam``, so that the end-to-end filter is ``v = lam mu(w)``. Unknowns
``x = (z_1, ..., z_A, lam)``, ``n = sum_i (k_i - 1) + 1`` of them.

Equations (square: ``n`` of them). With ``r = lam mu(w) - u`` and ``J_i = d mu / d w_i``, the
critical equations ``J_i^T G r = 0`` hold for all ``i`` iff

* ``E_i = B_i^T J_i^T G r = 0`` (``k_i - 1`` equations per layer) and
* ``E_0 = mu^T G r = 0`` (one equation),

because ``(B_i, w_i)`` is a basis of ``C^{k_i}`` and Euler's identity ``J_i w_i = mu`` turns
``w_i . J_i^T G r`` into ``E_0`` for every layer (so plain "gradient = 0 plus slices" is
over-determined; the factor ``lam`` of the ``w_i``-gradient is divided out, so ``lam = 0``
gives no spurious component). Every orbit meeting all slices (all orbits, for slices chosen
independently of the data) is exactly one root with ``lam != 0``. Written with ``b = G u`` the
equations are *linear* in the data ``(G, b)``, which the parameter homotopy and the start
instance use.

Real slices and real data make a real system, so a real critical orbit is a real root of the
chart, and realness can be certified with a conjugation-invariant box (:mod:`.certify`).

This module is NumPy only: the slices, the 0/1 tensor ``E`` of ``mu`` (``mu = E . (w_1 (x) ...
(x) w_A)`` over the layers of size >= 2) and the maps between chart points and layer filters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lcn.architecture import Architecture

__all__ = ["Chart", "make_chart"]

ComplexArray = NDArray[np.complex128]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Chart:
    """Random real slices of one architecture (see the module docstring).

    ``active``: indices of the layers with ``k_i >= 2``; ``a[j]``, ``B[j]``: slice normal
    (unit, real, ``k``) and orthonormal basis of its complement (``k x (k-1)``) of active layer
    ``j``; ``sizes``/``strides``: ``k_i`` and cumulative strides ``S_i`` of the active layers;
    ``m = d + 1``; ``n`` unknowns; ``E`` the 0/1 tensor of shape ``(m, k_{a_1}, ...)`` with
    ``E[t, j_1, ...] = 1`` iff ``t = sum_a j_a S_a``.
    """

    arch: Architecture
    seed: int
    active: tuple[int, ...]
    a: tuple[FloatArray, ...]
    B: tuple[FloatArray, ...]
    E: FloatArray = field(repr=False)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(self.arch.k[i] for i in self.active)

    @property
    def strides(self) -> tuple[int, ...]:
        S = self.arch.S
        return tuple(S[i] for i in self.active)

    @property
    def m(self) -> int:
        return self.arch.filter_size

    @property
    def n(self) -> int:
        return sum(k - 1 for k in self.sizes) + 1

    @property
    def offsets(self) -> tuple[int, ...]:
        """Start of each active layer's ``z`` block in ``x``."""
        out, acc = [], 0
        for k in self.sizes:
            out.append(acc)
            acc += k - 1
        return tuple(out)

    def layers(self, x: ComplexArray) -> list[ComplexArray]:
        """Active-layer filters ``w_j = a_j + B_j z_j`` for chart points ``x`` (``(..., n)``)."""
        x = np.asarray(x)
        return [self.a[j] + x[..., o:o + k - 1] @ self.B[j].T
                for j, (o, k) in enumerate(zip(self.offsets, self.sizes, strict=True))]

    def mu(self, x: ComplexArray) -> ComplexArray:
        """``mu(w)`` of the chart layers (without ``lam``), shape ``(..., m)``."""
        ws = self.layers(x)
        if not ws:  # every layer has size 1: mu = (1,)
            return np.ones((*np.asarray(x).shape[:-1], 1), np.complex128)
        letters = "abcdefghijklmnopqrstuvw"[:len(ws)]
        spec = "t" + letters + "," + ",".join("..." + c for c in letters) + "->...t"
        return np.einsum(spec, self.E.astype(np.complex128), *ws)

    def full_layers(self, x: ComplexArray) -> list[ComplexArray]:
        """All ``L`` layer filters of chart points (size-1 layers ``[1]``), ``lam`` absorbed
        into the first layer, shape ``(..., k_i)`` each."""
        x = np.asarray(x)
        batch = x.shape[:-1]
        ws = self.layers(x)
        out: list[ComplexArray] = []
        it = iter(ws)
        for i in range(self.arch.layers):
            out.append(next(it) if i in self.active else np.ones((*batch, 1), np.complex128))
        out[0] = out[0] * x[..., -1:]
        return out


def make_chart(arch: Architecture, seed: int) -> Chart:
    """The chart of ``arch`` with slices drawn from ``numpy.random.default_rng([seed, 9])``:
    Gaussian normals ``a_i`` (normalized), ``B_i`` from a QR factorization."""
    rng = np.random.default_rng([seed, 9])
    active = tuple(i for i, k in enumerate(arch.k) if k >= 2)
    a_s, B_s = [], []
    for i in active:
        k = arch.k[i]
        a = rng.standard_normal(k)
        a /= np.linalg.norm(a)
        M = np.concatenate([a[:, None], rng.standard_normal((k, k - 1))], axis=1)
        Q, _ = np.linalg.qr(M)
        B = Q[:, 1:]
        B = B - np.outer(a, a @ B)  # exact complement to rounding
        a_s.append(a)
        B_s.append(np.ascontiguousarray(B))
    sizes = [arch.k[i] for i in active]
    S = arch.S
    E = np.zeros((arch.filter_size, *sizes))
    for idx in np.ndindex(*sizes):
        E[(sum(j * S[i] for j, i in zip(idx, active, strict=True)), *idx)] = 1.0
    assert math.prod(sizes) == E[0].size
    return Chart(arch, seed, active, tuple(a_s), tuple(B_s), E)
