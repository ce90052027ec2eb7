"""The real membership decision: the orbit-kind greedy on certified counts (MATH.md 4-6)."""

from __future__ import annotations

from collections.abc import Sequence

import flint

from lcn._effective import Effective
from lcn.geometry import _orbits
from lcn.geometry.exact.counts import PieceCounts
from lcn.geometry.exact.levels import levels_of

__all__ = ["Analysis"]


class Analysis:
    """Everything :func:`membership` needs about one nonzero form in ``u = x^G``."""

    def __init__(self, eff: Effective, Fu: Sequence[flint.fmpq]) -> None:
        self.eff = eff
        self.Fu = list(Fu)
        self.levels = levels_of(eff, Fu)
        self.counts = [PieceCounts(lv.piece) for lv in self.levels] if self.levels else []

    @property
    def in_closure(self) -> bool:
        return self.levels is not None

    def _zero(self, j: int) -> int:
        assert self.levels is not None
        return self.levels[j].z0 + self.levels[j].zinf

    def decide(self, e: Sequence[int]) -> bool:
        """Real membership for the requirement ``e`` (exact: bounds first, refined until the
        greedy's verdict is the same for the lower and the upper counts; the verdict is
        monotone in the counts, see docs/geometry.md)."""
        assert self.levels is not None
        slack = [lv.slack for lv in self.levels]
        while True:
            lo = [(*pc.bounds("lo"), self._zero(j)) for j, pc in enumerate(self.counts)]
            if _orbits.greedy(self.eff.D, self.eff.S, slack, lo, e)[0]:
                return True
            hi = [(*pc.bounds("hi"), self._zero(j)) for j, pc in enumerate(self.counts)]
            if not _orbits.greedy(self.eff.D, self.eff.S, slack, hi, e)[0]:
                return False
            for pc in self.counts:
                pc.refine()

    @property
    def singular(self) -> bool:
        assert self.levels is not None
        return any(lv.slack > 0 for lv in self.levels[1:])

    def component(self) -> tuple[int, ...]:
        """The smallest-dimensional singular component through the point: the degrees of the
        pieces, ``d'_l = deg g_l - s_l deg g_{l+1}`` (the tails of ``d'`` are the ``I_S``
        degrees themselves, the largest any component through the point can have)."""
        assert self.levels is not None
        return self.eff.to_reduced([lv.piece_units for lv in self.levels])

    def stride1_boundary_nonsingular(self) -> bool:
        """Slack zero everywhere: the factorization into blocks is unique (the pieces), and a
        nearby point of the closure only moves hyperroots. Splitting every repeated real
        hyperroot into conjugate pairs leaves the distinct real hyperroots of odd
        multiplicity; the point is on the stride-one boundary iff some block then has fewer
        than ``e`` of them (MATH.md 6, :func:`lcn.geometry._orbits.stride1_boundary`)."""
        levels, counts = self.levels, self.counts
        assert levels is not None
        return _orbits.stride1_boundary(
            self.eff.e, [(lv.z0, lv.zinf) for lv in levels],
            lambda j: counts[j].odd_bounds(), lambda j: counts[j].refine(odd_only=True))
