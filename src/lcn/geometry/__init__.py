"""Geometry of LCN function spaces (MATH.md 3-7).

* :mod:`lcn.geometry.exact`: exact decisions for exact filters (closure, real membership,
  factorization, singular and boundary points, regular points of ``mu``);
* :mod:`lcn.geometry.numerical`: float filters (nearest points, distances, tolerant
  classification, numerical regular points);
* :mod:`lcn.geometry.implicit`: implicit equations of the Zariski closure (Shahverdi's
  recursion, the prime ideal by elimination), exported here as :func:`equations`.
"""

from lcn.geometry.exact import *  # noqa: F403
from lcn.geometry.exact import __all__ as _exact_all
from lcn.geometry.implicit import Equations, equations, hypersurface_degree
from lcn.geometry.numerical import *  # noqa: F403
from lcn.geometry.numerical import __all__ as _numerical_all

__all__ = [*_exact_all, *_numerical_all, "Equations", "equations", "hypersurface_degree"]
