"""Benchmark: implicit equations of the closure (issue 10), the recursion against elimination.

Part 1, the targets: ``equations(arch)`` (kind "set": one generalized Sylvester matrix per
recursion step, its minors, with and without the certified minimization) for k=(3,3,3)
s=(2,2,1) and k=(4,4) s=(3,1), then checked: every equation vanishes exactly on 200 random
rational members (``mu`` of random rational layers), some equation is nonzero at each of 200
random integer filters that ``in_closure`` rejects, and the exact Jacobian rank at a member is the
codimension. Time to produce and time to check are printed separately.

Part 2, the baseline a practitioner would run: elimination, against the recursion's
equations without minimization (``minimize=False``: the minors, deduplicated; the same zero
set). Each architecture of a growing
family is given the same budget (``--budget``, 60 s) for (a) the computation behind
``equations(kind="ideal")``: python-flint's lexicographic Buchberger on the graph ideal
``(p_i - c_i(w))``, then the minimal generators (timed inside its process, without the
interpreter start); (b) Singular's ``eliminate`` on the same ideal, when Singular is installed
(the strongest elimination we can run here). Each run is a separate process killed at the
budget; a family stops at its first miss. Singular's time is the wall time of the whole
``Singular -q`` run, its start (about 0.03 s) included. The ratio columns are elimination /
recursion for the same architecture.

    python bench/bench_equations.py [--budget SECONDS] [--quick]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import flint

from lcn import Architecture, mu
from lcn.errors import ConfigError
from lcn.geometry import equations, in_closure
from lcn.geometry.implicit.elimination import _graph
from lcn.geometry.implicit.levels import levels

TARGETS = [((3, 3, 3), (2, 2, 1)), ((4, 4), (3, 1))]
FAMILY = [((3, 2), (2, 1)), ((3, 3), (2, 1)), ((4, 3), (2, 1)), ((4, 4), (2, 1)),
          ((5, 4), (2, 1)), ((5, 5), (2, 1)), ((6, 5), (2, 1))]
FAMILY_3 = [((2, 2, 2), (2, 2, 1)), ((3, 2, 2), (2, 2, 1)), ((3, 3, 2), (2, 2, 1)),
            ((4, 4), (3, 1)), ((3, 3, 3), (2, 2, 1)), ((4, 4, 2), (2, 2, 1)),
            ((4, 4, 4), (2, 2, 1))]


def _check(arch: Architecture, eq, n: int, seed: int) -> tuple[int, int, int]:
    """(members where all vanish, outsiders where one does not, Jacobian rank)."""
    rng = random.Random(seed)
    inside = outside = 0
    point = None
    for _ in range(n):
        F = mu(arch, [[flint.fmpq(rng.randint(-9, 9), rng.randint(1, 5)) for _ in range(k)]
                      for k in arch.k])
        point = F
        inside += eq.vanishes_at(F)
    found = 0
    while found < n:
        F = [rng.randint(-4, 4) for _ in range(arch.degree + 1)]
        if any(F) and not in_closure(arch, F):
            found += 1
            outside += not eq.vanishes_at(F)
    return inside, outside, eq.jacobian_rank(point)


def part1(n: int) -> None:
    print("== part 1: equations of the targets, produced and checked")
    print(f"{'architecture':24} {'minimize':>8} {'eqs':>5} {'degrees':>9} {'produce s':>10} "
          f"{'check s':>8} {'members ok':>11} {'outside ok':>11} {'jac rank':>9} {'codim':>6}")
    for k, s in TARGETS:
        arch = Architecture(k, s)
        for minimize in (False, True):
            t0 = time.perf_counter()
            eq = equations(arch, minimize=minimize)
            t1 = time.perf_counter()
            inside, outside, rank = _check(arch, eq, n, seed=1)
            t2 = time.perf_counter()
            degs = ",".join(map(str, sorted(set(eq.degrees))))
            print(f"{str(arch):24} {str(minimize):>8} {eq.generators:5d} {degs:>9} "
                  f"{t1 - t0:10.2f} {t2 - t1:8.2f} {inside:>5}/{n:<5} {outside:>5}/{n:<5} "
                  f"{rank:9d} {eq.codimension:6d}")
            assert inside == n and outside == n and rank == eq.codimension


def _time_ideal(k: tuple, s: tuple, budget: float) -> float | None:
    code = ("import time; from lcn import Architecture; "
            "from lcn.geometry.implicit.elimination import _compute, _graph; "
            "from lcn.geometry.implicit.levels import levels; "
            f"job = _graph(levels(Architecture({k!r}, {s!r}))); t = time.perf_counter(); "
            "_compute(*job); print(time.perf_counter() - t)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=budget + 30)
    except subprocess.TimeoutExpired:
        return None
    return float(out.stdout.split()[-1]) if out.returncode == 0 else None


def _singular_script(arch: Architecture) -> str:
    names, nw, gens = _graph(levels(arch))
    def term(m, c):
        return "*".join([str(c)] + [f"{n}^{e}" for n, e in zip(names, m, strict=True) if e])
    polys = ["+".join(f"({term(m, c)})" for m, c in f.items()) for f in gens]
    return (f"ring R = 0, ({','.join(names)}), dp;\nideal I = {','.join(polys)};\n"
            f"ideal E = eliminate(I, {'*'.join(names[:nw])});\n"
            "print(size(E));\nquit;\n")


def _time_singular(arch: Architecture, budget: float) -> float | None:
    exe = shutil.which("Singular")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "elim.sing"
        path.write_text(_singular_script(arch))
        t0 = time.perf_counter()
        try:
            subprocess.run([exe, "-q", str(path)], capture_output=True, timeout=budget, check=True)
        except subprocess.TimeoutExpired:
            return None
        return time.perf_counter() - t0


def part2(budget: float, families: list[list[tuple]]) -> None:
    sing = shutil.which("Singular") is not None
    print(f"\n== part 2: recursion (kind set) vs elimination, budget {budget:g} s per run")
    print(f"{'architecture':24} {'set s':>8} {'ideal s':>9} {'ratio':>7} "
          f"{'Singular s':>11} {'ratio':>7}" + ("" if sing else "   (Singular not installed)"))
    for family in families:
        alive_ideal, alive_sing = True, sing
        for k, s in family:
            arch = Architecture(k, s)
            t0 = time.perf_counter()
            try:
                equations(arch, minimize=False)
            except ConfigError as exc:  # the recursion's own limit: too many minors
                print(f"{str(arch):24} refused: {exc.message[:70]}")
                continue
            ours = time.perf_counter() - t0
            ideal = _time_ideal(k, s, budget) if alive_ideal else None
            single = _time_singular(arch, budget) if alive_sing else None
            alive_ideal &= ideal is not None
            alive_sing &= single is not None

            def fmt(v: float | None) -> str:
                return f"{v:.2f}" if v is not None else f">{budget:g}"

            print(f"{str(arch):24} {ours:8.2f} {fmt(ideal):>9} "
                  f"{(ideal / ours if ideal else float('nan')):7.1f} "
                  f"{fmt(single) if sing else '-':>11} "
                  f"{(single / ours if single else float('nan')):7.1f}", flush=True)
            if not (alive_ideal or alive_sing):
                break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true", help="20 points, 10 s budget, short families")
    args = ap.parse_args()
    n = 20 if args.quick else 200
    budget = 10.0 if args.quick else args.budget
    part1(n)
    part2(budget, [FAMILY[:4], FAMILY_3[:4]] if args.quick else [FAMILY, FAMILY_3])


if __name__ == "__main__":
    main()
