"""Initial parameters of the trainers (MATH.md 8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn._validate import check_choice, check_int, check_seed
from lcn.errors import ConfigError, FilterError
from lcn.training.data import Dataset
from lcn.training.gram import GramForm, grams_for
from lcn.training.model import as_params, model_for

__all__ = ["INITS", "init_params"]

#: The named initializations of :func:`init_params` (besides an explicit array).
INITS = ("gaussian", "small", "tied")


def init_params(
    arch: Any,
    data: Dataset | GramForm | Sequence[Dataset | GramForm],
    runs: int,
    init: str | Any = "gaussian",
    seed: int = 0,
) -> NDArray[np.float64]:
    """Initial parameters ``(runs, P)``.

    ``"gaussian"``: every layer Gaussian with expected squared norm ``||u||^{2/L}`` (so
    ``||mu(w)||`` is of the order of the optimum's norm, the layers roughly balanced);
    ``"small"``: the same times ``1e-2`` per layer (the small-initialization regime);
    ``"tied"``: Gaussian, then in every stride-one block the equal-size layers are set equal;
    an array of shape ``(runs, P)``: used as is.

    About ties (MATH.md 8): with stride one the set of tied parameters is invariant under the
    exact gradient flow, but it is not attracting: in floating point a rounding difference
    between tied layers can grow along an unstable direction (measured: 7 of 64 tied runs
    untied within 500 steps). :func:`lcn.training.train` with ``init="tied"`` therefore
    projects every descent iterate back onto the tied set (the tied layers are copies of one
    layer, so they stay *exactly* equal). The polish is not projected: at a tied point that
    is a strict saddle its saddle escape leaves the tied set on purpose; train with
    ``polish=False`` to follow the tied gradient flow alone. An explicit array is never
    projected.
    """
    model = model_for(arch)
    runs = check_int(runs, "runs", min=1, error=ConfigError)
    seed = check_seed(seed, error=ConfigError)
    if not isinstance(init, str):
        th = as_params(model, init, "init")
        if th.shape != (runs, model.P):
            raise FilterError("init", f"has shape {th.shape}; expected ({runs}, {model.P})")
        return np.array(th, dtype=np.float64)
    init = check_choice(init, "init", INITS, error=ConfigError)
    grams = grams_for(model, data, runs)
    unorm = np.array([max(np.linalg.norm(g.u), 1e-12) for g in grams])
    scale = np.broadcast_to(unorm, (runs,)) if len(grams) > 1 else np.full(runs, unorm[0])
    rng = np.random.default_rng(seed)
    th = model.init(rng, runs, scale)
    if init == "small":
        return th * 1e-2
    if init == "tied":
        return np.asarray(model.tie(th))
    return th
