"""Batched loss, gradient, Jacobian and Hessian of ``L = l o mu`` on the Gram form, in torch
(MATH.md 8). One :class:`Engine` holds ``runs`` Gram forms (or one shared) on a device; the
trainers, the polish and the search call it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lcn.training.gram import GramForm
from lcn.training.model import Model

if TYPE_CHECKING:
    import torch

__all__ = ["Engine"]


class Engine:
    """Batched loss, gradient, Hessian on the Gram form for ``runs`` parameter vectors
    ``theta (B, P)`` (``B = runs``, or a subset after :meth:`subset`)."""

    def __init__(
        self, model: Model, grams: list[GramForm], runs: int, device: Any, dtype: Any
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
        self.vjp = model.torch_vjp(device, dtype)

    def subset(self, idx: torch.Tensor) -> Engine:
        """Engine restricted to runs ``idx`` (per-run data is indexed, shared data kept)."""
        new = object.__new__(Engine)
        new.__dict__.update(self.__dict__)
        new.runs = int(idx.numel())
        if not self.shared:
            new.G, new.u, new.c = self.G[idx], self.u[idx], self.c[idx]
            new.Gnorm, new.unorm = self.Gnorm[idx], self.unorm[idx]
        return new

    def tiled(self, n: int) -> Engine:
        """Engine for ``n`` stacked copies of this batch (rows ``j B + r`` are run ``r``)."""
        new = object.__new__(Engine)
        new.__dict__.update(self.__dict__)
        new.runs = self.runs * n
        if not self.shared:
            new.G, new.u, new.c = self.G.repeat(n, 1, 1), self.u.repeat(n, 1), self.c.repeat(n)
            new.Gnorm, new.unorm = self.Gnorm.repeat(n), self.unorm.repeat(n)
        return new

    @property
    def G_norm(self) -> torch.Tensor:
        """``||G||_2`` per run (or the shared scalar)."""
        return self.Gnorm[0] if self.shared else self.Gnorm

    def apply_G(self, r: torch.Tensor) -> torch.Tensor:
        """``G r`` for ``r (B, m)``."""
        if self.shared:
            return r @ self.G[0]
        return self.torch.bmm(self.G, r.unsqueeze(-1)).squeeze(-1)

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
        """``||w_i||^2`` per run and layer, ``(B, L)``."""
        return self.torch.stack(
            [(theta[:, s] ** 2).sum(-1) for s in self.model.slices], dim=-1
        )

    def lipschitz(self, theta: torch.Tensor, Gr: torch.Tensor) -> torch.Tensor:
        """Local smoothness estimate of ``L`` at ``theta`` (the step-size rule of
        :func:`lcn.training.train`):
        ``2||G|| sum_i prod_{j!=i} n_j^2 + 2||G(v-u)|| sum_{i!=j} prod_{l!=i,j} n_l`` with
        ``n_j = ||w_j||``: the Gauss-Newton term ``2 J^T G J`` plus the curvature of ``mu``
        weighted by the residual, with ``||d mu / d w_i|| ~ prod_{j!=i} ||w_j||``."""
        torch = self.torch
        n = self.layer_sq_norms(theta).sqrt().clamp_min(1e-150)
        prod = torch.prod(n, dim=1)
        inv = 1.0 / n
        gn = prod**2 * (inv**2).sum(1)
        curv = prod * (inv.sum(1) ** 2 - (inv**2).sum(1))
        return 2.0 * self.G_norm * gn + 2.0 * torch.linalg.vector_norm(Gr, dim=-1) * curv

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

    def jac_norm(self, theta: torch.Tensor) -> torch.Tensor:
        """``||d mu||_F`` per run. For an LCN (a model with :meth:`Model.lifts`) without the
        Jacobian: replacing ``w_i`` by the unit vector ``e_j`` gives ``x^{j S_i} prod_{l != i}
        pi_{S_l}(w_l)``, whose norm does not depend on ``j``, so ``||d mu||_F^2 = sum_i k_i
        ||mu(w; w_i = e_0)||^2`` (``L`` products per run instead of ``P``)."""
        torch = self.torch
        if self.model.lifts() is None:
            return torch.linalg.matrix_norm(self.jac(theta))
        fro2 = torch.zeros(theta.shape[0], dtype=theta.dtype, device=theta.device)
        rep = theta.clone()
        for s in self.model.slices:  # one layer at a time: memory of one batch
            rep[:, s] = 0.0
            rep[:, s.start] = 1.0
            fro2 += (s.stop - s.start) * (self.mu(rep) ** 2).sum(-1)
            rep[:, s] = theta[:, s]
        return fro2.sqrt()

    def rel_grad(
        self, theta: torch.Tensor, grad: torch.Tensor, v: torch.Tensor
    ) -> torch.Tensor:
        """See :func:`lcn.training.relative_gradient_norm`."""
        torch = self.torch
        den = (
            self.jac_norm(theta) * 2.0 * self.G_norm
            * (torch.linalg.vector_norm(v, dim=-1) + self.unorm)
        )
        return torch.linalg.vector_norm(grad, dim=-1) / den.clamp_min(1e-300)

    def gauge(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q_i = ||w_i||^2 - ||w_{i+1}||^2`` (conserved by gradient flow; fixing them fixes
        the rescaling orbit) and their Jacobian ``(B, L-1, P)``: ``2 theta`` on layer ``i``,
        ``-2 theta`` on layer ``i+1`` (one broadcast product with a constant sign pattern)."""
        return self.gauge_values(theta), 2.0 * theta.unsqueeze(1) * self._gauge_signs()

    def gauge_values(self, theta: torch.Tensor) -> torch.Tensor:
        """``q (B, L-1)`` of :meth:`gauge` without its Jacobian."""
        n2 = self.layer_sq_norms(theta)
        return n2[:, :-1] - n2[:, 1:]

    def _gauge_signs(self) -> torch.Tensor:
        C = getattr(self, "_signs", None)
        if C is None:
            sl = self.model.slices
            Cn = np.zeros((max(self.model.L - 1, 0), self.model.P))
            for i in range(self.model.L - 1):
                Cn[i, sl[i]] = 1.0
                Cn[i, sl[i + 1]] = -1.0
            C = self.torch.as_tensor(Cn, device=self.device, dtype=self.dtype)
            self._signs = C
        return C
