"""Certified roots of the gauge-fixed critical equations: Krawczyk's test in acb balls.

For a root approximation ``x~`` of ``F(x) = 0`` (the system of :mod:`.chart` at the *given*
data ``(G, u)``, ``F = (Jz^T G r, mu^T G r)`` with ``r = lam mu - u``) and a box ``X`` around
it, the Krawczyk operator

    ``K(X) = x~ - Y F(x~) + (I - Y F'(X)) (X - x~)``,    ``Y ~ F'(x~)^{-1}``,

evaluated in ball arithmetic (python-flint ``acb``, so ``F(x~)`` and ``F'(X)`` are rigorous
enclosures) satisfies: ``K(X)`` inside the interior of ``X`` implies that ``X`` holds exactly
one root of ``F``, and that it is nonsingular (Krawczyk 1969, Moore 1977; Rump's form). Boxes
are complex rectangles (real and imaginary parts ``mid +- r``).

* Precision: Newton refinement and the test run at 53 bits, then 106, then 212, until the test
  passes; ill-conditioned roots (condition numbers 1e8-1e12 occur for real critical points of
  Gaussian data) need the higher precisions because ``|Y F(x~)| ~ kappa 2^-p`` must be far below
  the box radius, itself below ``1 / (kappa |F''|)``.
* Realness: the system is real (real slices, real data), so ``conj`` maps roots to roots; a box
  whose centre is real is conjugation invariant, and when it holds a *unique* root that root
  is real. A root whose box avoids the real subspace (some coordinate's imaginary part
  excludes 0) is certified non-real.
* ``lam != 0`` is checked on the box (the chart's roots with ``lam = 0`` are not critical
  points of the loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flint
import numpy as np
from flint import acb, acb_mat, acb_poly, arb

from lcn.homotopy.chart import Chart

__all__ = ["Certified", "PRECISIONS", "certify_roots"]

#: Working precisions (bits) tried in turn.
PRECISIONS = (53, 106, 212)


@dataclass(frozen=True)
class Certified:
    """One root: ``ok`` (Krawczyk passed), ``center`` (complex128, the box midpoint rounded),
    ``radius`` (float64 per coordinate, covering the box *and* the rounding of its midpoint),
    ``real`` (``True``: certified real, ``False``: certified non-real, ``None``: undecided or
    not certified), ``bits`` (precision that passed, 0 if none), ``arithmetic``: ``"acb"``
    (this module) or ``"float64"`` (:mod:`.krawczyk`)."""

    ok: bool
    center: np.ndarray
    radius: np.ndarray
    real: bool | None
    bits: int
    arithmetic: str = "acb"


class AcbSystem:
    """``F`` and ``F'`` of the chart system in acb, at the data ``G`` (``m x m``) and ``u``."""

    def __init__(self, chart: Chart, G: np.ndarray, u: np.ndarray) -> None:
        self.chart = chart
        self.Gf = np.asarray(G, dtype=np.float64)
        self.uf = np.asarray(u, dtype=np.float64)
        self.Bf = [np.asarray(B) for B in chart.B]
        self.af = [np.asarray(a) for a in chart.a]
        self._prec = -1

    def _setup(self) -> None:
        # exact float inputs as balls of radius 0; rebuilt per precision (cheap)
        if self._prec == flint.ctx.prec:
            return
        self._prec = flint.ctx.prec
        self.G = acb_mat([[acb(float(v)) for v in row] for row in self.Gf])
        self.u = acb_mat([[acb(float(v))] for v in self.uf])
        self.B = [acb_mat([[acb(float(v)) for v in row] for row in B]) for B in self.Bf]
        self.BT = [B.transpose() for B in self.B]
        self.a = [[acb(float(v)) for v in a] for a in self.af]

    def layers(self, x: list[Any]) -> list[list[Any]]:
        ch = self.chart
        out = []
        for j, (o, k) in enumerate(zip(ch.offsets, ch.sizes, strict=True)):
            z = acb_mat([[x[o + i]] for i in range(k - 1)])
            w = self.B[j] * z
            out.append([self.a[j][i] + w[i, 0] for i in range(k)])
        return out

    def evaluate(self, x: list[Any], jac: bool = True) -> tuple[acb_mat, acb_mat | None]:
        """``F(x)`` (``n x 1``) and, when ``jac``, ``F'(x)`` (``n x n``) for acb ``x``."""
        self._setup()
        ch = self.chart
        m, n = ch.m, ch.n
        A = len(ch.active)
        S = ch.strides
        ws = self.layers(x)
        polys = []
        for w, s in zip(ws, S, strict=True):
            co = [acb(0)] * (s * (len(w) - 1) + 1)
            for i, wi in enumerate(w):
                co[i * s] = wi
            polys.append(acb_poly(co))

        def prod(skip: tuple[int, ...]) -> list[Any]:
            p = acb_poly([1])
            for j in range(A):
                if j not in skip:
                    p = p * polys[j]
            return p.coeffs()

        def padded(c: list[Any], length: int) -> list[Any]:
            return list(c) + [acb(0)] * (length - len(c))

        mu = padded(prod(()), m)
        lam = x[-1]
        muM = acb_mat([[v] for v in mu])
        r = muM * lam - self.u
        g = self.G * r
        cols: list[list[Any]] = []  # columns of Jz
        for j in range(A):
            Q = prod((j,))
            k = ch.sizes[j]
            Jj = acb_mat(m, k)
            for i in range(k):
                for t, q in enumerate(Q):
                    if t + i * S[j] < m:
                        Jj[t + i * S[j], i] = q
            Jz = Jj * self.B[j]
            for c in range(k - 1):
                cols.append([Jz[t, c] for t in range(m)])
        nz = n - 1
        JzM = acb_mat([[cols[c][t] for c in range(nz)] for t in range(m)]) if nz else None
        F = acb_mat(n, 1)
        Fz = JzM.transpose() * g if JzM is not None else None
        for i in range(nz):
            F[i, 0] = Fz[i, 0]  # type: ignore[index]
        F0 = (muM.transpose() * g)[0, 0]
        F[nz, 0] = F0
        if not jac:
            return F, None
        J = acb_mat(n, n)
        Gmu = self.G * muM
        if JzM is not None:
            JGJ = JzM.transpose() * (self.G * JzM)
            JGmu = JzM.transpose() * Gmu
            gl = [g[t, 0] for t in range(m)]
            for i in range(nz):
                for c in range(nz):
                    J[i, c] = lam * JGJ[i, c]
            for j in range(A):
                for c in range(j + 1, A):
                    Q = prod((j, c))
                    kj, kc = ch.sizes[j], ch.sizes[c]
                    H = acb_mat(kj, kc)
                    for i1 in range(kj):
                        for i2 in range(kc):
                            sh = i1 * S[j] + i2 * S[c]
                            acc = acb(0)
                            for t, q in enumerate(Q):
                                if t + sh < m:
                                    acc += q * gl[t + sh]
                            H[i1, i2] = acc
                    Hz = self.BT[j] * H * self.B[c]
                    oj, oc = ch.offsets[j], ch.offsets[c]
                    for i1 in range(kj - 1):
                        for i2 in range(kc - 1):
                            J[oj + i1, oc + i2] += Hz[i1, i2]
                            J[oc + i2, oj + i1] += Hz[i1, i2]
            for i in range(nz):
                J[i, nz] = JGmu[i, 0]
                J[nz, i] = Fz[i, 0] + lam * JGmu[i, 0]  # type: ignore[index]
        J[nz, nz] = (muM.transpose() * Gmu)[0, 0]
        return F, J


def _mid(v: Any) -> Any:
    return acb(v.real.mid(), v.imag.mid())


def _newton(sys: AcbSystem, x: list[Any], iters: int) -> tuple[list[Any], float]:
    """Newton steps on midpoints; returns the point and the last step's max size."""
    step = float("inf")
    for _ in range(iters):
        F, J = sys.evaluate(x)
        assert J is not None
        Jm = acb_mat([[_mid(J[i, j]) for j in range(J.ncols())] for i in range(J.nrows())])
        Fm = acb_mat([[_mid(F[i, 0])] for i in range(F.nrows())])
        try:
            d = Jm.solve(Fm)
        except (ZeroDivisionError, ValueError):
            return x, float("inf")
        x = [_mid(x[i] - d[i, 0]) for i in range(len(x))]
        step = max(float(abs(d[i, 0]).mid()) for i in range(len(x)))
        scale = 1 + max(float(abs(v).mid()) for v in x)
        if step <= scale * 2.0 ** (-flint.ctx.prec + 4):
            break
    return x, step


def _prepare(sys: AcbSystem, xm: list[Any], real: bool) -> tuple[Any, ...] | None:
    """What Krawczyk's test needs at the centre, for any radius: the centre (real parts for a
    conjugation-invariant box), ``F(x~)`` as balls, ``Y = mid(F'(x~))^{-1}`` (midpoints: any
    ``Y`` is valid) and the size of the Newton step ``|Y F(x~)|``."""
    n = len(xm)
    if real:
        xm = [acb(v.real.mid()) for v in xm]
    Fm, Jm = sys.evaluate(xm)
    assert Jm is not None
    Jmid = acb_mat([[_mid(Jm[i, j]) for j in range(n)] for i in range(n)])
    try:
        Yb = Jmid.inv()
    except (ZeroDivisionError, ValueError):
        return None
    Y = acb_mat([[_mid(Yb[i, j]) for j in range(n)] for i in range(n)])
    YF = Y * Fm
    step = max(float(abs(YF[i, 0]).mid()) + float(abs(YF[i, 0]).rad()) for i in range(n))
    if not np.isfinite(step):
        return None
    return xm, YF, Y, step


def _krawczyk(sys: AcbSystem, pre: tuple[Any, ...], r: float) -> bool:
    """Krawczyk's test on the box of radius ``r`` around the prepared centre."""
    xm, YF, Y, _ = pre
    n = len(xm)
    X = [acb(arb(v.real.mid(), r), arb(v.imag.mid(), r)) for v in xm]
    _, JX = sys.evaluate(X)
    assert JX is not None
    eye = acb_mat(n, n)
    for i in range(n):
        eye[i, i] = acb(1)
    D = acb_mat([[X[i] - xm[i]] for i in range(n)])
    K = acb_mat([[xm[i]] for i in range(n)]) - YF + (eye - Y * JX) * D
    for i in range(n):
        if not X[i].contains_interior(K[i, 0]):
            return False
    # lam != 0 on the box
    return not X[-1].contains(acb(0))


def certify_roots(chart: Chart, G: np.ndarray, u: np.ndarray, X: np.ndarray,
                  precisions: tuple[int, ...] = PRECISIONS) -> list[Certified]:
    """Refine and certify every row of ``X`` (``(N, n)`` complex approximations) as a root of
    the chart system at ``(G, u)`` (see the module docstring)."""
    sys = AcbSystem(chart, G, u)
    out = []
    for row in np.asarray(X, dtype=np.complex128):
        out.append(_certify_one(sys, row, precisions))
    return out


def _certify_one(sys: AcbSystem, row: np.ndarray, precisions: tuple[int, ...]) -> Certified:
    n = row.shape[0]
    bad = Certified(False, row, np.full(n, np.inf), None, 0)
    if not np.all(np.isfinite(row)):
        return bad
    x = [acb(float(v.real), float(v.imag)) for v in row]
    fallback: Certified | None = None
    for level, bits in enumerate(precisions):
        with flint.ctx.workprec(bits):
            x = [_mid(v) for v in x]
            scale = 1 + max(float(abs(v).mid()) for v in x)
            tiny = scale * 2.0 ** (-bits + 8)
            # the tracker's endpoints are Newton-polished in float64: at the first precision
            # refine only when the Newton step says so
            pre = _prepare(sys, x, False) if level == 0 else None
            if pre is None or pre[3] > 1e-10 * scale:
                x, step = _newton(sys, x, 8)
                if not np.isfinite(step):
                    continue
                pre = _prepare(sys, x, False)
                if pre is None:
                    continue
            step = pre[3]
            im = max(float(abs(v.imag).mid()) for v in x)
            radii = [max(1e3 * step, tiny), max(1e6 * step, tiny * 2**8),
                     scale * 2.0 ** (-bits / 2)]
            if im <= 1e3 * max(step, tiny):
                pre_r = _prepare(sys, x, True)
                if pre_r is not None:
                    for r in radii:
                        if r > pre_r[3] and _krawczyk(sys, pre_r, r):
                            return _done(pre_r[0], r, True, bits)
            for r in radii:
                if r > step and _krawczyk(sys, pre, r):
                    # non-real certified iff some coordinate's box avoids Im = 0
                    if any(abs(float(v.imag.mid())) > r for v in x):
                        return _done(x, r, False, bits)
                    # a root whose box meets the real subspace: realness undecided at this
                    # precision; a higher one may certify it real
                    if fallback is None:
                        fallback = _done(x, r, None, bits)
                    break
    return fallback if fallback is not None else bad


def _done(x: list[Any], r: float, real: bool | None, bits: int) -> Certified:
    if real:
        x = [acb(v.real.mid()) for v in x]
    center = np.array([complex(float(v.real.mid()), float(v.imag.mid())) for v in x])
    # the float centre differs from the exact midpoint by at most one ulp per part
    radius = np.array([r + 2 * np.spacing(abs(c.real)) + 2 * np.spacing(abs(c.imag))
                       for c in center]) * (1 + 1e-12)
    return Certified(True, center, radius, real, bits)
