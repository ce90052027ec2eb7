"""Experiments on Dask (issue 11): the same store rows and report in-process and on a
2-worker LocalCluster (processes), a worker killed mid-run, a task that raises, a scheduler
that goes away; without --workers/--scheduler nothing of Dask is imported.

The cluster tests are slow (worker processes import torch) and run under ``-m slow``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lcn import experiment as ex
from lcn.errors import ConfigError
from lcn.experiment.distributed import run_on_dask
from tests.test_experiment import SMALL, parse, table_rows

distributed = pytest.importorskip("distributed")


def report(path: Path) -> dict[str, Any]:
    out = ex.summarize(path).to_json()
    out.pop("seconds")  # compute time, not a result
    out.pop("store")
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dask-ref") / "ref.sqlite"
    assert ex.run_experiment(parse(SMALL), path, progress=False).complete
    return path


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as c:
        yield c


def test_without_workers_nothing_of_dask_is_imported(tmp_path: Path) -> None:
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom lcn.cli import app\n"
            "CliRunner().invoke(app, ['experiment', '--print-default'])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_two_workers_give_the_rows_and_report_of_one_process(
    reference: Path, tmp_path: Path
) -> None:
    """Through the CLI: ``--workers 2`` starts its own LocalCluster."""
    from typer.testing import CliRunner

    from lcn.cli import app

    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    store = tmp_path / "dask.sqlite"
    res = CliRunner().invoke(app, ["experiment", str(cfg), "--store", str(store), "--workers",
                                   "2", "--no-progress", "--plots", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert table_rows(store) == table_rows(reference)
    assert report(store) == report(reference)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing(reference: Path, tmp_path: Path,
                                               cluster: Any) -> None:
    store = tmp_path / "killed.sqlite"
    killed: list[str] = []

    def kill_one() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not (store.exists() and table_rows(store)[2]):
            time.sleep(0.05)
        with distributed.Client(cluster) as client:
            victim = sorted(client.scheduler_info()["workers"])[0]
            pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)  # the nanny starts a fresh worker
        killed.append(pid)

    t = threading.Thread(target=kill_one)
    t.start()
    out = ex.run_experiment(parse(SMALL), store, progress=False,
                            cluster=ex.Cluster(scheduler=cluster.scheduler_address))
    t.join()
    assert killed and out.complete and not out.failures
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    assert table_rows(store) == table_rows(reference)  # every chunk once, the same rows


@pytest.mark.slow
def test_a_task_that_raises_is_reported_and_the_others_go_on(tmp_path: Path,
                                                             cluster: Any) -> None:
    """One architecture's data file disappears after the config was read: its chunks fail
    on the workers with chunk and seed named, the other architecture's chunks are saved."""
    rng = np.random.default_rng(0)
    for name, n_in in (("a.npz", 4), ("b.npz", 3)):  # k=(2,2): s=(2,1) and s=(1,1), n_out 1
        np.savez(tmp_path / name, X=rng.standard_normal((n_in, 6)),
                 Y=rng.standard_normal((1, 6)))
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    text = (f'name = "files"\nseed = 5\ndata = {{kind = "file", path = "{a}"}}\n'
            'training = {inits = 2, steps = 100, chunk = 1}\nsearch = {starts = 2}\n'
            f'architectures = [{{k = [2, 2], s = [2, 1]}}, {{k = [2, 2], s = [1, 1], '
            f'path = "{b}"}}]\n')
    cfg = parse(text)
    (tmp_path / "b.npz").unlink()
    plan = ex.plan_chunks(cfg)
    counts = [0, 0]
    with ex.Store.create_or_resume(tmp_path / "fail.sqlite", cfg) as st:
        failures = run_on_dask(st, cfg, plan, counts, lambda c, f: None,
                               ex.Cluster(scheduler=cluster.scheduler_address))
        done = st.done_chunks()
    bad = [c for c in plan if c.arch == cfg.architectures[1].name]
    assert len(failures) == len(bad) and counts[0] == len(plan) - len(bad)
    assert all("seed" in f and cfg.architectures[1].name in f for f in failures)
    assert done == {c.key for c in plan if c not in bad}


@pytest.mark.slow
def test_a_scheduler_that_goes_away_is_a_clear_error_and_resume_works(
    reference: Path, tmp_path: Path
) -> None:
    store = tmp_path / "gone.sqlite"
    local = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=40)

    def stop() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not (store.exists() and table_rows(store)[2]):
            time.sleep(0.05)
        local.close()

    t = threading.Thread(target=stop)
    t.start()
    with pytest.raises(ConfigError, match="lost the Dask cluster|cannot reach") as info:
        ex.run_experiment(parse(SMALL), store, progress=False,
                          cluster=ex.Cluster(scheduler=local.scheduler_address))
    t.join()
    assert info.value.argument == "--scheduler"
    assert ex.run_experiment(parse(SMALL), store, progress=False).complete
    assert table_rows(store) == table_rows(reference)
