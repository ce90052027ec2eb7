"""JSON rendering of the result arrays (non-finite floats become ``null``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["json_array"]


def json_array(a: Any) -> Any:
    """``a`` as nested lists of Python scalars; NaN and infinities as ``None``."""
    if a is None:
        return None
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        obj = arr.astype(object)
        obj[~np.isfinite(arr)] = None
        return obj.tolist()
    return arr.tolist()
