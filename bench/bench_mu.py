"""Benchmark: batched ``lcn.mu`` against (a) the dense product of convolution matrices,
(b) a torch ``Conv1d`` stack applied to delta inputs, and the two strong baselines of issue
14: (c) a NumPy tap loop in ``(taps, runs)`` layout and (d) a one-thread torch ``addcmul_``
tap loop in the same layout (both given their layout for free: inputs transposed before the
clock starts), (d') the same tap loop for a caller who holds ``(B, k_i)`` rows and wants
``(B, d+1)`` rows back, as ``lcn.mu`` takes and returns them (the conversions timed too), plus
(e) a practitioner's numba kernel (a per-run loop, ``parallel=True``); all
measured in this run. ``lcn.mu`` runs its compiled kernel (:mod:`lcn._mu_kernel`) on as many
threads as the machine has (2 here, like (e)); the column ``mu 1thr`` is the same on one thread,
the fair comparison with the one-thread baselines (c), (d) and (d').

    python bench/bench_mu.py [--batch 100000] [--quick]

Goal (issue 2): ``mu`` at least 20x faster than (a) and 2x faster than (b) on this CPU;
issue 14: ``mu`` stays ahead of (c), (d) and (e).
(b) is a forward ``Conv1d`` stack (one grouped convolution per layer, groups = batch) applied
to the ``d+1`` unit impulses, whose outputs are the entries of the end-to-end filter; (b')
is the stronger transposed variant: one ``conv_transpose1d`` stack applied to a single delta
(``T^T e_0`` is the first row of ``T``).
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time

from lcn import Architecture, mu, network_matrix, parametrization

CASES = [
    Architecture((5, 5, 5), (2, 2, 1)),
    Architecture((3, 3, 3, 3, 3, 3, 3, 3), (1, 2, 1, 2, 1, 2, 1, 1)),
    Architecture((4, 4), (1, 1)),
]


def dense_product(a: Architecture, fs: list[np.ndarray]) -> np.ndarray:
    return network_matrix(a, fs, 1)[..., 0, :]


def torch_forward_deltas(a: Architecture, ws: list) -> object:
    import torch
    import torch.nn.functional as F

    B = ws[0].shape[0]
    n0 = a.filter_size
    x = torch.eye(n0, dtype=torch.float64).unsqueeze(1).expand(n0, B, n0)
    for w, s in zip(ws, a.s, strict=True):
        x = F.conv1d(x, w, stride=s, groups=B)
    return x[:, :, 0].T


def torch_transpose_delta(a: Architecture, ws: list) -> object:
    import torch
    import torch.nn.functional as F

    B = ws[0].shape[0]
    x = torch.ones((1, B, 1), dtype=torch.float64)
    for w, s in zip(reversed(ws), reversed(a.s), strict=True):
        x = F.conv_transpose1d(x, w, stride=s, groups=B)
    return x[0]


def numpy_tap_loop(a: Architecture, fsT: list[np.ndarray]) -> np.ndarray:
    """(c): upsample-multiply, one vectorized multiply-add per tap over all runs."""
    acc = fsT[0]
    for w, S in zip(fsT[1:], a.S[1:], strict=True):
        n, k = acc.shape[0], w.shape[0]
        out = np.zeros((n + S * (k - 1), acc.shape[1]))
        for j in range(k):
            out[j * S : j * S + n] += acc * w[j]
        acc = out
    return acc


def torch_tap_loop(a: Architecture, wsT: list) -> object:
    """(d): the same with torch ``addcmul_`` (run with one intra-op thread)."""
    acc = wsT[0]
    for w, S in zip(wsT[1:], a.S[1:], strict=True):
        n, k = acc.shape[0], w.shape[0]
        out = acc.new_zeros((n + S * (k - 1), acc.shape[1]))
        for j in range(k):
            out[j * S : j * S + n].addcmul_(acc, w[j])
        acc = out
    return acc


def torch_tap_loop_rows(a: Architecture, ws: list) -> object:
    """(d'): (d) for a caller whose filters are ``(B, k_i)`` rows and who wants ``(B, d+1)``
    rows back, as ``lcn.mu`` takes and returns them: the layout conversions are timed too."""
    return torch_tap_loop(a, [w.T.contiguous() for w in ws]).T.contiguous()


def numba_kernel() -> object | None:
    """(e): a compiled per-run loop (numba is a dependency of lcn; None if it is missing)."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, cache=True)
    def kernel(flat: np.ndarray, ks: np.ndarray, Ss: np.ndarray, m: int) -> np.ndarray:
        B = flat.shape[0]
        out = np.zeros((B, m))
        for r in numba.prange(B):
            acc = np.zeros(m)
            tmp = np.zeros(m)
            acc[0 : ks[0]] = flat[r, 0 : ks[0]]
            n, off = ks[0], ks[0]
            for i in range(1, ks.shape[0]):
                tmp[:] = 0.0
                for j in range(ks[i]):
                    wj = flat[r, off + j]
                    for t in range(n):
                        tmp[t + j * Ss[i]] += acc[t] * wj
                n += (ks[i] - 1) * Ss[i]
                off += ks[i]
                acc[:n] = tmp[:n]
            out[r] = acc
        return out

    return kernel


def one_thread_mu(a: Architecture, fs: list[np.ndarray]) -> np.ndarray:
    """``lcn.mu`` with its thread pool cut to one worker (the same kernel, one core)."""
    old, oldex = parametrization._WORKERS, parametrization._executor
    parametrization._WORKERS, parametrization._executor = 1, None
    try:
        return mu(a, fs)
    finally:
        parametrization._WORKERS, parametrization._executor = old, oldex


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="batch 10000, one repeat")
    args = p.parse_args()
    if args.quick:
        args.batch, args.repeat = 10_000, 1
    rng = np.random.default_rng(0)
    threads = torch.get_num_threads()
    print(f"batch = {args.batch} parameter sets, float64, torch threads = {threads}")
    header = (f"{'architecture':34s} {'mu [s]':>8s} {'mu 1thr':>8s} {'dense':>8s} {'x':>6s} "
              f"{'conv':>8s} {'x':>6s}")
    print(header + f" {'convT':>8s} {'x':>6s} {'np-tap':>8s} {'x':>6s} {'addcmul':>8s} {'x':>6s}"
          f" {'addc-rows':>9s} {'x':>6s}"
          f" {'numba':>8s} {'x':>6s}")
    nb = numba_kernel()
    for a in CASES:
        fs = [rng.standard_normal((args.batch, k)) for k in a.k]
        ws = [torch.from_numpy(f).reshape(args.batch, 1, -1) for f in fs]
        # NumPy timings first: torch's worker threads keep spinning for a while after a
        # torch call and would steal the second core from lcn.mu's blocks
        t_mu = best_time(lambda a=a, fs=fs: mu(a, fs), args.repeat)
        t_mu1 = best_time(lambda a=a, fs=fs: one_thread_mu(a, fs), args.repeat)
        t_dense = best_time(lambda a=a, fs=fs: dense_product(a, fs), args.repeat)
        ref = mu(a, fs)
        # all implementations agree before their times are reported
        np.testing.assert_allclose(dense_product(a, fs[:]), ref, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(torch_forward_deltas(a, ws).numpy(), ref, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(torch_transpose_delta(a, ws).numpy(), ref, rtol=1e-9, atol=1e-9)
        with torch.no_grad():
            # one repeat: the impulse stack is (d+1) x batch x (d+1) and takes seconds
            t_conv = best_time(lambda a=a, ws=ws: torch_forward_deltas(a, ws), 1)
            t_convT = best_time(lambda a=a, ws=ws: torch_transpose_delta(a, ws), args.repeat)
        fsT = [np.ascontiguousarray(f.T) for f in fs]
        wsT = [torch.from_numpy(f) for f in fsT]
        np.testing.assert_allclose(numpy_tap_loop(a, fsT).T, ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(torch_tap_loop(a, wsT).numpy().T, ref, rtol=1e-12,
                                   atol=1e-12)
        t_np = best_time(lambda a=a, fsT=fsT: numpy_tap_loop(a, fsT), args.repeat)
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        t_tap = best_time(lambda a=a, wsT=wsT: torch_tap_loop(a, wsT), args.repeat)
        wsR = [torch.from_numpy(f) for f in fs]
        np.testing.assert_allclose(torch_tap_loop_rows(a, wsR).numpy(), ref, rtol=1e-12,
                                   atol=1e-12)
        t_rows = best_time(lambda a=a, wsR=wsR: torch_tap_loop_rows(a, wsR), args.repeat)
        torch.set_num_threads(old)
        nb_txt = f" {'-':>8s} {'-':>6s}"
        if nb is not None:
            flat = np.concatenate(fs, axis=1)
            ks, Ss = np.array(a.k), np.array(a.S)
            np.testing.assert_allclose(nb(flat, ks, Ss, a.filter_size), ref, rtol=1e-12,
                                       atol=1e-12)  # also compiles
            t_nb = best_time(lambda flat=flat, ks=ks, Ss=Ss, a=a: nb(flat, ks, Ss,
                                                                     a.filter_size),
                             args.repeat)
            nb_txt = f" {t_nb:8.4f} {t_nb / t_mu:6.2f}"
        print(
            f"{str(a):34s} {t_mu:8.4f} {t_mu1:8.4f} {t_dense:8.4f} {t_dense / t_mu:6.1f} "
            f"{t_conv:8.4f} {t_conv / t_mu:6.1f} {t_convT:8.4f} {t_convT / t_mu:6.1f} "
            f"{t_np:8.4f} {t_np / t_mu1:6.2f} {t_tap:8.4f} {t_tap / t_mu1:6.2f} "
            f"{t_rows:9.4f} {t_rows / t_mu1:6.2f}{nb_txt}"
        )
    print("x = time of the baseline / time of lcn.mu; for the one-thread tap loops (np-tap, "
          "addcmul, addc-rows) / time of lcn.mu on one thread (goal: dense >= 20, conv >= 2; "
          "the tap loops and numba: > 1)")
    if nb is None:
        print("numba is not installed: baseline (e) skipped")


if __name__ == "__main__":
    main()
