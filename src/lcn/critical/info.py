"""The result record of one classified critical point."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class CriticalPointInfo:
    """Classification of one critical point (see :mod:`lcn.critical` for the definitions).

    ``category``: one of :data:`lcn.critical.CATEGORIES` (``"undecided"`` only for a diverged
    run); ``zero``: ``mu(w) = 0``; ``regular``: ``rank == dimension`` (``rank`` of ``d mu(w)`` at
    :data:`~lcn.critical.options.CRITICAL_RANK_RTOL`, ``dimension`` of ``M``);
    ``location``: ``zero | interior | singular | boundary_stride1 | boundary_reduced``;
    ``smooth``: a nonzero point on no singular component; ``boundary``: ``none | stride1 |
    reduced``; ``singular_component``: the degree vector ``d'`` (LCN, of the reduced
    architecture) or ``(r',)`` (dense rank) for singular points; ``pure``: ``mu(w)`` critical
    for the loss on its stratum (``None`` when in doubt); ``spurious_in_M``: not a critical
    point of the loss on the smooth interior (the talk's weaker notion);
    ``stratum_dimension``: dimension of the stratum used for ``pure``;
    ``projected_gradient``: ``||P_T grad l(v)|| / (2||G|| (||v|| + ||u||))``;
    ``morse_index``: negative Hessian eigenvalues; ``nullity``: Hessian kernel dimension
    beyond the symmetry orbit; ``invariants``: ``||w_i||^2 - ||w_{i+1}||^2``; ``loss``;
    ``rel_grad_norm``: the normalization of ``||grad L(w)||`` (how critical ``w`` is);
    ``undecided``: some reading is not clear at the stated tolerances; ``source``: how the
    location was decided (``"classify"``, ``"factorization"``, ``"rank"`` or ``"none"``);
    ``notes``: why a reading is undecided.
    """

    index: int
    category: str
    zero: bool
    regular: bool
    rank: int
    dimension: int
    location: str
    smooth: bool
    singular_component: tuple[int, ...] | None
    boundary: str
    pure: bool | None
    spurious_in_M: bool
    stratum_dimension: int | None
    projected_gradient: float
    morse_index: int
    nullity: int
    invariants: tuple[float, ...]
    loss: float
    rel_grad_norm: float
    undecided: bool = False
    source: str = "factorization"
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of every field (tuples as lists; NaN and infinities, which JSON
        lacks, as ``None``)."""
        def clean(v: Any) -> Any:
            if isinstance(v, tuple | list):
                return [clean(x) for x in v]
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return {f.name: clean(getattr(self, f.name)) for f in fields(self)}

    def to_dict(self) -> dict[str, Any]:
        """All fields as a dict, tuples as lists, floats unchanged (NaN kept)."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}
