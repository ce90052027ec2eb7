"""`lcn plot space|roots|flow`: files of the stated size, formats by suffix, nothing of the
user's overwritten, errors naming the flag."""

from __future__ import annotations

import json
import struct

import pytest
from typer.testing import CliRunner

from lcn.cli import app

runner = CliRunner()


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize(
    "args",
    [
        ["space", "--k", "3,2,2", "--s", "1,1,1", "--resolution", "7"],
        ["space", "--k", "2,2", "--s", "2,1", "--resolution", "6"],
        ["roots", "--k", "3,3,2", "--s", "2,2,1", "--filter", "1,-3,2,0,-3,9,-6,0,-4,12,-8"],
        ["flow", "--k", "2,2", "--s", "2,1", "--seed", "1", "--runs", "3", "--steps", "200"],
    ],
    ids=["space-plane", "space-chart", "roots", "flow"],
)
def test_plot_writes_png_of_the_stated_size(tmp_path, args) -> None:
    out = tmp_path / "pic.png"
    res = runner.invoke(app, ["plot", *args, "--size", "640x480", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    assert out.stat().st_size > 5_000 and _png_size(out) == (640, 480)


def test_formats_by_suffix_and_json(tmp_path) -> None:
    for suffix, magic in ((".svg", b"<?xml"), (".pdf", b"%PDF")):
        out = tmp_path / f"r{suffix}"
        res = runner.invoke(app, ["plot", "roots", "--k", "3,2", "--s", "2,1", "--filter",
                                  "1,0,0,0,-4", "--out", str(out), "--json"])
        assert res.exit_code == 0, res.output
        assert out.read_bytes().startswith(magic)
        doc = json.loads(res.stdout)
        assert doc["out"] == str(out) and sum(m["multiplicity"] for m in doc["markers"]) == 4


def test_never_overwrites_a_file_it_did_not_write(tmp_path) -> None:
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my precious data")
    base = ["plot", "roots", "--k", "3,2", "--s", "2,1", "--filter", "1,0,0,0,-4"]
    res = runner.invoke(app, [*base, "--out", str(mine)])
    assert res.exit_code == 2 and "--out" in res.stderr and "--force" in res.stderr
    assert mine.read_bytes() == b"my precious data"
    # its own files it replaces (make pictures), others only with --force
    ours = tmp_path / "ours.png"
    assert runner.invoke(app, [*base, "--out", str(ours)]).exit_code == 0
    assert runner.invoke(app, [*base, "--out", str(ours)]).exit_code == 0
    assert runner.invoke(app, [*base, "--out", str(mine), "--force"]).exit_code == 0
    assert mine.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["space", "--k", "3,2,2", "--out", "x.txt"], "--out"),
        (["space", "--k", "3,2,2", "--through", "1,0,1", "--out", "{tmp}/a.png"], "--through"),
        (["space", "--k", "3,3", "--s", "2,1", "--out", "{tmp}/a.png"], "--k"),
        (["space", "--k", "3,2,2", "--dims", "3", "--plane", "1,0,0,0,0", "--out",
          "{tmp}/a.png"], "--through"),
        (["space", "--k", "3,2,2", "--resolution", "1", "--out", "{tmp}/a.png"], "--resolution"),
        (["roots", "--k", "3,2", "--s", "2,1", "--filter", "1,1,1,1,1", "--out",
          "{tmp}/a.png"], "--filter"),
        (["roots", "--k", "3,2", "--s", "2,1", "--filter", "1,0,0,0,4", "--size", "big",
          "--out", "{tmp}/a.png"], "--size"),
        (["flow", "--k", "2,2", "--s", "2,1", "--runs", "0", "--out", "{tmp}/a.png"], "--runs"),
        (["space", "--k", "3,2,2", "--out", "{tmp}/no/such/dir/a.png"], "--out"),
    ],
)
def test_bad_input_names_the_flag(tmp_path, args, flag) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = runner.invoke(app, ["plot", *args])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"error: {flag}"), res.stderr
    assert not (tmp_path / "a.png").exists()
