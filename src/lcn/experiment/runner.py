"""Running an experiment: the size check, the store, then chunk by chunk (in-process, or as
Dask tasks), each committed to the store in one transaction.

Torch is imported by :mod:`lcn.training` only when chunks run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcn import training
from lcn.errors import ConfigError, LCNError
from lcn.experiment.budget import check_budget
from lcn.experiment.config import ExperimentConfig
from lcn.experiment.distributed import Cluster, run_on_dask
from lcn.experiment.plan import Chunk, plan_chunks
from lcn.experiment.store import Store
from lcn.experiment.worker import commit, run_chunk

__all__ = ["Outcome", "preflight", "run_experiment"]

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    """What :func:`run_experiment` did: chunks run now, already done (before, or meanwhile by
    another process on the same store), and in total."""

    store: Path
    ran: int
    skipped: int
    total: int
    seconds: float
    interrupted: bool = False
    #: One line per chunk whose Dask task raised (chunk, seed, error); not written.
    failures: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.ran + self.skipped == self.total

    def to_json(self) -> dict[str, Any]:
        return {"store": str(self.store), "ran": self.ran, "skipped": self.skipped,
                "total": self.total, "seconds": self.seconds, "interrupted": self.interrupted,
                "complete": self.complete, "failures": list(self.failures)}


def preflight(config: ExperimentConfig) -> None:
    """Checks that need the training modules, before any training: device availability and
    architectures the trainer can build. Raises :class:`ConfigError`."""
    if config.device != "cpu":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("device", f"is {config.device!r} but no CUDA device is available")
        index = torch.device(config.device).index
        if index is not None and index >= torch.cuda.device_count():
            raise ConfigError(
                "device", f"is {config.device!r} but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible"
            )
    for i, spec in enumerate(config.architectures):
        try:
            arch = spec.build()
            if spec.path is not None:
                # read and validate data files now: a bad file must stop the run before any
                # architecture trains (DataError names the problem)
                training.load_dataset(spec.path, arch, spec.n_out)
        except LCNError as exc:
            raise ConfigError(f"architectures[{i}]", f"{exc.argument}: {exc.message}") from None


def _todo(path: Path, plan: Sequence[Chunk], config: ExperimentConfig,
          argument: str) -> list[Chunk]:
    """Chunks of ``plan`` not yet in the store at ``path`` (read-only look: a complete store
    is never opened for writing)."""
    if not path.exists():
        return list(plan)
    with Store.open(path, argument=argument, readonly=True) as st:
        if st.meta().get("config_hash") != config.hash:
            return list(plan)  # create_or_resume refuses it with the full message
        done = st.done_chunks()
    return [c for c in plan if c.key not in done]


def run_experiment(
    config: ExperimentConfig,
    store: str | Path | None = None,
    *,
    console: Any = None,
    progress: bool = True,
    max_chunks: int | None = None,
    large: bool = False,
    store_argument: str = "store",
    cluster: Cluster | None = None,
) -> Outcome:
    """Run (or resume) an experiment; results go to the store as each chunk finishes.

    ``store`` overrides ``config.store``. The size of the config is checked first
    (:func:`lcn.experiment.check_budget`; ``large`` lifts the work limit), then the store
    (created, or resumed when made by the same config) and the devices and data files: all
    before any training. Chunks already in the store are skipped. ``max_chunks`` stops after
    that many new chunks. Ctrl-C stops after rolling back the chunk in flight; the outcome then
    says ``interrupted``. A store that cannot be written (a full disk) ends the run with a
    :class:`ConfigError` naming ``store_argument`` and saying how many chunks were saved.

    ``cluster`` runs the chunks as Dask tasks (:mod:`lcn.experiment.distributed`; this process
    stays the only writer of the store); chunks whose task raised are listed in
    ``Outcome.failures`` and not written.
    """
    path = Path(store) if store is not None else config.store
    check_budget(config, large=large)
    plan = plan_chunks(config)
    preflight(config)
    todo = _todo(path, plan, config, store_argument)
    if not todo:
        return Outcome(path, 0, len(plan), len(plan), 0.0)
    st = Store.create_or_resume(path, config, argument=store_argument)
    t0 = time.perf_counter()
    counts = [0, 0]  # ran, skipped
    interrupted = False
    failures: list[str] = []
    try:
        done = st.done_chunks()
        todo = [c for c in plan if c.key not in done]
        counts[1] = len(plan) - len(todo)
        bar = _progress(console, progress, len(plan), counts[1])
        if cluster is None:
            _run_chunks(st, config, todo[:max_chunks], counts, bar)
        else:
            with bar as advance:
                failures = run_on_dask(st, config, todo[:max_chunks], counts, advance, cluster)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        st.close()
    return Outcome(path, counts[0], counts[1], len(plan), time.perf_counter() - t0, interrupted,
                   tuple(failures))


def _run_chunks(st: Store, config: ExperimentConfig, todo: Sequence[Chunk], counts: list[int],
                bar: Any) -> None:
    with bar as advance:
        for chunk in todo:
            # another process on the same store may have finished it meanwhile
            if st.is_done(chunk):
                counts[1] += 1
                advance(chunk, True)
                continue
            advance(chunk, False)
            commit(st, chunk, run_chunk(config, chunk), counts)
            advance(chunk, True)


@contextmanager
def _progress(
    console: Any, enabled: bool, total: int, completed: int
) -> Iterator[Callable[[Chunk, bool], None]]:
    if not enabled:
        yield lambda chunk, finished: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    ) as prog:
        task = prog.add_task("chunks", total=total, completed=completed)

        def advance(chunk: Chunk, finished: bool) -> None:
            if finished:
                prog.advance(task)
            else:
                prog.update(task, description=f"{chunk.arch}: {chunk.label}")

        yield advance
        prog.update(task, description="done")
