"""``lcn eval``: the end-to-end filter mu(w) of exact layer filters (MATH.md 2)."""

from __future__ import annotations

import typer

from lcn import forms
from lcn.cli import _app
from lcn.cli._app import app, console, handle_errors, parse_arch, print_json
from lcn.parametrization import mu


@app.command("eval")
@handle_errors
def eval_(
    k: str = typer.Option(..., "--k", help=_app.K_HELP),
    s: str | None = typer.Option(None, "--s", help=_app.S_HELP),
    filters: str = typer.Option(
        ..., "--filters", help="Layer filters, layers separated by ';' (e.g. '1,2,3;4,5')."
    ),
    as_json: bool = typer.Option(False, "--json", help=_app.JSON_HELP),
) -> None:
    """Evaluate the end-to-end filter mu(w) = pi_{S_L}(w_L)...pi_{S_1}(w_1) (MATH.md 2).

    Exact arithmetic when every entry is an integer, a fraction like 1/3 or a decimal like
    0.25 (it is read as the exact fraction it spells); JSON then writes non-integers as
    strings "p/q". Keys: filter, stride, exact. The table shows at most 200 coefficients.
    """
    arch = parse_arch(k, s)
    parsed = forms.parse_filters(_app.check_number_text(filters, "--filters"), "--filters")
    coeffs = [forms.exact_to_json(v) for v in mu(arch, parsed)]
    if as_json:
        print_json({"filter": coeffs, "stride": arch.stride, "exact": True})
        return
    console.print(_app.coefficient_table(f"end-to-end filter of {arch}", [str(c) for c in coeffs],
                                    arch.degree))
    console.print(f"end-to-end stride: {arch.stride}")
