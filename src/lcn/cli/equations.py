"""``lcn equations``: implicit equations of the Zariski closure (MATH.md 4, 9)."""

from __future__ import annotations

import sys

import typer

from lcn._validate import check_choice
from lcn.cli import _app
from lcn.cli._app import K_HELP, S_HELP, app, handle_errors, parse_arch
from lcn.errors import LCNError
from lcn.geometry.implicit import FORMATS, KINDS, equations

_app._FLAGS.update({name: "--" + name.replace("_", "-")
               for name in ("kind", "format", "max_degree", "max_terms", "timeout")})


@app.command("equations")
@handle_errors
def equations_cmd(
    k: str = typer.Option(..., "--k", help=K_HELP),
    s: str | None = typer.Option(None, "--s", help=S_HELP),
    kind: str = typer.Option(
        "set", "--kind", help="set: equations whose common zero set is the closure (any size); "
        "ideal: minimal generators of its prime ideal, by elimination (small cases)."
    ),
    fmt: str = typer.Option(
        "text", "--format", help="text, json, m2 (Macaulay2), singular or msolve."
    ),
    max_degree: int = typer.Option(
        12, "--max-degree", help="Refuse equations of higher degree (before computing them)."
    ),
    max_terms: int = typer.Option(
        2_000_000, "--max-terms", help="Refuse output with more terms than this in all."
    ),
    timeout: float = typer.Option(
        60.0, "--timeout", help="Seconds the elimination of --kind ideal may take."
    ),
    no_minimize: bool = typer.Option(
        False, "--no-minimize", help="Keep every distinct minor (skip the certified linear "
        "algebra that drops those in the ideal of the others)."
    ),
) -> None:
    """Implicit equations of the Zariski closure of the function space (MATH.md 4, 9).

    Polynomials in p0..pd, p_j the coefficient of x^(d-j) y^j, with integer coefficients.
    --kind set: Shahverdi's recursion: for each layer above the first, the parts of the filter
    split by the exponent of x modulo S_l must share a common factor of degree T_l / S_l, i.e.
    the minors of order N - e + 2 of their generalized Sylvester matrix vanish, plus the
    coordinates no product reaches (docs/equations.md); minimized, every drop certified
    exactly. --kind ideal: minimal generators of the prime ideal, by a Groebner basis.
    --format json keys: variables, equations (strings SymPy parses), kind, codimension,
    degree, degree_source, generators, minimal, degrees, architecture, steps, groebner_size.
    m2 / singular / msolve write an input file for Macaulay2, Singular or msolve to stdout.
    """
    arch = parse_arch(k, s)
    check_choice(kind, "kind", KINDS, error=LCNError)
    check_choice(fmt, "format", FORMATS, error=LCNError)
    res = equations(arch, kind, max_degree=max_degree, max_terms=max_terms, timeout=timeout,
                    minimize=not no_minimize)
    text = res.to_format(fmt)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
