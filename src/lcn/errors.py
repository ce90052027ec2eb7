"""Errors raised by :mod:`lcn` for bad input.

Every error derives from :class:`LCNError` and carries the name of the offending argument and
a one-line message saying what is allowed, so the CLI can print a single line and exit with
code 2 instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "LCNError",
    "ArchitectureError",
    "FilterError",
    "ParseError",
    "ExactnessError",
    "DataError",
    "ConfigError",
    "OptionError",
]


class LCNError(ValueError):
    """Base class of every input error of :mod:`lcn`.

    ``argument`` names the argument at fault (``"k"``, ``"filters"``, ``"--s"``, ...).
    Subclassing :class:`ValueError` keeps ``except ValueError`` working for callers that do not
    know about ``lcn``.
    """

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        self.message = message
        super().__init__(f"{argument}: {message}")


class ArchitectureError(LCNError):
    """Bad filter sizes or strides (empty, mismatched, non-positive, non-integer)."""


class FilterError(LCNError):
    """Filters of the wrong count, length or value (NaN, inf, all zero where meaningless)."""


class ParseError(LCNError):
    """A string that could not be parsed (``"3,2"``, ``"1,2;3,4"``, ``"1/3"``)."""


class ExactnessError(LCNError):
    """A floating-point value was given to a function that only accepts exact numbers."""


class DataError(LCNError):
    """A dataset of the wrong shape, with NaN/inf entries, or unreadable."""


class ConfigError(LCNError):
    """An experiment configuration with unknown keys or impossible values."""


class OptionError(LCNError):
    """An option of a computation (a limit, a kind, a format) with an impossible value, or a
    limit the requested output would exceed."""
