"""``lcn critical`` run in-process (typer's CliRunner) on small architectures.

Oracles, none of them the solver's own output: the ED degree closed form of two factors
``P^1 x P^n`` (``4n - 2``) and the DHOST sum (:attr:`Architecture.ed_degree`); complex
conjugation (real data: the non-real solutions pair up, so ``complex_count - real_count`` is
even); ``lcn.training`` recomputing loss, end-to-end filter and gradient at the printed
filters on data regenerated from the seed (or read back from the file); the minimum of a
continuous function on the closed set ``M`` is attained, so the smallest real critical value
is a local minimum (Morse index 0) and no gradient-descent run ends below it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from lcn import Architecture
from lcn.cli import app
from lcn.training import function, gaussian_dataset, loss, relative_gradient_norm, train

runner = CliRunner()

#: ``(k, s, seed)`` of the cases; ``k = (2, n)`` or ``(n, 2)`` so that ``4n - 2`` applies;
#: strided and stride one.
CASES: list[tuple[tuple[int, ...], tuple[int, ...], int]] = [((2, 2), (2, 1), 0),
                                                             ((3, 2), (2, 1), 1),
                                                             ((2, 3), (1, 1), 2)]
#: How close the printed loss must be to ``lcn.training.loss`` at the printed filters
#: (relative to the loss scale ``||u||^2 ||G||``-ish; filters are printed as float64).
LOSS_RTOL = 1e-8


def _run(args: list[str]) -> Any:
    return runner.invoke(app, ["critical", *args])


def _json(args: list[str]) -> dict[str, Any]:
    res = _run([*args, "--json"])
    assert res.exit_code == 0, res.output
    out: dict[str, Any] = json.loads(res.stdout)  # stdout is pure JSON (status on stderr)
    return out


def _arch_args(k: tuple[int, ...], s: tuple[int, ...]) -> list[str]:
    return ["--k", ",".join(map(str, k)), "--s", ",".join(map(str, s))]


def _params(point: dict[str, Any]) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=float) for w in point["filters"]])


def _two_layer_zero_count(k1: int, k2: int) -> int | None:
    """Isolated critical points with ``mu(w) = 0`` of two layers, by linear algebra: with
    ``w_j = 0`` the gradient of the other layer vanishes and ``J_j(w_o)^T G u = 0`` is ``k_j``
    *linear* equations in ``w_o``, up to scale a point of ``P^{k_o - 1}``: one solution when
    ``k_j = k_o - 1`` (generic data), none when ``k_j > k_o - 1``, a positive-dimensional set
    (``None``) when ``k_j < k_o - 1``."""
    count = 0
    for kj, ko in ((k1, k2), (k2, k1)):
        if kj < ko - 1:
            return None
        count += kj == ko - 1
    return count


@pytest.fixture(scope="module")
def solved() -> dict[tuple[tuple[int, ...], tuple[int, ...], int], dict[str, Any]]:
    """One ``--json`` run per case, shared by the tests below (each solve costs a second)."""
    return {(k, s, seed): _json([*_arch_args(k, s), "--seed", str(seed)])
            for k, s, seed in CASES}


@pytest.mark.parametrize(("k", "s", "seed"), CASES)
def test_json_keys_and_counts(solved: dict[Any, dict[str, Any]], k: tuple[int, ...],
                              s: tuple[int, ...], seed: int) -> None:
    out = solved[(k, s, seed)]
    for key in ("ed_degree", "complex_count", "real_count", "zero_count",
                "certified_complete", "missing", "reason", "certificate", "points"):
        assert key in out
    n = max(k)
    assert out["ed_degree"] == 4 * n - 2 == Architecture(k, s).ed_degree
    assert out["complex_count"] == out["ed_degree"] and out["missing"] == 0
    assert out["certified_complete"] is True and out["reason"] == ""
    assert out["real_count"] == len(out["points"]) >= 1
    assert (out["complex_count"] - out["real_count"]) % 2 == 0  # conjugate pairs
    assert out["zero_count"] == _two_layer_zero_count(*k)
    for p in out["points"]:
        assert {"filters", "function", "loss", "category", "morse_index"} <= set(p)
        assert [len(w) for w in p["filters"]] == list(k)


@pytest.mark.parametrize(("k", "s", "seed"), CASES)
def test_real_points_are_critical_with_the_printed_loss(
        solved: dict[Any, dict[str, Any]], k: tuple[int, ...], s: tuple[int, ...],
        seed: int) -> None:
    arch = Architecture(k, s)
    data = gaussian_dataset(arch, N=arch.degree + 1, seed=seed)  # the verb's default data
    out = solved[(k, s, seed)]
    scale = float(loss(arch, data, np.zeros(sum(k))))  # loss of the zero filter: ||Y||^2
    for p in out["points"]:
        w = _params(p)
        assert abs(float(loss(arch, data, w)) - p["loss"]) <= LOSS_RTOL * scale
        assert np.allclose(function(arch, w), p["function"], rtol=1e-9, atol=1e-12)
        assert float(relative_gradient_norm(arch, data, w)) < 1e-9


@pytest.mark.parametrize(("k", "s", "seed"), CASES[:2])
def test_global_minimum_is_found(solved: dict[Any, dict[str, Any]], k: tuple[int, ...],
                                 s: tuple[int, ...], seed: int) -> None:
    """No gradient-descent run ends below the smallest real critical value, and the point
    attaining it is a local minimum."""
    arch = Architecture(k, s)
    data = gaussian_dataset(arch, N=arch.degree + 1, seed=seed)
    out = solved[(k, s, seed)]
    best = min(out["points"], key=lambda p: p["loss"])
    assert best["morse_index"] == 0
    gd = train(arch, data, runs=64, steps=400, seed=seed)
    finite = gd.loss[np.isfinite(gd.loss)]
    assert finite.size and float(finite.min()) >= best["loss"] - 1e-8 * max(1.0, best["loss"])


def test_table_output_and_data_file(tmp_path: Path,
                                    solved: dict[Any, dict[str, Any]]) -> None:
    k, s, seed = CASES[0]
    arch = Architecture(k, s)
    data = gaussian_dataset(arch, N=arch.degree + 1, seed=seed)
    path = tmp_path / "data.npz"
    np.savez(path, X=data.X, Y=data.Y)
    out = _json([*_arch_args(k, s), "--data", str(path)])
    ref = solved[(k, s, seed)]
    for key in ("ed_degree", "complex_count", "real_count", "certified_complete"):
        assert out[key] == ref[key]
    assert sorted(p["loss"] for p in out["points"]) == pytest.approx(
        sorted(p["loss"] for p in ref["points"]), rel=1e-9, abs=1e-12)
    res = _run([*_arch_args(k, s), "--data", str(path)])
    assert res.exit_code == 0, res.output
    for needle in ("ed_degree", "complex_count", "real critical points", "Morse index",
                   "certified complete: all"):
        assert needle in res.stdout
    assert "NOT certified" not in res.stdout


@pytest.mark.slow
def test_cache_dir_is_used(tmp_path: Path) -> None:
    """``--cache-dir``: the start solutions land there (a fresh folder: the monodromy runs)."""
    cache = tmp_path / "cache"
    out = _json(["--k", "2,2", "--s", "2,1", "--seed", "3", "--cache-dir", str(cache)])
    assert out["certified_complete"] is True
    assert any(cache.iterdir())


def _npz(tmp_path: Path, name: str, **arrays: np.ndarray) -> str:
    p = tmp_path / name
    np.savez(p, **arrays)  # type: ignore[arg-type]
    return str(p)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--k", "3,3", "--s", "2,1", "--seed", "0", "--max-paths", "5"], "--max-paths"),
        (["--k", "2,2", "--s", "2,1", "--seed", "0", "--N", "1"], "--N"),  # rank(G) = 1 < 4
        (["--k", "2,2", "--s", "2,1", "--seed", "0", "--frobnicate"], "--frobnicate"),
        (["--k", "2,2", "--s", "2,1"], "--data"),  # no data
        (["--k", "2,2", "--s", "2,1", "--seed", "0", "--data", "x.npz"], "--seed"),
        (["--k", "2,2", "--s", "2,1", "--data", "missing.npz"], "--data"),
        (["--k", "2,x", "--seed", "0"], "--k"),
        (["--k", "2000", "--seed", "0"], "--k"),  # too many taps: refused, not hours of work
        (["--k", "3,3", "--s", "1000000,1", "--seed", "0"], "--k"),
        (["--k", "2,2", "--s", "2,1", "--seed", "-1"], "--seed"),
        (["--k", "2,2", "--s", "2,1", "--seed", "0", "--device", "abacus"], "--device"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], needle: str) -> None:
    res = _run(args)
    assert res.exit_code == 2, res.output
    msg = res.stderr.strip()
    assert msg.startswith("error:") and needle in msg, msg
    assert "Traceback" not in res.output and len(msg.splitlines()) == 1


def test_bad_data_files_exit_2(tmp_path: Path) -> None:
    arch = Architecture((2, 2), (2, 1))  # n_0 = d + 1 = 4 rows for n_L = 1
    rng = np.random.default_rng(0)
    files = {
        "shape": _npz(tmp_path, "shape.npz", X=rng.standard_normal((3, 9)),
                      Y=rng.standard_normal((1, 9))),
        "keys": _npz(tmp_path, "keys.npz", A=rng.standard_normal((4, 9))),
        "rank": _npz(tmp_path, "rank.npz", X=np.outer(rng.standard_normal(4), np.ones(9)),
                     Y=rng.standard_normal((1, 9))),
    }
    assert arch.degree + 1 == 4
    for name, path in files.items():
        res = _run(["--k", "2,2", "--s", "2,1", "--data", path])
        assert res.exit_code == 2, (name, res.output)
        msg = res.stderr.strip()
        assert msg.startswith("error:") and "--data" in msg, (name, msg)
        assert len(msg.splitlines()) == 1
    res = _run(["--k", "2,2", "--s", "2,1", "--data", files["shape"], "--N", "5"])
    assert res.exit_code == 2 and "--N" in res.stderr
