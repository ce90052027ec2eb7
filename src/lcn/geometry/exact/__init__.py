"""Exact geometry of LCN function spaces (MATH.md 3-7).

Exact inputs (ints, ``Fraction``, ``fmpq``, strings) get exact answers: every decision below is
made with integer polynomial arithmetic in python-flint (gcds, exact division, squarefree
decomposition, certified real-root counts), never with floating-point root clustering.
docs/geometry.md explains the algorithms; the short version:

* **Closure** (MATH.md 4): with ``g_l`` the ``I_{S_l}`` divisor written in the hyperroot
  variable ``u_l = (x/y)^{S_l}``, ``F`` is in the Zariski closure iff
  ``deg g_l >= T_l / S_l`` with ``T_l = sum_{i>=l} d_i S_i`` for every level ``l``. The excess
  ``slack_l = deg g_l - T_l/S_l`` is the number of spare level-``l`` orbits.
* **Real membership**: the hyperroot orbits form a forest (a level-``l+1`` orbit splits into
  ``s`` level-``l`` orbits). Deciding membership is choosing, level by level from the top, which
  real orbits stay as hyperroots of that layer and which are split for lower layers. We prove
  (docs/geometry.md) that only the counts of real orbits by kind matter (positive, negative,
  zero/infinity), that the only real constraint is "at least ``e_l`` real hyperroots at level
  ``l``", and that splitting as many orbits as the slack allows, the richest kinds first, is
  optimal. So membership costs a few gcds plus real-root counts of the pieces
  ``g_l / g_{l+1}(u^s)``; those counts are bounded cheaply (parity, Descartes, exact sign
  changes) and computed exactly only when the bounds do not decide.

One concept per file, layered in this order: :mod:`.result` (the :class:`Membership` record),
:mod:`.divisors` (``I_S``), :mod:`.levels` (the divisor chain of a form), :mod:`.counts`
(certified real-root counts), :mod:`.decision` (the greedy), :mod:`.boundary` (labels of
singular points), :mod:`.assembly`, :mod:`.rational` and :mod:`.balls` (factorizations),
:mod:`.decide` (the verbs), :mod:`.regular` (regular points of ``mu``). The facts that depend
only on the architecture live in :mod:`lcn.architecture` and are re-exported here.
"""

from lcn.architecture import (
    boundary_kinds,
    closure_degree,
    ed_degree,
    is_closed,
    is_filling,
    singular_components,
)
from lcn.geometry.exact.decide import in_closure, membership
from lcn.geometry.exact.divisors import i_s
from lcn.geometry.exact.regular import is_regular
from lcn.geometry.exact.result import CATEGORIES, CATEGORY_PRECEDENCE, Membership

__all__ = [
    "CATEGORIES",
    "CATEGORY_PRECEDENCE",
    "Membership",
    "membership",
    "is_regular",
    "singular_components",
    "closure_degree",
    "ed_degree",
    "is_filling",
    "is_closed",
    "boundary_kinds",
    "i_s",
    "in_closure",
]
