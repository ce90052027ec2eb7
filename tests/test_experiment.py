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
from lcn.experiment import store as store_mod
from lcn.experiment import summary as summary_mod
from lcn.experiment import worker

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny.toml"

BASE = """
name = "t"
[training]
inits = 2
steps = 50
[search]
method = "newton"
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
    """The embedded config has what issues 5 (item 7) and 13 (item 4) ask for (families from
    MATH.md 3/8: filling iff at most one odd d_i; reduced iff s_i > 1 for i < L; G has rank
    <= N n_out): the homotopy for every LCN with N >= d+1, a non-reduced strided LCN and an
    N < d+1 case."""
    cfg = ex.load_config(None)
    fam = Counter()
    for a in cfg.architectures:
        assert a.inits * a.datasets >= 200, a.name
        if a.method == "homotopy":
            assert a.datasets >= 10, a.name  # a census of at least 10 datasets
        else:
            assert a.starts * a.datasets >= 200, a.name
        if a.kind == "dense":
            assert a.method == "newton"
            fam["dense"] += 1
            continue
        k, s = a.k, a.s
        assert k is not None and s is not None
        d = sum((ki - 1) * Si for ki, Si in zip(k, Architecture(k, s).S, strict=True))
        if a.N * a.n_out < d + 1:
            assert a.method == "newton" and not a.theorem_applies
            fam["N < d+1"] += 1
            continue
        assert a.method == "homotopy", a.name
        if any(x > 1 for x in s[:-1]) and not all(x > 1 for x in s[:-1]):
            fam["not reduced, strided"] += 1
        if all(x == 1 for x in s):
            odd = sum((ki - 1) % 2 for ki in k)
            fam["filling" if odd <= 1 else "not filling"] += 1
        elif all(x > 1 for x in s[:-1]):
            fam[f"reduced {len(k)} layers"] += 1
            assert a.N >= d + 1 and a.path is None and a.theorem_applies
    assert fam["dense"] >= 1 and fam["filling"] >= 1 and fam["not filling"] >= 1
    assert fam["reduced 2 layers"] >= 1 and fam["reduced 3 layers"] >= 1
    assert fam["reduced 2 layers"] + fam["reduced 3 layers"] >= 3
    assert fam["not reduced, strided"] >= 1 and fam["N < d+1"] >= 1


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
method = "newton"
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
    assert res.exit_code == 2 and "STORE" in res.stderr


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


# ---------------------------------------------------------------------------------------------
# hardening of the store: reading old stores, two processes, atomic creation, data digests
# ---------------------------------------------------------------------------------------------


def set_meta(store: Path, key: str, value: str) -> None:
    con = sqlite3.connect(store)
    with con:
        con.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    con.close()


def arch_counts(summary: ex.Summary) -> list[dict]:
    return [a.to_dict() for a in summary.archs]


def test_report_reads_a_store_whose_config_no_longer_hashes_the_same(
    reference: Path, tmp_path: Path
) -> None:
    """A change of config normalization must not lock `lcn report` out of old stores; it must
    still keep another config from resuming them."""
    store = tmp_path / "old.sqlite"
    store.write_bytes(reference.read_bytes())
    set_meta(store, "config_hash", "0123456789abcdef")  # what an older normalization wrote
    before = table_rows(store)
    summary = ex.summarize(store)
    assert len(summary.warnings) == 1 and "0123456789abcdef" in summary.warnings[0]
    assert arch_counts(summary) == arch_counts(ex.summarize(reference))
    assert summary.to_dict()["config_hash"] == "0123456789abcdef"
    assert ex.summarize(reference).warnings == []
    with ex.Store.open(store) as st, pytest.raises(ConfigError):
        st.config(strict=True)
    with pytest.raises(ConfigError) as info:  # resuming still needs the stored hash
        ex.run_experiment(parse(SMALL), store, progress=False)
    assert info.value.argument == "store"
    assert table_rows(store) == before
    rep = CliRunner().invoke(app, ["report", str(store), "--no-plots"])
    assert rep.exit_code == 0, rep.output
    assert "warning:" in rep.output and "compared with MATH.md 8" in rep.output


def test_report_falls_back_to_the_stored_json(reference: Path, tmp_path: Path) -> None:
    """A stored TOML that this version no longer parses (a retired key): the config is rebuilt
    from the stored JSON, which must give back the same settings (hence the same hash)."""
    store = tmp_path / "retired.sqlite"
    store.write_bytes(reference.read_bytes())
    set_meta(store, "config_toml", "retired_key = 1\n" + SMALL)
    summary = ex.summarize(store)
    assert len(summary.warnings) == 1 and "stored JSON" in summary.warnings[0]
    assert summary.config.hash == parse(SMALL).hash
    assert arch_counts(summary) == arch_counts(ex.summarize(reference))


def test_a_chunk_finished_by_another_process_is_skipped(reference: Path, tmp_path: Path) -> None:
    """Two writers of the same chunk (two `lcn experiment` on one store): the second write is
    refused quietly, and the store holds the chunk once, as in the uninterrupted run."""
    cfg = parse(SMALL)
    store = tmp_path / "two.sqlite"
    chunk = ex.plan_chunks(cfg)[0]
    drows, rows, unconverged, _ = worker._Runner(cfg).run(chunk)
    a = ex.Store.create_or_resume(store, cfg)
    b = ex.Store.create_or_resume(store, cfg)
    try:
        assert a.write_chunk(chunk, 0.1, drows, rows, unconverged) is True
        assert b.write_chunk(chunk, 0.1, drows, rows, unconverged) is False
    finally:
        a.close()
        b.close()
    runs, _, chunks = table_rows(store)
    ref_runs, _, ref_chunks = table_rows(reference)
    assert chunks == [c for c in ref_chunks if c[:3] == chunk.key]
    assert runs == [r for r in ref_runs if r[0] == chunk.arch and chunk.first <= r[2] < 2]
    out = ex.run_experiment(cfg, store, progress=False)
    assert (out.skipped, out.complete) == (1, True)
    assert table_rows(store) == table_rows(reference)


def test_two_processes_on_one_store(reference: Path, tmp_path: Path) -> None:
    """Both finish without a traceback and the store equals the uninterrupted run (seeds depend
    on the architecture name, so one architecture of SMALL gives its rows of the reference)."""
    one = SMALL[:SMALL.index("[[architectures]]\nk = [2, 2]\ns = [1, 1]")]
    cfg_path = tmp_path / "small.toml"
    cfg_path.write_text(one)
    store = tmp_path / "shared.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "lcn.cli", "experiment", str(cfg_path), "--store", str(store),
             "--no-progress", "--plots", str(tmp_path / f"p{i}")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=dict(os.environ, OMP_NUM_THREADS="1"),  # two processes: no oversubscription
        )
        for i in range(2)
    ]
    errs = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert not any("Traceback" in e for e in errs), errs
    (arch,) = [a.name for a in parse(one).architectures]
    assert table_rows(store) == tuple(
        [r for r in rows if r[0] == arch] for rows in table_rows(reference)
    )


def test_a_killed_creation_leaves_no_store(tmp_path: Path) -> None:
    """kill -9 between the schema and the meta rows (where the old code had committed the
    schema): no store file, and the next run creates a valid one."""
    store = tmp_path / "sub" / "new.sqlite"
    code = (
        "import os, signal, sys\n"
        "from lcn import experiment as ex\n"
        "from lcn.experiment import store\n"
        "store._now = lambda: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"ex.Store.create_or_resume(sys.argv[1], ex.parse_config({BASE!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not store.exists()
    with ex.Store.create_or_resume(store, parse(BASE)) as st:
        assert st.done_chunks() == set()
        assert st.config().hash == parse(BASE).hash and st.warnings == []
    with ex.Store.open(store) as st:
        assert st.meta()["config_hash"] == parse(BASE).hash


def test_creation_never_replaces_a_store_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the store (for another config) between our existence check and
    our link: ours is dropped, theirs kept, and the other config is refused."""
    store = tmp_path / "race.sqlite"
    other = parse(BASE.replace("steps = 50", "steps = 51"))
    real_link = os.link
    raced = []

    def link(src: str | Path, dst: str | Path) -> None:
        if not raced:
            raced.append(True)
            ex.Store.create_or_resume(dst, other).close()  # the other process wins
        real_link(src, dst)

    monkeypatch.setattr(store_mod.os, "link", link)
    with pytest.raises(ConfigError) as info:
        ex.Store.create_or_resume(store, parse(BASE))
    assert info.value.argument == "store"
    with ex.Store.open(store) as st:
        assert st.meta()["config_hash"] == other.hash
    assert sorted(p.name for p in tmp_path.iterdir() if "creating" in p.name) == []


def test_hash_covers_data_file_bytes_but_not_gaussian_configs(tmp_path: Path) -> None:
    import numpy as np

    # hashes written by the previous version: stores of Gaussian configs made before the data
    # digest existed must still resume
    assert parse(BASE).hash == "7e4145b6feea77e0"
    assert parse(SMALL).hash == "03177d670bc3ad28"
    # (since search.method, the same text without `method = "newton"` is a homotopy config:
    # other results, another hash)
    assert parse(BASE.replace('method = "newton"\n', "")).hash != parse(BASE).hash
    data = tmp_path / "data.npz"
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 6)), rng.standard_normal((1, 6))
    np.savez(data, X=X, Y=Y)
    text = BASE.replace('name = "t"', f'name = "t"\n[data]\nkind = "file"\npath = "{data}"')
    first = parse(text)
    store = tmp_path / "file.sqlite"
    ex.Store.create_or_resume(store, first).close()
    np.savez(data, X=X, Y=Y)  # the same bytes again: the same config
    assert parse(text).hash == first.hash
    np.savez(data, X=X, Y=Y + 1)  # other data under the same path
    changed = parse(text)
    assert changed.hash != first.hash
    with pytest.raises(ConfigError) as info:
        ex.Store.create_or_resume(store, changed)
    assert info.value.argument == "store"
    # reading uses the digest stored with the results, not the file as it is now
    data.unlink()
    summary = ex.summarize(store)
    assert summary.warnings == [] and summary.config.hash == first.hash


@pytest.mark.parametrize(("data", "why"), [
    ('N = 3', "N < d+1"),
    ('N = 3\nn_out = 2', "N < d+1"),
    ('target = "planted"', "planted target without noise"),
])
def test_reduced_lcn_outside_the_theorem_says_which_hypothesis_fails(data: str,
                                                                      why: str) -> None:
    spec = parse(BASE.replace("[training]", f"[data]\n{data}\n[training]")).architectures[0]
    assert spec.lcn is not None and spec.lcn.is_reduced and not spec.theorem_applies
    assert summary_mod._why_not_theorem(spec).startswith(why)
