"""``lcn member``: is a filter in the function space M, and how does it factor? (MATH.md 4-6)"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from lcn import forms
from lcn.architecture import Architecture
from lcn.cli import _app
from lcn.cli._app import app, console, handle_errors, parse_arch, print_json
from lcn.cli.nearest import float_filter
from lcn.geometry.exact import membership
from lcn.geometry.numerical import classify, nearest

DEFAULT_TOL = 1e-8
#: Most decimal digits of a factorization (certified root refinement costs grow with them).
MAX_DIGITS = 10000


@app.command()
@handle_errors
def member(
    k: str = typer.Option(..., "--k", help=_app.K_HELP),
    s: str | None = typer.Option(None, "--s", help=_app.S_HELP),
    filter_: str = typer.Option(..., "--filter", help=_app.FILTER_HELP),
    digits: int | None = typer.Option(
        None, "--digits", min=1, max=MAX_DIGITS,
        help="Decimal digits of a non-rational factorization (default: floats)."
    ),
    as_json: bool = typer.Option(False, "--json", help=_app.JSON_HELP),
    use_float: bool = typer.Option(
        False, "--float", help="Treat the filter as floating point: tolerant classification."
    ),
    tol: float | None = typer.Option(
        None, "--tol", help="Relative tolerance of the float classification (implies --float; "
        "default 1e-8)."
    ),
) -> None:
    """Is an exact end-to-end filter in the function space M, and how does it factor?
    (MATH.md 4-6)

    Exact or float: the filter is exact unless --float or --tol is given (the entries are
    strings either way, so the flag decides). The float branch (lcn.geometry.classify) decides
    within the relative tolerance --tol (default 1e-8) and may answer "undecided" with the
    categories in play; its JSON is Classification.to_json() (classification,
    singular_component, candidates, tol, distance to M (relative), residual of the snapping,
    root_tolerance, i_s_degrees, in_closure, real_roots, multiplicities, component_distances)
    with a key nearest = NearestResult.to_json() (the nearest point of M and its layer filters).

    Exact arithmetic: integers, fractions (1/3) and decimals (0.25, read as the fraction they
    spell). Prints whether the filter is in the Zariski closure (a complex sparse
    factorization exists) and in M (a real one exists), its classification (zero, interior,
    singular, boundary_stride1, boundary_reduced or outside), the singular component d' it
    lies on (degree vector of the reduced architecture) and layer filters of the given
    architecture whose mu is the filter: exact when rational, else floats (or --digits digits),
    complex when the filter is only in the closure. JSON keys: in_closure,
    in_function_space, classification, singular_component (or null), factorization (list of
    layer filters: ints or "p/q" strings when exact, floats, [re, im] pairs when complex,
    decimal strings with --digits; or null), factorization_kind (rational, float, complex or
    null), residual (max |mu(factorization) - filter|, 0 when exact).
    """
    arch = parse_arch(k, s)
    if use_float or tol is not None:
        _member_float(arch, filter_, DEFAULT_TOL if tol is None else tol, as_json)
        return
    _member_exact(arch, filter_, digits, as_json)


def _member_float(arch: Architecture, filter_text: str, tol: float, as_json: bool) -> None:
    """The float branch: one classification and one nearest-point search."""
    f = float_filter(filter_text)
    c = classify(arch, f, tol=tol)
    near = nearest(arch, f)
    out = {**c.to_json(), "nearest": near.to_json()}
    if as_json:
        print_json(out)
        return
    rows: list[tuple[str, Any]] = [("classification", c.category)]
    if c.category == "undecided":
        rows.append(("candidates", ", ".join(c.candidates)))
    rows += [
        ("singular component", out["singular_component"]),
        ("distance to M (relative)", f"{c.distance:.3g}"),
        ("in closure (snapped)", c.in_closure),
        ("deg I_S per reduced layer", list(c.i_s_degrees)),
        ("real roots", c.real_roots),
    ]
    title = f"float filter and the function space of {arch} (tol {tol:g})"
    console.print(_app.kv_table(title, rows))
    for i, w in enumerate(out["nearest"]["filters"]):
        console.print(f"nearest point, layer {i + 1}: " + ", ".join(f"{x:.10g}" for x in w),
                      highlight=False)


def _member_exact(arch: Architecture, filter_text: str, digits: int | None, as_json: bool) -> None:
    """The exact branch (lcn.geometry.membership), rendered from ``Membership.to_json()``."""
    F = forms.parse_vector(_app.check_number_text(filter_text, "--filter"), "--filter")
    res = membership(arch, F, digits=digits)
    out = res.to_json()
    if as_json:
        print_json(out)
        return
    console.print(_app.kv_table(f"membership of the filter in the function space of {arch}", [
        ("in closure", out["in_closure"]),
        ("in function space", out["in_function_space"]),
        ("classification", out["classification"]),
        ("singular component", out["singular_component"]),
        ("factorization", out["factorization_kind"]),
        ("residual", None if out["residual"] is None else str(out["residual"])),
    ]))
    if out["factorization"] is not None:
        console.print(_layers_table(arch, out["factorization"]))


def _layers_table(arch: Architecture, factorization: list[list[Any]]) -> Table:
    layers = Table(title="layer filters (mu of these is the filter)")
    for col in ("layer", "k", "s", "filter"):
        layers.add_column(col, justify="right" if col == "layer" else "left")
    for i, w in enumerate(factorization):
        text = ", ".join(
            f"{v[0]:.10g}{v[1]:+.10g}j" if isinstance(v, list) else
            (f"{v:.12g}" if isinstance(v, float) else str(v))
            for v in w
        )
        layers.add_row(str(i + 1), str(arch.k[i]), str(arch.s[i]), text)
    return layers
