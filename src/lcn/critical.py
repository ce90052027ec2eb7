"""Classification of critical points of the loss (MATH.md 5-8), for LCNs and dense networks.

For a critical point ``w`` of ``L = l o mu`` (from :func:`lcn.training.train` or
:func:`lcn.training.critical_points`) this module decides, with stated tolerances:

* ``zero``: ``mu(w) = 0``;
* ``regular`` / ``rank``: ``rank d mu(w)`` against ``dim M`` (MATH.md 7);
* the location of ``v = mu(w)`` in the function space ``M``: smooth interior point, on a
  singular component ``M_{d',S}`` (MATH.md 5), or on the relative boundary (stride-one or
  reduced kind, MATH.md 6). Dense networks: rank ``r' < r`` is singular, no boundary;
* ``pure`` or spurious: is ``v`` a critical point of ``l`` restricted to the *stratum* of ``M``
  containing it, i.e. is ``grad l(v) = 2 G (v - u)`` orthogonal to that stratum's tangent space?
  The strata (each with its own parametrization, so the tangent space may be larger than
  ``im d mu(w)`` at a non-regular ``w``):

  - smooth interior: the tangent space of ``M`` at ``v`` (``im d mu`` at a regular preimage: ``w``
    itself when regular, else the block products of the reduced architecture; all of
    ``R^{d+1}`` for full-dimensional architectures);
  - singular component ``M_{d',S}`` (the smallest one holding ``v``): ``im d mu_{d'}`` at a
    factorization of ``v`` in that architecture;
  - boundary: the forms whose block polynomials (in the hyperroot variables ``x^{S_b}, y^{S_b}``)
    keep the root-multiplicity pattern of ``w``'s; tangent ``sum_b (v / P_b) (P_b / rad P_b)
    R[X,Y]_{deg rad P_b}`` (MATH.md 6 describes the boundary by these multiplicities);
  - dense, rank ``r'``: the manifold of rank-``r'`` matrices, tangent
    ``{A : U_perp^T A V_perp = 0}``.

  Facts worth knowing (proved in the docstrings below and observed in the tests): a critical
  point of a *dense* network is always pure in this sense (``col W`` and ``row W`` lie in those
  of the partial products), and so is a *stride-one* critical point on the boundary (the
  pattern tangent lies in ``im d mu(w) = (v / lcm) R_{deg lcm}``). Spurious points appear where
  ``w`` is not regular but ``v`` is a smooth interior point, e.g. filters sharing a root in a
  stride-one block whose ``v`` keeps enough odd real roots (``k=(3,2,2)``, filling ``k=(3,3)``).
  The talk's weaker notion "``v`` is not in ``Crit(l|Reg M°)``", which makes every singular and
  boundary point spurious, is reported as ``spurious_in_M``;
* ``morse_index`` (number of negative eigenvalues of the Hessian of ``L``; it is a Morse index
  in the strict sense when ``nullity``, the Hessian's kernel dimension beyond the symmetry
  orbit, is ``0``) and the gradient-flow ``invariants`` ``||w_i||^2 - ||w_{i+1}||^2``.

``category`` is one of :data:`CATEGORIES`, by precedence ``zero`` > ``spurious`` (not pure on
its stratum) > ``singular`` > ``boundary`` > ``pure_smooth_interior``; only a row of non-finite
parameters (a diverged run) gets ``"undecided"`` instead. A verdict that is not
clear at the stated tolerances sets ``undecided = True`` (the category is then the best
numerical reading, and ``pure`` is ``None`` when that one is in doubt).

Location uses :func:`lcn.geometry.numerical.classify` on ``v``; where that is not available the
module decides from ``w``'s own factorization (``nearest`` on each singular component, root
multiplicities of the block polynomials), see :func:`locate_from_factorization`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import forms, parametrization
from lcn.architecture import Architecture
from lcn.dense import DenseArchitecture, split_dense
from lcn.errors import FilterError
from lcn.geometry.exact import singular_components

__all__ = [
    "CATEGORIES",
    "CriticalPointInfo",
    "classify_critical_points",
    "singular_components",
    "locate_from_factorization",
    "stratum_tangent",
    "category_counts",
]

FloatArray = NDArray[np.float64]

#: The categories of the experiment table (precedence left to right, see the module doc).
CATEGORIES: tuple[str, ...] = (
    "zero",
    "pure_smooth_interior",
    "singular",
    "boundary",
    "spurious",
)

#: ``||P_T grad l(v)|| / (2 ||G|| (||v|| + ||u||))`` at most this: pure; above
#: ``PURE_TOL * PURE_MARGIN``: spurious; in between: undecided.
PURE_TOL = 1e-6
PURE_MARGIN = 100.0
#: Relative tolerance for numerical ranks (Jacobians, tangent spaces, dense matrices).
RANK_RTOL = 1e-7
#: Relative tolerance of the location of ``v`` (distances to components, roots); the zero test
#: uses :data:`lcn.training.ZERO_RTOL`.
GEOMETRY_TOL = 1e-7


@dataclass
class CriticalPointInfo:
    """Classification of one critical point (see the module docstring for the definitions).

    ``location``: ``zero | interior | singular | boundary_stride1 | boundary_reduced``;
    ``boundary``: ``none | stride1 | reduced``; ``singular_component``: the degree vector ``d'``
    (LCN, of the reduced architecture) or ``(r',)`` (dense rank) for singular points;
    ``stratum_dimension``: dimension of the stratum used for ``pure``;
    ``projected_gradient``: ``||P_T grad l(v)|| / (2||G|| (||v|| + ||u||))``;
    ``rel_grad_norm``: the same normalization of ``||grad L(w)||`` (how critical ``w`` is);
    ``source``: how the location was decided (``"classify"`` or ``"factorization"``).
    """

    index: int
    category: str
    zero: bool
    regular: bool
    rank: int
    dimension: int
    location: str
    smooth: bool
    singular_component: tuple[int, ...] | None
    boundary: str
    pure: bool | None
    spurious_in_M: bool
    stratum_dimension: int | None
    projected_gradient: float
    morse_index: int
    nullity: int
    invariants: tuple[float, ...]
    loss: float
    rel_grad_norm: float
    undecided: bool = False
    source: str = "factorization"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of all fields."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def category_counts(infos: Sequence[CriticalPointInfo]) -> dict[str, int]:
    """Counts per category (all of :data:`CATEGORIES`, zeros included)."""
    out = dict.fromkeys(CATEGORIES, 0)
    for info in infos:
        out[info.category] += 1
    return out


# ============================================================================================
# Singular components and block structure (MATH.md 5, 6)
# ============================================================================================
def _block_polys(arch: Architecture, filters: Sequence[FloatArray]) -> list[FloatArray]:
    """Block polynomials ``P_b`` (coefficients in ``X^{D_b}, ..., Y^{D_b}`` with
    ``X = x^{S_b}``): products of the layer filters of each stride-one block."""
    return [forms.product([np.asarray(filters[i], dtype=np.float64) for i in block])
            for block in arch.blocks()]


def _block_odd(arch: Architecture) -> list[int]:
    """``e_b``: number of odd-degree layers in each block (MATH.md 3)."""
    return [sum(1 for i in block if arch.d[i] % 2 == 1) for block in arch.blocks()]


def _clustered_roots(P: FloatArray, tol: float) -> list[tuple[complex, int]]:
    """Projective roots of the form ``P`` grouped into clusters (distinct root, multiplicity).

    Roots closer than ``tol ** (1/m)``-ish merge: a root of multiplicity ``m`` of a perturbed
    form splits into a cluster of radius ``~ eps^(1/m)``; we merge greedily in the chordal
    metric with radius ``tol_m = tol^(1/m)`` for growing ``m`` until stable."""
    c = np.asarray(P, dtype=np.float64)
    scale = float(np.abs(c).max())
    n_inf = 0
    while n_inf < len(c) - 1 and abs(c[n_inf]) <= tol * scale:
        n_inf += 1
    pts: list[complex] = [complex(math.inf, 0.0)] * n_inf
    if len(c) - n_inf > 1:
        pts += [complex(t) for t in np.roots(c[n_inf:])]
    # chordal coordinates: points of the Riemann sphere
    def chord(a: complex, b: complex) -> float:
        if math.isinf(a.real) and math.isinf(b.real):
            return 0.0
        if math.isinf(a.real):
            return 1.0 / math.sqrt(1 + abs(b) ** 2)
        if math.isinf(b.real):
            return 1.0 / math.sqrt(1 + abs(a) ** 2)
        return abs(a - b) / math.sqrt((1 + abs(a) ** 2) * (1 + abs(b) ** 2))

    clusters: list[list[complex]] = [[p] for p in pts]
    changed = True
    while changed:
        changed = False
        for i, j in itertools.combinations(range(len(clusters)), 2):
            m = len(clusters[i]) + len(clusters[j])
            radius = tol ** (1.0 / m) if m > 1 else tol
            if min(chord(a, b) for a in clusters[i] for b in clusters[j]) <= radius:
                clusters[i] = clusters[i] + clusters[j]
                del clusters[j]
                changed = True
                break
    out = []
    for cl in clusters:
        if any(math.isinf(p.real) for p in cl):
            out.append((complex(math.inf, 0.0), len(cl)))
        else:
            out.append((complex(np.mean(cl)), len(cl)))
    return out


def _is_real(z: complex, tol: float) -> bool:
    return math.isinf(z.real) or abs(z.imag) <= tol * max(1.0, abs(z))


def _form_from_roots(roots: Sequence[tuple[complex, int]], degree: int) -> FloatArray:
    """Real binary form ``prod (x - t y)^m`` (``(y)^m`` for ``t = inf``) of the given degree."""
    coeffs = np.array([1.0 + 0j])
    deg = 0
    for t, m in roots:
        for _ in range(m):
            lin = np.array([0.0 + 0j, 1.0]) if math.isinf(t.real) else np.array([1.0, -t])
            coeffs = np.convolve(coeffs, lin)
            deg += 1
    if deg != degree:
        raise ValueError("degree mismatch")
    return np.real(coeffs)


# ============================================================================================
# Location of mu(w) in M
# ============================================================================================
def locate_from_factorization(
    arch: Architecture, filters: Sequence[FloatArray], tol: float = GEOMETRY_TOL
) -> tuple[str, tuple[int, ...] | None, Any]:
    """Location of ``v = mu(w)`` decided with the help of ``w``'s own factorization.

    ``zero`` when ``||v|| <= tol * prod ||w_i||``; ``singular`` (with the smallest component
    ``d'`` of :func:`singular_components`) when :func:`lcn.geometry.numerical.nearest` puts ``v``
    within ``tol * ||v||`` of ``M_{d',S}``; ``boundary_stride1`` when a stride-one block with
    ``e_b >= 2`` odd-degree layers has a block polynomial with at most ``e_b - 2`` distinct real
    roots of odd multiplicity (MATH.md 6, roots clustered at ``tol``); otherwise ``interior``.
    Reduced-boundary points that are not singular are not detected here (MATH.md 6 describes
    them through the hyperroots of ``I_S(v)``, which ``classify`` handles).
    Returns (location, component, factorization of v on the component or None).
    """
    from lcn.geometry.numerical import nearest

    v = np.asarray(parametrization.mu(arch, list(filters), exact=False), dtype=np.float64)
    norms = [float(np.linalg.norm(f)) for f in filters]
    if np.linalg.norm(v) <= tol * max(math.prod(norms), 1e-300) or min(norms) == 0.0:
        return "zero", None, None
    red = arch.reduced()
    for comp in singular_components(arch):
        comp_arch = Architecture(tuple(c + 1 for c in comp), red.s)
        res = nearest(comp_arch, v, starts=4)
        if res.distance <= tol * float(np.linalg.norm(v)) and np.isrealobj(
            np.asarray(res.filters[0])
        ):
            return "singular", comp, (comp_arch, res.filters)
    for P, e in zip(_block_polys(arch, filters), _block_odd(arch), strict=True):
        if e < 2:
            continue
        roots = _clustered_roots(P, tol)
        odd_real = sum(1 for t, m in roots if m % 2 == 1 and _is_real(t, math.sqrt(tol)))
        if odd_real <= e - 2:
            return "boundary_stride1", None, None
    return "interior", None, None


def _locate(
    arch: Architecture, v: FloatArray, filters: Sequence[FloatArray], tol: float
) -> tuple[str, tuple[int, ...] | None, bool, str]:
    """(location, component, undecided, source) via ``numerical.classify``."""
    from lcn.geometry import numerical

    cls = numerical.classify(arch, v, tol)
    category = cls.category
    comp = cls.component
    comp = tuple(int(c) for c in comp) if comp is not None else None
    if category in ("undecided", "outside"):
        # a critical value always lies in M: read the candidates, else use the factorization
        loc, comp2, _ = locate_from_factorization(arch, filters, tol)
        return loc, comp2, True, "factorization"
    return category, comp, False, "classify"


# ============================================================================================
# Stratum tangent spaces (for pure / spurious)
# ============================================================================================
def _orth_basis(M: FloatArray, rtol: float = RANK_RTOL) -> FloatArray:
    """Orthonormal basis (columns) of the column space of ``M`` at relative tolerance."""
    if M.size == 0:
        return np.zeros((M.shape[0], 0))
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((M.shape[0], 0))
    return U[:, s > rtol * s[0]]


def _balanced(filters: Sequence[FloatArray]) -> list[FloatArray]:
    norms = [float(np.linalg.norm(f)) for f in filters]
    if min(norms) == 0:
        return [np.asarray(f, dtype=np.float64) for f in filters]
    g = math.exp(sum(math.log(n) for n in norms) / len(norms))
    return [np.asarray(f, dtype=np.float64) * (g / n) for f, n in zip(filters, norms, strict=True)]


def _image(arch: Architecture, filters: Sequence[FloatArray]) -> FloatArray:
    return _orth_basis(parametrization.jacobian(arch, _balanced(filters)))


def _pattern_tangent(
    arch: Architecture, filters: Sequence[FloatArray], tol: float
) -> FloatArray:
    """Tangent space of the set of forms whose block polynomials keep the root-multiplicity
    pattern of ``w``'s:
    ``sum_b (prod_{c != b} pi_{S_c}(P_c)) pi_{S_b}((P_b / rad P_b) R_{deg rad P_b})``."""
    polys = _block_polys(arch, filters)
    S_blocks = [arch.S[block[0]] for block in arch.blocks()]
    m = arch.filter_size
    vecs = []
    for b, (P, Sb) in enumerate(zip(polys, S_blocks, strict=True)):
        D = len(P) - 1
        others = [forms.upsample(polys[c], S_blocks[c]) for c in range(len(polys)) if c != b]
        rest = forms.product(others) if others else np.ones(1)
        if D == 0:
            vecs.append(forms.multiply(rest, forms.upsample(np.ones(1), Sb)))
            continue
        roots = _clustered_roots(P, tol)
        reduced = [(t, mult - 1) for t, mult in roots if mult > 1]
        q_deg = sum(mm for _, mm in reduced)
        Q = _form_from_roots(reduced, q_deg) if q_deg else np.ones(1)
        r = D - q_deg
        for j in range(r + 1):
            mono = np.zeros(r + 1)
            mono[j] = 1.0
            vecs.append(forms.multiply(rest, forms.upsample(forms.multiply(Q, mono), Sb)))
    M = np.stack([np.asarray(x, dtype=np.float64).reshape(-1) for x in vecs], axis=1)
    assert M.shape[0] == m
    return _orth_basis(M)


def stratum_tangent(
    arch: Architecture | DenseArchitecture,
    params: Any,
    location: str,
    component_factorization: Any = None,
    tol: float = GEOMETRY_TOL,
) -> FloatArray | None:
    """Orthonormal basis (columns) of the tangent space of the stratum of ``M`` containing
    ``v = mu(w)`` (see the module docstring), or ``None`` where it cannot be determined."""
    if isinstance(arch, DenseArchitecture):
        if arch.filling:  # M is the whole matrix space: every point is smooth and interior
            return np.eye(arch.widths[0] * arch.widths[-1])
        return _dense_stratum_tangent(arch, np.asarray(params, dtype=np.float64))
    filters = parametrization.split_params(arch, np.asarray(params, dtype=np.float64))
    if location == "interior":
        if arch.full_dimensional:
            return np.eye(arch.filter_size)
        T = _image(arch, filters)
        if T.shape[1] == arch.dimension:
            return T
        red = arch.reduced()
        Tr = _image(red, _block_polys(arch, filters))
        if Tr.shape[1] == arch.dimension:
            return Tr
        return None
    if location == "singular":
        if component_factorization is None:
            return None
        comp_arch, comp_filters = component_factorization
        return _image(comp_arch, [np.real(np.asarray(f)) for f in comp_filters])
    if location in ("boundary_stride1", "boundary_reduced"):
        return _pattern_tangent(arch, filters, tol)
    return None


# ============================================================================================
# Dense networks
# ============================================================================================
def _dense_rank(W: FloatArray, rtol: float) -> int:
    s = np.linalg.svd(W, compute_uv=False)
    return int(np.sum(s > rtol * max(s[0], 1e-300))) if s.size and s[0] > 0 else 0


def _dense_stratum_tangent(arch: DenseArchitecture, theta: FloatArray) -> FloatArray:
    """Tangent space of ``{rank = r'}`` at ``W``: ``{A : U_perp^T A V_perp = 0}`` (row-major
    vectorization), spanned by ``U_i e_j^T`` and ``e_j V_i^T``."""
    nL, n0 = arch.widths[-1], arch.widths[0]
    W = _dense_W(arch, theta)
    U, s, Vt = np.linalg.svd(W)
    rk = _dense_rank(W, RANK_RTOL)
    vecs = []
    for i in range(rk):
        for j in range(n0):
            e = np.zeros(n0)
            e[j] = 1.0
            vecs.append(np.outer(U[:, i], e).reshape(-1))
        for j in range(nL):
            e = np.zeros(nL)
            e[j] = 1.0
            vecs.append(np.outer(e, Vt[i]).reshape(-1))
    if not vecs:
        return np.zeros((nL * n0, 0))
    return _orth_basis(np.stack(vecs, axis=1))


def _dense_W(arch: DenseArchitecture, theta: FloatArray) -> FloatArray:
    Ws = split_dense(arch, theta)
    W = Ws[0]
    for Wi in Ws[1:]:
        W = Wi @ W
    return W


def _dense_orbit(arch: DenseArchitecture, theta: FloatArray) -> FloatArray:
    """Tangent of the ``GL(n_1) x ... x GL(n_{L-1})`` orbit: ``W_{i+1} -> W_{i+1} E``,
    ``W_i -> -E W_i``."""
    Ws = split_dense(arch, theta)
    cuts = np.concatenate([[0], np.cumsum(arch.k)])
    gens = []
    for i in range(arch.layers - 1):
        n = arch.widths[i + 1]
        for a in range(n):
            for b in range(n):
                E = np.zeros((n, n))
                E[a, b] = 1.0
                g = np.zeros(arch.parameters)
                g[cuts[i + 1] : cuts[i + 2]] = (Ws[i + 1] @ E).reshape(-1)
                g[cuts[i] : cuts[i + 1]] = -(E @ Ws[i]).reshape(-1)
                gens.append(g)
    if not gens:
        return np.zeros((arch.parameters, 0))
    return np.stack(gens, axis=1)


def _lcn_rank(arch: Architecture, theta: FloatArray, rtol: float) -> int:
    """``rank d mu(w)`` by :func:`lcn.geometry.numerical.jacobian_rank` (balanced layers,
    singular values above ``rtol * sigma_max``)."""
    from lcn.geometry.numerical import jacobian_rank

    filters = parametrization.split_params(arch, theta)
    return int(jacobian_rank(arch, filters, rtol=rtol).rank)


def _lcn_orbit(arch: Architecture, theta: FloatArray) -> FloatArray:
    """Tangent of the rescaling orbit: ``(w_i, -w_{i+1})`` directions."""
    cuts = np.concatenate([[0], np.cumsum(arch.k)])
    gens = []
    for i in range(arch.layers - 1):
        g = np.zeros(arch.parameters)
        g[cuts[i] : cuts[i + 1]] = theta[cuts[i] : cuts[i + 1]]
        g[cuts[i + 1] : cuts[i + 2]] = -theta[cuts[i + 1] : cuts[i + 2]]
        gens.append(g)
    if not gens:
        return np.zeros((arch.parameters, 0))
    return np.stack(gens, axis=1)


# ============================================================================================
# The classification
# ============================================================================================
def classify_critical_points(
    arch: Architecture | DenseArchitecture,
    data: Any,
    params: Any,
    tol: float = 1e-10,
    geometry_tol: float = GEOMETRY_TOL,
    rank_rtol: float = RANK_RTOL,
    pure_tol: float = PURE_TOL,
) -> list[CriticalPointInfo]:
    """Classify critical points ``params`` (``(n, P)`` or ``(P,)``; a ``TrainResult`` or
    ``CriticalPoints`` is accepted too) of the loss given by ``data`` (a ``Dataset`` or a
    ``GramForm``). See the module docstring for every field and its tolerance.

    ``tol`` is the relative-gradient tolerance the points were solved to; a point whose
    ``rel_grad_norm`` exceeds ``1e3 * tol`` is not a critical point: its classification is
    still computed but flagged ``undecided`` with a note. Points with the same ``v`` up to
    ``1e-9`` share the (costly) location step.
    """
    from lcn import training

    if hasattr(params, "params"):
        params = params.params
    gf = training.gram_form(arch, data)
    th = np.asarray(params, dtype=np.float64)
    if th.ndim == 1:
        th = th[None]
    model = training._model(arch)
    if th.ndim != 2 or th.shape[1] != model.P:
        raise FilterError("params", f"has shape {th.shape}; expected (n, {model.P})")
    n = th.shape[0]
    if n == 0:
        return []
    finite = np.all(np.isfinite(th), axis=1)
    if not finite.all():
        # diverged runs: report them (category "undecided") and classify the others
        out_f = classify_critical_points(arch, data, th[finite], tol, geometry_tol, rank_rtol,
                                         pure_tol) if finite.any() else []
        it = iter(out_f)
        res: list[CriticalPointInfo] = []
        for i in range(n):
            if finite[i]:
                info = next(it)
                info.index = i
                res.append(info)
            else:
                res.append(_nonfinite_info(arch, i, model.L))
        return res
    V = model.mu(th)
    J = model.jacobian(th)
    grad_l = gf.grad(V)
    scale = 2.0 * gf.norm * (np.linalg.norm(V, axis=1) + np.linalg.norm(gf.u))
    scale = np.maximum(scale, np.finfo(float).tiny)
    rel = training.relative_gradient_norm(arch, gf, th)
    H = training.hessian(arch, gf, th)
    losses = gf.loss(V)
    cache: dict[bytes, tuple[str, tuple[int, ...] | None, bool, str, Any]] = {}
    out = []
    for i in range(n):
        out.append(
            _classify_one(arch, model, gf, i, th[i], V[i], J[i], grad_l[i], float(scale[i]),
                          float(rel[i]), H[i], float(losses[i]), tol, geometry_tol, rank_rtol,
                          pure_tol, cache)
        )
    return out


def _nonfinite_info(arch: Any, index: int, layers: int) -> CriticalPointInfo:
    return CriticalPointInfo(
        index=index, category="undecided", zero=False, regular=False, rank=0,
        dimension=int(arch.dimension), location="undecided", smooth=False,
        singular_component=None, boundary="none", pure=None, spurious_in_M=False,
        stratum_dimension=None, projected_gradient=float("nan"), morse_index=0, nullity=0,
        invariants=tuple(float("nan") for _ in range(layers - 1)), loss=float("nan"),
        rel_grad_norm=float("inf"), undecided=True, source="none",
        notes=["non-finite parameters (a diverged run)"],
    )


def _classify_one(
    arch: Any, model: Any, gf: Any, index: int, theta: FloatArray, v: FloatArray,
    J: FloatArray, grad_l: FloatArray, scale: float, rel: float, H: FloatArray, lossv: float,
    tol: float, geometry_tol: float, rank_rtol: float, pure_tol: float,
    cache: dict[bytes, Any],
) -> CriticalPointInfo:
    notes: list[str] = []
    undecided = rel > 1e3 * tol
    if undecided:
        notes.append(f"not critical: rel_grad_norm {rel:.1e} > 1e3 * tol")
    dense = isinstance(arch, DenseArchitecture)
    slices = model.slices
    layer_sq = [float(theta[s] @ theta[s]) for s in slices]
    invariants = tuple(layer_sq[i] - layer_sq[i + 1] for i in range(len(slices) - 1))
    # Hessian: negative eigenvalues, nullity beyond the symmetry orbit
    Hs = 0.5 * (H + H.T)
    ev = np.linalg.eigvalsh(Hs)
    hn = max(float(np.abs(ev).max()), np.finfo(float).tiny)
    morse = int(np.sum(ev < -1e-6 * hn))
    kernel = int(np.sum(np.abs(ev) <= 1e-6 * hn))
    orbit = _dense_orbit(arch, theta) if dense else _lcn_orbit(arch, theta)
    orbit_dim = _orth_basis(orbit).shape[1] if orbit.shape[1] else 0
    nullity = max(kernel - orbit_dim, 0)
    # zero
    vnorm = float(np.linalg.norm(v))
    unorm = float(np.linalg.norm(gf.u))
    from lcn.training import ZERO_RTOL

    zero = vnorm <= ZERO_RTOL * max(unorm, 1e-300)
    # rank of d mu
    if dense:
        dim = arch.dimension
        s = np.linalg.svd(J, compute_uv=False)
        rank = int(np.sum(s > rank_rtol * s[0])) if s.size and s[0] > 0 else 0
    else:
        dim = arch.dimension
        rank = _lcn_rank(arch, theta, rank_rtol)
    regular = rank == dim
    # location
    comp: tuple[int, ...] | None = None
    comp_fact = None
    source = "rank" if dense else "factorization"
    if zero:
        location = "zero"
    elif dense:
        rk = _dense_rank(_dense_W(arch, theta), rank_rtol)
        # lower rank is singular only on a proper determinantal variety (not filling)
        location = "singular" if rk < arch.rank and not arch.filling else "interior"
        comp = (rk,) if location == "singular" else None
    else:
        key = np.round(v / max(vnorm, 1e-300), 9).tobytes()
        if key not in cache:
            filters = parametrization.split_params(arch, theta)
            loc, comp0, und, src = _locate(arch, v, filters, geometry_tol)
            fact = None
            if loc == "singular":
                # a factorization on the component for the stratum tangent
                _, comp1, fact = locate_from_factorization(arch, filters, geometry_tol)
                if comp0 is None:
                    comp0 = comp1
                elif comp1 != comp0:
                    # the tangent would belong to another component than the one reported
                    und, fact = True, None
            cache[key] = (loc, comp0, und, src, fact)
        location, comp, und, source, comp_fact = cache[key]
        if und:
            undecided = True
            notes.append("location undecided by classify; read from the factorization")
    boundary = {"boundary_stride1": "stride1", "boundary_reduced": "reduced"}.get(location, "none")
    # the geometry's labels rank boundary above singular (exact.CATEGORY_PRECEDENCE), so a
    # boundary point can be singular too: its component tells
    smooth = location not in ("zero", "singular") and comp is None
    # pure / spurious on the stratum
    pure: bool | None
    proj = 0.0
    stratum_dim: int | None = None
    if zero:
        pure = True  # the zero stratum is a point: nothing to test
        stratum_dim = 0
    else:
        T = stratum_tangent(arch, theta, location, comp_fact, geometry_tol)
        if T is None:
            pure = None
            proj = float("nan")
            notes.append("stratum tangent undetermined")
        else:
            stratum_dim = int(T.shape[1])
            proj = float(np.linalg.norm(T.T @ grad_l)) / scale
            if proj <= pure_tol:
                pure = True
            elif proj > pure_tol * PURE_MARGIN:
                pure = False
            else:
                pure = None
                notes.append(f"projected gradient {proj:.1e} within the margin of {pure_tol}")
    if pure is None:
        undecided = True
    if regular and pure is False:
        # grad L = J^T grad l = 0 with J onto the tangent space forces purity: the rank and the
        # projected gradient disagree at these tolerances (e.g. two layers nearly share a root)
        undecided = True
        notes.append("regular but not pure: rank and projected-gradient readings disagree")
    if zero:
        category = "zero"
    elif pure is False:
        category = "spurious"
    elif location == "singular":
        category = "singular"
    elif boundary != "none":
        category = "boundary"
    else:
        category = "pure_smooth_interior"
    spurious_in_M = not zero and not (location == "interior" and pure is True)
    return CriticalPointInfo(
        index=index,
        category=category,
        zero=zero,
        regular=regular,
        rank=rank,
        dimension=dim,
        location=location,
        smooth=smooth,
        singular_component=comp,
        boundary=boundary,
        pure=pure,
        spurious_in_M=spurious_in_M,
        stratum_dimension=stratum_dim,
        projected_gradient=proj,
        morse_index=morse,
        nullity=nullity,
        invariants=invariants,
        loss=lossv,
        rel_grad_norm=rel,
        undecided=undecided,
        source=source,
        notes=notes,
    )
