"""The complete critical sets of a homotopy chunk: :func:`lcn.homotopy.critical_sets` on the
chunk's datasets in one batched solve, and one census row per dataset.

A dataset the solver refuses (rank-deficient Gram matrix of a data file, MATH.md 8) is not
dropped: its census row says ``certified_complete = 0`` with the solver's message as
``reason``, and it has no points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lcn import homotopy
from lcn.architecture import Architecture
from lcn.errors import DataError
from lcn.training import GramForm

__all__ = ["Census", "solve_censuses"]


@dataclass(frozen=True)
class Census:
    """One dataset's result: the solver's :class:`lcn.homotopy.CriticalSet` (``None`` when
    it refused the dataset) and the census row for the store."""

    critical_set: Any
    row: dict[str, Any]

    @property
    def real_params(self) -> np.ndarray:
        cs = self.critical_set
        if cs is None:
            return np.zeros((0, 0))
        return np.asarray(cs.real_params, dtype=np.float64)



def _row(cs: Any) -> dict[str, Any]:
    return {
        "ed_degree": int(cs.ed_degree), "complex_count": int(cs.complex_count),
        "real_count": int(cs.real_count),
        "zero_count": None if cs.zero_count is None else int(cs.zero_count),
        "certified_complete": int(bool(cs.certified_complete)), "missing": int(cs.missing),
        "reason": str(cs.reason), "certificate": str(cs.certificate), "paths": int(cs.paths),
        "seconds": float(cs.seconds),
    }


def _refused(arch: Architecture, exc: DataError) -> dict[str, Any]:
    return {
        "ed_degree": int(arch.ed_degree), "complex_count": 0, "real_count": 0,
        "zero_count": None, "certified_complete": 0, "missing": int(arch.ed_degree),
        "reason": f"refused by the solver: {exc.argument}: {exc.message}", "certificate": "",
        "paths": 0, "seconds": 0.0,
    }


def solve_censuses(arch: Architecture, grams: Sequence[GramForm], *, max_paths: int,
                   seed: int, device: str) -> list[Census]:
    """Every complex critical point of ``L`` (modulo rescaling, ``mu(w) != 0``) for each Gram
    form, certified (MATH.md 9; :func:`lcn.homotopy.critical_sets`): one batched call; when it
    refuses the batch, dataset by dataset, so that one bad dataset costs only its own row.
    The real points are classified by the caller (with the experiment's ``[classify]``)."""
    try:
        sets = homotopy.critical_sets(arch, list(grams), max_paths=max_paths, seed=seed,
                                      device=device, classify=False)
        return [Census(cs, _row(cs)) for cs in sets]
    except DataError as exc:
        if len(grams) == 1:
            return [Census(None, _refused(arch, exc))]
    out = []
    for g in grams:
        try:
            cs = homotopy.critical_set(arch, g, max_paths=max_paths, seed=seed, device=device,
                                       classify=False)
            out.append(Census(cs, _row(cs)))
        except DataError as exc:
            out.append(Census(None, _refused(arch, exc)))
    return out
