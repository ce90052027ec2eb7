"""``lcn plot space|roots|flow``: pictures of function spaces, factorizations and training
(:mod:`lcn.plot`, docs/plots.md)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import typer

from lcn import forms
from lcn import plot as lcn_plot
from lcn.architecture import Architecture
from lcn.cli import _app
from lcn.cli._app import FILTER_HELP, K_HELP, S_HELP, app, handle_errors, parse_arch, print_json
from lcn.errors import ParseError

plot_app = typer.Typer(
    help="Pictures of function spaces, factorizations and training (lcn.plot, docs/plots.md). "
    "Each command writes one file (.png, .svg or .pdf by the suffix of --out) and prints its "
    "path; a file not written by lcn plot is only replaced with --force.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(plot_app, name="plot")
_app._FLAGS.update({name: f"--{name}" for name in (
    "through", "plane", "dims", "resolution", "window", "size", "out", "runs", "steps", "eta",
)})
OUT_HELP = "Output file: .png, .svg or .pdf."
FORCE_HELP = "Replace --out even if it is a file lcn plot did not write."
SIZE_HELP = "Picture size in pixels, WIDTHxHEIGHT (e.g. 1300x620). Default: per picture."
# option objects shared by the three commands (typer reads them as parameter defaults)
_PLOT_K = typer.Option(..., "--k", help=K_HELP)
_PLOT_S = typer.Option(None, "--s", help=S_HELP)
_PLOT_SIZE = typer.Option(None, "--size", help=SIZE_HELP)
_PLOT_OUT = typer.Option(..., "--out", help=OUT_HELP)
_PLOT_FORCE = typer.Option(False, "--force", help=FORCE_HELP)
_PLOT_JSON = typer.Option(False, "--json", help="Print the path and the picture's data (keys "
                          "below) as JSON.")


def _plot_size(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    if text is None:
        return default
    m = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
    if not m:
        raise ParseError("--size", f"cannot parse {text[:30]!r}; give WIDTHxHEIGHT like 1200x800")
    return int(m.group(1)), int(m.group(2))


def _render(k: str, s: str | None, compute: Callable[[Architecture], Any],
            draw: Callable[..., Any], *, out: str, force: bool, size: str | None,
            as_json: bool, default_size: tuple[int, int]) -> None:
    """The shared body of the plot commands: check --out before any work, compute the
    picture's data, draw it, write it (lcn.plot.save) and print the path (or JSON)."""
    lcn_plot.check_target(out, force=force, argument="--out")
    data = compute(parse_arch(k, s))
    path = lcn_plot.save(draw(data, _plot_size(size, default_size)), out, force=force,
                         argument="--out")
    if as_json:
        print_json({"out": str(path), **data.to_json()})
    else:
        sys.stdout.write(f"{path}\n")


_THROUGH_HELP = ("Filter the slice passes through (d+1 entries). Default: one that shows the "
                 "structure.")
_PLANE_HELP = ("Directions of the slice, ';' between them: 2 for a 2-D slice, 3 for a 3-D chart "
               "(e.g. '0,0,0,1,0;0,0,0,0,1').")
_DIMS_HELP = ("2 (slice) or 3 (swallowtail for stride-one quartics; charts of hypersurface "
              "closures). Default: 2 for stride one, 3 otherwise.")
_RESOLUTION_HELP = ("Grid points per axis (2-D) or surface samples per direction (3-D). The work "
                    "is estimated first and refused above 120 s.")


@plot_app.command("space")
@handle_errors
def plot_space(
    *,
    k: str = _PLOT_K,
    s: str | None = _PLOT_S,
    through: str | None = typer.Option(None, "--through", help=_THROUGH_HELP),
    plane: str | None = typer.Option(None, "--plane", help=_PLANE_HELP),
    dims: int | None = typer.Option(None, "--dims", help=_DIMS_HELP),
    resolution: int | None = typer.Option(None, "--resolution", help=_RESOLUTION_HELP),
    window: float | None = typer.Option(None, "--window", help="Half-width of the window."),
    size: str | None = _PLOT_SIZE,
    out: str = _PLOT_OUT,
    force: bool = _PLOT_FORCE,
    as_json: bool = _PLOT_JSON,
) -> None:
    """Picture of a function space (MATH.md 3-6), coloured by exact membership.

    Stride one: a 2-D slice through --through along --plane, pixels coloured by exact
    category and by number of real roots, the discriminant on top; --dims 3 for quartics: the
    swallowtail. Strides > 1 whose closure is a hypersurface (k=2,2 s=2,1; k=3,2 s=2,1; ...):
    a 3-D chart of the closure's real points with M, closure-only points, the singular locus
    and the boundary in distinct colours. JSON keys: out, architecture, kind, through, plane,
    window, samples, categories (per group), method, notes, seconds.
    """
    _render(k, s, lambda arch: lcn_plot.space_data(arch, through, plane, resolution=resolution,
                                                   dims=dims, window=window),
            lcn_plot.draw_space, out=out, force=force, size=size, as_json=as_json,
            default_size=(1300, 620))


@plot_app.command("roots")
@handle_errors
def plot_roots(
    *,
    k: str = _PLOT_K,
    s: str | None = _PLOT_S,
    filter_: str = typer.Option(..., "--filter", help=FILTER_HELP),
    use_float: bool = typer.Option(
        False, "--float", help="Treat the filter as floating point: factorize its nearest "
        "point of M (lcn nearest)."),
    size: str | None = _PLOT_SIZE,
    out: str = _PLOT_OUT,
    force: bool = _PLOT_FORCE,
    as_json: bool = _PLOT_JSON,
) -> None:
    """Roots of a filter grouped into each layer's hyperroot orbits (MATH.md 3).

    Exact filters are factorized exactly (lcn member); with --float the nearest point of M is
    factorized. One colour per layer, orbits of the S-th roots of unity joined, real
    hyperroots filled, the point at infinity in its own box. JSON keys: out, architecture,
    source, distance, tol, markers [layer, orbit, hyperroot, root, multiplicity, real_orbit, S].
    """
    F: Any = forms.parse_vector(filter_, "--filter")
    if use_float:
        F = [float(v) for v in F]
    _render(k, s, lambda arch: lcn_plot.roots_data(arch, F), lcn_plot.draw_roots, out=out,
            force=force,
            size=size, as_json=as_json, default_size=(900, 860))


@plot_app.command("flow")
@handle_errors
def plot_flow(
    *,
    k: str = _PLOT_K,
    s: str | None = _PLOT_S,
    seed: int = typer.Option(0, "--seed", help="Seed of the dataset and the initializations."),
    runs: int = typer.Option(16, "--runs", help="Number of gradient-descent runs."),
    steps: int = typer.Option(3000, "--steps", help="Gradient-descent steps per run."),
    size: str | None = _PLOT_SIZE,
    out: str = _PLOT_OUT,
    force: bool = _PLOT_FORCE,
    as_json: bool = _PLOT_JSON,
) -> None:
    """Gradient-descent trajectories in function space, the loss and the conserved
    quantities ||w_i||^2 - ||w_{i+1}||^2 (MATH.md 8).

    One Gaussian dataset with N = d+1 samples; endpoints polished to critical points and
    classified (lcn.critical). JSON keys: out, architecture, seed, runs, recorded_steps, eta,
    end_categories, undecided, invariant_drift, projection, final_loss, seconds.
    """
    _render(k, s, lambda arch: lcn_plot.flow_data(arch, seed, runs=runs, steps=steps),
            lcn_plot.draw_flow, out=out, force=force, size=size, as_json=as_json,
            default_size=(1600, 600))
