"""One model interface for the trainers: an LCN or a dense linear network (MATH.md 1, 8).

Everything the trainers, the loss helpers and the critical-point search need to know about an
architecture lives behind :class:`Model`: the layer layout of the flat parameter vector, the
map ``mu`` and its Jacobian (NumPy), the torch versions (``mu`` and the vector-Jacobian
product), the data design matrix of the Gram form, the initialization scale, the data-space
torch modules of the reference trainer, and the symmetry used to deduplicate critical points.
:class:`LCNModel` and :class:`DenseModel` plug in their kernels; nothing else branches on the
kind of network. :func:`model_for` is the one coercion (and cache).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lcn import parametrization
from lcn._validate import check_int, check_size
from lcn.architecture import Architecture, as_architecture
from lcn.dense import DenseArchitecture, dense_jacobian, dense_mu
from lcn.errors import DataError, FilterError

if TYPE_CHECKING:
    import torch

__all__ = ["AnyArch", "Model", "LCNModel", "DenseModel", "model_for", "as_params"]

AnyArch = Architecture | DenseArchitecture
FloatArray = NDArray[np.float64]
TorchFn = Callable[..., Any]


class Model(ABC):
    """What the trainers need to know about an architecture.

    Parameters are flat vectors ``(..., P)``, layer ``i`` in ``theta[..., slices[i]]``; the
    end-to-end function is a vector of ``m`` entries (LCN filter or row-major ``vec(W)``).
    ``perm_groups``: groups of layers that can be permuted without changing ``mu``.
    """

    arch: AnyArch
    perm_groups: tuple[tuple[int, ...], ...] = ()

    def __init__(self, arch: AnyArch) -> None:
        self.arch = arch
        self.k: tuple[int, ...] = tuple(arch.k)
        self.L = len(self.k)
        self.P = int(sum(self.k))
        self.m = int(arch.filter_size)
        cuts = np.concatenate([[0], np.cumsum(self.k)])
        self.slices = [slice(int(cuts[i]), int(cuts[i + 1])) for i in range(self.L)]

    # -- NumPy ------------------------------------------------------------------------------
    @abstractmethod
    def mu(self, theta: Any) -> FloatArray:
        """``mu(w)`` for flat parameters ``(..., P)``: shape ``(..., m)``."""

    @abstractmethod
    def jacobian(self, theta: Any) -> FloatArray:
        """``d mu(w)``, shape ``(..., m, P)``."""

    @abstractmethod
    def matrix(self, theta: FloatArray, n_out: int) -> FloatArray:
        """The end-to-end matrix ``(n_L, n_0)`` of one parameter vector."""

    @abstractmethod
    def layer_fan_in(self) -> tuple[int, ...]:
        """Per-layer divisor of the variance of :meth:`unit_init` (LCN: ``k_i``; dense: the
        layer's input width)."""

    def layers(self, theta: FloatArray) -> list[FloatArray]:
        """The per-layer blocks ``theta[..., slices[i]]``."""
        return [theta[..., s] for s in self.slices]

    def layer_sq_norms(self, theta: FloatArray) -> FloatArray:
        """``||w_i||^2`` per layer, shape ``(..., L)``."""
        return np.stack([(w**2).sum(-1) for w in self.layers(theta)], axis=-1)

    def unit_init(self, rng: np.random.Generator, runs: int) -> FloatArray:
        """Gaussian layers, each of expected squared norm 1 (LCN: ``N(0, 1/k_i)`` taps; dense:
        ``N(0, 1/n_{i-1})`` entries, expected operator size 1)."""
        check_size(runs * self.P, "runs", what="parameters", error=DataError)
        th = rng.standard_normal((runs, self.P))
        for sl, fan in zip(self.slices, self.layer_fan_in(), strict=True):
            th[:, sl] /= math.sqrt(fan)
        return th

    def init(self, rng: np.random.Generator, runs: int, scale: Any) -> FloatArray:
        """:meth:`unit_init` with every layer multiplied by ``scale[run] ** (1/L)``, so
        ``||mu(w)||`` is of the order of ``scale``."""
        th = self.unit_init(rng, runs)
        return th * np.power(np.asarray(scale, dtype=np.float64), 1.0 / self.L)[:, None]

    def balance(self, theta: FloatArray) -> FloatArray:
        """The balanced representative (equal layer norms) of each row's rescaling orbit
        (:func:`lcn.parametrization.balance_layers`)."""
        return np.concatenate(parametrization.balance_layers(self.layers(theta)), axis=-1)

    def tie_index(self) -> NDArray[np.int64]:
        """``src`` of length ``P``: parameter ``p`` takes the value of parameter ``src[p]``
        when the layers of each permutation group are tied to the group's first layer."""
        src = np.arange(self.P)
        for group in self.perm_groups:
            head = self.slices[group[0]]
            for i in group[1:]:
                src[self.slices[i]] = np.arange(head.start, head.stop)
        return src

    def tie(self, theta: Any) -> Any:
        """Every layer of a permutation group set to the group's first layer (a NumPy array
        or torch tensor of shape ``(..., P)``; a new array)."""
        return theta[..., self.tie_index()]

    # -- data --------------------------------------------------------------------------------
    @abstractmethod
    def sizes(self, n_out: Any) -> tuple[int, int]:
        """``(n_0, n_L)`` for output length ``n_out`` (``None``: the default)."""

    @abstractmethod
    def design(self, X: FloatArray, Y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Design matrix ``A`` and target ``y`` with ``||Y - mu(w) X||^2 = ||y - A v||^2``."""

    # -- dedup -------------------------------------------------------------------------------
    @abstractmethod
    def layer_keys(self, theta: FloatArray) -> list[FloatArray] | None:
        """Normalized layers of one point for deduplication (``None``: compare ``mu`` only,
        as for dense networks whose symmetry group ``GL`` is larger than rescalings)."""

    # -- torch -------------------------------------------------------------------------------
    def lifts(self) -> list[FloatArray] | None:
        """The lift matrices of the fused closed-form trainer (:mod:`lcn.training.fused`), or
        ``None`` when the model has none (it then trains on the generic engine)."""
        return None

    @abstractmethod
    def torch_mu(self, device: Any, dtype: Any) -> TorchFn:
        """A differentiable ``theta (..., P) -> v (..., m)`` (works under ``torch.func``)."""

    @abstractmethod
    def torch_vjp(self, device: Any, dtype: Any) -> TorchFn:
        """``(theta (B, P), gbar (B, m)) -> d mu(theta)^T gbar (B, P)``, in closed form."""

    @abstractmethod
    def reference_module(self, theta: FloatArray) -> Any:
        """Data-space torch module of one run (input ``(N, n_0)`` as :meth:`reference_input`
        shapes it, output of the same layout as the targets)."""

    @abstractmethod
    def reference_input(self, X: Any) -> Any:
        """The module input for data ``X`` (``(n_0, N)`` tensor)."""

    @abstractmethod
    def reference_grouped(self, theta0: FloatArray) -> tuple[list[Any], TorchFn]:
        """All runs at once on the raw data: (parameters, ``forward(X (N, R, n_0)) -> (N, R,
        n_L)``)."""


class LCNModel(Model):
    """An LCN ``k, s``: ``mu`` is the product of the upsampled filters (MATH.md 2)."""

    arch: Architecture

    def __init__(self, arch: Architecture) -> None:
        super().__init__(arch)
        # equal-size layers of one stride-one block commute (forms in x^S, y^S multiply)
        groups: list[tuple[int, ...]] = []
        for block in arch.blocks():
            by_k: dict[int, list[int]] = {}
            for i in block:
                by_k.setdefault(arch.k[i], []).append(i)
            groups.extend(tuple(g) for g in by_k.values() if len(g) > 1)
        self.perm_groups = tuple(groups)

    def mu(self, theta: Any) -> FloatArray:
        th = np.asarray(theta, dtype=np.float64)
        return np.asarray(parametrization.mu(self.arch, self.layers(th), exact=False))

    def jacobian(self, theta: Any) -> FloatArray:
        th = np.asarray(theta, dtype=np.float64)
        return parametrization.jacobian(self.arch, self.layers(th))

    def matrix(self, theta: FloatArray, n_out: int) -> FloatArray:
        return np.asarray(parametrization.network_matrix(self.arch, self.layers(theta), n_out))

    def layer_fan_in(self) -> tuple[int, ...]:
        return self.k

    def sizes(self, n_out: Any) -> tuple[int, int]:
        # default: the smallest output, one application of the end-to-end filter
        n = 1 if n_out is None else check_int(n_out, "n_out", min=1, error=DataError)
        check_size(self.arch.stride * (n - 1) + self.m, "n_out", what="input rows",
                   error=DataError)
        return self.arch.layer_sizes(n)[0], n

    def design(self, X: FloatArray, Y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Rows of the end-to-end matrix are ``v`` shifted by the total stride ``S``, so
        ``(T X)_{r,i} = sum_j v_j X_{rS+j, i}`` and row ``(r, i)`` of ``A`` is
        ``X[rS : rS+d+1, i]``."""
        S, m = self.arch.stride, self.m
        nL, N = Y.shape
        idx = np.arange(nL)[:, None] * S + np.arange(m)[None, :]  # (n_L, m)
        A = X[idx].transpose(0, 2, 1).reshape(nL * N, m)
        return A, Y.reshape(-1)

    def layer_keys(self, theta: FloatArray) -> list[FloatArray] | None:
        keys = []
        for w in self.layers(theta):
            nrm = float(np.linalg.norm(w))
            w = w / nrm if nrm > 0 else w
            j = int(np.argmax(np.abs(w)))
            keys.append(w * (1.0 if w[j] >= 0 else -1.0))
        return keys

    def lifts(self) -> list[FloatArray] | None:
        return self.lift_matrices()

    def lift_matrices(self) -> list[FloatArray]:
        """:func:`lcn.parametrization.lift_matrix` of layers ``2..L`` against the product of
        the layers below."""
        out = []
        n = self.k[0]
        for ki, Si in zip(self.k[1:], self.arch.S[1:], strict=True):
            out.append(parametrization.lift_matrix(n, ki, Si))
            n += (ki - 1) * Si
        return out

    def torch_mu(self, device: Any, dtype: Any) -> TorchFn:
        import torch

        slices = self.slices
        Es = [torch.as_tensor(E, device=device, dtype=dtype) for E in self.lift_matrices()]

        def mu_lcn(theta: torch.Tensor) -> torch.Tensor:
            acc = theta[..., slices[0]]
            for sl, E in zip(slices[1:], Es, strict=True):
                acc = (acc.unsqueeze(-1) * theta[..., sl].unsqueeze(-2)).flatten(-2) @ E
            return acc

        return mu_lcn

    def torch_vjp(self, device: Any, dtype: Any) -> TorchFn:
        """Forward with prefix products, then the transposed lifts: the gradient of layer
        ``i`` pairs the prefix product with the back-propagated filter (about twice as fast as
        autograd for these tiny per-run tensors)."""
        import torch

        sl, k = self.slices, self.k
        lifts = [torch.as_tensor(E, device=device, dtype=dtype) for E in self.lift_matrices()]

        def vjp(theta: torch.Tensor, gbar: torch.Tensor) -> torch.Tensor:
            ws = [theta[:, s] for s in sl]
            accs = [ws[0]]
            for w, E in zip(ws[1:-1], lifts[:-1], strict=True):
                accs.append((accs[-1].unsqueeze(-1) * w.unsqueeze(-2)).flatten(-2) @ E)
            grads: list[Any] = [theta] * len(ws)
            for i in range(len(ws) - 1, 0, -1):
                Z = (gbar @ lifts[i - 1].T).unflatten(-1, (accs[i - 1].shape[-1], k[i]))
                grads[i] = torch.bmm(accs[i - 1].unsqueeze(1), Z).squeeze(1)
                gbar = torch.bmm(Z, ws[i].unsqueeze(-1)).squeeze(-1)
            grads[0] = gbar
            return torch.cat(grads, dim=-1)

        return vjp

    def reference_module(self, theta: FloatArray) -> Any:
        return parametrization.to_torch(self.arch, self.layers(theta))

    def reference_input(self, X: Any) -> Any:
        return X.T.unsqueeze(1)  # (N, 1, n_0): one channel

    def reference_grouped(self, theta0: FloatArray) -> tuple[list[Any], TorchFn]:
        """``nn.Conv1d(R, R, k_i, stride=s_i, groups=R)``: run ``r`` on channel ``r``."""
        import torch

        R = theta0.shape[0]
        convs = []
        for sl, ki, si in zip(self.slices, self.arch.k, self.arch.s, strict=True):
            conv = torch.nn.Conv1d(R, R, ki, stride=si, groups=R, bias=False,
                                   dtype=torch.float64)
            with torch.no_grad():
                conv.weight.copy_(torch.as_tensor(theta0[:, sl]).reshape(R, 1, ki))
            convs.append(conv)
        net = torch.nn.Sequential(*convs)
        return [c.weight for c in convs], net


class DenseModel(Model):
    """A dense network ``W_L ... W_1`` (:mod:`lcn.dense`), ``v = vec(W)`` row-major."""

    arch: DenseArchitecture

    def mu(self, theta: Any) -> FloatArray:
        return dense_mu(self.arch, np.asarray(theta, dtype=np.float64))

    def jacobian(self, theta: Any) -> FloatArray:
        return dense_jacobian(self.arch, np.asarray(theta, dtype=np.float64))

    def matrix(self, theta: FloatArray, n_out: int) -> FloatArray:
        return dense_mu(self.arch, theta).reshape(self.arch.widths[-1], self.arch.widths[0])

    def layer_fan_in(self) -> tuple[int, ...]:
        return tuple(b for _, b in self.arch.shapes)

    def sizes(self, n_out: Any) -> tuple[int, int]:
        n0, nL = self.arch.widths[0], self.arch.widths[-1]
        if n_out is not None and n_out != nL:
            raise DataError("n_out", f"is {n_out!r} but the dense network's output width is "
                            f"{nL}; omit it or give {nL}")
        return n0, nL

    def design(self, X: FloatArray, Y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(W X)_{r,i} = sum_j W_{r,j} X_{j,i}``, so ``A = I_{n_L} (x) X^T``."""
        nL = self.arch.widths[-1]
        check_size(nL * nL * X.size, "data", what="design-matrix entries", error=DataError)
        A = np.asarray(np.kron(np.eye(nL), X.T), dtype=np.float64)
        return A, np.asarray(Y, dtype=np.float64).reshape(-1)

    def layer_keys(self, theta: FloatArray) -> list[FloatArray] | None:
        return None

    def torch_mu(self, device: Any, dtype: Any) -> TorchFn:
        slices, shapes = self.slices, self.arch.shapes

        def mu_dense(theta: torch.Tensor) -> torch.Tensor:
            W = theta[..., slices[0]].unflatten(-1, shapes[0])
            for sl, sh in zip(slices[1:], shapes[1:], strict=True):
                W = theta[..., sl].unflatten(-1, sh) @ W
            return W.flatten(-2)

        return mu_dense

    def torch_vjp(self, device: Any, dtype: Any) -> TorchFn:
        """``d/dW_i <W_L..W_1, Gbar> = (W_L..W_{i+1})^T Gbar (W_{i-1}..W_1)^T``, by prefix
        products forward and one sweep backward."""
        import torch

        slices, shapes = self.slices, self.arch.shapes
        nL, n0 = self.arch.widths[-1], self.arch.widths[0]

        def vjp(theta: torch.Tensor, gbar: torch.Tensor) -> torch.Tensor:
            Ws = [theta[:, s].unflatten(-1, sh) for s, sh in zip(slices, shapes, strict=True)]
            pre: list[Any] = [None]
            for W in Ws[:-1]:
                pre.append(W if pre[-1] is None else torch.bmm(W, pre[-1]))
            Gc = gbar.reshape(-1, nL, n0)
            grads: list[Any] = [theta] * len(Ws)
            for i in range(len(Ws) - 1, -1, -1):
                P = pre[i]
                grads[i] = (Gc if P is None else torch.bmm(Gc, P.transpose(1, 2))).flatten(1)
                if i > 0:
                    Gc = torch.bmm(Ws[i].transpose(1, 2), Gc)
            return torch.cat(grads, dim=-1)

        return vjp

    def reference_module(self, theta: FloatArray) -> Any:
        import torch

        layers = []
        for sl, (a, b) in zip(self.slices, self.arch.shapes, strict=True):
            lin = torch.nn.Linear(b, a, bias=False, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(theta[sl].reshape(a, b)))
            layers.append(lin)
        return torch.nn.Sequential(*layers)

    def reference_input(self, X: Any) -> Any:
        return X.T  # (N, n_0)

    def reference_grouped(self, theta0: FloatArray) -> tuple[list[Any], TorchFn]:
        """Batched matrix products, run ``r`` on batch entry ``r``."""
        import torch

        R = theta0.shape[0]
        params = [
            torch.nn.Parameter(torch.as_tensor(theta0[:, sl].reshape(R, a, b)).clone())
            for sl, (a, b) in zip(self.slices, self.arch.shapes, strict=True)
        ]

        def forward(X: Any) -> Any:
            h = X.transpose(0, 1)  # (R, N, n_0)
            for W in params:
                h = h @ W.transpose(1, 2)
            return h.transpose(0, 1)

        return params, forward


@lru_cache(maxsize=256)
def _cached(arch: AnyArch) -> Model:
    return DenseModel(arch) if isinstance(arch, DenseArchitecture) else LCNModel(arch)


def model_for(arch: Any, argument: str = "arch") -> Model:
    """The :class:`Model` of ``arch``: a :class:`DenseArchitecture` gives a
    :class:`DenseModel`; anything :func:`lcn.architecture.as_architecture` accepts (an
    ``Architecture``, a ``(k, s)`` pair, ``"k=3,2 s=2,1"``) gives an :class:`LCNModel`."""
    if not isinstance(arch, DenseArchitecture):
        arch = as_architecture(arch, argument)
    return _cached(arch)


def as_params(model: Model, params: Any, argument: str = "params") -> FloatArray:
    """``params`` as a finite float64 array of shape ``(..., P)`` (:class:`FilterError`
    naming ``argument`` otherwise)."""
    if isinstance(params, str):
        raise FilterError(argument, "is a string; give a numeric array of shape (..., P)")
    try:
        with np.errstate(all="ignore"):
            th = np.asarray(params, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise FilterError(argument, "must be a numeric array of shape (..., P)") from None
    if th.ndim == 0 or th.shape[-1] != model.P:
        raise FilterError(
            argument, f"has shape {th.shape}; {model.arch} has P = {model.P} parameters "
            "(last axis)"
        )
    if not np.all(np.isfinite(th)):
        raise FilterError(argument, "contains NaN or inf")
    return th
