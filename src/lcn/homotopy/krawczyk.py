"""Krawczyk's test for many roots at once, in float64 midpoint-radius arithmetic with a priori
rounding-error bounds (Rump's approach, without directed rounding).

For the chart system ``F(x) = (Jz^T g, mu^T g)``, ``g = G (lam mu - u)`` (:mod:`.chart`,
:mod:`.system`) at the *given* data ``(G, u)``, a centre ``x~`` and the box ``X`` of complex
discs ``|x_i - x~_i| <= r``, with any matrix ``Y`` (here ``fl(F'(x~))^{-1}``), the map
``K(x) = x - Y F(x)`` satisfies for ``x`` in ``X``

    ``|K(x) - x~| <= |Y F(x~)| + |I - Y Jbar| r``,   ``Jbar = int_0^1 F'(x~ + t (x - x~)) dt``.

If a bound ``M >= |I - Y J|`` holds entrywise for every ``J`` in the convex hull of ``F'(X)``
and ``|Y F(x~)| + M r < r`` componentwise, then ``K`` maps ``X`` into its interior (a root,
Brouwer), ``M r < r`` gives ``rho(M) < 1`` (Perron-Frobenius), so every such ``J`` is
nonsingular: the root is nonsingular and unique in ``X`` (two roots would give a singular
mean-value Jacobian). This is the test of :mod:`.certify` with discs for rectangles.

The enclosures, for batches of roots in torch complex128 (one call evaluates thousands):

* *Majorants.* Each entry of ``F`` and ``F'`` is a polynomial in ``(x, b)``, ``b = G u``,
  evaluated by an expression tree of sums and products (:class:`~.system.CriticalSystem`).
  The same tree with every constant replaced by its absolute value
  (:meth:`~.system.CriticalSystem.majorant`, ``-b`` by ``+beta``) is a polynomial ``P^`` whose
  coefficients dominate those of ``P``, so ``|P(x~ + d, b~ + e) - P(x~, b~)| <=
  P^(|x~| + |d|, |b~| + |e|) - P^(|x~|, |b~|)``.
  The evaluation runs in the explicit chart ``w_j = a_j + B_j z_j`` (per-row charts of
  :meth:`~.system.CriticalSystem.evaluate`), whose shift and correlation matrices are exact
  0/1 tensors, so the computed ``F'`` is the derivative of the computed ``F`` up to rounding
  (the fixed-chart evaluation folds ``B_j`` into rounded matrices).
* *Rounding.* With unit roundoff ``u = 2^-53``, every complex operation of the evaluation is
  exact up to a relative ``4 u`` (``sqrt(5) u`` for a product, Brent-Percival-Zimmermann 2007;
  a BLAS ``zgemm`` works on real and imaginary parts as real dot products; sums of ``k`` terms
  in any order: ``gamma_k``, Higham 3.1) and no value depends on a chain of more than ``D``
  operations (:func:`depth`), so ``|fl(P) - P| <= gamma P^(|x~|, |b~|)``,
  ``gamma = 4 D u / (1 - 4 D u)``; the majorants themselves, all terms non-negative, are
  computed to a relative ``gamma``; ``b~ = fl(G u)`` is within ``gamma_m |G| |u|`` of ``b``.
  Every bound computed in floating point is multiplied by ``SAFE = 1 + 1e-10`` (far above
  its own rounding, ``<= 1e-12`` relative here), and the inputs of ``|.|`` are rounded
  outward by ``8 u`` (a correctly rounded modulus on the CPU, 2 ulp with CUDA's ``hypot``).
  IEEE binary64 with round-to-nearest is assumed (NumPy and torch on the CPU; CUDA's
  arithmetic, with fused multiply-adds, satisfies the same bounds).
* *Underflow.* The relative model holds for an operation whose majorant is at least
  ``2^-1022`` (an underflowed result is off by at most ``2^-1075`` absolutely) or exactly 0
  (then the operation is exact). Every non-zero term of the expansion is a product of at most
  ``K = 4 A + 8`` inputs (entries of ``x~``, ``G``, ``u``, ``b~``, the slices and the chart
  bases), so rows whose non-zero inputs all have modulus at least ``2^(-1000 / K)`` stay in
  that range; other rows are left to acb.
* *Symmetry.* The Jacobian formula uses ``G = G^T`` (as ``GramForm`` makes it, exactly);
  ``G`` that is not exactly symmetric is refused.

A root that fails here (ill-conditioned ones, condition numbers above about ``1e6``, need
more than 53 bits) is left to the acb test of :mod:`.certify`, which raises the precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lcn.errors import DataError
from lcn.homotopy.system import CriticalSystem

__all__ = ["SAFE", "FloatCertificates", "certify_float", "depth"]

U = 2.0**-53
SAFE = 1.0 + 1e-10
#: Radii tried, as multiples of the size of the verified part of the Newton step.
RADII = (4.0, 1e2, 1e4)


@dataclass(frozen=True)
class FloatCertificates:
    """Per row: ``ok`` (the test passed), ``real`` (``True`` certified real, ``False`` certified
    non-real; rows with ``ok`` only), ``center`` ``(N, n)`` complex128 (exact box centres),
    ``radius`` ``(N,)`` (the disc radius of every coordinate)."""

    ok: np.ndarray
    real: np.ndarray
    center: np.ndarray
    radius: np.ndarray


def depth(system: CriticalSystem) -> int:
    """An upper bound on the length of the chain of rounded operations behind any entry of
    ``F`` or ``F'`` (see the module docstring). Adding an exact zero or multiplying by an
    exact 0/1 entry rounds nothing, so the chain is at most: the layers (``k`` terms), the
    prefix and suffix products (``k`` non-zero terms per factor, ``A`` factors), a product
    ``Q_j`` or ``Q_jc`` (``2 m``), ``Jz`` (``k``), ``g`` (``m + 2``), the contractions
    (``2 m``), the Hessian blocks (``m^2`` terms, then ``B_j^T . B_c``: ``2 k``), about
    ``max(A k + 3 m, (A - 1) k + 2 m + m^2) + 4 k + 8``; twice the expression below exceeds it
    with room to spare (an independent count gave 42-4236 against this bound's 210-10310)."""
    k = max(system.sizes) if system.A else 1
    m = system.m
    return 2 * (system.A * (m * k + 1) + m * m + 4 * m + 4 * k + 16)


def _gamma(k: int) -> float:
    g = 4 * k * U
    if g >= 1e-3:
        raise ValueError(f"rounding bound of {k} operations too large for float64")
    return g / (1 - g)


def certify_float(system: CriticalSystem, G: np.ndarray, u: np.ndarray, X: np.ndarray
                  ) -> FloatCertificates:
    """Krawczyk's test (module docstring) for every row of ``X`` (``(N, n)`` complex
    approximations of roots) at per-row data ``G`` ``(N, m, m)``, ``u`` ``(N, m)`` (real), after
    one Newton step in float64. Near-real rows are first tried with a real centre (a
    conjugation-invariant box: its unique root is real); a root certified in a box that
    avoids ``Im x_i = 0`` in some coordinate is non-real; rows whose box meets the real
    subspace without a real centre passing are returned not ``ok`` (undecided: left to acb)."""
    torch = system.torch
    N = X.shape[0]
    ok = np.zeros(N, bool)
    real = np.zeros(N, bool)
    radius = np.full(N, np.inf)
    center = np.array(X, dtype=np.complex128, copy=True)
    if N == 0:
        return FloatCertificates(ok, real, center, radius)
    G = np.asarray(G, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if not np.array_equal(G, G.transpose(0, 2, 1)):
        raise DataError("G", "must be exactly symmetric (the Jacobian formula uses G = G^T); "
                        "use GramForm.G or (G + G^T) / 2")
    m = system.m
    b = np.einsum("nij,nj->ni", G, u)
    rho_b = _gamma(m + 2) * np.einsum("nij,nj->ni", np.abs(G), np.abs(u)) * SAFE
    gam = _gamma(depth(system))
    maj = system.majorant()
    c = torch.complex128
    dev = system.device
    p = system.pack(G, b)
    pa = maj.pack(np.abs(G), -np.abs(b))           # beta = |b~|
    pb = maj.pack(np.abs(G), -(np.abs(b) + rho_b))  # beta = |b~| + rho_b
    x = torch.as_tensor(center, dtype=c, device=dev)
    fin = torch.isfinite(x.real).all(1) & torch.isfinite(x.imag).all(1)
    fin &= torch.as_tensor(_scaled(system, G, u, b), device=dev)
    x = torch.where(fin[:, None], x, torch.zeros_like(x))
    F, J, _ = system.evaluate(x, p)
    d, info = torch.linalg.solve_ex(J, -F[..., None])
    good = fin & (info == 0)
    x = torch.where(good[:, None], x + d[..., 0], x)
    step = d[..., 0].abs().amax(1)
    scale = 1 + x.abs().amax(1)
    near = good & (x.imag.abs().amax(1) <= 1e3 * torch.clamp(step, min=scale * 2.0**-45))
    rows = torch.nonzero(near)[:, 0]
    if rows.numel():
        xr = x[rows].real.to(c)
        F, J, _ = system.evaluate(xr, p[rows])
        d, info = torch.linalg.solve_ex(J, -F[..., None])
        xr = (xr + d[..., 0]).real.to(c)  # real data, real centre: the step is real
        passed, r = _test(system, maj, xr, p[rows], pa[rows], pb[rows], gam)
        sel = rows[passed].cpu().numpy()
        ok[sel] = True
        real[sel] = True
        center[sel] = xr[passed].cpu().numpy()
        radius[sel] = r[passed].cpu().numpy()
    rest = torch.nonzero(good & ~torch.as_tensor(ok, device=dev))[:, 0]
    if rest.numel():
        xc = x[rest]
        passed, r = _test(system, maj, xc, p[rest], pa[rest], pb[rest], gam)
        # certified non-real iff some coordinate's disc avoids the real axis
        off = (xc.imag.abs() > r[:, None]).any(1)
        passed = passed & off
        sel = rest[passed].cpu().numpy()
        ok[sel] = True
        center[sel] = xc[passed].cpu().numpy()
        radius[sel] = r[passed].cpu().numpy()
    return FloatCertificates(ok, real, center, radius)


def _test(system: CriticalSystem, maj: CriticalSystem, x: Any, p: Any, pa: Any, pb: Any,
          gam: float) -> tuple[Any, Any]:
    """Which rows pass Krawczyk's test at centres ``x`` for one of :data:`RADII`, and the
    radius that passed (``inf`` where none did)."""
    torch = system.torch
    N, n = x.shape
    ch, ch_abs = _charts(system, N)
    F, J, _ = system.evaluate(x, p, None, ch)
    Y, info = torch.linalg.inv_ex(J)
    inv_ok = info == 0
    Y = torch.where(inv_ok[:, None, None], Y, torch.zeros_like(Y))
    aY = Y.abs()
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    Z = (eye - Y @ J).abs()
    YF = (Y @ F[..., None])[..., 0].abs()
    ax = x.abs()
    y0 = (ax * (1 - 8 * U)).to(x.dtype)           # <= |x~|
    yu = (ax * (1 + 8 * U)).to(x.dtype)           # >= |x~|
    Fa, _, _ = maj.evaluate(yu, pa, None, ch_abs)
    Fb, _, _ = maj.evaluate(yu, pb, None, ch_abs)
    _, J0, _ = maj.evaluate(y0, pa, None, ch_abs)
    Fa, Fb, J0 = Fa.real, Fb.real, J0.real
    # |F(x~; b) - fl F(x~; b~)|: the b~ rounding plus the evaluation's
    rho_F = (Fb - Fa) + 3 * gam * (Fb + Fa)
    head = YF + (aY @ (gam * F.abs() + rho_F)[..., None])[..., 0]
    base = (head * SAFE).amax(1)
    Zc = Z + gam * (aY @ J.abs() + eye.real)
    passed = torch.zeros(N, dtype=torch.bool, device=x.device)
    radius = torch.full((N,), float("inf"), dtype=torch.float64, device=x.device)
    lam = ax[:, -1] * (1 - 8 * U)  # <= |lam~|
    # no underflow (module docstring): every non-zero |x~_i| at least the threshold
    tiny = (ax > 0) & (ax < _threshold(system))
    ok0 = inv_ok & torch.isfinite(base) & ~tiny.any(1)
    for mult in RADII:
        todo = ok0 & ~passed
        if not bool(todo.any()):
            break
        r = torch.clamp(base * mult, min=1e-300)
        y1 = ((ax + r[:, None]) * (1 + 8 * U)).to(x.dtype)
        _, J1, _ = maj.evaluate(y1, pb, None, ch_abs)
        J1 = J1.real
        R_J = (J1 - J0) + 3 * gam * (J1 + J0)
        M = Zc + aY @ R_J
        bound = (head + (M @ r[:, None, None].expand(N, n, 1))[..., 0]) * SAFE
        ok = todo & (bound < r[:, None]).all(1) & (lam > r)
        ok &= torch.isfinite(bound).all(1)
        radius = torch.where(ok, r, radius)
        passed |= ok
    return passed, radius


def _charts(system: CriticalSystem, N: int) -> tuple[tuple[list[Any], list[Any]],
                                                     tuple[list[Any], list[Any]]]:
    """The fixed chart as explicit per-row charts ``(W0, B)`` (views, ``N`` rows), and the
    same with absolute values for the majorant."""
    W0, Bs = system.fixed_charts()
    ch = ([w.expand(N, -1) for w in W0], [B.expand(N, -1, -1) for B in Bs])
    ch_abs = ([w.abs().to(w.dtype).expand(N, -1) for w in W0],
              [B.abs().to(B.dtype).expand(N, -1, -1) for B in Bs])
    return ch, ch_abs


def _threshold(system: CriticalSystem) -> float:
    """Smallest modulus allowed for a non-zero input (module docstring, *Underflow*)."""
    return 2.0 ** (-1000 / (4 * system.A + 8))


def _scaled(system: CriticalSystem, G: np.ndarray, u: np.ndarray, b: np.ndarray
            ) -> np.ndarray:
    """Rows whose data and chart have no non-zero entry below :func:`_threshold`."""
    t = _threshold(system)

    def small(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        a = np.abs(a)
        return np.asarray(((a > 0) & (a < t)).any(axis=axes))

    chart = system.chart
    if any(bool(small(np.asarray(v), (0,) if np.ndim(v) == 1 else (0, 1)))
           for v in (*chart.a, *chart.B)):
        return np.zeros(G.shape[0], bool)
    return ~(small(G, (1, 2)) | small(u, (1,)) | small(b, (1,)))
