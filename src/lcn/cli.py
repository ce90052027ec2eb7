"""The ``lcn`` command-line tool.

Conventions shared by every subcommand:

* ``--k 3,2 --s 2,1``: filter sizes and strides, layer 1 first (it acts on the input first);
* filters are comma-separated taps, layers separated by ``;`` (``"1,2,3;4,5"``);
* entries written as integers, fractions (``1/3``) or decimals (``0.25``) are exact;
* a filter of degree ``d`` is the coefficient vector of a binary form ordered
  ``x^d, x^{d-1}y, ..., y^d`` (MATH.md 2);
* bad input prints one line ``error: ARGUMENT: what is allowed`` and exits with code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from lcn import forms
from lcn.architecture import Architecture
from lcn.errors import LCNError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

K_HELP = "Filter sizes k_1,...,k_L, layer 1 first (e.g. 3,2)."
S_HELP = "Strides s_1,...,s_L, layer 1 first (e.g. 2,1). Default: all ones."
JSON_HELP = "Print machine-readable JSON instead of a table."


def handle_errors(func: F) -> F:
    """Turn :class:`LCNError` into one line on stderr and exit code 2 (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LCNError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def parse_arch(k: str, s: str | None) -> Architecture:
    """Architecture from the ``--k``/``--s`` strings, errors naming the flags."""
    try:
        return Architecture.parse(k, s)
    except LCNError as exc:
        name = {"k": "--k", "s": "--s"}.get(exc.argument, exc.argument)
        raise type(exc)(name, exc.message) from None


def print_json(obj: Any) -> None:
    """JSON to stdout (plain print: rich would wrap long lines)."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return " ".join(f"{a}={_fmt(b)}" for a, b in v.items())
    if isinstance(v, list | tuple):
        return ",".join(_fmt(x) for x in v) if v else "-"
    return str(v)


def describe_table(archs: list[Architecture], title: str = "LCN architectures") -> Table:
    """A rich table with one row per architecture and the keys of ``describe --json``."""
    rows = [a.to_dict() for a in archs]
    table = Table(title=title)
    keys = [key for key in rows[0] if key not in ("k", "s")]
    table.add_column("architecture", no_wrap=True)
    for key in keys:
        table.add_column(key)
    for a, r in zip(archs, rows, strict=True):
        table.add_row(str(a), *(_fmt(r[key]) for key in keys))
    return table


@app.command()
@handle_errors
def describe(
    k: str = typer.Option(..., "--k", help=K_HELP),
    s: str | None = typer.Option(None, "--s", help=S_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Describe an architecture's function space (MATH.md 2-3).

    Keys: k, s, layers, d (d_i = k_i - 1), S (S_i = s_1...s_{i-1}), degree (d = sum d_i S_i),
    filter_size (d+1), stride (s_1...s_L), parameters (sum k_i), dimension (sum d_i + 1),
    reduced (k and s after merging neighbours with equal S_i), is_reduced, full_dimensional,
    and the geometry facts listed in the README.
    """
    arch = parse_arch(k, s)
    if as_json:
        print_json(arch.to_dict())
    else:
        console.print(describe_table([arch]))


@app.command("eval")
@handle_errors
def eval_(
    k: str = typer.Option(..., "--k", help=K_HELP),
    s: str | None = typer.Option(None, "--s", help=S_HELP),
    filters: str = typer.Option(
        ..., "--filters", help="Layer filters, layers separated by ';' (e.g. '1,2,3;4,5')."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Evaluate the end-to-end filter mu(w) = pi_{S_L}(w_L)...pi_{S_1}(w_1) (MATH.md 2).

    Exact arithmetic when every entry is an integer, a fraction like 1/3 or a decimal like
    0.25 (it is read as the exact fraction it spells); JSON then writes non-integers as
    strings "p/q". Keys: filter, stride, exact.
    """
    from lcn.parametrization import mu

    arch = parse_arch(k, s)
    parsed = forms.parse_filters(filters, "--filters")
    value = mu(arch, parsed)
    out = {"filter": [forms.exact_to_json(v) for v in value], "stride": arch.stride, "exact": True}
    if as_json:
        print_json(out)
        return
    table = Table(title=f"end-to-end filter of {arch}")
    table.add_column("coefficient")
    table.add_column("monomial")
    d = arch.degree
    for j, v in enumerate(out["filter"]):
        table.add_row(str(v), f"x^{d - j} y^{j}")
    console.print(table)
    console.print(f"end-to-end stride: {arch.stride}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
