from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcn import Architecture, _mu_kernel, conv_matrix, jacobian, mu, network_matrix, parametrization
from lcn.errors import ExactnessError, FilterError, LCNError, ParseError
from lcn.parametrization import coerce_filters, from_torch, join_params, split_params, to_torch

from .strategies import architectures

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_filters(a: Architecture, rng: np.random.Generator, batch: tuple[int, ...] = ()):
    return [rng.standard_normal((*batch, k)) for k in a.k]


def dense_network_matrix(a: Architecture, fs, n_out: int) -> np.ndarray:
    """Independent oracle: build every T_{w,s} entry by entry and multiply."""
    sizes = a.layer_sizes(n_out)
    T = np.eye(sizes[0])
    for i, (w, s) in enumerate(zip(fs, a.s, strict=True)):
        Ti = np.zeros((sizes[i + 1], sizes[i]))
        for r in range(sizes[i + 1]):
            for j, wj in enumerate(w):
                Ti[r, r * s + j] = wj
        T = Ti @ T
    return T


@SETTINGS
@given(architectures(), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_mu_is_first_row_and_matrix_is_convolution(a: Architecture, n_out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    fs = random_filters(a, rng)
    T = dense_network_matrix(a, fs, n_out)
    v = mu(a, fs)
    assert v.shape == (a.filter_size,)
    np.testing.assert_allclose(T[0, : a.filter_size], v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(network_matrix(a, fs, n_out), T, rtol=1e-10, atol=1e-12)
    # the whole product is the convolution matrix of the end-to-end filter and stride
    np.testing.assert_allclose(conv_matrix(v, a.stride, n_out), T, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(architectures(max_degree=25), st.integers(0, 2**32 - 1))
def test_exact_and_float_mu_agree(a: Architecture, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ints = [rng.integers(-5, 6, size=k).tolist() for k in a.k]
    fracs = [[Fraction(int(v), 3) for v in f] for f in ints]
    exact = mu(a, fracs)
    assert all(isinstance(c, flint.fmpq) for c in exact)
    approx = mu(a, [np.array(f, dtype=float) / 3 for f in ints])
    np.testing.assert_allclose([float(c) for c in exact], approx, rtol=1e-12, atol=1e-12)
    # strings and fmpq take the same exact path
    as_str = [[f"{int(v)}/3" for v in f] for f in ints]
    assert mu(a, as_str) == exact


@SETTINGS
@given(architectures(max_degree=30), st.integers(0, 2**32 - 1))
def test_batched_mu_equals_loop(a: Architecture, seed: int) -> None:
    rng = np.random.default_rng(seed)
    fs = random_filters(a, rng, (3, 2))
    v = mu(a, fs)
    assert v.shape == (3, 2, a.filter_size)
    for i in range(3):
        for j in range(2):
            np.testing.assert_allclose(v[i, j], mu(a, [f[i, j] for f in fs]), rtol=1e-12)
    # a batch broadcasts against a single filter
    if a.layers > 1:
        single = [fs[0][0, 0]] + [f for f in fs[1:]]
        np.testing.assert_allclose(mu(a, single)[0, 0], v[0, 0], rtol=1e-12)
        assert mu(a, single).shape == (3, 2, a.filter_size)


def _mu_torch(a: Architecture, flat):
    """Independent torch implementation: the network applied to the identity gives T^T."""
    import torch
    import torch.nn.functional as F

    n_out = 1
    sizes = a.layer_sizes(n_out)
    x = torch.eye(sizes[0], dtype=torch.float64).unsqueeze(1)  # (n_0, 1, n_0)
    off = 0
    for k, s in zip(a.k, a.s, strict=True):
        x = F.conv1d(x, flat[off : off + k].reshape(1, 1, k), stride=s)
        off += k
    return x.reshape(sizes[0])


@SETTINGS
@given(architectures(max_degree=25), st.integers(0, 2**32 - 1))
def test_jacobian_matches_autograd_and_finite_differences(a: Architecture, seed: int) -> None:
    import torch

    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(a.parameters)
    J = jacobian(a, split_params(a, theta))
    Jt = torch.autograd.functional.jacobian(
        lambda t: _mu_torch(a, t), torch.tensor(theta)
    ).numpy()
    np.testing.assert_allclose(J, Jt, rtol=1e-9, atol=1e-10)
    h = 1e-6
    fd = np.empty_like(J)
    for p in range(a.parameters):
        e = np.zeros(a.parameters)
        e[p] = h
        fd[:, p] = (mu(a, split_params(a, theta + e)) - mu(a, split_params(a, theta - e))) / (2 * h)
    np.testing.assert_allclose(J, fd, rtol=1e-5, atol=1e-6)


@SETTINGS
@given(architectures(max_degree=30), st.integers(0, 2**32 - 1))
def test_generic_jacobian_rank_is_dimension(a: Architecture, seed: int) -> None:
    rng = np.random.default_rng(seed)
    J = jacobian(a, random_filters(a, rng))
    sv = np.linalg.svd(J, compute_uv=False)
    rank = int(np.sum(sv > 1e-8 * sv[0]))
    assert rank == a.dimension


def test_batched_jacobian_shape() -> None:
    a = Architecture((3, 2, 2), (2, 1, 1))
    rng = np.random.default_rng(0)
    fs = random_filters(a, rng, (4,))
    J = jacobian(a, fs)
    assert J.shape == (4, a.filter_size, a.parameters)
    np.testing.assert_allclose(J[2], jacobian(a, [f[2] for f in fs]))


@SETTINGS
@given(architectures(max_degree=30), st.integers(0, 2**32 - 1))
def test_reduced_architecture_has_the_same_end_to_end_filters(a: Architecture, seed: int) -> None:
    rng = np.random.default_rng(seed)
    fs = random_filters(a, rng)
    r = a.reduced()
    merged = []
    for block in a.blocks():
        # a block's layers share S_i; their product is a form in x^S, i.e. a stride-one product
        sub = Architecture([a.k[i] for i in block], [1] * len(block))
        merged.append(mu(sub, [fs[i] for i in block]))
    np.testing.assert_allclose(mu(r, merged), mu(a, fs), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(architectures(max_degree=25), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_to_torch_equals_network_matrix(a: Architecture, n_out: int, seed: int) -> None:
    import torch

    rng = np.random.default_rng(seed)
    fs = random_filters(a, rng)
    net = to_torch(a, fs)
    n0 = a.layer_sizes(n_out)[0]
    x = rng.standard_normal((5, n0))
    out = net(torch.tensor(x).unsqueeze(1)).squeeze(1).detach().numpy()
    np.testing.assert_allclose(out, x @ network_matrix(a, fs, n_out).T, rtol=1e-10, atol=1e-10)
    a2, fs2 = from_torch(net)
    assert a2 == a
    for f, g in zip(fs, fs2, strict=True):
        np.testing.assert_array_equal(f, g)


def test_from_torch_rejects_other_modules() -> None:
    import torch

    with pytest.raises(FilterError, match="nn.Conv1d"):
        from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3, bias=False), torch.nn.ReLU()))
    with pytest.raises(FilterError, match="bias"):
        from_torch(torch.nn.Conv1d(1, 1, 3))
    with pytest.raises(FilterError, match="channel"):
        from_torch(torch.nn.Conv1d(2, 1, 3, bias=False))
    with pytest.raises(FilterError, match="padding"):
        from_torch(torch.nn.Conv1d(1, 1, 3, padding=1, bias=False))
    with pytest.raises(FilterError):
        from_torch(torch.nn.Linear(3, 3))


def test_exact_conv_and_network_matrix() -> None:
    a = Architecture((3, 2), (2, 1))
    fs = [[1, 2, 3], ["1/2", 1]]
    T = network_matrix(a, fs, 2)
    v = mu(a, fs)
    assert list(T[0, : a.filter_size]) == v
    assert list(T[1, a.stride : a.stride + a.filter_size]) == v
    assert all(c == 0 for c in T[1, : a.stride])


def test_import_lcn_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, lcn, lcn.geometry, lcn.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_split_join_roundtrip() -> None:
    a = Architecture((3, 2, 4), (2, 1, 1))
    theta = np.arange(9.0)
    parts = split_params(a, theta)
    assert [p.shape[-1] for p in parts] == [3, 2, 4]
    np.testing.assert_array_equal(join_params(parts), theta)
    with pytest.raises(FilterError):
        split_params(a, np.arange(8.0))


A = Architecture((3, 2), (2, 1))


@pytest.mark.parametrize(
    ("filters", "error", "arg"),
    [
        ([[1, 2, 3]], FilterError, "filters"),  # too few layers
        ([[1, 2, 3], [1, 2], [1]], FilterError, "filters"),  # too many
        ([[1, 2], [1, 2]], FilterError, "filters[0]"),  # wrong length
        ([np.array([1.0, np.nan, 2.0]), np.ones(2)], FilterError, "filters[0]"),
        ([np.array([1.0, 2.0, 3.0]), np.array([np.inf, 1.0])], FilterError, "filters[1]"),
        ([["a", 1, 2], [1, 2]], ParseError, "filters[0]"),
        ("1,2;3,4", FilterError, "filters[0]"),
        ("1,2,3;", ParseError, "filters (layer 2)"),
        ([np.ones((2, 3)), np.ones((3, 2))], FilterError, "filters"),  # batch mismatch
        ([[], [1, 2]], FilterError, "filters[0]"),
        # complex input: refused, not silently cut to its real part
        ([np.array([1.0, 2.0, 3.0 + 1e-3j]), np.ones(2)], FilterError, "filters[0]"),
        ([[1, 2, 3], [1j, 2]], FilterError, "filters[1]"),
    ],
)
def test_bad_filters(filters: object, error: type, arg: str) -> None:
    with pytest.raises(error) as exc:
        mu(A, filters)
    assert exc.value.argument == arg
    assert isinstance(exc.value, LCNError)


def test_exact_path_refuses_floats() -> None:
    with pytest.raises(ExactnessError):
        coerce_filters(A, [[1.5, 2, 3], [1, 2]], exact=True)


def test_conv_matrix_bad_input() -> None:
    with pytest.raises(FilterError, match="s"):
        conv_matrix([1.0, 2.0], 0, 3)
    with pytest.raises(FilterError, match="n_out"):
        conv_matrix([1.0, 2.0], 1, 0)


def test_empty_and_large_batches() -> None:
    a = Architecture((3, 2, 2), (2, 2, 1))
    assert mu(a, [np.zeros((0, k)) for k in a.k]).shape == (0, a.filter_size)
    # more rows than one block: the threaded path agrees with row-by-row products
    rng = np.random.default_rng(1)
    fs = random_filters(a, rng, (40_000,))
    v = mu(a, fs)
    for i in (0, 16_383, 16_384, 39_999):
        np.testing.assert_allclose(v[i], mu(a, [f[i] for f in fs]), rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(_mu_kernel.compiled() is None, reason="numba is not installed")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures(max_degree=40), st.integers(0, 2**32 - 1),
       st.sampled_from([4096, 4097, 9000]))
def test_compiled_mu_equals_exact_products(a: Architecture, seed: int, rows: int) -> None:
    """The kernel path (batches of KERNEL_ROWS rows and more, row counts not a multiple of its
    chunk, broadcast single filters) against exact flint products of integer filters (exact in
    float64 too: the entries stay far below 2^53)."""
    assert rows >= parametrization.KERNEL_ROWS
    rng = np.random.default_rng(seed)
    fs = [rng.integers(-9, 10, size=(rows, k)).astype(float) for k in a.k]
    if a.layers > 1:
        fs[-1] = fs[-1][0]  # one filter broadcast against the batch
    v = mu(a, fs)
    assert v.shape == (rows, a.filter_size)
    assert v.flags.c_contiguous or a.layers == 1  # one layer: no kernel, a transposed view
    for r in (0, 1, rows // 2, rows - 1):
        row = [f[r] if f.ndim == 2 else f for f in fs]
        exact = mu(a, [[int(x) for x in w] for w in row])
        np.testing.assert_array_equal(v[r], [float(x) for x in exact])


@pytest.mark.skipif(_mu_kernel.compiled() is None, reason="numba is not installed")
@pytest.mark.parametrize(
    ("k", "s"),
    [
        ((4, 4), (1, 1)),  # 7 taps: the tap-major copy-out; 4 rows: the two-row pass only
        ((3, 2), (1, 1)),  # odd partial product (3 rows): the one-row remainder pass
        ((2, 2), (5, 1)),  # stride past the partial product: zero rows between the taps
        ((5, 5, 5), (2, 2, 1)),  # 29 taps: the row-major copy-out
        ((1, 3, 1), (1, 2, 1)),  # size-1 layers: tap 0 alone assigns the whole product
    ],
)
def test_compiled_mu_branches_equal_exact_products(k: tuple[int, ...], s: tuple[int, ...]) -> None:
    """Each branch of the kernel (copy-out order, two-row passes and their remainder, gaps
    between taps, single-tap layers) against exact flint products, on a batch one row past a
    whole number of chunks."""
    a = Architecture(k, s)
    rows = 64 * 70 + 1
    assert rows >= parametrization.KERNEL_ROWS
    rng = np.random.default_rng(7)
    fs = [rng.integers(-9, 10, size=(rows, ki)).astype(float) for ki in a.k]
    v = mu(a, fs)
    for r in (0, 63, 64, rows - 1):
        exact = mu(a, [[int(x) for x in f[r]] for f in fs])
        np.testing.assert_array_equal(v[r], [float(x) for x in exact])
