"""The categories of critical points (MATH.md 5-8), defined once for the whole library.

``zero``: ``mu(w) = 0``; ``pure_smooth_interior``: ``mu(w)`` a smooth interior point of ``M``
and critical for the loss on ``M`` (what the theorem of MATH.md 8 promises for reduced
architectures); ``singular``: ``mu(w)`` a singular point of ``M``; ``boundary``: on the relative
boundary; ``spurious``: ``mu(w)`` not critical for the loss on its stratum. A row of
non-finite parameters (a diverged run) is :data:`UNDECIDED`, which is not a category.

These are categories of *critical points* (a property of ``w`` and the loss); the locations
of a *form* in ``M`` are :data:`lcn.geometry.exact.CATEGORIES`, a different list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The categories of the experiment table, in its column order.
CATEGORIES: tuple[str, ...] = (
    "zero",
    "pure_smooth_interior",
    "singular",
    "boundary",
    "spurious",
)
#: The label of a diverged run (non-finite parameters): no category applies.
UNDECIDED = "undecided"
#: Locations of ``v = mu(w)`` that are on the relative boundary, with their kind (MATH.md 6).
BOUNDARY_KIND = {"boundary_stride1": "stride1", "boundary_reduced": "reduced"}


def category_of(*, zero: bool, pure: bool | None, location: str) -> str:
    """The category by precedence ``zero`` > ``spurious`` (not pure on its stratum) >
    ``singular`` > ``boundary`` > ``pure_smooth_interior``."""
    if zero:
        return "zero"
    if pure is False:
        return "spurious"
    if location == "singular":
        return "singular"
    if location in BOUNDARY_KIND:
        return "boundary"
    return "pure_smooth_interior"


def category_counts(infos: Iterable[Any]) -> dict[str, int]:
    """Counts per category: every one of :data:`CATEGORIES` (zeros included), plus
    :data:`UNDECIDED` when some rows are diverged runs."""
    out = dict.fromkeys(CATEGORIES, 0)
    for info in infos:
        out[info.category] = out.get(info.category, 0) + 1
    return out
