"""The prime ideal of the closure by elimination (kind ``"ideal"``; MATH.md 4).

The closure is the image closure of ``w -> prod_j Q_j(u^{S_j}, v^{S_j})`` over the blocks of
:mod:`.levels` (merged layers and dropped size-1 layers change nothing, MATH.md 3). Its
vanishing ideal is the kernel of the ring map ``p_{G i} -> c_i(w)``, ``c_i`` the coefficient of
``u^{n-i} v^i`` in the product, with ``p_j -> 0`` for ``G`` not dividing ``j``: the elimination
ideal ``(p_{G i} - c_i(w)) cap Q[p]``, read off a lexicographic Groebner basis with every ``w``
above every ``p`` (python-flint's ``buchberger_naive``). It is prime (the kernel of a map to a
domain). Each block but the first has its leading coefficient fixed to 1: that parametrizes a
dense open subset of the same image, so the kernel is the same and the basis smaller.
Minimal generators come from the reduced degree-reverse-lexicographic basis of the ideal
(:func:`_minimal`).

The lexicographic basis can be expensive and its cost is hard to predict from the
architecture (docs/equations.md has measured times), so cases with more than
:data:`IN_PROCESS_VARIABLES` variables run in a separate interpreter (``python -m`` this
module) that is stopped after ``timeout`` seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flint

from lcn.errors import OptionError
from lcn.geometry.implicit.hilbert import degree_and_codimension
from lcn.geometry.implicit.levels import Levels
from lcn.geometry.implicit.minimize import normalize

__all__ = ["PrimeIdeal", "prime_ideal", "elimination_variables", "IN_PROCESS_VARIABLES"]

#: Elimination problems with at most this many variables (all measured under 0.1 s) run in
#: this process; larger ones in a worker process with a timeout.
IN_PROCESS_VARIABLES = 14

Poly = dict[tuple[int, ...], int]


@dataclass(frozen=True)
class PrimeIdeal:
    """The vanishing ideal of the closure: ``generators`` (minimal homogeneous generators, in
    the coordinate ring of ``p_0..p_d``), ``degree`` and ``codimension`` (from the Hilbert
    series of the leading monomials), ``groebner_size`` (elements of the reduced lex basis of
    the elimination ideal)."""

    generators: tuple[flint.fmpz_mpoly, ...]
    degree: int
    codimension: int
    groebner_size: int


def elimination_variables(lv: Levels) -> int:
    """Number of variables of the elimination: the block coefficients (one fixed per block
    after the first) and the ``d + 1`` coordinates."""
    return sum(lv.D) + 1 + lv.degree + 1


def _graph(lv: Levels) -> tuple[list[str], int, list[Poly]]:
    """Variable names (``w``s then ``p``s), the number of ``w``s, and the generators of the
    graph ideal as exponent dictionaries."""
    names = [f"w{j}_{i}" for j, Dj in enumerate(lv.D) for i in range(int(j > 0), Dj + 1)]
    nw, d = len(names), lv.degree
    names += [f"p{j}" for j in range(d + 1)]
    ctx = flint.fmpz_mpoly_ctx.get(names, "lex")
    g = ctx.gens()
    one = ctx.from_dict({tuple([0] * len(names)): 1})
    prod, pos = [one], 0  # coefficients of the product, highest power of u first
    for j, (Dj, Sj) in enumerate(zip(lv.D, lv.S, strict=True)):
        coef = []
        for i in range(Dj + 1):
            if j > 0 and i == 0:
                coef.append(one)
            else:
                coef.append(g[pos])
                pos += 1
        new = [ctx.from_dict({})] * (len(prod) + Sj * Dj)
        for a, x in enumerate(prod):
            for i, c in enumerate(coef):
                new[a + Sj * i] += x * c
        prod = new
    gens = [g[nw + j] for j in range(d + 1) if j % lv.G]
    gens += [g[nw + lv.G * i] - c for i, c in enumerate(prod)]
    return names, nw, [{m: int(c) for m, c in f.to_dict().items()} for f in gens]


def _eliminate(names: list[str], nw: int, gens: list[Poly]) -> list[Poly]:
    """The elements free of the first ``nw`` variables of the reduced lex Groebner basis,
    exponents restricted to the remaining variables, leading monomial first."""
    ctx = flint.fmpz_mpoly_ctx.get(names, "lex")
    basis = flint.fmpz_mpoly_vec([ctx.from_dict(f) for f in gens], ctx).buchberger_naive()
    basis = basis.autoreduction()
    out = []
    for f in basis:
        if all(not any(m[:nw]) for m in f.monoms()):
            out.append({m[nw:]: int(c) for m, c in zip(f.monoms(), f.coeffs(), strict=True)})
    return out


def _signature(basis: Any) -> list[str]:
    return sorted(str(normalize(f)) for f in basis)


def _minimal(basis: list[Poly], nvars: int) -> list[Poly]:
    """Minimal homogeneous generators of the ideal with Groebner basis ``basis``: the reduced
    degrevlex basis, taken by degree, keeping an element iff adding it changes the reduced
    Groebner basis of the ideal of the kept ones (``buchberger_naive`` followed by
    ``autoreduction``: reduced bases are unique up to the normalization of
    :func:`normalize`, so an unchanged basis means the element was already in that ideal)."""
    ctx = flint.fmpz_mpoly_ctx.get(("p", nvars), "degrevlex")
    full = flint.fmpz_mpoly_vec([ctx.from_dict(f) for f in basis], ctx).buchberger_naive()
    full = full.autoreduction()
    cands = sorted(full, key=lambda f: (f.total_degree(), len(f), str(f)))
    kept: list[flint.fmpz_mpoly] = []
    current: list[flint.fmpz_mpoly] = []
    for g in cands:
        grown = list(flint.fmpz_mpoly_vec(current + [g], ctx).buchberger_naive().autoreduction())
        if not current or _signature(grown) != _signature(current):
            kept.append(normalize(g))
            current = grown
    return [{m: int(c) for m, c in f.to_dict().items()} for f in kept]


def _compute(names: list[str], nw: int, gens: list[Poly]) -> tuple[list[Poly], list[Poly]]:
    """``(lex basis of the elimination ideal, minimal generators)``."""
    basis = _eliminate(names, nw, gens)
    return basis, _minimal(basis, len(names) - nw)


def _encode(polys: list[Poly]) -> list[list[list[Any]]]:
    return [[[[int(e) for e in m], int(c)] for m, c in f.items()] for f in polys]


def _decode(data: list[list[list[Any]]]) -> list[Poly]:
    return [{tuple(m): int(c) for m, c in f} for f in data]


def _compute_with_timeout(names: list[str], nw: int, gens: list[Poly],
                          timeout: float) -> tuple[list[Poly], list[Poly]]:
    """:func:`_compute` in a fresh interpreter (``python -m`` this module, JSON over the
    pipes), killed after ``timeout`` seconds: flint's C loop cannot be interrupted in-process,
    and a separate interpreter (unlike multiprocessing) never re-runs the caller's script."""
    src = str(Path(__file__).resolve().parents[3])  # the folder holding the lcn package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])]))
    job = json.dumps({"names": names, "nw": nw, "gens": _encode(gens)})
    try:
        out = subprocess.run([sys.executable, "-m", __name__], input=job, text=True,
                             capture_output=True, timeout=timeout, env=env, check=True)
    except subprocess.TimeoutExpired:
        raise OptionError(
            "timeout", f"the Groebner bases of the elimination ({len(names)} variables) did not "
            f"finish in {timeout:g} s; raise timeout, or use kind='set' (equations whose zero "
            "set is the closure, without elimination)") from None
    except subprocess.CalledProcessError as exc:  # pragma: no cover - e.g. out of memory
        raise RuntimeError(f"the elimination worker failed: {exc.stderr[-500:]}") from None
    data = json.loads(out.stdout)
    return _decode(data["basis"]), _decode(data["minimal"])


def prime_ideal(lv: Levels, ctx: flint.fmpz_mpoly_ctx, timeout: float) -> PrimeIdeal:
    """The :class:`PrimeIdeal` of the closure of the blocks ``lv`` (see the module docstring);
    ``ctx`` is the coordinate ring of ``p_0..p_d``."""
    names, nw, gens = _graph(lv)
    if len(names) <= IN_PROCESS_VARIABLES:
        basis, mins = _compute(names, nw, gens)
    else:
        basis, mins = _compute_with_timeout(names, nw, gens, timeout)
    leading = [next(iter(f)) for f in basis]
    degree, codim = degree_and_codimension(leading, lv.degree + 1)
    kept = sorted((ctx.from_dict(f) for f in mins), key=lambda f: (f.total_degree(), len(f)))
    return PrimeIdeal(tuple(kept), degree, codim, len(basis))


if __name__ == "__main__":  # the worker of _compute_with_timeout
    _job = json.loads(sys.stdin.read())
    _basis, _mins = _compute(_job["names"], _job["nw"], _decode(_job["gens"]))
    sys.stdout.write(json.dumps({"basis": _encode(_basis), "minimal": _encode(_mins)}))
