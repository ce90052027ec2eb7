"""Tolerant classification of a float filter relative to ``M`` (MATH.md 3-6): the categories
of the exact geometry, or ``undecided`` when the verdict is not stable within the margin."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn._validate import check_real
from lcn.architecture import Architecture, as_architecture
from lcn.errors import FilterError
from lcn.geometry.numerical._inputs import safe_norm, target_vector
from lcn.geometry.numerical.decide import Verdict, decide
from lcn.geometry.numerical.levels import Level, levels_of
from lcn.geometry.numerical.nearest_point import NearestResult, nearest
from lcn.geometry.numerical.snap import config_residual, events, snap

FloatArray = NDArray[np.float64]


#: Default tolerance of :func:`classify`, relative to ``||f||_2``.
CLASSIFY_TOL = 1e-8


#: :func:`classify` says ``undecided`` when its verdict differs anywhere in
#: ``[tol / CLASSIFY_MARGIN, tol * CLASSIFY_MARGIN]``.
CLASSIFY_MARGIN = 10.0


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify`.

    * ``category``: one of :data:`lcn.geometry.exact.CATEGORIES` or ``"undecided"``;
    * ``component``: for a point of ``M`` on a singular component (``singular``, and boundary
      points that are also singular), the degree vector ``d'`` (reduced architecture) of the
      smallest-dimensional one (MATH.md 5), as the exact ``singular_component``; else ``None``;
    * ``candidates``: the categories in play (one element when decided);
    * ``tol``: the tolerance, relative to ``||f||_2``; ``distance``: distance from ``f`` to
      ``M`` relative to ``||f||_2`` (an upper bound from the snapped configuration when it is in
      ``M``, else from :func:`nearest`);
    * diagnostics of the snapped configuration at ``tol``: ``residual`` (relative distance
      from ``f`` to the snapped form), ``root_tolerance`` (the chordal root-space tolerance used
      for snapping), ``i_s_degrees`` (``deg I_{S_j}`` for the reduced levels, MATH.md 4),
      ``in_closure``, ``real_roots`` (real roots with multiplicity), ``multiplicities`` (of the
      distinct roots), and ``component_distances``: relative distance from ``f`` to each
      singular component ``M_{d',S}`` (only with ``details=True``; else empty).
    """

    category: str
    component: tuple[int, ...] | None
    candidates: tuple[str, ...]
    tol: float
    distance: float
    residual: float = 0.0
    root_tolerance: float = 0.0
    i_s_degrees: tuple[int, ...] = ()
    in_closure: bool = True
    real_roots: int = 0
    multiplicities: tuple[int, ...] = ()
    component_distances: tuple[tuple[tuple[int, ...], float], ...] = ()


def classify(
    arch: Architecture,
    filter: Any,
    tol: float = CLASSIFY_TOL,
    *,
    margin: float = CLASSIFY_MARGIN,
    details: bool = False,
) -> Classification:
    """Tolerant classification of a float filter relative to ``M`` (MATH.md 3-6).

    Categories as in :func:`lcn.geometry.exact.membership`: ``zero``, ``interior``,
    ``singular`` (with its component), ``boundary_stride1``, ``boundary_reduced``,
    ``outside``; and ``undecided`` when the verdict is not stable.

    Method (tolerance ``tol`` relative to ``||f||_2``): the roots of ``f`` on the projective
    line are snapped at increasing root-space tolerances ``eta`` (clusters become multiple
    roots, conjugation-closed clusters real roots, near-orbits of ``S``-th roots of unity exact
    orbits; see :func:`snap`). Each snapped configuration is an exact form ``F_eta``; its
    relative distance ``r(eta) = min_c ||c F_eta - f|| / ||f||`` certifies it, and its
    category is decided exactly (``I_S`` degrees from complete orbits, slack, real counts of
    the pieces, the orbit-kind greedy, singular components and boundary degenerations: the
    procedure of the exact geometry on the snapped orbit data, see :func:`decide`). The
    verdict at tolerance ``t`` is ``outside`` when the distance from ``f`` to ``M`` exceeds
    ``t``, else the category of the most snapped member configuration with ``r <= t``. The
    distance is the smallest certificate of a snapped member, or :func:`nearest`'s when that
    leaves ``outside`` in play (and when no snapping of ``f`` within ``t`` is in ``M`` the
    nearest point's configuration is classified). If the verdicts for tolerances in
    ``[tol / margin, tol * margin]`` differ, the answer is ``undecided`` with those verdicts
    as ``candidates``.

    Only the exact zero vector is ``zero`` (the other categories are invariant under scaling).
    Exact input (ints, fractions, strings) is converted to floats; its exact answer is
    :func:`lcn.geometry.exact.membership`.
    """
    arch = as_architecture(arch)
    f = target_vector(arch, filter)
    tol = check_real(tol, "tol", min=0.0, max=0.5, min_open=True, error=FilterError)
    margin = check_real(margin, "margin", min=1.0, max=1e6, error=FilterError)
    if not np.any(f):
        return Classification("zero", None, ("zero",), tol, 0.0)
    levels = levels_of(arch)
    fs = f / safe_norm(f)
    lo, hi = tol / margin, tol * margin
    ev_f = search(fs, levels, hi)
    in_m = [e for e in ev_f if e.verdict.in_function_space]
    # distance to M: the snapped members of M bound it; ask nearest() only when that bound
    # leaves "outside" in play
    dist = min((e.residual for e in in_m), default=math.inf)
    near: NearestResult | None = None
    if dist > lo:
        # two root-orbit starts settle clear cases; near the band search properly
        near = nearest(arch, fs, starts=2)
        if near.distance <= 100 * hi:
            near = min(near, nearest(arch, fs), key=lambda res: res.distance)
        dist = min(dist, near.distance)
    ev_p: list[Eval] | None = None

    def in_m_at(t: float) -> Eval:
        nonlocal ev_p
        ok = [e for e in in_m if e.residual <= t]
        if ok:
            return ok[-1]
        if ev_p is None:  # f is within t of M but no snapping of f shows it: use the point
            p = (near if near is not None else nearest(arch, fs)).point
            ev_p = [e for e in search(p / float(np.linalg.norm(p)), levels, hi)
                    if e.verdict.in_function_space] or ev_f[:1]
        ok = [e for e in ev_p if e.residual <= max(t - dist, t / margin)]
        return ok[-1] if ok else ev_p[0]

    def verdict_at(t: float) -> Eval | None:
        return None if dist > t else in_m_at(t)

    ts = {lo, tol, hi} | {e.residual for e in ev_f if lo < e.residual <= hi}
    if lo < dist <= hi:
        ts.add(dist)
    outcomes = {t: verdict_at(t) for t in sorted(ts)}
    names = tuple(sorted({"outside" if o is None else o.verdict.category
                          for o in outcomes.values()}))
    chosen = outcomes[tol]
    # diagnostics: the configuration behind the verdict at tol (outside: the most snapped
    # configuration of f within tol)
    within = [e for e in ev_f if e.residual <= tol]
    shown = chosen if chosen is not None else (within[-1] if within else ev_f[0])
    category = names[0] if len(names) == 1 else "undecided"
    comp_d: tuple[tuple[tuple[int, ...], float], ...] = ()
    if details:
        Ss = [lv.S for lv in levels]
        strides = [*(b // a for a, b in zip(Ss, Ss[1:], strict=False)), 1]
        comp_d = tuple(
            (dp, nearest(Architecture([x + 1 for x in dp], strides), fs).distance)
            for dp in arch.singular_components)
    vd = shown.verdict
    on_sing = category in ("singular", "boundary_reduced", "boundary_stride1")
    return Classification(
        category,
        vd.component if on_sing else None,
        names,
        tol,
        float(min(dist, 1.0)),
        float(shown.residual),
        float(shown.eta),
        vd.i_s_degrees,
        vd.in_closure,
        vd.real_roots,
        tuple(sorted(shown.mults, reverse=True)),
        comp_d,
    )


@dataclass(frozen=True)
class Eval:
    """One snapped configuration: root tolerance, certificate, verdict, multiplicities."""

    eta: float
    residual: float
    verdict: Verdict
    mults: tuple[int, ...]


def search(fs: FloatArray, levels: Sequence[Level], limit: float) -> list[Eval]:
    """Snap the roots of ``fs`` at increasing root tolerances (:func:`events`); every distinct
    configuration met with certificate at most ``limit`` is decided and returned, sorted by
    tolerance. The first entry is the raw configuration (only exact repetitions merged),
    returned even when its certificate exceeds ``limit``.

    The tolerances are walked a decade at a time. The raw roots of a form with many roots on
    circles (orbits of roots of unity) are ill-conditioned, so small tolerances can fail the
    certificate while snapped orbits pass it: the walk goes on until a configuration passes,
    and stops at the first failure after that, walking the decade before it event by event
    (at most about six events, :func:`events` keeps one per factor 1.5)."""
    strides = [lv.S for lv in levels if lv.n > 0 and lv.S > 1]
    roots = P.roots(fs)
    fine = events(roots, strides)
    coarse: list[int] = []
    for i, v in enumerate(fine):
        if not coarse or v >= 10 * max(fine[coarse[-1]], 1e-15) or i + 1 == len(fine):
            coarse.append(i)
    evals: list[Eval] = []
    seen: dict[tuple[Any, ...], bool] = {}

    def run(eta: float) -> bool:
        """Evaluate one tolerance; False once the certificate exceeds the limit."""
        vals, mults = snap(roots, strides, eta)
        key = (tuple(np.round(vals, 12).tolist()), tuple(mults))
        if key in seen:
            return seen[key]
        r = config_residual(vals, mults, fs)
        ok = r <= limit
        seen[key] = ok
        if ok or not evals:
            evals.append(Eval(eta, r, decide(vals, mults, levels), tuple(mults)))
        return ok

    last = -1
    for i in coarse:
        if run(fine[i]):
            last = i
        elif last >= 0:
            for j in range(last + 1, i):  # the decade in between, event by event
                if not run(fine[j]):
                    break
            break
    evals.sort(key=lambda e: e.eta)
    return evals

