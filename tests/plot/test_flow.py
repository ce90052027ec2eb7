"""Training pictures: recorded trajectories against the data-space loss, the conserved
quantities of gradient flow (MATH.md 8) and the theorem for reduced architectures."""

from __future__ import annotations

import numpy as np

from lcn import Architecture, network_matrix
from lcn.parametrization import split_params
from lcn.plot import draw_flow, flow_data
from lcn.training import gaussian_dataset


def test_flow_records_descent_and_classifies_endpoints() -> None:
    arch = Architecture((2, 2), (2, 1))
    data = flow_data(arch, 1, runs=4, steps=400, record_every=20, resolution=8)
    runs, T, P = data.params.shape
    assert (runs, P) == (4, arch.parameters) and T == len(data.steps) == 21
    # the recorded loss is the data-space squared error ||Y - T X||^2 (independent oracle)
    ds = gaussian_dataset(arch, N=arch.degree + 1, seed=1)
    for r in range(runs):
        for t in (0, T - 1):
            Tm = np.asarray(network_matrix(arch, split_params(arch, data.params[r, t]),
                                           ds.n_out))
            assert np.isclose(data.loss[r, t], np.sum((ds.Y - Tm @ ds.X) ** 2), rtol=1e-9)
    assert np.all(np.diff(data.loss, axis=1) <= 1e-12 * data.loss[:, :1])  # monotone
    # conserved quantities: ||w_1||^2 - ||w_2||^2 recomputed from the parameters
    w1, w2 = data.params[..., :2], data.params[..., 2:]
    inv = np.sum(w1**2, -1) - np.sum(w2**2, -1)
    assert np.allclose(inv, data.invariants[..., 0])
    assert data.invariant_drift() < 0.05
    # MATH.md 8: reduced architecture, N = d+1 generic data: every critical point reached is
    # zero or pure smooth interior
    assert set(data.end_categories) <= {"zero", "pure_smooth_interior"}
    assert np.all(data.end_rel_grad <= 1e-8)
    assert data.projection == "chart" and data.surface is not None
    fig = draw_flow(data, size=(900, 400))
    assert tuple(fig.get_size_inches() * fig.dpi) == (900, 400)


def test_flow_projects_full_dimensional_spaces() -> None:
    data = flow_data("k=3,2,2", 0, runs=3, steps=200, record_every=50)
    assert data.projection == "pca" and data.surface is None
    assert data.coords.shape == (3, 5, 2) and data.invariants.shape == (3, 5, 2)
    assert data.to_json()["runs"] == 3
