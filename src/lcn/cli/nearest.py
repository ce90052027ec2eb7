"""``lcn nearest``: the nearest point of M (or its closure) to a float filter (MATH.md 3-4)."""

from __future__ import annotations

import numpy as np
import typer

from lcn import forms
from lcn._validate import MAX_SEED, check_choice
from lcn.cli import _app
from lcn.cli._app import app, console, handle_errors, parse_arch, print_json
from lcn.errors import FilterError
from lcn.geometry.numerical import nearest

TARGETS = ("function_space", "closure")
#: Most starts one call polishes (each is a Levenberg-Marquardt solve).
MAX_STARTS = 1000


def float_filter(text: str, argument: str = "--filter") -> list[float]:
    """Floats of a comma-separated filter (read exactly first, so '1/3' and '0.1' work);
    an entry beyond the float range is refused naming ``argument``."""
    out = []
    for i, v in enumerate(forms.parse_vector(_app.check_number_text(text, argument), argument)):
        try:
            x = float(v)
        except OverflowError:
            x = float("inf")
        if not np.isfinite(x):
            raise FilterError(argument, f"entry {i} is beyond the float range; scale the filter")
        out.append(x)
    return out


@app.command("nearest")
@handle_errors
def nearest_cmd(
    k: str = typer.Option(..., "--k", help=_app.K_HELP),
    s: str | None = typer.Option(None, "--s", help=_app.S_HELP),
    filter_: str = typer.Option(..., "--filter", help=_app.FILTER_HELP),
    target: str = typer.Option(
        "function_space", "--target", help="function_space (M) or closure (its Zariski closure)."
    ),
    starts: int = typer.Option(8, "--starts", min=1, max=MAX_STARTS,
                               help="Number of starting points polished."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED,
                             help="Seed of the randomized starts."),
    as_json: bool = typer.Option(False, "--json", help=_app.JSON_HELP),
) -> None:
    """Nearest point of the function space M (or its closure) to a float filter (MATH.md 3-4).

    Euclidean distance; prints the distance, the nearest point, its layer filters (mu of the
    layer filters is the point) and the certificate: grad_norm (first-order optimality,
    relative), starts, agreed (the two best starts reached the same distance within tol).
    JSON: target and NearestResult.to_json(): point, filters (complex entries, closure only,
    as [re, im] pairs), distance, grad_norm, starts, screened, agreed, tol, residual,
    component (closure: the reduced degree vector holding the point, else null).
    """
    arch = parse_arch(k, s)
    check_choice(target, "--target", TARGETS, error=FilterError)
    f = float_filter(filter_)
    res = nearest(arch, f, target=target, starts=starts, seed=seed)
    if as_json:
        print_json({"target": target, **res.to_json()})
        return
    console.print(_app.coefficient_table(
        f"nearest point of the {target.replace('_', ' ')} of {arch}",
        [f"{v:.12g}" for v in res.point], arch.degree))
    for i, w in enumerate(res.filters):
        console.print(f"layer {i + 1}: " + ", ".join(f"{x:.10g}" for x in np.asarray(w)),
                      highlight=False)
    console.print(
        f"distance {res.distance:.6g}  grad_norm {res.grad_norm:.2g}  starts {res.starts}  "
        f"agreed {'yes' if res.agreed else 'no'}  residual {res.residual:.2g}",
        highlight=False,
    )
