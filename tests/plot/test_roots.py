"""Factorization pictures: markers against planted factorizations and independent roots."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from lcn import Architecture, mu
from lcn.errors import LCNError
from lcn.plot import roots, roots_data


def _match(values: list[complex], targets: list[complex], tol: float) -> None:
    """Every value pairs off with a distinct target within ``tol`` (multisets agree)."""
    left = list(targets)
    assert len(values) == len(left)
    for v in values:
        j = int(np.argmin([abs(v - t) for t in left]))
        assert abs(v - left[j]) <= tol * max(1.0, abs(v)), (v, left)
        left.pop(j)


def _expanded(data) -> list[complex]:
    return [m.value for m in data.markers if not m.at_infinity
            for _ in range(m.multiplicity)]


def test_planted_factorization_orbits() -> None:
    # layer 1: roots 1, 2; layer 2 (S=2): hyperroots -1, 3 (orbits +-i, +-sqrt 3);
    # layer 3 (S=4): hyperroot 5 (the 4th roots of 5). The factorization is unique: no other
    # union of root orbits has the right sizes.
    arch = Architecture((3, 3, 2), (2, 2, 1))
    F = mu(arch, [[1, -3, 2], [1, -2, -3], [1, -5]])
    data = roots_data(arch, F)
    assert data.source == "rational"
    assert len(data.markers) == arch.degree == data.total_multiplicity() == 10
    planted = {0: [1, 2], 1: [-1, 3], 2: [5]}
    for layer, hs in planted.items():
        got = sorted({(m.orbit, m.hyperroot) for m in data.markers if m.layer == layer},
                     key=lambda t: t[1].real)
        _match([h for _, h in got], [complex(h) for h in hs], 1e-12)
        for orbit, h in got:
            pts = [m for m in data.markers if m.layer == layer and m.orbit == orbit]
            S = arch.S[layer]
            assert len(pts) == S and all(m.S == S for m in pts)
            _match([m.value for m in pts],
                   [cmath.exp(cmath.log(h) / S) * cmath.exp(2j * math.pi * j / S)
                    for j in range(S)], 1e-12)
            assert all(m.real_orbit for m in pts)
    # the markers are exactly the roots of F, computed independently by numpy
    _match(_expanded(data), [complex(z) for z in np.roots([float(c) for c in F])], 1e-8)


def test_roots_at_zero_and_infinity_keep_their_multiplicity() -> None:
    arch = Architecture((3, 2), (2, 1))
    # layer 1: y (x + y): roots inf and -1; layer 2: x^2, the orbit of hyperroot 0 (double)
    F = mu(arch, [[0, 1, 1], [1, 0]])
    data = roots_data(arch, F)
    assert data.total_multiplicity() == 4
    inf = [m for m in data.markers if m.at_infinity]
    zero = [m for m in data.markers if m.value == 0]
    assert [(m.layer, m.multiplicity) for m in inf] == [(0, 1)]
    assert [(m.layer, m.multiplicity) for m in zero] == [(1, 2)]


def test_closure_only_filter_gets_a_complex_factorization() -> None:
    data = roots_data("k=3,2 s=2,1", [1, 0, 0, 0, 4])  # x^4 + 4y^4
    assert data.source == "complex"
    assert data.total_multiplicity() == 4
    top = [m for m in data.markers if m.layer == 1]
    assert len(top) == 2 and not top[0].real_orbit
    assert abs(top[0].value ** 2 - top[0].hyperroot) < 1e-9
    _match(_expanded(data), [complex(z) for z in np.roots([1, 0, 0, 0, 4])], 1e-8)


def test_float_filter_uses_the_nearest_point() -> None:
    arch = Architecture((3, 3, 2), (2, 2, 1))
    F = np.array([float(c) for c in mu(arch, [[1, -3, 2], [1, -2, -3], [1, -5]])])
    data = roots_data(arch, F + 1e-7)
    assert data.source == "nearest" and data.distance < 1e-5
    assert data.total_multiplicity() == 10
    for m in data.markers:
        assert abs(m.value ** m.S - m.hyperroot) <= 1e-6 * max(1.0, abs(m.hyperroot))


@pytest.mark.parametrize("filt", [[0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1], "1,2,x"])
def test_bad_filters(filt) -> None:
    with pytest.raises(LCNError) as exc:
        roots_data("k=3,2 s=2,1", filt)
    assert exc.value.argument.startswith("filter")


def test_roots_figure() -> None:
    fig = roots("k=3,2 s=2,1", "1,0,0,0,-4", size=(600, 500))
    assert tuple(fig.get_size_inches() * fig.dpi) == (600, 500)
