"""Exact rational helpers for the pictures: rational inputs, grids, null spaces, work estimates.

The pictures colour points by the *exact* classification of :func:`lcn.geometry.membership`,
so every sampled point must be a rational form. Floats given by a user are taken at their exact
binary value (a float is a rational number), never rounded to something nearby.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import flint
import numpy as np

from lcn import forms
from lcn._validate import check_int, check_real
from lcn.errors import FilterError, LCNError

__all__ = [
    "Vec",
    "as_rational_vector",
    "rational_grid",
    "nullspace",
    "combine",
    "to_float",
    "key",
    "estimate",
    "rational_near",
]

Vec = tuple[flint.fmpq, ...]


def _entry(v: Any, argument: str, i: int) -> flint.fmpq:
    if isinstance(v, float | np.floating):
        if not math.isfinite(float(v)):
            raise FilterError(argument, f"entry {i} is {v!r}; give finite numbers")
        f = Fraction(float(v))
        return flint.fmpq(f.numerator, f.denominator)
    return forms.as_exact([v], argument)[0]


def as_rational_vector(value: Any, argument: str, length: int) -> Vec:
    """``value`` (ints, ``Fraction``, ``fmpq``, strings like ``"1/3"``, or floats taken at their
    exact binary value) as a tuple of ``length`` ``fmpq``; errors name ``argument``."""
    if isinstance(value, str):
        items: Sequence[Any] = forms.parse_vector(value, argument)
    elif isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise FilterError(argument, f"has shape {value.shape}; give one vector")
        items = value.tolist()
    elif isinstance(value, Sequence):
        items = value
    else:
        raise FilterError(argument, f"is {type(value).__name__}; give a list of {length} numbers")
    if len(items) != length:
        raise FilterError(argument, f"has {len(items)} entries; give {length} (x^d, ..., y^d)")
    return tuple(_entry(v, argument, i) for i, v in enumerate(items))


def rational_grid(lo: Any, hi: Any, n: int) -> tuple[flint.fmpq, ...]:
    """``n`` equally spaced rationals from ``lo`` to ``hi`` (both included). Float bounds are
    read as the decimal they print as (``0.6`` is ``3/5``, not its binary neighbour), so the
    grid holds the simple rationals a user expects (e.g. the cusp ``b = 1/4``)."""
    a, b = (_entry(str(v) if isinstance(v, float) else v, "window", i)
            for i, v in enumerate((lo, hi)))
    if n == 1:
        return ((a + b) / 2,)
    return tuple(a + (b - a) * flint.fmpq(i, n - 1) for i in range(n))


def nullspace(rows: Sequence[Sequence[flint.fmpq]], n: int) -> list[Vec]:
    """A basis of ``{x in Q^n : rows . x = 0}`` (exact, from the reduced row echelon form)."""
    if not rows:
        return [tuple(flint.fmpq(int(i == j)) for j in range(n)) for i in range(n)]
    M = flint.fmpq_mat(len(rows), n, [v for r in rows for v in r])
    R, rank = M.rref()
    pivots: list[int] = []
    for i in range(rank):
        j = next(c for c in range(n) if R[i, c] != 0)
        pivots.append(j)
    free = [j for j in range(n) if j not in pivots]
    basis = []
    for f in free:
        x = [flint.fmpq(0)] * n
        x[f] = flint.fmpq(1)
        for i, p in enumerate(pivots):
            x[p] = -R[i, f]
        basis.append(tuple(x))
    return basis


def combine(coeffs: Sequence[flint.fmpq], vectors: Sequence[Vec]) -> Vec:
    """``sum_i coeffs[i] * vectors[i]`` (exact)."""
    n = len(vectors[0])
    out = [flint.fmpq(0)] * n
    for c, v in zip(coeffs, vectors, strict=True):
        if c != 0:
            for j in range(n):
                out[j] += c * v[j]
    return tuple(out)


def to_float(v: Sequence[flint.fmpq]) -> np.ndarray:
    """Float64 copy of an exact vector (for drawing only)."""
    return np.array([float(x) for x in v])


def key(v: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    """Hashable exact key of a rational vector (numerator, denominator pairs)."""
    out = []
    for x in v:
        q = x if isinstance(x, flint.fmpq) else _entry(x, "filter", 0)
        out.append((int(q.p), int(q.q)))
    return tuple(out)


def rational_near(x: float, denominator: int = 1000) -> flint.fmpq:
    """A rational with denominator at most ``denominator`` near ``x`` (sample parameters only:
    the sampled *points* stay exact)."""
    f = Fraction(x).limit_denominator(denominator)
    return flint.fmpq(f.numerator, f.denominator)


def estimate(work: Callable[[Any], Any], probes: Sequence[Any], count: int, *,
             max_seconds: Any, argument: str = "resolution") -> float:
    """Time ``work`` on the sample items ``probes`` and refuse, before the real work starts
    (and before its ``count`` items are even built), when all ``count`` would take longer than
    ``max_seconds``. Returns the estimate in seconds."""
    limit = check_real(max_seconds, "max_seconds", min=0.0, min_open=True)
    count = check_int(count, argument, min=1)
    t0 = time.perf_counter()
    for item in probes:
        work(item)
    per = (time.perf_counter() - t0) / max(1, len(probes))
    total = per * count
    if total > limit:
        raise LCNError(
            argument, f"asks for {count} exact classifications, about {total:.0f} s at "
            f"{per * 1e3:.2f} ms each (limit max_seconds={limit:g}); lower the resolution or "
            "raise max_seconds"
        )
    return total
