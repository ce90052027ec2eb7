"""Classification of critical points of the loss (MATH.md 5-8): location, purity and second
order, put together per point."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import training
from lcn.critical.categories import BOUNDARY_KIND, UNDECIDED, category_of
from lcn.critical.info import CriticalPointInfo
from lcn.critical.location import Location
from lcn.critical.models import Network, network_of
from lcn.critical.options import (
    CRITICAL_RANK_RTOL,
    GEOMETRY_TOL,
    NOT_CRITICAL_FACTOR,
    PURE_TOL,
    ClassifyOptions,
)
from lcn.critical.purity import Purity, purity
from lcn.critical.second_order import second_order
from lcn.errors import FilterError

FloatArray = NDArray[np.float64]


def classify_critical_points(
    arch: Any,
    data: Any,
    params: Any,
    tol: float = 1e-10,
    geometry_tol: float = GEOMETRY_TOL,
    rank_rtol: float = CRITICAL_RANK_RTOL,
    pure_tol: float = PURE_TOL,
) -> list[CriticalPointInfo]:
    """Classify critical points ``params`` (``(n, P)`` or ``(P,)``; a ``TrainResult`` or
    ``CriticalPoints`` is accepted too) of the loss given by ``data`` (a ``Dataset`` or a
    ``GramForm``). See :mod:`lcn.critical` for every field and its tolerance.

    ``tol`` is the relative-gradient tolerance the points were solved to; a point whose
    ``rel_grad_norm`` exceeds ``1e3 * tol`` is not a critical point: its classification is
    still computed but flagged ``undecided`` with a note. Points with the same ``v`` up to
    ``1e-9`` share the (costly) location step. Rows with non-finite parameters (diverged
    runs) get the label ``"undecided"``.
    """
    net = network_of(arch)
    opt = ClassifyOptions(tol, geometry_tol, rank_rtol, pure_tol)
    if hasattr(params, "params"):
        params = params.params
    try:
        th = np.asarray(params, dtype=np.float64)
    except (TypeError, ValueError):
        raise FilterError("params", "must be a numeric array of shape (n, P)") from None
    if th.ndim == 1:
        th = th[None]
    P = int(sum(net.arch.k))
    if th.ndim != 2 or th.shape[1] != P:
        raise FilterError("params", f"has shape {th.shape}; expected (n, {P})")
    finite = np.all(np.isfinite(th), axis=1)
    good = _classify_finite(net, data, th[finite], opt) if finite.any() else []
    it = iter(good)
    return [replace(next(it), index=i) if finite[i] else _nonfinite_info(net, i)
            for i in range(th.shape[0])]


@dataclass(frozen=True)
class _Point:
    """What the classification of one point needs, computed in batch beforehand."""

    index: int
    theta: FloatArray
    v: FloatArray
    J: FloatArray
    grad_l: FloatArray
    scale: float
    rel: float
    H: FloatArray
    loss: float
    u_norm: float


def _classify_finite(net: Network, data: Any, th: FloatArray, opt: ClassifyOptions
                     ) -> list[CriticalPointInfo]:
    gf = training.gram_form(net.arch, data)
    V = training.function(net.arch, th)
    J = training.function_jacobian(net.arch, th)
    grad_l = gf.grad(V)
    scale = np.maximum(2.0 * gf.norm * (np.linalg.norm(V, axis=1) + np.linalg.norm(gf.u)),
                       np.finfo(float).tiny)
    rel = training.relative_gradient_norm(net.arch, gf, th)
    H = training.hessian(net.arch, gf, th)
    losses = gf.loss(V)
    u_norm = float(np.linalg.norm(gf.u))
    cache: dict[bytes, Location] = {}
    return [
        _classify_one(net, _Point(i, th[i], V[i], J[i], grad_l[i], float(scale[i]),
                                  float(rel[i]), H[i], float(losses[i]), u_norm), opt, cache)
        for i in range(th.shape[0])
    ]


def _classify_one(net: Network, pt: _Point, opt: ClassifyOptions,
                  cache: dict[bytes, Location]) -> CriticalPointInfo:
    notes: list[str] = []
    undecided = pt.rel > NOT_CRITICAL_FACTOR * opt.tol
    if undecided:
        notes.append(f"not critical: rel_grad_norm {pt.rel:.1e} > 1e3 * tol")
    so = second_order(pt.H, pt.theta, net.slices, net.orbit_tangent(pt.theta))
    zero = float(np.linalg.norm(pt.v)) <= training.ZERO_RTOL * max(pt.u_norm, 1e-300)
    rank = net.rank(pt.theta, pt.J, opt.rank_rtol)
    regular = rank == net.dimension
    if zero:
        where = Location("zero", source="factorization")
        pur = Purity(True, 0.0, 0)  # the zero stratum is a point: nothing to test
    else:
        where = net.locate(pt.theta, pt.v, opt, cache)
        if where.undecided:
            notes.append("location undecided by classify; read from the factorization")
        pur = purity(net.stratum_tangent(pt.theta, where, opt), pt.grad_l, pt.scale,
                     opt.pure_tol)
    if pur.note:
        notes.append(pur.note)
    undecided = undecided or where.undecided or pur.pure is None
    if regular and pur.pure is False:
        # grad L = J^T grad l = 0 with J onto the tangent space forces purity: the rank and the
        # projected gradient disagree at these tolerances (e.g. two layers nearly share a root)
        undecided = True
        notes.append("regular but not pure: rank and projected-gradient readings disagree")
    return CriticalPointInfo(
        index=pt.index,
        category=category_of(zero=zero, pure=pur.pure, location=where.location),
        zero=zero,
        regular=regular,
        rank=rank,
        dimension=net.dimension,
        location=where.location,
        # the geometry's labels rank boundary above singular (exact.CATEGORY_PRECEDENCE), so
        # a boundary point can be singular too: its component tells
        smooth=where.location not in ("zero", "singular") and where.component is None,
        singular_component=where.component,
        boundary=BOUNDARY_KIND.get(where.location, "none"),
        pure=pur.pure,
        spurious_in_M=not zero and not (where.location == "interior" and pur.pure is True),
        stratum_dimension=pur.stratum_dimension,
        projected_gradient=pur.projected_gradient,
        morse_index=so.morse_index,
        nullity=so.nullity,
        invariants=so.invariants,
        loss=pt.loss,
        rel_grad_norm=pt.rel,
        undecided=undecided,
        source=where.source,
        notes=tuple(notes),
    )


def _nonfinite_info(net: Network, index: int) -> CriticalPointInfo:
    return CriticalPointInfo(
        index=index, category=UNDECIDED, zero=False, regular=False, rank=0,
        dimension=net.dimension, location=UNDECIDED, smooth=False,
        singular_component=None, boundary="none", pure=None, spurious_in_M=False,
        stratum_dimension=None, projected_gradient=float("nan"), morse_index=0, nullity=0,
        invariants=tuple(float("nan") for _ in range(len(net.slices) - 1)),
        loss=float("nan"), rel_grad_norm=float("inf"), undecided=True, source="none",
        notes=("non-finite parameters (a diverged run)",),
    )
