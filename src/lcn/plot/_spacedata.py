"""What a function-space picture shows, as data: exact sample points and their categories.

:class:`SpaceData` is computed first (:func:`lcn.plot.space_data`) and drawn afterwards, so a
test or a notebook can read the colour of any sample without looking at pixels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lcn import forms
from lcn.architecture import Architecture
from lcn.geometry import membership
from lcn.plot._rational import Vec, as_rational_vector, key

__all__ = ["SpaceData", "point_category", "form_text", "axis_label", "Window"]

Window = tuple[tuple[float, float], ...]


def point_category(arch: Architecture, F: Vec) -> str:
    """The picture category of the exact form ``F`` (:data:`lcn.plot.POINT_CATEGORIES`): the
    exact classification of :func:`lcn.geometry.membership` (MATH.md 3-6), ``outside`` split
    into ``closure_only`` (a complex sparse factorization exists, MATH.md 4) and ``outside``
    (off the Zariski closure) when ``M`` is not full-dimensional."""
    m = membership(arch, list(F), factorize=False)
    if m.classification == "outside" and m.in_closure and not arch.full_dimensional:
        return "closure_only"
    return m.classification


def real_roots(F: Vec) -> int | None:
    """Real roots of ``F`` on the projective line with multiplicity (exact), ``None`` for 0."""
    if all(c == 0 for c in F):
        return None
    return forms.real_root_count(list(F))


def form_text(F: Any, max_terms: int = 6) -> str:
    """A short readable name of a binary form: ``x^4 - 2x^2y^2 + y^4``."""
    d = len(F) - 1
    terms = []
    for j, c in enumerate(F):
        if c == 0:
            continue
        ex, ey = d - j, j
        mono = (f"x^{ex}" if ex > 1 else "x" if ex == 1 else "") + (
            f"y^{ey}" if ey > 1 else "y" if ey == 1 else "")
        cs = str(c) if not isinstance(c, float) else f"{c:.3g}"
        neg = cs.startswith("-")
        mag = cs[1:] if neg else cs
        if mono and mag == "1":
            mag = ""
        terms.append(("-" if neg else "+", f"{mag}{mono}" or "1"))
    if not terms:
        return "0"
    if len(terms) > max_terms:
        terms = terms[:max_terms] + [("+", "...")]
    out = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    for sign, t in terms[1:]:
        out += f" {sign} {t}"
    return out


def axis_label(v: Any, name: str, short: bool = False) -> str:
    """Label of a slice coordinate: ``"a: coefficient of xy^3"`` for a unit direction, else
    ``"a: along <form>"``."""
    nz = [j for j, c in enumerate(v) if c != 0]
    if len(nz) == 1 and v[nz[0]] == 1:
        unit = [1 if j == nz[0] else 0 for j in range(len(v))]
        return f"{name}: {'coeff.' if short else 'coefficient'} of {form_text(unit)}"
    return f"{name}: along {form_text(v)}"


@dataclass(frozen=True, eq=False)
class SpaceData:
    """Sample points of a function-space picture and their exact categories.

    * ``arch``; ``kind``: ``"plane"`` (2-D affine slice of a full-dimensional space),
      ``"swallowtail"`` (the depressed quartics ``x^4 + a x^2y^2 + b xy^3 + c y^4``) or
      ``"hypersurface"`` (3-D affine chart of a closure of codimension one);
    * ``through`` and ``plane``: the slice is ``through + sum_i c_i plane[i]`` (exact vectors),
      ``window``: the range of each coordinate ``c_i``;
    * ``points`` (exact forms), ``coords`` (``(n, dims)`` chart coordinates, floats for
      drawing), ``categories`` (:data:`lcn.plot.POINT_CATEGORIES`, from the exact
      :func:`lcn.geometry.membership` of each point), ``real_roots`` (exact, with
      multiplicity), ``groups`` (``"grid"``, ``"surface"``, ``"singular_line"``);
    * ``shape``: grid shape ``(rows, cols)`` of the ``"grid"`` group (plane: rows follow the
      second coordinate); ``mesh``: ``(rows, cols)`` shape of the ``"surface"`` group (its
      points in row-major order) or ``None``;
    * ``raw_coords``: chart coordinates before clipping to the window (``NaN`` only at infinity),
      used to clip the drawn surface exactly at the window's faces;
    * ``curve``: float arrays drawn on top (``"discriminant"``: values on a fine grid whose
      zero set is where roots collide) -- for drawing only, not used for any colour;
    * ``notes``: what the picture leaves out and why; ``seconds``: compute time.

    Every category is exact (rational points, python-flint); nothing is decided in floats.
    """

    arch: Architecture
    kind: str
    through: Vec
    plane: tuple[Vec, ...]
    window: tuple[tuple[float, float], ...]
    points: tuple[Vec, ...]
    coords: np.ndarray
    categories: tuple[str, ...]
    real_roots: tuple[int | None, ...]
    groups: tuple[str, ...]
    shape: tuple[int, int] | None = None
    mesh: tuple[int, int] | None = None
    curve: dict[str, Any] = field(default_factory=dict)
    raw_coords: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    def category_of(self, filter: Any) -> str:
        """Category of a sampled point given as an exact filter (``KeyError`` when the filter
        is not one of the samples; scaling does not matter for the picture, so give it
        exactly as sampled)."""
        index = self._index()
        return self.categories[index[key(as_rational_vector(filter, "filter",
                                                            len(self.through)))]]

    def _index(self) -> dict[Any, int]:
        cache = self.__dict__.get("_key_index")
        if cache is None:
            cache = {key(p): i for i, p in enumerate(self.points)}
            object.__setattr__(self, "_key_index", cache)
        return cache

    def grid(self, what: str = "categories") -> np.ndarray:
        """The ``"grid"`` group as a ``shape`` array of categories (or ``"real_roots"``)."""
        if self.shape is None:
            raise ValueError("this picture has no grid")
        idx = [i for i, g in enumerate(self.groups) if g == "grid"]
        vals = self.categories if what == "categories" else self.real_roots
        return np.array([vals[i] for i in idx], dtype=object).reshape(self.shape)

    def counts(self) -> dict[str, int]:
        """Number of samples per category."""
        return dict(Counter(self.categories))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary: architecture, kind, slice (exact entries as ints or ``"p/q"``),
        window, sample counts per group and category, notes, seconds."""
        per_group: dict[str, dict[str, int]] = {}
        for g, c in zip(self.groups, self.categories, strict=True):
            per_group.setdefault(g, {}).setdefault(c, 0)
            per_group[g][c] += 1
        return {
            "architecture": str(self.arch),
            "kind": self.kind,
            "through": [forms.exact_to_json(v) for v in self.through],
            "plane": [[forms.exact_to_json(v) for v in p] for p in self.plane],
            "window": [list(w) for w in self.window],
            "samples": len(self.points),
            "categories": per_group,
            "method": "exact: lcn.geometry.membership on rational points",
            "notes": list(self.notes),
            "seconds": self.seconds,
        }
