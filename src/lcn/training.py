"""Training LCNs (and dense linear networks) on the Gram form of the squared error (MATH.md 8).

Data ``X`` (``n_0 x N``) and ``Y`` (``n_L x N``) enter the loss ``L(w) = ||Y - mu(w) X||_F^2``
only through a quadratic form on the end-to-end filter ``v = mu(w)``::

    l(v) = (v - u)^T G (v - u) + c,

(:func:`gram_form`), so one gradient step costs ``O(P d)`` per run, independent of ``N``, and
thousands of runs are one batched torch computation (:func:`train`). The same module holds the
data-space reference trainer through ``nn.Conv1d`` layers (:func:`train_reference`, the
benchmark's baseline and the trajectory oracle of the tests) and the critical-point search
(:func:`critical_points`), which solves ``grad L(w) = 0`` by damped Gauss-Newton on the
gradient itself, so it converges to saddles as readily as to minima.

Every function also accepts a :class:`lcn.dense.DenseArchitecture` (``v = vec(W_L...W_1)``).

Parameters are flat vectors ``(..., P)``, layer by layer (:func:`lcn.parametrization.join_params`
order for LCNs, row-major matrices for dense networks). ``import lcn.training`` does not import
torch; torch is imported inside the functions that train.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lcn import parametrization
from lcn.architecture import Architecture
from lcn.dense import DenseArchitecture, dense_jacobian, dense_mu
from lcn.errors import ArchitectureError, ConfigError, DataError, FilterError

if TYPE_CHECKING:
    import torch

__all__ = [
    "Dataset",
    "GramForm",
    "TrainResult",
    "CriticalPoints",
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
    "train",
    "train_reference",
    "critical_points",
]

AnyArch = Architecture | DenseArchitecture
FloatArray = NDArray[np.float64]


# ============================================================================================
# Data
# ============================================================================================
#: A critical value ``v = mu(w)`` counts as the zero function when ``||v|| <= ZERO_RTOL ||u||``
#: (``u`` the unconstrained optimum of the Gram form); shared by the search's deduplication and
#: :func:`lcn.critical.classify_critical_points`, so both agree on which points are zero.
ZERO_RTOL = 1e-7


def _as_matrix(a: Any, name: str) -> FloatArray:
    try:
        arr = np.array(a, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise DataError(name, "must be a 2-D array of real numbers") from None
    if arr.ndim != 2:
        raise DataError(name, f"has shape {arr.shape}; it must be 2-D (rows x samples)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(name, f"has shape {arr.shape}; it must be non-empty")
    if not np.all(np.isfinite(arr)):
        raise DataError(name, "contains NaN or inf; every entry must be finite")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset ``X`` (``n_0 x N``, one sample per column) and ``Y`` (``n_L x N``).

    Validated on construction (2-D, finite, same number of samples; :class:`DataError`
    otherwise); the arrays are stored as read-only float64 copies. Shapes against an
    architecture are checked by :meth:`check`.
    """

    X: FloatArray
    Y: FloatArray

    def __post_init__(self) -> None:
        X = _as_matrix(self.X, "X")
        Y = _as_matrix(self.Y, "Y")
        if X.shape[1] != Y.shape[1]:
            raise DataError(
                "Y", f"has {Y.shape[1]} samples (columns) but X has {X.shape[1]}; give one "
                "column per sample in both"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)

    @property
    def N(self) -> int:
        """Number of samples."""
        return int(self.X.shape[1])

    @property
    def n_in(self) -> int:
        """Input length ``n_0``."""
        return int(self.X.shape[0])

    @property
    def n_out(self) -> int:
        """Output length ``n_L``."""
        return int(self.Y.shape[0])

    def check(self, arch: AnyArch, argument: str = "data") -> Dataset:
        """Raise :class:`DataError` unless the shapes fit ``arch``: for an LCN with output
        length ``n_L`` the input length must be ``n_0 = S(n_L - 1) + d + 1`` (MATH.md 1); for a
        dense network ``n_0``, ``n_L`` are the first and last widths."""
        if isinstance(arch, DenseArchitecture):
            n0, nL = arch.widths[0], arch.widths[-1]
            if self.n_in != n0 or self.n_out != nL:
                raise DataError(
                    argument, f"has X with {self.n_in} rows and Y with {self.n_out} rows; the "
                    f"dense network {arch.widths} needs {n0} and {nL}"
                )
            return self
        lcn_arch: Architecture = _check_arch(arch)
        n0 = lcn_arch.layer_sizes(self.n_out)[0]
        if self.n_in != n0:
            raise DataError(
                argument, f"has X with {self.n_in} rows; {arch} with output length "
                f"n_L={self.n_out} needs n_0 = {n0} rows (n_0 = S (n_L - 1) + d + 1)"
            )
        return self


def _check_arch(arch: Any) -> Any:
    if isinstance(arch, Architecture | DenseArchitecture):
        return arch
    raise ArchitectureError(
        "arch", f"must be an lcn.Architecture or lcn.dense.DenseArchitecture, got "
        f"{type(arch).__name__}"
    )


def _sizes(arch: AnyArch, n_out: int | None) -> tuple[int, int]:
    if isinstance(arch, DenseArchitecture):
        if n_out is not None and n_out != arch.widths[-1]:
            raise DataError(
                "n_out", f"is {n_out} but the dense network's output width is {arch.widths[-1]}"
            )
        return arch.widths[0], arch.widths[-1]
    if n_out is None:  # the smallest LCN output: one application of the end-to-end filter
        n_out = 1
    if isinstance(n_out, bool) or not isinstance(n_out, int | np.integer) or n_out < 1:
        raise DataError("n_out", f"is {n_out!r}; the output length must be a positive integer")
    return arch.layer_sizes(int(n_out))[0], int(n_out)


def gaussian_dataset(
    arch: AnyArch,
    n_out: int | None = None,
    N: int = 16,
    seed: int = 0,
    noise: float = 0.0,
    target: str = "random",
) -> Dataset:
    """A seeded Gaussian dataset for ``arch``: ``X`` has i.i.d. standard normal entries
    (``n_0 x N``).

    ``target="random"`` (default): ``Y`` is i.i.d. standard normal, independent of ``X``, so the
    unconstrained optimum ``u`` is a random filter, generally *outside* the function space
    (what makes boundary and singular limits possible). ``target="planted"``: ``Y = mu(w*) X``
    for Gaussian filters ``w*`` plus ``noise`` times standard normal noise. ``n_out`` is the
    output length ``n_L`` (default 1; for dense networks it is the last width and may be
    omitted).
    """
    arch = _check_arch(arch)
    n0, nL = _sizes(arch, n_out)
    if isinstance(N, bool) or not isinstance(N, int | np.integer) or N < 1:
        raise DataError("N", f"is {N!r}; the number of samples must be a positive integer")
    if not math.isfinite(float(noise)) or noise < 0:
        raise DataError("noise", f"is {noise!r}; it must be a finite number >= 0")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n0, int(N)))
    if target == "random":
        Y = rng.standard_normal((nL, int(N)))
    elif target == "planted":
        model = _model(arch)
        theta = model.init(rng, 1, np.ones(1))[0]
        T = _matrix(arch, theta, nL)
        Y = T @ X + noise * rng.standard_normal((nL, int(N)))
    else:
        raise DataError("target", f"is {target!r}; use 'random' or 'planted'")
    return Dataset(X, Y)


def _matrix(arch: AnyArch, theta: FloatArray, n_out: int) -> FloatArray:
    if isinstance(arch, DenseArchitecture):
        return dense_mu(arch, theta).reshape(arch.widths[-1], arch.widths[0])
    return np.asarray(
        parametrization.network_matrix(arch, parametrization.split_params(arch, theta), n_out)
    )


def load_dataset(path: str | Path, arch: AnyArch, n_out: int | None = None) -> Dataset:
    """Load a dataset from ``.npz`` (arrays ``X`` of shape ``(n_0, N)`` and ``Y`` of shape
    ``(n_L, N)``) or ``.csv`` (one sample per row: ``n_0`` input columns then ``n_L`` output
    columns; a non-numeric first line is taken as a header). Shapes are checked against
    ``arch`` and ``n_out``; any problem raises :class:`DataError` before training starts."""
    arch = _check_arch(arch)
    n0, nL = _sizes(arch, n_out)
    p = Path(path)
    if not p.is_file():
        raise DataError("path", f"{str(p)!r} is not a file; give a .npz or .csv dataset")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                if "X" not in z or "Y" not in z:
                    raise DataError(
                        "path", f"{p.name} holds arrays {sorted(z.files)}; it needs 'X' and 'Y'"
                    )
                X, Y = z["X"], z["Y"]
        except DataError:
            raise
        except Exception as exc:
            raise DataError("path", f"cannot read {p.name} as .npz ({exc})") from None
    elif suffix == ".csv":
        try:
            with open(p, encoding="utf-8") as fh:
                first = fh.readline()
            try:
                [float(t) for t in first.strip().split(",") if t.strip()]
                skip = 0
            except ValueError:
                skip = 1
            A = np.loadtxt(p, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
        except Exception as exc:
            raise DataError("path", f"cannot read {p.name} as numeric CSV ({exc})") from None
        if A.shape[1] != n0 + nL:
            raise DataError(
                "path", f"{p.name} has {A.shape[1]} columns; {arch} with n_L={nL} needs "
                f"{n0} input + {nL} output columns = {n0 + nL}"
            )
        X, Y = A[:, :n0].T, A[:, n0:].T
    else:
        raise DataError("path", f"has suffix {suffix!r}; use .npz or .csv")
    data = Dataset(X, Y)
    if data.n_out != nL:
        raise DataError("Y", f"has {data.n_out} rows but the output length is {nL}")
    return data.check(arch)


# ============================================================================================
# The Gram form (MATH.md 8)
# ============================================================================================
@dataclass(frozen=True, eq=False)
class GramForm:
    """The squared-error loss as a quadratic form on end-to-end filters (MATH.md 8):
    ``l(v) = (v - u)^T G (v - u) + c``.

    ``G`` is symmetric positive semi-definite (``m x m``, ``m = d + 1`` for an LCN,
    ``n_L n_0`` for a dense network), ``u`` a minimizer of ``l`` (the minimum-norm one when
    ``G`` is singular), ``c = min l >= 0``. ``norm`` is ``||G||_2`` (computed when not given).
    """

    G: FloatArray
    u: FloatArray
    c: float
    norm: float = field(default=0.0)

    def __post_init__(self) -> None:
        G = np.array(self.G, dtype=np.float64)
        u = np.array(self.u, dtype=np.float64).reshape(-1)
        if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] != u.shape[0]:
            raise DataError("G", f"has shape {G.shape}; it must be square, matching u {u.shape}")
        if not (np.all(np.isfinite(G)) and np.all(np.isfinite(u)) and math.isfinite(self.c)):
            raise DataError("G", "contains NaN or inf")
        G = 0.5 * (G + G.T)
        G.setflags(write=False)
        u.setflags(write=False)
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "c", float(self.c))
        if not self.norm:
            object.__setattr__(self, "norm", float(max(np.linalg.eigvalsh(G)[-1], 0.0)))

    @property
    def size(self) -> int:
        """Dimension ``m`` of the filter space."""
        return int(self.u.shape[0])

    def loss(self, v: Any) -> FloatArray:
        """``l(v)`` for filters ``v`` of shape ``(..., m)``."""
        r = np.asarray(v, dtype=np.float64) - self.u
        return np.einsum("...i,ij,...j->...", r, self.G, r) + self.c

    def grad(self, v: Any) -> FloatArray:
        """``grad l(v) = 2 G (v - u)``."""
        return 2.0 * (np.asarray(v, dtype=np.float64) - self.u) @ self.G


def _design(arch: AnyArch, data: Dataset) -> tuple[FloatArray, FloatArray]:
    """Design matrix ``A`` and target ``y`` with ``||Y - mu(w) X||^2 = ||y - A v||^2``.

    LCN: ``(T X)_{r,i} = sum_j v_j X_{rS+j, i}`` (rows of the end-to-end matrix are ``v``
    shifted by the total stride ``S``), so row ``(r, i)`` of ``A`` is ``X[rS : rS+d+1, i]``.
    Dense: ``(W X)_{r,i} = sum_j W_{r,j} X_{j,i}``, so ``A = I_{n_L} (x) X^T``.
    """
    X, Y = data.X, data.Y
    if isinstance(arch, DenseArchitecture):
        nL = arch.widths[-1]
        A = np.asarray(np.kron(np.eye(nL), X.T), dtype=np.float64)
        return A, np.asarray(Y, dtype=np.float64).reshape(-1)
    S, m = arch.stride, arch.filter_size
    nL, N = Y.shape
    idx = np.arange(nL)[:, None] * S + np.arange(m)[None, :]  # (n_L, m)
    A = X[idx].transpose(0, 2, 1).reshape(nL * N, m)  # rows (r, i)
    return A, Y.reshape(-1)


def gram_form(arch: AnyArch, data: Dataset | GramForm) -> GramForm:
    """Reduce a dataset to ``l(v) = (v-u)^T G (v-u) + c`` (MATH.md 8).

    ``G_{jj'} = sum_{r,i} X_{rS+j,i} X_{rS+j',i}`` (``S = s_1...s_L``); ``u`` solves the normal
    equations ``G u = b`` with ``b_j = sum_{r,i} Y_{r,i} X_{rS+j,i}`` (``u = G^+ b``, the minimum
    norm solution when ``G`` is singular, e.g. ``n_L N < d + 1``); ``c`` is the residual
    ``||y - A u||^2``. Because ``b`` lies in the range of ``G`` the identity
    ``||Y - T X||^2 = (v-u)^T G (v-u) + c`` is exact for every ``v`` even for singular ``G``.
    """
    arch = _check_arch(arch)
    if isinstance(data, GramForm):
        if data.size != arch.filter_size:
            raise DataError(
                "data", f"is a Gram form of size {data.size}; {arch} needs {arch.filter_size}"
            )
        return data
    if not isinstance(data, Dataset):
        raise DataError("data", f"must be an lcn.training.Dataset, got {type(data).__name__}")
    data.check(arch)
    A, y = _design(arch, data)
    G = A.T @ A
    b = A.T @ y
    # u = G^+ b from the eigendecomposition of the small m x m matrix G (a LAPACK call on the
    # tall design matrix is needlessly slow under thread contention), with one step of iterative
    # refinement; c is then the residual itself, never the cancellation-prone ||y||^2 - u^T b
    lam, V = np.linalg.eigh(G)
    cut = max(float(lam[-1]), 0.0) * G.shape[0] * np.finfo(float).eps
    inv = np.where(lam > cut, 1.0 / np.where(lam > cut, lam, 1.0), 0.0)

    def pinv_apply(z: FloatArray) -> FloatArray:
        return V @ (inv * (V.T @ z))

    u = pinv_apply(b)
    u = u + pinv_apply(b - G @ u)
    res = y - A @ u
    return GramForm(G, u, float(res @ res), norm=float(max(lam[-1], 0.0)))


def _grams(arch: AnyArch, data: Any, runs: int | None, argument: str = "data") -> list[GramForm]:
    if isinstance(data, Dataset | GramForm):
        return [gram_form(arch, data)]
    if isinstance(data, Sequence) and not isinstance(data, str) and len(data) > 0:
        if runs is not None and len(data) not in (1, runs):
            raise DataError(
                argument, f"has {len(data)} datasets for {runs} runs; give one dataset, or one "
                "per run"
            )
        # one reduction per distinct dataset object (a list often repeats each dataset)
        cache: dict[int, GramForm] = {}
        for d in data:
            if id(d) not in cache:
                cache[id(d)] = gram_form(arch, d)
        return [cache[id(d)] for d in data]
    raise DataError(argument, "must be a Dataset, a GramForm, or a non-empty list of them")


# ============================================================================================
# Models: mu, its Jacobian, initialization, torch versions
# ============================================================================================
class _Model:
    """What the trainers need to know about an architecture (LCN or dense)."""

    def __init__(self, arch: AnyArch) -> None:
        self.arch = arch
        self.k: tuple[int, ...] = tuple(arch.k)
        self.L = len(self.k)
        self.P = int(sum(self.k))
        self.m = int(arch.filter_size)
        cuts = np.concatenate([[0], np.cumsum(self.k)])
        self.slices = [slice(int(cuts[i]), int(cuts[i + 1])) for i in range(self.L)]
        self.dense = isinstance(arch, DenseArchitecture)
        # layers that can be permuted without changing mu: equal-size layers of one stride-one
        # block of an LCN (multiplication of forms in x^S, y^S commutes)
        groups: list[tuple[int, ...]] = []
        if not self.dense:
            assert isinstance(arch, Architecture)
            for block in arch.blocks():
                by_k: dict[int, list[int]] = {}
                for i in block:
                    by_k.setdefault(arch.k[i], []).append(i)
                groups.extend(tuple(g) for g in by_k.values() if len(g) > 1)
        self.perm_groups = tuple(groups)

    # -- numpy --------------------------------------------------------------------------------
    def mu(self, theta: Any) -> FloatArray:
        th = np.asarray(theta, dtype=np.float64)
        if self.dense:
            return dense_mu(self.arch, th)  # type: ignore[arg-type]
        return np.asarray(
            parametrization.mu(self.arch, parametrization.split_params(self.arch, th),  # type: ignore[arg-type]
                               exact=False)
        )

    def jacobian(self, theta: Any) -> FloatArray:
        th = np.asarray(theta, dtype=np.float64)
        if self.dense:
            return dense_jacobian(self.arch, th)  # type: ignore[arg-type]
        return parametrization.jacobian(
            self.arch, parametrization.split_params(self.arch, th)  # type: ignore[arg-type]
        )

    def unit_init(self, rng: np.random.Generator, runs: int) -> FloatArray:
        """Gaussian layers normalized so that each layer has expected squared norm 1 (LCN:
        ``N(0, 1/k_i)`` taps; dense: ``N(0, 1/n_{i-1})`` entries, expected operator size 1)."""
        th = rng.standard_normal((runs, self.P))
        if self.dense:
            for sl, (_, b) in zip(self.slices, self.arch.shapes, strict=True):  # type: ignore[union-attr]
                th[:, sl] /= math.sqrt(b)
        else:
            for sl, ki in zip(self.slices, self.k, strict=True):
                th[:, sl] /= math.sqrt(ki)
        return th

    def init(self, rng: np.random.Generator, runs: int, scale: FloatArray) -> FloatArray:
        """``unit_init`` with every layer multiplied by ``scale[run] ** (1/L)``, so
        ``||mu(w)||`` is of the order of ``scale``."""
        th = self.unit_init(rng, runs)
        return th * np.power(np.asarray(scale, dtype=np.float64), 1.0 / self.L)[:, None]

    # -- torch --------------------------------------------------------------------------------
    def torch_mu(self, device: Any, dtype: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        """A differentiable ``theta (..., P) -> v (..., m)`` (works under ``torch.func``)."""
        import torch

        slices = self.slices
        if self.dense:
            shapes = self.arch.shapes  # type: ignore[union-attr]

            def mu_dense(theta: torch.Tensor) -> torch.Tensor:
                W = theta[..., slices[0]].unflatten(-1, shapes[0])
                for sl, sh in zip(slices[1:], shapes[1:], strict=True):
                    W = theta[..., sl].unflatten(-1, sh) @ W
                return W.flatten(-2)

            return mu_dense
        Es = [
            torch.as_tensor(E, device=device, dtype=dtype) for E in self.lift_matrices()
        ]

        def mu_lcn(theta: torch.Tensor) -> torch.Tensor:
            acc = theta[..., slices[0]]
            for sl, E in zip(slices[1:], Es, strict=True):
                acc = (acc.unsqueeze(-1) * theta[..., sl].unsqueeze(-2)).flatten(-2) @ E
            return acc

        return mu_lcn

    def lift_matrices(self) -> list[FloatArray]:
        """0/1 matrices ``E_i`` with ``acc * pi_{S_i}(w_i) = vec(acc (x) w_i) @ E_i``
        (LCN layers 2..L)."""
        assert isinstance(self.arch, Architecture)
        out = []
        n = self.k[0]
        for ki, Si in zip(self.k[1:], self.arch.S[1:], strict=True):
            width = n + (ki - 1) * Si
            E = np.zeros((n * ki, width))
            a = np.arange(n)[:, None]
            j = np.arange(ki)[None, :]
            E[(a * ki + j).ravel(), (a + j * Si).ravel()] = 1.0
            out.append(E)
            n = width
        return out


_MODELS: dict[Any, _Model] = {}


def _model(arch: AnyArch) -> _Model:
    arch = _check_arch(arch)
    if arch not in _MODELS:
        _MODELS[arch] = _Model(arch)
    return _MODELS[arch]


def _as_params(arch: AnyArch, params: Any, argument: str = "params") -> FloatArray:
    model = _model(arch)
    try:
        th = np.asarray(params, dtype=np.float64)
    except (TypeError, ValueError):
        raise FilterError(argument, "must be a numeric array of shape (..., P)") from None
    if th.ndim == 0 or th.shape[-1] != model.P:
        raise FilterError(
            argument, f"has shape {th.shape}; {arch} has P = {model.P} parameters (last axis)"
        )
    if not np.all(np.isfinite(th)):
        raise FilterError(argument, "contains NaN or inf")
    return th


def function(arch: AnyArch, params: Any) -> FloatArray:
    """``mu(w)`` for flat parameters ``(..., P)`` (LCN end-to-end filter, or ``vec(W)``)."""
    return _model(arch).mu(_as_params(arch, params))


def function_jacobian(arch: AnyArch, params: Any) -> FloatArray:
    """Jacobian ``d mu(w)`` of shape ``(..., m, P)``."""
    return _model(arch).jacobian(_as_params(arch, params))


def loss(arch: AnyArch, data: Dataset | GramForm, params: Any) -> FloatArray:
    """``L(w) = l(mu(w))`` via the Gram form (NumPy, batched over leading axes)."""
    return gram_form(arch, data).loss(function(arch, params))


def gradient(arch: AnyArch, data: Dataset | GramForm, params: Any) -> FloatArray:
    """``grad L(w) = d mu(w)^T 2 G (mu(w) - u)`` (NumPy, batched)."""
    gf = gram_form(arch, data)
    th = _as_params(arch, params)
    J = function_jacobian(arch, th)
    g = gf.grad(_model(arch).mu(th))
    return np.einsum("...mp,...m->...p", J, g)


def hessian(arch: AnyArch, data: Dataset | GramForm, params: Any) -> FloatArray:
    """Hessian of ``L`` at ``params`` (``(..., P, P)``; torch autodiff in float64)."""
    import torch

    gf = gram_form(arch, data)
    th = _as_params(arch, params)
    flat = th.reshape(-1, th.shape[-1])
    eng = _Engine(_model(arch), [gf], flat.shape[0], torch.device("cpu"), torch.float64)
    with _small_op_threads(torch, torch.device("cpu"), flat.size):
        H = eng.hessian(torch.as_tensor(flat, dtype=torch.float64))
    return H.numpy().reshape(*th.shape, th.shape[-1])


def relative_gradient_norm(arch: AnyArch, data: Dataset | GramForm, params: Any) -> FloatArray:
    """``||grad L(w)|| / (||d mu(w)||_F * 2 ||G||_2 * (||mu(w)|| + ||u||))``.

    The denominator bounds ``||d mu^T 2 G (mu - u)||`` by the sizes of its factors, so the ratio
    is invariant under scaling the data and measures how far ``w`` is from critical in units of
    the rounding error of the gradient itself (about ``1e-16`` at an exact critical point).
    """
    gf = gram_form(arch, data)
    th = _as_params(arch, params)
    model = _model(arch)
    J = model.jacobian(th)
    v = model.mu(th)
    g = np.einsum("...mp,...m->...p", J, gf.grad(v))
    den = (
        np.linalg.norm(J, axis=(-2, -1)) * 2.0 * gf.norm
        * (np.linalg.norm(v, axis=-1) + np.linalg.norm(gf.u))
    )
    return np.linalg.norm(g, axis=-1) / np.maximum(den, np.finfo(float).tiny)


def init_params(
    arch: AnyArch,
    data: Dataset | GramForm | Sequence[Dataset | GramForm],
    runs: int,
    init: str | Any = "gaussian",
    seed: int = 0,
) -> FloatArray:
    """Initial parameters ``(runs, P)``.

    ``"gaussian"``: every layer Gaussian with expected squared norm ``||u||^{2/L}`` (so
    ``||mu(w)||`` is of the order of the optimum's norm, the layers roughly balanced);
    ``"small"``: the same times ``1e-2`` per layer (the small-initialization regime);
    ``"tied"``: Gaussian, then in every stride-one block the equal-size layers are set equal
    (gradient flow keeps them equal, MATH.md 8); an array of shape ``(runs, P)``: used as is.
    """
    arch = _check_arch(arch)
    model = _model(arch)
    if not isinstance(init, str):
        th = _as_params(arch, init, "init")
        if th.shape != (runs, model.P):
            raise FilterError("init", f"has shape {th.shape}; expected ({runs}, {model.P})")
        return np.array(th, dtype=np.float64)
    grams = _grams(arch, data, runs)
    unorm = np.array([max(np.linalg.norm(g.u), 1e-12) for g in grams])
    scale = np.broadcast_to(unorm, (runs,)) if len(grams) > 1 else np.full(runs, unorm[0])
    rng = np.random.default_rng(seed)
    if init == "gaussian":
        return model.init(rng, runs, scale)
    if init == "small":
        return model.init(rng, runs, scale) * 1e-2
    if init == "tied":
        th = model.init(rng, runs, scale)
        for group in model.perm_groups:
            for i in group[1:]:
                th[:, model.slices[i]] = th[:, model.slices[group[0]]]
        return th
    raise ConfigError("init", f"is {init!r}; use 'gaussian', 'small', 'tied' or an array")


# ============================================================================================
# Batched torch engine on the Gram form
# ============================================================================================
class _Engine:
    """Batched loss, gradient, Hessian on the Gram form for ``runs`` parameter vectors."""

    def __init__(
        self, model: _Model, grams: list[GramForm], runs: int, device: Any, dtype: Any
    ) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.runs = runs
        self.device = device
        self.dtype = dtype
        self.shared = len(grams) == 1
        G = np.stack([g.G for g in grams])
        self.G = torch.as_tensor(G, device=device, dtype=dtype)
        self.u = torch.as_tensor(np.stack([g.u for g in grams]), device=device, dtype=dtype)
        self.c = torch.as_tensor([g.c for g in grams], device=device, dtype=dtype)
        self.Gnorm = torch.as_tensor([g.norm for g in grams], device=device, dtype=dtype)
        self.unorm = torch.linalg.vector_norm(self.u, dim=-1)
        self.mu = model.torch_mu(device, dtype)
        self.lifts = (
            [torch.as_tensor(E, device=device, dtype=dtype) for E in model.lift_matrices()]
            if not model.dense else []
        )

    def subset(self, idx: torch.Tensor) -> _Engine:
        """Engine restricted to runs ``idx`` (per-run data is indexed, shared data kept)."""
        new = object.__new__(_Engine)
        new.__dict__.update(self.__dict__)
        new.runs = int(idx.numel())
        if not self.shared:
            new.G, new.u, new.c = self.G[idx], self.u[idx], self.c[idx]
            new.Gnorm, new.unorm = self.Gnorm[idx], self.unorm[idx]
        return new

    def apply_G(self, r: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return r @ self.G[0]
        return self.torch.bmm(self.G, r.unsqueeze(-1)).squeeze(-1)

    def vjp(self, theta: torch.Tensor, gbar: torch.Tensor) -> torch.Tensor:
        """``d mu(theta)^T gbar`` (``(B, P)``)."""
        if self.model.dense:
            return self._dense_vjp(theta, gbar)
        return self._lcn_vjp(theta, gbar)

    def _dense_vjp(self, theta: torch.Tensor, gbar: torch.Tensor) -> torch.Tensor:
        """``d/dW_i <W_L..W_1, Gbar> = (W_L..W_{i+1})^T Gbar (W_{i-1}..W_1)^T``, by prefix
        products forward and one sweep backward."""
        torch = self.torch
        shapes = self.model.arch.shapes  # type: ignore[union-attr]
        Ws = [theta[:, s].unflatten(-1, sh) for s, sh in zip(self.model.slices, shapes,
                                                               strict=True)]
        pre: list[Any] = [None]
        for W in Ws[:-1]:
            pre.append(W if pre[-1] is None else torch.bmm(W, pre[-1]))
        nL, n0 = self.model.arch.widths[-1], self.model.arch.widths[0]  # type: ignore[union-attr]
        Gc = gbar.reshape(-1, nL, n0)
        grads: list[Any] = [theta] * self.model.L
        for i in range(self.model.L - 1, -1, -1):
            P = pre[i]
            grads[i] = (Gc if P is None else torch.bmm(Gc, P.transpose(1, 2))).flatten(1)
            if i > 0:
                Gc = torch.bmm(Ws[i].transpose(1, 2), Gc)
        return torch.cat(grads, dim=-1)

    def _lcn_vjp(self, theta: torch.Tensor, gbar: torch.Tensor) -> torch.Tensor:
        """Forward with prefix products, then the hand-written vector-Jacobian product (about
        twice as fast as autograd for these tiny per-run tensors)."""
        torch = self.torch
        sl = self.model.slices
        ws = [theta[:, s] for s in sl]
        accs = [ws[0]]
        for w, E in zip(ws[1:-1], self.lifts[:-1], strict=True):
            accs.append((accs[-1].unsqueeze(-1) * w.unsqueeze(-2)).flatten(-2) @ E)
        grads: list[Any] = [theta] * self.model.L
        for i in range(self.model.L - 1, 0, -1):
            Z = (gbar @ self.lifts[i - 1].T).unflatten(-1, (accs[i - 1].shape[-1], self.model.k[i]))
            grads[i] = torch.bmm(accs[i - 1].unsqueeze(1), Z).squeeze(1)
            gbar = torch.bmm(Z, ws[i].unsqueeze(-1)).squeeze(-1)
        grads[0] = gbar
        return torch.cat(grads, dim=-1)

    def value_grad(
        self, theta: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Loss ``(B,)``, gradient ``(B, P)``, ``v = mu(w)`` and ``G (v - u)``."""
        v = self.mu(theta)
        r = v - self.u
        Gr = self.apply_G(r)
        lossv = (r * Gr).sum(-1) + self.c
        return lossv, self.vjp(theta, 2.0 * Gr), v, Gr

    def layer_sq_norms(self, theta: torch.Tensor) -> torch.Tensor:
        return self.torch.stack(
            [(theta[:, s] ** 2).sum(-1) for s in self.model.slices], dim=-1
        )

    def lipschitz(self, theta: torch.Tensor, Gr: torch.Tensor) -> torch.Tensor:
        """Local smoothness estimate of ``L`` at ``theta`` (the step-size rule of :func:`train`):
        ``2||G|| sum_i prod_{j!=i} n_j^2 + 2||G(v-u)|| sum_{i!=j} prod_{l!=i,j} n_l`` with
        ``n_j = ||w_j||``: the Gauss-Newton term ``2 J^T G J`` plus the curvature of ``mu``
        weighted by the residual, with ``||d mu / d w_i|| ~ prod_{j!=i} ||w_j||``."""
        torch = self.torch
        n = self.layer_sq_norms(theta).sqrt().clamp_min(1e-150)
        prod = torch.prod(n, dim=1)
        inv = 1.0 / n
        gn = prod**2 * (inv**2).sum(1)
        curv = prod * (inv.sum(1) ** 2 - (inv**2).sum(1))
        Gnorm = self.Gnorm if not self.shared else self.Gnorm[0]
        return 2.0 * Gnorm * gn + 2.0 * torch.linalg.vector_norm(Gr, dim=-1) * curv

    def _unit_layers(self, theta: torch.Tensor, shift: torch.Tensor | None) -> torch.Tensor:
        """``(B, P, P)``: row ``p`` is ``theta`` with the layer of parameter ``p`` replaced by
        ``e_p`` (``shift=None``), or ``theta + shift_p e_p``."""
        torch = self.torch
        B, P = theta.shape
        rep = theta.unsqueeze(1).expand(B, P, P).clone()
        eye = torch.eye(P, dtype=theta.dtype, device=theta.device)
        if shift is None:
            for s in self.model.slices:
                rep[:, s, s] = 0.0
            return rep + eye
        return rep + shift.unsqueeze(-1) * eye

    def jac(self, theta: torch.Tensor) -> torch.Tensor:
        """``d mu`` (``(B, m, P)``), exactly: ``mu`` is linear in each layer, so column ``p`` is
        ``mu`` with the layer of ``p`` replaced by the unit vector ``e_p``."""
        B, P = theta.shape
        rep = self._unit_layers(theta, None)
        return self.mu(rep.reshape(B * P, P)).reshape(B, P, -1).transpose(1, 2)

    def hessian(self, theta: torch.Tensor) -> torch.Tensor:
        """Hessian of ``L`` (``(B, P, P)``): ``2 J^T G J + sum_t 2 (G(v-u))_t d^2 mu_t``.

        The second term is the Jacobian of ``w -> d mu(w)^T c`` at fixed ``c = 2G(v-u)``; block
        ``i`` of that map does not depend on layer ``i`` and is affine in every other layer
        (``mu`` is multilinear), so a difference quotient with step ``||w_j||`` along ``e_p``
        (``p`` in layer ``j``) is exact up to rounding."""
        torch = self.torch
        B, P = theta.shape
        J = self.jac(theta)
        GJ = torch.matmul(self.G[0], J) if self.shared else torch.bmm(self.G, J)
        H1 = 2.0 * J.transpose(1, 2) @ GJ
        if self.model.L == 1:
            return H1
        v = self.mu(theta)
        weight = 2.0 * self.apply_G(v - self.u)
        n = self.layer_sq_norms(theta).sqrt()
        h = torch.cat(
            [n[:, i : i + 1].expand(B, s.stop - s.start)
             for i, s in enumerate(self.model.slices)], dim=1
        ).clamp_min(1e-8)
        rep = self._unit_layers(theta, h).reshape(B * P, P)
        wrep = weight.unsqueeze(1).expand(B, P, weight.shape[-1]).reshape(B * P, -1)
        g1 = self.vjp(rep, wrep).reshape(B, P, P)
        g0 = self.vjp(theta, weight)
        H2 = (g1 - g0.unsqueeze(1)) / h.unsqueeze(-1)
        return H1 + 0.5 * (H2 + H2.transpose(1, 2))

    def rel_grad(
        self, theta: torch.Tensor, grad: torch.Tensor, v: torch.Tensor
    ) -> torch.Tensor:
        """See :func:`relative_gradient_norm`."""
        torch = self.torch
        J = self.jac(theta)
        Gnorm = self.Gnorm if not self.shared else self.Gnorm[0]
        den = (
            torch.linalg.matrix_norm(J) * 2.0 * Gnorm
            * (torch.linalg.vector_norm(v, dim=-1) + self.unorm)
        )
        return torch.linalg.vector_norm(grad, dim=-1) / den.clamp_min(1e-300)

    # -- gauge-fixed damped Gauss-Newton on grad L = 0 ----------------------------------------
    def gauge(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q_i = ||w_i||^2 - ||w_{i+1}||^2`` (conserved by gradient flow; fixing them fixes
        the rescaling orbit) and their Jacobian ``(B, L-1, P)``."""
        torch = self.torch
        L, sl = self.model.L, self.model.slices
        n2 = self.layer_sq_norms(theta)
        q = n2[:, :-1] - n2[:, 1:]
        D = torch.zeros(theta.shape[0], max(L - 1, 0), theta.shape[1], dtype=theta.dtype,
                        device=theta.device)
        for i in range(L - 1):
            D[:, i, sl[i]] = 2.0 * theta[:, sl[i]]
            D[:, i, sl[i + 1]] = -2.0 * theta[:, sl[i + 1]]
        return q, D

    def newton_descent(
        self, theta: torch.Tensor, max_iter: int, tol: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Regularized Newton descent on ``L``:
        ``step = -(H + (max(0, -lambda_min) + nu ||H||) I)^{-1} grad`` (the shift makes the
        model convex, so the step descends and follows negative curvature out of saddles),
        accepted when the loss does not increase, ``nu`` adapted as in a trust region.
        Converges quadratically to the local minimum of the valley it starts in; used when
        gradient descent is too slow (ill-conditioned ``G``) to reach a critical point in its
        step budget. Returns (theta, rel_grad, iterations)."""
        torch = self.torch
        B, P = theta.shape
        theta = theta.clone()
        nu = torch.full((B,), 1e-3, dtype=theta.dtype, device=theta.device)
        iters = torch.zeros(B, dtype=torch.long, device=theta.device)
        lossv, g, v, _ = self.value_grad(theta)
        rel = self.rel_grad(theta, g, v)
        active = ~(rel <= tol)
        for _ in range(max_iter):
            idx = torch.nonzero(active).squeeze(-1)
            if idx.numel() == 0:
                break
            eng = self.subset(idx)
            th, gi, li = theta[idx], g[idx], lossv[idx]
            H = eng.hessian(th)
            ev, V = torch.linalg.eigh(0.5 * (H + H.transpose(1, 2)))
            hn = ev.abs().amax(-1).clamp_min(1e-300)
            nui = nu[idx]
            shift = (-ev[:, 0]).clamp_min(0.0) + nui * hn
            coef = (V.transpose(1, 2) @ gi.unsqueeze(-1)).squeeze(-1) / (ev + shift[:, None])
            cand = th - (V @ coef.unsqueeze(-1)).squeeze(-1)
            lc, gc, vc, _ = eng.value_grad(cand)
            ok = torch.isfinite(lc) & (lc <= li)
            okc = ok[:, None]
            th = torch.where(okc, cand, th)
            theta[idx] = th
            lossv[idx] = torch.where(ok, lc, li)
            g[idx] = torch.where(okc, gc, gi)
            v[idx] = torch.where(okc, vc, v[idx])
            nu[idx] = torch.where(ok, (nui * 0.3).clamp_min(1e-12), nui * 10.0)
            iters[idx] += 1
            r1 = eng.rel_grad(th, g[idx], v[idx])
            rel[idx] = r1
            done = (r1 <= tol) | (nu[idx] >= 1e8)
            active[idx[done]] = False
        return theta, rel, iters

    def newton(
        self,
        theta: torch.Tensor,
        q0: torch.Tensor | None,
        max_iter: int,
        tol: float,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Levenberg-Marquardt on ``F(w) = [grad L(w); gamma (q(w) - q0)]`` (``q0 = None``:
        no gauge rows; the damping then picks a minimum-norm step along the orbits).

        A zero of ``F`` is a critical point of ``L`` of *any* index (this is Gauss-Newton on
        ``||F||^2``, not descent on ``L``); the gauge rows make the zero isolated for LCNs at
        points with all ``w_i != 0`` (dense networks keep an orthogonal-group freedom, which the
        damping handles). Iterates per run until ``rel_grad <= tol`` or ``max_iter``.
        Returns (theta, rel_grad, iterations).
        """
        torch = self.torch
        B, P = theta.shape
        theta = theta.clone()
        iters = torch.zeros(B, dtype=torch.long, device=theta.device)
        use_gauge = q0 is not None and self.model.L > 1

        def residual(th: Any, eng: _Engine, gam: Any, qq0: Any) -> Any:
            _, g, v, _ = eng.value_grad(th)
            if use_gauge:
                q, D = eng.gauge(th)
                F = torch.cat([g, gam[:, None] * (q - qq0)], dim=1)
            else:
                F, D = g, None
            return F, g, v, D

        active = torch.ones(B, dtype=torch.bool, device=theta.device)
        # scale of the gauge rows: match the Hessian's size at the start
        H0 = self.hessian(theta)
        if use_gauge:
            _, D0 = self.gauge(theta)
            gamma = torch.linalg.matrix_norm(H0) / torch.linalg.matrix_norm(D0).clamp_min(1e-300)
            gamma = torch.where(torch.isfinite(gamma) & (gamma > 0), gamma,
                                torch.ones_like(gamma))
        else:
            gamma = torch.ones(B, dtype=theta.dtype, device=theta.device)
        lam = torch.full((B,), 1e-4, dtype=theta.dtype, device=theta.device)
        _, g0, v0, _ = self.value_grad(theta)
        rel = self.rel_grad(theta, g0, v0)
        active &= ~(rel <= tol)
        eye = torch.eye(P, dtype=theta.dtype, device=theta.device)
        for _ in range(max_iter):
            idx = torch.nonzero(active).squeeze(-1)
            if idx.numel() == 0:
                break
            eng = self.subset(idx)
            th = theta[idx]
            gam = gamma[idx]
            qq0 = q0[idx] if use_gauge and q0 is not None else None
            F, g, v, D = residual(th, eng, gam, qq0)
            H = eng.hessian(th)
            A = torch.cat([H, gam[:, None, None] * D], dim=1) if use_gauge else H
            AtA = A.transpose(1, 2) @ A
            AtF = (A.transpose(1, 2) @ F.unsqueeze(-1)).squeeze(-1)
            scale = torch.diagonal(AtA, dim1=1, dim2=2).mean(-1).clamp_min(1e-300)
            Fn = torch.linalg.vector_norm(F, dim=-1)
            l_idx = lam[idx]
            new_th = th
            accepted = torch.zeros(idx.numel(), dtype=torch.bool, device=theta.device)
            # up to three damping levels per iteration (cheap: no new Hessian)
            for _try in range(3):
                M = AtA + (l_idx * scale)[:, None, None] * eye
                sol, info = torch.linalg.solve_ex(M, -AtF.unsqueeze(-1))
                step = torch.where((info == 0)[:, None], sol.squeeze(-1),
                                   torch.full_like(AtF, float("nan")))
                cand = th + step
                Fc, *_ = residual(cand, eng, gam, qq0)
                ok = torch.isfinite(Fc).all(-1) & (torch.linalg.vector_norm(Fc, dim=-1) < Fn)
                take = ok & ~accepted
                new_th = torch.where(take[:, None], cand, new_th)
                accepted |= ok
                l_idx = torch.where(take, (l_idx * 0.1).clamp_min(1e-15),
                                    torch.where(accepted, l_idx, l_idx * 100.0))
                if bool(accepted.all()):
                    break
            l_idx = l_idx.clamp_max(1e12)
            lam[idx] = l_idx
            theta[idx] = new_th
            iters[idx] += 1
            _, g1, v1, _ = eng.value_grad(new_th)
            r1 = eng.rel_grad(new_th, g1, v1)
            rel[idx] = r1
            done = (r1 <= tol) | ~torch.isfinite(r1) | (l_idx >= 1e12)
            active[idx[done]] = False
        return theta, rel, iters


# ============================================================================================
# Training
# ============================================================================================
@dataclass
class TrainResult:
    """Outcome of :func:`train` / :func:`train_reference` (NumPy arrays, one row per run).

    ``params`` (runs, P) final parameters; ``initial_params``; ``loss``; ``grad_norm``
    (``||grad L||``); ``rel_grad_norm`` (:func:`relative_gradient_norm`); ``converged``
    (``rel_grad_norm <= tol``); ``steps`` (gradient-descent steps taken, counting rejected
    backtracking steps); ``polish_steps`` (Newton iterations); ``gd_params`` (parameters at the
    end of gradient descent, before the polish); ``invariant_drift`` (max over layer pairs
    ``i<j`` of ``|(||w_i||^2 - ||w_j||^2)_{end of GD} - (...)_{init}|``, zero for exact gradient
    flow, MATH.md 8); ``invariant_scale`` (max over layers of ``||w_i||^2`` at the start, to
    judge the drift); ``saddle`` (the kept point is a critical point with a clearly negative
    Hessian eigenvalue, only possible after the last round, see :func:`train`);
    ``trajectories`` (``None`` or a dict with ``step`` (T,), ``params`` (runs, T, P), ``loss``
    (runs, T)) recorded every ``record_every`` steps of the first round of gradient descent.
    """

    params: FloatArray
    loss: FloatArray
    grad_norm: FloatArray
    rel_grad_norm: FloatArray
    converged: NDArray[np.bool_]
    steps: NDArray[np.int64]
    invariant_drift: FloatArray
    initial_params: FloatArray
    gd_params: FloatArray
    polish_steps: NDArray[np.int64]
    invariant_scale: FloatArray
    saddle: NDArray[np.bool_] | None = None
    trajectories: dict[str, Any] | None = None
    tol: float = 1e-10

    @property
    def runs(self) -> int:
        return int(self.params.shape[0])


def _torch_setup(device: Any, dtype: Any) -> tuple[Any, Any]:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError("device", f"is {device!r}; use 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "is 'cuda' but no CUDA device is available; use 'cpu'")
    if dtype is None or dtype == "float64":
        dt = torch.float64
    elif dtype == "float32":
        dt = torch.float32
    else:
        raise ConfigError("dtype", f"is {dtype!r}; use 'float64' or 'float32'")
    return dev, dt


@contextmanager
def _small_op_threads(torch: Any, device: Any, work: int) -> Iterator[None]:
    """Run small batched CPU work single-threaded: intra-op threading of tensors with a few
    thousand entries costs far more in synchronization than it gains (measured: a 200x27 @
    27x7 matmul takes 8 us on one thread and milliseconds on two busy cores)."""
    if getattr(device, "type", "cpu") != "cpu" or work > 5_000_000:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _pair_drift(q_init: FloatArray, q_end: FloatArray) -> FloatArray:
    diff_i = q_init[:, :, None] - q_init[:, None, :]
    diff_e = q_end[:, :, None] - q_end[:, None, :]
    return np.abs(diff_e - diff_i).max(axis=(1, 2))


def train(
    arch: AnyArch,
    data: Dataset | GramForm | Sequence[Dataset | GramForm],
    runs: int,
    init: str | Any = "gaussian",
    optimizer: str = "gd",
    steps: int = 2000,
    lr: float | Any | None = None,
    device: str = "cpu",
    seed: int = 0,
    polish: bool = True,
    record_every: int | None = None,
    tol: float = 1e-10,
    polish_steps: int = 60,
    rounds: int = 3,
    dtype: str = "float64",
) -> TrainResult:
    """Train ``runs`` networks by gradient descent on the Gram form, then polish (MATH.md 8).

    ``data``: one dataset (shared by all runs) or a list with one per run. ``init``: see
    :func:`init_params`. ``optimizer``: ``"gd"`` (plain gradient descent, the discretized
    gradient flow the theory speaks of) or ``"none"`` (no descent; only the polish).

    Step size: ``lr`` a number (or per-run array): fixed step, no safeguard (this is what
    :func:`train_reference` reproduces). ``lr=None``: per run and per step,
    ``eta / Lhat(w)`` with ``Lhat`` the local smoothness estimate of ``_Engine.lipschitz``
    (``2||G|| sum_i prod_{j!=i}||w_j||^2 + 2||G(v-u)|| sum_{i!=j} prod_{l!=i,j}||w_l||``, exact for
    one layer), ``eta = 1`` halved whenever a step would increase the loss (the step is then
    rejected); so the loss decreases monotonically and the step adapts to the growing or
    shrinking layers.

    A run stops descending once its ``rel_grad_norm <= tol`` (checked every 100 steps). After
    ``steps`` steps the polish runs: Levenberg-Marquardt on ``[grad L; gauge]`` with the gauge
    rows fixing the invariants ``||w_i||^2 - ||w_{i+1}||^2`` at their values at the end of descent
    (:meth:`_Engine.newton`), which converges quadratically to the critical point the descent
    was approaching without moving along the rescaling orbit. Gradient descent from a generic
    start does not converge to a strict saddle, so a polished point with a clearly negative
    Hessian eigenvalue (below ``-1e-6 ||H||``), or a failed polish, sends the run back to
    descent (from its descent iterate, not from the saddle) for another ``steps`` steps, at most
    ``rounds`` rounds in all. In the last round a run still without a minimum gets a regularized
    Newton descent (:meth:`_Engine.newton_descent`, which follows the valley gradient descent
    is crawling along, or leaves the saddle along negative curvature) and then the polish; the
    point found is kept whatever it is (``saddle`` says so), a failed polish leaves the run at
    its descent iterate. Without polish there is one round of ``steps`` steps.
    ``converged`` reports ``rel_grad_norm <= tol`` at the end.
    """
    import torch

    arch = _check_arch(arch)
    model = _model(arch)
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise ConfigError("runs", f"is {runs!r}; it must be a positive integer")
    runs = int(runs)
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ConfigError("steps", f"is {steps!r}; it must be an integer >= 0")
    if optimizer not in ("gd", "none"):
        raise ConfigError("optimizer", f"is {optimizer!r}; use 'gd' or 'none'")
    if record_every is not None and (not isinstance(record_every, int) or record_every < 1):
        raise ConfigError("record_every", f"is {record_every!r}; use a positive integer or None")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ConfigError("rounds", f"is {rounds!r}; it must be a positive integer")
    grams = _grams(arch, data, runs)
    theta0 = init_params(arch, grams, runs, init, seed)
    fixed_lr: FloatArray | None = None
    if lr is not None:
        fixed_lr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,)).copy()
        if not np.all(np.isfinite(fixed_lr)) or np.any(fixed_lr <= 0):
            raise ConfigError("lr", f"is {lr!r}; it must be positive (or None for automatic)")
    dev, dt = _torch_setup(device, dtype)
    nsteps = int(steps) if optimizer == "gd" else 0
    with _small_op_threads(torch, dev, runs * model.P):
        return _train_loop(
            arch, model, grams, runs, theta0, fixed_lr, nsteps, dev, dt, polish,
            record_every, tol, polish_steps, rounds if nsteps > 0 and polish else 1,
        )


def _descend(
    eng: _Engine,
    theta: torch.Tensor,
    steps: int,
    lr_t: torch.Tensor | None,
    eta: torch.Tensor,
    tol: float,
    record_every: int | None,
    traj: dict[str, list[Any]] | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``steps`` steps of gradient descent (see :func:`train`); runs whose relative gradient
    norm drops below ``tol`` are frozen. Returns (theta, eta, steps taken per run)."""
    torch = eng.torch
    B = theta.shape[0]
    lossv, grad, v, Gr = eng.value_grad(theta)
    active = torch.ones(B, dtype=torch.bool, device=theta.device)
    taken = torch.zeros(B, dtype=torch.long, device=theta.device)
    check_every = 100
    for t in range(steps):
        if traj is not None and record_every is not None and t % record_every == 0:
            traj["params"].append(theta.cpu().numpy().copy())
            traj["loss"].append(lossv.cpu().numpy().copy())
            traj["step"].append(t)
        if lr_t is not None:
            step = lr_t * active
            theta = theta - step[:, None] * grad
            lossv, grad, v, Gr = eng.value_grad(theta)
        else:
            step = eta / eng.lipschitz(theta, Gr) * active
            cand = theta - step[:, None] * grad
            lc, gc, vc, Grc = eng.value_grad(cand)
            ok = torch.isfinite(lc) & (lc <= lossv)
            okc = ok[:, None]
            theta = torch.where(okc, cand, theta)
            lossv = torch.where(ok, lc, lossv)
            grad = torch.where(okc, gc, grad)
            v = torch.where(okc, vc, v)
            Gr = torch.where(okc, Grc, Gr)
            eta = torch.where(ok | ~active, eta, 0.5 * eta)
        taken += active
        if (t + 1) % check_every == 0:
            rel = eng.rel_grad(theta, grad, v)
            active &= ~(rel <= tol)
            if not bool(active.any()):
                break
    if traj is not None and record_every is not None:
        traj["params"].append(theta.cpu().numpy().copy())
        traj["loss"].append(lossv.cpu().numpy().copy())
        traj["step"].append(int(taken.max()))
    return theta, eta, taken


def _strict_saddle(eng: _Engine, theta: torch.Tensor) -> torch.Tensor:
    """Whether the Hessian at ``theta`` has an eigenvalue below ``-1e-6 ||H||``."""
    torch = eng.torch
    H = eng.hessian(theta)
    ev = torch.linalg.eigvalsh(0.5 * (H + H.transpose(1, 2)))
    return ev[:, 0] < -1e-6 * ev.abs().amax(-1)


def _train_loop(
    arch: AnyArch,
    model: _Model,
    grams: list[GramForm],
    runs: int,
    theta0: FloatArray,
    fixed_lr: FloatArray | None,
    nsteps: int,
    dev: Any,
    dt: Any,
    polish: bool,
    record_every: int | None,
    tol: float,
    polish_steps: int,
    rounds: int,
) -> TrainResult:
    import torch

    eng = _Engine(model, grams, runs, dev, dt)
    theta = torch.as_tensor(theta0, device=dev, dtype=dt).clone()
    q_init = eng.layer_sq_norms(theta).cpu().numpy()
    lr_all = torch.as_tensor(fixed_lr, device=dev, dtype=dt) if fixed_lr is not None else None
    eta = torch.ones(runs, device=dev, dtype=dt)
    steps_taken = torch.zeros(runs, dtype=torch.long, device=dev)
    pol_iters = torch.zeros(runs, dtype=torch.long, device=dev)
    gd_theta = theta.clone()
    final = theta.clone()
    done = torch.zeros(runs, dtype=torch.bool, device=dev)
    saddle = torch.zeros(runs, dtype=torch.bool, device=dev)
    traj: dict[str, list[Any]] | None = (
        {"params": [], "loss": [], "step": []} if record_every is not None else None
    )
    with torch.no_grad():
        for rnd in range(rounds):
            idx = torch.nonzero(~done).squeeze(-1)
            if idx.numel() == 0:
                break
            sub = eng.subset(idx) if idx.numel() < runs else eng
            th = gd_theta[idx]
            lr_sub = lr_all[idx] if lr_all is not None else None
            th, eta_sub, taken = _descend(
                sub, th, nsteps, lr_sub, eta[idx], tol, record_every,
                traj if rnd == 0 else None,
            )
            eta[idx] = eta_sub
            steps_taken[idx] += taken
            gd_theta[idx] = th
            last = rnd == rounds - 1
            fin = torch.isfinite(th).all(-1)
            if polish and not bool(fin.all()):
                # diverged runs (possible with a fixed step) stay as they are
                final[idx[~fin]] = th[~fin]
                done[idx[~fin]] = True
                idx, th = idx[fin], th[fin]
                sub = sub.subset(torch.nonzero(fin).squeeze(-1))
                fin = fin[fin]
            if polish and idx.numel() > 0:
                q, _ = sub.gauge(th)
                pol, rel, it = sub.newton(th, q, polish_steps, tol)
                pol_iters[idx] += it
                crit = (rel <= tol) & fin
                sad = torch.zeros_like(crit)
                if bool(crit.any()):
                    sad = crit & _strict_saddle(sub, pol)
                good = crit & ~sad
                if last and bool((~good & fin).any()):
                    # the step budget is spent: a second-order descent from the descent
                    # iterate reaches the minimum of its valley (or escapes the saddle) fast
                    j = torch.nonzero(~good & fin).squeeze(-1)
                    sub2 = sub.subset(j)
                    nd, _, it2 = sub2.newton_descent(th[j], polish_steps, tol)
                    q2, _ = sub2.gauge(nd)
                    nd, rel2, it3 = sub2.newton(nd, q2, polish_steps, tol)
                    pol_iters[idx[j]] += it2 + it3
                    pol[j] = nd
                    crit[j] = rel2 <= tol
                    sad[j] = crit[j] & _strict_saddle(sub2, nd)
                    good = crit & ~sad
                keep = good if not last else fin
                # a failed polish leaves the run at its descent iterate
                final[idx] = torch.where((keep & crit)[:, None], pol, th)
                saddle[idx] = sad & keep
                done[idx] = keep | ~fin
            else:
                _, g, v, _ = sub.value_grad(th)
                rel = sub.rel_grad(th, g, v)
                final[idx] = th
                done[idx] = (rel <= tol) | torch.tensor(last, device=dev) | ~fin
    params = final.cpu().numpy().astype(np.float64)
    with torch.no_grad():
        fin_rows = torch.isfinite(final).all(-1)
        safe = torch.where(fin_rows[:, None], final, torch.zeros_like(final))
        lossv, g, v, _ = eng.value_grad(safe)
        relv = eng.rel_grad(safe, g, v)
        nan = torch.full_like(lossv, float("nan"))
        result = {
            "loss": torch.where(fin_rows, lossv, nan).cpu().numpy(),
            "grad_norm": torch.where(fin_rows, torch.linalg.vector_norm(g, dim=-1), nan)
            .cpu().numpy(),
            "rel": torch.where(fin_rows, relv, torch.full_like(relv, float("inf")))
            .cpu().numpy(),
        }
    q_end = np.stack(
        [(gd_theta[:, s] ** 2).sum(-1).cpu().numpy() for s in model.slices], axis=1
    )
    trajectories = None
    if traj is not None:
        trajectories = {
            "step": np.array(traj["step"]),
            "params": np.stack(traj["params"], axis=1),
            "loss": np.stack(traj["loss"], axis=1),
        }
    return TrainResult(
        params=params,
        loss=result["loss"],
        grad_norm=result["grad_norm"],
        rel_grad_norm=result["rel"],
        converged=result["rel"] <= tol,
        steps=steps_taken.cpu().numpy().astype(np.int64),
        invariant_drift=_pair_drift(q_init, q_end),
        initial_params=theta0,
        gd_params=gd_theta.cpu().numpy().astype(np.float64),
        polish_steps=pol_iters.cpu().numpy().astype(np.int64),
        invariant_scale=q_init.max(axis=1),
        saddle=saddle.cpu().numpy(),
        trajectories=trajectories,
        tol=tol,
    )


def _finish(
    arch: AnyArch, grams: list[GramForm], runs: int, params: FloatArray, tol: float
) -> dict[str, FloatArray]:
    """Loss, gradient norm and relative gradient norm in NumPy (float64, closed-form J)."""
    model = _model(arch)
    out = {"loss": np.empty(runs), "grad_norm": np.empty(runs), "rel": np.empty(runs)}
    finite = np.all(np.isfinite(params), axis=1)
    J = model.jacobian(np.where(finite[:, None], params, 0.0))
    v = model.mu(np.where(finite[:, None], params, 0.0))
    for gi, gf in enumerate(grams):
        rows = np.arange(runs) if len(grams) == 1 else np.array([gi])
        g = np.einsum("rmp,rm->rp", J[rows], gf.grad(v[rows]))
        gn = np.linalg.norm(g, axis=1)
        den = (np.linalg.norm(J[rows], axis=(1, 2)) * 2.0 * gf.norm
               * (np.linalg.norm(v[rows], axis=1) + np.linalg.norm(gf.u)))
        out["loss"][rows] = gf.loss(v[rows])
        out["grad_norm"][rows] = gn
        out["rel"][rows] = gn / np.maximum(den, np.finfo(float).tiny)
    for key in out:
        out[key][~finite] = np.nan
    out["rel"][~finite] = np.inf
    return out


# ============================================================================================
# Reference trainer on the raw data (the benchmark's baseline, the trajectory oracle)
# ============================================================================================
def train_reference(
    arch: AnyArch,
    data: Dataset | Sequence[Dataset],
    runs: int,
    init: str | Any = "gaussian",
    steps: int = 100,
    lr: float | Any = 1e-3,
    seed: int = 0,
    record_every: int | None = None,
    mode: str = "grouped",
    tol: float = 1e-10,
    threads: int | None = None,
) -> TrainResult:
    """Plain gradient descent on the raw data through torch modules (the reference of
    :func:`train`); see :func:`_train_reference` for the method. ``threads``: torch intra-op
    threads for the run (``None``: one thread for small work, as :func:`train` does; the
    benchmark sets it explicitly)."""
    import torch

    if threads is None:
        ctx: Any = _small_op_threads(torch, torch.device("cpu"), 0)
    else:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError("threads", f"is {threads!r}; use a positive integer or None")
        ctx = _fixed_threads(torch, threads)
    with ctx:
        return _train_reference(arch, data, runs, init, steps, lr, seed, record_every, mode,
                                tol)


@contextmanager
def _fixed_threads(torch: Any, n: int) -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _train_reference(
    arch: AnyArch,
    data: Dataset | Sequence[Dataset],
    runs: int,
    init: str | Any,
    steps: int,
    lr: float | Any,
    seed: int,
    record_every: int | None,
    mode: str,
    tol: float,
) -> TrainResult:
    """Plain gradient descent on ``||Y - net(X)||_F^2`` computed on the raw data by torch
    modules, with the same initialization as :func:`train` (same ``init`` and ``seed``) and a
    fixed step ``lr`` (number or per-run array).

    ``mode="per_run"``: one ``nn.Sequential`` of ``nn.Conv1d(1, 1, k_i, stride=s_i)`` per run
    (``nn.Linear`` layers for dense networks), trained one after the other. ``mode="grouped"``:
    all runs at once as ``nn.Conv1d(R, R, k_i, stride=s_i, groups=R)`` (run ``r`` on channel
    ``r``; batched matmuls for dense networks). Both are float64 and never form the Gram matrix.
    No polish; ``converged`` just compares the final relative gradient norm with ``tol``.
    """
    import torch

    arch = _check_arch(arch)
    model = _model(arch)
    datasets: list[Dataset]
    if isinstance(data, Dataset):
        datasets = [data.check(arch)]
    elif isinstance(data, Sequence) and all(isinstance(d, Dataset) for d in data) and data:
        datasets = [d.check(arch) for d in data]
        if len(datasets) not in (1, runs):
            raise DataError("data", f"has {len(datasets)} datasets for {runs} runs")
    else:
        raise DataError("data", "the reference trainer needs raw Datasets (not Gram forms)")
    if mode not in ("grouped", "per_run"):
        raise ConfigError("mode", f"is {mode!r}; use 'grouped' or 'per_run'")
    lr_arr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,)).copy()
    if not np.all(np.isfinite(lr_arr)) or np.any(lr_arr <= 0):
        raise ConfigError("lr", f"is {lr!r}; the reference trainer needs a fixed positive step")
    theta0 = init_params(arch, datasets, runs, init, seed)
    q_init = np.stack([(theta0[:, s] ** 2).sum(1) for s in model.slices], axis=1)
    dt = torch.float64
    Xs = [torch.tensor(np.array(d.X), dtype=dt) for d in datasets]
    Ys = [torch.tensor(np.array(d.Y), dtype=dt) for d in datasets]
    traj_p: list[FloatArray] = []
    traj_l: list[FloatArray] = []
    traj_s: list[int] = []
    if mode == "per_run":
        final = np.empty_like(theta0)
        per_p: list[list[FloatArray]] = []
        per_l: list[list[float]] = []
        for r in range(runs):
            X = Xs[r if len(Xs) > 1 else 0]
            Y = Ys[r if len(Ys) > 1 else 0]
            net = _reference_module(arch, model, theta0[r])
            xin = X.T.unsqueeze(1)  # (N, 1, n_0)
            target = Y.T.unsqueeze(1)
            rec_p: list[FloatArray] = []
            rec_l: list[float] = []
            params = list(net.parameters())
            for t in range(steps + 1):
                out = net(xin if not model.dense else X.T)
                lv = ((out - (target if not model.dense else Y.T)) ** 2).sum()
                if record_every is not None and (t % record_every == 0 or t == steps):
                    rec_p.append(_flat_params(model, params))
                    rec_l.append(float(lv.detach()))
                if t == steps:
                    break
                grads = torch.autograd.grad(lv, params)
                with torch.no_grad():
                    for p, g in zip(params, grads, strict=True):
                        p -= lr_arr[r] * g
            final[r] = _flat_params(model, params)
            per_p.append(rec_p)
            per_l.append(rec_l)
        if record_every is not None:
            traj_s = [t for t in range(steps + 1) if t % record_every == 0 or t == steps]
            traj_p = [np.stack([per_p[r][i] for r in range(runs)]) for i in range(len(traj_s))]
            traj_l = [np.array([per_l[r][i] for r in range(runs)]) for i in range(len(traj_s))]
    else:
        final, traj_s, traj_p, traj_l = _reference_grouped(
            arch, model, theta0, Xs, Ys, steps, lr_arr, record_every
        )
    q_end = np.stack([(final[:, s] ** 2).sum(1) for s in model.slices], axis=1)
    grams = [gram_form(arch, d) for d in datasets]
    res = _finish(arch, grams, runs, final, tol)
    trajectories = None
    if record_every is not None:
        trajectories = {
            "step": np.array(traj_s),
            "params": np.stack(traj_p, axis=1),
            "loss": np.stack(traj_l, axis=1),
        }
    return TrainResult(
        params=final,
        loss=res["loss"],
        grad_norm=res["grad_norm"],
        rel_grad_norm=res["rel"],
        converged=res["rel"] <= tol,
        steps=np.full(runs, steps, dtype=np.int64),
        invariant_drift=_pair_drift(q_init, q_end),
        initial_params=theta0,
        gd_params=final.copy(),
        polish_steps=np.zeros(runs, dtype=np.int64),
        invariant_scale=q_init.max(axis=1),
        trajectories=trajectories,
        tol=tol,
    )


def _reference_module(arch: AnyArch, model: _Model, theta: FloatArray) -> Any:
    import torch

    if model.dense:
        layers = []
        for sl, (a, b) in zip(model.slices, arch.shapes, strict=True):  # type: ignore[union-attr]
            lin = torch.nn.Linear(b, a, bias=False, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(theta[sl].reshape(a, b)))
            layers.append(lin)
        return torch.nn.Sequential(*layers)
    return parametrization.to_torch(arch, parametrization.split_params(arch, theta))  # type: ignore[arg-type]


def _flat_params(model: _Model, params: list[Any]) -> FloatArray:
    return np.concatenate([p.detach().numpy().reshape(-1) for p in params])


def _reference_grouped(
    arch: AnyArch,
    model: _Model,
    theta0: FloatArray,
    Xs: list[Any],
    Ys: list[Any],
    steps: int,
    lr_arr: FloatArray,
    record_every: int | None,
) -> tuple[FloatArray, list[int], list[FloatArray], list[FloatArray]]:
    import torch

    R = theta0.shape[0]
    dt = torch.float64
    lr_t = torch.as_tensor(lr_arr, dtype=dt)
    if len(Xs) == 1:
        X = Xs[0].T.unsqueeze(1).expand(-1, R, -1)  # (N, R, n_0): run r reads channel r
        Y = Ys[0].T.unsqueeze(1).expand(-1, R, -1)
    else:
        X = torch.stack([x.T for x in Xs], dim=1)
        Y = torch.stack([y.T for y in Ys], dim=1)
    X = X.contiguous()
    Y = Y.contiguous()
    if model.dense:
        params = [
            torch.nn.Parameter(torch.as_tensor(theta0[:, sl].reshape(R, a, b)).clone())
            for sl, (a, b) in zip(model.slices, arch.shapes, strict=True)  # type: ignore[union-attr]
        ]

        def forward() -> Any:
            h = X.transpose(0, 1)  # (R, N, n_0)
            for W in params:
                h = h @ W.transpose(1, 2)
            return h.transpose(0, 1)
    else:
        assert isinstance(arch, Architecture)
        convs = []
        for sl, ki, si in zip(model.slices, arch.k, arch.s, strict=True):
            conv = torch.nn.Conv1d(R, R, ki, stride=si, groups=R, bias=False, dtype=dt)
            with torch.no_grad():
                conv.weight.copy_(torch.as_tensor(theta0[:, sl]).reshape(R, 1, ki))
            convs.append(conv)
        net = torch.nn.Sequential(*convs)
        params = [c.weight for c in convs]  # type: ignore[misc]

        def forward() -> Any:
            return net(X)

    def flat() -> FloatArray:
        return np.concatenate([p.detach().numpy().reshape(R, -1) for p in params], axis=1)

    traj_s: list[int] = []
    traj_p: list[FloatArray] = []
    traj_l: list[FloatArray] = []
    for t in range(steps + 1):
        out = forward()
        per_run = ((out - Y) ** 2).sum(dim=(0, 2))
        if record_every is not None and (t % record_every == 0 or t == steps):
            traj_s.append(t)
            traj_p.append(flat())
            traj_l.append(per_run.detach().numpy().copy())
        if t == steps:
            break
        grads = torch.autograd.grad(per_run.sum(), params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= lr_t.reshape(R, *([1] * (p.dim() - 1))) * g  # type: ignore[misc]
    return flat(), traj_s, traj_p, traj_l


# ============================================================================================
# Critical points
# ============================================================================================
@dataclass
class CriticalPoints:
    """Distinct critical points found by :func:`critical_points` (one row each).

    ``params`` (m, P): a representative with balanced layers (``||w_i||`` all equal; the
    all-zero vector for the zero class); ``function`` (m, filter_size) ``= mu(params)``;
    ``loss``, ``grad_norm``, ``rel_grad_norm``; ``converged`` (all ``True``: only converged
    solves are kept); ``count`` how many starts reached each point; ``labels`` (starts,) the
    index of the point each start reached, ``-1`` for starts that did not converge;
    ``starts``; ``tol``.
    """

    params: FloatArray
    function: FloatArray
    loss: FloatArray
    grad_norm: FloatArray
    rel_grad_norm: FloatArray
    converged: NDArray[np.bool_]
    count: NDArray[np.int64]
    labels: NDArray[np.int64]
    starts: int
    tol: float

    def __len__(self) -> int:
        return int(self.params.shape[0])


def critical_points(
    arch: AnyArch,
    data: Dataset | GramForm,
    starts: int,
    seed: int = 0,
    device: str = "cpu",
    tol: float = 1e-10,
    max_iter: int = 80,
    tied_fraction: float = 0.25,
    dedup_tol: float = 1e-6,
) -> CriticalPoints:
    """Solve ``grad L(w) = 0`` from ``starts`` random starts, batched, and deduplicate.

    Each start runs the gauge-fixed Levenberg-Marquardt of :meth:`_Engine.newton` with the
    balanced gauge ``||w_1|| = ... = ||w_L||`` (every rescaling orbit with all ``w_i != 0`` meets
    it), so solves converge to saddles and spurious points as well as minima. Starts: Gaussian
    layers at scale ``||u|| e^{z/2}`` (``z`` standard normal); a fraction ``tied_fraction`` of
    them (when the architecture has interchangeable layers, i.e. equal sizes in one stride-one
    block) starts with those layers equal, which the iteration preserves: this finds the
    critical points with repeated filters (non-regular, often boundary or spurious, MATH.md 8).

    Deduplication (relative tolerance ``dedup_tol``): points with ``mu(w) ~ 0`` form one class;
    otherwise two points are equal when their end-to-end filters agree and their layers agree
    up to rescaling (each layer normalized to unit norm, sign fixed by its largest entry) and
    up to permuting interchangeable layers. Dense networks are compared by ``W = mu(w)`` only
    (their symmetry group ``GL`` is larger than rescalings).
    """
    import torch

    arch = _check_arch(arch)
    model = _model(arch)
    if isinstance(starts, bool) or not isinstance(starts, int | np.integer) or starts < 1:
        raise ConfigError("starts", f"is {starts!r}; it must be a positive integer")
    starts = int(starts)
    if not 0.0 <= tied_fraction <= 1.0:
        raise ConfigError("tied_fraction", f"is {tied_fraction!r}; it must lie in [0, 1]")
    gf = gram_form(arch, data)
    rng = np.random.default_rng(seed)
    unorm = max(float(np.linalg.norm(gf.u)), 1e-12)
    scale = unorm * np.exp(0.5 * rng.standard_normal(starts))
    th0 = model.init(rng, starts, scale)
    if model.perm_groups and tied_fraction > 0:
        n_tied = int(round(tied_fraction * starts))
        for group in model.perm_groups:
            for i in group[1:]:
                th0[:n_tied, model.slices[i]] = th0[:n_tied, model.slices[group[0]]]
    # balance the start (same orbit, balanced representative)
    th0 = _balance(model, th0)
    dev, dt = _torch_setup(device, "float64")
    eng = _Engine(model, [gf], starts, dev, dt)
    with torch.no_grad(), _small_op_threads(torch, dev, starts * model.P):
        theta = torch.as_tensor(th0, device=dev, dtype=dt)
        q0 = torch.zeros(starts, max(model.L - 1, 0), device=dev, dtype=dt)
        theta, _, _ = eng.newton(theta, q0, max_iter, tol)
    params = theta.cpu().numpy().astype(np.float64)
    fin = _finish(arch, [gf], starts, params, tol)
    ok = np.isfinite(fin["rel"]) & (fin["rel"] <= tol)
    labels = np.full(starts, -1, dtype=np.int64)
    reps: list[int] = []
    reps_keys: list[FloatArray] = []
    v_all = model.mu(np.where(np.isfinite(params), params, 0.0))
    zero_thr = ZERO_RTOL * unorm
    zero_label = -1
    for i in (int(j) for j in np.nonzero(ok)[0]):
        if np.linalg.norm(v_all[i]) <= zero_thr:
            if zero_label < 0:
                zero_label = len(reps)
                reps.append(int(i))
                reps_keys.append(np.full(1, np.nan))
            labels[i] = zero_label
            continue
        keys = _dedup_keys(model, params[i], v_all[i])
        found = -1
        for j, rk in enumerate(reps_keys):
            if rk.shape != keys.shape[1:]:
                continue
            err = np.abs(keys - rk).max(axis=1)
            if np.any(err <= dedup_tol * max(1.0, float(np.abs(rk).max()))):
                found = j
                break
        if found < 0:
            found = len(reps)
            reps.append(int(i))
            reps_keys.append(keys[0])
        labels[i] = found
    idx = np.array(reps, dtype=np.int64)
    out_params = params[idx] if len(idx) else np.zeros((0, model.P))
    if zero_label >= 0:
        out_params = out_params.copy()
        out_params[zero_label] = 0.0
    count = np.array([(labels == j).sum() for j in range(len(reps))], dtype=np.int64)
    fin2 = _finish(arch, [gf], len(idx), out_params, tol) if len(idx) else {
        "loss": np.zeros(0), "grad_norm": np.zeros(0), "rel": np.zeros(0)}
    if zero_label >= 0:
        fin2["rel"][zero_label] = 0.0  # w = 0 is an exact critical point (L >= 2)
        fin2["grad_norm"][zero_label] = 0.0
    return CriticalPoints(
        params=out_params,
        function=model.mu(out_params) if len(idx) else np.zeros((0, model.m)),
        loss=fin2["loss"],
        grad_norm=fin2["grad_norm"],
        rel_grad_norm=fin2["rel"],
        converged=np.ones(len(idx), dtype=bool),
        count=count,
        labels=labels,
        starts=starts,
        tol=tol,
    )


def _balance(model: _Model, theta: FloatArray) -> FloatArray:
    """The balanced point (equal layer norms) on the rescaling orbit of each row."""
    if model.L == 1:
        return theta
    n = np.stack([np.linalg.norm(theta[:, s], axis=1) for s in model.slices], axis=1)
    good = np.all(n > 0, axis=1)
    geo = np.exp(np.log(np.where(n > 0, n, 1.0)).mean(axis=1))
    out = theta.copy()
    for i, s in enumerate(model.slices):
        f = np.where(good, geo / np.where(n[:, i] > 0, n[:, i], 1.0), 1.0)
        out[:, s] *= f[:, None]
    return out


_MAX_DEDUP_ORDERS = 720  # layer orders listed per point before switching to a canonical order


def _dedup_keys(model: _Model, theta: FloatArray, v: FloatArray) -> FloatArray:
    """Comparison keys of one point: ``mu(w) / ||mu(w)||_inf``-scaled end-to-end filter followed
    by the normalized layers, one row per permutation of interchangeable layers (or one
    canonically sorted row when there are more than ``_MAX_DEDUP_ORDERS`` permutations)."""
    vk = v / max(float(np.abs(v).max()), 1e-300)
    if model.dense:
        return vk[None, :]
    layers = []
    for s in model.slices:
        w = theta[s]
        nrm = float(np.linalg.norm(w))
        w = w / nrm if nrm > 0 else w
        j = int(np.argmax(np.abs(w)))
        layers.append(w * (1.0 if w[j] >= 0 else -1.0))
    import itertools

    orders: list[list[int]] = [list(range(model.L))]
    if math.prod(math.factorial(len(g)) for g in model.perm_groups) > _MAX_DEDUP_ORDERS:
        # too many orders to list (factorial growth): one canonical order per group instead,
        # layers sorted by their (sign-fixed, normalized) coefficients; exact ties are equal
        # layers, whose order does not matter
        order = orders[0]
        for group in model.perm_groups:
            ranked = sorted(group, key=lambda i: tuple(np.round(layers[i], 9)))
            for dst, src in zip(group, ranked, strict=True):
                order[dst] = src
    else:
        for group in model.perm_groups:
            new = []
            for base in orders:
                for perm in itertools.permutations(group):
                    b = list(base)
                    for src, dst in zip(group, perm, strict=True):
                        b[dst] = base[src]
                    new.append(b)
            orders = new
    rows = [np.concatenate([vk, *[layers[i] for i in order]]) for order in orders]
    return np.stack(rows)
