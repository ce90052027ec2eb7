"""Benchmark of lcn.geometry.nearest against multistart SciPy Levenberg-Marquardt.

The baseline is what a practitioner writes: ``scipy.optimize.least_squares(method="lm")``
(MINPACK) on ``mu(w) - f`` with the analytic Jacobian (our vectorized closed form,
``BatchModel``), from 8 Gaussian random starts, best result kept. Single-threaded BLAS (set
below, before NumPy loads); both timed in CPU time of this process (one thread: the work done,
robust to a shared machine) in the same run on the same targets. Ours: ``nearest(arch, f)``
(root-orbit starts + batched LM, compiled with numba; the baseline's MINPACK is compiled
too). A second, stronger baseline (column ``lm-nb``) runs the same MINPACK LM from the same
starts with the residual and Jacobian compiled with numba too (one filter at a time:
prefix/suffix products of the upsampled layers, so no NumPy call overhead per evaluation).

Targets, for end-to-end degrees 10, 50 (and 200 with ``--full``), a two-layer and a
three-layer architecture each: members of M perturbed by relative noise 1e-6 (a measured or
trained filter) and 1e-2 (generic, far from the planted member), and Gaussian random targets
(generic). Printed per case: median time of each, the ratio of total times, the median
distance of each (divided by the noise norm for perturbed members), and on how many targets
ours is at least as close (``d_ours <= d_lm * (1 + 1e-6) + 1e-15``).

Usage: ``python bench/bench_nearest.py [--quick] [--full] [--targets N] [--seed S]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402

from lcn import Architecture  # noqa: E402
from lcn.geometry.numerical import nearest  # noqa: E402
from lcn.geometry.numerical.model import BatchModel  # noqa: E402

CASES = [
    ((5, 4), (2, 1)),
    ((3, 3, 2), (2, 2, 1)),
    ((11, 21), (2, 1)),
    ((11, 11, 6), (2, 2, 1)),
    ((41, 81), (2, 1)),
    ((41, 41, 21), (2, 2, 1)),
]
STARTS = 8


def _conv(p: np.ndarray, q: np.ndarray, qs: int) -> np.ndarray:
    """``p(x) q(x^qs)`` for coefficient vectors (compiled below)."""
    out = np.zeros(p.shape[0] + qs * (q.shape[0] - 1))
    for j in range(q.shape[0]):
        for t in range(p.shape[0]):
            out[t + j * qs] += q[j] * p[t]
    return out


def _mu_jac_one(theta: np.ndarray, k: np.ndarray, S: np.ndarray, m: int,
                want_jac: bool) -> tuple[np.ndarray, np.ndarray]:
    """``mu(theta)`` and its ``m x P`` Jacobian: column ``(i, j)`` is the product of all
    layers but ``i`` shifted by ``j S_i`` (prefix times suffix products)."""
    L = k.shape[0]
    off = np.zeros(L + 1, np.int64)
    for i in range(L):
        off[i + 1] = off[i] + k[i]
    pre = [np.ones(1)]
    for i in range(L):
        pre.append(_conv_nb(pre[i], theta[off[i]:off[i + 1]], S[i]))
    J = np.zeros((m, off[L]))
    if want_jac:
        suf = np.ones(1)  # the product of the upsampled layers i+1 .. L-1
        for i in range(L - 1, -1, -1):
            other = _conv_nb(pre[i], suf, 1)
            for j in range(k[i]):
                for t in range(other.shape[0]):
                    J[t + j * S[i], off[i] + j] = other[t]
            up = np.zeros(S[i] * (k[i] - 1) + 1)
            for j in range(k[i]):
                up[j * S[i]] = theta[off[i] + j]
            suf = _conv_nb(up, suf, 1)
    return pre[L], J


_conv_nb = None
_mu_jac_nb = None


def compiled_model() -> object | None:
    """The numba-compiled residual/Jacobian of the stronger baseline (None without numba)."""
    global _conv_nb, _mu_jac_nb
    try:
        import numba
    except ImportError:
        return None
    if _mu_jac_nb is None:
        _conv_nb = numba.njit(cache=True)(_conv)
        _mu_jac_nb = numba.njit(cache=True)(_mu_jac_one)
    return _mu_jac_nb


def baseline(arch: Architecture, f: np.ndarray, starts: np.ndarray,
             compiled: bool = False) -> float:
    """Multistart MINPACK LM from ``starts``; the residual and Jacobian from NumPy
    (``BatchModel``) or, with ``compiled``, from numba."""
    if compiled:
        mj = compiled_model()
        k, S, m = np.array(arch.k), np.array(arch.S), arch.filter_size

        def fun(t: np.ndarray) -> np.ndarray:
            return mj(t, k, S, m, False)[0] - f

        def jac(t: np.ndarray) -> np.ndarray:
            return mj(t, k, S, m, True)[1]
    else:
        model = BatchModel(arch.k, arch.S)

        def fun(t: np.ndarray) -> np.ndarray:
            return model.mu(t[None])[0] - f

        def jac(t: np.ndarray) -> np.ndarray:
            return model.mu_jac(t[None])[1][0]

    best = np.inf
    for x0 in starts:
        r = least_squares(fun, x0, jac=jac, method="lm")
        best = min(best, float(np.linalg.norm(r.fun)))
    return best


def run_case(arch: Architecture, n_targets: int, noise: float, seed: int, member: bool
             ) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    t_ours, t_base, t_nb, d_ours, d_base, d_nb, better, better_nb = [], [], [], [], [], [], 0, 0
    for _ in range(n_targets):
        if member:
            ws = [rng.standard_normal(k) for k in arch.k]
            model = BatchModel(arch.k, arch.S)
            f = model.mu(np.concatenate(ws)[None])[0]
            f /= np.linalg.norm(f)
            n = rng.standard_normal(f.shape)
            f = f + noise * n / np.linalg.norm(n)
            scale = noise
        else:
            f = rng.standard_normal(arch.filter_size)
            f /= np.linalg.norm(f)
            scale = 1.0
        t0 = time.process_time()
        res = nearest(arch, f, starts=STARTS, seed=int(rng.integers(1 << 30)))
        t1 = time.process_time()
        starts = rng.standard_normal((STARTS, sum(arch.k)))
        db = baseline(arch, f, starts)
        t2 = time.process_time()
        if compiled_model() is not None:
            # the same MINPACK runs from the same starts; on generic targets rounding alone
            # sends some of them into other basins, so its distances are compared too
            dn = baseline(arch, f, starts, compiled=True)
            t_nb.append(time.process_time() - t2)
            d_nb.append(dn / scale)
            better_nb += res.distance <= dn * (1 + 1e-6) + 1e-15
        t_ours.append(t1 - t0)
        t_base.append(t2 - t1)
        d_ours.append(res.distance / scale)
        d_base.append(db / scale)
        better += res.distance <= db * (1 + 1e-6) + 1e-15
    return {
        "ours_ms": 1e3 * statistics.median(t_ours),
        "base_ms": 1e3 * statistics.median(t_base),
        "ratio": sum(t_base) / sum(t_ours),
        "nb_ms": 1e3 * statistics.median(t_nb) if t_nb else float("nan"),
        "nb_ratio": sum(t_nb) / sum(t_ours) if t_nb else float("nan"),
        "d_ours": statistics.median(d_ours),
        "d_base": statistics.median(d_base),
        "d_nb": statistics.median(d_nb) if d_nb else float("nan"),
        "better": better,
        "better_nb": better_nb if d_nb else -1,
        "n": n_targets,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 targets per case")
    ap.add_argument("--full", action="store_true", help="also degree 200")
    ap.add_argument("--targets", type=int, default=5, help="targets per case (default 5)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = 2 if args.quick else args.targets
    print(f"nearest vs multistart SciPy least_squares(method='lm'), analytic Jacobian, "
          f"{STARTS} starts each, single-threaded BLAS, {n} targets per case")
    print(f"{'architecture':<22}{'deg':>4} {'target':<14}{'ours ms':>9}{'lm ms':>10}"
          f"{'ratio':>7}{'lm-nb ms':>10}{'ratio':>7}{'d_ours':>11}{'d_lm':>11}{'d_lm-nb':>11}"
          f"{'ours<=lm':>10}{'<=lm-nb':>9}")
    # the compiled solver (lcn.geometry.numerical.lm_kernel) is compiled, or loaded from numba's
    # disk cache, on its first call: paid here, not by the first timed target
    t0 = time.process_time()
    nearest(Architecture((3, 2), (2, 1)), np.arange(1.0, 6.0))
    if compiled_model() is not None:
        a0 = Architecture((3, 2), (2, 1))
        baseline(a0, np.arange(1.0, 6.0), np.ones((1, 5)), compiled=True)
    else:
        print("numba is not installed: the compiled-residual baseline (lm-nb) is skipped")
    print(f"warm-up (compiles or loads the compiled solver and the lm-nb baseline): "
          f"{time.process_time() - t0:.1f} s")
    kinds = [("noise 1e-6", True, 1e-6), ("noise 1e-2", True, 1e-2), ("random", False, 1.0)]
    rows = []
    for k, s in CASES:
        arch = Architecture(k, s)
        if arch.degree > 50 and not args.full:
            continue
        for label, member, noise in kinds:
            if arch.degree > 50 and label != "noise 1e-6":
                continue
            r = run_case(arch, n, noise, args.seed, member)
            rows.append((arch, label, r))
            unit = " (/noise)" if member else ""
            print(f"{str(arch):<22}{arch.degree:>4} {label:<14}{r['ours_ms']:>9.1f}"
                  f"{r['base_ms']:>10.1f}{r['ratio']:>7.1f}{r['nb_ms']:>10.1f}"
                  f"{r['nb_ratio']:>7.1f}{r['d_ours']:>11.3g}{r['d_base']:>11.3g}"
                  f"{r['d_nb']:>11.3g}{r['better']:>7}/{r['n']}{r['better_nb']:>6}/{r['n']}"
                  f"{unit}")
    for label, _, _ in kinds:
        sel = [r for _, lab, r in rows if lab == label]
        if sel:
            ok, tot = sum(r["better"] for r in sel), sum(r["n"] for r in sel)
            ok_nb = sum(r["better_nb"] for r in sel)
            print(f"{label:<12}: speed-up {min(r['ratio'] for r in sel):.1f}x to "
                  f"{max(r['ratio'] for r in sel):.1f}x (lm-nb: "
                  f"{min(r['nb_ratio'] for r in sel):.1f}x to "
                  f"{max(r['nb_ratio'] for r in sel):.1f}x), at least as close on {ok}/{tot} "
                  f"(lm-nb: {ok_nb}/{tot})")


if __name__ == "__main__":
    main()
