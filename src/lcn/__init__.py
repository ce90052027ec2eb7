"""lcn: geometry and optimization of linear convolutional networks.

The mathematics is summarised in ``docs/MATH.md`` (a copy of the project's MATH notes). Main
entry points:

* :class:`lcn.Architecture`: filter sizes and strides, derived facts;
* :mod:`lcn.forms`: binary forms as coefficient vectors (float, exact, SymPy);
* :mod:`lcn.parametrization`: the map ``mu``, convolution matrices, Jacobian, torch interop;
* :mod:`lcn.geometry`: membership, factorization, singular/boundary points, nearest points;
* :mod:`lcn.training`: batched training and critical points (imports torch when used);
* :mod:`lcn.homotopy`: all critical points, certified (``critical_set``; not imported by
  ``import lcn``, which stays light).

``import lcn`` does not import torch.
"""

from lcn import errors, forms
from lcn.architecture import Architecture
from lcn.parametrization import conv_matrix, jacobian, mu, network_matrix

__all__ = [
    "Architecture",
    "conv_matrix",
    "errors",
    "forms",
    "jacobian",
    "mu",
    "network_matrix",
]
__version__ = "0.1.0"
