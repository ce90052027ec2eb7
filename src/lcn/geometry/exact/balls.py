"""Irrational factorizations from certified roots: floats, or ``arb``/``acb`` balls whose radii
are certified enclosures (MATH.md 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flint

from lcn._effective import Effective
from lcn.architecture import Architecture
from lcn.geometry import _orbits
from lcn.geometry.exact.assembly import assemble, scale_first
from lcn.geometry.exact.decision import Analysis

__all__ = ["numeric_factorization"]


#: Most bits of working precision spent to reach the requested digits; beyond it the balls
#: keep the (honest, larger) radii they have.
MAX_PREC = 1 << 16

#: Float factorizations are refused (balls with :data:`FALLBACK_DIGITS` digits are given
#: instead) when ``F`` has a coefficient beyond this magnitude: float64 would overflow.
FLOAT_LIMIT = 10**300
FALLBACK_DIGITS = 17


class _Unresolved(Exception):
    """A root ball straddles the real axis or zero: retry at a higher precision."""


def _piece_units(piece: flint.fmpz_poly) -> tuple[list[Any], list[Any]]:
    """Real roots and conjugate-pair representatives (``Im > 0``) of a piece, with
    multiplicity, as certified balls at the working precision (flint's ``complex_roots``
    isolates the roots of each squarefree factor and refines them to that precision)."""
    reals: list[Any] = []
    pairs: list[Any] = []
    if piece.degree() <= 0:
        return reals, pairs
    for q, mult in piece.factor_squarefree()[1]:
        found: Any = q.complex_roots()  # (ball, multiplicity) pairs
        for z, _ in found:
            if z.imag == 0:  # certified real: the imaginary part is exactly zero
                if not (z.real > 0 or z.real < 0):
                    raise _Unresolved
                reals += [flint.acb(z.real)] * int(mult)
            elif z.imag > 0:
                pairs += [z] * int(mult)
            elif not z.imag < 0:
                raise _Unresolved
    return reals, pairs


def _children(value: Any, kind: str, r: int) -> tuple[list[Any], list[Any]]:
    """The ``r`` orbits of level ``j-1`` inside a level-``j`` orbit: ``(reals, pairs)``, the
    pairs given by one representative each. ``value`` is a real ball for ``pos``/``neg``,
    the ``Im > 0`` representative for ``pair``."""
    if kind in ("zero", "inf"):
        return [kind] * r, []
    zeta = [flint.acb(flint.fmpq(2 * k, r)).exp_pi_i() for k in range(r)]
    if kind == "pair":
        base = value.root(r)
        return [], [base * z for z in zeta]
    h = value.real
    if kind == "pos":
        base = flint.acb(h.root(r))
        reals = [base] + ([-base] if r % 2 == 0 else [])
        ks = [k for k in range(1, (r + 1) // 2)]
        return reals, [base * zeta[k] for k in ks]
    mag = flint.acb((-h).root(r))
    if r % 2 == 1:  # a negative real root, the others in pairs
        return [-mag], [-mag * zeta[k] for k in range(1, (r + 1) // 2)]
    w = flint.acb(flint.fmpq(1, r)).exp_pi_i()  # (-1)^(1/r)
    return [], [mag * w * zeta[k] for k in range(r // 2)]


def _numeric_blocks(eff: Effective, an: Analysis, real: bool) -> list[list[Any]]:
    """Hyperroots of every block (level), real-closed when ``real``: each entry is
    ``("lin", value)``, ``("pair", value)``, ``("zero",)`` or ``("inf",)``.

    Follows the greedy of :func:`_orbits.greedy` orbit by orbit: the kind counts decide
    which real orbits are split; conjugate pairs are kept or split in any order (the ``I_S`` degree
    count guarantees that every order works, MATH.md 4)."""
    assert an.levels is not None
    units = [_piece_units(lv.piece) for lv in an.levels]
    counts = []
    for j, lv in enumerate(an.levels):
        reals = units[j][0]
        counts.append((sum(1 for v in reals if v.real > 0), sum(1 for v in reals if v.real < 0),
                       lv.z0 + lv.zinf))
    slack = [lv.slack for lv in an.levels]
    plan = _orbits.greedy(eff.D, eff.S, slack, counts, eff.e)[1] if real else [(0, 0, 0)] * eff.m
    blocks: list[list[Any]] = [[] for _ in range(eff.m)]
    sp_real: list[Any] = []  # ("pos"/"neg", ball) or "zero"/"inf"
    sp_pairs: list[Any] = []
    for j in range(eff.m - 1, -1, -1):
        lv = an.levels[j]
        reals = [("pos" if v.real > 0 else "neg", v) for v in units[j][0]]
        reals += [("zero", None)] * lv.z0 + [("inf", None)] * lv.zinf
        reals += sp_real
        pairs = list(units[j][1]) + sp_pairs
        if real:
            xp, xn, xz = plan[j]
            order = {"zero": 0, "inf": 0, "pos": 1, "neg": 2}
            reals.sort(key=lambda t: order[t[0]])
            removed = reals[: xz + xp + xn]
            kept = reals[xz + xp + xn:]
            need = (eff.D[j] - len(kept)) // 2
            if j == 0:
                need = len(pairs)
            if need < 0 or need > len(pairs) or len(kept) + 2 * need != eff.D[j]:
                raise AssertionError("inconsistent orbit counts")  # pragma: no cover
            kept_pairs, removed_pairs = pairs[:need], pairs[need:]
        else:
            pool = [("r", t) for t in reals] + [("p", z) for z in pairs]
            # a conjugate pair counts two orbits; keep whole pairs first, then single orbits
            kept, kept_pairs, removed, removed_pairs = [], [], [], []
            left = eff.D[j] if j > 0 else 10**9
            for tag, t in pool:
                if tag == "p" and left >= 2:
                    kept_pairs.append(t)
                    left -= 2
                elif tag == "p" and left == 1:
                    kept.append(("cplx", t))
                    removed.append(("cplx", t.conjugate()))
                    left -= 1
                elif tag == "p":
                    removed_pairs.append(t)
                elif left >= 1:
                    kept.append(t)
                    left -= 1
                else:
                    removed.append(t)
        for kind, v in kept:
            blocks[j].append((kind,) if kind in ("zero", "inf") else ("lin", v))
        blocks[j] += [("pair", z) for z in kept_pairs]
        sp_real, sp_pairs = [], []
        if j > 0:
            r = eff.r(j - 1)
            for kind, v in removed:
                if kind == "cplx":
                    sp_real += [("cplx", w) for w in _all_roots(v, r)]
                    continue
                rr, pp = _children(v, kind, r)
                sp_real += [(k, None) if isinstance(k, str) else
                            ("pos" if k.real > 0 else "neg", k) for k in rr]
                sp_pairs += pp
            for z in removed_pairs:
                sp_pairs += _children(z, "pair", r)[1]
    return blocks


def _all_roots(v: Any, r: int) -> list[Any]:
    base = v.root(r)
    return [base * flint.acb(flint.fmpq(2 * k, r)).exp_pi_i() for k in range(r)]


def _layer_poly(hyper: list[Any], real: bool) -> list[Any]:
    """Coefficients (``u^d .. v^d``) of the product of the given hyperroot factors."""
    roots: list[Any] = []
    n_inf = 0
    for h in hyper:
        if h[0] == "inf":
            n_inf += 1
        elif h[0] == "zero":
            roots.append(flint.acb(0))
        elif h[0] == "lin":
            roots.append(h[1])
        else:
            roots += [h[1], h[1].conjugate()]
    c = flint.acb_poly.from_roots(roots).coeffs() if roots else [flint.acb(1)]
    vec = [flint.acb(0)] * n_inf + list(reversed(c))
    return [v.real for v in vec] if real else vec


def _split_block(hyper: list[Any], degrees: Sequence[int], real: bool) -> list[list[Any]]:
    """Distribute a block's hyperroots over its layers: each odd layer gets one real
    hyperroot, then whole conjugate pairs (or two real hyperroots) fill the rest."""
    if len(degrees) == 1:
        return [hyper]
    singles = [h for h in hyper if h[0] != "pair"]
    pairs = [h for h in hyper if h[0] == "pair"]
    out: list[list[Any]] = [[] for _ in degrees]
    left = list(degrees)
    if real:
        for b, dg in enumerate(degrees):
            if dg % 2 == 1:
                out[b].append(singles.pop())
                left[b] -= 1
        chunks = [[h] for h in pairs] + [singles[i:i + 2] for i in range(0, len(singles), 2)]
        for ch in chunks:
            b = next(b for b in range(len(left)) if left[b] >= 2)
            out[b] += ch
            left[b] -= 2
    else:
        flat = singles + pairs
        for h in flat:
            need = 2 if h[0] == "pair" else 1
            slot = next((b for b in range(len(left)) if left[b] >= need), None)
            if slot is None:  # break a pair across two layers
                for z in (h[1], h[1].conjugate()):
                    b = next(b for b in range(len(left)) if left[b] >= 1)
                    out[b].append(("lin", z))
                    left[b] -= 1
                continue
            out[slot].append(h)
            left[slot] -= need
    return out


def _filters_at(arch: Architecture, eff: Effective, an: Analysis,
                real: bool) -> list[list[Any]]:
    """Layer filters as balls at the working precision: certified enclosures of one exact
    factorization of ``F`` (the roots are certified balls and every later step is ball
    arithmetic)."""
    blocks = _numeric_blocks(eff, an, real)
    layer_forms: dict[int, list[Any]] = {}
    for j, hyper in enumerate(blocks):
        degs = [arch.d[i] for i in eff.layers[j]]
        for i, part in zip(eff.layers[j], _split_block(hyper, degs, real), strict=True):
            layer_forms[i] = _layer_poly(part, real)
    one = flint.arb(1) if real else flint.acb(1)
    filters = assemble(arch, layer_forms, one)
    k = next(i for i, v in enumerate(an.Fu) if v != 0)
    scale_first(filters, arch, flint.arb(an.Fu[k]) if real else flint.acb(an.Fu[k]))
    return filters


def _accurate(filters: list[list[Any]], digits: int) -> bool:
    """Whether every entry's radius is at most ``10^-digits`` times the largest entry of its
    filter (relative to the filter, so exact zeros and tiny entries do not block)."""
    tol = flint.arb(10) ** (-digits)
    for f in filters:
        parts = [p for v in f for p in ((v,) if isinstance(v, flint.arb) else (v.real, v.imag))]
        scale = max(abs(p.mid()) for p in parts)
        if any(p.rad() > tol * scale for p in parts):
            return False
    return True


def numeric_factorization(arch: Architecture, eff: Effective, an: Analysis, F: list[flint.fmpq],
                          real: bool, digits: int | None) -> tuple[list[list[Any]], Any]:
    """An irrational factorization of ``F`` (real when ``real``) and ``max |mu(w) - F|``.

    ``digits=None``: float (or complex) filters from certified root balls at 64 bits, and the
    residual of those floats. ``digits=N``: ``arb`` (``acb``) balls, each a certified
    enclosure of an exact factorization, the working precision doubled (up to
    :data:`MAX_PREC` bits) until every radius is below ``10^-N`` of its filter's largest
    entry (clustered roots need more bits than ``3.33 N``); the residual is then a certified
    upper bound. ``F`` beyond float range gets :data:`FALLBACK_DIGITS`-digit balls."""
    if digits is None and max(abs(v) for v in F) > FLOAT_LIMIT:
        digits = FALLBACK_DIGITS
    prec = 64 if digits is None else max(64, int(digits * 3.33) + 32)
    while True:
        try:
            with flint.ctx.workprec(prec):
                filters = _filters_at(arch, eff, an, real)
                if digits is None:
                    return _as_floats(arch, filters, F, real)
                if _accurate(filters, digits) or prec >= MAX_PREC:
                    return filters, _ball_residual(arch, filters, F)
        except _Unresolved:
            if prec >= MAX_PREC:  # pragma: no cover - would need roots closer than 2^-65536
                raise
        prec *= 2


def _as_floats(arch: Architecture, filters: list[list[Any]], F: list[flint.fmpq],
               real: bool) -> tuple[list[list[Any]], float]:
    """The midpoints as floats, and the residual of those floats computed in ball arithmetic
    (float64 products could overflow or cancel)."""
    conv = (lambda v: float(v.mid())) if real else (
        lambda v: complex(float(v.real.mid()), float(v.imag.mid())))
    out = [[conv(v) for v in f] for f in filters]
    exact = [[flint.acb(flint.arb(flint.fmpq(*z.real.as_integer_ratio())),
                        flint.arb(flint.fmpq(*z.imag.as_integer_ratio())))
              for z in map(complex, f)] for f in out]
    with flint.ctx.workprec(128):
        return out, _ball_residual(arch, exact, F)


def _ball_residual(arch: Architecture, filters: list[list[Any]], F: list[flint.fmpq]) -> Any:
    """A certified upper bound of ``max |mu(filters) - F|`` (ball arithmetic): a float, or an
    exact ``arb`` (radius 0) when the bound is beyond float range."""
    acc = flint.acb_poly([1])
    for f, S in zip(filters, arch.S, strict=True):
        up = [flint.acb(0)] * (S * (len(f) - 1) + 1)
        for i, v in enumerate(f):
            up[S * i] = flint.acb(v)
        acc = acc * flint.acb_poly(up)
    c = acc.coeffs()
    c += [flint.acb(0)] * (len(F) - len(c))
    bound = max((abs(a - flint.acb(b)).upper() for a, b in zip(c, F, strict=True)),
                key=lambda u: u.mid())
    value = float(bound)
    return value if value != float("inf") else flint.arb(bound.mid())
