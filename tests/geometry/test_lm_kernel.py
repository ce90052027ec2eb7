"""The compiled Levenberg-Marquardt (lcn.geometry.numerical.lm_kernel) against the NumPy
solver it reimplements (lm.levenberg_marquardt with compiled=False): the same minima from the
same starts, with and without a metric, and its structured Gauss-Newton matrix against the
dense J^T J of the closed-form Jacobian (BatchModel.mu_jac)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lcn.geometry.numerical import lm_kernel
from lcn.geometry.numerical.lm import levenberg_marquardt
from lcn.geometry.numerical.model import BatchModel

pytestmark = pytest.mark.skipif(not lm_kernel.available(), reason="numba is not installed")

ARCHS = [((3, 2), (2, 1)), ((3, 3, 2), (2, 2, 1)), ((2, 2, 2), (1, 1, 1)), ((5, 4), (2, 1)),
         ((4,), (1,)), ((2, 1, 3), (1, 2, 2))]


@settings(max_examples=30, deadline=None)
@given(arch=st.sampled_from(ARCHS), seed=st.integers(0, 10**6), metric=st.booleans(),
       member=st.booleans())
def test_same_minima_as_numpy(arch: tuple[tuple[int, ...], tuple[int, ...]], seed: int,
                              metric: bool, member: bool) -> None:
    model = BatchModel(*arch)
    rng = np.random.default_rng(seed)
    if member:
        f = model.mu(rng.standard_normal((1, model.P)))[0]
        f = f / np.linalg.norm(f) + 1e-3 * rng.standard_normal(model.n)
    else:
        f = rng.standard_normal(model.n)
    f /= np.linalg.norm(f)
    C = None
    if metric:
        M = rng.standard_normal((model.n, model.n))
        C = np.linalg.cholesky(M @ M.T / model.n + np.eye(model.n)).T
    theta = rng.standard_normal((6, model.P))
    th_k, c_k = levenberg_marquardt(model, theta, f, C, compiled=True)
    th_n, c_n = levenberg_marquardt(model, theta, f, C, compiled=False)
    # the same iteration in another summation order: the same local minimum per start
    # (a start near a basin boundary may rarely end in another one)
    close = np.isclose(c_k, c_n, rtol=1e-6, atol=1e-14)
    assert close.mean() >= 5 / 6
    assert np.isclose(c_k.min(), c_n.min(), rtol=1e-6, atol=1e-14)
    # the returned costs are the costs of the returned parameters
    r = model.mu(th_k) - f
    if C is not None:
        r = r @ C.T
    np.testing.assert_allclose(np.einsum("bn,bn->b", r, r), c_k, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("arch", ARCHS)
def test_structured_normal_matrix(arch: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    model = BatchModel(*arch)
    rng = np.random.default_rng(3)
    th = rng.standard_normal(model.P)
    L, n, P = model.L, model.n, model.P
    mu, Q = np.empty(n), np.empty((L, n))
    pre, suf = np.empty((L + 1, n)), np.empty((L + 1, n))
    ks = np.array(model.ks, np.int64)
    Ss = np.array(model.Ss, np.int64)
    offs = np.array(model.offsets, np.int64)
    lm_kernel.products(th, ks, Ss, offs, n, mu, Q, pre, suf)
    mu_ref, J = model.mu_jac(th[None])
    np.testing.assert_allclose(mu, mu_ref[0], rtol=1e-12, atol=1e-14)
    r = rng.standard_normal(n)
    for C in (np.zeros((0, 0)), np.linalg.qr(rng.standard_normal((n, n)))[0]):
        A, g = np.empty((P, P)), np.empty(P)
        jn = lm_kernel._normal(ks, Ss, offs, n, Q, C, r, A, g, np.empty((n, P)),
                               np.empty(2 * n))
        Jc = J[0] if C.shape[0] == 0 else C @ J[0]
        np.testing.assert_allclose(A, Jc.T @ Jc, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(g, Jc.T @ r, rtol=1e-11, atol=1e-13)
        assert np.isclose(jn, np.linalg.norm(Jc), rtol=1e-12)
