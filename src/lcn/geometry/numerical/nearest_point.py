"""The nearest point of the function space ``M`` (or of its Zariski closure) to a float
filter, with a factorization and a first-order certificate (MATH.md 3-4, 8)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn._validate import check_choice, check_int, check_real, check_seed
from lcn.architecture import Architecture, as_architecture
from lcn.errors import FilterError
from lcn.geometry.numerical._inputs import metric_factor, safe_norm, target_vector
from lcn.geometry.numerical.factorization import (
    closure_components,
    complex_factorization,
    factor_residual,
    layer_hyperroots,
    theta_filters,
)
from lcn.geometry.numerical.levels import Level, levels_of, reduced_levels
from lcn.geometry.numerical.lm import grad_norm, levenberg_marquardt
from lcn.geometry.numerical.model import BatchModel
from lcn.geometry.numerical.starts import fit_scale, init_batch, orbit_theta

FloatArray = NDArray[np.float64]


#: Default agreement/convergence tolerance of :func:`nearest`, relative to ``||f||_M``.
NEAREST_TOL = 1e-10


@dataclass(frozen=True)
class NearestResult:
    """Result of :func:`nearest`.

    * ``point``: the nearest point found, shape ``(d+1,)``;
    * ``filters``: layer filters of the ORIGINAL architecture with ``mu(filters) = point``
      (real arrays for ``function_space``; complex arrays when ``closure`` needs a complex
      factorization, MATH.md 4);
    * ``distance``: ``sqrt((point - f)^T M (point - f))`` (``M`` the metric, identity by
      default);
    * ``grad_norm``: first-order certificate ``||J^T r|| / (||J||_2 ||f||_M)`` at the found
      (balanced) layer filters, ``r`` the metric residual and ``J`` the Jacobian of ``mu``;
      zero at a critical point of the distance (also where the point is singular or on the
      boundary, where ``im d mu`` drops rank);
    * ``starts``: number of starts polished to convergence (at most the ``starts`` asked
      for; two when the first two agree on a near-member target, else the two first and
      ``starts // 2`` more after screening); ``screened``: number of root-orbit starting
      points tried (two when random filters are screened after them, up to degree 200);
      ``agreed``: the two best starts reached the same distance within ``tol * ||f||_M``;
      ``tol``: that tolerance;
    * ``residual``: ``max |mu(filters) - point| / max |point|`` (how well the returned
      factorization reproduces the point); ``component``: for ``closure``, the degree vector of
      the reduced architecture whose real function space holds the point (MATH.md 5).
    """

    point: FloatArray
    filters: list[Any]
    distance: float
    grad_norm: float
    starts: int
    agreed: bool
    tol: float
    residual: float = 0.0
    component: tuple[int, ...] | None = None
    screened: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: every field, arrays as lists; complex filter entries (``closure``
        only) as ``[re, im]`` pairs."""
        def num(v: Any) -> Any:
            c = complex(v)
            return c.real if c.imag == 0 else [c.real, c.imag]

        return {
            "point": [float(v) for v in self.point],
            "filters": [[num(v) for v in np.asarray(w).ravel()] for w in self.filters],
            "distance": float(self.distance),
            "grad_norm": float(self.grad_norm),
            "starts": int(self.starts),
            "screened": int(self.screened),
            "agreed": bool(self.agreed),
            "tol": float(self.tol),
            "residual": float(self.residual),
            "component": None if self.component is None else list(self.component),
        }


#: A target closer than this (relative) to the point found by the two first starts, which
#: agree, counts as a near-member: the remaining starts are skipped.
_NEAR_MEMBER = 1e-3


def multistart(
    model: BatchModel,
    levels: Sequence[Level],
    f: FloatArray,
    C: FloatArray | None,
    starts: int,
    seed: int,
    tol: float = NEAREST_TOL,
) -> tuple[FloatArray, FloatArray, int]:
    """Multi-start search for the nearest point (``f`` of unit norm).

    Two root-orbit starting points first: one from the roots of ``f`` taken cheapest-first,
    one with randomized choices; both are polished. If they agree within ``tol`` on a distance
    below ``_NEAR_MEMBER`` the target is a perturbed member and the search stops. Otherwise,
    for degrees ``d <= 200`` and two or more layers, ``8 * starts`` random filters are
    screened by a short batched LM run and the best ``starts // 2`` are polished to
    convergence; elsewhere the other ``starts - 2`` root-orbit starts are polished, with
    randomized choices, every other one from the roots of a randomly perturbed ``f`` (real
    roots merge into pairs and pairs split into real roots, exploring other orbit/reality
    configurations). Returns the polished parameters and costs sorted by cost, and the
    number of root-orbit starting points tried."""
    rng = np.random.default_rng(seed)
    pts = P.roots(f) if np.any(f) else np.zeros(model.n - 1, dtype=np.complex128)
    fn = float(np.linalg.norm(f))

    def orbit_start(b: int) -> FloatArray:
        if b == 0:
            return orbit_theta(pts, levels, model, rng, 0.0, 1e-6, False)
        sigma = fn * 10 ** rng.uniform(-2.5, -0.3) if b % 2 == 0 else 0.0
        g = f + sigma * rng.standard_normal(f.shape)
        pb = P.roots(g) if sigma and np.any(g) else pts
        return orbit_theta(pb, levels, model, rng, 0.7, 10 ** rng.uniform(-8, -0.5), True)

    first = min(2, starts)
    theta1 = init_batch(model, levels, np.stack([orbit_start(b) for b in range(first)]), f, C)
    theta1, cost1 = levenberg_marquardt(model, theta1, f, C)
    d1 = np.sqrt(np.maximum(cost1, 0.0))
    if first == starts or (first == 2 and abs(d1[0] - d1[1]) <= tol
                           and float(np.max(d1)) <= _NEAR_MEMBER):
        order = np.argsort(cost1, kind="stable")
        return theta1[order], cost1[order], first
    # on a target away from M, random filters find the basins that further root orbits would,
    # at a fraction of the cost of an orbit start (Python work on the roots): measured on 12-24
    # generic targets per architecture at degrees 10 and 50, as close as with six more orbit
    # starts, 1.3-2.5x faster. Beyond degree 200 their screening costs more than it finds, and
    # a single layer has nothing to randomize.
    n_rand = 8 * starts if model.n <= 201 and model.L > 1 else 0
    inits = [] if n_rand else [orbit_start(b) for b in range(first, starts)]
    theta0 = init_batch(model, levels, np.stack(inits), f, C) if inits else np.zeros(
        (0, model.P))
    if n_rand:
        theta0 = np.concatenate([theta0, fit_scale(
            model, rng.standard_normal((n_rand, model.P)), f, C)])
        keep = max(1, starts // 2)  # the best of the screened starts
        theta0, cost0 = levenberg_marquardt(model, theta0, f, C, max_iter=25)
        theta0 = theta0[np.argsort(cost0, kind="stable")[:keep]]
    theta2, cost2 = levenberg_marquardt(model, theta0, f, C)
    theta = np.concatenate([theta1, theta2])
    cost = np.concatenate([cost1, cost2])
    order = np.argsort(cost, kind="stable")
    return theta[order], cost[order], first + len(inits)


def nearest(
    arch: Any,
    filter: Any,
    target: str = "function_space",
    metric: Any = None,
    starts: int = 8,
    seed: int = 0,
    *,
    tol: float = NEAREST_TOL,
) -> NearestResult:
    """Nearest point of the function space ``M`` (or its Zariski closure) to ``filter``.

    Minimizes ``||mu(w) - f||_M`` with ``||v||_M^2 = v^T M v`` (``metric = M`` positive
    definite, identity by default; training's loss is such a norm, MATH.md 8).

    Method: roots of ``f`` on the projective line are grouped into orbits of the ``S_l``-th
    roots of unity, top level first; complete (or nearly complete) orbits become hyperroots,
    taken as real hyperroots or conjugate pairs, and a stride-one block that needs ``e`` real
    hyperroots gets them by collapsing its most nearly real pairs (MATH.md 3-4, 6). The layer
    polynomials built from these (up to ``starts`` variants: cheapest-first, then randomized
    choices) are polished together by a batched Levenberg-Marquardt solve in the layer
    filters, rebalancing layer norms along the rescaling orbit. When the first two agree
    within ``tol`` on a relative distance below ``1e-3`` (a perturbed member) the search stops
    there; otherwise, for degree ``d <= 200``, ``8 * starts`` random filters screened by a
    short run compete with them (beyond, the other root-orbit variants; :func:`multistart`).

    ``target="closure"``: the real points of the Zariski closure are the union of the real
    function spaces ``M_{d',S}`` of the reduced architecture for ``d'`` in a short list (at
    most ``2^(L-1)``, see :func:`closure_components`), so the nearest point is the best over
    them; its factorization for the original architecture may be complex (MATH.md 4).

    Filling architectures (``M = R[x,y]_d``, MATH.md 3) give ``point = f``, distance ``0`` and a
    factorization. ``f = 0`` gives the zero point and zero filters.
    """
    arch = as_architecture(arch)
    f = target_vector(arch, filter)
    check_choice(target, "target", ("function_space", "closure"), error=FilterError)
    starts = check_int(starts, "starts", min=1, max=10_000, error=FilterError)
    seed = check_seed(seed, "seed", error=FilterError)
    tol = check_real(tol, "tol", min=0.0, min_open=True, error=FilterError)
    C = metric_factor(metric, arch.filter_size)
    fnorm = safe_norm(f if C is None else C @ f)
    if fnorm == 0:
        return NearestResult(np.zeros_like(f), [np.zeros(k) for k in arch.k], 0.0, 0.0, 0,
                             True, tol, 0.0, None)
    if target == "function_space":
        return _nearest_in_m(arch, f, fnorm, C, _Search(starts, seed, tol))
    return _nearest_in_closure(arch, f, fnorm, C, _Search(starts, seed, tol))


@dataclass(frozen=True)
class _Search:
    """The multistart options of one :func:`nearest` call."""

    starts: int
    seed: int
    tol: float


def _nearest_in_m(arch: Architecture, f: FloatArray, fnorm: float, C: FloatArray | None,
                  opt: _Search) -> NearestResult:
    """:func:`nearest` with ``target="function_space"`` (``fnorm = ||f||_M > 0``)."""
    fs = f / fnorm
    model = BatchModel(arch.k, arch.S)
    theta, cost, tried = multistart(model, levels_of(arch), fs, C, opt.starts, opt.seed,
                                    opt.tol)
    best = theta[0]
    dist = math.sqrt(max(float(cost[0]), 0.0))
    agreed = len(cost) > 1 and abs(math.sqrt(max(float(cost[1]), 0.0)) - dist) <= opt.tol
    gn = grad_norm(model, best[None, :], fs, C)
    filters: list[Any] = theta_filters(model, best, fnorm)
    point = model.mu(best[None, :])[0] * fnorm
    if arch.filling:  # M is all of R[x,y]_d (MATH.md 3): the target is its own nearest point
        point, dist = f.copy(), 0.0
    return NearestResult(point, filters, dist * fnorm, gn, len(cost), bool(agreed), opt.tol,
                         factor_residual(arch, filters, point), None, tried)


def _nearest_in_closure(arch: Architecture, f: FloatArray, fnorm: float,
                        C: FloatArray | None, opt: _Search) -> NearestResult:
    """:func:`nearest` with ``target="closure"``: the best over the real components
    ``M_{d',S}`` of the closure (:func:`closure_components`), factored for ``arch``."""
    fs = f / fnorm
    levels = levels_of(arch)
    Ss = [lv.S for lv in levels]
    if len(levels) == 1:
        hs = [complex(z) for z in P.roots(f)]
        filters, res = complex_factorization(arch, levels, [hs], f)
        return NearestResult(f.copy(), filters, 0.0, 0.0, 0, True, opt.tol, res,
                             (levels[0].n,))
    best: tuple[float, tuple[int, ...], FloatArray, BatchModel] | None = None
    runs: list[float] = []
    tried = 0
    for comp in closure_components(levels):
        model = BatchModel([c + 1 for c in comp], Ss)
        theta, cost, n_tried = multistart(model, reduced_levels(Ss, comp), fs, C, opt.starts,
                                          opt.seed, opt.tol)
        tried += n_tried
        runs += [math.sqrt(max(float(c), 0.0)) for c in cost]
        dist_c = math.sqrt(max(float(cost[0]), 0.0))
        if best is None or dist_c < best[0]:
            best = (dist_c, comp, theta[0], model)
    assert best is not None  # closure_components is never empty
    dist, comp, theta_b, model = best
    runs.sort()
    agreed = len(runs) > 1 and abs(runs[1] - runs[0]) <= opt.tol
    gn = grad_norm(model, theta_b[None, :], fs, C)
    point = model.mu(theta_b[None, :])[0] * fnorm
    level_roots = [layer_hyperroots(w[0]) for w in model.split(theta_b[None, :])]
    filters, res = complex_factorization(arch, levels, level_roots, point)
    return NearestResult(point, filters, dist * fnorm, gn, len(runs), bool(agreed), opt.tol,
                         res, comp, tried)
