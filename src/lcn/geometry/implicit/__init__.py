"""Implicit equations of the Zariski closure of an LCN function space (the neurovariety).

MATH.md 4 and 9; Shahverdi, *Algebraic complexity and neurovariety of linear convolutional
networks* (arXiv 2401.16613). docs/equations.md is the user guide. The files, bottom up:

* :mod:`.levels`: the reduced architecture the closure sees (merged layers, size-1 layers
  dropped);
* :mod:`.sylvester`: the s-decomposition of a form into parts and the generalized Sylvester
  matrix whose minors say "the parts share a common factor of degree e";
* :mod:`.recursion`: Shahverdi's recursion over the layers, one matrix per step;
* :mod:`.minors`: the minors as exact integer polynomials;
* :mod:`.minimize`: minimal generators, every drop certified over Q;
* :mod:`.hilbert` and :mod:`.elimination`: the prime ideal by elimination, its degree and
  codimension;
* :mod:`.export`, :mod:`.result`: the :class:`Equations` result and its formats;
* :mod:`.neurovariety`: the verb :func:`equations`.
"""

from lcn.geometry.implicit.export import FORMATS
from lcn.geometry.implicit.neurovariety import KINDS, equations, hypersurface_degree
from lcn.geometry.implicit.result import Equations

__all__ = ["Equations", "FORMATS", "KINDS", "equations", "hypersurface_degree"]
