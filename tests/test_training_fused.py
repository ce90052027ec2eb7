"""Tests of the fused closed-form descent (lcn.training.fused / descent), the package's model
interface and the hostile-input checks of the trainers (issues 8, 14, 15).

Oracles: the generic engine step (vjp through lift matrices, a different code path), the
data-space autograd reference trainer, exact polynomial products in flint, and the gradient
of the loss by finite differences through ``network_matrix``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcn import Architecture, forms, network_matrix
from lcn.dense import DenseArchitecture
from lcn.errors import ConfigError, DataError, LCNError
from lcn.parametrization import balance_layers, lift_matrix, mu, mul_upsampled, split_params
from lcn.training import (
    critical_points,
    gaussian_dataset,
    gradient,
    gram_form,
    init_params,
    kernel,
    loss,
    model_for,
    relative_gradient_norm,
    train,
    train_reference,
)
from lcn.training import fused as fused_mod
from lcn.training.engine import Engine
from lcn.training.fused import up_multiply, up_multiply_vjp

from .strategies import architectures

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# the one batched layer map
# ---------------------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_layer_map_equals_exact_polynomial_product(n: int, k: int, S: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    acc = rng.integers(-5, 6, size=n)
    w = rng.integers(-5, 6, size=k)
    exact = forms.multiply(forms.as_exact(list(acc), "acc"),
                           forms.upsample(forms.as_exact(list(w), "w"), S))
    want = np.array([float(x) for x in exact])
    np.testing.assert_array_equal(mul_upsampled(acc.astype(float), w.astype(float), S), want)
    E = lift_matrix(n, k, S)
    np.testing.assert_array_equal(np.outer(acc, w).reshape(-1) @ E, want)
    # torch (taps, runs) layout: the same map, and its transpose is <gbar, out>'s gradient
    At = torch.as_tensor(acc, dtype=torch.float64)[:, None].repeat(1, 3)
    Wt = torch.as_tensor(w, dtype=torch.float64)[:, None].repeat(1, 3)
    out = up_multiply(At, Wt, S)
    np.testing.assert_array_equal(out[:, 0].numpy(), want)
    gbar = torch.as_tensor(rng.standard_normal((out.shape[0], 3)))
    At.requires_grad_(True)
    Wt.requires_grad_(True)
    ga, gw = torch.autograd.grad((up_multiply(At, Wt, S) * gbar).sum(), [At, Wt])
    dw, dacc = up_multiply_vjp(At.detach(), Wt.detach(), S, gbar)
    np.testing.assert_allclose(dw.numpy(), gw.numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dacc.numpy(), ga.numpy(), rtol=1e-14, atol=1e-14)


def test_balance_layers_keeps_mu_and_equalizes_norms() -> None:
    a = Architecture((3, 2, 4), (2, 1, 1))
    rng = np.random.default_rng(0)
    fs = [rng.standard_normal((5, k)) * c for k, c in zip(a.k, (10.0, 0.1, 3.0), strict=True)]
    fs[0][2] = 0.0  # a zero layer: that row is left alone
    bal = balance_layers(fs)
    np.testing.assert_allclose(mu(a, bal), mu(a, fs), rtol=1e-13, atol=1e-13)
    norms = np.stack([np.linalg.norm(w, axis=-1) for w in bal], axis=1)
    ok = np.arange(5) != 2
    np.testing.assert_allclose(norms[ok], norms[ok][:, :1].repeat(3, 1), rtol=1e-13)
    for w, f in zip(bal, fs, strict=True):
        np.testing.assert_array_equal(w[2], f[2])


# ---------------------------------------------------------------------------------------------
# the fused step follows the engine and the reference
# ---------------------------------------------------------------------------------------------
@SETTINGS
@given(architectures(max_layers=3, max_k=3, max_s=3, max_degree=14), st.integers(1, 3),
       st.integers(0, 2**16), st.booleans())
def test_fused_descent_equals_engine_descent(arch: Architecture, n_out: int, seed: int,
                                             fixed: bool) -> None:
    data = gaussian_dataset(arch, n_out, 12, seed=seed)
    gf = gram_form(arch, data)
    lr = 0.02 / max(gf.norm, 1e-12) if fixed else None
    kw = dict(steps=150, lr=lr, polish=False, seed=seed, record_every=50)
    a = train(arch, data, 7, fused=True, **kw)
    b = train(arch, data, 7, fused=False, **kw)
    assert a.backend == "fused" and b.backend == "engine"
    pa, pb = a.trajectories["params"], b.trajectories["params"]
    # a fixed step can make a run diverge: it must do so in both paths
    np.testing.assert_array_equal(np.isfinite(pa), np.isfinite(pb))
    pa, pb = np.where(np.isfinite(pa), pa, 0.0), np.where(np.isfinite(pb), pb, 0.0)
    scale = max(np.abs(pb).max(), 1e-300)
    # fixed step: the same arithmetic up to summation order. Automatic step: once a run sits
    # at its minimum the backtracking test "loss did not increase" compares values equal to
    # rounding, so the two paths may accept different steps there (measured: up to 7e-11)
    assert np.abs(pa - pb).max() <= (1e-12 if fixed else 1e-9) * scale


def test_fused_descent_per_run_data_and_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """One dataset per run, several cache blocks (BLOCK made small), automatic step."""
    arch = Architecture((3, 3, 2), (2, 2, 1))
    datasets = [gaussian_dataset(arch, 2, 20, seed=s) for s in range(5)]
    data = [datasets[r % 5] for r in range(23)]
    monkeypatch.setattr(fused_mod, "BLOCK", 8)
    a = train(arch, data, 23, steps=300, polish=False, seed=3)
    b = train(arch, data, 23, steps=300, polish=False, seed=3, fused=False)
    assert np.abs(a.params - b.params).max() <= 1e-9 * np.abs(b.params).max()
    # the loss really dropped, each run on its own data
    for r in (0, 1, 22):
        assert loss(arch, data[r], a.params[r]) < loss(arch, data[r], a.initial_params[r])


def test_fused_matches_reference_at_1e12_with_many_runs() -> None:
    arch = Architecture((3, 3, 3), (2, 2, 1))
    data = gaussian_dataset(arch, 8, 64, seed=0)
    gf = gram_form(arch, data)
    lr = 0.01 / (6 * gf.norm * max(1.0, float(np.linalg.norm(gf.u))) ** (4 / 3))
    a = train(arch, data, 300, steps=40, lr=lr, polish=False, seed=1)
    b = train_reference(arch, data, 300, steps=40, lr=lr, seed=1)
    assert np.abs(a.params - b.params).max() <= 1e-12 * np.abs(b.params).max()
    assert np.abs(b.params - b.initial_params).max() > 1e-6


# ---------------------------------------------------------------------------------------------
# the compiled CPU kernel (lcn.training.kernel) follows the torch step and the reference
# ---------------------------------------------------------------------------------------------
needs_numba = pytest.mark.skipif(not kernel.available(), reason="numba is not installed")


@needs_numba
@SETTINGS
@given(architectures(max_layers=4, max_k=4, max_s=3, max_degree=16), st.integers(1, 3),
       st.integers(0, 2**16), st.booleans(), st.sampled_from([1, 5, 130, 300]))
def test_kernel_descent_equals_engine_descent(arch: Architecture, n_out: int, seed: int,
                                              fixed: bool, runs: int) -> None:
    """Run counts below, across and not a multiple of the kernel's CHUNK (128)."""
    data = gaussian_dataset(arch, n_out, 12, seed=seed)
    gf = gram_form(arch, data)
    lr = 0.02 / max(gf.norm, 1e-12) if fixed else None
    # tol=0: no run freezes (a run whose gradient sits at tol may freeze in one path only);
    # freezing is tested below
    kw = dict(steps=150, lr=lr, polish=False, seed=seed, tol=0.0)
    a = train(arch, data, runs, **kw)
    b = train(arch, data, runs, fused=False, **kw)
    assert a.backend == "kernel" and b.backend == "engine"
    np.testing.assert_array_equal(np.isfinite(a.params), np.isfinite(b.params))
    pa, pb = np.where(np.isfinite(a.params), a.params, 0.0), np.where(np.isfinite(b.params),
                                                                     b.params, 0.0)
    scale = max(np.abs(pb).max(), 1e-300)
    if fixed:
        assert np.abs(pa - pb).max() <= 1e-12 * scale
    else:
        # see test_fused_descent_equals_engine_descent: at a minimum the backtracking test
        # compares losses equal to rounding, so accepted steps may differ there (measured
        # here over 300 runs: 4e-9 relative); the losses agree
        assert np.abs(pa - pb).max() <= 1e-7 * scale
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9, atol=1e-12 * np.abs(b.loss).max())


@needs_numba
def test_kernel_per_run_data_threads_tie_and_freezing() -> None:
    """Per-run data and steps, two threads, the tie projection, and runs freezing at
    different checks (steps counted per run) against the generic engine. Fixed steps: the
    same arithmetic up to summation order; the automatic step is compared by its losses
    (near a flat minimum the backtracking test compares values equal to rounding)."""
    arch = Architecture((2, 2, 2), (1, 1, 1))  # stride one: a tied init keeps the tie
    datasets = [gaussian_dataset(arch, 2, 20, seed=s) for s in range(5)]
    data = [datasets[r % 5] for r in range(301)]
    lr = np.array([0.05 / gram_form(arch, d).norm for d in data])
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for init in ("tied", "gaussian"):
            kw = dict(steps=700, polish=False, seed=3, init=init, tol=1e-6)
            a = train(arch, data, 301, lr=lr, **kw)
            b = train(arch, data, 301, lr=lr, fused=False, **kw)
            assert a.backend == "kernel"
            np.testing.assert_array_equal(a.steps, b.steps)
            assert len(set(a.steps.tolist())) > 1  # some runs froze before others
            assert np.abs(a.params - b.params).max() <= 1e-12 * np.abs(b.params).max()
            ws = split_params(arch, a.params)
            assert np.array_equal(ws[0], ws[1]) == (init == "tied")
            a = train(arch, data, 301, **kw)
            b = train(arch, data, 301, fused=False, **kw)
            np.testing.assert_array_equal(a.steps, b.steps)
            np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9)
    finally:
        torch.set_num_threads(old)


@needs_numba
def test_kernel_equals_direct_call_and_oracle_gradient() -> None:
    """One fixed step by descend_steps against the closed form: ``theta - lr grad L`` with
    ``grad L`` from lcn.training.gradient (NumPy, jacobian-based), per-run data, float32 too."""
    arch = Architecture((3, 2, 2), (2, 2, 1))
    model = model_for(arch)
    rng = np.random.default_rng(5)
    R = 140
    grams = [gram_form(arch, gaussian_dataset(arch, 1, 15, seed=s)) for s in range(R)]
    th0 = rng.standard_normal((R, model.P))
    want = np.stack([th0[r] - 1e-3 * gradient(arch, grams[r], th0[r]) for r in range(R)])
    for dt, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        th = th0.astype(dt)
        state = [np.zeros(R, dt), np.zeros((R, model.P), dt), np.zeros((R, model.m), dt),
                 np.ones(R, dt)]
        data = [np.stack([g.G for g in grams]).astype(dt),
                np.stack([g.u for g in grams]).astype(dt),
                np.array([g.c for g in grams], dt), np.array([g.norm for g in grams], dt)]
        rel = np.zeros(R, dt)
        kernel.descend_steps(th, *state, np.ones(R, bool), np.full(R, 1e-3, dt), *data,
                             arch.k, arch.S, None, 1, init=True, rel=rel)
        np.testing.assert_allclose(th, want, rtol=rtol, atol=rtol * np.abs(want).max())
        lossv = state[0]
        want_loss = [loss(arch, grams[r], want[r]) for r in range(R)]
        np.testing.assert_allclose(lossv, want_loss, rtol=100 * rtol)
        # the convergence measure at the new point, against the Jacobian-based NumPy one
        want_rel = [relative_gradient_norm(arch, grams[r], want[r]) for r in range(R)]
        np.testing.assert_allclose(rel, want_rel, rtol=1000 * rtol)


@SETTINGS
@given(architectures(max_layers=4, max_k=4, max_s=3, max_degree=16), st.integers(0, 2**16))
def test_engine_jacobian_norm_identity(arch: Architecture, seed: int) -> None:
    """``||d mu||_F`` from ``L`` products (Engine.jac_norm) against the explicit Jacobian."""
    model = model_for(arch)
    gf = gram_form(arch, gaussian_dataset(arch, 1, 8, seed=seed))
    eng = Engine(model, [gf], 6, torch.device("cpu"), torch.float64)
    th = torch.as_tensor(np.random.default_rng(seed).standard_normal((6, model.P)))
    J = model.jacobian(th.numpy())
    np.testing.assert_allclose(eng.jac_norm(th).numpy(), np.linalg.norm(J, axis=(1, 2)),
                               rtol=1e-12)


def test_compile_failure_falls_back_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    arch = Architecture((3, 2), (2, 1))
    data = gaussian_dataset(arch, 2, 12, seed=1)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    a = train(arch, data, 5, steps=100, polish=False, compile=True)
    b = train(arch, data, 5, steps=100, polish=False, compile=False)
    assert a.backend.startswith("fused (compile failed: RuntimeError")
    assert b.backend == "fused"
    np.testing.assert_array_equal(a.params, b.params)


def test_compile_failure_on_first_call_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    arch = Architecture((3, 2), (2, 1))
    data = gaussian_dataset(arch, 2, 12, seed=1)

    def lazy(fn: object, **kwargs: object) -> object:
        def call(*args: object) -> object:
            raise RuntimeError("inductor failed")
        return call

    monkeypatch.setattr(torch, "compile", lazy)
    a = train(arch, data, 5, steps=100, polish=False, compile=True)
    b = train(arch, data, 5, steps=100, polish=False, compile=False)
    assert "compile failed" in a.backend
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.slow
def test_compiled_step_equals_plain_step() -> None:
    arch = Architecture((3, 3, 3), (2, 2, 1))
    data = gaussian_dataset(arch, 4, 32, seed=2)
    for lr in (None, 1e-4):
        a = train(arch, data, 50, steps=200, lr=lr, polish=False, compile=True)
        b = train(arch, data, 50, steps=200, lr=lr, polish=False, compile=False)
        assert a.backend == "fused+compile"
        assert np.abs(a.params - b.params).max() <= 1e-12 * np.abs(b.params).max()


def test_float32_descent_accuracy() -> None:
    """float32 descent (the docstring's figures): with a fixed step the parameters follow
    float64 to about 1e-6 relative over 300 steps; with the automatic step the backtracking
    may accept other steps, so only the losses agree closely; metrics are float64."""
    arch = Architecture((3, 3, 2), (2, 2, 1))
    data = gaussian_dataset(arch, 2, 20, seed=4)
    lr = 0.02 / gram_form(arch, data).norm
    a = train(arch, data, 16, steps=300, lr=lr, polish=False, dtype="float32", seed=2)
    b = train(arch, data, 16, steps=300, lr=lr, polish=False, seed=2)
    assert a.dtype == "float32" and b.dtype == "float64" and a.params.dtype == np.float64
    rel = np.abs(a.params - b.params).max() / np.abs(b.params).max()
    assert 1e-9 < rel <= 1e-5
    a = train(arch, data, 16, steps=300, polish=False, dtype="float32", seed=2)
    b = train(arch, data, 16, steps=300, polish=False, seed=2)
    assert np.median(np.abs(a.loss - b.loss) / b.loss) <= 1e-6
    c = train(arch, data, 8, dtype="float32", seed=2)  # the polish runs in float64
    assert c.converged.mean() >= 0.75


@pytest.mark.gpu
def test_cuda_fused_matches_cpu_and_float32() -> None:
    arch = Architecture((3, 3, 3), (2, 2, 1))
    data = gaussian_dataset(arch, 4, 32, seed=0)
    lr = 0.01 / gram_form(arch, data).norm
    for compile_ in (False, True):
        a = train(arch, data, 512, steps=200, lr=lr, polish=False, device="cpu")
        b = train(arch, data, 512, steps=200, lr=lr, polish=False, device="cuda",
                  compile=compile_)
        assert np.abs(a.params - b.params).max() <= 1e-12 * np.abs(a.params).max()
    c = train(arch, data, 512, steps=200, lr=lr, polish=False, device="cuda", dtype="float32")
    assert np.abs(c.params - a.params).max() <= 1e-4 * np.abs(a.params).max()
    d = train(arch, data, 256, device="cuda")
    assert d.converged.mean() >= 0.9


# ---------------------------------------------------------------------------------------------
# results serialise themselves
# ---------------------------------------------------------------------------------------------
def test_results_to_json() -> None:
    arch = Architecture((2, 2), (2, 1))
    data = gaussian_dataset(arch, 1, 10, seed=0)
    res = train(arch, data, 3, steps=50, record_every=25, seed=1)
    js = json.loads(json.dumps(res.to_json()))
    assert js["runs"] == 3 and js["backend"] == "fused"
    np.testing.assert_array_equal(np.array(js["params"]), res.params)
    assert len(js["trajectories"]["step"]) == len(res.trajectories["step"])
    cp = critical_points(arch, data, 30, seed=0)
    jc = json.loads(json.dumps(cp.to_json()))
    assert jc["points"] == len(cp) and jc["labels"] == cp.labels.tolist()
    # non-finite numbers become null, never NaN in the JSON
    big = train(arch, data, 2, steps=400, lr=1e100, polish=False)
    text = json.dumps(big.to_json(), allow_nan=False)
    assert "null" in text


# ---------------------------------------------------------------------------------------------
# one model interface, one architecture coercion
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [Architecture((3, 2), (2, 1)), ((3, 2), (2, 1)),
                                  "k=3,2 s=2,1"])
def test_training_accepts_every_architecture_form(spec: object) -> None:
    arch = Architecture((3, 2), (2, 1))
    data = gaussian_dataset(spec, 2, 12, seed=0)
    assert model_for(spec).arch == arch
    np.testing.assert_array_equal(gram_form(spec, data).G, gram_form(arch, data).G)
    np.testing.assert_array_equal(train(spec, data, 2, steps=10, polish=False).params,
                                  train(arch, data, 2, steps=10, polish=False).params)


def test_models_share_one_interface() -> None:
    lcn_m = model_for(Architecture((3, 2), (2, 1)))
    dense_m = model_for(DenseArchitecture((3, 2, 3)))
    rng = np.random.default_rng(0)
    for m in (lcn_m, dense_m):
        th = m.unit_init(rng, 4)
        J = m.jacobian(th)
        assert J.shape == (4, m.m, m.P)
        # mu is multilinear: J @ theta restricted to layer i gives mu back, for every layer
        for s in m.slices:
            np.testing.assert_allclose(np.einsum("rmp,rp->rm", J[:, :, s], th[:, s]),
                                       m.mu(th), rtol=1e-12, atol=1e-12)
    assert lcn_m.lifts() is not None and dense_m.lifts() is None


# ---------------------------------------------------------------------------------------------
# hostile input (issue 15): lcn.errors naming the argument, sizes bounded before allocation
# ---------------------------------------------------------------------------------------------
ARCH = Architecture((3, 2), (2, 1))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"tol": "1e-10"}, "tol"),
        ({"tol": float("nan")}, "tol"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"lr": np.ones((2, 3))}, "lr"),
        ({"lr": np.ones(5)}, "lr"),
        ({"lr": "fast"}, "lr"),
        ({"lr": 1e300}, "lr"),
        ({"runs": 10**12}, "runs"),
        ({"steps": 10**12}, "steps"),
        ({"record_every": 0}, "record_every"),
        ({"dtype": "float16"}, "dtype"),
        ({"device": "tpu"}, "device"),
        ({"rounds": 0}, "rounds"),
        ({"polish_steps": -1}, "polish_steps"),
    ],
)
def test_train_hostile_arguments(kwargs: dict, argument: str) -> None:
    data = gaussian_dataset(ARCH, 1, 8, seed=0)
    args = {"runs": 3, **kwargs}
    with pytest.raises(LCNError) as exc:
        train(ARCH, data, **args)
    assert exc.value.argument == argument


def test_hostile_sizes_are_refused_before_allocation() -> None:
    with pytest.raises(DataError, match="N"):
        gaussian_dataset(ARCH, 1, 10**12)
    with pytest.raises(DataError, match="n_out"):
        gaussian_dataset(ARCH, 10**12, 2)
    with pytest.raises(DataError, match="runs"):
        model_for(ARCH).unit_init(np.random.default_rng(0), 10**12)
    with pytest.raises(DataError, match="seed"):
        gaussian_dataset(ARCH, 1, 4, seed=-3)
    data = gaussian_dataset(ARCH, 1, 8, seed=0)
    with pytest.raises(ConfigError, match="starts"):
        critical_points(ARCH, data, 10**12)
    with pytest.raises(ConfigError, match="seed"):
        init_params(ARCH, data, 3, seed=-1)
    with pytest.raises(LCNError, match="n_out"):
        network_matrix(ARCH, [np.ones(3), np.ones(2)], 10**6)


def test_overflowing_fixed_step_is_reported_not_raised() -> None:
    """A large but accepted fixed step diverges: NaN loss, not converged, no exception."""
    data = gaussian_dataset(ARCH, 1, 8, seed=0)
    res = train(ARCH, data, 3, steps=300, lr=1e100)
    assert not res.converged.any() and np.all(np.isnan(res.loss))
    ws = split_params(ARCH, res.initial_params)
    assert all(np.isfinite(w).all() for w in ws)

