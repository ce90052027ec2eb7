"""Numerical regular points of ``mu`` (MATH.md 7): the rank of ``d mu(w)`` at a relative
tolerance."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lcn._validate import check_real
from lcn.architecture import as_architecture
from lcn.errors import FilterError
from lcn.geometry.numerical.model import BatchModel
from lcn.parametrization import coerce_filters

#: Default relative tolerance of :func:`jacobian_rank`: a singular value counts when it is
#: above ``RANK_RTOL * sigma_max``. Filters given to the library are exact to roundoff, so the
#: Jacobian is too and the gap to a genuine zero singular value is many orders wide;
#: :data:`lcn.critical.CRITICAL_RANK_RTOL` is the looser one for solver output.
RANK_RTOL = 1e-9


@dataclass(frozen=True)
class RankResult:
    """Result of :func:`jacobian_rank`: ``rank`` of ``d mu(w)`` (singular values above
    ``rtol * sigma_max`` after balancing the layers), ``dimension`` of ``M``, ``regular``
    (``rank == dimension``), ``smallest_singular_value`` (``sigma_dimension / sigma_max``, the
    relative singular value that decides regularity; ``0.0`` when the Jacobian vanishes) and
    the tolerance ``rtol``."""

    rank: int
    dimension: int
    regular: bool
    smallest_singular_value: float
    rtol: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of all fields (``rank``, ``dimension``, ``regular``,
        ``smallest_singular_value``, ``rtol``)."""
        return asdict(self)


def jacobian_rank(arch: Any, filters: Any, rtol: float = RANK_RTOL) -> RankResult:
    """Numerical rank of the Jacobian of ``mu`` at ``filters`` (MATH.md 7).

    ``w`` is regular iff ``rank d mu(w) = dim M = sum d_i + 1``; the rank never exceeds that
    because of the rescaling symmetry. The layers are first rescaled to equal norms (same
    fibre of ``mu``, same rank, better conditioned), then the singular values ``sigma_i`` of the
    ``(d+1) x sum k_i`` Jacobian are compared with ``rtol * sigma_max``.
    Exact filters (ints, fractions, strings) are converted to floats; their exact answer is
    :func:`lcn.geometry.exact.is_regular`.
    """
    arch = as_architecture(arch)
    rtol = check_real(rtol, "rtol", min=0.0, max=1.0, min_open=True, error=FilterError)
    fs = coerce_filters(arch, filters, exact=False)
    if fs[0].ndim != 1:
        raise FilterError("filters", "jacobian_rank takes one filter per layer, not a batch")
    model = BatchModel(arch.k, arch.S)
    theta = model.balance(np.concatenate([np.asarray(f, dtype=np.float64) for f in fs])[None])
    _, J = model.mu_jac(theta)
    s = np.linalg.svd(J[0], compute_uv=False)
    dim = arch.dimension
    if s.size == 0 or s[0] == 0:
        return RankResult(0, dim, False, 0.0, float(rtol))
    rank = int(np.sum(s > rtol * s[0]))
    sig = float(s[dim - 1] / s[0]) if dim - 1 < s.size else 0.0
    return RankResult(rank, dim, rank == dim, sig, float(rtol))

