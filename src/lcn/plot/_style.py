"""Shared look of the pictures: category colours and labels, layer colours, figure creation.

Matplotlib is imported inside the functions (``import lcn.plot`` stays light) and always
through :class:`matplotlib.figure.Figure` with the Agg canvas, never ``pyplot``: no window is
ever opened, whatever backend the user's matplotlib is configured with.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "POINT_CATEGORIES",
    "POINT_COLORS",
    "POINT_LABELS",
    "CRITICAL_COLORS",
    "CRITICAL_LABELS",
    "layer_color",
    "new_figure",
    "legend_handles",
    "ROOT_COUNT_CMAP",
]

#: Categories of a point of filter space in the pictures: the exact classification of
#: :func:`lcn.geometry.membership` (MATH.md 3-6), with ``outside`` split into points of the
#: Zariski closure (``closure_only``: a complex sparse factorization but no real one, MATH.md 4)
#: and points off the closure (``outside``). Full-dimensional spaces have every point in the
#: closure; there ``outside`` means "not in M".
POINT_CATEGORIES: tuple[str, ...] = (
    "outside",
    "closure_only",
    "interior",
    "singular",
    "boundary_stride1",
    "boundary_reduced",
    "zero",
)

POINT_COLORS: dict[str, str] = {
    "outside": "#d9d9d9",
    "closure_only": "#f28e2b",
    "interior": "#4e79a7",
    "singular": "#8c3fbf",
    "boundary_stride1": "#d62728",
    "boundary_reduced": "#17becf",
    "zero": "#000000",
}

POINT_LABELS: dict[str, str] = {
    "outside": "outside M",
    "closure_only": "closure only (complex factorization)",
    "interior": "interior of M",
    "singular": "singular (MATH.md 5)",
    "boundary_stride1": "boundary, stride-one kind (MATH.md 6)",
    "boundary_reduced": "boundary, reduced kind (MATH.md 6)",
    "zero": "zero form",
}

#: Colours of the critical-point categories of :data:`lcn.critical.CATEGORIES` (the same hues
#: as the experiment's bar charts).
CRITICAL_COLORS: dict[str, str] = {
    "zero": "#9e9e9e",
    "pure_smooth_interior": "#2e7d32",
    "singular": "#6a1b9a",
    "boundary": "#ef6c00",
    "spurious": "#c62828",
    "undecided": "#000000",
}

CRITICAL_LABELS: dict[str, str] = {
    "zero": "zero",
    "pure_smooth_interior": "pure smooth interior",
    "singular": "singular",
    "boundary": "boundary",
    "spurious": "spurious",
    "undecided": "undecided",
}

#: Discrete colour map for "number of real roots" panels.
ROOT_COUNT_CMAP = "YlGnBu"

_LAYER_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def layer_color(i: int) -> str:
    """Colour of layer ``i`` (0-based) in the factorization pictures."""
    return _LAYER_COLORS[i % len(_LAYER_COLORS)]


def new_figure(size: tuple[int, int], dpi: int = 100) -> Any:
    """A matplotlib ``Figure`` of ``size = (width, height)`` pixels at ``dpi``, on the Agg
    canvas, with constrained layout (no ``pyplot``, no window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def legend_handles(categories: list[str], colors: dict[str, str], labels: dict[str, str],
                   marker: str = "s") -> list[Any]:
    """Legend proxies (one square per category, in the given order)."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], linestyle="none", marker=marker, markersize=9,
                   markerfacecolor=colors[c], markeredgecolor="#555555", label=labels[c])
            for c in categories]
