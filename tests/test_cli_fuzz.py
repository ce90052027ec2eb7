"""Hostile input for every verb (issue 15): no traceback, exit code 0 or 2 (one ``error:``
line), every call under 10 s, no file changed but the run's own outputs.

A bounded, seeded generator draws argument lists from pools of hostile values (huge integers,
``1e400``, unicode, ``1/0``, filters of degree 10^5, strides of 10^6, 50 layers, missing,
foreign, garbage and directory paths, garbage TOML, absurd sizes) mixed with valid ones, and
mutates them (a dropped option, an unknown one, a value replaced). The CLI runs in-process
(typer's CliRunner) for speed; a few calls run as real subprocesses. The default suite draws a
few hundred cases; ``-m slow`` draws thousands.
"""

from __future__ import annotations

import hashlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lcn.cli import app
from tests.test_experiment import BASE

BIG = "9" * 5000
TIME_LIMIT = 10.0

INTS = ["0", "-1", "1", "3", BIG, "1e400", "1/0", "é", "３", "0x10", "", " ", "nan", "inf",
        "99999999999999999999", "2.5", "1e9999999", "-0"]
KS = ["3,2", "2,2", "3", "3,3", "2,3,2", ",".join(["2"] * 50), "100001", "3,x", BIG, "1e400",
      "1/0", "é", "", "0,1", "-3,2", "3,,2", "3;2", "4000000,1"]
SS = [None, "2,1", "1,1", "1000000,1", "1,1000000", "1", BIG, "0,1", "x", "2,1,1", "1e400"]
FILTERS = ["1,2,3;4,5", "1,2;3,4", "1/3,0.25,-1;2,1", "1e400,1,1;1,1", "1/0,1,1;1,1",
           BIG + ",1,1;1,1", "é", ";", "1,2,3;4,5;6", "nan,1,1;1,1", "1e-400,1,1;2,2",
           "0,0,0;0,0", ",".join(["1"] * 100001) + ";1,1", "1e9999999,1,1;1,1", ""]
FILTER = ["1,2,3,4,5", "1,0,0,0,-4", "1/3,1,0,2,1", "0,0,0,0,0", "1e400,1,1,1,1",
          "1/0,1,1,1,1", BIG + ",1,1,1,1", "nan,1,1,1,1", "1e308,1e308,1,1,1", "1e-320,1,1,1,1",
          "é", "1,2,3", "", "1e9999999,0,0,0,1", ",".join(["1"] * 100001)]
TOLS = ["1e-8", "1e-3", "0", "1", "2", "-1", "1e400", "x", "nan", "1e-300"]
SEEDS = ["0", "7", "-1", str(2**64), str(2**64 - 1), BIG, "x"]

CONFIG_BASE = BASE  # name t, inits 2, steps 50, starts 2, k=(2,2) s=(2,1)
CONFIG_VARIANTS = {
    "ok": CONFIG_BASE,
    "datasets": CONFIG_BASE.replace("[training]", "[data]\ndatasets = 1000000\n[training]"),
    "inits": CONFIG_BASE.replace("inits = 2", "inits = 10000000"),
    "steps": CONFIG_BASE.replace("steps = 50", "steps = 1000000000000"),
    "k10001": CONFIG_BASE.replace("k = [2, 2]\ns = [2, 1]", "k = [10001]"),
    "stride": CONFIG_BASE.replace("k = [2, 2]\ns = [2, 1]", "k = [3, 3]\ns = [1000000, 1]"),
    "widths": CONFIG_BASE.replace("k = [2, 2]\ns = [2, 1]", "widths = [3, 1000000000, 3]"),
    "n_out": CONFIG_BASE.replace("s = [2, 1]", "s = [2, 1]\nn_out = 100000000"),
    "seed": f"seed = {2**64 + 3}\n" + CONFIG_BASE,
    "lr": CONFIG_BASE.replace("steps = 50", "steps = 50\nlr = 1e300"),
    "garbage": "[[[ this is not toml",
    "unicode": CONFIG_BASE.replace('name = "t"', 'name = "é"'),
    "bigint": CONFIG_BASE.replace("inits = 2", "inits = " + "9" * 30),
    "kstr": CONFIG_BASE.replace("k = [2, 2]\ns = [2, 1]", f'k = "{BIG}"'),
    "empty": "",
    "unknown": CONFIG_BASE.replace("[search]", "[search]\nstartz = 3"),
}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """User files the fuzz calls point at: configs, a valid store (made once), foreign and
    garbage stores, a directory, a plain file, missing paths."""
    root = tmp_path_factory.mktemp("fuzz")
    paths: dict[str, Path] = {}
    for name, text in CONFIG_VARIANTS.items():
        paths[f"cfg_{name}"] = root / f"{name}.toml"
        paths[f"cfg_{name}"].write_text(text)
    paths["cfg_binary"] = root / "binary.toml"
    paths["cfg_binary"].write_bytes(b"\xff\xfe\x00\x01garbage")
    paths["dir"] = root / "a-directory"
    paths["dir"].mkdir()
    paths["file"] = root / "a-file.txt"
    paths["file"].write_text("not ours\n")
    paths["garbage_store"] = root / "garbage.sqlite"
    paths["garbage_store"].write_bytes(random.Random(0).randbytes(5000))
    paths["empty_store"] = root / "empty.sqlite"
    paths["empty_store"].write_bytes(b"")
    paths["foreign_store"] = root / "foreign.sqlite"
    conn = sqlite3.connect(paths["foreign_store"])  # rollback journal: must never become WAL
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('format', 'lcn-experiment-store 1')")
    conn.commit()
    conn.close()
    paths["store"] = root / "valid.sqlite"
    res = CliRunner().invoke(app, ["experiment", str(paths["cfg_ok"]), "--store",
                                   str(paths["store"]), "--no-progress", "--plots",
                                   str(root / "valid-plots")])
    assert res.exit_code == 0, res.output
    paths["root"] = root
    return paths


def _pick(rng: random.Random, pool: list[str | None]) -> str | None:
    return rng.choice(pool)


def _arch_args(rng: random.Random) -> list[str]:
    args = ["--k", str(_pick(rng, KS))]  # type: ignore[list-item]
    s = _pick(rng, SS)
    return args if s is None else [*args, "--s", s]


def _geometry_case(rng: random.Random, verb: str) -> list[str]:
    if verb == "describe":
        args = ["describe"] + (_arch_args(rng) if rng.random() < 0.9 else [])
    elif verb == "eval":
        args = ["eval", *_arch_args(rng), "--filters", rng.choice(FILTERS)]
    elif verb == "member":
        args = ["member", *_arch_args(rng), "--filter", rng.choice(FILTER)]
        for flag, pool in (("--float", None), ("--tol", TOLS), ("--digits", INTS)):
            if rng.random() < 0.3:
                args += [flag] if pool is None else [flag, rng.choice(pool)]
    else:
        args = ["nearest", *_arch_args(rng), "--filter", rng.choice(FILTER)]
        for flag, pool in (("--starts", INTS), ("--seed", SEEDS),
                           ("--target", ["closure", "function_space", "x", "é"])):
            if rng.random() < 0.3:
                args += [flag, rng.choice(pool)]
    if rng.random() < 0.4:
        args.append("--json")
    return args


def _store_case(rng: random.Random, verb: str, w: dict[str, Path], i: int) -> list[str]:
    stores = ["store", "garbage_store", "empty_store", "foreign_store", "dir", "file", "cfg_ok"]
    out = w["root"] / "out" / str(i)
    plots = rng.choice([str(out / "plots"), str(w["file"]), str(w["dir"]), "--no-plots"])
    store = str(w[rng.choice(stores)]) if rng.random() < 0.8 else str(out / "missing.sqlite")
    if verb == "report":
        args = ["report", store]
        args += ["--no-plots"] if plots == "--no-plots" else ["--plots", plots]
        return args + (["--json"] if rng.random() < 0.5 else [])
    configs = [k for k in w if k.startswith("cfg_")] + ["dir", "file", "store"]
    cfg = str(w[rng.choice(configs)])
    args = ["experiment", cfg, "--no-progress", "--plots",
            plots if plots != "--no-plots" else str(out / "plots")]
    if rng.random() < 0.3:
        args += ["--max-chunks", rng.choice(INTS)]
    # a new store only for the valid config: the others are refused before any work
    new = cfg == str(w["cfg_ok"]) and rng.random() < 0.1
    return [*args, "--store", str(out / "new.sqlite") if new else store]


def _mutate(rng: random.Random, args: list[str]) -> list[str]:
    r = rng.random()
    # (experiment without its config runs the main job: real work, not hostile input)
    first = 2 if args[0] == "experiment" else 1
    if r < 0.08 and len(args) > first + 1:
        del args[rng.randrange(first, len(args))]  # a missing option or value
    elif r < 0.14:
        args.insert(rng.randrange(1, len(args) + 1), rng.choice(["--bogus", "-x", "--k", "é"]))
    elif r < 0.2 and len(args) > 2:
        args[rng.randrange(2, len(args))] = rng.choice(INTS)
    return args


def cases(n: int, seed: int, w: dict[str, Path]) -> list[list[str]]:
    """``n`` argument lists, all verbs in turn."""
    rng = random.Random(seed)
    verbs = ["describe", "eval", "member", "nearest", "report", "experiment"]
    out = []
    for i in range(n):
        verb = verbs[i % len(verbs)]
        args = (_store_case(rng, verb, w, i) if verb in ("report", "experiment")
                else _geometry_case(rng, verb))
        out.append(_mutate(rng, args))
    return out


def _snapshot(w: dict[str, Path]) -> dict[Path, str]:
    return {p: _sha(p) for p in w["root"].rglob("*")
            if p.is_file() and "out" not in p.relative_to(w["root"]).parts}


class _Hung(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hung(f"still running after {3 * TIME_LIMIT:g} s")


def _check(args: list[str]) -> str | None:
    """What is wrong with one in-process call, or ``None`` (a hang is cut at 3x the limit)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(3 * TIME_LIMIT))
    t0 = time.perf_counter()
    try:
        res = CliRunner().invoke(app, args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    dt = time.perf_counter() - t0
    err = res.stderr
    shown = [a if len(a) < 40 else f"{a[:12]}...({len(a)} chars)" for a in args]
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return f"{shown}: {type(res.exception).__name__}: {str(res.exception)[:200]}"
    if res.exit_code not in (0, 2):
        return f"{shown}: exit code {res.exit_code}: {err[-300:]}"
    if "Traceback" in res.output or "Warning" in err:
        return f"{shown}: traceback or warning: {err[-300:]}"
    if res.exit_code == 2 and (not err.startswith("error: ") or len(err.strip().splitlines()) != 1):
        return f"{shown}: not one error line: {err[:300]!r}"
    if dt > TIME_LIMIT:
        return f"{shown}: took {dt:.1f} s"
    return None


def _fuzz(w: dict[str, Path], n: int, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(w["root"] / "a-directory")  # a default results/ would land here, not in git
    before = _snapshot(w)
    problems = [p for args in cases(n, seed, w) if (p := _check(args)) is not None]
    after = _snapshot(w)
    problems += [f"changed or removed: {p}" for p, h in before.items() if after.get(p) != h]
    # outputs: a default store under the working directory, plots in a directory given as
    # --plots (the directory fixture is also the working directory) or, by default, beside
    # the store
    beside = {w["store"].parent / f"{w['store'].stem}-{kind}.png" for kind in ("types", "loss")}
    problems += [f"created outside the outputs: {p}" for p in set(after) - set(before)
                 if not (p.parent == w["dir"] / "results" or p in beside or (
                     w["dir"] in p.parents and p.name.endswith(("-types.png", "-loss.png"))))]
    assert not problems, f"{len(problems)} of {n} calls misbehaved:\n" + "\n".join(problems[:30])


def test_fuzz_every_verb(world: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _fuzz(world, 600, 0, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 11))
def test_fuzz_every_verb_thousands(world: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                   seed: int) -> None:
    _fuzz(world, 600, seed, monkeypatch)


def test_the_generator_covers_every_verb_and_the_hostile_values(world: dict[str, Path]) -> None:
    drawn = cases(300, 0, world)
    assert {a[0] for a in drawn} == {"describe", "eval", "member", "nearest", "report",
                                     "experiment"}
    flat = {x for a in drawn for x in a}
    for token in (BIG, "1e400", "1/0", "1000000,1", ",".join(["2"] * 50), "--bogus"):
        assert any(token in x for x in flat), token


@pytest.mark.parametrize(
    "args",
    [
        ["describe", "--k", BIG],
        ["describe", "--bogus"],
        ["eval", "--k", "3,2", "--s", "2,1", "--filters", "1,2,3;" + BIG],
        ["nearest", "--k", "3,2", "--filter", "1,2,3,4", "--starts", "x"],
        ["member", "--k", "3,2", "--s", "2,1"],
        ["report", "/nonexistent/store.sqlite"],
    ],
)
def test_subprocess_calls_give_one_error_line(args: list[str]) -> None:
    """The console entry point, not only CliRunner: one line, exit 2, nothing else."""
    res = subprocess.run([sys.executable, "-m", "lcn.cli", *args], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert res.stdout == ""


def test_a_foreign_rollback_journal_store_is_not_touched(world: dict[str, Path]) -> None:
    """``report`` and ``experiment --store`` on an SQLite file that is not ours: refused, and
    its bytes (journal mode byte included: no switch to WAL) stay the same."""
    p = world["foreign_store"]
    before = p.read_bytes()
    assert before[18:20] == b"\x01\x01"  # rollback journal
    for args in (["report", str(p)], ["experiment", str(world["cfg_ok"]), "--store", str(p)]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2 and "not an lcn experiment store" in res.stderr
    assert p.read_bytes() == before
    assert not Path(f"{p}-wal").exists() and not Path(f"{p}-shm").exists()
