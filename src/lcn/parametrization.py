"""The parametrization map ``mu`` of an LCN and its derivative (MATH.md 1, 2, 7).

``mu(w_1, ..., w_L)`` is the end-to-end filter: the coefficient vector of
``pi_{S_L}(w_L) ... pi_{S_1}(w_1)``. The same map in matrix form is
``T_{w_L,s_L} ... T_{w_1,s_1}`` (:func:`network_matrix`), whose rows are shifted copies of
``mu(w)`` with stride ``s_1 ... s_L``.

Float filters are batched: ``filters[i]`` has shape ``(..., k_i)`` and the leading axes
broadcast. Exact filters (ints, ``Fraction``s, strings, ``fmpq``) give exact results.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import flint
import numpy as np
from numpy.typing import NDArray

from lcn import _mu_kernel, forms
from lcn._validate import check_int, check_size
from lcn.architecture import Architecture, as_architecture
from lcn.errors import FilterError

if TYPE_CHECKING:  # torch is imported only where training or interop starts
    import torch

__all__ = [
    "coerce_filters",
    "mu",
    "conv_matrix",
    "network_matrix",
    "jacobian",
    "mul_upsampled",
    "lift_matrix",
    "balance_layers",
    "split_params",
    "join_params",
    "to_torch",
    "from_torch",
]

# float filters are NDArrays, exact ones lists of fmpq; callers branch on _is_exact
Filters = list[Any]


def coerce_filters(arch: Architecture, filters: Any, exact: bool | None = None) -> Filters:
    """Check ``filters`` against ``arch`` (one filter per layer, ``filters[i]`` of length
    ``k_i``) and return them as float arrays (batched, broadcast to a common batch shape) or as
    exact ``fmpq`` lists. ``exact=None`` picks exact when every entry is exact.

    A string such as ``"1,2,3;4,5"`` is parsed exactly.
    """
    arch = as_architecture(arch)
    if isinstance(filters, str):
        filters = forms.parse_filters(filters, "filters")
    if isinstance(filters, np.ndarray) and filters.dtype != object:
        filters = list(filters) if filters.ndim >= 2 else [filters]
    if not isinstance(filters, Sequence):
        raise FilterError("filters", "must be a sequence with one filter per layer")
    if len(filters) != arch.layers:
        raise FilterError(
            "filters",
            f"has {len(filters)} filter(s) but the architecture has {arch.layers} layer(s); "
            "give one filter per layer",
        )
    if exact is None:
        exact = forms.is_exact_input(list(filters))
    if exact:
        out_e = [forms.as_exact(f, f"filters[{i}]") for i, f in enumerate(filters)]
        for i, (fe, ki) in enumerate(zip(out_e, arch.k, strict=True)):
            if len(fe) != ki:
                raise FilterError(
                    f"filters[{i}]", f"has {len(fe)} entries but layer {i + 1} has k={ki}"
                )
        return out_e
    out_f = [forms.as_float(f, f"filters[{i}]") for i, f in enumerate(filters)]
    for i, (f, ki) in enumerate(zip(out_f, arch.k, strict=True)):
        if f.shape[-1] != ki:
            raise FilterError(
                f"filters[{i}]",
                f"has {f.shape[-1]} entries on its last axis but layer {i + 1} has k={ki}",
            )
    try:
        batch = np.broadcast_shapes(*(f.shape[:-1] for f in out_f))
    except ValueError:
        raise FilterError(
            "filters", "have batch shapes that do not broadcast: "
            + ", ".join(str(f.shape[:-1]) for f in out_f)
        ) from None
    return [np.broadcast_to(f, (*batch, f.shape[-1])) for f in out_f]


def _is_exact(filters: Filters) -> bool:
    return not isinstance(filters[0], np.ndarray)


def mu(arch: Architecture, filters: Any, exact: bool | None = None) -> Any:
    """End-to-end filter ``pi_{S_L}(w_L) ... pi_{S_1}(w_1)`` (MATH.md 2), ``d + 1`` taps.

    Float: shape ``(..., d+1)`` for ``filters[i]`` of shape ``(..., k_i)``. Exact: a list of
    ``fmpq``. Computed by upsample-and-convolve (tap ``j`` of layer ``i`` adds ``w_i[j]`` times
    the partial product shifted by ``j S_i``), which costs ``O(B * d * sum_i k_i)`` for a batch
    of ``B``: batches of at least :data:`KERNEL_ROWS` rows by the compiled kernel of
    :mod:`lcn._mu_kernel` (numba; C-ordered result), smaller ones (or without numba) by one
    vectorized NumPy multiply-add per tap (the result may then be a transposed, Fortran-ordered
    view; use ``np.ascontiguousarray`` where C order matters); large batches run in
    cache-sized blocks on a thread pool.
    """
    arch = as_architecture(arch)
    fs = coerce_filters(arch, filters, exact)
    if _is_exact(fs):
        return forms.product([forms.upsample(f, S) for f, S in zip(fs, arch.S, strict=True)])
    return _mu_float(list(fs), arch.S)  # type: ignore[arg-type]


_CHUNK = 16384  # most rows per block: a block's working set stays in the L2 cache
#: Batches of at least this many rows use the compiled kernel (lcn._mu_kernel) when numba is
#: installed; smaller ones the NumPy tap loop, which needs no compilation or numba import.
KERNEL_ROWS = 4096
_WORKERS = min(4, os.cpu_count() or 1)
_executor: ThreadPoolExecutor | None = None


def _mu_float(fs: list[NDArray[np.float64]], S: Sequence[int]) -> NDArray[np.float64]:
    batch = np.broadcast_shapes(*(f.shape[:-1] for f in fs))
    B = math.prod(batch)
    flat = [np.broadcast_to(f, (*batch, f.shape[-1])).reshape(B, f.shape[-1]) for f in fs]
    n = sum((f.shape[-1] - 1) * Si for f, Si in zip(fs, S, strict=True)) + 1
    kern = _mu_kernel.compiled() if B >= KERNEL_ROWS and len(fs) > 1 else None
    if kern is not None:
        rows = tuple(_readonly(np.ascontiguousarray(f, dtype=np.float64)) for f in flat)
        ks = np.array([f.shape[-1] for f in fs], dtype=np.int64)
        Ss = np.asarray(S, dtype=np.int64)
        res = np.empty((B, n))
        _in_blocks(B, lambda lo, hi: kern(rows, ks, Ss, res, lo, hi))
        return res.reshape(*batch, n)
    # filled in (taps, rows) layout and returned as a transposed view: skips a full copy
    out = np.empty((n, B))
    _in_blocks(B, lambda lo, hi: _mu_block([f[lo:hi] for f in flat], S, out[:, lo:hi]))
    return out.T.reshape(*batch, n)


def _readonly(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """A read-only view: the kernel's tuple of layers must have one numba type, and broadcast
    inputs arrive read-only."""
    v = a.view()
    v.flags.writeable = False
    return v


def _in_blocks(B: int, work: Callable[[int, int], None]) -> None:
    """``work(lo, hi)`` over rows ``0 .. B`` in equal blocks on the thread pool (NumPy and the
    compiled kernel release the GIL, so blocks run in parallel on several cores)."""
    if B == 0:
        return
    # equal blocks, a multiple of the worker count, so no thread idles at the end; a batch
    # that fits one block runs on the calling thread (the pool's hand-off costs more than
    # it saves there: measured 7x slower than a plain tap loop at 10^4 rows on 2 busy cores)
    # (with one worker, blocks would only add hand-offs)
    blocks = 1 if B <= _CHUNK or _WORKERS == 1 else _WORKERS * math.ceil(B / (_WORKERS * _CHUNK))
    chunk = max(1, math.ceil(B / blocks))
    starts = range(0, B, chunk)
    if len(starts) == 1:
        work(0, B)
        return
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_WORKERS)
    list(_executor.map(lambda lo: work(lo, min(B, lo + chunk)), starts))


def _mu_block(
    fs: list[NDArray[np.float64]], S: Sequence[int], dest: NDArray[np.float64]
) -> None:
    """Product for a block of rows into ``dest`` (taps, rows), a layout in which each tap is
    one contiguous multiply over all rows. Rows not yet written by an earlier tap are assigned
    rather than zeroed and accumulated, which saves a pass over memory per tap; the last layer
    writes straight into ``dest``."""
    if len(fs) == 1:
        dest[...] = fs[0].T
        return
    acc = np.ascontiguousarray(fs[0].T)
    c = acc.shape[1]
    # the longest partial product is the one before the last layer
    tmp = np.empty((dest.shape[0] - S[-1] * (fs[-1].shape[-1] - 1), c))
    last = len(fs) - 1
    for layer, (f, Si) in enumerate(zip(fs[1:], S[1:], strict=True), start=1):
        w = np.ascontiguousarray(f.T)
        k, n = w.shape[0], acc.shape[0]
        nxt = dest if layer == last else np.empty((n + Si * (k - 1), c))
        hi = 0  # rows [0, hi) of nxt hold partial sums
        for j in range(k):
            lo = j * Si
            if lo > hi:
                nxt[hi:lo] = 0.0
                hi = lo
            ov = hi - lo
            if ov > 0:
                np.multiply(acc[:ov], w[j], out=tmp[:ov])
                nxt[lo:hi] += tmp[:ov]
            np.multiply(acc[ov:], w[j], out=nxt[hi : lo + n])
            hi = lo + n
        acc = nxt


def mul_upsampled(acc: Any, w: Any, S: int) -> NDArray[np.float64]:
    """The one batched layer map: ``acc * pi_S(w)`` (MATH.md 2) for coefficient vectors
    ``acc`` of shape ``(..., n)`` and filters ``w`` of shape ``(..., k)`` (leading axes
    broadcast), without materializing the upsampled filter: tap ``j`` of ``w`` adds
    ``w_j acc`` shifted by ``j S``. Result shape ``(..., n + S (k - 1))``.

    >>> mul_upsampled(np.array([1.0, 1.0]), np.array([1.0, 2.0]), 2).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    acc = np.asarray(acc, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    k = w.shape[-1]
    n = acc.shape[-1]
    batch = np.broadcast_shapes(acc.shape[:-1], w.shape[:-1])
    out = np.zeros((*batch, n + S * (k - 1)))
    for j in range(k):
        out[..., j * S : j * S + n] += acc * w[..., j : j + 1]
    return out


def lift_matrix(n: int, k: int, S: int) -> NDArray[np.float64]:
    """The 0/1 matrix ``E`` (``n k x (n + S(k-1))``) of :func:`mul_upsampled` as a bilinear
    map: ``acc * pi_S(w) = vec(acc (x) w) @ E`` with ``vec`` row-major, so
    ``E[a k + j, a + j S] = 1``. Batched products then are one outer product and one
    matrix product (the form the torch trainers use)."""
    n = check_int(n, "n", min=1, error=FilterError)
    k = check_int(k, "k", min=1, error=FilterError)
    S = check_int(S, "S", min=1, error=FilterError)
    E = np.zeros((n * k, n + (k - 1) * S))
    a = np.arange(n)[:, None]
    j = np.arange(k)[None, :]
    E[(a * k + j).ravel(), (a + j * S).ravel()] = 1.0
    return E


def balance_layers(layers: Sequence[Any]) -> list[NDArray[np.float64]]:
    """The balanced point of the rescaling orbit ``w_i -> l_i w_i``, ``prod l_i = 1``
    (MATH.md 7): every layer rescaled to the geometric mean of the layer norms, so ``mu`` is
    unchanged and ``||w_1|| = ... = ||w_L||``. Batched over leading axes (``layers[i]`` of
    shape ``(..., k_i)``); rows with a zero layer are returned unchanged (their orbit has no
    balanced point)."""
    ws = [np.asarray(w, dtype=np.float64) for w in layers]
    if len(ws) <= 1:
        return [w.copy() for w in ws]
    norms = np.stack(np.broadcast_arrays(*[np.linalg.norm(w, axis=-1) for w in ws]), axis=-1)
    ok = np.all(norms > 0, axis=-1)
    safe = np.where(ok[..., None], norms, 1.0)
    geo = np.exp(np.log(safe).mean(axis=-1))
    return [w * np.where(ok, geo / safe[..., i], 1.0)[..., None] for i, w in enumerate(ws)]


def conv_matrix(w: Any, s: int, n_out: int) -> Any:
    """The convolutional matrix ``T_{w,s}`` with ``n_out`` rows and ``s(n_out-1)+k`` columns,
    ``T[r, r*s + j] = w_j`` (MATH.md 1). Float ``w`` of shape ``(..., k)`` gives a batch of
    matrices; an exact ``w`` gives a NumPy object array of ``fmpq``."""
    s = check_int(s, "s", min=1, error=FilterError)
    n_out = check_int(n_out, "n_out", min=1, error=FilterError)
    if forms.is_exact_input(w):
        we = forms.as_exact(w, "w")
        k = len(we)
        T = np.full((n_out, s * (n_out - 1) + k), flint.fmpq(0), dtype=object)
        for r in range(n_out):
            T[r, r * s : r * s + k] = we
        return T
    wf = forms.as_float(w, "w")
    k = wf.shape[-1]
    check_size(math.prod(wf.shape[:-1]) * n_out * (s * (n_out - 1) + k), "n_out",
               what="matrix entries", error=FilterError)
    Tf = np.zeros((*wf.shape[:-1], n_out, s * (n_out - 1) + k))
    for r in range(n_out):
        Tf[..., r, r * s : r * s + k] = wf
    return Tf


def network_matrix(arch: Architecture, filters: Any, n_out: int) -> Any:
    """``T_{w_L,s_L} ... T_{w_1,s_1}`` for output length ``n_out`` (shape ``(..., n_L, n_0)``),
    layer sizes from :meth:`Architecture.layer_sizes`."""
    arch = as_architecture(arch)
    fs = coerce_filters(arch, filters)
    n_out = check_int(n_out, "n_out", min=1, error=FilterError)
    sizes = arch.layer_sizes(n_out)
    batch = math.prod(np.shape(fs[0])[:-1]) if not _is_exact(fs) else 1
    check_size(batch * max(a * b for a, b in zip(sizes, sizes[1:], strict=False)), "n_out",
               what="matrix entries", error=FilterError)
    T = conv_matrix(fs[0], arch.s[0], sizes[1])
    for i in range(1, arch.layers):
        T = conv_matrix(fs[i], arch.s[i], sizes[i + 1]) @ T
    return T


def jacobian(arch: Architecture, filters: Any) -> NDArray[np.float64]:
    """Jacobian of ``mu`` at float filters, shape ``(..., d+1, sum_i k_i)``; columns ordered
    layer by layer as in :func:`join_params`.

    Closed form (``mu`` is linear in each ``w_i``): with ``Q_i`` the product of the other
    layers' upsampled filters, column ``j`` of block ``i`` is ``Q_i`` shifted by ``j S_i``,
    i.e. block ``i`` is the convolution matrix of ``Q_i`` against ``pi_{S_i}``. Prefix and
    suffix products give all ``Q_i`` in ``O(L)`` multiplications.
    """
    arch = as_architecture(arch)
    fs = coerce_filters(arch, filters, exact=False)
    fl: list[NDArray[np.float64]] = [np.asarray(f, dtype=np.float64) for f in fs]
    L, S = arch.layers, arch.S
    batch = fl[0].shape[:-1]
    one = np.ones((*batch, 1))
    prefix = [one]
    for i in range(L - 1):
        prefix.append(mul_upsampled(prefix[-1], fl[i], S[i]))
    suffix = [one]
    for i in range(L - 1, 0, -1):
        suffix.append(mul_upsampled(suffix[-1], fl[i], S[i]))
    suffix.reverse()
    J = np.zeros((*batch, arch.filter_size, arch.parameters))
    col = 0
    for i in range(L):
        Q = forms.multiply(prefix[i], suffix[i])
        n = Q.shape[-1]
        for j in range(arch.k[i]):
            J[..., j * S[i] : j * S[i] + n, col] = Q
            col += 1
    return J


def split_params(arch: Architecture, theta: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Split a flat parameter vector ``(..., sum k_i)`` into per-layer filters."""
    arch = as_architecture(arch)
    theta = np.asarray(theta)
    if theta.ndim == 0 or theta.shape[-1] != arch.parameters:
        raise FilterError(
            "theta", f"has shape {theta.shape}; the architecture has {arch.parameters} "
            "parameters (last axis)"
        )
    cuts = np.cumsum(arch.k)[:-1]
    return list(np.split(theta, cuts, axis=-1))


def join_params(filters: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
    """Concatenate per-layer filters into a flat parameter vector (inverse of
    :func:`split_params`)."""
    return np.concatenate([np.asarray(f, dtype=np.float64) for f in filters], axis=-1)


def to_torch(arch: Architecture, filters: Any, dtype: Any = None) -> torch.nn.Sequential:
    """``nn.Sequential`` of ``nn.Conv1d(1, 1, k_i, stride=s_i, bias=False)`` holding ``filters``
    (one unbatched filter per layer). ``torch`` cross-correlates, which is exactly
    ``T[r, r*s+j] = w_j``."""
    import torch

    arch = as_architecture(arch)
    fs = coerce_filters(arch, filters, exact=False)
    if fs[0].ndim != 1:
        raise FilterError("filters", "to_torch takes one filter per layer, not a batch")
    dtype = torch.float64 if dtype is None else dtype
    layers = []
    for f, ki, si in zip(fs, arch.k, arch.s, strict=True):
        conv = torch.nn.Conv1d(1, 1, ki, stride=si, bias=False, dtype=dtype)
        with torch.no_grad():
            conv.weight.copy_(torch.as_tensor(np.array(f), dtype=dtype).reshape(1, 1, ki))
        layers.append(conv)
    return torch.nn.Sequential(*layers)


def from_torch(module: Any) -> tuple[Architecture, list[NDArray[np.float64]]]:
    """Read an architecture and its filters from a ``Conv1d`` or an ``nn.Sequential`` of
    ``Conv1d(1, 1, k, stride=s, bias=False)`` layers without padding, dilation or groups."""
    import torch

    convs: list[Any]
    if isinstance(module, torch.nn.Conv1d):
        convs = [module]
    elif isinstance(module, torch.nn.Sequential):
        convs = list(module)
    else:
        raise FilterError(
            "module", f"is a {type(module).__name__}; expected nn.Sequential of nn.Conv1d layers"
        )
    if not convs:
        raise FilterError("module", "is an empty nn.Sequential; an LCN needs at least one layer")
    ks, ss, fs = [], [], []
    for i, c in enumerate(convs):
        where = f"module[{i}]"
        if not isinstance(c, torch.nn.Conv1d):
            raise FilterError(
                where, f"is a {type(c).__name__}; an LCN has only nn.Conv1d layers (no "
                "nonlinearities, pooling or normalization)"
            )
        if c.in_channels != 1 or c.out_channels != 1:
            raise FilterError(where, "must have 1 input and 1 output channel")
        if c.bias is not None:
            raise FilterError(where, "has a bias; LCN layers are linear (use bias=False)")
        if c.padding not in ((0,), 0) or c.dilation != (1,) or c.groups != 1:
            raise FilterError(where, "must have padding=0, dilation=1 and groups=1")
        ks.append(int(c.kernel_size[0]))
        ss.append(int(c.stride[0]))
        fs.append(c.weight.detach().cpu().double().numpy().reshape(-1).copy())
    return Architecture(ks, ss), fs
