"""Levels of an architecture (MATH.md 3): the merged stride-one blocks of the reduced
architecture, with the degree and real-root requirement of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lcn.architecture import Architecture


@dataclass(frozen=True)
class Level:
    """One layer of the reduced architecture: the original layers ``layers`` (all with the
    same ``S``) and their degrees. ``n`` hyperroots of order ``S``; ``e`` odd degrees, so the
    block polynomial needs ``e`` real hyperroots (MATH.md 3, stride one)."""

    S: int
    layers: tuple[int, ...]
    degrees: tuple[int, ...]

    @property
    def n(self) -> int:
        return sum(self.degrees)

    @property
    def e(self) -> int:
        return sum(d % 2 for d in self.degrees)


def levels_of(arch: Architecture) -> tuple[Level, ...]:
    S, d = arch.S, arch.d
    return tuple(
        Level(S[g[0]], tuple(g), tuple(d[i] for i in g)) for g in arch.blocks()
    )


def reduced_levels(S: Sequence[int], dprime: Sequence[int]) -> tuple[Level, ...]:
    """Levels of the reduced architecture with degrees ``dprime`` (one layer per level)."""
    return tuple(Level(Sj, (j,), (dj,)) for j, (Sj, dj) in enumerate(zip(S, dprime, strict=True)))

