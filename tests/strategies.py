"""Hypothesis strategies shared by the test suite."""

from __future__ import annotations

from hypothesis import strategies as st

from lcn import Architecture


@st.composite
def architectures(
    draw: st.DrawFn, max_layers: int = 5, max_k: int = 4, max_s: int = 3, max_degree: int = 40
) -> Architecture:
    """Random architectures up to ``max_layers`` layers with end-to-end degree <= max_degree."""
    L = draw(st.integers(1, max_layers))
    k = draw(st.lists(st.integers(1, max_k), min_size=L, max_size=L))
    s = draw(st.lists(st.integers(1, max_s), min_size=L, max_size=L))
    arch = Architecture(k, s)
    if arch.degree > max_degree:
        # shrink strides to 1 from the top until small enough: keeps hypothesis from discarding
        s = list(s)
        for i in range(L - 1, -1, -1):
            s[i] = 1
            arch = Architecture(k, s)
            if arch.degree <= max_degree:
                break
    return arch
