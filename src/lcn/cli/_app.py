"""The machinery every ``lcn`` verb shares: the typer app, the consoles, the one place where
errors become an ``error:`` line (:func:`handle_errors`, :class:`LcnGroup`), architecture
parsing and the JSON/table renderers.

A verb is parse -> call the library -> render ``result.to_json()`` (or a table built from the
same result); nothing here knows a result's schema.
"""

from __future__ import annotations

import json
import math
import re
import signal
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any, NoReturn, TypeVar

import flint
import typer
from rich.console import Console
from rich.table import Table
from typer import _click as click
from typer._click.exceptions import (
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperGroup
from typer.exceptions import Abort

from lcn._validate import MAX_INT_DIGITS
from lcn.architecture import Architecture
from lcn.cli._interrupts import quiet_exit, quiet_interrupts
from lcn.errors import ConfigError, LCNError, ParseError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "FILTER_HELP",
    "JSON_HELP",
    "K_HELP",
    "S_HELP",
    "app",
    "console",
    "err_console",
    "fail",
    "handle_errors",
    "kv_table",
    "main",
    "parse_arch",
    "print_json",
]

K_HELP = "Filter sizes k_1,...,k_L, layer 1 first (e.g. 3,2)."
S_HELP = "Strides s_1,...,s_L, layer 1 first (e.g. 2,1). Default: all ones."
JSON_HELP = "Print machine-readable JSON instead of a table."
FILTER_HELP = "End-to-end filter: d+1 comma-separated coefficients ordered x^d, ..., y^d."

#: Exit code of every refused input (bad value, bad path, usage error), as click uses for usage.
EXIT_BAD_INPUT = 2

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(argument: str | None, message: str) -> NoReturn:
    """Print ``error: ARGUMENT: message`` on one line of stderr and exit with code 2."""
    head = f"{argument}: " if argument else ""
    err_console.print(f"error: {head}{_one_line(message)}", markup=False, highlight=False)
    raise typer.Exit(code=EXIT_BAD_INPUT)


def _usage_line(exc: UsageError) -> str:
    """click's usage error in the shape of every other refused input, ``ARGUMENT: message``."""
    param = getattr(exc, "param", None)
    if isinstance(exc, NoSuchOption):
        hint = f"; did you mean {', '.join(sorted(exc.possibilities))}?" if exc.possibilities \
            else ""
        return f"{exc.option_name}: no such option{hint}"
    if param is not None:
        opts = getattr(param, "opts", None) or []
        if getattr(param, "param_type_name", "") == "option" and opts:
            name = str(opts[0])
        else:
            name = str(getattr(param, "metavar", None) or getattr(param, "name", "")).upper()
        if isinstance(exc, MissingParameter):
            return f"{name}: is missing"
        return f"{name}: {_one_line(exc.message)}"
    return _one_line(exc.format_message())


class LcnGroup(TyperGroup):
    """The ``lcn`` command group: click's usage errors (unknown or missing options, a bad
    integer) become one ``error:`` line and exit code 2, like every other refused input, both
    from the console script and under ``typer.testing.CliRunner``."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False,
                              windows_expand_args=windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:
            assert exc.ctx is not None
            click.echo(exc.ctx.get_help())
            rv = 0
        except UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            err_console.print(f"error: {_usage_line(exc)}{where}", markup=False,
                              highlight=False)
            rv = EXIT_BAD_INPUT
        except ClickException as exc:
            err_console.print(f"error: {_one_line(exc.format_message())}", markup=False,
                              highlight=False)
            rv = exc.exit_code
        except Abort:
            err_console.print("error: aborted", markup=False, highlight=False)
            rv = 1
        code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


#: ``lcn --help``: the conventions every verb shares.
HELP = """The ``lcn`` command-line tool.

Conventions shared by every subcommand:

* ``--k 3,2 --s 2,1``: filter sizes and strides, layer 1 first (it acts on the input first);
* filters are comma-separated taps, layers separated by ``;`` (``"1,2,3;4,5"``);
* entries written as integers, fractions (``1/3``) or decimals (``0.25``) are exact;
* a filter of degree ``d`` is the coefficient vector of a binary form ordered
  ``x^d, x^{d-1}y, ..., y^d`` (MATH.md 2);
* bad input prints one line ``error: ARGUMENT: what is allowed`` and exits with code 2.
"""

app = typer.Typer(
    help=HELP,
    cls=LcnGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


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
    """Decorator of every verb, the one place where failures become output: an
    :class:`LCNError` becomes one line on stderr naming the flag behind the library's argument
    (a :class:`ConfigError` keeps its config key, e.g. ``seed`` or ``architectures[0].k``),
    exit code 2; running out of memory or a number too large for a float becomes the same kind
    of line; NumPy's floating-point warnings are silenced (verbs state their tolerances).

    Only these expected failures are caught: any other exception is a bug and keeps its
    traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return func(*args, **kwargs)
        except ConfigError as exc:
            fail(exc.argument, exc.message)
        except LCNError as exc:
            fail(_flag(exc.argument), exc.message)
        except MemoryError:
            fail(None, "not enough memory for this input; make it smaller")
        except OverflowError as exc:
            fail(None, f"a number is too large to compute with ({exc}); make it smaller")

    return wrapper  # type: ignore[return-value]


def parse_arch(k: str, s: str | None) -> Architecture:
    """Architecture from the ``--k``/``--s`` strings (errors name the flags via
    :func:`handle_errors`)."""
    return Architecture.parse(check_number_text(k, "--k"),
                              None if s is None else check_number_text(s, "--s"))


#: Largest decimal exponent accepted in a number typed on the command line: ``1e400`` is read
#: (an exact integer of 401 digits), ``1e9999999`` would be a ten-million-digit integer.
MAX_EXPONENT = 4000
_NUMBER_PARTS = re.compile(r"[0-9]+|[eE][+-]?[0-9]+")


def check_number_text(text: str, flag: str) -> str:
    """Refuse, before any parsing, numbers whose exact value would be too large to build: a
    run of more than :data:`lcn._validate.MAX_INT_DIGITS` digits (Python's int-string limit)
    or an exponent beyond :data:`MAX_EXPONENT`."""
    for part in _NUMBER_PARTS.findall(text):
        if part[0] in "eE":
            if len(part) > 12 or abs(int(part[1:])) > MAX_EXPONENT:
                raise ParseError(flag, f"has an exponent {part[:12]!r} beyond "
                                 f"{MAX_EXPONENT}; write smaller numbers")
        elif len(part) > MAX_INT_DIGITS:
            raise ParseError(flag, f"has a number of {len(part)} digits (at most "
                             f"{MAX_INT_DIGITS}); write smaller numbers")
    return text


def print_json(obj: Any) -> None:
    """JSON to stdout (plain write: rich would wrap long lines). Non-finite floats are written
    as the strings ``"inf"``/``"-inf"``/``"nan"``, so the output is strict JSON."""
    sys.stdout.write(json.dumps(_strict(obj), indent=2, allow_nan=False) + "\n")


#: Integers of more bits than this are written through flint (3.3 bits per decimal digit).
_INT_BITS = int(3.3 * MAX_INT_DIGITS)


def _big_int(v: int) -> str:
    """Decimal digits of an integer beyond Python's int-string limit (e.g. a closure degree),
    through flint, which has no such limit."""
    return str(flint.fmpz(v))


def _strict(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, int) and not isinstance(obj, bool) and obj.bit_length() > _INT_BITS:
        return _big_int(obj)
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    return obj


def fmt(v: Any) -> str:
    """A JSON value as a table cell (booleans yes/no, lists comma-separated, architectures
    ``k | s``, flag dicts as the names of the true flags)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "-"
    if isinstance(v, dict):
        if set(v) == {"k", "s"}:  # an architecture: "k | s" keeps the column narrow
            return f"{fmt(v['k'])} | {fmt(v['s'])}"
        if v and all(isinstance(b, bool) for b in v.values()):  # flags: name the true ones
            return " ".join(a for a, b in v.items() if b) or "none"
        return " ".join(f"{a}={fmt(b)}" for a, b in v.items())
    if isinstance(v, list | tuple):
        if v and all(isinstance(x, list | tuple) for x in v):  # e.g. singular components
            return " ".join(f"({fmt(x)})" for x in v)
        return ",".join(fmt(x) for x in v) if v else "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, int) and v.bit_length() > _INT_BITS:
        return _big_int(v)
    return str(v)


def kv_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table ``key | value`` (values through :func:`fmt`)."""
    table = Table(title=title)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, fmt(value))
    return table


#: Longest coefficient table drawn; longer filters are summarized (``--json`` has them all).
MAX_TABLE_ROWS = 200


def coefficient_table(title: str, coeffs: Sequence[str], degree: int) -> Table:
    """Coefficients of a form of degree ``degree`` against their monomials ``x^{d-j} y^j``;
    beyond :data:`MAX_TABLE_ROWS` rows only the first and last are drawn (a stride of 10^6
    must not draw a million-row table)."""
    table = Table(title=title)
    table.add_column("coefficient", justify="right")
    table.add_column("monomial")
    n = len(coeffs)
    half = MAX_TABLE_ROWS // 2
    shown = range(n) if n <= MAX_TABLE_ROWS else [*range(half), -1, *range(n - half, n)]
    for j in shown:
        if j < 0:
            table.add_row("...", f"({n - 2 * half} more; --json prints all)")
        else:
            table.add_row(coeffs[j], f"x^{degree - j} y^{j}")
    return table


def main() -> None:
    """Console-script entry point: runs the app with Ctrl-C raising ``KeyboardInterrupt``
    (verbs turn it into exit code 130 after keeping their work), then exits quietly with 130
    on a Ctrl-C during the interpreter's shutdown."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app()
    except KeyboardInterrupt:
        quiet_exit(signal.SIGINT, None)
    except SystemExit as exc:
        quiet_interrupts()
        code = exc.code
        sys.stdout.flush()
        raise SystemExit(code) from None
    quiet_interrupts()
