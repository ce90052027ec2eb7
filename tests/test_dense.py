"""Tests of lcn.dense: dense linear networks as the comparator of MATH.md 8.

Oracles: explicit matrix products, finite differences, Eckart-Young (the best rank-r
approximation) and the Baldi-Hornik closed form for whitened data.
"""

from __future__ import annotations

import numpy as np
import pytest

from lcn.dense import (
    DenseArchitecture,
    dense_jacobian,
    dense_mu,
    split_dense,
    whitened_critical_values,
)
from lcn.errors import ArchitectureError, DataError, FilterError
from lcn.training import Dataset, gaussian_dataset, gram_form, train


def test_architecture_facts_and_errors() -> None:
    a = DenseArchitecture((4, 2, 3))
    assert a.layers == 2 and a.rank == 2 and a.parameters == 8 + 6
    assert a.shapes == ((2, 4), (3, 2)) and a.filter_size == 12
    assert a.dimension == 2 * (4 + 3 - 2) and not a.filling
    assert DenseArchitecture("3,3,2").filling and DenseArchitecture([2, 5, 3]).rank == 2
    assert a == DenseArchitecture([4, 2, 3]) and hash(a) == hash(DenseArchitecture((4, 2, 3)))
    assert a.to_dict()["widths"] == [4, 2, 3]
    for bad in ([4], [4, 0, 2], [4, -1], [2.5, 3], ["a", 2], [True, 2], 7):
        with pytest.raises(ArchitectureError, match="widths"):
            DenseArchitecture(bad)


def test_mu_and_jacobian() -> None:
    a = DenseArchitecture((3, 2, 4, 2))
    rng = np.random.default_rng(0)
    th = rng.standard_normal((5, a.parameters))
    W1 = th[:, :6].reshape(5, 2, 3)
    W2 = th[:, 6:14].reshape(5, 4, 2)
    W3 = th[:, 14:].reshape(5, 2, 4)
    assert np.allclose(dense_mu(a, th), (W3 @ W2 @ W1).reshape(5, -1))
    assert [w.shape for w in split_dense(a, th[0])] == [(2, 3), (4, 2), (2, 4)]
    J = dense_jacobian(a, th[0])
    h = 1e-6
    fd = np.stack([(dense_mu(a, th[0] + h * e) - dense_mu(a, th[0] - h * e)) / (2 * h)
                   for e in np.eye(a.parameters)], axis=1)
    assert np.allclose(J, fd, atol=1e-8)
    with pytest.raises(FilterError, match="entries"):
        dense_mu(a, np.zeros(3))


def test_dense_data_shapes() -> None:
    a = DenseArchitecture((4, 2, 3))
    d = gaussian_dataset(a, None, 10, seed=0)
    assert d.X.shape == (4, 10) and d.Y.shape == (3, 10)
    with pytest.raises(DataError, match="output width"):
        gaussian_dataset(a, 5, 10)
    with pytest.raises(DataError, match="dense"):
        gram_form(a, Dataset(np.ones((3, 4)), np.ones((3, 4))))


def test_training_reaches_the_best_rank_r_approximation() -> None:
    """Whitened data: l(W) = ||W - U||_F^2 + c; the global minimum over rank <= r is the
    truncated SVD (Eckart-Young), and gradient descent from a generic start finds it."""
    a = DenseArchitecture((4, 2, 4))
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 4)))
    X = Q.T
    Y = rng.standard_normal((4, 20))
    data = Dataset(X, Y)
    U = Y @ X.T
    Ua, s, Vt = np.linalg.svd(U)
    best = (Ua[:, :2] * s[:2]) @ Vt[:2]
    res = train(a, data, 12, seed=0)
    assert res.converged.mean() >= 0.9
    i = int(np.argmin(res.loss))
    W = dense_mu(a, res.params[i]).reshape(4, 4)
    assert np.allclose(W, best, atol=1e-7 * s[0])
    gf = gram_form(a, data)
    assert np.isclose(res.loss[i], gf.c + (s[2:] ** 2).sum(), rtol=1e-10)


def test_whitened_critical_values_are_critical_on_their_rank_stratum() -> None:
    rng = np.random.default_rng(1)
    U = rng.standard_normal((3, 4))
    vals = whitened_critical_values(U, 2)
    assert len(vals) == 1 + 3 + 3  # subsets of size 0, 1, 2 of 3 singular triples
    for W in vals:
        # gradient of ||W - U||^2 is normal to the rank-r' manifold at W: U_r'^T R = 0, R V_r' = 0
        R = W - U
        Uw, s, Vt = np.linalg.svd(W)
        r = int(np.sum(s > 1e-10))
        assert np.allclose(Uw[:, :r].T @ R, 0, atol=1e-10)
        assert np.allclose(R @ Vt[:r].T, 0, atol=1e-10)


def test_empty_batches() -> None:
    """A search that keeps no point evaluates mu and J on zero rows (was a reshape error)."""
    a = DenseArchitecture((3, 2, 3))
    assert dense_mu(a, np.zeros((0, a.parameters))).shape == (0, 9)
    assert dense_jacobian(a, np.zeros((0, a.parameters))).shape == (0, 9, a.parameters)
