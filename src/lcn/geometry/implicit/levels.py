"""The architecture the Zariski closure sees (MATH.md 3): reduced, size-1 layers dropped.

Merging neighbouring layers with equal ``S_i`` does not change the closure (MATH.md 3), and a
size-1 layer is a scalar. What is left is a chain of blocks of positive degree ``D_0, D_1, ...``
with stride products ``G S_0 < G S_1 < ...``, ``S_0 = 1``, each dividing the next. Every
filter is then a form in ``u = x^G, v = y^G`` of degree ``n = sum_j D_j S_j`` (``G > 1`` only
when leading size-1 layers carry strides), and the closure is the set of products
``Q_{m-1}(u^{S_{m-1}}, v^{S_{m-1}}) ... Q_0(u, v)`` with ``deg Q_j = D_j``, complex ``Q_j``
allowed (MATH.md 4).

This is the same reduction as the private ``_effective`` of :mod:`lcn.geometry.exact`, kept
here in the few lines this package needs because only public names may be imported from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from lcn.architecture import Architecture

__all__ = ["Levels", "levels"]


@dataclass(frozen=True)
class Levels:
    """The blocks of positive degree of the reduced architecture (MATH.md 3).

    * ``G``: filters are forms in ``x^G, y^G``; coordinates ``p_j`` with ``G`` not dividing
      ``j`` vanish on the closure;
    * ``D``: the degree of each block; ``S``: its stride product divided by ``G``
      (``S[0] == 1``, each divides the next);
    * ``degree``: the degree ``d`` of the architecture (``d = G n``).
    """

    G: int
    D: tuple[int, ...]
    S: tuple[int, ...]
    degree: int

    @property
    def n(self) -> int:
        """Degree of the filters as forms in ``u = x^G, v = y^G``."""
        return self.tail(0)

    def tail(self, level: int) -> int:
        """``T_l = sum_{i >= l} D_i S_i``: the degree carried by the blocks from ``level`` up."""
        return sum(Dj * Sj for Dj, Sj in zip(self.D[level:], self.S[level:], strict=True))


def levels(arch: Architecture) -> Levels:
    """The :class:`Levels` of ``arch``: reduce (merge equal ``S_i``), drop degree-0 blocks,
    divide the strides by the first remaining one."""
    red = arch.reduced()
    blocks = [(di, Si) for di, Si in zip(red.d, red.S, strict=True) if di > 0]
    if not blocks:  # every layer has size 1: the filters are the constants
        return Levels(1, (), (), arch.degree)
    G = blocks[0][1]
    return Levels(G, tuple(di for di, _ in blocks), tuple(Si // G for _, Si in blocks),
                  arch.degree)
