"""From block forms to the filters of the original architecture (size-1 layers, scaling)."""

from __future__ import annotations

from typing import Any

import flint

from lcn import forms
from lcn.architecture import Architecture

__all__ = ["assemble", "mu_exact", "scale_first"]


def assemble(arch: Architecture, layer_forms: dict[int, list[Any]], one: Any) -> list[list[Any]]:
    """Filters of the original architecture: size-1 layers get ``[1]``."""
    return [layer_forms.get(i, [one] * arch.k[i]) if arch.d[i] > 0 else [one]
            for i in range(arch.layers)]


def scale_first(filters: list[list[Any]], arch: Architecture, c: Any) -> None:
    """Multiply the first filter of positive degree by ``c`` (in place): the block forms are
    monic, ``c`` restores the leading coefficient of ``F``."""
    i = next((i for i in range(arch.layers) if arch.d[i] > 0), 0)
    filters[i] = [v * c for v in filters[i]]


def mu_exact(arch: Architecture, filters: list[list[flint.fmpq]]) -> list[flint.fmpq]:
    """``mu(filters)`` exactly: the product of the upsampled layer forms (MATH.md 2)."""
    return forms.product([forms.upsample(f, S) for f, S in zip(filters, arch.S, strict=True)])
