"""Minors of a matrix of coordinates, as exact integer polynomials (python-flint
``fmpz_mpoly``).

The entries of a generalized Sylvester matrix are single coordinates ``p_j`` or zeros, so a
minor is a signed sum of products of distinct coordinates. For each set of columns the minors
of every row set are computed together by Laplace expansion along the last chosen column,
memoized on the row subsets (each sub-minor is formed once and shared by all the minors
containing it).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

import flint

__all__ = ["minors"]


def minors(rows: Sequence[Sequence[int | None]], order: int, ctx: flint.fmpz_mpoly_ctx,
           zero: frozenset[int] = frozenset()) -> Iterator[flint.fmpz_mpoly]:
    """Every nonzero minor of order ``order`` of the matrix whose entry ``(r, c)`` is the
    variable ``rows[r][c]`` of ``ctx`` (``None``, or an index in ``zero``, is the zero entry:
    coordinates known to vanish are substituted before expanding)."""
    gens = ctx.gens()
    entries = [[None if x is None or x in zero else gens[x] for x in r] for r in rows]
    n_rows = len(entries)
    n_cols = len(entries[0]) if entries else 0
    for cols in itertools.combinations(range(n_cols), order):
        det = _expander(entries, cols, ctx)
        for rs in itertools.combinations(range(n_rows), order):
            m = det(rs, order)
            if m != 0:
                yield m


def _expander(entries: list[list[flint.fmpz_mpoly | None]], cols: tuple[int, ...],
              ctx: flint.fmpz_mpoly_ctx) -> Callable[[tuple[int, ...], int], flint.fmpz_mpoly]:
    """``det(rs, k)``: the minor on rows ``rs`` and the first ``k`` columns of ``cols``."""
    memo: dict[tuple[tuple[int, ...], int], flint.fmpz_mpoly] = {}
    one = ctx.from_dict({tuple([0] * ctx.nvars()): 1})
    nought = ctx.from_dict({})

    def det(rs: tuple[int, ...], k: int) -> flint.fmpz_mpoly:
        if k == 0:
            return one
        key = (rs, k)
        hit = memo.get(key)
        if hit is not None:
            return hit
        c = cols[k - 1]
        acc = nought
        last = len(rs) - 1
        for pos, r in enumerate(rs):
            v = entries[r][c]
            if v is None:
                continue
            sub = det(rs[:pos] + rs[pos + 1:], k - 1)
            if sub != 0:
                acc = acc + v * sub if (last - pos) % 2 == 0 else acc - v * sub
        memo[key] = acc
        return acc

    return det
