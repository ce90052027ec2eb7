"""The sparse factorization of a filter at a glance: its roots grouped into hyperroot orbits.

Layer ``i`` contributes the form ``P_i(x^{S_i}, y^{S_i})`` (MATH.md 2); each linear factor
``b x^S - a y^S`` of it (hyperroot ``h = a/b``) has the ``S`` roots ``t = h^{1/S} omega^j``,
``omega = exp(2 pi i / S)``: one orbit of the ``S``-th roots of unity, or the point 0 or
infinity with multiplicity ``S`` (MATH.md 3). The picture draws the roots ``t = x/y`` of ``F`` in
the complex plane, one colour per layer, each orbit joined into its regular ``S``-gon, filled
markers for real hyperroots (orbits symmetric under conjugation by themselves) and hollow ones
for conjugate pairs, and the point at infinity in its own box.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lcn import forms
from lcn.architecture import as_architecture
from lcn.errors import FilterError
from lcn.geometry import membership, nearest
from lcn.plot import _style
from lcn.plot._spacedata import form_text

__all__ = ["RootMarker", "RootsData", "roots_data", "roots", "draw_roots", "ROOTS_SIZE"]

ROOTS_SIZE = (900, 860)
_INF = complex(math.inf, 0.0)


@dataclass(frozen=True)
class RootMarker:
    """One root ``t = x/y`` of the end-to-end filter, as drawn: ``layer`` (0-based), ``orbit``
    (index of the hyperroot within the layer), ``hyperroot`` ``h = t^S`` (``inf`` for
    ``[1:0]``), ``value`` ``t``, ``multiplicity``, ``real_orbit`` (``h`` is real, so the orbit
    is its own conjugate), ``S`` (the layer's stride product)."""

    layer: int
    orbit: int
    hyperroot: complex
    value: complex
    multiplicity: int
    real_orbit: bool
    S: int

    @property
    def at_infinity(self) -> bool:
        return math.isinf(self.value.real)


@dataclass(frozen=True)
class RootsData:
    """What :func:`roots` draws: ``markers`` (:class:`RootMarker`, multiplicities summing to
    ``d``), the ``filters`` used (one per layer), ``source`` (``"rational"``, ``"float"`` or
    ``"complex"`` factorization from :func:`lcn.geometry.membership`, or ``"nearest"`` for a
    float filter, factorized at its nearest point of ``M``), ``distance`` (to that point; 0 for
    exact input), ``filter_roots`` (the roots of ``F`` itself, computed independently by
    :func:`lcn.forms.roots`, drawn as rings), ``tol`` (how real a float hyperroot must be to
    count as real: ``|Im h| <= tol max(1, |h|)``)."""

    arch: Any
    filter: tuple[Any, ...]
    filters: tuple[tuple[complex, ...], ...]
    markers: tuple[RootMarker, ...]
    filter_roots: tuple[tuple[complex, int], ...]
    source: str
    distance: float
    tol: float

    def total_multiplicity(self) -> int:
        return sum(m.multiplicity for m in self.markers)

    def to_json(self) -> dict[str, Any]:
        def num(z: complex) -> Any:
            return "inf" if math.isinf(z.real) else [z.real, z.imag]

        return {
            "architecture": str(self.arch),
            "source": self.source,
            "distance": self.distance,
            "tol": self.tol,
            "markers": [{"layer": m.layer, "orbit": m.orbit, "hyperroot": num(m.hyperroot),
                         "root": num(m.value), "multiplicity": m.multiplicity,
                         "real_orbit": m.real_orbit, "S": m.S} for m in self.markers],
        }


def _hyperroots_exact(w: list[Any]) -> list[tuple[complex, int, bool]]:
    if len(w) <= 1:
        return []
    return [(r.value, r.multiplicity, r.is_real) for r in forms.roots(w)]


def _hyperroots_float(w: np.ndarray, tol: float) -> list[tuple[complex, int, bool]]:
    w = np.asarray(w, dtype=complex)
    if w.size <= 1:
        return []
    scale = float(np.max(np.abs(w)))
    n_inf = 0
    while n_inf < w.size - 1 and abs(w[n_inf]) <= 1e-12 * scale:
        n_inf += 1
    out = [(_INF, 1, True) for _ in range(n_inf)]
    for h in np.roots(w[n_inf:]):
        real = abs(h.imag) <= tol * max(1.0, abs(h))
        out.append((complex(h.real, 0.0) if real else complex(h), 1, bool(real)))
    return out


def _orbit(h: complex, S: int) -> list[complex]:
    """The ``S`` roots ``t`` with ``t^S = h`` (0 and infinity repeated ``S`` times)."""
    if math.isinf(h.real) or h == 0:
        return [h] * S
    base = cmath.exp(cmath.log(h) / S)
    return [base * cmath.exp(2j * math.pi * j / S) for j in range(S)]


def _factorize(arch: Any, filter: Any, tol: float) -> tuple[list[Any], str, float, list[Any]]:
    if forms.is_exact_input(filter):
        F = forms.as_exact(filter, "filter")
        if len(F) != arch.degree + 1:
            raise FilterError("filter", f"has {len(F)} entries; {arch} has filters of "
                              f"{arch.degree + 1} (x^d, ..., y^d)")
        if all(c == 0 for c in F):
            raise FilterError("filter", "is the zero form, whose roots are the whole line")
        m = membership(arch, F, factorize=True)
        if not m.in_closure or m.factorization is None:
            raise FilterError("filter", f"{form_text(F)} is not in the Zariski closure of M for "
                              f"{arch}: it has no sparse factorization to draw (lcn member tells "
                              "why); give a member, or a float filter for its nearest point")
        return [list(w) for w in m.factorization], str(m.factorization_kind), 0.0, F
    f = forms.as_float(filter, "filter")
    if f.ndim != 1 or f.size != arch.degree + 1:
        raise FilterError("filter", f"has shape {f.shape}; give {arch.degree + 1} coefficients")
    if not np.any(f):
        raise FilterError("filter", "is the zero form, whose roots are the whole line")
    r = nearest(arch, f)
    return [np.asarray(w) for w in r.filters], "nearest", float(r.distance), list(f)


def roots_data(arch: Any, filter: Any, *, tol: float = 1e-9) -> RootsData:
    """The roots of ``F`` grouped into the hyperroot orbits of each layer (MATH.md 3).

    Exact filters (ints, fractions, strings) are factorized by :func:`lcn.geometry.membership`
    (exact hyperroots, multiplicities and realness from flint's certified roots when the
    factorization is rational; float or complex factorizations otherwise); float filters by
    :func:`lcn.geometry.nearest` (the factorization of the nearest point of ``M``, whose
    distance is reported). Raises :class:`~lcn.errors.FilterError` for the zero form and for an
    exact form off the closure (no sparse factorization exists).
    """
    arch = as_architecture(arch)
    filters, source, distance, F = _factorize(arch, filter, tol)
    markers: list[RootMarker] = []
    for i, (w, S) in enumerate(zip(filters, arch.S, strict=True)):
        if source == "rational":
            hyper = _hyperroots_exact(w)
        else:
            hyper = _hyperroots_float(np.asarray(w, dtype=complex), tol)
        for j, (h, mult, real) in enumerate(hyper):
            for t in _orbit(h, S):
                markers.append(RootMarker(i, j, h, t, mult, real, S))
    markers = _merge_poles(markers)
    if forms.is_exact_input(F):
        fr = tuple((r.value, r.multiplicity) for r in forms.roots(F))
    else:
        fr = tuple((r.value, r.multiplicity) for r in forms.roots(np.asarray(F, float)))
    return RootsData(arch, tuple(F), tuple(tuple(complex(v) for v in w) for w in filters),
                     tuple(markers), fr, source, distance, float(tol))


def _merge_poles(markers: list[RootMarker]) -> list[RootMarker]:
    """An orbit at 0 or infinity is one point of multiplicity ``S m``: keep one marker."""
    out: list[RootMarker] = []
    seen: dict[tuple[int, int], int] = {}
    for m in markers:
        if m.at_infinity or m.value == 0:
            k = (m.layer, m.orbit)
            if k in seen:
                old = out[seen[k]]
                out[seen[k]] = RootMarker(old.layer, old.orbit, old.hyperroot, old.value,
                                          old.multiplicity + m.multiplicity, old.real_orbit,
                                          old.S)
                continue
            seen[k] = len(out)
        out.append(m)
    return out


def draw_roots(data: RootsData, size: tuple[int, int] = ROOTS_SIZE, dpi: int = 100) -> Any:
    """Draw :class:`RootsData` (returns the ``Figure``)."""
    from matplotlib.lines import Line2D

    fig = _style.new_figure(size, dpi)
    ax = fig.add_subplot()
    finite = [m for m in data.markers if not m.at_infinity]
    radius = max([1.0] + [abs(m.value) for m in finite])
    lim = 1.2 * radius
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    ax.plot(circle.real, circle.imag, color="#bbbbbb", linestyle=":", linewidth=1)
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.axvline(0, color="#888888", linewidth=0.8)
    for (layer, _orbit), group in _groups(finite).items():
        color = _style.layer_color(layer)
        if len(group) > 1:  # the orbit's regular S-gon
            pts = sorted(group, key=lambda m: cmath.phase(m.value))
            z = np.array([m.value for m in pts] + [pts[0].value])
            ax.plot(z.real, z.imag, color=color, linewidth=1.0, alpha=0.6)
        for m in group:
            # higher layers get larger markers drawn underneath, so shared roots stay visible
            ax.plot([m.value.real], [m.value.imag], marker="o", markersize=9 + 4 * m.layer,
                    markeredgewidth=2, markeredgecolor=color,
                    markerfacecolor=color if m.real_orbit else "white", linestyle="none",
                    zorder=9 - min(m.layer, 5))
            if m.multiplicity > 1:
                ax.annotate(f"x{m.multiplicity}", (m.value.real, m.value.imag),
                            textcoords="offset points", xytext=(7, 7), color=color, fontsize=9)
    for value, _mult in data.filter_roots:
        if not math.isinf(value.real):
            ax.plot([value.real], [value.imag], marker="o", markersize=4, color="black",
                    linestyle="none", zorder=10)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("Re t  (t = x/y)")
    ax.set_ylabel("Im t")
    _draw_infinity(fig, data)
    handles = []
    for i, (k, S) in enumerate(zip(data.arch.k, data.arch.S, strict=True)):
        if k > 1:
            handles.append(Line2D([], [], marker="o", markersize=9, markeredgewidth=2,
                                  color=_style.layer_color(i), linestyle="-",
                                  label=f"layer {i + 1} (k={k}, S={S}): " + (
                                      "its roots" if S == 1 else
                                      f"orbits of the {_ordinal(S)} roots of unity")))
    handles.append(Line2D([], [], marker="o", markersize=9, markeredgecolor="#555555",
                          markerfacecolor="#555555", linestyle="none", label="real hyperroot"))
    handles.append(Line2D([], [], marker="o", markersize=9, markeredgecolor="#555555",
                          markerfacecolor="white", linestyle="none",
                          label="non-real hyperroot (conjugate pair)"))
    handles.append(Line2D([], [], marker="o", markersize=4, color="black", linestyle="none",
                          label="roots of F (lcn.forms.roots)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2,
              fontsize=8, frameon=False)
    src = {"rational": "exact rational factorization", "float": "real factorization (floats)",
           "complex": "complex factorization: F is only in the closure",
           "nearest": f"factorization of the nearest point of M (distance {data.distance:.3g})"}
    fig.suptitle(f"roots of F = {form_text(data.filter)} for {data.arch}\n"
                 f"{src[data.source]}; {data.total_multiplicity()} roots with multiplicity")
    return fig


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _groups(markers: list[RootMarker]) -> dict[tuple[int, int], list[RootMarker]]:
    out: dict[tuple[int, int], list[RootMarker]] = {}
    for m in markers:
        out.setdefault((m.layer, m.orbit), []).append(m)
    return out


def _draw_infinity(fig: Any, data: RootsData) -> None:
    """The point at infinity ``[1:0]``: a small box listing the layers with roots there."""
    inf = [m for m in data.markers if m.at_infinity]
    box = fig.add_axes((0.80, 0.76, 0.15, 0.09))
    box.set_xticks([])
    box.set_yticks([])
    box.set_xlim(-1, max(1, len(inf)))
    box.set_ylim(-1, 1)
    box.set_title("t = inf  [1:0]", fontsize=8)
    if not inf:
        box.text(0, 0, "none", fontsize=8, va="center")
    for j, m in enumerate(inf):
        color = _style.layer_color(m.layer)
        box.plot([j], [0], marker="o", markersize=9, markeredgewidth=2, markeredgecolor=color,
                 markerfacecolor=color, linestyle="none")
        box.annotate(f"x{m.multiplicity}", (j, 0), textcoords="offset points", xytext=(6, 4),
                     fontsize=8, color=color)


def roots(arch: Any, filter: Any, *, tol: float = 1e-9, size: tuple[int, int] = ROOTS_SIZE
          ) -> Any:
    """Picture of the roots of ``filter`` grouped into the hyperroot orbits of each layer
    (MATH.md 3; see :func:`roots_data`). Returns the matplotlib ``Figure``."""
    return draw_roots(roots_data(arch, filter, tol=tol), size)
