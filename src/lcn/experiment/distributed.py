"""Chunks as Dask tasks (``lcn experiment --workers N`` / ``--scheduler ADDR``).

The client stays the only writer of the store: every chunk is one task
(:func:`lcn.experiment.worker.run_chunk`), results stream back with ``as_completed`` and are
committed chunk by chunk, exactly as in-process, so resuming, atomic creation and the
integrity guarantees are those of the store. A chunk's seeds depend only on the config and the
chunk, so the rows do not depend on the number of workers or the order they finish in.

Faults: a worker that dies mid-chunk has its task rerun elsewhere by the scheduler (nothing
is written until a chunk's result reaches the client, and a chunk is written once); a task
that raises is reported with its chunk and seed while the other chunks go on; a scheduler
that goes away ends the run with an error saying how many chunks were saved.

Dask is imported only here, inside the functions: without ``--workers``/``--scheduler``
nothing of Dask is imported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcn.errors import ConfigError
from lcn.experiment.config import ExperimentConfig
from lcn.experiment.plan import Chunk
from lcn.experiment.store import Store
from lcn.experiment.worker import ChunkResult, chunk_seed, commit, run_chunk

__all__ = ["Cluster", "run_on_dask"]


@dataclass(frozen=True)
class Cluster:
    """Where chunks run: ``workers`` local worker processes (``0``: one per core) or an
    existing cluster at ``scheduler`` (``tcp://HOST:PORT`` or a scheduler file)."""

    workers: int | None = None
    scheduler: str | None = None

    @property
    def argument(self) -> str:
        return "--scheduler" if self.scheduler is not None else "--workers"

    def to_json(self) -> dict[str, Any]:
        return {"workers": self.workers, "scheduler": self.scheduler}


@contextmanager
def _client(cluster: Cluster) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(cluster.argument, "needs Dask: pip install 'dask[distributed]'"
                          ) from None
    if cluster.scheduler is None:
        n = cluster.workers or os.cpu_count() or 1
        # one single-threaded process per worker: chunks are CPU-bound Python and torch
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as local, \
                Client(local) as client:
            yield client
        return
    target = cluster.scheduler
    kwargs = {"scheduler_file": target} if Path(target).is_file() else {"address": target}
    try:
        client = Client(timeout="20s", **kwargs)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError("--scheduler", f"cannot reach the Dask scheduler {target!r} ({exc}); "
                          "give tcp://HOST:PORT or a scheduler file") from None
    with client:
        yield client


def _failure(config: ExperimentConfig, chunk: Chunk, exc: BaseException) -> str:
    seed = chunk_seed(config, chunk)
    return f"{chunk.arch}: {chunk.label} (seed {seed}) failed: {type(exc).__name__}: {exc}"


def _lost(cluster: Cluster, counts: list[int], exc: BaseException) -> ConfigError:
    return ConfigError(cluster.argument, f"lost the Dask cluster ({type(exc).__name__}: {exc}); "
                       f"{counts[0]} new chunks were saved; run the same command again to "
                       "resume")


def run_on_dask(st: Store, config: ExperimentConfig, todo: Sequence[Chunk], counts: list[int],
                advance: Callable[[Chunk, bool], None], cluster: Cluster) -> list[str]:
    """Run ``todo`` as Dask tasks and commit each result as it arrives (``counts = [ran,
    skipped]`` as in :func:`lcn.experiment.worker.commit`); returns one line per chunk whose
    task raised (those chunks are not written; a rerun retries them)."""
    from distributed import as_completed

    failures: list[str] = []
    with _client(cluster) as client:
        futures = {
            client.submit(run_chunk, config, chunk, pure=False,
                          key=f"lcn-{config.hash}-{chunk.arch}-{chunk.task}-{chunk.part}"): chunk
            for chunk in todo
        }
        try:
            for fut in as_completed(futures):
                chunk = futures.pop(fut)
                try:
                    result: ChunkResult = fut.result()
                except Exception as exc:
                    if fut.status != "error":  # cancelled or lost: the cluster went away
                        raise _lost(cluster, counts, exc) from None
                    failures.append(_failure(config, chunk, exc))
                    continue
                fut.release()
                commit(st, chunk, result, counts)
                advance(chunk, True)
        except (OSError, TimeoutError) as exc:
            raise _lost(cluster, counts, exc) from None
        finally:
            client.cancel(list(futures))
    return failures
