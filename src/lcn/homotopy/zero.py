"""Critical points with ``mu(w) = 0`` (MATH.md 8): one layer zero, the others up to scale.

``mu(w) = 0`` iff some layer vanishes (a product of nonzero polynomials is nonzero). With
exactly one zero layer ``w_j = 0`` every ``J_i`` with ``i != j`` contains the factor ``w_j``,
so the gradient equations reduce to ``J_j(w)^T G u = J_j(w)^T b = 0``: ``k_j`` equations,
multilinear in the other layers and homogeneous in each, so their solutions are points of
``prod_{i != j} P^{k_i - 1}`` (the rescaling orbit of ``w`` with ``w_j = 0`` scales the other
layers independently). With ``n_j = sum_{i != j} (k_i - 1)`` unknowns:

* ``n_j > k_j``: positive-dimensional (for every ``b``) -> ``None``;
* ``n_j < k_j``: over-determined, no solution for generic data -> 0;
* ``n_j = k_j``: finitely many for generic data, at most the multihomogeneous Bezout number
  ``k_j! / prod_{i != j} (k_i - 1)!``; they are solved numerically here (the same monodromy
  and parameter homotopy as the main system, :class:`~lcn.homotopy.system.ZeroSystem`).

Example: ``k=(2,2,2)`` (any strides) has 6 such points, two for each choice of the zero layer
(two bilinear equations on ``P^1 x P^1``); MATH.md and issue 9 said "two", which is the count
for one zero layer (checked by a Groebner basis in ``tests/homotopy/test_exact.py``).

Two or more zero layers make every gradient vanish; for ``L >= 3`` layers that set is
positive-dimensional, for ``L = 2`` it is the origin. Neither is counted here (the origin is a
critical point of every architecture with ``L >= 2``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lcn.homotopy.chart import Chart
from lcn.homotopy.start import _merge, cached_start
from lcn.homotopy.system import ZeroSystem
from lcn.homotopy.track import OK, track

__all__ = ["zero_counts", "zero_layout"]


def zero_layout(chart: Chart) -> list[tuple[int, int, int]]:
    """``(layer j, unknowns n_j, equations k_j)`` for every layer."""
    k = chart.arch.k
    out = []
    for j in range(len(k)):
        n = sum(k[i] - 1 for i in range(len(k)) if i != j)
        out.append((j, n, k[j]))
    return out


def bezout(chart: Chart, j: int) -> int:
    k = chart.arch.k
    return math.factorial(k[j]) // math.prod(math.factorial(k[i] - 1)
                                             for i in range(len(k)) if i != j)


def zero_counts(chart: Chart, bs: list[np.ndarray], seed: int, cache_dir: str | Path | None,
                device: Any) -> tuple[list[int | None], str]:
    """The number of isolated zero-filter critical points for each ``b`` in ``bs`` (``None``
    when positive-dimensional) and a note on how it was found."""
    import torch

    layout = zero_layout(chart)
    if chart.arch.layers == 1 or any(n > e for _, n, e in layout):
        return [None if chart.arch.layers > 1 else 0] * len(bs), (
            "zero-filter critical points: positive-dimensional" if chart.arch.layers > 1 else
            "")
    counts = [0] * len(bs)
    notes = []
    for j, n, e in layout:
        if n < e:
            continue
        system = ZeroSystem(chart, j, device)
        target = bezout(chart, j)
        start = cached_start(system, chart, seed, f"zero{j}", target, cache_dir)
        if start.count == 0:
            continue
        notes.append(f"layer {j + 1}: {start.count} of Bezout {target} start roots")
        N = start.count
        c = torch.complex128
        X = torch.as_tensor(np.tile(start.x, (len(bs), 1)), dtype=c, device=device)
        P0 = torch.as_tensor(start.p, dtype=c, device=device).expand(N * len(bs), -1)
        P1 = torch.as_tensor(np.repeat(np.array(bs), N, axis=0), dtype=c, device=device)
        rng = np.random.default_rng([seed, 53, j])
        gam = torch.as_tensor(np.repeat(np.exp(2j * math.pi * rng.random(len(bs))), N),
                              dtype=c, device=device)
        xe, st, _ = track(system, X, P0, P1, gam)
        xe_, ok = xe.cpu().numpy(), (st == OK).cpu().numpy()
        for d in range(len(bs)):
            sl = slice(d * N, (d + 1) * N)
            counts[d] += len(_merge([], xe_[sl][ok[sl]]))
    how = ("zero-filter critical points: numerical (parameter homotopy from a monodromy start, "
           "not certified; " + "; ".join(notes) + ")") if notes else ""
    return list(counts), how
