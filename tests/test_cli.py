import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lcn.cli import app

runner = CliRunner()


def test_describe_json_keys() -> None:
    res = runner.invoke(app, ["describe", "--k", "3,2", "--s", "2,1", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in ("k", "s", "layers", "d", "S", "degree", "filter_size", "stride", "parameters",
                "dimension", "reduced", "is_reduced", "full_dimensional"):
        assert key in out
    assert out["degree"] == 4 and out["dimension"] == 4 and out["stride"] == 2
    assert out["reduced"] == {"k": [3, 2], "s": [2, 1]}


def test_describe_table_and_examples() -> None:
    res = runner.invoke(app, ["describe", "--k", "2,2,3", "--s", "1,2,1"])
    assert res.exit_code == 0 and "dimension" in res.stdout
    res = runner.invoke(app, ["describe"])
    assert res.exit_code == 0 and "Example" in res.stdout


def test_eval_exact_json() -> None:
    res = runner.invoke(
        app, ["eval", "--k", "3,2", "--s", "2,1", "--filters", "1,0,1;1,1/2", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # (x^2 + y^2)(x^2 + y^2/2) = x^4 + 3/2 x^2y^2 + 1/2 y^4
    assert out == {"filter": [1, 0, "3/2", 0, "1/2"], "stride": 2, "exact": True}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["describe", "--k", "", "--s", "1"], "--k"),
        (["describe", "--k", "3,2", "--s", "1"], "--s"),
        (["describe", "--k", "3,0", "--s", "1,1"], "--k"),
        (["describe", "--k", "3,-1"], "--k"),
        (["describe", "--k", "3,x"], "--k"),
        (["describe", "--k", "3,2.5"], "--k"),
        (["eval", "--k", "3,2", "--s", "2,1", "--filters", "1,2;3,4"], "filters"),
        (["eval", "--k", "3,2", "--s", "2,1", "--filters", "1,2,3"], "filters"),
        (["eval", "--k", "3,2", "--s", "2,1", "--filters", "1,a,3;1,2"], "filters"),
        (["eval", "--k", "3,2", "--s", "2,1", "--filters", "1,nan,3;1,2"], "filters"),
        (["eval", "--k", "3,2", "--s", "2,1", "--filters", ""], "filters"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], needle: str) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    msg = res.stderr.strip()
    assert msg.startswith("error:") and needle in msg
    assert "Traceback" not in res.output and len(msg.splitlines()) == 1


def test_console_script_help_explains_conventions() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lcn.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "x^d" in out and "1/3" in out
    for cmd in ("describe", "eval"):
        sub = subprocess.run(
            [sys.executable, "-m", "lcn.cli", cmd, "--help"], capture_output=True, text=True,
            check=True,
        ).stdout
        assert "--k" in sub and "--s" in sub
