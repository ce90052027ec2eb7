"""The compiled LM polish (lcn.training.polish_kernel) against the batched torch polish it
reimplements (polish._lm_solve_torch): from the same starts the same critical points (both
converge, to the same parameters where the gauge rows fix the orbit), on random LCNs with
shared and per-run data, with and without gauge rows; and its Hessian against the torch
engine's (independent: the engine forms the second-order term by difference quotients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcn import Architecture
from lcn.training import gaussian_dataset, gram_form
from lcn.training import polish as pol
from lcn.training import polish_kernel as pk
from lcn.training.engine import Engine
from lcn.training.model import model_for

from .strategies import architectures

pytestmark = pytest.mark.skipif(not pk.available(), reason="numba is not installed")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures(max_layers=4, max_k=4, max_s=3, max_degree=14), st.integers(0, 2**16),
       st.booleans(), st.booleans())
def test_kernel_equals_torch(arch: Architecture, seed: int, gauge: bool, per_run: bool
                             ) -> None:
    model = model_for(arch)
    rng = np.random.default_rng(seed)
    B = 8
    grams = [gram_form(arch, gaussian_dataset(arch, 1, 3 * arch.filter_size, seed=seed + i))
             for i in range(B if per_run else 1)]
    eng = Engine(model, grams, B, torch.device("cpu"), torch.float64)
    th0 = torch.as_tensor(rng.standard_normal((B, model.P)))
    q0 = eng.gauge_values(th0) if gauge and model.L > 1 else None
    a, ra, ia = pol.lm_solve(eng, th0, q0, 200, 1e-11)
    b, rb, ib = pol._lm_solve_torch(eng, th0, q0, 200, 1e-11)
    # the same outcome run for run (rounding may rarely flip a borderline run)
    assert ((ra <= 1e-11) == (rb <= 1e-11)).float().mean() >= 0.75
    ok = (ra <= 1e-11) & (rb <= 1e-11)
    # converged runs reach the same point (the same iteration up to rounding); compare the
    # functions, which do not depend on the rescaling orbit
    same = []
    for r in np.nonzero(ok.numpy())[0]:
        va = model.mu(a[r : r + 1].numpy())[0]
        vb = model.mu(b[r : r + 1].numpy())[0]
        same.append(np.abs(va - vb).max() <= 1e-6 * (1 + np.abs(vb).max()))
    assert not same or np.mean(same) >= 0.9


@pytest.mark.parametrize(("k", "s"), [((3, 2), (2, 1)), ((2, 3, 2), (1, 2, 1)),
                                      ((3, 1, 2), (2, 1, 1)), ((4,), (1,))])
def test_hessian_against_engine(k: tuple[int, ...], s: tuple[int, ...]) -> None:
    arch = Architecture(k, s)
    model = model_for(arch)
    gf = gram_form(arch, gaussian_dataset(arch, 1, 12, seed=4))
    eng = Engine(model, [gf], 3, torch.device("cpu"), torch.float64)
    th = np.random.default_rng(1).standard_normal((3, model.P))
    Href = eng.hessian(torch.as_tensor(th)).numpy()
    kk = np.array(arch.k, np.int64)
    S = np.array(arch.S, np.int64)
    offs = np.concatenate([[0], np.cumsum(kk)]).astype(np.int64)
    m, P, L = arch.filter_size, model.P, len(k)
    for r in range(3):
        g, v, Gr = np.empty(P), np.empty(m), np.empty(m)
        Q, tmp = np.empty((L, m)), np.empty(m)
        pk._grad(th[r], kk, S, offs, gf.G, gf.u, g, v, Gr, Q, np.empty((L + 1, m)),
                 np.empty((L + 1, m)))
        _, gref, _, _ = eng.value_grad(torch.as_tensor(th[r : r + 1]))
        np.testing.assert_allclose(g, gref.numpy()[0], rtol=1e-10, atol=1e-12)
        H = np.empty((P, P))
        pk._hessian(th[r], kk, S, offs, gf.G, Gr, Q, H, np.empty((m, P)), np.empty((m, P)),
                    np.empty(m), tmp)
        scale = np.abs(Href[r]).max()
        np.testing.assert_allclose(H, Href[r], rtol=1e-7, atol=1e-9 * scale)
