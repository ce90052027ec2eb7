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


class CriticalSystem(_Multilinear):
    """The square system of :mod:`.chart` in ``x = (z, lam)``, parameters ``(vec G, b)``."""

    def __init__(self, chart: Chart, device: Any = "cpu") -> None:
        super().__init__(chart, device, tuple(range(len(chart.active))))
        self.n = self.nz + 1
        self.P = self.m * self.m + self.m

    def pack(self, G: Any, b: Any) -> Any:
        """Parameter vectors ``(N, m^2 + m)`` from ``G`` ``(N, m, m)`` and ``b`` ``(N, m)``."""
        torch = self.torch
        G = torch.as_tensor(G, dtype=torch.complex128, device=self.device)
        b = torch.as_tensor(b, dtype=torch.complex128, device=self.device)
        return torch.cat([G.reshape(G.shape[0], -1), b], dim=1)

    def unpack(self, p: Any) -> tuple[Any, Any]:
        m = self.m
        return p[:, : m * m].reshape(-1, m, m), p[:, m * m:]

    def mu_jac(self, x: Any) -> tuple[Any, Any, list[Any]]:
        """``mu`` ``(N, m)``, ``Jz = d mu / dz`` ``(N, m, n-1)`` and the layers."""
        torch = self.torch
        N = x.shape[0]
        ws = self.layers(x)
        if self.A == 0:
            mu = torch.ones(N, 1, dtype=x.dtype, device=x.device)
            return mu, torch.zeros(N, 1, 0, dtype=x.dtype, device=x.device), ws
        mu = self.contract(self.E, ws, (), taps=True)
        cols = [self.contract(self.E, ws, (j,), taps=True) @ self.B[j] for j in range(self.A)]
        return mu, torch.cat(cols, dim=2), ws

    def evaluate(self, x: Any, p: Any) -> tuple[Any, Any]:
        """``F(x; p)`` ``(N, n)`` and ``dF/dx`` ``(N, n, n)``."""
        torch = self.torch
        G, b = self.unpack(p)
        lam = x[:, -1]
        mu, Jz, ws = self.mu_jac(x)
        Gmu = (G @ mu[:, :, None])[:, :, 0]
        g = lam[:, None] * Gmu - b
        Fz = torch.einsum("ntk,nt->nk", Jz, g)
        F0 = (mu * g).sum(1)
        JGmu = torch.einsum("ntk,nt->nk", Jz, Gmu)
        N, n, nz = x.shape[0], self.n, self.nz
        J = torch.zeros(N, n, n, dtype=x.dtype, device=x.device)
        if nz:
            JGJ = Jz.transpose(1, 2) @ (G @ Jz)
            J[:, :nz, :nz] = lam[:, None, None] * JGJ
            if self.A > 1:
                Tg = torch.einsum("nt,t...->n...", g, self.E)
                for j in range(self.A):
                    for c in range(j + 1, self.A):
                        H = self.B[j].T @ self.contract(Tg, ws, (j, c), taps=False) @ self.B[c]
                        oj, oc = self.offs[j], self.offs[c]
                        kj, kc = self.sizes[j] - 1, self.sizes[c] - 1
                        J[:, oj:oj + kj, oc:oc + kc] += H
                        J[:, oc:oc + kc, oj:oj + kj] += H.transpose(1, 2)
            J[:, :nz, nz] = JGmu
            J[:, nz, :nz] = Fz + lam[:, None] * JGmu
        J[:, nz, nz] = (mu * Gmu).sum(1)
        F = torch.cat([Fz, F0[:, None]], dim=1)
        return F, J

    def residual(self, x: Any, p: Any) -> Any:
        """``F(x; p)`` alone (a linear function of ``p``)."""
        torch = self.torch
        G, b = self.unpack(p)
        lam = x[:, -1]
        mu, Jz, _ = self.mu_jac(x)
        g = lam[:, None] * (G @ mu[:, :, None])[:, :, 0] - b
        return torch.cat([torch.einsum("ntk,nt->nk", Jz, g), (mu * g).sum(1)[:, None]], dim=1)


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

    def evaluate(self, x: Any, p: Any) -> tuple[Any, Any]:
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
        return F, J


def to_numpy(t: Any) -> np.ndarray:
    """A torch tensor as a NumPy array on the host."""
    return t.detach().cpu().numpy()
