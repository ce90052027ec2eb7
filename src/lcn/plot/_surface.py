"""3-D pictures: the swallowtail of depressed quartics (stride one, degree 4) and 3-D affine
charts of function spaces whose Zariski closure is a hypersurface (strides > 1).

Hypersurface closures. ``dim M = d`` (MATH.md 3) forces ``sum_i d_i (S_i - 1) = 1``: one layer
of size 2 at ``S = 2`` and the rest stride one, so the reduced space is
``{P(x, y) (p x^2 + q y^2)}`` with ``deg P = D = d - 2`` (``k=(2,2), s=(2,1)``: the quadric
``p0 p3 = p1 p2``; ``k=(3,2), s=(2,1)``: a cubic). Its real points in the chart
``through + a u + b v + c w`` are sampled from the layers: for a rational ``(p : q)`` the
condition "``P (p x^2 + q y^2)`` lies in ``V = span(through, u, v, w)``" is linear in ``P``, with
a 2-dimensional solution space (exact null space), so rational ``(p:q)`` and a rational point
of that pencil give exact points of the surface. For ``D = 2`` the singular locus
``Sing = R[x^2, y^2]_2`` (MATH.md 5) is a linear space: its line in the chart holds the
closure-only points (``Q(x^2, y^2)`` with ``Q`` definite: a conjugate pair of hyperroots) and
the reduced boundary (a double real hyperroot, MATH.md 6). Every sample is classified by the
exact membership for the architecture itself (so non-reduced architectures show their
stride-one regions and boundaries on the same surface).
"""

from __future__ import annotations

import math
import time
from typing import Any

import flint
import numpy as np

from lcn.architecture import Architecture
from lcn.errors import ArchitectureError, FilterError
from lcn.plot import _style
from lcn.plot._rational import (
    Vec,
    combine,
    estimate,
    nullspace,
    rational_grid,
    rational_near,
    to_float,
)
from lcn.plot._spacedata import (
    SpaceData,
    Window,
    axis_label,
    form_text,
    point_category,
    real_roots,
)

__all__ = [
    "swallowtail_data",
    "hypersurface_data",
    "default_chart",
    "draw_surface",
    "is_hypersurface",
    "draw_mesh",
]

_Q0, _Q1 = flint.fmpq(0), flint.fmpq(1)


def _unit(n: int, j: int) -> Vec:
    return tuple(_Q1 if i == j else _Q0 for i in range(n))


def is_hypersurface(arch: Architecture) -> bool:
    """The closure of ``M`` is a hypersurface of ``R^{d+1}`` (``dim M = d``) and ``M`` is not
    full-dimensional (MATH.md 3)."""
    return arch.dimension == arch.degree and not arch.full_dimensional


def default_chart(arch: Architecture) -> tuple[Vec, tuple[Vec, ...], Window]:
    """Default chart of a hypersurface closure: ``p0 = 1`` for ``d = 3`` (the graph
    ``p3 = p1 p2``); ``x^4 + y^4 + B x^3y + D xy^3 + C x^2y^2`` for ``d = 4`` (the singular line
    ``B = D = 0`` holds closure-only points for ``|C| < 2``: the handle of an umbrella);
    ``x^d + y^d`` with the directions ``x^{d-1}y, xy^{d-1}, x^{d-2}y^2`` beyond."""
    n = arch.degree + 1
    if n == 4:
        return _unit(4, 0), (_unit(4, 1), _unit(4, 2), _unit(4, 3)), ((-2, 2),) * 3
    t = tuple(_Q1 if i in (0, n - 1) else _Q0 for i in range(n))
    return t, (_unit(n, 1), _unit(n, n - 2), _unit(n, 2)), ((-2, 2), (-2, 2), (-4, 4))


def _chart_solver(through: Vec, plane: tuple[Vec, ...]) -> Any:
    basis = np.array([to_float(through)] + [to_float(p) for p in plane]).T

    def coords(F: np.ndarray) -> np.ndarray:
        sol, *_ = np.linalg.lstsq(basis, F, rcond=None)
        if abs(sol[0]) < 1e-12 * max(1.0, float(np.max(np.abs(sol)))):
            return np.full(len(plane), np.nan)
        return sol[1:] / sol[0]

    return coords


def _inside(c: np.ndarray, window: Window) -> bool:
    return bool(np.all(np.isfinite(c))) and all(
        lo - 1e-12 <= x <= hi + 1e-12 for x, (lo, hi) in zip(c, window, strict=True))


def _multiply_matrix(p: flint.fmpq, q: flint.fmpq, D: int) -> list[list[flint.fmpq]]:
    """Matrix of ``P -> P(x, y) (p x^2 + q y^2)`` on coefficient vectors (``(D+3) x (D+1)``)."""
    M = [[_Q0] * (D + 1) for _ in range(D + 3)]
    for j in range(D + 1):
        M[j][j] += p
        M[j + 2][j] += q
    return M


def _surface_samples(through: Vec, plane: tuple[Vec, ...], n: int) -> tuple[list[Vec], int]:
    """Exact points ``P (p x^2 + q y^2)`` of the reduced space in ``V`` on an ``n x n`` grid of
    rational parameters: ``(p, q) = (1 - tau^2, 2 tau)`` with ``tau`` rational near ``tan`` of
    equally spaced half-angles; ``P`` in the exact null space ``K`` with rational coefficients
    near equally spaced directions of an orthonormal frame of it (the exact basis can be badly
    skewed). Each projective line of directions is covered once."""
    d = len(through) - 1
    D = d - 2
    perp = nullspace([list(through)] + [list(p) for p in plane], d + 1)
    params = [rational_near(math.tan((i / n - 0.5) * math.pi / 2)) for i in range(n)]
    angles = [(i / n - 0.5) * math.pi for i in range(n)]
    pts: list[Vec] = []
    rows = 0
    for tau in params:
        p, q = 1 - tau * tau, 2 * tau
        M = _multiply_matrix(p, q, D)
        cond = [[sum((M[r][j] * nv[r] for r in range(d + 1)), _Q0) for j in range(D + 1)]
                for nv in perp]
        K = nullspace(cond, D + 1)
        if len(K) != 2:  # a degenerate direction (the pencil jumps): skip the row
            continue
        rows += 1
        # equally spaced directions of the pencil in an orthonormal frame (the exact basis K
        # can be badly skewed), each written back in K with rational coefficients
        Kf = np.array([to_float(k) for k in K]).T
        Qf, _ = np.linalg.qr(Kf)
        for phi in angles:
            c = np.linalg.lstsq(Kf, Qf @ np.array([math.cos(phi), math.sin(phi)]), rcond=None)[0]
            P = combine(tuple(rational_near(float(x / np.max(np.abs(c))), 10**6) for x in c), K)
            pts.append(tuple(sum((M[r][j] * P[j] for j in range(D + 1)), _Q0)
                             for r in range(d + 1)))
    return pts, rows


def _singular_line(through: Vec, plane: tuple[Vec, ...], window: Any, n: int) -> list[Vec]:
    """Exact points of ``R[x^2, y^2]_2`` (MATH.md 5) in the chart: ``through + a u + b v + c w``
    with vanishing odd coefficients is an affine line; sample it on a rational grid of its
    steepest coordinate over the window."""
    d = len(through) - 1
    odd = [j for j in range(d + 1) if j % 2]
    # unknowns (1, a, b, c): the odd coefficients vanish
    rows = [[through[j]] + [p[j] for p in plane] for j in odd]
    sols = nullspace(rows, 4)
    affine = [s for s in sols if s[0] != 0]
    if len(sols) != 2 or not affine:
        return []
    base = tuple(v / affine[0][0] for v in affine[0])
    other = next(s for s in sols if s is not affine[0])
    dirv = tuple(v - other[0] * b for v, b in zip(other, base, strict=True))
    if all(v == 0 for v in dirv[1:]):
        return []
    j = max(range(1, 4), key=lambda i: abs(float(dirv[i])))
    lo, hi = window[j - 1]
    span20 = (hi - lo) * 20
    if float(span20).is_integer() and span20 <= 2000:  # steps of 1/20: nice points included
        n = max(n, int(span20) + 1)
    out = []
    for c in rational_grid(lo, hi, n):
        s = (c - base[j]) / dirv[j]
        coef = tuple(b + s * v for b, v in zip(base, dirv, strict=True))
        out.append(combine(coef, (through, *plane)))
    return out


def hypersurface_data(arch: Architecture, through: Vec, plane: tuple[Vec, ...],
                      window: Window, *, resolution: int,
                      max_seconds: float) -> SpaceData:
    """Exact samples of the real points of a hypersurface closure in a 3-D chart."""
    t0 = time.perf_counter()
    d = arch.degree
    if d + 1 < 4:
        raise ArchitectureError("k", f"{arch} has filters in R^{d + 1}; a 3-D chart needs at "
                                "least 4 coefficients (use dims=2)")
    basis = flint.fmpq_mat(4, d + 1, [v for vec in (through, *plane) for v in vec])
    if basis.rank() < 4:
        raise FilterError("plane", "through and the three directions are linearly dependent; "
                          "give independent vectors (the chart is through + a u + b v + c w)")
    probes, _ = _surface_samples(through, plane, 3)
    estimate(lambda p: point_category(arch, p), probes, resolution**2 + 20 * resolution,
             max_seconds=max_seconds)
    surf, rows = _surface_samples(through, plane, resolution)
    notes = []
    line: list[Vec] = []
    if d - 2 == 2:
        line = _singular_line(through, plane, window, 6 * resolution + 1)
        if not line:
            notes.append("the singular line R[x^2,y^2]_2 misses this chart")
    elif d - 2 > 2:
        notes.append("singular locus and closure-only points not drawn for k_1 >= 4 (their "
                     "parametrization is not linear)")
    pts = surf + line
    coords_of = _chart_solver(through, plane)
    coords = np.array([coords_of(to_float(p)) for p in pts]).reshape(len(pts), 3)
    inside = [_inside(c, window) for c in coords]
    if not any(inside[: len(surf)]):
        raise FilterError("plane", f"the chart {form_text(through)} + a u + b v + c w meets no "
                          f"point of M inside the window {window}; choose another through or "
                          "a larger window")
    cats = tuple(point_category(arch, p) if ok else "outside"
                 for p, ok in zip(pts, inside, strict=True))
    raw = coords.copy()
    coords[~np.array(inside)] = np.nan
    return SpaceData(
        arch=arch, kind="hypersurface", through=through, plane=plane, window=window,
        points=tuple(pts), coords=coords, categories=cats,
        real_roots=tuple(real_roots(p) if ok else None for p, ok in zip(pts, inside, strict=True)),
        groups=("surface",) * len(surf) + ("singular_line",) * len(line),
        mesh=(rows, resolution), notes=tuple(notes), seconds=time.perf_counter() - t0,
        raw_coords=raw,
    )


def swallowtail_data(arch: Architecture, *, resolution: int, max_seconds: float) -> SpaceData:
    """Depressed quartics ``x^4 + a x^2y^2 + b xy^3 + c y^4``: the discriminant surface (the
    swallowtail) sampled exactly as ``(x - t y)^2 (x^2 + 2t xy + q y^2)`` with
    ``q = t^2 + r``, i.e. ``a = r - 2t^2, b = -2tr, c = t^2 (t^2 + r)`` for rational ``t, r``
    (the double root ``t``; the other two roots are real iff ``r <= 0``), and a coarse rational
    grid of the box, all classified exactly for ``arch`` (degree 4, stride one)."""
    t0 = time.perf_counter()
    window = ((-2.0, 1.0), (-1.5, 1.5), (-0.75, 1.5))
    g = max(5, resolution // 5)
    probes = [(_Q1, _Q0, flint.fmpq(-1), flint.fmpq(i, 7), flint.fmpq(1, 5)) for i in range(4)]
    estimate(lambda p: point_category(arch, p), probes, resolution**2 + g**3,
             max_seconds=max_seconds)
    ts = rational_grid(-1.2, 1.2, resolution)
    # q = t^2 + r: the other two roots are real iff r <= 0, so the grid lines follow the
    # change of category (no staircase between the two sheets)
    rs = rational_grid(-2.0, 2.0, resolution)
    surf = [(_Q1, _Q0, r - 2 * t * t, -2 * t * r, t * t * (t * t + r)) for t in ts for r in rs]
    grid = [(_Q1, _Q0, a, b, c) for a in rational_grid(*window[0], g)
            for b in rational_grid(*window[1], g) for c in rational_grid(*window[2], g)]
    pts = surf + grid
    coords = np.array([[float(p[2]), float(p[3]), float(p[4])] for p in pts])
    inside = np.array([_inside(c, window) for c in coords])
    cats = tuple(point_category(arch, p) for p in pts)
    raw = coords.copy()
    coords[~inside] = np.nan
    through = (_Q1, _Q0, _Q0, _Q0, _Q0)
    return SpaceData(
        arch=arch, kind="swallowtail", through=through,
        plane=(_unit(5, 2), _unit(5, 3), _unit(5, 4)), window=window, points=tuple(pts),
        coords=coords, categories=cats, real_roots=tuple(real_roots(p) for p in pts),
        groups=("surface",) * len(surf) + ("grid",) * len(grid), mesh=(resolution, resolution),
        seconds=time.perf_counter() - t0, raw_coords=raw,
    )


def _mesh_arrays(data: SpaceData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surface samples as ``(rows, cols, 3)`` unclipped coordinates, their colours, and
    whether each lies in the window (only those were classified)."""
    assert data.mesh is not None
    idx = [i for i, g in enumerate(data.groups) if g == "surface"]
    src = data.raw_coords if data.raw_coords is not None else data.coords
    xyz = src[idx].reshape(*data.mesh, 3)
    colors = np.array([_rgba(data.categories[i]) for i in idx]).reshape(*data.mesh, 4)
    inside = np.all(np.isfinite(data.coords[idx]), axis=1).reshape(data.mesh)
    return xyz, colors, inside


def _rgba(cat: str, alpha: float = 0.85) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(_style.POINT_COLORS[cat], alpha)


def clip_polygon(poly: np.ndarray, window: Window) -> np.ndarray:
    """Sutherland-Hodgman: the part of a planar polygon ``(n, 3)`` inside the box."""
    pts = list(poly)
    for axis, (lo, hi) in enumerate(window):
        for bound, sign in ((lo, 1.0), (hi, -1.0)):
            out = []
            for i, cur in enumerate(pts):
                prev = pts[i - 1]
                fc, fp = sign * (cur[axis] - bound), sign * (prev[axis] - bound)
                if fc >= 0:
                    if fp < 0:
                        out.append(prev + (cur - prev) * (fp / (fp - fc)))
                    out.append(cur)
                elif fp >= 0:
                    out.append(prev + (cur - prev) * (fp / (fp - fc)))
            pts = out
            if not pts:
                return np.zeros((0, 3))
    return np.array(pts)


def draw_mesh(ax: Any, data: SpaceData, alpha: float = 0.85) -> None:
    """The surface as quadrilaterals between neighbouring samples, clipped at the window's
    faces, each coloured by the exact category of its first corner (a category change of the
    corners is drawn at sample resolution; the markers of the other groups are exact)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    xyz, colors, inside = _mesh_arrays(data)
    colors[..., 3] = alpha
    r, c = xyz.shape[:2]
    quads, fc = [], []
    span = max(hi - lo for lo, hi in data.window)
    for i in range(r - 1):
        for j in range(c - 1):
            corners = ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1))
            q = np.array([xyz[a, b] for a, b in corners])
            if not np.all(np.isfinite(q)) or np.max(np.ptp(q, axis=0)) > 0.5 * span:
                continue  # at infinity, or a jump of the parametrization through it
            first = next((ab for ab in corners if inside[ab]), None)
            q = clip_polygon(q, data.window)
            if first is not None and len(q) >= 3:
                quads.append(q)
                fc.append(colors[first])
    ax.add_collection3d(Poly3DCollection(quads, facecolors=fc, edgecolors="none",
                                         linewidths=0.0))


def draw_surface(data: SpaceData, size: tuple[int, int], dpi: int = 100) -> Any:
    """One 3-D panel: the sampled surface coloured by exact category, the singular line (or
    the swallowtail's grid points) as markers, legend and notes."""
    fig = _style.new_figure(size, dpi)
    ax = fig.add_subplot(projection="3d")
    draw_mesh(ax, data, alpha=0.85 if data.kind == "swallowtail" else 0.55)
    extra = [i for i, g in enumerate(data.groups) if g != "surface"
             and np.all(np.isfinite(data.coords[i]))]
    if data.kind == "swallowtail":
        # grid points off the surface: show those outside M (where M is not everything)
        extra = [i for i in extra if data.categories[i] == "outside"]
        size_pt, alpha = 6, 0.35
    else:
        size_pt, alpha = 18, 1.0
    if extra:
        xyz = data.coords[extra]
        ax.scatter(xyz[:, 0], xyz[:, 1], xyz[:, 2], s=size_pt, alpha=alpha, depthshade=False,
                   c=[_style.POINT_COLORS[data.categories[i]] for i in extra],
                   edgecolors="none")
    rare = [i for i in extra if data.categories[i].startswith("boundary")]
    if rare:  # boundary points are isolated in a 3-D chart: draw them large
        xyz = data.coords[rare]
        ax.scatter(xyz[:, 0], xyz[:, 1], xyz[:, 2], s=260, marker="*", depthshade=False,
                   c=[_style.POINT_COLORS[data.categories[i]] for i in rare],
                   edgecolors="black", linewidths=0.6, zorder=10)
    for k, (lo, hi) in enumerate(data.window):
        getattr(ax, "set_" + "xyz"[k] + "lim")(lo, hi)
    names = _axis_names(data)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_zlabel(names[2])
    present = [c for c in _style.POINT_CATEGORIES if c in set(
        data.categories[i] for i, ok in enumerate(np.all(np.isfinite(data.coords), axis=1)) if ok)]
    ax.legend(handles=_style.legend_handles(present, _style.POINT_COLORS, _style.POINT_LABELS),
              loc="upper left", fontsize=8, bbox_to_anchor=(-0.05, 1.0))
    ax.view_init(elev=20, azim=-130 if data.kind == "swallowtail" else -50)
    fig.suptitle(_title(data))
    if data.notes:
        fig.text(0.01, 0.01, "note: " + "; ".join(data.notes), fontsize=7)
    return fig


def _axis_names(data: SpaceData) -> list[str]:
    return [axis_label(v, name, short=True) for name, v in zip("abc", data.plane, strict=True)]


def _title(data: SpaceData) -> str:
    if data.kind == "swallowtail":
        e = sum(1 for di in data.arch.d if di % 2)
        crit = "every form" if e <= 1 else f">= {e} real roots"
        return (f"{data.arch}: depressed quartics x^4 + a x^2y^2 + b xy^3 + c y^4; "
                f"M = {crit}\nswallowtail = discriminant, coloured by exact category; "
                "dots: grid points outside M")
    line = ("\nline: Sing = R[x^2,y^2]_2 (MATH.md 5), orange part only in the closure;"
            "\nstars: boundary (MATH.md 6)" if "singular_line" in data.groups else "")
    return (f"real points of the closure of M for {data.arch} (degree "
            f"{data.arch.closure_degree} hypersurface)\nchart {form_text(data.through)} + a u + "
            f"b v + c w, {len(data.points)} exact samples from the layers{line}")

