"""JSON of the geometry results that do not serialise themselves yet on this branch.

This is the one place the CLI knows a result's fields. When ``NearestResult`` and
``Classification`` gain ``to_json()`` (issue 8), each function here becomes
``return result.to_json()`` (or the verbs call that directly and this file goes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lcn.geometry.numerical import Classification, NearestResult

__all__ = ["classification_json", "nearest_json"]


def _floats(v: Any) -> list[float]:
    return [float(x) for x in np.asarray(v).ravel()]


def nearest_json(res: NearestResult, target: str) -> dict[str, Any]:
    """``lcn nearest --json``: target, distance, point, filters, filters_imag (imaginary parts
    when the closure needs a complex factorization, else null), residual, grad_norm, starts,
    agreed, tol, component."""
    cplx = any(np.iscomplexobj(w) for w in res.filters)
    return {
        "target": target,
        "distance": float(res.distance),
        "point": _floats(res.point),
        "filters": [_floats(np.real(w)) for w in res.filters],
        "filters_imag": [_floats(np.imag(w)) for w in res.filters] if cplx else None,
        "residual": float(res.residual),
        "grad_norm": float(res.grad_norm),
        "starts": int(res.starts),
        "agreed": bool(res.agreed),
        "tol": float(res.tol),
        "component": list(res.component) if res.component is not None else None,
    }


def classification_json(c: Classification) -> dict[str, Any]:
    """``lcn member --float --json`` without the ``nearest`` key: classification,
    candidates, singular_component, tol, distance, in_closure, i_s_degrees, real_roots,
    multiplicities, snap_residual, root_tolerance."""
    return {
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
    }
