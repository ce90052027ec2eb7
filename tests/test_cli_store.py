"""Stores, plots and sizes under faults and hostile paths (issue 15): ``report`` never writes,
``experiment`` refuses what is not its own, a full disk ends in one line saying what was
saved (and resume completes the run), absurd configs are refused by their size estimate
before anything is allocated, Ctrl-C exits 130 without a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lcn import experiment as ex
from lcn.errors import ConfigError
from lcn.experiment import store as store_mod
from tests.test_experiment import BASE, SMALL, parse, table_rows

runner = CliRunner()


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete store of BASE."""
    path = tmp_path_factory.mktemp("store") / "done.sqlite"
    assert ex.run_experiment(parse(BASE), path, progress=False).complete
    return path


def _app():  # the CLI app (imported here so a failing import names this test file)
    from lcn.cli import app

    return app


def test_report_never_writes_the_store(done: Path, tmp_path: Path) -> None:
    before = sha(done)
    res = runner.invoke(_app(), ["report", str(done), "--json", "--no-plots"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["chunks"]["done"] == len(ex.plan_chunks(parse(BASE)))
    assert sha(done) == before


def test_a_rollback_journal_store_stays_one(done: Path, tmp_path: Path) -> None:
    """A valid store someone switched to a rollback journal: report reads it and leaves the
    journal-mode bytes (18-19 of the header) alone."""
    p = tmp_path / "rollback.sqlite"
    p.write_bytes(done.read_bytes())
    conn = sqlite3.connect(p)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = p.read_bytes()
    assert before[18:20] == b"\x01\x01"
    res = runner.invoke(_app(), ["report", str(p), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert p.read_bytes() == before


def test_a_store_on_a_read_only_file_system_still_reads(
    done: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where SQLite cannot make the WAL index (read-only directory), the store is opened
    ``immutable``: simulated by refusing the plain ``mode=ro`` connection."""
    real = sqlite3.connect
    uris: list[str] = []

    def connect(target: str, *args: object, **kwargs: object) -> sqlite3.Connection:
        uris.append(str(target))
        if "mode=ro" in str(target) and "immutable" not in str(target):
            raise sqlite3.OperationalError("unable to open database file")
        return real(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)
    monkeypatch.setattr(store_mod.os, "access", lambda path, mode: False)
    summary = ex.summarize(done)
    assert summary.complete and any("immutable=1" in u for u in uris)


def test_a_complete_store_is_not_opened_for_writing(done: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod.os, "access", lambda path, mode: False)  # "read-only"
    before = sha(done)
    out = ex.run_experiment(parse(BASE), done, progress=False)
    assert (out.ran, out.complete) == (0, True)
    assert sha(done) == before


def test_experiment_refuses_other_files_naming_the_flag(tmp_path: Path) -> None:
    cfg = tmp_path / "base.toml"
    cfg.write_text(BASE)
    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE chunks (x)")
    conn.commit()
    conn.close()
    text = tmp_path / "notes.txt"
    text.write_text("my notes\n")
    for target in (foreign, text, tmp_path):
        before = None if target.is_dir() else sha(target)
        res = runner.invoke(_app(), ["experiment", str(cfg), "--store", str(target),
                                     "--no-progress", "--plots", str(tmp_path / "p")])
        assert res.exit_code == 2 and res.stderr.startswith("error: --store: "), res.output
        assert before is None or sha(target) == before
    # from the config, the key is named
    cfg.write_text(f'store = "{text}"\n' + BASE)
    res = runner.invoke(_app(), ["experiment", str(cfg), "--no-progress"])
    assert res.exit_code == 2 and res.stderr.startswith("error: store: "), res.output


def test_plots_that_are_not_ours_are_refused_before_any_work(tmp_path: Path) -> None:
    cfg = tmp_path / "base.toml"
    cfg.write_text(BASE)
    plots = tmp_path / "plots"
    plots.mkdir()
    mine = plots / "s-types.png"
    mine.write_bytes(b"\x89PNG\r\n\x1a\n my own picture")
    for where in (str(plots), str(cfg)):
        res = runner.invoke(_app(), ["experiment", str(cfg), "--store", str(tmp_path / "s.sqlite"),
                                     "--no-progress", "--plots", where])
        assert res.exit_code == 2 and res.stderr.startswith("error: --plots: "), res.output
    assert not (tmp_path / "s.sqlite").exists()
    assert mine.read_bytes() == b"\x89PNG\r\n\x1a\n my own picture"
    # plots lcn wrote itself are redrawn
    store = tmp_path / "t.sqlite"
    args = ["experiment", str(cfg), "--store", str(store), "--no-progress", "--plots", str(plots)]
    assert runner.invoke(_app(), args).exit_code == 0
    assert runner.invoke(_app(), ["report", str(store), "--plots", str(plots)]).exit_code == 0


def test_a_full_disk_says_what_was_saved_and_resume_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small.toml"
    small.write_text(SMALL)
    store = tmp_path / "full.sqlite"
    real = store_mod.Store.write_chunk
    calls = []

    def write_chunk(self: ex.Store, *args: object, **kwargs: object) -> bool:
        calls.append(1)
        if len(calls) > 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_mod.Store, "write_chunk", write_chunk)
    args = ["experiment", str(small), "--store", str(store), "--no-progress", "--plots",
            str(tmp_path / "p")]
    res = runner.invoke(_app(), args)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: --store: ") and len(res.stderr.splitlines()) == 1
    assert "disk is full" in res.stderr and "2 new chunks were saved" in res.stderr
    assert len(table_rows(store)[2]) == 2
    monkeypatch.setattr(store_mod.Store, "write_chunk", real)
    assert runner.invoke(_app(), args).exit_code == 0
    reference = tmp_path / "ref.sqlite"
    assert ex.run_experiment(parse(SMALL), reference, progress=False).complete
    assert table_rows(store) == table_rows(reference)
    assert sqlite3.connect(store).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_store_that_cannot_be_created_leaves_nothing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def full(tmp: Path, config: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store_mod, "_write_empty_store", full)
    with pytest.raises(ConfigError, match="nothing was saved") as info:
        ex.Store.create_or_resume(tmp_path / "x.sqlite", parse(BASE))
    assert info.value.argument == "store"
    assert list(tmp_path.iterdir()) == []


HUGE = {
    "datasets = 10^6": BASE.replace("[training]", "[data]\ndatasets = 1000000\n[training]"),
    "inits = 10^7": BASE.replace("inits = 2", "inits = 10000000"),
    "steps = 10^12": BASE.replace("steps = 50", "steps = 1000000000000"),
    "k = [10001]": BASE.replace("k = [2, 2]\ns = [2, 1]", "k = [10001]"),
    "s = [10^6, 1]": BASE.replace("k = [2, 2]\ns = [2, 1]", "k = [3, 3]\ns = [1000000, 1]"),
    "widths 10^9": BASE.replace("k = [2, 2]\ns = [2, 1]", "widths = [3, 1000000000, 3]"),
    "n_out = 10^8": BASE.replace("s = [2, 1]", "s = [2, 1]\nn_out = 100000000"),
}


@pytest.mark.parametrize("text", HUGE.values(), ids=HUGE.keys())
def test_absurd_sizes_are_refused_with_the_number_and_the_limit(text: str, tmp_path: Path) -> None:
    cfg = parse(text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="limit") as info:
        ex.run_experiment(cfg, tmp_path / "s.sqlite", progress=False)
    assert time.perf_counter() - t0 < 2.0
    assert any(ch.isdigit() for ch in info.value.message)
    assert not (tmp_path / "s.sqlite").exists()


def test_the_estimate_counts_what_a_run_makes(tmp_path: Path) -> None:
    """Oracles: the chunk and row counts are those of the plan and of the store, and the memory
    estimate bounds the arrays the run really built (the datasets table has their sizes)."""
    cfg = parse(SMALL)
    est = ex.estimate(cfg)
    assert est.chunks == len(ex.plan_chunks(cfg))
    path = tmp_path / "s.sqlite"
    ex.run_experiment(cfg, path, progress=False)
    runs, cps, _ = table_rows(path)
    assert est.points >= len(runs) + len(cps)
    assert est.points == sum(a.datasets * (a.inits + a.starts) for a in cfg.architectures)
    with sqlite3.connect(path) as conn:
        sizes = conn.execute("SELECT arch, SUM((n_in + n_out) * N) FROM datasets GROUP BY arch")
        assert max(n for _, n in sizes) <= est.memory
    assert est.work < ex.MAX_WORK
    # the default experiment is far from every limit
    default = ex.estimate(ex.load_config())
    assert default.work < ex.MAX_WORK / 10 and default.memory < ex.MAX_MEMORY_ELEMENTS / 100


def test_large_lifts_only_the_work_limit() -> None:
    steps = parse(HUGE["steps = 10^12"])
    assert ex.check_budget(steps, large=True).work > ex.MAX_WORK
    with pytest.raises(ConfigError, match="float64 elements"):
        ex.check_budget(parse(HUGE["k = [10001]"]), large=True)


@pytest.mark.parametrize(
    ("line", "ok"),
    [(f"seed = {2**64 - 1}", True), (f"seed = {2**64}", False), (f"seed = {2**64 + 7}", False),
     ("seed = -1", False)],
)
def test_seeds_are_64_bit_never_truncated(line: str, ok: bool) -> None:
    text = line + "\n" + BASE
    if ok:
        assert parse(text).seed == 2**64 - 1
        return
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.argument == "seed"


@pytest.mark.parametrize("lr", ["1e300", "inf", "0", "-1", "1001"])
def test_absurd_learning_rates_are_refused(lr: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(BASE.replace("steps = 50", f"steps = 50\nlr = {lr}"))
    assert info.value.argument == "training.lr"


def test_a_config_error_names_the_key_not_a_flag(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("seed = -3\n" + BASE)
    res = runner.invoke(_app(), ["experiment", str(cfg)])
    assert res.exit_code == 2 and res.stderr.startswith("error: seed: "), res.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["describe", "--kk", "3"], "--kk"),
        (["eval", "--k", "3,2"], "--filters"),
        (["nearest", "--k", "3,2", "--filter", "1,2,3,4", "--starts", "many"], "--starts"),
        (["experiment", "--max-chunks", "0"], "--max-chunks"),
        (["frobnicate"], "frobnicate"),
        (["report"], "STORE"),
        (["describe", "--k"], "--k"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], needle: str) -> None:
    res = runner.invoke(_app(), args)
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and needle in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


def test_a_stride_of_a_million_prints_a_short_table() -> None:
    """Oracle: the first coefficients are those of the product (1 + 2x + 3x^2) * 4 (the
    upsampled second filter contributes only from x^(10^6) on)."""
    t0 = time.perf_counter()
    res = runner.invoke(_app(), ["eval", "--k", "3,3", "--s", "1000000,1",
                                 "--filters", "1,2,3;4,5,6"])
    assert res.exit_code == 0 and time.perf_counter() - t0 < 10
    lines = res.stdout.splitlines()
    assert len(lines) < 300 and "--json prints all" in res.stdout
    rows = [ln.split() for ln in lines if "x^" in ln and "y^" in ln]
    first = [int(r[1]) for r in rows[:4]]
    assert first == list(np.convolve([1, 2, 3], [4])) + [0]


_READY = (
    "import sys, lcn\n"
    "sys.stderr.write('ready\\n'); sys.stderr.flush()\n"
    "from lcn.cli import main\n"
    "sys.argv = ['lcn', 'describe', '--k', '3,2']\n"
    "main()\n"
)


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.6, 1.0, 2.0])
def test_ctrl_c_at_any_moment_exits_quietly(delay: float) -> None:
    """SIGINT while the CLI's modules are imported, during the work or the shutdown: exit 130
    (or 0 when it had finished; -SIGINT when it came after the interpreter had restored the
    default handler, which a shell reports as 130 too), never a traceback or "Exception
    ignored". The window while ``import lcn`` itself runs is before any CLI code: the child
    says ``ready`` after it."""
    proc = subprocess.Popen([sys.executable, "-c", _READY], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and proc.stderr.readline() == "ready\n"
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130, -signal.SIGINT), (proc.returncode, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_ctrl_c_during_a_run_keeps_the_chunks_and_exits_130(tmp_path: Path) -> None:
    small = tmp_path / "small.toml"
    small.write_text(SMALL)
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lcn.cli", "experiment", str(small), "--store", str(store),
         "--no-progress", "--plots", str(tmp_path / "p")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (store.exists() and table_rows(store)[2]):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 130 and "run the same command again" in err, err
    assert "Traceback" not in err
    assert sqlite3.connect(store).execute("PRAGMA integrity_check").fetchone() == ("ok",)
