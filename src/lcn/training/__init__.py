"""Training LCNs (and dense linear networks) on the Gram form of the squared error (MATH.md 8).

Data ``X`` (``n_0 x N``) and ``Y`` (``n_L x N``) enter the loss ``L(w) = ||Y - mu(w) X||_F^2``
only through a quadratic form on the end-to-end filter ``v = mu(w)``::

    l(v) = (v - u)^T G (v - u) + c,

(:func:`gram_form`), so one gradient step costs ``O(P d)`` per run, independent of ``N``, and
thousands of runs are one batched torch computation (:func:`train`). Every function also
accepts a :class:`lcn.dense.DenseArchitecture` (``v = vec(W_L...W_1)``).

The package, one concept per module, in import order:

* :mod:`~lcn.training.model` -- the one model interface (LCN and dense implementations);
* :mod:`~lcn.training.data`, :mod:`~lcn.training.gram` -- datasets and the Gram form;
* :mod:`~lcn.training.engine` -- batched torch loss, gradient, Jacobian, Hessian;
* :mod:`~lcn.training.loss` -- the same in NumPy, for users;
* :mod:`~lcn.training.init` -- initializations;
* :mod:`~lcn.training.fused`, :mod:`~lcn.training.descent` -- the fused closed-form descent;
* :mod:`~lcn.training.polish` -- Levenberg-Marquardt and regularized Newton;
* :mod:`~lcn.training.train`, :mod:`~lcn.training.reference` -- the trainers;
* :mod:`~lcn.training.search` -- the critical-point search.

Parameters are flat vectors ``(..., P)``, layer by layer (:func:`lcn.parametrization.join_params`
order for LCNs, row-major matrices for dense networks). ``import lcn.training`` does not import
torch; torch is imported inside the functions that train.
"""

from __future__ import annotations

from lcn.training.data import Dataset, gaussian_dataset, load_dataset
from lcn.training.gram import GramForm, gram_form
from lcn.training.init import INITS, init_params
from lcn.training.loss import (
    function,
    function_jacobian,
    gradient,
    hessian,
    loss,
    relative_gradient_norm,
)
from lcn.training.model import DenseModel, LCNModel, Model, model_for
from lcn.training.reference import train_reference
from lcn.training.search import (
    MAX_DEDUP_ORDERS,
    ZERO_RTOL,
    CriticalPoints,
    critical_points,
    dedup_keys,
)
from lcn.training.train import OPTIMIZERS, TrainResult, train

# names other modules of lcn used before the split (lcn.critical calls training._model)
_model = model_for
_dedup_keys = dedup_keys
_MAX_DEDUP_ORDERS = MAX_DEDUP_ORDERS

__all__ = [
    "Dataset",
    "GramForm",
    "TrainResult",
    "CriticalPoints",
    "Model",
    "LCNModel",
    "DenseModel",
    "INITS",
    "OPTIMIZERS",
    "ZERO_RTOL",
    "gaussian_dataset",
    "load_dataset",
    "gram_form",
    "function",
    "function_jacobian",
    "loss",
    "gradient",
    "hessian",
    "relative_gradient_norm",
    "init_params",
    "model_for",
    "train",
    "train_reference",
    "critical_points",
]
