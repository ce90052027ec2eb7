"""Experiments (issue 5 items 6-7): config validation, the store (resume after an interruption,
refusal of another config), the summary and its plots, the CLI end to end.

Oracles: counts recomputed straight from the SQLite rows with ``collections.Counter`` (not
through :func:`lcn.experiment.summarize`), an uninterrupted run of the same config (for
resumed ones), MATH.md facts about which architectures are reduced / filling.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lcn import experiment as ex
from lcn.architecture import Architecture
from lcn.cli import app
from lcn.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny.toml"

BASE = """
name = "t"
[training]
inits = 2
steps = 50
[search]
starts = 2
[[architectures]]
k = [2, 2]
s = [2, 1]
"""


def parse(text: str) -> ex.ExperimentConfig:
    return ex.parse_config(text, "test.toml")


def config_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


# ---------------------------------------------------------------------------------------------
# config validation
# ---------------------------------------------------------------------------------------------


def test_base_config_parses_with_defaults() -> None:
    cfg = parse(BASE)
    (a,) = cfg.architectures
    assert (a.k, a.s, a.kind) == ((2, 2), (2, 1), "lcn")
    # N = "auto" is d + 1 for an LCN: d = 1*1 + 1*2 = 3
    assert a.N == Architecture((2, 2), (2, 1)).degree + 1 == 4
    assert cfg.store == Path("results/t.sqlite")
    assert (a.inits, a.starts, a.steps, a.datasets) == (2, 2, 50, 1)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (BASE + "\nbogus = 1\n", "bogus"),  # top level (after the array: lands in the arch)
        ("bogus = 1\n" + BASE, "bogus"),
        (BASE.replace("steps = 50", "stpes = 50"), "training.stpes"),
        (BASE.replace("[search]", "[search]\nfoo = 3"), "search.foo"),
        (BASE + "widht = 3\n", "architectures[0].widht"),
        (BASE + "\n[classify]\ntolerance = 1e-3\n", "classify.tolerance"),
        (BASE + "\n[data]\nsamples = 3\n", "data.samples"),
    ],
)
def test_unknown_keys_are_named(text: str, key: str) -> None:
    err = config_error(text)
    if key == "bogus" and text.startswith(BASE):
        key = "architectures[0].bogus"  # TOML puts keys after [[architectures]] into it
    assert err.argument == key
    assert "unknown key" in err.message


def test_unknown_key_suggests_the_near_one() -> None:
    err = config_error(BASE.replace("steps = 50", "stpes = 50"))
    assert "did you mean 'steps'" in err.message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (BASE.replace("steps = 50", 'steps = "many"'), "training.steps"),
        (BASE.replace("steps = 50", "steps = 0"), "training.steps"),
        (BASE.replace("steps = 50", "steps = true"), "training.steps"),
        (BASE.replace("inits = 2", "inits = 2.5"), "training.inits"),
        (BASE.replace("inits = 2", "inits = -1"), "training.inits"),
        (BASE.replace("inits = 2", "polish = 'yes'"), "training.polish"),
        (BASE.replace("inits = 2", "lr = -0.1"), "training.lr"),
        (BASE.replace("inits = 2", "lr = nan"), "training.lr"),
        (BASE.replace("inits = 2", "optimizer = 'sgd-with-magic'"), "training.optimizer"),
        ("seed = 'x'\n" + BASE, "seed"),
        ("device = 'tpu'\n" + BASE, "device"),
        ("name = 'a/b'\n" + BASE.replace('name = "t"', ""), "name"),
        (BASE + "\n[data]\nN = 0\n", "data.N"),
        (BASE + "\n[data]\nN = 'lots'\n", "data.N"),
        (BASE + "\n[data]\nkind = 'magic'\n", "data.kind"),
        (BASE + "\n[data]\nkind = 'file'\n", "data.path"),
        (BASE + "\n[data]\nkind = 'file'\npath = 'no/such/file.npz'\n", "data.path"),
        (BASE + "\n[data]\nnoise = -1\n", "data.noise"),
        (BASE + "\n[data]\nnoise = 0.1\n", "data.noise"),  # only with a planted target
        (BASE + "\n[data]\ntarget = 'mixed'\n", "data.target"),
        ("data = 3\n" + BASE, "data"),
        (BASE.replace("s = [2, 1]", "s = [2, 1]\nN = 3.5"), "architectures[0].N"),
        (BASE.replace("k = [2, 2]", 'k = [2, "a"]'), "architectures[0].k"),
        (BASE.replace("k = [2, 2]", "k = 3"), "architectures[0].k"),
        ('name = "t"\narchitectures = 3\n', "architectures"),
        ('name = "t"\n', "architectures"),
    ],
)
def test_wrong_types_and_values_are_named(text: str, key: str) -> None:
    assert config_error(text).argument == key


@pytest.mark.parametrize(
    ("arch", "key"),
    [
        ("k = [3, 2]\ns = [2]", "architectures[0].s"),  # one stride per layer
        ("k = [0, 2]\ns = [1, 1]", "architectures[0].k"),
        ("k = []\ns = []", "architectures[0].k"),
        ("k = [3, 2]\ns = [0, 1]", "architectures[0].s"),
        ("widths = [3]", "architectures[0].widths"),
        ("widths = [3, 0, 3]", "architectures[0].widths"),
        ("widths = [3, 2, 3]\nk = [2]", "architectures[0]"),
        ("widths = [3, 2, 3]\nn_out = 2", "architectures[0].n_out"),
        ("s = [1]", "architectures[0].k"),
    ],
)
def test_impossible_architectures(arch: str, key: str) -> None:
    text = 'name = "t"\n[[architectures]]\n' + arch + "\n"
    assert config_error(text).argument == key


def test_duplicate_names_and_bad_toml() -> None:
    text = BASE + "[[architectures]]\nk = [2, 2]\ns = [2, 1]\n"
    assert config_error(text).argument == "architectures[1].name"
    assert config_error("name = \n").argument == "test.toml"


def test_small_N_is_allowed_but_outside_the_theorem() -> None:
    cfg = parse(BASE.replace("s = [2, 1]", "s = [2, 1]\nN = 2"))
    (a,) = cfg.architectures
    assert a.N == 2 and not a.theorem_applies


def test_hash_tracks_results_not_paths() -> None:
    h = parse(BASE).hash
    assert parse('store = "elsewhere.sqlite"\ndescription = "x"\n' + BASE).hash == h
    assert parse("seed = 1\n" + BASE).hash != h
    assert parse(BASE.replace("steps = 50", "steps = 51")).hash != h
    assert parse(BASE.replace("starts = 2", "starts = 3")).hash != h


def test_plan_covers_every_run_once() -> None:
    cfg = parse(BASE.replace("inits = 2", "inits = 7\nchunk = 3") + "\n[data]\ndatasets = 2\n")
    plan = ex.plan_chunks(cfg)
    runs: Counter[int] = Counter()
    for c in plan:
        if c.task == "train":
            assert 1 <= c.count <= 3
            runs.update(range(c.first, c.first + c.count))
    assert runs == Counter(range(2 * 7))  # 2 datasets x 7 inits, each run once
    assert sorted(c.part for c in plan if c.task == "search") == [0, 1]  # one per dataset
    assert len({c.key for c in plan}) == len(plan)


def test_derived_seeds_are_stable_and_distinct() -> None:
    seeds = {ex.derive_seed(0, t, "a", j, p) for t in ("train", "search", "data")
             for j in range(20) for p in range(3)}
    assert len(seeds) == 3 * 20 * 3
    assert ex.derive_seed(5, "x", 1) == ex.derive_seed(5, "x", 1)
    assert ex.derive_seed(5, "x", 1) != ex.derive_seed(6, "x", 1)


def test_default_config_is_the_main_job_of_issue_5() -> None:
    """The embedded config has what issue 5 item 7 asks for (families from MATH.md 3/8:
    filling iff at most one odd d_i; reduced iff s_i > 1 for i < L)."""
    cfg = ex.load_config(None)
    fam = Counter()
    for a in cfg.architectures:
        assert a.inits * a.datasets >= 200, a.name
        assert a.starts * a.datasets >= 200, a.name
        if a.kind == "dense":
            fam["dense"] += 1
            continue
        k, s = a.k, a.s
        assert k is not None and s is not None
        if all(x == 1 for x in s):
            odd = sum((ki - 1) % 2 for ki in k)
            fam["filling" if odd <= 1 else "not filling"] += 1
        elif all(x > 1 for x in s[:-1]):
            fam[f"reduced {len(k)} layers"] += 1
            d = sum((ki - 1) * Si for ki, Si in zip(k, Architecture(k, s).S, strict=True))
            assert a.N >= d + 1 and a.path is None and a.theorem_applies
    assert fam["dense"] >= 1 and fam["filling"] >= 1 and fam["not filling"] >= 1
    assert fam["reduced 2 layers"] >= 1 and fam["reduced 3 layers"] >= 1
    assert fam["reduced 2 layers"] + fam["reduced 3 layers"] >= 3


def test_import_does_not_import_torch() -> None:
    code = "import lcn.experiment, sys; ex = lcn.experiment.load_config(None); " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# running, the store, resuming (real trainer and classifier on a tiny config)
# ---------------------------------------------------------------------------------------------

# Small enough for seconds, with several chunks per architecture so that interruptions fall
# between chunks of one dataset and between datasets.
SMALL = """
name = "small"
seed = 11
[data]
datasets = 2
[training]
inits = 3
steps = 200
chunk = 2
[search]
starts = 3
[[architectures]]
k = [2, 2]
s = [2, 1]
[[architectures]]
k = [2, 2]
s = [1, 1]
"""

KEY_COLUMNS = "arch, dataset, run, loss, category, converged, params"
CP_COLUMNS = "arch, dataset, point, loss, category, converged, params"


def table_rows(path: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    con = sqlite3.connect(path)
    try:
        runs = con.execute(f"SELECT {KEY_COLUMNS} FROM runs ORDER BY arch, dataset, run").fetchall()
        cps = con.execute(
            f"SELECT {CP_COLUMNS} FROM critical_points ORDER BY arch, dataset, point"
        ).fetchall()
        chunks = con.execute(
            "SELECT arch, task, part, rows, unconverged FROM chunks ORDER BY 1, 2, 3"
        ).fetchall()
    finally:
        con.close()
    return runs, cps, chunks


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of SMALL: the oracle for resumed ones."""
    path = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    out = ex.run_experiment(parse(SMALL), path, progress=False)
    assert out.complete and not out.interrupted and out.ran == out.total
    return path


def test_reference_store_has_one_row_per_run(reference: Path) -> None:
    cfg = parse(SMALL)
    runs, cps, chunks = table_rows(reference)
    assert len(runs) == sum(a.datasets * a.inits for a in cfg.architectures)
    assert len({r[:3] for r in runs}) == len(runs)
    assert len(chunks) == len(ex.plan_chunks(cfg))
    # the rows recorded per chunk add up to the rows stored
    assert sum(c[3] for c in chunks if c[1] == "train") == len(runs)
    assert sum(c[3] for c in chunks if c[1] == "search") == len(cps)
    con = sqlite3.connect(reference)
    hashes = {h for (h,) in con.execute("SELECT config_hash FROM runs UNION "
                                        "SELECT config_hash FROM critical_points")}
    seeds = con.execute(
        "SELECT COUNT(DISTINCT data_seed), COUNT(DISTINCT seed) FROM runs"
    ).fetchone()
    con.close()
    assert hashes == {cfg.hash}
    assert seeds == (4, 6)  # 2 archs x 2 datasets; 2 archs x 3 chunks of <= 2 runs


def test_resume_after_partial_run_matches_uninterrupted(reference: Path, tmp_path: Path) -> None:
    path = tmp_path / "partial.sqlite"
    cfg = parse(SMALL)
    total = len(ex.plan_chunks(cfg))
    first = ex.run_experiment(cfg, path, progress=False, max_chunks=4)
    assert (first.ran, first.complete) == (4, False)
    _, _, chunks = table_rows(path)
    assert len(chunks) == 4
    second = ex.run_experiment(cfg, path, progress=False, max_chunks=3)
    assert (second.ran, second.skipped) == (3, 4)
    third = ex.run_experiment(cfg, path, progress=False)
    assert (third.ran, third.skipped, third.complete) == (total - 7, 7, True)
    again = ex.run_experiment(cfg, path, progress=False)
    assert (again.ran, again.skipped) == (0, total)
    assert table_rows(path) == table_rows(reference)


def test_kill_minus_nine_loses_nothing_finished(reference: Path, tmp_path: Path) -> None:
    """A real interruption: `lcn experiment` in a subprocess, SIGKILL as soon as the first
    chunks are committed, then resume in this process."""
    cfg_path = tmp_path / "small.toml"
    cfg_path.write_text(SMALL)
    store = tmp_path / "killed.sqlite"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lcn.cli", "experiment", str(cfg_path), "--store", str(store),
         "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    total = len(ex.plan_chunks(parse(SMALL)))
    done = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists():
                try:
                    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
                    done = con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:
                    done = 0  # schema not created yet
                if done >= 2:
                    break
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert done >= 2, proc.stderr.read().decode() if proc.stderr else ""
    runs, cps, chunks = table_rows(store)
    assert 2 <= len(chunks) < total, "the process finished before it could be killed"
    # what was committed is complete and consistent: every chunk has all its rows
    assert sum(c[3] for c in chunks if c[1] == "train") == len(runs)
    assert sum(c[3] for c in chunks if c[1] == "search") == len(cps)
    ref_runs, ref_cps, ref_chunks = table_rows(reference)
    assert set(runs) <= set(ref_runs) and set(cps) <= set(ref_cps)
    out = ex.run_experiment(parse(SMALL), store, progress=False)
    assert out.skipped == len(chunks) and out.complete
    assert table_rows(store) == (ref_runs, ref_cps, ref_chunks)


def test_another_config_is_refused(reference: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    store.write_bytes(reference.read_bytes())
    before = table_rows(store)
    with pytest.raises(ConfigError) as info:
        ex.run_experiment(parse(SMALL.replace("seed = 11", "seed = 12")), store, progress=False)
    assert info.value.argument == "store"
    assert table_rows(store) == before
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    with pytest.raises(ConfigError):
        ex.run_experiment(parse(SMALL), junk, progress=False)
    assert junk.read_text() == "not a database"


def test_name_from_file_stem_survives_the_store(tmp_path: Path) -> None:
    """A config without `name` is named after its file; the store must still re-read it."""
    cfg_path = tmp_path / "stemmed.toml"
    cfg_path.write_text(SMALL.replace('name = "small"', "").replace("datasets = 2", ""))
    cfg = ex.load_config(cfg_path)
    assert cfg.name == "stemmed"
    store = tmp_path / "x.sqlite"
    ex.run_experiment(cfg, store, progress=False, max_chunks=1)
    summary = ex.summarize(store)
    assert summary.config.hash == cfg.hash and summary.chunks_done == 1


def test_summary_counts_equal_the_rows(reference: Path) -> None:
    """The summary's counts against a Counter over the raw rows (failed search starts are not
    points; the chunks table counts them)."""
    summary = ex.summarize(reference)
    con = sqlite3.connect(reference)
    raw = {
        "train": Counter(con.execute("SELECT arch, category FROM runs").fetchall()),
        "search": Counter(con.execute("SELECT arch, category FROM critical_points").fetchall()),
    }
    failed = Counter(dict(con.execute(
        "SELECT arch, SUM(unconverged) FROM chunks WHERE task = 'search' GROUP BY arch"
    ).fetchall()))
    con.close()
    for a in summary.archs:
        name = a.spec.name
        for src, counts in (("train", a.train), ("search", a.search)):
            mine = {cat: counts.categories[cat] for cat in ex.CATEGORIES}
            mine[ex.UNCONVERGED] = counts.unconverged
            theirs = {cat: raw[src][(name, cat)] for cat in mine}
            if src == "search":
                assert theirs[ex.UNCONVERGED] == 0  # only converged solves are points
                theirs[ex.UNCONVERGED] = failed[name]
            assert mine == theirs
            assert counts.converged == sum(v for (arch, cat), v in raw[src].items()
                                           if arch == name and cat != ex.UNCONVERGED)
    assert summary.complete


def test_plots_are_pngs(reference: Path, tmp_path: Path) -> None:
    paths = ex.write_plots(ex.summarize(reference), tmp_path / "figs")
    assert [p.name for p in paths] == ["ref-types.png", "ref-loss.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_theorem_exceptions_are_counted_field_by_field(reference: Path) -> None:
    """exceptions = converged non-zero points failing regular/smooth/interior/pure, from the
    raw rows."""
    summary = ex.summarize(reference)
    con = sqlite3.connect(reference)
    for a in summary.archs:
        for table, counts in (("runs", a.train), ("critical_points", a.search)):
            rows = con.execute(
                f"SELECT regular, smooth, location, pure FROM {table} "
                "WHERE arch = ? AND category NOT IN ('zero', 'unconverged')", (a.spec.name,)
            ).fetchall()
            bad = sum(1 for r in rows if r != (1, 1, "interior", 1))
            assert counts.exceptions == bad
            assert counts.nonzero == len(rows)
    con.close()


def test_checks_flag_a_counterexample(reference: Path) -> None:
    summary = ex.summarize(reference)
    (thm,) = [a for a in summary.archs if a.spec.theorem_applies]
    before = {ch.subject: ch.status for ch in ex.checks(summary)}
    assert before[thm.spec.name] in ("ok", "undecided")
    c = thm.search
    c.categories["spurious"] += 1  # one more point, decided and not pure
    c.total += 1
    c.exceptions += 1
    after = {ch.subject: ch.status for ch in ex.checks(summary)}
    assert after[thm.spec.name] == "CONTRADICTS"
    c.undecided += 1  # the same point, but its classification undecided: no contradiction
    c.undecided_exceptions += 1
    again = {ch.subject: ch.status for ch in ex.checks(summary)}
    assert again[thm.spec.name] == ("CONTRADICTS" if before[thm.spec.name] == "CONTRADICTS"
                                    else "undecided")


# ---------------------------------------------------------------------------------------------
# CLI end to end
# ---------------------------------------------------------------------------------------------


def test_cli_experiment_and_report(tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "tiny.sqlite"
    res = runner.invoke(app, ["experiment", str(TINY), "--store", str(store), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "experiment tiny" in res.output and "compared with MATH.md 8" in res.output
    assert (tmp_path / "tiny-types.png").is_file() and (tmp_path / "tiny-loss.png").is_file()
    start = res.output.index("\n", res.output.index("ran ")) + 1  # the table's first line
    table = res.output[start:res.output.index("plots:")]
    assert "GD" in table and "search" in table
    (tmp_path / "tiny-types.png").unlink()
    rep = runner.invoke(app, ["report", str(store)])
    assert rep.exit_code == 0, rep.output
    assert table in rep.output  # the same table and checks, from the store alone
    assert (tmp_path / "tiny-types.png").is_file()
    again = runner.invoke(app, ["experiment", str(TINY), "--store", str(store), "--no-progress"])
    assert again.exit_code == 0 and "already in the store" in again.output
    js = runner.invoke(app, ["report", str(store), "--json", "--no-plots"])
    assert js.exit_code == 0
    import json

    data = json.loads(js.stdout)
    assert data["chunks"]["done"] == data["chunks"]["total"] == len(
        ex.plan_chunks(ex.load_config(TINY))
    )


def test_cli_bad_config_is_one_line_and_runs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = TINY.read_text()
    assert "\n[training]\n" in text
    bad.write_text(text.replace("\n[training]\n", "\n[training]\nstepz = 3\n"))
    store = tmp_path / "bad.sqlite"
    res = CliRunner().invoke(app, ["experiment", str(bad), "--store", str(store)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "training.stepz" in lines[0]
    assert not store.exists()
    res = CliRunner().invoke(app, ["experiment", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2 and "CONFIG" in res.stderr
    res = CliRunner().invoke(app, ["report", str(tmp_path / "missing.sqlite")])
    assert res.exit_code == 2 and "RESULTS" in res.stderr


def test_print_default_is_the_embedded_config() -> None:
    res = CliRunner().invoke(app, ["experiment", "--print-default"])
    assert res.exit_code == 0
    printed = ex.parse_config(res.stdout, "printed", name="main")
    assert printed.hash == ex.load_config(None).hash


def test_missing_cuda_is_refused_before_anything_runs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA present: nothing to refuse")
    store = tmp_path / "cuda.sqlite"
    with pytest.raises(ConfigError) as info:
        ex.run_experiment(parse('device = "cuda"\n' + BASE), store, progress=False)
    assert info.value.argument == "device"
    assert not store.exists()


@pytest.mark.parametrize("problem", ["nan", "shape"])
def test_bad_data_file_stops_before_any_training(tmp_path: Path, problem: str) -> None:
    import numpy as np

    # k=(2,2), s=(2,1), n_out=1: n_0 = 4 inputs, 1 output
    X = np.ones((4, 6)) if problem == "nan" else np.ones((5, 6))
    if problem == "nan":
        X[0, 0] = np.nan
    data = tmp_path / "data.npz"
    np.savez(data, X=X, Y=np.ones((1, 6)))
    text = BASE.replace('name = "t"', f'name = "t"\n[data]\nkind = "file"\npath = "{data}"')
    cfg = parse(text)
    store = tmp_path / "bad.sqlite"
    with pytest.raises(ConfigError, match="architectures"):
        ex.run_experiment(cfg, store, progress=False)
    assert not store.exists()


def test_classify_tolerances_must_be_relative() -> None:
    err = config_error(BASE + "\n[classify]\ngeometry_tol = 5.0\n")
    assert err.argument == "classify.geometry_tol"
