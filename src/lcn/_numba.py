"""numba, optional: the decorator every compiled kernel of ``lcn`` uses, and whether it works.

The kernels (``lcn.training.kernel``, ``lcn.training.polish_kernel``,
``lcn.homotopy.native``, ``lcn.geometry.numerical.lm_kernel``) are compiled on first call and
cached on disk (``cache=True``) and release the GIL (``nogil=True``, so thread pools can share
the work). Without numba :func:`jit` returns the function unchanged and :func:`available` is
``False``; every caller then runs its NumPy or torch version instead. ``import lcn`` does not
import this module (nor numba).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["available", "jit", "numba"]

numba: Any
try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None


def available() -> bool:
    """Whether numba imports (the compiled kernels can run)."""
    return numba is not None


def jit(**options: Any) -> Callable[[Any], Any]:
    """``numba.njit(cache=True, nogil=True, **options)``, or the identity without numba."""
    if numba is None:
        return lambda f: f
    return numba.njit(cache=True, nogil=True, **options)
