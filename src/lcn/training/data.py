"""Datasets: ``X`` (``n_0 x N``, one sample per column) and ``Y`` (``n_L x N``) (MATH.md 8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn._validate import MAX_ELEMENTS, check_choice, check_int, check_real, check_seed, check_size
from lcn.errors import DataError
from lcn.training.model import model_for

__all__ = ["Dataset", "gaussian_dataset", "load_dataset"]

FloatArray = NDArray[np.float64]


def _as_matrix(a: Any, name: str) -> FloatArray:
    try:
        with np.errstate(all="ignore"):
            arr = np.array(a, dtype=np.float64, copy=True)
    except (TypeError, ValueError, OverflowError):
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

    def check(self, arch: Any, argument: str = "data") -> Dataset:
        """Raise :class:`DataError` unless the shapes fit ``arch``: for an LCN with output
        length ``n_L`` the input length must be ``n_0 = S(n_L - 1) + d + 1`` (MATH.md 1); for a
        dense network ``n_0``, ``n_L`` are the first and last widths."""
        model = model_for(arch)
        try:
            n0, nL = model.sizes(self.n_out)
        except DataError:
            n0, nL = model.sizes(None)
        if self.n_in != n0 or self.n_out != nL:
            raise DataError(
                argument, f"has X with {self.n_in} rows and Y with {self.n_out} rows; "
                f"{model.arch} with output length n_L={nL} needs n_0 = {n0} rows "
                "(LCN: n_0 = S (n_L - 1) + d + 1; dense: the first and last widths)"
            )
        return self


def gaussian_dataset(
    arch: Any,
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
    omitted). Sizes are bounded before anything is allocated
    (``(n_0 + n_L) N <= lcn._validate.MAX_ELEMENTS``).
    """
    model = model_for(arch)
    n0, nL = model.sizes(n_out)
    N = check_int(N, "N", min=1, error=DataError)
    noise = check_real(noise, "noise", min=0.0, error=DataError)
    seed = check_seed(seed, error=DataError)
    target = check_choice(target, "target", ("random", "planted"), error=DataError)
    check_size((n0 + nL) * N + n0 * nL, "N", what="data entries", limit=MAX_ELEMENTS,
               error=DataError)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n0, N))
    if target == "random":
        Y = rng.standard_normal((nL, N))
    else:
        theta = model.init(rng, 1, np.ones(1))[0]
        Y = model.matrix(theta, nL) @ X + noise * rng.standard_normal((nL, N))
    return Dataset(X, Y)


def load_dataset(path: str | Path, arch: Any, n_out: int | None = None) -> Dataset:
    """Load a dataset from ``.npz`` (arrays ``X`` of shape ``(n_0, N)`` and ``Y`` of shape
    ``(n_L, N)``) or ``.csv`` (one sample per row: ``n_0`` input columns then ``n_L`` output
    columns; a non-numeric first line is taken as a header). Shapes are checked against
    ``arch`` and ``n_out``; any problem raises :class:`DataError` before training starts."""
    model = model_for(arch)
    n0, nL = model.sizes(n_out)
    p = Path(path)
    if not p.is_file():
        raise DataError("path", f"{str(p)!r} is not a file; give a .npz or .csv dataset")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        X, Y = _read_npz(p)
    elif suffix == ".csv":
        A = _read_csv(p)
        if A.shape[1] != n0 + nL:
            raise DataError(
                "path", f"{p.name} has {A.shape[1]} columns; {model.arch} with n_L={nL} needs "
                f"{n0} input + {nL} output columns = {n0 + nL}"
            )
        X, Y = A[:, :n0].T, A[:, n0:].T
    else:
        raise DataError("path", f"has suffix {suffix!r}; use .npz or .csv")
    data = Dataset(X, Y)
    if data.n_out != nL:
        raise DataError("Y", f"has {data.n_out} rows but the output length is {nL}")
    return data.check(model.arch)


def _read_npz(p: Path) -> tuple[Any, Any]:
    try:
        with np.load(p, allow_pickle=False) as z:
            if "X" not in z or "Y" not in z:
                raise DataError(
                    "path", f"{p.name} holds arrays {sorted(z.files)}; it needs 'X' and 'Y'"
                )
            return z["X"], z["Y"]
    except DataError:
        raise
    except Exception as exc:
        raise DataError("path", f"cannot read {p.name} as .npz ({exc})") from None


def _read_csv(p: Path) -> FloatArray:
    try:
        with open(p, encoding="utf-8") as fh:
            first = fh.readline()
        try:
            [float(t) for t in first.strip().split(",") if t.strip()]
            skip = 0
        except ValueError:
            skip = 1
        return np.loadtxt(p, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
    except Exception as exc:
        raise DataError("path", f"cannot read {p.name} as numeric CSV ({exc})") from None
