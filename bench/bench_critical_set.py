"""Benchmark of lcn.homotopy.critical_sets (all critical points, certified) against PHCpack's
blackbox solver ``phc -b`` on the same gauge-fixed square systems.

The baseline is what a practitioner runs to get *all* critical points: PHCpack's blackbox
(polyhedral homotopy, one thread) on the square polynomial system of MATH.md 8 gauge-fixed as
our solver does (docs/critical_set.md): unknowns the layer filters ``w_i`` on random complex
affine slices ``a_i . w_i = 1`` and one scale ``lam``; equations the slices,
``E_i = B_i^T J_i(w)^T G (lam mu(w) - u)`` (``B_i`` a basis of ``ker a_i^T``, ``k_i - 1`` each)
and ``E_0 = mu(w)^T G (lam mu(w) - u)`` (the Euler direction), written as PHCpack input with
SymPy from the architecture and the data (the function ``lam mu(w)`` of a solution does not
depend on the slices, so solutions are compared by it).

Ours: ``lcn.homotopy.critical_sets`` on 100 Gaussian datasets (``N = d + 1`` samples) in one
batched call, after a first call that builds and caches the start instance (monodromy, once
per architecture: timed apart); its certified-complete count. PHCpack: a few of the same
datasets (it costs seconds each), its wall time per dataset (the subprocess alone, not the
SymPy generation) and how many of the ``ed_degree`` certified solutions it found (a phc
solution counts when its function ``lam mu(w)`` matches one of ours to 1e-6 relative). The
ratio is phc's time per dataset over ours. Then datasets per second of ``k=(3,2) s=(2,1)`` at
``--throughput`` datasets.

phc is stopped after ``--phc-limit`` seconds (default 120; the ratio is then printed as a lower
bound): on ``k=(3,3,3) s=(2,2,1)`` one ``phc -b`` run takes about 24 minutes here, so pass
``--cases 3 --phc-limit 1800`` to measure it. Datasets whose Gram matrix the solver refuses as
rank-deficient (about one Gaussian draw in 10^4 with ``N = d + 1``) are skipped and counted.

Usage: ``python bench/bench_critical_set.py [--quick] [--cases 0,1,2,3] [--datasets N]
[--big-datasets N] [--phc-datasets P] [--phc-limit SECONDS] [--throughput N] [--no-big]``.
"""

from __future__ import annotations

import os

# one thread on both sides (phc -b runs one): the work done, robust to a shared machine
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sympy import CC  # noqa: E402
from sympy.polys.rings import ring  # noqa: E402

from lcn import Architecture  # noqa: E402
from lcn.homotopy import critical_sets  # noqa: E402
from lcn.homotopy.chart import Chart, make_chart  # noqa: E402
from lcn.homotopy.solve import RANK_RTOL  # noqa: E402
from lcn.training import Dataset, gaussian_dataset, gram_form  # noqa: E402

CASES = [((3, 2), (2, 1)), ((3, 3), (2, 1)), ((2, 2, 2), (2, 2, 1)), ((3, 3, 3), (2, 2, 1))]
#: The large case: fewer datasets on both sides (2385 paths each).
BIG = ((3, 3, 3), (2, 2, 1))
#: A phc solution is one of ours when the functions agree to this relative distance.
MATCH_RTOL = 1e-6


# -- the PHCpack side -----------------------------------------------------------------------

def gauge_fixed_system(sizes: tuple[int, ...], strides: tuple[int, ...], G: np.ndarray,
                       u: np.ndarray, a: list[np.ndarray], B: list[np.ndarray]
                       ) -> tuple[list[str], list[Any]]:
    """Variable names and SymPy polynomials (over CC) of the square gauge-fixed critical
    equations in the chart of ``lcn.homotopy`` (layers of size ``k_i >= 2`` only, sizes
    ``sizes`` and cumulative strides ``strides``): ``w_i = a_i + B_i z_i`` on the slice
    ``a_i . w_i = 1`` (``B_i`` a basis of ``ker a_i^T``), unknowns ``z_i`` and ``lam``;
    equations ``E_i = B_i^T J_i^T G (lam mu - u)`` and ``E_0 = mu^T G (lam mu - u)``;
    ``mu`` is the product of the upsampled filters (coefficients ``x^d .. y^d``, MATH.md 2)."""
    names = [f"z{i + 1}x{j}" for i, ki in enumerate(sizes) for j in range(ki - 1)] + ["lam"]
    R, *gens = ring(",".join(names), CC)
    lam = gens[-1]
    W, p = [], 0
    for i, ki in enumerate(sizes):
        z = gens[p:p + ki - 1]
        p += ki - 1
        W.append([complex(a[i][j]) + sum((complex(B[i][j, c]) * z[c] for c in range(ki - 1)),
                                         R(0)) for j in range(ki)])

    def upmul(acc: list[Any], w: list[Any], Si: int) -> list[Any]:
        out = [R(0)] * (len(acc) + (len(w) - 1) * Si)
        for t, c in enumerate(acc):
            for j, wj in enumerate(w):
                out[t + j * Si] += c * wj
        return out

    mu = [R(1)]
    for w, Si in zip(W, strides, strict=True):
        mu = upmul(mu, w, Si)
    m = len(mu)
    r = [lam * mj - complex(uj) for mj, uj in zip(mu, u, strict=True)]
    Gr = [sum((complex(G[t, b]) * r[b] for b in range(m)), R(0)) for t in range(m)]
    eqs = []
    for i, (ki, Si) in enumerate(zip(sizes, strides, strict=True)):
        others = [R(1)]
        for i2, (w, S2) in enumerate(zip(W, strides, strict=True)):
            if i2 != i:
                others = upmul(others, w, S2)
        # d mu / d w_i[j] is the product of the other layers shifted by j S_i
        grad = [sum((o * Gr[t + j * Si] for t, o in enumerate(others)), R(0))
                for j in range(ki)]
        for c in range(ki - 1):
            eqs.append(sum((complex(B[i][j, c]) * grad[j] for j in range(ki)), R(0)))
    eqs.append(sum((mu[j] * Gr[j] for j in range(m)), R(0)))
    return names, eqs


def phc_text(names: list[str], eqs: list[Any]) -> str:
    """PHCpack input: the number of equations, then one polynomial per line ending in ``;``
    (``i`` is the imaginary unit, exponents written ``E``)."""
    lines = [str(len(eqs))]
    for e in eqs:
        terms = []
        for mon, c in e.terms():
            z = complex(c)
            t = f"({z.real:+.17e}{z.imag:+.17e}*i)".replace("e", "E")
            for n, p in zip(names, mon, strict=True):
                t += f"*{n}" if p == 1 else (f"*{n}^{p}" if p > 1 else "")
            terms.append(t)
        lines.append(" + ".join(terms) + ";")
    return "\n".join(lines) + "\n"


_NUM = r"[-+]?\d\.\d+E[-+]\d+"


def parse_phc(text: str, names: list[str]) -> list[dict[str, Any]]:
    """Solutions of the last ``THE SOLUTIONS`` list of a phc output file: values of the
    variables, residual ``res``, ``rco`` and phc's label (``complex regular``, ...)."""
    at = text.rfind("THE SOLUTIONS")
    if at < 0:
        return []
    sols: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    for line in text[at:].splitlines():
        mv = re.match(rf"\s*(\w+)\s*:\s*({_NUM})\s+({_NUM})\s*$", line)
        if mv and mv.group(1) in names:
            cur.setdefault("x", {})[mv.group(1)] = complex(float(mv.group(2)),
                                                           float(mv.group(3)))
        me = re.match(rf"==\s*err\s*:\s*({_NUM}|\S+)\s*=\s*rco\s*:\s*(\S+)\s*=\s*res\s*:"
                      rf"\s*(\S+)\s*=\s*(.*?)\s*==", line.strip())
        if me:
            cur["rco"], cur["res"], cur["label"] = float(me.group(2)), float(me.group(3)), \
                me.group(4)
            sols.append(cur)
            cur = {}
    return sols


def phc_functions(ch: Chart, sol: dict[str, Any]) -> np.ndarray:
    """The function ``lam mu(w)`` of one phc solution (independent of the slices)."""
    x = sol["x"]
    v = np.ones(1, dtype=complex)
    for i, (ki, Si) in enumerate(zip(ch.sizes, ch.strides, strict=True)):
        z = np.array([x[f"z{i + 1}x{j}"] for j in range(ki - 1)])
        w = ch.a[i] + ch.B[i] @ z
        up = np.zeros((ki - 1) * Si + 1, dtype=complex)
        up[::Si] = w
        v = np.convolve(v, up)
    return x["lam"] * v


@dataclass
class PhcRun:
    seconds: float
    finished: bool
    listed: int  # solutions in phc's final list
    regular: int  # of those, labelled regular
    matched: int  # distinct certified solutions of ours that phc found
    unmatched: int  # phc's regular solutions with lam != 0 that match none of ours


def run_phc(arch: Architecture, data: Dataset, ours_functions: np.ndarray, ch: Chart,
            limit: float) -> PhcRun:
    gf = gram_form(arch, data)
    names, eqs = gauge_fixed_system(ch.sizes, ch.strides, gf.G, gf.u, list(ch.a), list(ch.B))
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "sys.phc", Path(tmp) / "sys.out"
        inp.write_text(phc_text(names, eqs))
        t0 = time.perf_counter()
        try:
            subprocess.run(["phc", "-b", str(inp), str(out)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=limit, check=False, cwd=tmp)
        except subprocess.TimeoutExpired:
            return PhcRun(time.perf_counter() - t0, False, 0, 0, 0, 0)
        seconds = time.perf_counter() - t0
        sols = parse_phc(out.read_text() if out.exists() else "", names)
    good = [s for s in sols if len(s.get("x", {})) == len(names)]
    regular = sum("regular" in s["label"] for s in good)
    fs = np.array([phc_functions(ch, s) for s in good]).reshape(-1, arch.degree + 1)
    def near(f: np.ndarray, pool: np.ndarray) -> bool:
        return bool(pool.size) and bool(
            np.min(np.linalg.norm(pool - f, axis=1)) <= MATCH_RTOL * np.linalg.norm(f))

    matched = sum(near(f, fs) for f in ours_functions)
    # the other direction: a regular phc root that is none of ours would be one we missed
    reg = [f for f, s in zip(fs, good, strict=True)
           if "regular" in s["label"] and abs(s["x"]["lam"]) > 1e-8]
    unmatched = sum(not near(f, np.asarray(ours_functions)) for f in reg)
    return PhcRun(seconds, True, len(good), regular, matched, unmatched)


# -- our side ----------------------------------------------------------------------------------

#: Skipped datasets (a Gram matrix the solver refuses as rank-deficient), for the report.
SKIPPED: list[int] = []


def datasets_for(arch: Architecture, n: int, seed0: int) -> list[Dataset]:
    """``n`` Gaussian datasets with ``N = d + 1`` samples, seeds from ``seed0`` on; the rare
    draw whose ``G`` the solver refuses as rank-deficient (``lambda_min <= RANK_RTOL
    lambda_max``: about one in 10^4 with ``N = d + 1``) is skipped and counted in
    :data:`SKIPPED` (one such dataset makes a batched call refuse the whole batch)."""
    out: list[Dataset] = []
    seed = seed0
    while len(out) < n:
        d = gaussian_dataset(arch, N=arch.degree + 1, seed=seed)
        ev = np.linalg.eigvalsh(gram_form(arch, d).G)
        if ev[0] > RANK_RTOL * ev[-1]:
            out.append(d)
        else:
            SKIPPED.append(seed)
        seed += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="10 datasets, 1 phc dataset, 10^3 throughput, no (3,3,3)")
    ap.add_argument("--datasets", type=int, default=100, help="datasets per case (ours)")
    ap.add_argument("--big-datasets", type=int, default=2, help="datasets of (3,3,3) (ours)")
    ap.add_argument("--phc-datasets", type=int, default=3, help="datasets per case (phc)")
    ap.add_argument("--phc-limit", type=float, default=120.0,
                    help="seconds one phc run may take (it is stopped then)")
    ap.add_argument("--throughput", type=int, default=10_000,
                    help="datasets of k=(3,2) s=(2,1) for the datasets/second figure")
    ap.add_argument("--no-big", action="store_true", help="skip k=(3,3,3) s=(2,2,1)")
    ap.add_argument("--cases", type=str, default=None,
                    help="comma-separated case numbers to run (0-3, in the table's order)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.datasets, args.phc_datasets, args.throughput, args.no_big = 10, 1, 1000, True
    have_phc = shutil.which("phc") is not None
    print("lcn.homotopy.critical_sets (batched, compiled CPU tracker, one thread) vs PHCpack "
          "phc -b (one thread) on the same gauge-fixed square systems; Gaussian data, "
          "N = d+1 samples; wall times")
    if not have_phc:
        print("phc: SKIPPED (PHCpack's 'phc' is not on PATH; Debian package phcpack) -- "
              "only our figures are printed")
    # numba compiles the tracker on its first call in a fresh environment (then loads it from
    # its disk cache): paid here, on a small architecture, so "start s" is the monodromy alone
    warm = Architecture((2, 2), (1, 1))
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        critical_sets(warm, datasets_for(warm, 1, 0), cache_dir=cache, classify=False)
    print(f"warm-up ({warm}, compiles or loads the tracker kernels): "
          f"{time.perf_counter() - t0:.1f} s")
    rows = []
    head = (f"{'architecture':<20}{'ed':>6}{'start s':>9}{'ours s/ds':>11}{'certified':>11}"
            f"{'phc s/ds':>10}{'phc found':>11}{'phc reg':>9}{'phc new':>8}{'ratio':>8}"
            f"{'+start':>8}{'1 ds':>8}")
    print(head)
    chosen = None if args.cases is None else {int(c) for c in args.cases.split(",")}
    for c, (k, s) in enumerate(CASES):
        big = (k, s) == BIG
        if (big and args.no_big) or (chosen is not None and c not in chosen):
            continue
        arch = Architecture(k, s)
        n = args.big_datasets if big else args.datasets
        data = datasets_for(arch, n, args.seed)
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            critical_sets(arch, data[:1], cache_dir=cache, classify=False)
            t1 = time.perf_counter()
            critical_sets(arch, data[:1], cache_dir=cache, classify=False)
            t_one = time.perf_counter() - t1  # one dataset alone, start system cached
            t_start = max(t1 - t0 - t_one, 0.0)  # fresh less cached
            t0 = time.perf_counter()
            res = critical_sets(arch, data, cache_dir=cache, classify=False)
            t_ours = (time.perf_counter() - t0) / n
        cert = sum(r.certified_complete for r in res)
        phc_cell, found_cell, reg_cell, new_cell = "skipped", "-", "-", "-"
        ratio_cell = start_cell = one_cell = "-"
        if have_phc:
            chart = make_chart(arch, 0)  # the seed critical_sets uses: the very same system
            runs = []
            for i in range(min(args.phc_datasets, n)):
                runs.append(run_phc(arch, data[i], res[i].functions, chart, args.phc_limit))
                if not runs[-1].finished:
                    break  # the next datasets would time out alike
            done = [r for r in runs if r.finished]
            if done:
                t_phc = sum(r.seconds for r in done) / len(done)
                phc_cell = f"{t_phc:.2f}"
                found_cell = "/".join(str(r.matched) for r in done)
                reg_cell = "/".join(str(r.regular) for r in done)
                new_cell = "/".join(str(r.unmatched) for r in done)
            else:
                t_phc = args.phc_limit
                phc_cell = f">{args.phc_limit:.0f}"
                found_cell = "unfinished"
            gt = "" if done else ">"
            ratio_cell = f"{gt}{t_phc / t_ours:.0f}x"
            start_cell = f"{gt}{t_phc / (t_ours + t_start / n):.0f}x"
            one_cell = f"{gt}{t_phc / t_one:.0f}x"
        rows.append((arch, ratio_cell))
        print(f"{str(arch):<20}{arch.ed_degree:>6}{t_start:>9.2f}{t_ours:>11.4f}"
              f"{cert:>6}/{n:<4}{phc_cell:>10}{found_cell:>11}{reg_cell:>9}{new_cell:>8}"
              f"{ratio_cell:>8}{start_cell:>8}{one_cell:>8}")
        sys.stdout.flush()
    print("start s: a first call on one dataset less a second one (the monodromy start "
          "instance, built once per "
          "architecture and cached); ours s/ds: batched call / datasets; phc found: certified "
          "solutions of ours that phc found, per phc dataset; phc reg: phc's 'regular' label; "
          "phc new: phc's regular roots that are none of ours (a root we missed); ratio: phc "
          "s/ds over ours; +start: with our start instance spread over the batch; 1 ds: "
          "against one dataset solved alone (cached start), like phc")
    if args.throughput <= 0:
        return _ratios(rows)
    arch = Architecture((3, 2), (2, 1))
    data = datasets_for(arch, args.throughput, args.seed + 10**6)
    with tempfile.TemporaryDirectory() as cache:
        critical_sets(arch, data[:1], cache_dir=cache, classify=False)
        t0 = time.perf_counter()
        res = critical_sets(arch, data, cache_dir=cache, classify=False)
        dt = time.perf_counter() - t0
    cert = sum(r.certified_complete for r in res)
    print(f"throughput {arch}: {args.throughput} datasets in {dt:.1f} s = "
          f"{args.throughput / dt:.0f} datasets/s ({args.throughput * arch.ed_degree / dt:.0f} "
          f"paths/s), certified complete {cert}/{args.throughput}")
    _ratios(rows)


def _ratios(rows: list[tuple[Architecture, str]]) -> None:
    if SKIPPED:
        print(f"skipped {len(SKIPPED)} Gaussian draws with a rank-deficient G (seeds "
              f"{SKIPPED[:5]}{' ...' if len(SKIPPED) > 5 else ''})")
    for arch, ratio in rows:
        print(f"speed-up over phc -b, {arch}: {ratio}")


if __name__ == "__main__":
    main()
