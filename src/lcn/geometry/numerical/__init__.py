"""Numerical geometry of LCN function spaces (MATH.md 3-7) for floating-point filters.

Exact membership of a float vector in a lower-dimensional set is meaningless, so this package
answers the questions that make sense for measured or trained filters:

* :func:`nearest` (:mod:`.nearest_point`): the nearest point of the function space ``M`` (or of its
  Zariski closure) to a filter, in the Euclidean norm or in the norm of a positive definite
  matrix, with a factorization into layer filters and a certificate (first-order optimality,
  number of starts, agreement of the two best starts);
* :func:`classify` (:mod:`.classification`): the categories of :data:`lcn.geometry.exact.CATEGORIES`
  decided from the numerical root structure of the filter with a stated tolerance,
  ``"undecided"`` (and the categories in play) when the verdict changes within a factor
  :data:`CLASSIFY_MARGIN` of it;
* :func:`jacobian_rank` (:mod:`.rank`): the numerical rank of ``d mu`` with a relative
  tolerance (MATH.md 7).

The files read bottom-up: ``levels`` (blocks of the architecture), ``model`` (batched ``mu``
and Jacobian), ``lm`` (Levenberg-Marquardt), ``starts`` (root-orbit starting points),
``factorization`` (filters from hyperroots), ``nearest_point``; ``snap`` (root configurations at a
tolerance), ``decide`` (their exact category), ``classification``; ``rank``. Points of the
projective line and their chordal distances come from :mod:`lcn._projective`.
"""

from lcn.geometry.numerical.classification import (
    CLASSIFY_MARGIN,
    CLASSIFY_TOL,
    Classification,
    classify,
)
from lcn.geometry.numerical.nearest_point import NEAREST_TOL, NearestResult, nearest
from lcn.geometry.numerical.rank import RANK_RTOL, RankResult, jacobian_rank

__all__ = [
    "NearestResult",
    "Classification",
    "RankResult",
    "nearest",
    "classify",
    "jacobian_rank",
    "NEAREST_TOL",
    "CLASSIFY_TOL",
    "CLASSIFY_MARGIN",
    "RANK_RTOL",
]
