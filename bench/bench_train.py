"""Benchmark: batched Gram-form trainer vs the data-space reference trainer (MATH.md 8).

Both run plain gradient descent with the same fixed step from the same initializations, on the
same dataset and architecture, in this process; the figure of merit is run-steps per second
(runs x steps / wall time). The Gram trainer's set-up (reducing the data to ``G, u, c``) is
included in its time. The reference is timed in both of its modes (``grouped``: all runs in one
``nn.Conv1d(R, R, k, groups=R)`` stack; ``per_run``: one ``nn.Sequential`` of ``nn.Conv1d`` per
run) at the thread counts of ``--threads``; the best reference figure is the baseline.

With a CUDA device, also run-steps per second of the Gram trainer with 10^6 runs.

    python bench/bench_train.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import best_time

from lcn import Architecture
from lcn.training import gaussian_dataset, gram_form, train, train_reference


def bench_arch(arch: Architecture, n_out: int, N: int, runs: int, steps: int,
               per_run_runs: int, thread_counts: list[int]) -> float:
    data = gaussian_dataset(arch, n_out, N, seed=0)
    lr = _small_lr(arch, gram_form(arch, data))
    print(f"\n{arch}  n_0={data.n_in} n_L={n_out} N={N}  runs={runs} steps={steps}")
    # same trajectory first (the benchmark must measure the same computation)
    a = train(arch, data, 4, steps=20, lr=lr, polish=False, seed=1)
    b = train_reference(arch, data, 4, steps=20, lr=lr, seed=1)
    dev = float(np.abs(a.params - b.params).max())
    print(f"  max |params_gram - params_reference| after 20 steps: {dev:.1e}")
    t_gram = best_time(lambda: train(arch, data, runs, steps=steps, lr=lr, polish=False), 2)
    gram_rate = runs * steps / t_gram
    print(f"  gram trainer            {t_gram:8.3f} s  {gram_rate:12.3e} run-steps/s")
    best_ref = 0.0
    for threads in thread_counts:
        t_ref = best_time(lambda t=threads: train_reference(arch, data, runs, steps=steps, lr=lr,
                                                        mode="grouped", threads=t))
        rate = runs * steps / t_ref
        best_ref = max(best_ref, rate)
        print(f"  reference grouped  t={threads} {t_ref:8.3f} s  {rate:12.3e} run-steps/s")
        t_pr = best_time(lambda t=threads: train_reference(arch, data, per_run_runs, steps=steps,
                                                       lr=lr, mode="per_run", threads=t))
        rate = per_run_runs * steps / t_pr
        best_ref = max(best_ref, rate)
        print(f"  reference per_run  t={threads} {t_pr:8.3f} s  {rate:12.3e} run-steps/s"
              f"  ({per_run_runs} runs)")
    ratio = gram_rate / best_ref
    print(f"  ratio gram / best reference: {ratio:8.1f}x  (goal >= 50x)")
    return ratio


def _small_lr(arch: Architecture, gf) -> float:
    """A small fixed step (well below 1 / Lipschitz at the initial scale): stable, and no run
    converges early, so every trainer does all the steps."""
    L = arch.layers
    return 0.01 / (2 * L * gf.norm * max(1.0, float(np.linalg.norm(gf.u))) ** (2 * (L - 1) / L))


def bench_gpu(arch: Architecture, runs: int, steps: int) -> None:
    """Run-steps per second of the Gram trainer on CUDA with ``runs`` runs, from the difference
    of two step counts (so set-up and the final metrics, O(runs), do not count)."""
    data = gaussian_dataset(arch, 4, 64, seed=0)
    lr = _small_lr(arch, gram_form(arch, data))
    train(arch, data, 1000, steps=10, lr=lr, polish=False, device="cuda")  # warm-up

    def timed(n: int) -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        train(arch, data, runs, steps=n, lr=lr, polish=False, device="cuda")
        torch.cuda.synchronize()
        return time.perf_counter() - t0

    t_short, t_long = timed(10), timed(10 + steps)
    dt = max(t_long - t_short, 1e-9)
    print(f"  cuda {torch.cuda.get_device_name()}: {arch} runs={runs}: {steps} steps in "
          f"{dt:.3f} s (+{t_short:.2f} s set-up for 10 steps): {runs * steps / dt:.3e} "
          f"run-steps/s (goal >= 1e8 on an H200)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (fewer runs and steps)")
    ap.add_argument("--threads", default="1", help="torch thread counts for the reference, "
                    "comma-separated (default 1: on a loaded 2-core machine 2 threads made the "
                    "reference 10-100x slower)")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    runs, steps, per_run = (128, 40, 4) if args.quick else (256, 100, 8)
    cases = [
        (Architecture((3, 3, 3), (2, 2, 1)), 8, 128),
        (Architecture((3, 3, 3), (1, 1, 1)), 8, 128),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available")
    ratios = [bench_arch(a, n, N, runs, steps, per_run, threads) for a, n, N in cases]
    print(f"\nworst ratio over architectures: {min(ratios):.1f}x")
    if torch.cuda.is_available():
        print("\nGPU")
        for a, _, _ in cases:
            bench_gpu(a, 10**6, 20 if args.quick else 100)


if __name__ == "__main__":
    main()
