"""Tangent spaces of the strata of ``M`` at ``v = mu(w)`` (the spaces purity is tested on).

* smooth interior: ``im d mu`` at a regular preimage (``w`` itself when regular, else the
  block products of the reduced architecture; all of ``R^{d+1}`` when full-dimensional);
* singular component ``M_{d',S}``: ``im d mu_{d'}`` at a factorization on that component;
* boundary: the forms whose block polynomials (in ``x^{S_b}, y^{S_b}``) keep the
  root-multiplicity pattern of ``w``'s, tangent ``sum_b (v / P_b) (P_b / rad P_b)
  R[X,Y]_{deg rad P_b}`` (MATH.md 6 describes the boundary by these multiplicities);
* dense, rank ``r'``: the rank-``r'`` matrices, tangent ``{A : U_perp^T A V_perp = 0}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn import forms, parametrization
from lcn.architecture import Architecture
from lcn.critical.options import CRITICAL_RANK_RTOL
from lcn.dense import DenseArchitecture, split_dense
from lcn.geometry.numerical.model import BatchModel

FloatArray = NDArray[np.float64]


def orth_basis(M: FloatArray, rtol: float = CRITICAL_RANK_RTOL) -> FloatArray:
    """Orthonormal basis (columns) of the column space of ``M`` at relative tolerance."""
    if M.size == 0:
        return np.zeros((M.shape[0], 0))
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((M.shape[0], 0))
    return U[:, s > rtol * s[0]]


def block_polys(arch: Architecture, filters: Sequence[FloatArray]) -> list[FloatArray]:
    """Block polynomials ``P_b`` (coefficients in ``X^{D_b}, ..., Y^{D_b}`` with
    ``X = x^{S_b}``): products of the layer filters of each stride-one block."""
    return [forms.product([np.asarray(filters[i], dtype=np.float64) for i in block])
            for block in arch.blocks()]


def image(arch: Architecture, filters: Sequence[Any]) -> FloatArray:
    """``im d mu`` at ``filters``, computed at the balanced point of their rescaling orbit
    (same image, better conditioned)."""
    theta = np.concatenate([np.real(np.asarray(f, dtype=np.complex128)) for f in filters])
    bal = BatchModel(arch.k, arch.S).balance(theta[None])[0]
    return orth_basis(parametrization.jacobian(arch, parametrization.split_params(arch, bal)))


def pattern_tangent(arch: Architecture, filters: Sequence[FloatArray], tol: float
                    ) -> FloatArray:
    """Tangent space of the forms whose block polynomials keep the root-multiplicity pattern
    of ``w``'s: ``sum_b (prod_{c != b} pi_{S_c}(P_c)) pi_{S_b}((P_b / rad P_b) R_{deg rad P_b})``;
    multiple roots are read off the float roots by :func:`lcn._projective.cluster_by_multiplicity`
    at ``tol``."""
    polys = block_polys(arch, filters)
    S_blocks = [arch.S[block[0]] for block in arch.blocks()]
    vecs = []
    for b, (Pb, Sb) in enumerate(zip(polys, S_blocks, strict=True)):
        D = len(Pb) - 1
        others = [forms.upsample(polys[c], S_blocks[c]) for c in range(len(polys)) if c != b]
        rest = forms.product(others) if others else np.ones(1)
        if D == 0:
            vecs.append(forms.multiply(rest, forms.upsample(np.ones(1), Sb)))
            continue
        clusters = P.cluster_by_multiplicity(P.roots(Pb), tol)
        repeated = [(t, m - 1) for t, m in clusters if m > 1]
        Q = np.real(P.form_from_roots([t for t, _ in repeated], [m for _, m in repeated]))
        r = D - (len(Q) - 1)
        for j in range(r + 1):
            mono = np.zeros(r + 1)
            mono[j] = 1.0
            vecs.append(forms.multiply(rest, forms.upsample(forms.multiply(Q, mono), Sb)))
    return orth_basis(np.stack([np.asarray(x, dtype=np.float64).reshape(-1) for x in vecs],
                               axis=1))


def lcn_stratum_tangent(arch: Architecture, theta: FloatArray, location: str,
                        component_factorization: Any, tol: float) -> FloatArray | None:
    """The stratum tangent of an LCN point (see the module docstring), ``None`` where it
    cannot be determined (no regular preimage found, no factorization on the component)."""
    filters = parametrization.split_params(arch, theta)
    if location == "interior":
        if arch.full_dimensional:
            return np.eye(arch.filter_size)
        T = image(arch, filters)
        if T.shape[1] == arch.dimension:
            return T
        Tr = image(arch.reduced(), block_polys(arch, filters))
        return Tr if Tr.shape[1] == arch.dimension else None
    if location == "singular":
        if component_factorization is None:
            return None
        comp_arch, comp_filters = component_factorization
        return image(comp_arch, comp_filters)
    if location.startswith("boundary"):
        return pattern_tangent(arch, filters, tol)
    return None


def dense_matrix(arch: DenseArchitecture, theta: FloatArray) -> FloatArray:
    """The end-to-end matrix ``W_L ... W_1``."""
    Ws = split_dense(arch, theta)
    W = Ws[0]
    for Wi in Ws[1:]:
        W = Wi @ W
    return W


def matrix_rank(W: FloatArray, rtol: float) -> int:
    """Singular values of ``W`` above ``rtol * sigma_max``."""
    s = np.linalg.svd(W, compute_uv=False)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


def dense_stratum_tangent(arch: DenseArchitecture, theta: FloatArray, rtol: float
                          ) -> FloatArray:
    """Tangent space of ``{rank = r'}`` at ``W``: ``{A : U_perp^T A V_perp = 0}`` (row-major
    vectorization), spanned by ``U_i e_j^T`` and ``e_j V_i^T``; all matrices when the
    network fills its matrix space."""
    nL, n0 = arch.widths[-1], arch.widths[0]
    if arch.filling:  # M is the whole matrix space: every point is smooth and interior
        return np.eye(nL * n0)
    W = dense_matrix(arch, theta)
    U, _, Vt = np.linalg.svd(W)
    rk = matrix_rank(W, rtol)
    if rk == 0:
        return np.zeros((nL * n0, 0))
    left = np.einsum("ai,jb->ijab", U[:, :rk], np.eye(n0)).reshape(rk * n0, -1)
    right = np.einsum("ja,ib->ijab", np.eye(nL), Vt[:rk]).reshape(rk * nL, -1)
    return orth_basis(np.concatenate([left, right]).T, rtol)
