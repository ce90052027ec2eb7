"""Dense linear networks ``W_L ... W_1``: the comparator of MATH.md 8.

A dense architecture is a list of widths ``(n_0, n_1, ..., n_L)``; layer ``i`` is a matrix
``W_i`` of shape ``(n_i, n_{i-1})`` and the network computes ``W = W_L ... W_1``. Its function
space is the determinantal variety ``M_r = {W in R^{n_L x n_0} : rank W <= r}`` with
``r = min(n_0, ..., n_L)``: smooth of dimension ``r(n_0 + n_L - r)`` at matrices of rank exactly
``r``, singular along ``M_{r-1}``, and closed (no relative boundary). It is *filling* (all of
``R^{n_L x n_0}``) iff ``r = min(n_0, n_L)``.

Parameters are flattened layer by layer, each ``W_i`` row-major; the end-to-end "filter" is
``vec(W)`` (row-major, ``n_L * n_0`` entries). The squared-error loss on data ``X`` (``n_0 x N``),
``Y`` (``n_L x N``) is the quadratic form ``l(v) = (v-u)^T G (v-u) + c`` with
``G = I_{n_L} (x) X X^T``, ``u = vec(U)``, ``U`` the least-squares solution of ``U X = Y``
(see :func:`lcn.training.gram_form`), so the trainers and the critical-point search of
:mod:`lcn.training` work unchanged on dense networks.

Closed form (Baldi-Hornik; Trager-Kohn-Bruna 2020): for whitened data (``X X^T = I``) the
critical values ``W`` of the loss are exactly ``sum_{j in J} sigma_j a_j b_j^T`` for subsets
``J`` of at most ``r`` singular triples of ``U`` (:func:`whitened_critical_values`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn.errors import ArchitectureError, FilterError

__all__ = [
    "DenseArchitecture",
    "dense_mu",
    "dense_jacobian",
    "split_dense",
    "whitened_critical_values",
]


@dataclass(frozen=True)
class DenseArchitecture:
    """Widths ``(n_0, ..., n_L)`` of a dense linear network (immutable, hashable).

    >>> a = DenseArchitecture((4, 2, 4))
    >>> a.layers, a.rank, a.parameters, a.dimension, a.filling
    (2, 2, 16, 12, False)
    """

    widths: tuple[int, ...]

    def __init__(self, widths: Any) -> None:
        if isinstance(widths, str):
            items: Sequence[Any] = [t for t in widths.split(",") if t.strip()]
        elif isinstance(widths, Iterable):
            items = list(widths)
        else:
            raise ArchitectureError("widths", "must be a sequence of positive integers")
        out = []
        for i, v in enumerate(items):
            bad = ArchitectureError(
                "widths", f"entry {i} is {v!r}; widths must be positive integers"
            )
            if isinstance(v, bool):
                raise bad
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise bad from None
            if not fv.is_integer() or fv <= 0:
                raise bad
            out.append(int(fv))
        if len(out) < 2:
            raise ArchitectureError(
                "widths", "needs at least two entries (input and output width), e.g. 4,2,4"
            )
        object.__setattr__(self, "widths", tuple(out))

    def __repr__(self) -> str:
        return f"DenseArchitecture(widths={self.widths})"

    def __str__(self) -> str:
        return "dense " + ",".join(map(str, self.widths))

    @property
    def layers(self) -> int:
        """Number of layers ``L``."""
        return len(self.widths) - 1

    @property
    def rank(self) -> int:
        """Maximal rank ``r = min(n_0, ..., n_L)`` of the end-to-end matrix."""
        return min(self.widths)

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """Shapes ``(n_i, n_{i-1})`` of the layer matrices, layer 1 first."""
        w = self.widths
        return tuple((w[i + 1], w[i]) for i in range(self.layers))

    @property
    def k(self) -> tuple[int, ...]:
        """Number of parameters of each layer (``n_i n_{i-1}``); plays the role of the filter
        sizes of an LCN for the generic trainer."""
        return tuple(a * b for a, b in self.shapes)

    @property
    def parameters(self) -> int:
        """Number of parameters ``sum_i n_i n_{i-1}``."""
        return sum(self.k)

    @property
    def filter_size(self) -> int:
        """Number of entries ``n_L n_0`` of the end-to-end matrix (ambient dimension)."""
        return self.widths[0] * self.widths[-1]

    @property
    def dimension(self) -> int:
        """Dimension ``r (n_0 + n_L - r)`` of the function space ``M_r``."""
        r = self.rank
        return r * (self.widths[0] + self.widths[-1] - r)

    @property
    def filling(self) -> bool:
        """Whether ``M_r`` is all of ``R^{n_L x n_0}``."""
        return self.rank == min(self.widths[0], self.widths[-1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description."""
        return {
            "widths": list(self.widths),
            "layers": self.layers,
            "rank": self.rank,
            "parameters": self.parameters,
            "dimension": self.dimension,
            "filling": self.filling,
        }


def split_dense(arch: DenseArchitecture, theta: Any) -> list[NDArray[np.float64]]:
    """Split flat parameters ``(..., P)`` into the layer matrices ``(..., n_i, n_{i-1})``."""
    th = np.asarray(theta, dtype=np.float64)
    if th.shape[-1] != arch.parameters:
        raise FilterError(
            "params", f"has {th.shape[-1]} entries; the dense network has {arch.parameters}"
        )
    out, pos = [], 0
    for a, b in arch.shapes:
        out.append(th[..., pos : pos + a * b].reshape(*th.shape[:-1], a, b))
        pos += a * b
    return out


def dense_mu(arch: DenseArchitecture, theta: Any) -> NDArray[np.float64]:
    """``vec(W_L ... W_1)`` (row-major), batched over leading axes: shape ``(..., n_L n_0)``."""
    Ws = split_dense(arch, theta)
    W = Ws[0]
    for Wi in Ws[1:]:
        W = Wi @ W
    return W.reshape(*W.shape[:-2], W.shape[-2] * W.shape[-1])


def dense_jacobian(arch: DenseArchitecture, theta: Any) -> NDArray[np.float64]:
    """Jacobian of :func:`dense_mu`, shape ``(..., n_L n_0, P)``.

    ``d(A W_i B) = A dW_i B`` with ``A = W_L..W_{i+1}``, ``B = W_{i-1}..W_1``; in row-major
    vectorization ``vec(A dW B) = (A (x) B^T) vec(dW)``.
    """
    Ws = split_dense(arch, theta)
    batch = Ws[0].shape[:-2]
    n0, nL = arch.widths[0], arch.widths[-1]
    blocks = []
    for i in range(arch.layers):
        A = np.broadcast_to(np.eye(nL), (*batch, nL, nL))
        for Wj in Ws[i + 1 :][::-1]:
            A = A @ Wj
        B = np.broadcast_to(np.eye(n0), (*batch, n0, n0))
        for Wj in Ws[:i]:
            B = Wj @ B
        # A: (nL, n_i), B: (n_{i-1}, n0); block[(r,c),(a,b)] = A[r,a] B[b,c]
        blk = np.einsum("...ra,...bc->...rcab", A, B)
        blocks.append(blk.reshape(*batch, nL * n0, A.shape[-1] * B.shape[-2]))
    return np.concatenate(blocks, axis=-1)


def whitened_critical_values(
    U: NDArray[np.float64], rank: int, tol: float = 1e-12
) -> list[NDArray[np.float64]]:
    """All critical values of ``W -> ||W - U||_F^2`` on products of rank ``<= rank``
    (Baldi-Hornik): ``sum_{j in J} sigma_j a_j b_j^T`` over subsets ``J`` of the singular triples
    of ``U`` with ``|J| <= rank`` (distinct singular values assumed; singular values below
    ``tol * sigma_max`` are dropped, they give the same matrices)."""
    Ua, s, Vt = np.linalg.svd(np.asarray(U, dtype=np.float64), full_matrices=False)
    keep = [j for j in range(len(s)) if s[j] > tol * max(s[0], 1e-300)]
    out = []
    for size in range(0, min(rank, len(keep)) + 1):
        for J in itertools.combinations(keep, size):
            W = np.zeros_like(np.asarray(U, dtype=np.float64))
            for j in J:
                W += s[j] * np.outer(Ua[:, j], Vt[j])
            out.append(W)
    return out
