"""2-D affine slices of a full-dimensional function space (stride one, MATH.md 3, 6).

Each pixel is a rational form ``through + a u + b v`` classified exactly; a second panel shows
its number of real roots (the membership criterion of stride-one spaces: ``F`` is in ``M`` iff
it has at least ``e`` real roots, ``e`` the number of odd ``d_i``). The discriminant (where
two roots collide, the only place the real-root count can change) is drawn on top.
"""

from __future__ import annotations

import time
from typing import Any

import flint
import numpy as np

from lcn.architecture import Architecture
from lcn.errors import FilterError
from lcn.plot import _style
from lcn.plot._rational import Vec, combine, estimate, rational_grid, to_float
from lcn.plot._spacedata import SpaceData, axis_label, form_text, point_category, real_roots

__all__ = ["default_plane", "plane_data", "draw_plane", "discriminant_grid"]


def default_plane(arch: Architecture) -> tuple[Vec, tuple[Vec, ...], float]:
    """``x^d - x^{d-2}y^2`` with the directions of ``xy^{d-1}`` and ``y^d`` (for quartics the
    classic slice ``x^4 - x^2y^2 + b xy^3 + c y^4`` of the swallowtail), window half-width; for
    ``d < 2`` the whole filter space through 0."""
    d = arch.degree
    q0, q1 = flint.fmpq(0), flint.fmpq(1)

    def e(j: int) -> Vec:
        return tuple(q1 if i == j else q0 for i in range(d + 1))

    if d < 2:
        return tuple(q0 for _ in range(d + 1)), (e(0), e(d)), 1.0
    t = [q0] * (d + 1)
    t[0], t[2] = q1, -q1
    return tuple(t), (e(d - 1), e(d)), 0.6


def discriminant_grid(through: Vec, plane: tuple[Vec, ...], window: Any, n: int = 241
                      ) -> dict[str, Any]:
    """The discriminant of ``through + a u + b v`` on an ``n x n`` float grid (drawing only),
    as ``Res(dF/dx, dF/dy)`` (proportional to the discriminant of a binary form: it vanishes
    exactly where two roots on the projective line collide, also at infinity), scaled to its
    ``1/(2d-2)``-th root so the zero contour is well conditioned."""
    t, u, v = to_float(through), to_float(plane[0]), to_float(plane[1])
    d = len(t) - 1
    a = np.linspace(window[0][0], window[0][1], n)
    b = np.linspace(window[1][0], window[1][1], n)
    A, B = np.meshgrid(a, b)
    F = t + A[..., None] * u + B[..., None] * v  # (n, n, d+1)
    if d < 2:
        return {"a": a, "b": b, "values": np.ones((n, n))}
    j = np.arange(d + 1)
    Fx = (F * (d - j))[..., :-1]  # coefficients of dF/dx, degree d-1 in x, y
    Fy = (F * j)[..., 1:]
    m = d - 1
    S = np.zeros((n, n, 2 * m, 2 * m))
    for r in range(m):
        S[..., r, r:r + m + 1] = Fx
        S[..., m + r, r:r + m + 1] = Fy
    sign, logdet = np.linalg.slogdet(S)
    vals = sign * np.exp(logdet / (2 * m))
    return {"a": a, "b": b, "values": vals}


def plane_data(arch: Architecture, through: Vec, plane: tuple[Vec, ...],
               window: tuple[tuple[float, float], ...], *, resolution: int,
               max_seconds: float) -> SpaceData:
    """Exact categories and real-root counts on a ``resolution x resolution`` rational grid
    of the slice ``through + a u + b v`` (MATH.md 3, 6)."""
    t0 = time.perf_counter()
    av = rational_grid(window[0][0], window[0][1], resolution)
    bv = rational_grid(window[1][0], window[1][1], resolution)
    basis = (through, plane[0], plane[1])
    one = flint.fmpq(1)
    probes = [combine((one, av[i], bv[j]), basis) for i, j in
              ((0, 0), (-1, -1), (len(av) // 2, len(bv) // 3), (len(av) // 3, -1))]
    estimate(lambda p: (point_category(arch, p), real_roots(p)), probes, resolution**2,
             max_seconds=max_seconds)
    pts = [combine((one, a, b), basis) for b in bv for a in av]
    cats = tuple(point_category(arch, p) for p in pts)
    roots = tuple(real_roots(p) for p in pts)
    if not any(c not in ("outside", "closure_only") for c in cats):
        raise FilterError(
            "through", f"the slice through {form_text(through)} misses M in the window "
            f"{window}: every grid point is outside; choose a through inside M or a larger window"
        )
    coords = np.array([[float(a), float(b)] for b in bv for a in av])
    return SpaceData(
        arch=arch, kind="plane", through=through, plane=plane, window=window, points=tuple(pts),
        coords=coords, categories=cats, real_roots=roots, groups=("grid",) * len(pts),
        shape=(resolution, resolution), curve=discriminant_grid(through, plane, window),
        seconds=time.perf_counter() - t0,
    )


def draw_plane(data: SpaceData, size: tuple[int, int], dpi: int = 100) -> Any:
    """Two panels: exact category of each pixel, and its number of real roots; the
    discriminant on top of both."""
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    assert data.shape is not None
    fig = _style.new_figure(size, dpi)
    axes = fig.subplots(1, 2)
    (x0, x1), (y0, y1) = data.window
    step_x = (x1 - x0) / max(1, data.shape[1] - 1) / 2
    step_y = (y1 - y0) / max(1, data.shape[0] - 1) / 2
    extent = (x0 - step_x, x1 + step_x, y0 - step_y, y1 + step_y)
    cats = [c for c in _style.POINT_CATEGORIES if c in set(data.categories)]
    index = {c: i for i, c in enumerate(cats)}
    grid = np.vectorize(index.__getitem__)(data.grid("categories")).astype(float)
    cmap = ListedColormap([_style.POINT_COLORS[c] for c in cats])
    axes[0].imshow(grid, origin="lower", extent=extent, cmap=cmap, vmin=-0.5,
                   vmax=len(cats) - 0.5, interpolation="nearest", aspect="auto")
    rr = data.grid("real_roots")
    rr_f = np.array([[np.nan if v is None else v for v in row] for row in rr], dtype=float)
    counts = sorted({int(v) for v in rr_f[np.isfinite(rr_f)]})
    bounds = [c - 0.5 for c in counts] + [counts[-1] + 0.5]
    base = matplotlib.colormaps[_style.ROOT_COUNT_CMAP]
    rcmap = ListedColormap([base(0.15 + 0.75 * i / max(1, len(counts) - 1))
                            for i in range(len(counts))])
    im = axes[1].imshow(rr_f, origin="lower", extent=extent, cmap=rcmap,
                        norm=BoundaryNorm(bounds, len(counts)), interpolation="nearest",
                        aspect="auto")
    cb = fig.colorbar(im, ax=axes[1], ticks=counts, shrink=0.85)
    cb.set_label("real roots on P^1 (with multiplicity)")
    rare = [i for i, c in enumerate(data.categories)
            if c not in ("outside", "interior", "closure_only")]
    if rare:  # boundary, singular and zero pixels are isolated: mark them so they show
        xy = data.coords[rare]
        axes[0].scatter(xy[:, 0], xy[:, 1], s=60, marker="s", zorder=5, edgecolors="black",
                        c=[_style.POINT_COLORS[data.categories[i]] for i in rare])
    disc = data.curve
    for ax in axes:
        ax.contour(disc["a"], disc["b"], disc["values"], levels=[0.0], colors="black",
                   linewidths=1.2)
        ax.plot([0], [0], marker="+", color="black", markersize=10, linestyle="none")
        ax.set_xlabel(axis_label(data.plane[0], "a"))
        ax.set_ylabel(axis_label(data.plane[1], "b"))
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    handles = _style.legend_handles(cats, _style.POINT_COLORS, _style.POINT_LABELS)
    handles.append(Line2D([], [], color="black", label="discriminant (roots collide)"))
    handles.append(Line2D([], [], color="black", marker="+", linestyle="none",
                          markersize=10, label=f"through: {form_text(data.through)}"))
    axes[0].legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                   fontsize=8, ncol=2, frameon=False)
    axes[0].set_title("exact category (lcn.geometry.membership)", fontsize=10)
    axes[1].set_title("number of real roots", fontsize=10)
    e = sum(1 for di in data.arch.d if di % 2)
    crit = "every form" if e <= 1 else f"forms with >= {e} real roots"
    fig.suptitle(f"function space of {data.arch} (stride one): M = {crit}\n"
                 f"2-D slice {form_text(data.through)} + a u + b v, "
                 f"{data.shape[0]}x{data.shape[1]} exact pixels")
    return fig
