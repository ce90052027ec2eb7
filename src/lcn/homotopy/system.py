"""Batched torch evaluation of the gauge-fixed critical equations and their Jacobians.

Two families of square polynomial systems, both *linear in their parameters* ``p`` (so a
parameter homotopy ``p(t) = p_0 + s(t) (p_1 - p_0)`` has ``dF/dt = s'(t) F(x; p_1 - p_0)``):

* :class:`CriticalSystem` (the critical points with ``mu(w) != 0``, :mod:`.chart`):
  ``p = (vec G, b)`` with ``b = G u``; with ``g = lam G mu - b``,
  ``F = (Jz^T g, mu^T g)`` where ``Jz = [J_1 B_1, ..., J_A B_A]`` is ``d mu / d z``.
  Jacobian (``H_g`` the Hessian of the multilinear form ``z -> mu(z) . g`` at fixed ``g``,
  block off-diagonal because ``mu`` is linear in each layer)::

      d(Jz^T g)/dz   = H_g + lam Jz^T G Jz        d(Jz^T g)/d lam = Jz^T G mu
      d(mu^T g)/dz   = Jz^T g + lam Jz^T G mu     d(mu^T g)/d lam = mu^T G mu

* :class:`ZeroSystem` (critical points with layer ``j`` zero, MATH.md 8): the remaining
  gradient equations are ``J_j(w)^T b = 0`` (``k_j`` equations, multilinear in the other
  layers, each projective), in the same charts on the other layers; ``p = b``.

Everything is complex128 and *bilinear* (transposes, never conjugates): the systems are
polynomial. ``mu`` is multilinear, ``mu = E . (w_1 (x) ... (x) w_A)`` with the 0/1 tensor ``E``
of the chart, so every derivative is a tensor contraction (``torch.einsum``), batched over the
leading axis (paths and datasets together). torch is imported when a system is built.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from lcn.homotopy.chart import Chart

__all__ = ["CriticalSystem", "ZeroSystem"]

_LETTERS = "abcdefghijklmopqrsuvwxyz"  # layer indices; "n" is the batch, "t" the taps


class _Multilinear:
    """Shared pieces: the chart's layers as torch tensors and contractions of ``E``."""

    def __init__(self, chart: Chart, device: Any, layers: tuple[int, ...]) -> None:
        import torch

        self.torch = torch
        self.chart = chart
        self.device = device
        dt = torch.complex128
        self.E = torch.as_tensor(chart.E, dtype=dt, device=device)
        self.A = len(chart.active)
        # which active layers carry unknowns, in x order
        self.var = layers
        self.a = [torch.as_tensor(a, dtype=dt, device=device) for a in chart.a]
        self.B = [torch.as_tensor(B, dtype=dt, device=device) for B in chart.B]
        self.m = chart.m
        self.sizes = chart.sizes
        offs, acc = {}, 0
        for j in layers:
            offs[j] = acc
            acc += self.sizes[j] - 1
        self.offs = offs
        self.nz = acc

    def layers(self, x: Any) -> list[Any]:
        """``w_j = a_j + B_j z_j`` for the variable layers (others are not used)."""
        out = []
        for j in range(self.A):
            if j in self.offs:
                o, k = self.offs[j], self.sizes[j]
                out.append(self.a[j] + x[:, o:o + k - 1] @ self.B[j].T)
            else:
                out.append(None)
        return out

    def contract(self, T: Any, ws: list[Any], keep: tuple[int, ...], taps: bool) -> Any:
        """Contract tensor ``T`` (``(t,) a, b, ...`` over the active layers, batched with ``n``
        when ``taps`` is False) with every ``ws[j]`` for ``j`` not in ``keep``."""
        L = _LETTERS[: self.A]
        lhs = ("t" + L) if taps else ("n" + L)
        ops, specs = [T], [lhs]
        for j in range(self.A):
            if j not in keep:
                ops.append(ws[j])
                specs.append("n" + L[j])
        out = ("n" + ("t" if taps else "") + "".join(L[j] for j in keep))
        return self.torch.einsum(",".join(specs) + "->" + out, *ops)


def _lift(a: int, b: int) -> np.ndarray:
    """0/1 matrix ``(a b, a + b - 1)`` of the product of polynomials with ``a`` and ``b``
    coefficients: ``p * q = vec(p (x) q) @ L`` (row-major outer product)."""
    L = np.zeros((a * b, a + b - 1))
    for i in range(a):
        for j in range(b):
            L[i * b + j, i + j] = 1.0
    return L


class CriticalSystem(_Multilinear):
    """The square system of :mod:`.chart` in ``x = (z, lam)``, parameters ``(vec G, b)``.

    Evaluated with matrix products only (no einsum: at the small sizes here each einsum call
    costs far more than its arithmetic): all layers at once from one block matrix, the
    upsampled layers and their prefix/suffix products by outer products and fixed 0/1 "lift"
    matrices, ``Jz`` from the products ``Q_j`` of the other layers by one fixed matrix per
    layer (shift by ``i S_j`` folded with ``B_j``), and the Hessian blocks of ``z -> mu . g``
    from the products ``Q_jc`` of the layers other than ``j, c`` by one fixed correlation
    matrix per pair (folded with ``B_j`` and ``B_c``)."""

    def __init__(self, chart: Chart, device: Any = "cpu") -> None:
        super().__init__(chart, device, tuple(range(len(chart.active))))
        torch = self.torch
        self.n = self.nz + 1
        self.P = self.m * self.m + self.m
        c = torch.complex128
        sizes, S, m, A = chart.sizes, chart.strides, self.m, self.A
        tot = sum(sizes)
        Bblk = np.zeros((self.nz, tot))
        a_cat = np.zeros(tot)
        self.woff = []
        col = 0
        for j in range(A):
            k, o = sizes[j], self.offs[j]
            Bblk[o:o + k - 1, col:col + k] = chart.B[j].T
            a_cat[col:col + k] = chart.a[j]
            self.woff.append(col)
            col += k
        self.Bblk = torch.as_tensor(Bblk, dtype=c, device=device)
        self.a_cat = torch.as_tensor(a_cat, dtype=c, device=device)
        # upsampling of layer j: w_j @ Up_j, length (k_j - 1) S_j + 1
        self.Up = []
        for j in range(A):
            U = np.zeros((sizes[j], (sizes[j] - 1) * S[j] + 1))
            U[np.arange(sizes[j]), np.arange(sizes[j]) * S[j]] = 1.0
            self.Up.append(torch.as_tensor(U, dtype=c, device=device))
        self._lifts: dict[tuple[int, int], Any] = {}
        self._majorant: CriticalSystem | None = None
        # Jz_j = (Q_j @ M_j).view(N, m, k_j - 1): M_j[q, t (k_j-1) + c] = sum_i [t = q + i S_j]
        # B_j[i, c], with Q_j of length q_j = m - (k_j - 1) S_j
        self.M = []
        self.Sh = []  # the same without B_j: J_j = (Q_j @ Sh_j).view(N, m, k_j)
        for j in range(A):
            k = sizes[j]
            q = m - (k - 1) * S[j]
            Mj = np.zeros((q, m, k - 1))
            for i in range(k):
                for t0 in range(q):
                    Mj[t0, t0 + i * S[j], :] += chart.B[j][i, :]
            self.M.append(torch.as_tensor(Mj.reshape(q, m * (k - 1)), dtype=c, device=device))
            Sh = np.zeros((q, m, k))
            for i in range(k):
                Sh[np.arange(q), np.arange(q) + i * S[j], i] = 1.0
            self.Sh.append(torch.as_tensor(Sh.reshape(q, m * k), dtype=c, device=device))
        # Hessian pair (j, c): H_z = (vec(Q_jc (x) g) @ C_jc).view(N, k_j - 1, k_c - 1)
        self.C = {}
        self.Cu = {}
        for j in range(A):
            for cc in range(j + 1, A):
                kj, kc = sizes[j], sizes[cc]
                q = m - (kj - 1) * S[j] - (kc - 1) * S[cc]
                H = np.zeros((q, m, kj, kc))
                for t0 in range(q):
                    for i1 in range(kj):
                        for i2 in range(kc):
                            H[t0, t0 + i1 * S[j] + i2 * S[cc], i1, i2] = 1.0
                self.Cu[(j, cc)] = torch.as_tensor(H.reshape(q * m, kj * kc), dtype=c,
                                                   device=device)
                Hz = np.einsum("qtab,ai,bj->qtij", H, chart.B[j], chart.B[cc])
                self.C[(j, cc)] = torch.as_tensor(Hz.reshape(q * m, (kj - 1) * (kc - 1)),
                                                  dtype=c, device=device)

    def majorant(self) -> CriticalSystem:
        """The same evaluation with every constant replaced by its absolute value: at
        non-negative ``x``, parameters ``(|G|, -beta)`` and charts ``(|W0|, |B|)`` it computes
        polynomials whose coefficients dominate those of ``F`` and ``F'`` (the majorants of
        :mod:`.krawczyk`, which evaluates in explicit charts: their shift matrices ``Sh``,
        ``Cu`` are exact 0/1, unlike the folded ``M``, ``C`` of the fixed chart, whose entries
        are rounded sums)."""
        if self._majorant is None:
            def ab(t: Any) -> Any:
                return t.abs().to(t.dtype)

            out = copy.copy(self)
            out.a_cat, out.Bblk = ab(self.a_cat), ab(self.Bblk)
            out.M = [ab(M) for M in self.M]
            out.C = {key: ab(C) for key, C in self.C.items()}
            out.Sh = [ab(S) for S in self.Sh]
            out.Cu = {key: ab(C) for key, C in self.Cu.items()}
            out._majorant = out
            self._majorant = out
        return self._majorant

    def _mul(self, p: Any, q: Any) -> Any:
        """Batched polynomial product of ``p`` ``(N, a)`` and ``q`` ``(N, b)``."""
        a, b = p.shape[1], q.shape[1]
        if a == 1:
            return p * q
        if b == 1:
            return p * q
        key = (a, b)
        L = self._lifts.get(key)
        if L is None:
            L = self.torch.as_tensor(_lift(a, b), dtype=p.dtype, device=p.device)
            self._lifts[key] = L
        return (p[:, :, None] * q[:, None, :]).reshape(p.shape[0], a * b) @ L

    def pack(self, G: Any, b: Any) -> Any:
        """Parameter vectors ``(N, m^2 + m)`` from ``G`` ``(N, m, m)`` and ``b`` ``(N, m)``."""
        torch = self.torch
        G = torch.as_tensor(G, dtype=torch.complex128, device=self.device)
        b = torch.as_tensor(b, dtype=torch.complex128, device=self.device)
        return torch.cat([G.reshape(G.shape[0], -1), b], dim=1)

    def unpack(self, p: Any) -> tuple[Any, Any]:
        m = self.m
        return p[:, : m * m].reshape(-1, m, m), p[:, m * m:]

    def fixed_charts(self) -> tuple[list[Any], list[Any]]:
        """The chart of :mod:`.chart` as ``(base points, bases)`` (shared by all paths)."""
        return list(self.a), list(self.B)

    def chart_layers(self, x: Any, charts: Any) -> list[Any]:
        """Layers ``w_j = w0_j + B_j z_j`` in per-path charts ``(w0s, Bs)``."""
        W0, Bs = charts
        out = []
        for j in range(self.A):
            o, k = self.offs[j], self.sizes[j]
            out.append(W0[j] + (Bs[j] @ x[:, o:o + k - 1, None])[..., 0])
        return out

    def recenter(self, x: Any, charts: Any) -> tuple[Any, Any]:
        """Per-path charts centred at the current layers (the *moving patch*): layer ``w`` gets
        the slice ``conj(w) . v = |w|^2`` with base point ``w`` and a unitary basis of the
        Hermitian complement of ``w`` (a Householder reflection), so ``z = 0`` and ``lam`` is
        unchanged. Roots then never approach the patch's hyperplane at infinity, which in a
        fixed chart makes paths ill-conditioned (|z| in the hundreds, condition 1e12)."""
        torch = self.torch
        ws = self.chart_layers(x, charts)
        Bs = []
        for w in ws:
            k = w.shape[1]
            v = w / torch.linalg.vector_norm(w, dim=1, keepdim=True)
            ph = torch.sgn(v[:, :1])
            ph = torch.where(ph == 0, torch.ones_like(ph), ph)
            u = v.clone()
            u[:, :1] = u[:, :1] + ph
            uu = (u.abs() ** 2).sum(1, keepdim=True).to(u.dtype)
            eye = torch.eye(k, dtype=w.dtype, device=w.device)
            H = eye - 2 * u[:, :, None] * u.conj()[:, None, :] / uu[:, :, None]
            Bs.append(H[:, :, 1:].contiguous())
        x2 = x.clone()
        x2[:, : self.nz] = 0
        return x2, (ws, Bs)

    def to_fixed(self, x: Any, charts: Any) -> Any:
        """Chart points in per-path charts mapped to the fixed real chart (``w / (a . w)``,
        ``lam prod (a . w)``); rows where some ``a . w = 0`` become NaN."""
        torch = self.torch
        ws = self.chart_layers(x, charts)
        out = torch.empty_like(x)
        lam = x[:, -1].clone()
        for j, w in enumerate(ws):
            aw = (w * self.a[j]).sum(1)
            wn = w / aw[:, None]
            o, k = self.offs[j], self.sizes[j]
            out[:, o:o + k - 1] = (wn - self.a[j]) @ self.B[j]
            lam = lam * aw
        out[:, -1] = lam
        return out

    def _products(self, x: Any, pairs: bool, charts: Any = None
                  ) -> tuple[Any, list[Any], dict[Any, Any]]:
        """``mu``, the ``Q_j`` and (when ``pairs``) the ``Q_jc``."""
        torch = self.torch
        N = x.shape[0]
        one = torch.ones(N, 1, dtype=x.dtype, device=x.device)
        A = self.A
        if A == 0:
            return one, [], {}
        if charts is None:
            W = self.a_cat + x[:, : self.nz] @ self.Bblk
            ws = [W[:, o:o + k] for o, k in zip(self.woff, self.sizes, strict=True)]
        else:
            ws = self.chart_layers(x, charts)
        U = [ws[j] @ self.Up[j] for j in range(A)]
        pre = [one]
        for j in range(A - 1):
            pre.append(self._mul(pre[-1], U[j]))
        suf = [one]
        for j in range(A - 1, 0, -1):
            suf.append(self._mul(U[j], suf[-1]))
        suf.reverse()
        Q = [self._mul(pre[j], suf[j]) for j in range(A)]
        mu = self._mul(pre[A - 1], U[A - 1])
        Qp: dict[Any, Any] = {}
        if pairs:
            for j in range(A):
                mid = one
                for c in range(j + 1, A):
                    Qp[(j, c)] = self._mul(self._mul(pre[j], mid), suf[c])
                    mid = self._mul(mid, U[c])
        return mu, Q, Qp

    def mu_jac(self, x: Any) -> tuple[Any, Any, list[Any]]:
        """``mu`` ``(N, m)``, ``Jz = d mu / dz`` ``(N, m, n-1)`` and the products ``Q_j``."""
        mu, Q, _ = self._products(x, False)
        return mu, self._jz(x, Q), Q

    def _jz(self, x: Any, Q: list[Any], charts: Any = None) -> Any:
        torch = self.torch
        N = x.shape[0]
        if self.A == 0:
            return torch.zeros(N, 1, 0, dtype=x.dtype, device=x.device)
        if charts is None:
            return torch.cat([(Q[j] @ self.M[j]).view(N, self.m, self.sizes[j] - 1)
                              for j in range(self.A)], dim=2)
        Bs = charts[1]
        return torch.cat([(Q[j] @ self.Sh[j]).view(N, self.m, self.sizes[j]) @ Bs[j]
                          for j in range(self.A)], dim=2)

    def evaluate(self, x: Any, p: Any, dp: Any = None, charts: Any = None
                 ) -> tuple[Any, Any, Any]:
        """``F(x; p)`` ``(N, n)``, ``dF/dx`` ``(N, n, n)`` and, when ``dp`` is given,
        ``F(x; dp)`` (the derivative along a parameter direction; else ``None``), sharing the
        layer products. ``charts``: per-path charts (:meth:`recenter`), else the fixed one."""
        torch = self.torch
        G, b = self.unpack(p)
        lam = x[:, -1]
        mu, Q, Qp = self._products(x, True, charts)
        Jz = self._jz(x, Q, charts)
        Fd = None
        if dp is not None:
            dG, db = self.unpack(dp)
            gd = lam[:, None] * (dG @ mu[:, :, None])[:, :, 0] - db
            Fd = torch.cat([(gd[:, None, :] @ Jz)[:, 0, :], (mu * gd).sum(1)[:, None]], dim=1)
        Gmu = (G @ mu[:, :, None])[:, :, 0]
        g = lam[:, None] * Gmu - b
        N, n, nz, m = x.shape[0], self.n, self.nz, self.m
        Fz = (g[:, None, :] @ Jz)[:, 0, :]
        F0 = (mu * g).sum(1)
        J = torch.empty(N, n, n, dtype=x.dtype, device=x.device)
        if nz:
            GJ = G @ Jz
            JGmu = (Gmu[:, None, :] @ Jz)[:, 0, :]
            JJ = lam[:, None, None] * (Jz.transpose(1, 2) @ GJ)
            for (j, c), Qjc in Qp.items():
                og = (Qjc[:, :, None] * g[:, None, :]).reshape(N, -1)
                if charts is None:
                    Hz = (og @ self.C[(j, c)]).view(N, self.sizes[j] - 1, self.sizes[c] - 1)
                else:
                    Hw = (og @ self.Cu[(j, c)]).view(N, self.sizes[j], self.sizes[c])
                    Hz = charts[1][j].transpose(1, 2) @ Hw @ charts[1][c]
                oj, oc = self.offs[j], self.offs[c]
                kj, kc = self.sizes[j] - 1, self.sizes[c] - 1
                JJ[:, oj:oj + kj, oc:oc + kc] += Hz
                JJ[:, oc:oc + kc, oj:oj + kj] += Hz.transpose(1, 2)
            J[:, :nz, :nz] = JJ
            J[:, :nz, nz] = JGmu
            J[:, nz, :nz] = Fz + lam[:, None] * JGmu
        J[:, nz, nz] = (mu * Gmu).sum(1)
        F = torch.cat([Fz, F0[:, None]], dim=1)
        del m
        return F, J, Fd

    def residual(self, x: Any, p: Any) -> Any:
        """``F(x; p)`` alone (a linear function of ``p``)."""
        torch = self.torch
        G, b = self.unpack(p)
        lam = x[:, -1]
        mu, Q, _ = self._products(x, False)
        Jz = self._jz(x, Q)
        g = lam[:, None] * (G @ mu[:, :, None])[:, :, 0] - b
        return torch.cat([(g[:, None, :] @ Jz)[:, 0, :], (mu * g).sum(1)[:, None]], dim=1)


class ZeroSystem(_Multilinear):
    """``J_j(w)^T b = 0`` for a zero layer ``j`` (index into ``arch.k``), unknowns the charts
    of the *other* active layers, parameter ``b`` (``(N, m)``). Square when
    ``sum_{i != j} (k_i - 1) = k_j``."""

    def __init__(self, chart: Chart, layer: int, device: Any = "cpu") -> None:
        act = chart.active
        self.zero = act.index(layer) if layer in act else None
        var = tuple(j for j in range(len(act)) if j != self.zero)
        super().__init__(chart, device, var)
        self.layer = layer
        self.n = self.nz
        self.eqs = chart.arch.k[layer]
        self.P = self.m

    def residual(self, x: Any, p: Any) -> Any:
        torch = self.torch
        ws = self.layers(x)
        Tb = torch.einsum("nt,t...->n...", p, self.E)
        keep = () if self.zero is None else (self.zero,)
        out = self.contract(Tb, ws, keep, taps=False)
        return out.reshape(x.shape[0], self.eqs)

    def evaluate(self, x: Any, p: Any, dp: Any = None) -> tuple[Any, Any, Any]:
        """``F``, ``dF/dx`` and ``F(x; dp)`` as in :meth:`CriticalSystem.evaluate`."""
        torch = self.torch
        ws = self.layers(x)
        Tb = torch.einsum("nt,t...->n...", p, self.E)
        z = self.zero
        keep0 = () if z is None else (z,)
        F = self.contract(Tb, ws, keep0, taps=False).reshape(x.shape[0], self.eqs)
        N = x.shape[0]
        J = torch.zeros(N, self.eqs, self.n, dtype=x.dtype, device=x.device)
        for c in self.var:
            keep = (c,) if z is None else (min(z, c), max(z, c))
            T = self.contract(Tb, ws, keep, taps=False)
            if z is None:
                T = T[:, None, :]
            elif c < z:
                T = T.transpose(1, 2)
            o, k = self.offs[c], self.sizes[c] - 1
            J[:, :, o:o + k] = T @ self.B[c]
        return F, J, (None if dp is None else self.residual(x, dp))

