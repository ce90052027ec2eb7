"""`lcn member` (exact branch) and the geometry keys of `lcn describe`."""

from __future__ import annotations

import json
from fractions import Fraction

from typer.testing import CliRunner

from lcn.cli import app
from tests.geometry.test_exact_oracle import mu_exact

runner = CliRunner()


def _member(*args):
    return runner.invoke(app, ["member", *args])


def test_member_json_closure_only():
    res = _member("--k", "3,2", "--s", "2,1", "--filter", "1,0,0,0,4", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"in_closure", "in_function_space", "classification", "singular_component",
            "factorization", "residual"} <= set(out)
    assert out["in_closure"] is True and out["in_function_space"] is False
    assert out["classification"] == "outside" and out["singular_component"] is None
    assert out["factorization_kind"] == "complex" and out["residual"] < 1e-12
    assert all(isinstance(v, list) and len(v) == 2 for w in out["factorization"] for v in w)


def test_member_json_exact_factorization():
    res = _member("--k", "3,2", "--s", "2,1", "--filter", "1,0,0,0,-4", "--json")
    out = json.loads(res.stdout)
    assert out["in_function_space"] and out["classification"] == "singular"
    assert out["singular_component"] == [0, 2] and out["residual"] == 0
    fac = [[Fraction(v) for v in w] for w in out["factorization"]]
    assert mu_exact((3, 2), (2, 1), fac) == [1, 0, 0, 0, -4]
    res = _member("--k", "3,2", "--s", "2,1", "--filter", "1/2,0,0,0,-2", "--json")
    out = json.loads(res.stdout)
    assert any(isinstance(v, str) and "/" in v for w in out["factorization"] for v in w)


def test_member_outside_closure_and_digits():
    out = json.loads(_member("--k", "3,2", "--s", "2,1", "--filter", "1,2,3,4,5", "--json")
                     .stdout)
    assert out["in_closure"] is False and out["factorization"] is None
    assert out["residual"] is None
    out = json.loads(_member("--k", "2,2,2", "--filter", "1,0,-2,0", "--digits", "40",
                             "--json").stdout)
    assert out["factorization_kind"] == "float"
    assert any(isinstance(v, str) and v.startswith("1.41421356237309504880168872420969807")
               for w in out["factorization"] for v in w)


def test_member_table():
    res = _member("--k", "2,2", "--s", "2,1", "--filter", "1,0,-1,0")
    assert res.exit_code == 0 and "classification" in res.stdout and "layer" in res.stdout


def test_member_bad_input_one_line_exit_2():
    for args in (["--filter", "1,0,0,4"], ["--filter", "1,0,x,0,4"], ["--filter", ""],
                 ["--filter", "1,0,0,0,4", "--digits", "0"]):
        res = _member("--k", "3,2", "--s", "2,1", *args)
        assert res.exit_code == 2, res.output
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: --")
    res = _member("--k", "3,0", "--filter", "1")
    assert res.exit_code == 2


def test_describe_geometry_keys():
    out = json.loads(runner.invoke(app, ["describe", "--k", "3,3,2", "--s", "2,2,1", "--json"])
                     .stdout)
    assert out["filling"] is False and out["closed"] is False
    assert out["closure_degree"] == 30
    assert sorted(out["singular_components"]) == [[0, 1, 2], [0, 3, 1], [2, 0, 2]]
    assert out["boundary"] == {"stride1": False, "reduced": True}
    table = runner.invoke(app, ["describe", "--k", "3,3,2", "--s", "2,2,1"]).stdout
    assert "(0,1,2)" in table and "closure_degree" in table
