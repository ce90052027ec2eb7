"""One home for argument checking (the ``sklearn.utils.validation`` of ``lcn``).

Every public function checks its arguments here in its first lines, so each bad input raises
an :mod:`lcn.errors` exception of the same shape: the argument's name and what is allowed.
Nothing here imports NumPy's heavy machinery beyond ``numpy`` itself, and nothing imports
other ``lcn`` modules except :mod:`lcn.errors` (this module is the bottom layer).

Sizes are checked *before* memory is allocated: :func:`check_size` refuses work whose
element count exceeds a limit, naming the number and the limit.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn.errors import LCNError

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_ELEMENTS",
    "check_choice",
    "check_int",
    "check_matrix",
    "check_real",
    "check_seed",
    "check_size",
    "check_vector",
]

#: Longest integer (decimal digits) accepted from text: below Python's int-string limit, so a
#: 5000-digit entry is refused with our error, never with the interpreter's ``ValueError``.
MAX_INT_DIGITS = min(4000, (sys.get_int_max_str_digits() or 4300) - 1)

#: Most float64 elements one call may allocate (about 8 GB) unless the caller raises it.
MAX_ELEMENTS = 10**9

#: Seeds are 64-bit: larger ones would be silently truncated by NumPy's seeding.
MAX_SEED = 2**64 - 1


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_int(
    value: Any,
    argument: str,
    *,
    min: int | None = None,
    max: int | None = None,
    error: type[LCNError] = LCNError,
) -> int:
    """``value`` as a Python ``int`` in ``[min, max]``.

    Accepts ``int``, NumPy integers and integral floats (``3.0``); refuses ``bool``, strings,
    fractional or non-finite floats. The error names ``argument`` and the allowed range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(
            argument, f"is {value!r} ({_type_name(value)}); give an integer{_range(min, max)}"
        )
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise error(argument, f"is {value!r}; give an integer{_range(min, max)}")
        v = int(f)
    if (min is not None and v < min) or (max is not None and v > max):
        raise error(argument, f"is {_short(v)}; give an integer{_range(min, max)}")
    return v


def check_real(
    value: Any,
    argument: str,
    *,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    error: type[LCNError] = LCNError,
) -> float:
    """``value`` as a finite Python ``float`` in ``[min, max]`` (``(min, max]`` with
    ``min_open``). Refuses ``bool``, strings, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(argument, f"is {value!r} ({_type_name(value)}); give a finite number"
                    f"{_range(min, max, min_open)}")
    try:
        v = float(value)
    except OverflowError:
        raise error(argument, f"is too large for a float; give a finite number"
                    f"{_range(min, max, min_open)}") from None
    if not math.isfinite(v):
        raise error(argument, f"is {v}; give a finite number{_range(min, max, min_open)}")
    if (min is not None and (v < min or (min_open and v == min))) or (max is not None and v > max):
        raise error(argument, f"is {v:g}; give a finite number{_range(min, max, min_open)}")
    return v


def check_seed(value: Any, argument: str = "seed", *, error: type[LCNError] = LCNError) -> int:
    """A seed: an integer in ``[0, 2^64 - 1]`` (NumPy's ``SeedSequence`` would silently fold
    larger ones onto smaller ones, so two configs would share rows)."""
    return check_int(value, argument, min=0, max=MAX_SEED, error=error)


def check_choice(
    value: Any, argument: str, choices: Sequence[str], *, error: type[LCNError] = LCNError
) -> str:
    """``value`` if it is one of ``choices`` (strings), else an error listing them."""
    if not isinstance(value, str) or value not in choices:
        raise error(argument, f"is {value!r}; choose one of {', '.join(map(repr, choices))}")
    return value


def check_size(
    count: int, argument: str, *, limit: int = MAX_ELEMENTS, what: str = "elements",
    error: type[LCNError] = LCNError,
) -> int:
    """Refuse work of ``count`` elements beyond ``limit`` before anything is allocated."""
    if count > limit:
        raise error(argument, f"asks for {_short(count)} {what}, more than the limit {limit:,}; "
                    "make it smaller")
    return count


def check_vector(
    value: Any,
    argument: str,
    *,
    length: int | None = None,
    finite: bool = True,
    error: type[LCNError] = LCNError,
) -> NDArray[np.float64]:
    """A 1-D float64 array (of ``length`` entries when given), finite unless told otherwise."""
    arr = _as_float_array(value, argument, error)
    if arr.ndim != 1:
        raise error(argument, f"has shape {arr.shape}; give a 1-D vector")
    if length is not None and arr.shape[0] != length:
        raise error(argument, f"has {arr.shape[0]} entries; give {length}")
    if finite and not np.all(np.isfinite(arr)):
        raise error(argument, "has NaN or infinite entries; give finite numbers")
    return arr


def check_matrix(
    value: Any,
    argument: str,
    *,
    shape: tuple[int | None, int | None] = (None, None),
    finite: bool = True,
    error: type[LCNError] = LCNError,
) -> NDArray[np.float64]:
    """A 2-D float64 array whose shape matches ``shape`` (``None``: any size)."""
    arr = _as_float_array(value, argument, error)
    if arr.ndim != 2:
        raise error(argument, f"has shape {arr.shape}; give a 2-D matrix")
    for axis, want in enumerate(shape):
        if want is not None and arr.shape[axis] != want:
            raise error(argument, f"has shape {arr.shape}; axis {axis} must have size {want}")
    if finite and not np.all(np.isfinite(arr)):
        raise error(argument, "has NaN or infinite entries; give finite numbers")
    return arr


def _as_float_array(value: Any, argument: str, error: type[LCNError]) -> NDArray[np.float64]:
    if isinstance(value, str):
        raise error(argument, "is a string; give numbers (a list or a NumPy array)")
    try:
        with np.errstate(all="ignore"):
            arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(argument, f"cannot be read as numbers ({exc}); give a numeric array") from None
    return arr


def _short(v: int) -> str:
    s = str(v) if abs(v) < 10**30 else f"a {len(str(abs(v)))}-digit integer"
    return s


def _range(lo: float | None, hi: float | None, lo_open: bool = False) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f" <= {hi}"
    return f" in {'(' if lo_open else '['}{lo}, {hi}]"
