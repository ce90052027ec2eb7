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
import re
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
err_console = Console(stderr=True, soft_wrap=True)

K_HELP = "Filter sizes k_1,...,k_L, layer 1 first (e.g. 3,2)."
S_HELP = "Strides s_1,...,s_L, layer 1 first (e.g. 2,1). Default: all ones."
JSON_HELP = "Print machine-readable JSON instead of a table."


#: Library argument names whose errors are reported under the command-line flag that fed them.
_FLAGS = {
    name: f"--{name}"
    for name in ("k", "s", "filter", "filters", "tol", "digits", "seed", "starts", "target")
}


def _flag(argument: str) -> str:
    """``"filters[0]"`` -> ``"--filters[0]"``: the flag behind a library argument name."""
    head = re.match(r"[A-Za-z_]+", argument)
    if head and head.group(0) in _FLAGS and not argument.startswith("--"):
        return _FLAGS[head.group(0)] + argument[head.end() :]
    return argument


def handle_errors(func: F) -> F:
    """Turn :class:`LCNError` into one line on stderr naming the flag, exit code 2 (no
    traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LCNError as exc:
            err_console.print(
                f"error: {_flag(exc.argument)}: {exc.message}", markup=False, highlight=False
            )
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def parse_arch(k: str, s: str | None) -> Architecture:
    """Architecture from the ``--k``/``--s`` strings (errors name the flags via
    :func:`handle_errors`)."""
    return Architecture.parse(k, s)


def print_json(obj: Any) -> None:
    """JSON to stdout (plain print: rich would wrap long lines)."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        if set(v) == {"k", "s"}:  # an architecture: "k | s" keeps the column narrow
            return f"{_fmt(v['k'])} | {_fmt(v['s'])}"
        if v and all(isinstance(b, bool) for b in v.values()):  # flags: name the true ones
            return " ".join(a for a, b in v.items() if b) or "none"
        return " ".join(f"{a}={_fmt(b)}" for a, b in v.items())
    if isinstance(v, list | tuple):
        if v and all(isinstance(x, list | tuple) for x in v):  # e.g. singular components
            return " ".join(f"({_fmt(x)})" for x in v)
        return ",".join(_fmt(x) for x in v) if v else "-"
    return str(v)


def describe_table(archs: list[Architecture], title: str = "LCN architectures") -> Table:
    """A rich table with one column per architecture and one row per key of
    ``describe --json`` (keys as rows keep it readable however many facts there are)."""
    rows = [a.to_dict() for a in archs]
    table = Table(title=title)
    table.add_column("", style="bold", no_wrap=True)
    for a in archs:
        table.add_column(f"k {_fmt(a.k)}\ns {_fmt(a.s)}")
    for key in rows[0]:
        if key in ("k", "s"):
            continue
        table.add_row(key, *(_fmt(r[key]) for r in rows))
    return table


EXAMPLE_ARCHITECTURES: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((3, 3), (1, 1)),  # stride one, filling
    ((2, 2, 2), (1, 1, 1)),  # stride one, three odd degrees: not filling
    ((3, 2), (2, 1)),  # strides > 1, the running example of MATH.md
    ((3, 3, 2), (2, 2, 1)),  # three layers, strides > 1
    ((2, 2, 3), (1, 2, 1)),  # non-reduced: the first two layers merge
    ((3, 1, 2), (2, 2, 1)),  # a layer of size 1
)


@app.command()
@handle_errors
def describe(
    k: str | None = typer.Option(
        None, "--k", help=K_HELP + " Omit to describe a handful of example architectures."
    ),
    s: str | None = typer.Option(None, "--s", help=S_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
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
    coeffs = [forms.exact_to_json(v) for v in value]
    if as_json:
        print_json({"filter": coeffs, "stride": arch.stride, "exact": True})
        return
    table = Table(title=f"end-to-end filter of {arch}")
    table.add_column("coefficient")
    table.add_column("monomial")
    d = arch.degree
    for j, v in enumerate(coeffs):
        table.add_row(str(v), f"x^{d - j} y^{j}")
    console.print(table)
    console.print(f"end-to-end stride: {arch.stride}")


@app.command()
@handle_errors
def experiment(
    config: str | None = typer.Argument(
        None, help="Experiment config (TOML, see docs/experiments.md). Default: the main job."
    ),
    store: str | None = typer.Option(
        None, "--store", help="SQLite store to write (default: the config's, results/NAME.sqlite)."
    ),
    plots: str | None = typer.Option(
        None, "--plots", help="Directory for the PNG plots (default: beside the store)."
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    max_chunks: int | None = typer.Option(
        None, "--max-chunks", min=1, help="Stop after this many new chunks (rerun to resume)."
    ),
    print_default: bool = typer.Option(
        False, "--print-default", help="Print the embedded default config and exit."
    ),
) -> None:
    """Train many networks and search their critical points; store, tabulate and plot.

    Results go to an SQLite store chunk by chunk (one row per training, one per critical
    point); an interrupted run resumes where it stopped when started again with the same
    config, and a store made by another config is refused. At the end: a table per
    architecture of gradient-descent limits and critical points found, split into zero / pure
    smooth interior / singular / boundary / spurious (MATH.md 8), the comparison with the
    theorem, and two PNG plots. Ctrl-C exits with code 130 after keeping every finished chunk.
    """
    from lcn import experiment as ex

    if print_default:
        sys.stdout.write(ex.default_config_text())
        return
    cfg = ex.load_config(config)
    path = store if store is not None else str(cfg.store)
    n_chunks = len(ex.plan_chunks(cfg))
    console.print(
        f"experiment {cfg.name} (config {cfg.hash}): {len(cfg.architectures)} architectures, "
        f"{n_chunks} chunks -> {path}",
        highlight=False,
    )
    outcome = ex.run_experiment(
        cfg, path, console=console, progress=not no_progress, max_chunks=max_chunks
    )
    if outcome.interrupted:
        err_console.print(
            f"interrupted: {outcome.ran} new chunks saved in {path}; run the same command "
            "again to resume",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=130)
    if outcome.ran == 0 and outcome.complete:
        console.print("all chunks were already in the store; nothing to run", highlight=False)
    else:
        console.print(
            f"ran {outcome.ran} chunks in {outcome.seconds:.1f} s "
            f"({outcome.skipped} already in the store)",
            highlight=False,
        )
    ex.print_report(path, console, plots)


@app.command()
@handle_errors
def report(
    results: str = typer.Argument(..., help="Experiment store written by `lcn experiment`."),
    plots: str | None = typer.Option(
        None, "--plots", help="Directory for the PNG plots (default: beside the store)."
    ),
    no_plots: bool = typer.Option(False, "--no-plots", help="Only print, write no PNGs."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Reprint the summary table of an experiment store and redraw its plots.

    Works on incomplete stores too (the title says how many chunks are done). JSON keys:
    config, config_hash, store, chunks {done,total}, seconds, architectures [name, family,
    theorem_applies, spec, train, search {total, converged, unconverged, categories}], checks,
    warnings (e.g. a store written under a config that no longer hashes the same).
    """
    from lcn import experiment as ex

    if as_json:
        summary = ex.summarize(results)
        if not no_plots:
            ex.write_plots(summary, plots)
        print_json(summary.to_dict())
        return
    ex.print_report(results, console, plots, write=not no_plots)


FILTER_HELP = "End-to-end filter: d+1 comma-separated coefficients ordered x^d, ..., y^d."


def _float_json(v: Any) -> list[float]:
    return [float(x) for x in v]


@app.command("nearest")
@handle_errors
def nearest_cmd(
    k: str = typer.Option(..., "--k", help=K_HELP),
    s: str | None = typer.Option(None, "--s", help=S_HELP),
    filter_: str = typer.Option(..., "--filter", help=FILTER_HELP),
    target: str = typer.Option(
        "function_space", "--target", help="function_space (M) or closure (its Zariski closure)."
    ),
    starts: int = typer.Option(8, "--starts", help="Number of starting points polished."),
    seed: int = typer.Option(0, "--seed", help="Seed of the randomized starts."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Nearest point of the function space M (or its closure) to a float filter (MATH.md 3-4).

    Euclidean distance; prints the distance, the nearest point, its layer filters (mu of the
    layer filters is the point) and the certificate: grad_norm (first-order optimality,
    relative), starts, agreed (the two best starts reached the same distance within tol).
    JSON keys: target, distance, point, filters, filters_imag (imaginary parts when the
    closure needs a complex factorization, else null), residual, grad_norm, starts, agreed,
    tol, component (closure: the reduced degree vector holding the point, else null).
    """
    import numpy as np

    from lcn.errors import FilterError
    from lcn.geometry.numerical import nearest

    arch = parse_arch(k, s)
    f = [float(v) for v in forms.parse_vector(filter_, "--filter")]
    if target not in ("function_space", "closure"):
        raise FilterError("--target", f"is {target!r}; use function_space or closure")
    res = nearest(arch, f, target=target, starts=starts, seed=seed)
    cplx = any(np.iscomplexobj(w) for w in res.filters)
    out = {
        "target": target,
        "distance": res.distance,
        "point": _float_json(res.point),
        "filters": [_float_json(np.real(w)) for w in res.filters],
        "filters_imag": [_float_json(np.imag(w)) for w in res.filters] if cplx else None,
        "residual": res.residual,
        "grad_norm": res.grad_norm,
        "starts": res.starts,
        "agreed": res.agreed,
        "tol": res.tol,
        "component": list(res.component) if res.component is not None else None,
    }
    if as_json:
        print_json(out)
        return
    table = Table(title=f"nearest point of the {target.replace('_', ' ')} of {arch}")
    table.add_column("coefficient", justify="right")
    table.add_column("monomial")
    d = arch.degree
    for j, v in enumerate(res.point):
        table.add_row(f"{v:.12g}", f"x^{d - j} y^{j}")
    console.print(table)
    for i, w in enumerate(res.filters):
        console.print(f"layer {i + 1}: " + ", ".join(f"{x:.10g}" for x in np.asarray(w)),
                      highlight=False)
    console.print(
        f"distance {res.distance:.6g}  grad_norm {res.grad_norm:.2g}  starts {res.starts}  "
        f"agreed {'yes' if res.agreed else 'no'}  residual {res.residual:.2g}",
        highlight=False,
    )


@app.command()
@handle_errors
def member(
    k: str = typer.Option(..., "--k", help=K_HELP),
    s: str | None = typer.Option(None, "--s", help=S_HELP),
    filter_: str = typer.Option(..., "--filter", help=FILTER_HELP),
    digits: int | None = typer.Option(
        None, "--digits", help="Decimal digits of a non-rational factorization (default: floats)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
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
    categories in play; its JSON keys: classification, candidates, singular_component, tol,
    distance (to M, relative), in_closure, i_s_degrees, real_roots, multiplicities,
    snap_residual, root_tolerance, and nearest {distance, point, filters} (the nearest point
    of M and its layer filters).

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
        _member_float(arch, filter_, 1e-8 if tol is None else tol, as_json)
        return
    _member_exact(arch, filter_, digits, as_json)


def _member_float(arch: Architecture, filter_text: str, tol: float, as_json: bool) -> None:
    """The float branch of ``lcn member`` (lcn.geometry.classify and nearest)."""
    from lcn.geometry.numerical import classify, nearest

    f = [float(v) for v in forms.parse_vector(filter_text, "--filter")]
    c = classify(arch, f, tol=tol)
    near = nearest(arch, f)
    out = {
        "classification": c.category,
        "candidates": list(c.candidates),
        "singular_component": None if c.component is None else list(c.component),
        "tol": c.tol,
        "distance": c.distance,
        "in_closure": c.in_closure,
        "i_s_degrees": list(c.i_s_degrees),
        "real_roots": c.real_roots,
        "multiplicities": list(c.multiplicities),
        "snap_residual": c.residual,
        "root_tolerance": c.root_tolerance,
        "nearest": {
            "distance": near.distance,
            "point": [float(v) for v in near.point],
            "filters": [[float(v) for v in w] for w in near.filters],
        },
    }
    if as_json:
        print_json(out)
        return
    table = Table(title=f"float filter and the function space of {arch} (tol {tol:g})")
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("value")
    table.add_row("classification", c.category)
    if c.category == "undecided":
        table.add_row("candidates", ", ".join(c.candidates))
    table.add_row("singular component", _fmt(out["singular_component"])
                  if c.component is not None else "-")
    table.add_row("distance to M (relative)", f"{c.distance:.3g}")
    table.add_row("in closure (snapped)", _fmt(c.in_closure))
    table.add_row("deg I_S per reduced layer", _fmt(list(c.i_s_degrees)))
    table.add_row("real roots", str(c.real_roots))
    console.print(table)
    for i, w in enumerate(near.filters):
        console.print(f"nearest point, layer {i + 1}: " + ", ".join(f"{x:.10g}" for x in w),
                      highlight=False)


def _member_exact(arch: Architecture, filter_text: str, digits: int | None, as_json: bool) -> None:
    """The exact branch of ``lcn member`` (lcn.geometry.membership)."""
    from lcn.geometry.exact import membership

    F = forms.parse_vector(filter_text, "--filter")
    res = membership(arch, F, digits=digits)
    out = res.to_json()
    if as_json:
        print_json(out)
        return
    table = Table(title=f"membership of the filter in the function space of {arch}")
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("value")
    table.add_row("in closure", _fmt(res.in_closure))
    table.add_row("in function space", _fmt(res.in_function_space))
    table.add_row("classification", res.classification)
    comp = out["singular_component"]
    table.add_row("singular component", _fmt(comp) if comp is not None else "-")
    table.add_row("factorization", res.factorization_kind or "-")
    table.add_row("residual", "-" if out["residual"] is None else str(out["residual"]))
    console.print(table)
    if out["factorization"] is not None:
        layers = Table(title="layer filters (mu of these is the filter)")
        layers.add_column("layer", justify="right")
        layers.add_column("k")
        layers.add_column("s")
        layers.add_column("filter")
        for i, w in enumerate(out["factorization"]):
            text = ", ".join(
                f"{v[0]:.10g}{v[1]:+.10g}j" if isinstance(v, list) else
                (f"{v:.12g}" if isinstance(v, float) else str(v))
                for v in w
            )
            layers.add_row(str(i + 1), str(arch.k[i]), str(arch.s[i]), text)
        console.print(layers)


# -- verb: plot -------------------------------------------------------------------------------
# One block (the lead moves it into the CLI package): `lcn plot space|roots|flow`. Its
# imports stand here, at module level, so the block moves as one piece.
from lcn import plot as lcn_plot  # noqa: E402
from lcn.errors import ParseError  # noqa: E402

plot_app = typer.Typer(
    help="Pictures of function spaces, factorizations and training (lcn.plot, docs/plots.md). "
    "Each command writes one file (.png, .svg or .pdf by the suffix of --out) and prints its "
    "path; a file not written by lcn plot is only replaced with --force.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(plot_app, name="plot")
_FLAGS.update({name: f"--{name}" for name in (
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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
