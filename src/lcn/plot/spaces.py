"""Pictures of function spaces (MATH.md 3-6): :func:`space_data` computes, :func:`space` draws.

* Full-dimensional spaces (stride one, MATH.md 3): a 2-D affine slice ``through + a u + b v``
  of filter space, each pixel a rational form coloured by its exact category (outside /
  interior / boundary) and, in a second panel, by its number of real roots, the criterion of
  stride-one spaces; the discriminant drawn on top. ``dims=3`` for degree 4: the swallowtail
  of depressed quartics ``x^4 + a x^2y^2 + b xy^3 + c y^4``.
* Spaces whose closure is a hypersurface (strides > 1, ``dim M = d``; e.g. ``k=(2,2),
  s=(2,1)``: the quadric ``p0 p3 = p1 p2``; ``k=(3,2), s=(2,1)``: a cubic): the real points of
  the closure in a 3-D affine chart ``through + a u + b v + c w``, sampled exactly from the
  layers, with ``M``, closure-only points, the singular locus and the boundary in distinct
  colours.

Other architectures (closures of codimension >= 2) have no meaningful 3-D slice: a generic
3-D slice meets them in a curve or in nothing, so they raise :class:`~lcn.errors.ArchitectureError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lcn._validate import check_int, check_real
from lcn.architecture import Architecture, as_architecture
from lcn.errors import ArchitectureError, FilterError
from lcn.plot._plane import default_plane, draw_plane, plane_data
from lcn.plot._rational import Vec, as_rational_vector
from lcn.plot._spacedata import SpaceData, Window
from lcn.plot._surface import (
    default_chart,
    draw_surface,
    hypersurface_data,
    is_hypersurface,
    swallowtail_data,
)

__all__ = ["space", "space_data", "draw_space", "SPACE_SIZE", "MAX_SECONDS"]

#: Default picture size in pixels (width, height).
SPACE_SIZE = (1300, 620)
#: Exact classifications are timed on a few points first; a picture whose estimate exceeds
#: this many seconds is refused before it starts.
MAX_SECONDS = 120.0
_DEFAULT_RESOLUTION = {"plane": 97, "swallowtail": 41, "hypersurface": 48}


def _kind(arch: Architecture, dims: Any) -> str:
    if dims is not None:
        dims = check_int(dims, "dims", min=2, max=3)
    if arch.full_dimensional:
        if dims == 3:
            if arch.degree != 4:
                raise ArchitectureError(
                    "dims", f"is 3, but {arch} is full-dimensional of degree {arch.degree}; the "
                    "3-D picture of a full-dimensional space is the swallowtail of quartics "
                    "(degree 4): use dims=2 for a 2-D slice")
            return "swallowtail"
        return "plane"
    if dims == 2:
        raise ArchitectureError(
            "dims", f"is 2, but the function space of {arch} has dimension {arch.dimension} in "
            f"R^{arch.degree + 1}: a 2-D slice meets it in a curve at most; use dims=3")
    if not is_hypersurface(arch):
        raise ArchitectureError(
            "k", f"{arch}: the closure of M has codimension {arch.degree + 1 - arch.dimension} "
            "in filter space, so a 3-D slice meets it in a curve or not at all: no meaningful "
            "3-D picture. Pictures exist for stride one (2-D slices) and for closures that are "
            "hypersurfaces (e.g. k=2,2 s=2,1 or k=3,2 s=2,1); use lcn.plot.roots for a filter")
    return "hypersurface"


def _vectors(value: Any, argument: str, count: int, length: int) -> tuple[Vec, ...]:
    if isinstance(value, str):
        value = [p for p in value.split(";")]
    if not isinstance(value, Sequence) or len(value) != count:
        raise FilterError(argument, f"give {count} direction vectors of {length} entries each "
                          "(a list of vectors, or a string 'u;v' with ';' between them)")
    return tuple(as_rational_vector(v, f"{argument}[{i}]", length) for i, v in enumerate(value))


def _window(window: Any, default: Window) -> Window:
    if window is None:
        return tuple((float(a), float(b)) for a, b in default)
    if isinstance(window, int | float) and not isinstance(window, bool):
        r = check_real(window, "window", min=0.0, min_open=True)
        return tuple((-r, r) for _ in default)
    if not isinstance(window, Sequence) or len(window) != len(default):
        raise FilterError("window", f"give a half-width or {len(default)} (low, high) pairs")
    out = []
    for i, w in enumerate(window):
        if not isinstance(w, Sequence) or len(w) != 2:
            raise FilterError("window", f"entry {i} is {w!r}; give a (low, high) pair")
        lo = check_real(w[0], f"window[{i}]")
        hi = check_real(w[1], f"window[{i}]")
        if not lo < hi:
            raise FilterError("window", f"entry {i} is ({lo:g}, {hi:g}); give low < high")
        out.append((lo, hi))
    return tuple(out)


def space_data(arch: Any, through: Any = None, plane: Any = None, *, resolution: int | None = None,
               window: Any = None, dims: int | None = None,
               max_seconds: float = MAX_SECONDS) -> SpaceData:
    """The samples of a function-space picture with their exact categories (MATH.md 3-6).

    ``through`` (a filter, ``d+1`` entries ordered ``x^d, ..., y^d``) and ``plane`` (2
    directions for a 2-D slice, 3 for a 3-D chart) define the slice ``through + sum c_i
    plane[i]``; exact entries (ints, fractions, strings), floats taken at their exact binary
    value. Omitted: a default that shows the structure (see :func:`lcn.plot.space`).
    ``resolution``: grid points per axis (plane), surface parameters per direction (3-D).
    ``window``: a half-width or one ``(low, high)`` pair per coordinate. The exact work is
    estimated first: more than ``max_seconds`` raises before anything is computed.
    """
    arch = as_architecture(arch)
    kind = _kind(arch, dims)
    res = check_int(_DEFAULT_RESOLUTION[kind] if resolution is None else resolution,
                    "resolution", min=3, max=2000)
    limit = check_real(max_seconds, "max_seconds", min=0.0, min_open=True)
    n = arch.degree + 1
    if kind == "swallowtail":
        if through is not None or plane is not None or window is not None:
            raise FilterError("through", "the swallowtail picture is the fixed family of "
                              "depressed quartics; omit through, plane and window (or use dims=2)")
        return swallowtail_data(arch, resolution=res, max_seconds=limit)
    if kind == "plane":
        t0, p0, half = default_plane(arch)
        default_window: Window = ((-half, half), (-half, half))
    else:
        t0, p0, default_window = default_chart(arch)
    t = t0 if through is None else as_rational_vector(through, "through", n)
    p = p0 if plane is None else _vectors(plane, "plane", len(p0), n)
    win = _window(window, default_window)
    if kind == "plane":
        return plane_data(arch, t, p, win, resolution=res, max_seconds=limit)
    return hypersurface_data(arch, t, p, win, resolution=res, max_seconds=limit)


def draw_space(data: SpaceData, size: tuple[int, int] = SPACE_SIZE, dpi: int = 100) -> Any:
    """Draw :class:`SpaceData` (returns the matplotlib ``Figure``; no window is opened)."""
    size = _check_size(size)
    if data.kind == "plane":
        return draw_plane(data, size, dpi)
    return draw_surface(data, size, dpi)


def _check_size(size: Any) -> tuple[int, int]:
    if not isinstance(size, Sequence) or len(size) != 2:
        raise FilterError("size", f"is {size!r}; give (width, height) in pixels")
    w = check_int(size[0], "size", min=200, max=6000)
    h = check_int(size[1], "size", min=150, max=6000)
    return w, h


def space(arch: Any, through: Any = None, plane: Any = None, *, resolution: int | None = None,
          window: Any = None, dims: int | None = None, size: tuple[int, int] = SPACE_SIZE,
          max_seconds: float = MAX_SECONDS) -> Any:
    """Picture of the function space of ``arch`` (returns the matplotlib ``Figure``).

    Stride one (full-dimensional, MATH.md 3): a 2-D slice ``through + a u + b v`` (default
    ``x^d - x^{d-2}y^2`` with ``u, v`` the directions of ``xy^{d-1}`` and ``y^d``), each pixel
    coloured by its exact category and its number of real roots, the discriminant on top;
    ``dims=3`` (degree 4): the swallowtail of depressed quartics coloured by exact category.
    Strides > 1 with a hypersurface closure: a 3-D chart ``through + a u + b v + c w`` of its
    real points (default: see :func:`lcn.plot._surface.default_chart`), sampled from the
    layers, with ``M``, closure-only points, the singular locus (MATH.md 5) and the boundary
    (MATH.md 6) in distinct colours. All colours come from exact membership on rational points
    (:func:`space_data` returns them). ``size``: ``(width, height)`` in pixels.
    """
    return draw_space(space_data(arch, through, plane, resolution=resolution, window=window,
                                 dims=dims, max_seconds=max_seconds), size)

