"""``[sweep]`` configs and the per-kind summary of a sweep (issue 11)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from lcn import experiment as ex
from lcn.errors import ConfigError

HEAD = """
name = "sw"
seed = 2
[training]
inits = 1
steps = 50
[search]
starts = 1
"""


def sweep(body: str) -> ex.ExperimentConfig:
    return ex.parse_config(HEAD + "[sweep]\n" + body, "sweep.toml")


def reduced_oracle(k: tuple[int, ...], s: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Merge neighbouring layers with equal S_i = s_1...s_{i-1} (MATH.md 3), by hand."""
    S = [math.prod(s[:i]) for i in range(len(k))]
    groups = [list(g) for _, g in itertools.groupby(range(len(k)), key=lambda i: S[i])]
    return (tuple(sum(k[i] - 1 for i in g) + 1 for g in groups),
            tuple(math.prod(s[i] for i in g) for g in groups))


def test_a_grid_is_every_combination_with_last_stride_one() -> None:
    cfg = sweep("layers = [1, 2, 3]\nk = [2, 3]\ns = [1, 2, 3]\n")
    got = {(a.k, a.s) for a in cfg.architectures}
    want = {(k, (*h, 1)) for L in (1, 2, 3) for k in itertools.product((2, 3), repeat=L)
            for h in itertools.product((1, 2, 3), repeat=L - 1)}
    assert got == want and len(cfg.architectures) == 2 + 4 * 3 + 8 * 9
    assert all(a.name == f"k={','.join(map(str, a.k))} s={','.join(map(str, a.s))}"
               for a in cfg.architectures)


def test_dedupe_keeps_one_architecture_per_reduced_one() -> None:
    cfg = sweep('layers = [1, 2, 3]\nk = [2, 3]\ns = [1, 2]\ndedupe = "reduced"\n')
    keys = [reduced_oracle(a.k or (), a.s or ()) for a in cfg.architectures]
    assert len(keys) == len(set(keys))
    full = sweep("layers = [1, 2, 3]\nk = [2, 3]\ns = [1, 2]\n")
    assert set(keys) == {reduced_oracle(a.k or (), a.s or ()) for a in full.architectures}


def test_several_N_and_explicit_architectures_combine() -> None:
    cfg = ex.parse_config(HEAD + "[[architectures]]\nwidths = [2, 2]\n[sweep]\nlayers = 1\n"
                          "k = [3]\ns = [1]\nN = [3, 5]\n")
    assert [(a.name, a.N) for a in cfg.architectures] == [
        ("dense 2-2", 2), ("k=3 s=1 N=3", 3), ("k=3 s=1 N=5", 5)]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("layers = [1]\nk = [2]\ns = [1]\nfoo = 1\n", "sweep.foo"),
        ("layers = []\nk = [2]\ns = [1]\n", "sweep.layers"),
        ("layers = [1]\nk = ['x']\ns = [1]\n", "sweep.k"),
        ("layers = [1]\nk = [2]\ns = [1]\ndedupe = 'yes'\n", "sweep.dedupe"),
        ("layers = [8]\nk = [2, 3, 4, 5]\ns = [1, 2, 3]\n", "sweep"),
    ],
)
def test_bad_sweeps_name_the_key(body: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        sweep(body)
    assert info.value.argument == key


def test_the_report_sums_a_sweep_per_kind(tmp_path: Path) -> None:
    cfg = sweep("layers = [2]\nk = [2]\ns = [1, 2]\n")
    path = tmp_path / "sw.sqlite"
    assert ex.run_experiment(cfg, path, progress=False).complete
    summary = ex.summarize(path)
    doc = summary.to_json()
    assert set(doc["kinds"]) == {"reduced strided", "stride one"}
    for kind, entry in doc["kinds"].items():
        members = [a for a in doc["architectures"] if ex.KINDS[a["family"]] == kind]
        assert entry["architectures"] == len(members)
        assert all(a["kind"] == kind for a in members)
        for src in ("train", "points"):
            # points: those of each architecture's method (all real ones for the homotopy)
            def of(a: dict, src: str = src) -> dict:
                return a["train"] if src == "train" else a[a["method"]] \
                    if a["method"] == "homotopy" else a["search"]

            assert entry[src]["total"] == sum(of(a)["total"] for a in members)
            for cat, n in entry[src]["categories"].items():
                assert n == sum(of(a)["categories"][cat] for a in members)
