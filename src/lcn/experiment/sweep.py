"""``[sweep]``: a grid of LCN architectures in three lines of TOML (issue 11).

::

    [sweep]
    layers = [2, 3, 4]      # numbers of layers
    k = [2, 3, 4, 5]        # filter sizes, each layer independently
    s = [1, 2, 3]           # strides of layers 1 .. L-1 (the last stride is 1)
    N = ["auto"]            # optional: samples per dataset, one architecture entry per value
    dedupe = "reduced"      # optional: keep one architecture per reduced architecture

expands to one ``[[architectures]]`` table per combination, named ``k=3,2 s=2,1`` (with
`` N=..`` when several ``N`` are swept). The last stride is fixed to 1: it does not change the
function space (``S_i = s_1 ... s_{i-1}``, MATH.md 2), only the output length. With
``dedupe = "reduced"`` architectures with the same reduced architecture are kept once, the
first in the order above (fewest layers first). They share the Zariski closure of their
function spaces (MATH.md 3), not always the function space: ``k=(2,2) s=(1,1)`` (quadratics
with real roots) is dropped for ``k=(3,)`` (all quadratics), so leave ``dedupe`` out to
compare stride-one factorizations with their reduced architecture.
"""

from __future__ import annotations

import itertools
from typing import Any

from lcn._validate import check_int
from lcn.architecture import Architecture
from lcn.errors import ConfigError, LCNError

__all__ = ["MAX_SWEEP", "expand_sweep"]

#: Most architectures one sweep may expand to.
MAX_SWEEP = 10_000
_KEYS = ("layers", "k", "s", "N", "dedupe")


def _ints(raw: dict[str, Any], key: str, minimum: int) -> list[int]:
    v = raw.get(key)
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        raise ConfigError(f"sweep.{key}", f"must be a non-empty list of integers, got {v!r:.40}")
    out = []
    for i, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, int):
            raise ConfigError(f"sweep.{key}", f"entry {i} is {x!r:.40}; give integers")
        out.append(check_int(x, f"sweep.{key}", min=minimum, max=10**6, error=ConfigError))
    return sorted(set(out))


def _count(layers: list[int], nk: int, ns: int, nN: int) -> int:
    return sum(nk**L * ns ** (L - 1) for L in layers) * nN


def expand_sweep(raw: Any) -> list[dict[str, Any]]:
    """The ``[[architectures]]`` tables of a ``[sweep]`` table (see the module doc);
    :class:`ConfigError` naming ``sweep.KEY`` for bad values or more than
    :data:`MAX_SWEEP` architectures (counted before any is built)."""
    if not isinstance(raw, dict):
        raise ConfigError("sweep", "must be a table [sweep]")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ConfigError(f"sweep.{unknown[0]}", f"unknown key (allowed: {', '.join(_KEYS)})")
    layers = _ints(raw, "layers", 1)
    ks, ss = _ints(raw, "k", 1), _ints(raw, "s", 1)
    Ns = raw.get("N", ["auto"])
    Ns = Ns if isinstance(Ns, list) and Ns else [Ns]
    dedupe = raw.get("dedupe", "none")
    if dedupe not in ("none", "reduced"):
        raise ConfigError("sweep.dedupe", f"is {dedupe!r:.40}; choose 'none' or 'reduced'")
    n = _count(layers, len(ks), len(ss), len(Ns))
    if n > MAX_SWEEP:
        raise ConfigError("sweep", f"expands to {n} architectures, more than the limit "
                          f"{MAX_SWEEP}; sweep fewer layers or values")
    out: list[dict[str, Any]] = []
    seen: set[Architecture] = set()
    for L in layers:
        for k in itertools.product(ks, repeat=L):
            for head in itertools.product(ss, repeat=L - 1):
                s = (*head, 1)
                try:
                    arch = Architecture(k, s)
                except LCNError as exc:
                    raise ConfigError("sweep", f"k={k} s={s}: {exc.message}") from None
                if dedupe == "reduced":
                    red = arch.reduced()
                    if red in seen:
                        continue
                    seen.add(red)
                for N in Ns:
                    name = f"k={','.join(map(str, k))} s={','.join(map(str, s))}"
                    entry: dict[str, Any] = {"name": name + (f" N={N}" if len(Ns) > 1 else ""),
                                             "k": list(k), "s": list(s)}
                    if N != "auto" or len(Ns) > 1:
                        entry["N"] = N
                    out.append(entry)
    return out
