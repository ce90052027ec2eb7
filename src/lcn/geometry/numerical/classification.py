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
from lcn.geometry.numerical.snap import config_residual, events, pair_distances, snap

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

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of every field (tuples as lists; ``component_distances`` as a list
        of ``{"component": [...], "distance": x}``). ``category`` and ``component`` are written
        under the keys of the exact answer, ``Membership.to_json()``: ``classification`` and
        ``singular_component``, so both branches of ``lcn member --json`` read alike."""
        return {
            "classification": self.category,
            "singular_component": None if self.component is None else list(self.component),
            "candidates": list(self.candidates),
            "tol": self.tol,
            "distance": self.distance,
            "residual": self.residual,
            "root_tolerance": self.root_tolerance,
            "i_s_degrees": list(self.i_s_degrees),
            "in_closure": self.in_closure,
            "real_roots": self.real_roots,
            "multiplicities": list(self.multiplicities),
            "component_distances": [{"component": list(c), "distance": d}
                                    for c, d in self.component_distances],
        }


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
    if arch.filling:  # M = R[x,y]_d, one block (MATH.md 3): every other form is interior
        return Classification("interior", None, ("interior",), tol, 0.0,
                              i_s_degrees=(arch.degree,))
    levels = levels_of(arch)
    fs = f / safe_norm(f)
    band = _Band(tol / margin, tol, tol * margin)
    ev_f = search(fs, levels, band.hi)
    reader = _Reader(arch, fs, levels, band, ev_f)
    ts = {band.lo, tol, band.hi} | {e.residual for e in ev_f if band.lo < e.residual <= band.hi}
    if band.lo < reader.dist <= band.hi:
        ts.add(reader.dist)
    outcomes = {t: reader.verdict_at(t) for t in sorted(ts)}
    names = tuple(sorted({"outside" if o is None else o.verdict.category
                          for o in outcomes.values()}))
    category = names[0] if len(names) == 1 else "undecided"
    # diagnostics: the configuration behind the verdict at tol (outside: the most snapped
    # configuration of f within tol)
    within = [e for e in ev_f if e.residual <= tol]
    shown = outcomes[tol] or (within[-1] if within else ev_f[0])
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
        category, vd.component if on_sing else None, names, tol, float(min(reader.dist, 1.0)),
        float(shown.residual), float(shown.eta), vd.i_s_degrees, vd.in_closure,
        vd.real_roots, tuple(sorted(shown.mults, reverse=True)), comp_d,
    )


@dataclass(frozen=True)
class _Band:
    """The tolerances ``[lo, hi] = [tol / margin, tol * margin]`` a verdict must be stable on."""

    lo: float
    tol: float
    hi: float


@dataclass(frozen=True)
class Eval:
    """One snapped configuration: root tolerance, certificate, verdict, multiplicities."""

    eta: float
    residual: float
    verdict: Verdict
    mults: tuple[int, ...]


#: A configuration that certifies membership nowhere: ``f`` is within the tolerance of ``M``
#: (by :func:`nearest`) but no snapping of ``f`` or of the nearest point is in ``M``.
_UNREAD = Verdict("undecided", None, True, True, (), 0)


class _Reader:
    """The verdict of :func:`classify` at each tolerance ``t`` (MATH.md 3-6): ``outside``
    (``None``) when the distance to ``M`` exceeds ``t``, else the most snapped configuration
    in ``M`` within ``t``. The distance is the smallest certificate of a snapped member, or
    :func:`nearest`'s when that leaves ``outside`` in play, so a verdict is never
    ``outside`` at a distance within the tolerance and never claims membership beyond it."""

    def __init__(self, arch: Architecture, fs: FloatArray, levels: Sequence[Level],
                 band: _Band, ev_f: list[Eval]) -> None:
        self.arch, self.fs, self.levels, self.band = arch, fs, levels, band
        self.in_m = [e for e in ev_f if e.verdict.in_function_space]
        self.dist = min((e.residual for e in self.in_m), default=math.inf)
        self.near: NearestResult | None = None
        if self.dist > band.lo:
            # two root-orbit starts settle clear cases; near the band search properly
            near = nearest(arch, fs, starts=2)
            if near.distance <= 100 * band.hi:
                near = min(near, nearest(arch, fs), key=lambda res: res.distance)
            self.near = near
            self.dist = min(self.dist, near.distance)
        self._ev_p: list[Eval] | None = None

    def verdict_at(self, t: float) -> Eval | None:
        if self.dist > t:
            return None
        ok = [e for e in self.in_m if e.residual <= t]
        if ok:
            return ok[-1]
        # f is within t of M but no snapping of f shows it: read the nearest point
        ev_p = self._point_evals()
        ok = [e for e in ev_p if e.residual <= max(t - self.dist, t / CLASSIFY_MARGIN)]
        return ok[-1] if ok else (ev_p[0] if ev_p else Eval(0.0, self.dist, _UNREAD, ()))

    def _point_evals(self) -> list[Eval]:
        if self._ev_p is None:
            near = self.near if self.near is not None else nearest(self.arch, self.fs)
            p = near.point / safe_norm(near.point) if np.any(near.point) else near.point
            self._ev_p = ([e for e in search(p, self.levels, self.band.hi)
                           if e.verdict.in_function_space] if np.any(p) else [])
        return self._ev_p


def _deflations(fs: FloatArray, limits: Sequence[float]) -> list[FloatArray]:
    """``fs`` with its leading ``m_inf`` and trailing ``m_0`` coefficients set to zero, for the
    largest counts whose removed part has norm at most each limit (relative to the unit norm
    of ``fs``). A root of multiplicity ``m`` at inf (0) under noise ``eps`` splits into roots at
    chordal distance ``eps^(1/m)``, invisible to root snapping for large ``m``; its
    coefficients show it directly. Only deflations that remove nonzero coefficients."""
    n = fs.size
    head = np.sqrt(np.cumsum(fs**2))  # head[m-1] = ||fs[:m]||
    tail = np.sqrt(np.cumsum(fs[::-1] ** 2))
    out: list[FloatArray] = []
    seen: set[tuple[int, int]] = {(0, 0)}
    for lim in limits:
        m_inf = int(np.searchsorted(head, lim, side="right"))
        m_0 = int(np.searchsorted(tail, lim, side="right"))
        while m_inf + m_0 >= n:  # keep a nonzero core
            m_inf, m_0 = (m_inf - 1, m_0) if m_inf >= m_0 else (m_inf, m_0 - 1)
        if (m_inf, m_0) in seen or not (np.any(fs[:m_inf]) or np.any(fs[n - m_0:])):
            continue
        seen.add((m_inf, m_0))
        g = fs.copy()
        g[:m_inf] = 0.0
        g[n - m_0:] = 0.0
        out.append(g)
    return out


def search(fs: FloatArray, levels: Sequence[Level], limit: float) -> list[Eval]:
    """Snap the roots of ``fs`` at increasing root tolerances (:func:`events`); every distinct
    configuration met with certificate at most ``limit`` is decided and returned, the most
    snapped (fewest distinct points) last. The first entry is the raw configuration (only
    exact repetitions merged), returned even when its certificate exceeds ``limit``. Forms
    whose end coefficients are within ``limit`` of zero are also searched with them removed
    (:func:`_deflations`), and those configurations join the list.

    The tolerances are walked a decade at a time (the end of every run of events before a
    gap of a decade, and one event per decade inside long runs), all the way up: the
    certificate is not monotone in the tolerance (a wrong merge can fail it at a small
    tolerance while snapping a cluster of roots at a larger one passes it, and the raw roots
    of forms with many roots on circles are ill-conditioned). Every decade whose start passes
    and whose end fails is walked event by event up to its first failure (at most about six
    events, :func:`events` keeps one per factor 1.5)."""
    strides = [lv.S for lv in levels if lv.n > 0 and lv.S > 1]
    evals: list[Eval] = []
    seen: dict[tuple[Any, ...], bool] = {}
    for g in [fs, *_deflations(fs, (limit / CLASSIFY_MARGIN**2, limit))]:
        _walk(g, strides, fs, levels, limit, evals, seen)
    raw, rest = evals[0], evals[1:]
    rest.sort(key=lambda e: (-len(e.mults), e.eta))
    return [raw, *[e for e in rest if e.residual <= limit]]


def _walk(g: FloatArray, strides: Sequence[int], fs: FloatArray, levels: Sequence[Level],
          limit: float, evals: list[Eval], seen: dict[tuple[Any, ...], bool]) -> None:
    """The decade walk of :func:`search` over the roots of ``g`` (``fs`` or a deflation of
    it), certificates against ``fs``, appending to ``evals``."""
    roots = P.roots(g)
    dist = pair_distances(roots)
    fine = events(roots, strides)
    # the end of every run of events followed by a gap of a decade (the most snapped
    # configuration before the gap), and one event per decade inside long runs
    coarse: list[int] = []
    for i, v in enumerate(fine):
        gap_next = i + 1 == len(fine) or fine[i + 1] > 10 * v
        if not coarse or gap_next or v >= 10 * max(fine[coarse[-1]], 1e-15):
            coarse.append(i)

    def run(eta: float) -> bool:
        """Evaluate one tolerance; False when the certificate exceeds the limit."""
        vals, mults = snap(roots, strides, eta, g, dist=dist)
        key = (tuple(np.round(vals, 12).tolist()), tuple(mults))
        if key in seen:
            return seen[key]
        r = config_residual(vals, mults, fs)
        ok = r <= limit
        seen[key] = ok
        if ok or not evals:
            evals.append(Eval(eta, r, decide(vals, mults, levels), tuple(mults)))
        return ok

    passed = [run(fine[i]) for i in coarse]
    for t in range(len(coarse) - 1):
        a, b = coarse[t], coarse[t + 1]
        if passed[t] and not passed[t + 1]:
            for j in range(a + 1, b):  # the decade before a failure, event by event
                if not run(fine[j]):
                    break
