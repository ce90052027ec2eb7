"""``lcn critical``: every critical point of the squared loss, certified (MATH.md 8-9)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.table import Table

from lcn._validate import MAX_SEED
from lcn.architecture import Architecture
from lcn.cli import _app
from lcn.cli._app import app, console, err_console, handle_errors, parse_arch, print_json
from lcn.errors import ArchitectureError, LCNError, OptionError
from lcn.homotopy import DEFAULT_MAX_PATHS, CriticalSet, critical_set
from lcn.training import Dataset, gaussian_dataset, load_dataset

#: Count and certificate keys of ``CriticalSet.to_json()`` drawn in the summary table, in
#: this order (every other scalar key follows them; ``--json`` has everything).
SUMMARY_KEYS = ("ed_degree", "complex_count", "real_count", "zero_count", "certified_complete",
                "missing", "reason", "certificate", "paths", "seconds")
#: Most real critical points drawn as table rows (``--json`` lists them all).
MAX_POINT_ROWS = 200
#: Largest ``--N`` accepted before anything is allocated (``gaussian_dataset`` then bounds the
#: data entries themselves).
MAX_SAMPLES = 10**8
#: Largest ``--n-out``.
MAX_N_OUT = 10**6
#: Largest end-to-end filter size ``d + 1`` solved from the command line: the certification
#: evaluates the ``(d+1) x (d+1)`` Gram matrix in ball arithmetic at every root, which takes
#: about a minute at ``d + 1 = 200`` on two CPU cores (``k=(3,3) s=(100,1)``), and far longer
#: beyond (a single layer of 2000 taps does not finish in an hour).
MAX_TAPS = 128


def _flag_of(argument: str, from_file: bool) -> str:
    """The flag behind an argument name of the data readers and the solver (the generic
    mapping of :func:`lcn.cli._app.handle_errors` does not know these names)."""
    head = argument.split("[")[0].split(".")[0]
    data_flag = "--data" if from_file else "--N"
    return {
        "max_paths": "--max-paths",
        "device": "--device",
        "cache_dir": "--cache-dir",
        "N": "--N",
        "n_out": "--n-out",
        "path": "--data",
        "X": data_flag,
        "Y": data_flag,
        "G": data_flag,
        "u": data_flag,
        "data": data_flag,
    }.get(head, argument)


@contextmanager
def _flags_named(from_file: bool) -> Iterator[None]:
    """Re-raise an :class:`LCNError` of the library under the flag that fed its argument."""
    try:
        yield
    except LCNError as exc:
        flag = _flag_of(exc.argument, from_file)
        if flag == exc.argument:
            raise
        raise type(exc)(flag, exc.message) from None


def read_data(arch: Architecture, data: str | None, seed: int | None, N: int | None,
              n_out: int) -> Dataset:
    """The dataset of ``lcn critical``: the file ``data`` (``lcn.training.load_dataset``), or a
    Gaussian one drawn with ``seed`` and ``N`` samples (default ``d + 1``, the theorem's
    ``N >= d + 1``, as the experiment's ``N = "auto"``)."""
    if data is not None and seed is not None:
        raise OptionError("--seed", "draws Gaussian data; give either --data FILE or --seed N, "
                          "not both")
    if data is not None and N is not None:
        raise OptionError("--N", "is the sample count of --seed data; a --data file has its "
                          "own samples")
    if data is None and seed is None:
        raise OptionError("--data", "give a dataset (--data FILE.npz or .csv) or draw one "
                          "(--seed N [--N SAMPLES])")
    with _flags_named(data is not None):
        if data is not None:
            return load_dataset(data, arch, n_out)
        assert seed is not None
        return gaussian_dataset(arch, n_out=n_out, N=arch.degree + 1 if N is None else N,
                                seed=seed)


def _num(v: Any) -> str:
    """A real number of the points table (4 significant digits keep the columns narrow)."""
    return "-" if v is None else f"{float(v):.4g}"


def points_table(out: dict[str, Any], title: str) -> Table:
    """One row per real critical point of ``CriticalSet.to_json()``: layer filters (layer 1
    first), end-to-end filter, loss, category and Morse index; beyond
    :data:`MAX_POINT_ROWS` rows the rest is summarized."""
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("layer filters (layer 1 first)")
    table.add_column("function")
    table.add_column("loss", justify="right")
    table.add_column("category")
    table.add_column("Morse index", justify="right")
    points = out.get("points", [])
    for i, p in enumerate(points[:MAX_POINT_ROWS]):
        filters = "\n".join(", ".join(_num(x) for x in w) for w in p["filters"])
        table.add_row(str(i), filters, ", ".join(_num(x) for x in p["function"]),
                      _num(p["loss"]), str(p["category"]), _app.fmt(p["morse_index"]))
    if len(points) > MAX_POINT_ROWS:
        table.add_row("...", f"({len(points) - MAX_POINT_ROWS} more; --json prints all)",
                      "", "", "", "")
    return table


def render(res: CriticalSet) -> None:
    """The tables of ``lcn critical``, drawn from ``res.to_json()``: counts and certificate,
    then the real critical points, then the verdict in one line."""
    out = res.to_json()
    rows = [(key, out[key]) for key in SUMMARY_KEYS]
    console.print(_app.kv_table(f"critical points of the squared loss, {res.arch}", rows))
    if out.get("points"):
        console.print(points_table(out, f"real critical points ({len(out['points'])}, "
                                   "mu(w) != 0)"))
    if out["certified_complete"]:
        console.print(f"certified complete: all {out['ed_degree']} complex critical points "
                      "(mu(w) != 0, modulo rescaling) found and certified", highlight=False)
    else:
        console.print(f"NOT certified complete: {out['complex_count']} of "
                      f"{out['ed_degree']} found ({out['missing']} missing): {out['reason']}",
                      highlight=False)


@app.command("critical")
@handle_errors
def critical_cmd(
    k: str = typer.Option(..., "--k", help=_app.K_HELP),
    s: str | None = typer.Option(None, "--s", help=_app.S_HELP),
    data: str | None = typer.Option(
        None, "--data", help="Dataset file: .npz with arrays X (n_0 x N) and Y (n_L x N), or "
        ".csv (one sample per row, n_0 inputs then n_L outputs)."),
    seed: int | None = typer.Option(
        None, "--seed", min=0, max=MAX_SEED,
        help="Draw Gaussian data (X and Y i.i.d. standard normal) with this seed instead."),
    N: int | None = typer.Option(
        None, "--N", min=1, max=MAX_SAMPLES,
        help="Samples of the --seed data (default d+1, the theorem's N >= d+1)."),
    n_out: int = typer.Option(1, "--n-out", min=1, max=MAX_N_OUT,
                              help="Output length n_L of the network (default 1)."),
    max_paths: int = typer.Option(
        DEFAULT_MAX_PATHS, "--max-paths", min=1,
        help="Refuse architectures whose ED degree (paths tracked per dataset) exceeds this."),
    device: str = typer.Option("cpu", "--device", help="Torch device of the path tracking "
                               "(cpu or cuda)."),
    cache_dir: str | None = typer.Option(
        None, "--cache-dir", help="Folder of the cached start solutions (default "
        "$LCN_CACHE_DIR, else ~/.cache/lcn/homotopy)."),
    as_json: bool = typer.Option(False, "--json", help=_app.JSON_HELP),
) -> None:
    """Every critical point of the squared loss, certified (MATH.md 8-9).

    Solves grad L(w) = 0 for all complex critical points modulo the rescaling of the layers
    (lcn.homotopy.critical_set: a parameter homotopy in the data from a cached start instance,
    one path per solution, every endpoint certified by a Krawczyk test in interval
    arithmetic), classifies the real ones (lcn.critical: category, Morse index) and says
    whether the set is certified complete: the number of certified distinct solutions with
    mu(w) != 0 equals the generic ED degree of the architecture. Data: --data FILE, or
    --seed N for Gaussian data with --N samples (default d+1). JSON (CriticalSet.to_json)
    keys: ed_degree, complex_count, real_count, zero_count (isolated critical points with
    mu(w) = 0), certified_complete, missing, reason, certificate, points (one per real
    critical point: filters, function, loss, category, morse_index).
    """
    arch = parse_arch(k, s)
    if arch.filter_size > MAX_TAPS:
        raise ArchitectureError("k", f"gives an end-to-end filter of {arch.filter_size} taps; "
                                f"lcn critical solves up to {MAX_TAPS} (the certification "
                                "cost grows with the square of the taps); use smaller "
                                "filters or strides")
    dataset = read_data(arch, data, seed, N, n_out)
    with _flags_named(data is not None):
        paths = arch.ed_degree
        # the status line is drawn on stderr, and only on a terminal (never in --json stdout)
        with err_console.status(f"tracking {paths} paths for {arch} (ED degree {paths}) and "
                                "certifying the endpoints (the first run of an architecture "
                                "also builds its cached start solutions) ..."):
            res = critical_set(arch, dataset, max_paths=max_paths, device=device,
                               cache_dir=cache_dir)
    if as_json:
        print_json(res.to_json())
        return
    render(res)
