"""The ``lcn`` command-line tool.

Conventions shared by every subcommand: see ``lcn --help`` (:data:`lcn.cli._app.HELP`).

Adding a verb: write ``src/lcn/cli/<verb>.py`` with one function decorated
``@app.command()`` then ``@handle_errors`` (both from :mod:`lcn.cli._app`) that parses its
options, calls the library and prints ``result.to_json()`` (``print_json``) or a table built
from the same result; then import the module below (the import is what registers it).
"""

from __future__ import annotations

from lcn.cli._interrupts import quiet_interrupts

# Ctrl-C while the verbs (and the library under them) are imported: exit 130, no traceback.
_restore = quiet_interrupts()

from lcn.cli import (  # noqa: E402
    critical,
    describe,
    equations,
    eval,
    experiment,
    member,
    nearest,
    plot,
    report,
)
from lcn.cli._app import app, handle_errors, main, parse_arch, print_json  # noqa: E402
from lcn.cli.describe import describe_table  # noqa: E402

_restore()

__all__ = [
    "app",
    "critical",
    "describe",
    "describe_table",
    "equations",
    "eval",
    "experiment",
    "handle_errors",
    "main",
    "member",
    "nearest",
    "parse_arch",
    "plot",
    "print_json",
    "report",
]
