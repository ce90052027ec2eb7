"""Benchmark: the batched Gram-form trainer against the strongest baselines a practitioner
would write, timed in the same run (MATH.md 8).

Contenders, all plain gradient descent with the same fixed step from the same initialization
on the same data (``k=(3,3,3) s=(2,2,1)``, float64, one torch thread unless ``--threads``):

* ``lcn.train``       -- :func:`lcn.training.train` (``polish=False``; its set-up and final
                         float64 metrics are included in its time);
* ``lcn.train compiled`` -- the same with ``compile=True`` (``torch.compile`` of the fused
                         step; the default compiles from 2e8 run-steps on);
* ``hand``            -- a hand-written closed-form Gram step in ``(runs, taps)`` layout: the
                         end-to-end filter by upsample-multiply tap loops, ``2 G (v - u)`` by one
                         matmul, the back-products by the same tap loops, no autograd;
* ``hand compiled``   -- the same step under ``torch.compile``;
* ``conv1d``          -- the data-space reference (``nn.Conv1d(R, R, k, groups=R)`` stack and
                         autograd, :func:`lcn.training.train_reference`), at the smallest size.

Before timing, every contender's parameters after 20 steps are compared with the reference
trainer's (they must agree to 1e-12 relative). Times are the median of ``--rounds``
interleaved rounds; figures are run-steps per second (runs x steps / wall time). Peak memory
is measured for each contender in a child process (growth of the resident set, sampled), or
as ``torch.cuda.max_memory_allocated`` on CUDA.

    python bench/bench_train.py [--quick] [--device cuda] [--runs 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from timing import best_time

from lcn import Architecture
from lcn.training import gaussian_dataset, gram_form, init_params, train, train_reference

ARCH = Architecture((3, 3, 3), (2, 2, 1))


def small_lr(arch: Architecture, gf: Any) -> float:
    """A small fixed step (well below 1 / Lipschitz at the initial scale): stable, and no run
    converges early, so every contender does all the steps."""
    L = arch.layers
    return 0.01 / (2 * L * gf.norm * max(1.0, float(np.linalg.norm(gf.u))) ** (2 * (L - 1) / L))


def hand_step_factory(arch: Architecture, G: torch.Tensor, u: torch.Tensor,
                      lr: float) -> Callable[[list[torch.Tensor]], list[torch.Tensor]]:
    """The practitioner's closed-form step in ``(runs, taps)`` layout."""
    Gu = u @ G
    S = arch.S

    def up(acc: torch.Tensor, w: torch.Tensor, s: int) -> torch.Tensor:
        n, k = acc.shape[1], w.shape[1]
        out = acc.new_zeros(acc.shape[0], n + s * (k - 1))
        for j in range(k):
            out[:, j * s : j * s + n] += acc * w[:, j : j + 1]
        return out

    def step(ws: list[torch.Tensor]) -> list[torch.Tensor]:
        accs = [ws[0]]
        for w, s in zip(ws[1:], S[1:], strict=True):
            accs.append(up(accs[-1], w, s))
        gb = 2.0 * (accs[-1] @ G - Gu)
        grads = list(ws)
        for i in range(len(ws) - 1, 0, -1):
            acc, w, s = accs[i - 1], ws[i], S[i]
            n = acc.shape[1]
            grads[i] = torch.stack(
                [(gb[:, j * s : j * s + n] * acc).sum(1) for j in range(w.shape[1])], 1)
            new = gb[:, 0:n] * w[:, 0:1]
            for j in range(1, w.shape[1]):
                new = new + gb[:, j * s : j * s + n] * w[:, j : j + 1]
            gb = new
        grads[0] = gb
        return [w - lr * g for w, g in zip(ws, grads, strict=True)]

    return step


def hand_runner(arch: Architecture, gf: Any, theta0: np.ndarray, lr: float, device: str,
                compiled: bool) -> Callable[[int], np.ndarray]:
    G = torch.tensor(np.array(gf.G), device=device)
    u = torch.tensor(np.array(gf.u), device=device)
    step = hand_step_factory(arch, G, u, lr)
    if compiled:
        step = torch.compile(step)
    cuts = np.cumsum((0, *arch.k))

    def run(steps: int) -> np.ndarray:
        th = torch.as_tensor(theta0, device=device)
        ws = [th[:, cuts[i] : cuts[i + 1]].contiguous() for i in range(arch.layers)]
        for _ in range(steps):
            ws = step(ws)
        return torch.cat(ws, 1).cpu().numpy()

    return run


def contenders(runs: int, device: str) -> dict[str, Callable[[int], Any]]:
    data = gaussian_dataset(ARCH, 8, 128, seed=0)
    gf = gram_form(ARCH, data)
    lr = small_lr(ARCH, gf)
    theta0 = init_params(ARCH, gf, runs, seed=1)
    out: dict[str, Callable[[int], Any]] = {
        "lcn.train": lambda n: train(ARCH, gf, runs, init=theta0, steps=n, lr=lr,
                                     polish=False, device=device).params,
        "lcn.train compiled": lambda n: train(ARCH, gf, runs, init=theta0, steps=n, lr=lr,
                                              polish=False, device=device, compile=True).params,
        "hand": hand_runner(ARCH, gf, theta0, lr, device, compiled=False),
        "hand compiled": hand_runner(ARCH, gf, theta0, lr, device, compiled=True),
    }
    if runs <= 1000 and device == "cpu":
        out["conv1d"] = lambda n: train_reference(ARCH, data, runs, init=theta0, steps=n,
                                                  lr=lr, threads=1).params
    return out


def check_same(runs: int, device: str) -> None:
    """Every contender's parameters after 20 steps against the data-space reference."""
    data = gaussian_dataset(ARCH, 8, 128, seed=0)
    gf = gram_form(ARCH, data)
    lr = small_lr(ARCH, gf)
    theta0 = init_params(ARCH, gf, runs, seed=1)
    ref = train_reference(ARCH, data, runs, init=theta0, steps=20, lr=lr).params
    for name, fn in contenders(runs, device).items():
        got = np.asarray(fn(20))
        dev = float(np.abs(got - ref).max() / np.abs(ref).max())
        print(f"  {name:18s} max relative deviation from the reference after 20 steps: "
              f"{dev:.1e}")
        if dev > 1e-12:
            raise SystemExit(f"{name} does not follow the reference trajectory")


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_size(runs: int, work: float, rounds: int, device: str) -> dict[str, float]:
    """Median run-steps/s of each contender at ``runs`` runs (``work`` run-steps a call)."""
    # at least 200 steps: lcn.train's set-up and final float64 metrics are O(runs) and in its
    # time, the hand-written loops have none
    steps = max(200, int(work // runs))
    fns = contenders(runs, device)
    for fn in fns.values():  # warm-up, compilation included
        fn(5)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = steps if name != "conv1d" else max(5, steps // 20)

            def timed(fn: Callable[[int], Any] = fn, n: int = n) -> None:
                fn(n)
                sync(device)

            times[name].append(runs * n / best_time(timed))
    return {k: statistics.median(v) for k, v in times.items()}


def peak_memory(runs: int, name: str, device: str) -> float:
    """Peak working memory (MB) of one contender doing 20 steps after a 2-step warm-up
    (compilation included there), in a fresh child process: the growth of the resident set
    over its size just before the 20 steps, sampled every millisecond by a thread (the peak
    resident size of the process, ``ru_maxrss``, is dominated by importing torch and reads 0
    growth); on CUDA ``torch.cuda.max_memory_allocated``."""
    code = (
        "import sys, os, threading, time, torch; sys.path.insert(0, 'bench'); "
        "import bench_train as b; "
        f"torch.set_num_threads(1); f = b.contenders({runs}, {device!r})[{name!r}]; f(2); "
        "page = os.sysconf('SC_PAGE_SIZE'); "
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * page; "
        "base = rss(); peak = [base]; stop = [False]\n"
        "def watch():\n"
        "    while not stop[0]:\n"
        "        peak[0] = max(peak[0], rss()); time.sleep(0.001)\n"
        "t = threading.Thread(target=watch); t.start(); "
        f"torch.cuda.reset_peak_memory_stats() if {device!r} == 'cuda' else None; f(20); "
        "stop[0] = True; t.join(); "
        f"g = torch.cuda.max_memory_allocated() / 2**20 if {device!r} == 'cuda' else "
        "(peak[0] - base) / 2**20; print(g)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="less work per timing")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--runs", default="1000,10000,100000", help="comma-separated run counts")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    ap.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    work = 1e6 if args.quick else 4e6
    print(f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}, "
          f"{ARCH}, float64")
    check_same(64, args.device)
    table: dict[str, Any] = {}
    for runs in (int(r) for r in args.runs.split(",")):
        t0 = time.perf_counter()
        rates = time_size(runs, work * (10 if args.device == "cuda" else 1), args.rounds,
                          args.device)
        mem = {} if args.no_memory else {k: peak_memory(runs, k, args.device) for k in rates}
        print(f"\nruns={runs}  ({time.perf_counter() - t0:.0f} s)")
        best = max(v for k, v in rates.items() if not k.startswith("lcn.train"))
        for name, rate in rates.items():
            ratio = rates["lcn.train"] / rate
            mtxt = f"  peak {mem[name]:8.1f} MB" if name in mem else ""
            print(f"  {name:18s} {rate:10.3e} run-steps/s   lcn.train / this = {ratio:6.2f}x"
                  f"{mtxt}")
        ours = max(rates["lcn.train"], rates["lcn.train compiled"])
        print(f"  best lcn.train / strongest baseline: {ours / best:.2f}x "
              "(goal >= 1.5x at 1e4 and 1e5 runs)")
        table[str(runs)] = {"rates": rates, "peak_mb": mem}
    if args.json:
        print(json.dumps(table))


if __name__ == "__main__":
    main()
