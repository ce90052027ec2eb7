"""Exact singular critical points for rank-deficient data (``N < d + 1``, MATH.md 5, 8).

With a Gram matrix ``G`` of rank ``r < d + 1`` the loss ``l(v) = (v-u)^T G (v-u) + c`` is
minimal on the affine space ``A = {v : G (v - u) = 0}`` of dimension ``d + 1 - r``. Every
``w`` with ``mu(w)`` in ``A`` is a critical point of ``L = l o mu`` (``grad L = d mu^T grad l``
and ``grad l = 0`` on ``A``), whatever ``d mu(w)`` is, so the points of ``A`` on a singular
component ``M_{d',S}`` of ``M`` are critical points that the theorem of MATH.md 8 excludes
for ``N >= d + 1``. This module computes them where that is linear algebra: a component whose
degree vector ``d'`` (of the reduced architecture, MATH.md 5) has one non-zero entry ``d'_i``
is the linear space ``R[x^{S_i}, y^{S_i}]_{d'_i}`` (one layer fills its space), and
``A`` meets it in the solutions of ``(G B) c = G u`` (``B`` its monomial basis): one point
when ``G B`` has full column rank and the system is consistent. The point is a critical point
of ``L`` when it lies in ``M`` itself (not only in its closure): decided by
:func:`lcn.geometry.nearest`, which also gives its layer filters. Components with more than
one non-zero entry are not linear; they are listed as not computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcn import geometry, training
from lcn.architecture import Architecture
from lcn.parametrization import balance_layers, join_params
from lcn.training import GramForm

__all__ = ["MEMBER_RTOL", "SingularPoints", "exact_singular_points"]

#: A point ``v`` of ``A`` on a component is taken to lie in ``M`` when the nearest point of
#: ``M`` is within ``MEMBER_RTOL * ||v||`` (:func:`lcn.geometry.nearest` polishes to about
#: ``1e-12``; a point only in the closure is at a distance of the order of ``||v||``).
MEMBER_RTOL = 1e-8
#: Relative residual ``||G (Bc - u)|| / (||G|| (||Bc|| + ||u||))`` below which ``Bc`` lies in
#: ``A`` (consistent system), and the relative singular-value threshold of ``G B``.
RESIDUAL_RTOL = 1e-9


@dataclass(frozen=True)
class SingularPoints:
    """The exact singular critical points of one dataset: ``params`` (``(n, P)`` balanced
    layer filters, lcn.training layout), the ``components`` ``d'`` they lie on, and ``notes``
    (components not computed, or met only outside ``M``)."""

    params: np.ndarray
    components: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...]


def _basis(arch: Architecture, dprime: tuple[int, ...]) -> np.ndarray | None:
    """Monomial basis ``B`` (``(d+1) x (d'_i+1)``) of a one-layer component
    ``R[x^{S_i}, y^{S_i}]_{d'_i}``; ``None`` for a component with several non-zero degrees."""
    red = arch.reduced()
    nz = [i for i, di in enumerate(dprime) if di > 0]
    if len(nz) != 1:
        return None
    i = nz[0]
    S, n = red.S[i], dprime[i]
    m = arch.degree + 1
    if S * n != arch.degree:
        return None
    # coefficient j of v is that of x^(d-j) y^j: F(x^S, y^S) has x^(S(n-a)) y^(S a)
    B = np.zeros((m, n + 1))
    for a in range(n + 1):
        B[S * a, a] = 1.0
    return B


def exact_singular_points(arch: Architecture, gram: GramForm) -> SingularPoints:
    """The critical points ``w`` of ``L`` with ``mu(w)`` on a linear singular component of
    ``M`` and ``grad l(mu(w)) = 0`` (see the module doc), for data whose Gram matrix is
    rank-deficient; each verified by its relative gradient norm (below ``1e-8``)."""
    G, u = np.asarray(gram.G), np.asarray(gram.u)
    gnorm = max(float(np.linalg.norm(G, 2)), np.finfo(float).tiny)
    params: list[np.ndarray] = []
    comps: list[tuple[int, ...]] = []
    notes: list[str] = []
    for dp in arch.singular_components:
        B = _basis(arch, dp)
        if B is None:
            notes.append(f"component {dp}: not linear, not computed")
            continue
        GB = G @ B
        sv = np.linalg.svd(GB, compute_uv=False)
        if sv.size == 0 or sv[-1] <= RESIDUAL_RTOL * max(sv[0], gnorm):
            notes.append(f"component {dp}: meets argmin l in a positive-dimensional set")
            continue
        c, *_ = np.linalg.lstsq(GB, G @ u, rcond=None)
        v = B @ c
        res = np.linalg.norm(G @ (v - u)) / (gnorm * (np.linalg.norm(v) + np.linalg.norm(u)))
        if not res <= RESIDUAL_RTOL or not np.any(v):
            continue  # the component misses argmin l (or meets it only at 0)
        near = geometry.nearest(arch, v)
        if not near.distance <= MEMBER_RTOL * float(np.linalg.norm(v)):
            notes.append(f"component {dp}: its point of argmin l is not in M (closure only)")
            continue
        theta = join_params(balance_layers([np.asarray(f, dtype=np.float64)
                                            for f in near.filters]))
        rel = float(training.relative_gradient_norm(arch, gram, theta[None, :])[0])
        if not rel <= 1e-8:
            notes.append(f"component {dp}: factorization not critical (rel. gradient {rel:.1e})")
            continue
        params.append(theta)
        comps.append(dp)
    P = arch.parameters
    arr = np.array(params, dtype=np.float64).reshape(len(params), P)
    return SingularPoints(arr, tuple(comps), tuple(notes))
