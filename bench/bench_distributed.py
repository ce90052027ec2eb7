"""Benchmark: an experiment in-process vs on Dask (``--workers 2``), and Dask's per-chunk
overhead (issue 11).

Three ways to run the same chunks of the same config, each into a fresh store, measured in
this run: in-process (what ``lcn experiment`` does without flags), a
``concurrent.futures.ProcessPoolExecutor`` with 2 processes (the baseline a practitioner
would write without Dask: the parent commits each result), and a 2-worker Dask
``LocalCluster`` (``lcn experiment --workers 2``), cluster start-up included. The stores must
hold the same rows. Then the per-chunk overhead: a config of tiny chunks (one run of one step
each), seconds per chunk in-process and on Dask, so users know which chunk size to pick.

    python bench/bench_distributed.py [--quick]

``--quick`` scales the default experiment down to 4 datasets per architecture.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lcn import experiment as ex
from lcn.experiment.worker import commit, run_chunk

TINY_CHUNKS = """
name = "tiny-chunks"
seed = 1
[data]
datasets = 4
[training]
inits = 30
steps = 1
chunk = 1
polish = false
[search]
starts = 0
[[architectures]]
k = [2, 2]
s = [2, 1]
"""


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT arch, dataset, run, loss, category FROM runs "
                            "ORDER BY 1, 2, 3").fetchall()


def in_process(cfg: ex.ExperimentConfig, path: Path) -> float:
    t0 = time.perf_counter()
    ex.run_experiment(cfg, path, progress=False, large=True)
    return time.perf_counter() - t0


def process_pool(cfg: ex.ExperimentConfig, path: Path, n: int) -> float:
    t0 = time.perf_counter()
    plan = ex.plan_chunks(cfg)
    counts = [0, 0]
    ctx = multiprocessing.get_context("spawn")
    with ex.Store.create_or_resume(path, cfg) as st, \
            ProcessPoolExecutor(n, mp_context=ctx) as pool:
        for chunk, result in zip(plan, pool.map(run_chunk, [cfg] * len(plan), plan),
                                 strict=True):
            commit(st, chunk, result, counts)
    return time.perf_counter() - t0


def on_dask(cfg: ex.ExperimentConfig, path: Path, n: int) -> float:
    t0 = time.perf_counter()
    ex.run_experiment(cfg, path, progress=False, large=True, cluster=ex.Cluster(n))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    text = ex.default_config_text()
    if args.quick:
        text = text.replace("datasets = 40", "datasets = 4")
    cfg = ex.parse_config(text, "default", name="main")
    tiny = ex.parse_config(TINY_CHUNKS)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        n_chunks = len(ex.plan_chunks(cfg))
        print(f"default experiment{' (quick: 4 datasets)' if args.quick else ''}: "
              f"{n_chunks} chunks, {multiprocessing.cpu_count()} CPUs")
        t_in = in_process(cfg, d / "in.sqlite")
        t_pool = process_pool(cfg, d / "pool.sqlite", 2)
        t_dask = on_dask(cfg, d / "dask.sqlite", 2)
        same = rows(d / "in.sqlite") == rows(d / "pool.sqlite") == rows(d / "dask.sqlite")
        print(f"  in-process          {t_in:8.1f} s")
        print(f"  process pool (2)    {t_pool:8.1f} s   speed-up {t_in / t_pool:5.2f}x")
        print(f"  dask --workers 2    {t_dask:8.1f} s   speed-up {t_in / t_dask:5.2f}x   "
              f"vs pool {t_pool / t_dask:5.2f}x")
        print(f"  same rows in the three stores: {same}")
        n_tiny = len(ex.plan_chunks(tiny))
        t_in = in_process(tiny, d / "tiny-in.sqlite")
        t_dask = on_dask(tiny, d / "tiny-dask.sqlite", 2)
        print(f"tiny chunks ({n_tiny} chunks of one 1-step run): in-process "
              f"{1e3 * t_in / n_tiny:.1f} ms/chunk, dask (2 workers, start-up included) "
              f"{1e3 * t_dask / n_tiny:.1f} ms/chunk")


if __name__ == "__main__":
    main()
