"""Benchmark: batched ``lcn.mu`` against (a) the dense product of convolution matrices and
(b) a torch ``Conv1d`` stack applied to delta inputs, all measured in this run.

    python bench/bench_mu.py [--batch 100000] [--quick]

Goal (issue 2): ``mu`` at least 20x faster than (a) and 2x faster than (b) on this CPU.
(b) is a forward ``Conv1d`` stack (one grouped convolution per layer, groups = batch) applied
to the ``d+1`` unit impulses, whose outputs are the entries of the end-to-end filter; (b')
is the stronger transposed variant: one ``conv_transpose1d`` stack applied to a single delta
(``T^T e_0`` is the first row of ``T``).
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time

from lcn import Architecture, mu, network_matrix

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
    header = f"{'architecture':34s} {'mu [s]':>8s} {'dense':>8s} {'x':>6s} {'conv':>8s} {'x':>6s}"
    print(header + f" {'convT':>8s} {'x':>6s}")
    for a in CASES:
        fs = [rng.standard_normal((args.batch, k)) for k in a.k]
        ws = [torch.from_numpy(f).reshape(args.batch, 1, -1) for f in fs]
        # NumPy timings first: torch's worker threads keep spinning for a while after a
        # torch call and would steal the second core from lcn.mu's blocks
        t_mu = best_time(lambda a=a, fs=fs: mu(a, fs), args.repeat)
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
        print(
            f"{str(a):34s} {t_mu:8.4f} {t_dense:8.4f} {t_dense / t_mu:6.1f} "
            f"{t_conv:8.4f} {t_conv / t_mu:6.1f} {t_convT:8.4f} {t_convT / t_mu:6.1f}"
        )
    print("x = time of the baseline / time of lcn.mu (goal: dense >= 20, conv >= 2)")


if __name__ == "__main__":
    main()
