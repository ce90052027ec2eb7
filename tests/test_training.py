"""Tests of lcn.training: data, the Gram form, the trainers, the critical-point search.

Oracles: the loss through ``network_matrix`` and through the torch ``Conv1d`` stack (autograd
for gradients), the data-space reference trainer, finite differences, the gradient-flow
invariants, and for ``k=(2,2), s=(2,1)`` an exact count of the real critical points obtained by
eliminating the second layer in closed form (a univariate rational function).
"""

from __future__ import annotations

import math

import flint
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcn import Architecture, network_matrix
from lcn.dense import DenseArchitecture
from lcn.errors import ConfigError, DataError, FilterError
from lcn.parametrization import split_params, to_torch
from lcn.training import (
    Dataset,
    GramForm,
    critical_points,
    function,
    gaussian_dataset,
    gradient,
    gram_form,
    hessian,
    init_params,
    load_dataset,
    loss,
    model_for,
    relative_gradient_norm,
    train,
    train_reference,
)

from .strategies import architectures

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def conv_loss_and_grad(arch: Architecture, data: Dataset, theta: np.ndarray):
    """Independent oracle: loss and gradient through the nn.Conv1d stack on the raw data."""
    net = to_torch(arch, split_params(arch, theta))
    x = torch.as_tensor(np.array(data.X.T)).unsqueeze(1)
    y = torch.as_tensor(np.array(data.Y.T)).unsqueeze(1)
    lv = ((net(x) - y) ** 2).sum()
    grads = torch.autograd.grad(lv, list(net.parameters()))
    return float(lv.detach()), np.concatenate([g.numpy().reshape(-1) for g in grads])


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def test_dataset_validation() -> None:
    with pytest.raises(DataError, match="2-D"):
        Dataset(np.zeros(3), np.zeros((1, 3)))
    with pytest.raises(DataError, match="NaN"):
        Dataset(np.array([[1.0, np.nan]]), np.zeros((1, 2)))
    with pytest.raises(DataError, match="samples"):
        Dataset(np.zeros((3, 4)), np.zeros((1, 5)))
    with pytest.raises(DataError, match="non-empty"):
        Dataset(np.zeros((3, 0)), np.zeros((1, 0)))
    arch = Architecture((3, 2), (2, 1))
    with pytest.raises(DataError, match="n_0 = 5"):
        Dataset(np.ones((4, 7)), np.ones((1, 7))).check(arch)
    d = Dataset(np.ones((5, 7)), np.ones((1, 7))).check(arch)
    assert d.N == 7 and d.n_in == 5 and d.n_out == 1
    with pytest.raises(DataError, match="dense"):
        Dataset(np.ones((3, 7)), np.ones((2, 7))).check(DenseArchitecture((4, 2, 2)))


def test_gaussian_dataset_seeded_and_planted() -> None:
    arch = Architecture((3, 2, 2), (2, 1, 1))
    a = gaussian_dataset(arch, 3, 20, seed=5)
    b = gaussian_dataset(arch, 3, 20, seed=5)
    c = gaussian_dataset(arch, 3, 20, seed=6)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.Y, b.Y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (arch.layer_sizes(3)[0], 20) and a.Y.shape == (3, 20)
    planted = gaussian_dataset(arch, 3, 20, seed=1, target="planted")
    gf = gram_form(arch, planted)
    # noise-free planted data: the minimum is 0 and training reaches it (u lies in M)
    assert gf.c <= 1e-18 * float(np.sum(planted.Y**2))
    res = train(arch, planted, 8, seed=2)
    assert res.loss.min() <= 1e-12 * float(np.sum(planted.Y**2))
    with pytest.raises(DataError, match="target"):
        gaussian_dataset(arch, 3, 20, target="nope")
    with pytest.raises(DataError, match="n_out"):
        gaussian_dataset(arch, 0, 20)
    with pytest.raises(DataError, match="N"):
        gaussian_dataset(arch, 1, 0)


def test_load_dataset_npz_csv_and_errors(tmp_path) -> None:
    arch = Architecture((3, 2), (2, 1))
    d = gaussian_dataset(arch, 2, 9, seed=0)
    np.savez(tmp_path / "d.npz", X=d.X, Y=d.Y)
    e = load_dataset(tmp_path / "d.npz", arch, 2)
    assert np.array_equal(e.X, d.X) and np.array_equal(e.Y, d.Y)
    rows = np.concatenate([d.X.T, d.Y.T], axis=1)
    header = ",".join([f"x{i}" for i in range(d.n_in)] + ["y0", "y1"])
    np.savetxt(tmp_path / "d.csv", rows, delimiter=",", header=header, comments="")
    f = load_dataset(tmp_path / "d.csv", arch, 2)
    assert np.allclose(f.X, d.X, rtol=1e-15, atol=0) and np.allclose(f.Y, d.Y, rtol=1e-15)
    np.savetxt(tmp_path / "nohead.csv", rows, delimiter=",")
    assert load_dataset(tmp_path / "nohead.csv", arch, 2).N == 9
    # wrong shape, NaN, missing keys, bad suffix, missing file: DataError before training
    with pytest.raises(DataError, match="columns"):
        load_dataset(tmp_path / "d.csv", arch, 3)
    with pytest.raises(DataError, match="rows"):
        load_dataset(tmp_path / "d.npz", arch, 3)
    bad = rows.copy()
    bad[2, 1] = np.nan
    np.savetxt(tmp_path / "nan.csv", bad, delimiter=",")
    with pytest.raises(DataError, match="NaN"):
        load_dataset(tmp_path / "nan.csv", arch, 2)
    np.savez(tmp_path / "keys.npz", A=d.X)
    with pytest.raises(DataError, match="'X' and 'Y'"):
        load_dataset(tmp_path / "keys.npz", arch, 2)
    (tmp_path / "d.txt").write_text("1,2\n")
    with pytest.raises(DataError, match="suffix"):
        load_dataset(tmp_path / "d.txt", arch, 2)
    with pytest.raises(DataError, match="not a file"):
        load_dataset(tmp_path / "missing.npz", arch, 2)


# ---------------------------------------------------------------------------------------------
# the Gram form
# ---------------------------------------------------------------------------------------------
@SETTINGS
@given(architectures(max_layers=3, max_k=3, max_s=3, max_degree=16), st.integers(1, 3),
       st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_gram_loss_equals_direct_loss(arch: Architecture, n_out: int, N: int, seed: int) -> None:
    """l(mu(w)) = ||Y - T X||^2 through network_matrix and through Conv1d, also when G is
    singular (n_L N < d + 1 happens here often)."""
    data = gaussian_dataset(arch, n_out, N, seed=seed)
    gf = gram_form(arch, data)
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((3, arch.parameters))
    T = network_matrix(arch, split_params(arch, theta), n_out)
    direct = ((data.Y[None] - T @ data.X[None]) ** 2).sum(axis=(1, 2))
    assert np.allclose(loss(arch, gf, theta), direct, rtol=1e-10, atol=1e-10)
    lv, g = conv_loss_and_grad(arch, data, theta[0])
    assert np.isclose(gf.loss(function(arch, theta[0])), lv, rtol=1e-10, atol=1e-10)
    assert np.allclose(gradient(arch, gf, theta[0]), g, rtol=1e-8, atol=1e-8 * (1 + abs(g).max()))
    # u is a minimizer of l: no filter does better (c = min l)
    vs = rng.standard_normal((20, arch.filter_size)) + gf.u
    assert np.all(gf.loss(vs) >= gf.c - 1e-9 * (1 + gf.c))
    assert gf.c >= -1e-12


def test_gram_form_dense_and_errors() -> None:
    arch = DenseArchitecture((4, 2, 3))
    data = gaussian_dataset(arch, None, 10, seed=1)
    gf = gram_form(arch, data)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((4, arch.parameters))
    Ws = [theta[:, :8].reshape(4, 2, 4), theta[:, 8:].reshape(4, 3, 2)]
    W = Ws[1] @ Ws[0]
    direct = ((data.Y[None] - W @ data.X[None]) ** 2).sum(axis=(1, 2))
    assert np.allclose(loss(arch, gf, theta), direct, rtol=1e-12)
    with pytest.raises(DataError, match="Dataset"):
        gram_form(arch, "data")
    with pytest.raises(DataError, match="size"):
        gram_form(Architecture((3, 2), (2, 1)), gf)
    with pytest.raises(DataError, match="square"):
        GramForm(np.eye(3), np.zeros(2), 0.0)


def test_gradient_and_hessian_against_finite_differences() -> None:
    arch = Architecture((3, 2, 2), (2, 1, 1))
    data = gaussian_dataset(arch, 2, 12, seed=3)
    gf = gram_form(arch, data)
    rng = np.random.default_rng(1)
    th = rng.standard_normal(arch.parameters)
    h = 1e-6
    E = np.eye(arch.parameters)
    fd_g = np.array([(loss(arch, gf, th + h * e) - loss(arch, gf, th - h * e)) / (2 * h)
                     for e in E])
    g = gradient(arch, gf, th)
    assert np.allclose(g, fd_g, rtol=1e-6, atol=1e-6 * abs(g).max())
    H = hessian(arch, gf, th)
    fd_H = np.stack([(gradient(arch, gf, th + h * e) - gradient(arch, gf, th - h * e)) / (2 * h)
                     for e in E])
    assert np.allclose(H, H.T, atol=1e-10 * abs(H).max())
    assert np.allclose(H, fd_H, rtol=1e-5, atol=1e-6 * abs(H).max())


# ---------------------------------------------------------------------------------------------
# trainers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arch,n_out",
    [
        (Architecture((3, 3, 3), (2, 2, 1)), 3),
        (Architecture((2, 2, 2), (1, 1, 1)), 2),
        (Architecture((4,), (3,)), 2),
        (DenseArchitecture((4, 2, 3)), None),
    ],
)
def test_gram_and_reference_trainers_follow_the_same_trajectory(arch, n_out) -> None:
    data = gaussian_dataset(arch, n_out, 25, seed=4)
    gf = gram_form(arch, data)
    lr = 0.02 / gf.norm
    a = train(arch, data, 4, steps=60, lr=lr, polish=False, record_every=5, seed=7)
    for mode in ("grouped", "per_run"):
        b = train_reference(arch, data, 4, steps=60, lr=lr, record_every=5, seed=7, mode=mode)
        assert np.array_equal(a.trajectories["step"], b.trajectories["step"])
        pa, pb = a.trajectories["params"], b.trajectories["params"]
        # issue 14: the fused closed-form step follows autograd on the raw data to 1e-12
        assert a.backend == ("engine" if isinstance(arch, DenseArchitecture) else "fused")
        assert np.abs(pa - pb).max() <= 1e-12 * np.abs(pb).max()
        la, lb = a.trajectories["loss"], b.trajectories["loss"]
        assert np.allclose(la, lb, rtol=1e-12)
        # the trajectory moved (a test that cannot fail is no test)
        assert np.abs(pb[:, -1] - pb[:, 0]).max() > 1e-3


def test_reference_trainer_with_one_dataset_per_run() -> None:
    arch = Architecture((3, 2), (2, 1))
    datasets = [gaussian_dataset(arch, 2, 15, seed=s) for s in range(3)]
    lr = 0.01 / max(gram_form(arch, d).norm for d in datasets)
    a = train(arch, datasets, 3, steps=40, lr=lr, polish=False, seed=1)
    b = train_reference(arch, datasets, 3, steps=40, lr=lr, seed=1)
    assert np.abs(a.params - b.params).max() <= 1e-12 * np.abs(b.params).max()
    # each run really used its own dataset
    c = train(arch, datasets[0], 3, steps=40, lr=lr, polish=False, seed=1)
    assert np.allclose(a.params[0], c.params[0]) and not np.allclose(a.params[1], c.params[1])


def test_invariants_drift_shrinks_with_the_step() -> None:
    """||w_i||^2 - ||w_j||^2 is conserved by gradient flow: GD drifts O(lr) over a fixed time."""
    arch = Architecture((3, 2, 2), (2, 2, 1))
    data = gaussian_dataset(arch, 2, 20, seed=2)
    gf = gram_form(arch, data)
    lr = 0.02 / gf.norm
    big = train(arch, data, 6, steps=200, lr=lr, polish=False, seed=3)
    small = train(arch, data, 6, steps=1600, lr=lr / 8, polish=False, seed=3)
    moved = np.abs(big.params - big.initial_params).max()
    assert moved > 0.05
    assert np.all(small.invariant_drift <= 0.25 * big.invariant_drift + 1e-14)
    assert small.invariant_drift.max() <= 1e-2 * small.invariant_scale.max()
    # an independent recomputation of the drift
    q0 = np.stack([(w**2).sum(-1) for w in split_params(arch, small.initial_params)], 1)
    q1 = np.stack([(w**2).sum(-1) for w in split_params(arch, small.gd_params)], 1)
    drift = np.abs((q1[:, :, None] - q1[:, None]) - (q0[:, :, None] - q0[:, None])).max((1, 2))
    assert np.allclose(drift, small.invariant_drift, rtol=1e-9, atol=1e-15)


def test_tied_filters_stay_tied_in_stride_one() -> None:
    """Issue 15 defect 6: the tied set is invariant but not attracting. Before the fix,
    k=(3,2,2) s=(1,1,1) on this data untied 1 of 64 runs within 500 steps (difference 1.37);
    init="tied" now keeps the tie exactly through the descent."""
    for arch, n_out, N, seed in ((Architecture((2, 2, 3), (1, 1, 1)), 2, 20, 8),
                                 (Architecture((3, 2, 2), (1, 1, 1)), 1, 6, 0)):
        data = gaussian_dataset(arch, n_out, N, seed=seed)
        res = train(arch, data, 64, init="tied", steps=500, polish=False)
        w = split_params(arch, res.params)
        i, j = model_for(arch).perm_groups[0][:2]
        assert np.array_equal(w[i], w[j])
        assert np.abs(res.params - res.initial_params).max() > 1e-3


def test_train_converges_to_critical_points() -> None:
    arch = Architecture((3, 3, 2), (2, 2, 1))
    data = gaussian_dataset(arch, 2, 30, seed=11)
    res = train(arch, data, 24, seed=1)
    assert res.converged.mean() >= 0.9
    ok = res.converged
    assert np.all(res.rel_grad_norm[ok] <= 1e-10)
    # independent check of criticality: the conv-stack autograd gradient is tiny
    for th in res.params[ok][:5]:
        lv, g = conv_loss_and_grad(arch, data, th)
        assert np.isclose(lv, loss(arch, data, th), rtol=1e-10)
        assert np.linalg.norm(g) <= 1e-7 * max(1.0, lv)
    assert np.allclose(relative_gradient_norm(arch, data, res.params), res.rel_grad_norm,
                       rtol=1e-6, atol=1e-13)
    # monotone descent with the automatic step: final loss below the initial one
    assert np.all(res.loss <= loss(arch, data, res.initial_params) + 1e-9)


def test_filling_architecture_reaches_the_global_minimum() -> None:
    """Stride one with at most one odd-degree layer fills R[x,y]_d (MATH.md 3): min L = c."""
    arch = Architecture((3, 2), (1, 1))
    data = gaussian_dataset(arch, 3, 30, seed=5)
    gf = gram_form(arch, data)
    res = train(arch, data, 16, seed=0)
    assert res.loss.min() <= gf.c * (1 + 1e-10) + 1e-12
    v = function(arch, res.params[np.argmin(res.loss)])
    assert np.allclose(v, gf.u, rtol=1e-6, atol=1e-6 * np.abs(gf.u).max())


def test_train_input_errors() -> None:
    arch = Architecture((3, 2), (2, 1))
    data = gaussian_dataset(arch, 1, 10, seed=0)
    with pytest.raises(ConfigError, match="runs"):
        train(arch, data, 0)
    with pytest.raises(ConfigError, match="optimizer"):
        train(arch, data, 2, optimizer="adam")
    with pytest.raises(ConfigError, match="lr"):
        train(arch, data, 2, lr=-1.0)
    with pytest.raises(ConfigError, match="init"):
        train(arch, data, 2, init="uniform")
    with pytest.raises(FilterError, match="init"):
        train(arch, data, 2, init=np.zeros((3, arch.parameters)))
    with pytest.raises(DataError, match="datasets for"):
        train(arch, [data, data], 3)
    with pytest.raises(DataError, match="n_0"):
        train(arch, Dataset(np.ones((4, 5)), np.ones((1, 5))), 2)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            train(arch, data, 2, device="cuda")
    with pytest.raises(ConfigError, match="lr"):
        train_reference(arch, data, 2, lr=0.0)


def test_init_params_scales_and_ties() -> None:
    arch = Architecture((3, 3, 2), (1, 1, 2))
    data = gaussian_dataset(arch, 1, 40, seed=0)
    gf = gram_form(arch, data)
    th = init_params(arch, data, 400, "gaussian", seed=0)
    ratio = np.median(np.linalg.norm(function(arch, th), axis=1)) / np.linalg.norm(gf.u)
    assert 0.1 < ratio < 10
    small = init_params(arch, data, 400, "small", seed=0)
    assert np.allclose(small, 1e-2 * th)
    tied = init_params(arch, data, 4, "tied", seed=0)
    w = split_params(arch, tied)
    assert np.array_equal(w[0], w[1]) and not np.array_equal(w[1][:, :2], w[2])


# ---------------------------------------------------------------------------------------------
# critical points
# ---------------------------------------------------------------------------------------------
def _exact_critical_b_values(gf: GramForm) -> list[float]:
    """k=(2,2), s=(2,1): mu((1,b),(c,e)) = (c, bc, e, be) = M(b) z. For fixed b the loss is a
    quadratic in z with minimum f(b) = u^T G u - u^T G M (M^T G M)^{-1} M^T G u + c; critical
    points with a != 0 (up to rescaling) are the real critical points of f. f' = 0 is a
    polynomial equation solved exactly in flint (rationalized G, u)."""
    import sympy as sp

    b = sp.symbols("b")
    G = sp.Matrix(4, 4, lambda i, j: sp.Rational(gf.G[i, j]))
    u = sp.Matrix(4, 1, lambda i, j: sp.Rational(gf.u[i]))
    M = sp.Matrix([[1, 0], [b, 0], [0, 1], [0, b]])
    A = M.T * G * M
    r = M.T * G * u
    f = -(r.T * A.adjugate() * r)[0, 0] / A.det()
    num = sp.numer(sp.together(sp.diff(f, b)))
    coeffs = sp.Poly(sp.expand(num), b).all_coeffs()
    p = flint.fmpq_poly([flint.fmpq(int(sp.fraction(c)[0]), int(sp.fraction(c)[1]))
                         for c in reversed(coeffs)])
    out = []
    for root, _mult in p.numer().complex_roots():
        if root.imag == 0:
            out.append(float(root.real.mid()))
    # MATH.md 9: 6 complex critical points (the generic ED degree of P^1 x P^1), here the
    # degree of an irreducible sextic in b
    assert p.degree() == 6
    return sorted(out)


def test_critical_points_k22_s21_match_exact_count() -> None:
    arch = Architecture((2, 2), (2, 1))
    for seed in (0, 1):
        data = gaussian_dataset(arch, 1, 12, seed=seed)
        gf = gram_form(arch, data)
        exact = _exact_critical_b_values(gf)
        cp = critical_points(arch, data, 200, seed=seed)
        nonzero = [i for i in range(len(cp)) if np.linalg.norm(cp.function[i]) > 1e-8]
        assert len(nonzero) <= 6
        assert np.all(cp.rel_grad_norm <= 1e-10)
        bs = sorted(cp.params[i, 1] / cp.params[i, 0] for i in nonzero)
        assert len(bs) == len(exact), (bs, exact)
        assert np.allclose(bs, exact, rtol=1e-6, atol=1e-8)
        # genuine: the conv-stack gradient vanishes
        for i in nonzero:
            _, g = conv_loss_and_grad(arch, data, cp.params[i])
            assert np.linalg.norm(g) <= 1e-8 * max(1.0, float(cp.loss[i]))


def test_critical_points_are_distinct_and_include_saddles() -> None:
    arch = Architecture((3, 2, 2), (2, 2, 1))
    data = gaussian_dataset(arch, 2, 20, seed=3)
    cp = critical_points(arch, data, 150, seed=2)
    assert len(cp) >= 3
    assert cp.count.sum() == (cp.labels >= 0).sum()
    H = hessian(arch, data, cp.params)
    ev = np.linalg.eigvalsh(H)
    neg = (ev < -1e-6 * np.abs(ev).max(axis=1, keepdims=True)).sum(axis=1)
    assert neg.max() >= 1  # saddles, not only minima
    # distinct up to rescaling: pairwise different end-to-end filters or layer directions
    for i in range(len(cp)):
        for j in range(i):
            same_v = np.allclose(cp.function[i], cp.function[j], rtol=1e-6, atol=1e-9)
            assert not same_v or np.linalg.norm(cp.function[i]) < 1e-8


def test_critical_points_dense_whitened_match_closed_form() -> None:
    """Whitened data (X X^T = I): critical values of a dense network are the sums of subsets
    of at most r singular triples of U = Y X^T (Baldi-Hornik)."""
    from lcn.dense import whitened_critical_values

    arch = DenseArchitecture((3, 2, 3))
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 3)))
    X = Q.T  # 3 x 12 with orthonormal rows: X X^T = I
    Y = rng.standard_normal((3, 12))
    data = Dataset(X, Y)
    gf = gram_form(arch, data)
    assert np.allclose(gf.G, np.eye(9), atol=1e-12)
    U = Y @ X.T
    closed = whitened_critical_values(U, arch.rank)
    cp = critical_points(arch, data, 200, seed=1)
    found = cp.function.reshape(-1, 3, 3)
    ranks = set()
    for W in found:
        dist = min(np.abs(W - C).max() for C in closed)
        assert dist <= 1e-7 * np.abs(U).max()
        ranks.add(int(np.linalg.matrix_rank(W, tol=1e-8 * np.abs(U).max())))
    assert 2 in ranks and (1 in ranks or 0 in ranks)  # rank-deficient (singular) ones too


def test_critical_points_input_errors() -> None:
    arch = Architecture((2, 2), (2, 1))
    data = gaussian_dataset(arch, 1, 8, seed=0)
    with pytest.raises(ConfigError, match="starts"):
        critical_points(arch, data, 0)
    with pytest.raises(ConfigError, match="tied_fraction"):
        critical_points(arch, data, 4, tied_fraction=2.0)


@pytest.mark.gpu
def test_cuda_trainer_matches_cpu() -> None:
    arch = Architecture((3, 3, 2), (2, 2, 1))
    data = gaussian_dataset(arch, 2, 20, seed=0)
    lr = 0.02 / gram_form(arch, data).norm
    a = train(arch, data, 64, steps=100, lr=lr, polish=False, device="cpu")
    b = train(arch, data, 64, steps=100, lr=lr, polish=False, device="cuda")
    assert np.abs(a.params - b.params).max() <= 1e-10
    c = train(arch, data, 64, device="cuda")
    assert c.converged.mean() >= 0.9
    cp = critical_points(arch, data, 64, device="cuda")
    assert len(cp) >= 1 and np.all(cp.rel_grad_norm <= 1e-10)


def test_dedup_keys_identify_permuted_layers_beyond_the_listing_limit() -> None:
    from lcn.training import _MAX_DEDUP_ORDERS, _dedup_keys, _model

    a = Architecture((2,) * 7, (1,) * 7)  # 7! = 5040 orders > the listing limit
    assert math.factorial(7) > _MAX_DEDUP_ORDERS
    model = _model(a)
    rng = np.random.default_rng(5)
    layers = [rng.standard_normal(2) for _ in range(7)]
    theta = np.concatenate(layers)
    perm = rng.permutation(7)
    # permuted, rescaled (product of scales 1) and sign-flipped layers: the same point
    scales = [2.0, 0.5, -1.0, -1.0, 3.0, 1 / 3, 1.0]
    theta2 = np.concatenate([layers[p] * c for p, c in zip(perm, scales, strict=True)])
    v = model.mu(theta[None, :])[0]
    k1, k2 = _dedup_keys(model, theta, v), _dedup_keys(model, theta2, v)
    assert k1.shape == k2.shape == (1, a.filter_size + a.parameters)
    np.testing.assert_allclose(k1, k2, atol=1e-12)
