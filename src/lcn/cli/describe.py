"""``lcn describe``: the facts of an architecture's function space (MATH.md 2-3)."""

from __future__ import annotations

import typer
from rich.table import Table

from lcn.architecture import Architecture
from lcn.cli import _app
from lcn.cli._app import app, console, handle_errors, parse_arch, print_json
from lcn.errors import ArchitectureError

EXAMPLE_ARCHITECTURES: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((3, 3), (1, 1)),  # stride one, filling
    ((2, 2, 2), (1, 1, 1)),  # stride one, three odd degrees: not filling
    ((3, 2), (2, 1)),  # strides > 1, the running example of MATH.md
    ((3, 3, 2), (2, 2, 1)),  # three layers, strides > 1
    ((2, 2, 3), (1, 2, 1)),  # non-reduced: the first two layers merge
    ((3, 1, 2), (2, 2, 1)),  # a layer of size 1
)


#: Largest end-to-end degree described: beyond it the closure degree (a multinomial
#: coefficient, ``lcn.geometry.exact.closure_degree``) is an integer of millions of digits that
#: takes minutes to compute and cannot be printed.
MAX_DESCRIBE_DEGREE = 20000


def describe_table(archs: list[Architecture], title: str = "LCN architectures") -> Table:
    """A rich table with one column per architecture and one row per key of
    ``describe --json`` (keys as rows keep it readable however many facts there are)."""
    rows = [a.to_dict() for a in archs]
    table = Table(title=title)
    table.add_column("", style="bold", no_wrap=True)
    for a in archs:
        table.add_column(f"k {_app.fmt(a.k)}\ns {_app.fmt(a.s)}")
    for key in rows[0]:
        if key in ("k", "s"):
            continue
        table.add_row(key, *(_app.fmt(r[key]) for r in rows))
    return table


@app.command()
@handle_errors
def describe(
    k: str | None = typer.Option(
        None, "--k", help=_app.K_HELP + " Omit to describe a handful of example architectures."
    ),
    s: str | None = typer.Option(None, "--s", help=_app.S_HELP),
    as_json: bool = typer.Option(False, "--json", help=_app.JSON_HELP),
) -> None:
    """Describe an architecture's function space (MATH.md 2-3).

    Keys: k, s, layers, d (d_i = k_i - 1), S (S_i = s_1...s_{i-1}), degree (d = sum d_i S_i),
    filter_size (d+1), stride (s_1...s_L), parameters (sum k_i), dimension (sum d_i + 1),
    reduced (k and s after merging neighbours with equal S_i), is_reduced, full_dimensional,
    and the geometry facts listed in the README.
    """
    if k is None:
        archs = [Architecture(kk, ss) for kk, ss in EXAMPLE_ARCHITECTURES]
        if as_json:
            print_json([a.to_dict() for a in archs])
        else:
            # three architectures per table keep the columns readable in 80 columns
            for i in range(0, len(archs), 3):
                console.print(describe_table(archs[i : i + 3], "Example LCN architectures"))
        return
    arch = parse_arch(k, s)
    if arch.degree > MAX_DESCRIBE_DEGREE:
        raise ArchitectureError("k", f"gives degree {arch.degree}; describe handles degrees up "
                                f"to {MAX_DESCRIBE_DEGREE} (its closure degree would have "
                                "millions of digits)")
    if as_json:
        print_json(arch.to_dict())
    else:
        console.print(describe_table([arch]))
