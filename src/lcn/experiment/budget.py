"""Size estimates of an experiment, judged before anything is allocated or run.

The estimate counts, per architecture, the float64 elements held at once (the cached
datasets ``X``, ``Y`` and their Gram forms, one training batch of parameters, Jacobians of a
search) and the work in elementary operations (gradient-descent steps times the cost of one
step, the searches, and the classification of every point, whose root finding is cubic in the
filter size). Both are rough upper estimates, meant to refuse absurd configs (``datasets =
10^6``, ``steps = 10^12``, ``k = [10001]``) with the number and the limit, not to predict run
times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lcn._validate import check_size
from lcn.errors import ConfigError, LCNError
from lcn.experiment.config import ArchSpec, ExperimentConfig

__all__ = ["MAX_CHUNKS", "MAX_MEMORY_ELEMENTS", "MAX_WORK", "Estimate", "check_budget",
           "estimate"]

#: Most float64 elements one architecture may hold at once (2 GB).
MAX_MEMORY_ELEMENTS = 2.5 * 10**8
#: Most elementary operations of a whole experiment without ``large=True`` (``--large``):
#: about 15 times the default experiment.
MAX_WORK = 10**12
#: Most chunks (store transactions) of one experiment, even with ``large=True``.
MAX_CHUNKS = 10**6
#: Gradient-descent-like iterations of one search start (Levenberg-Marquardt and polish).
_SEARCH_ITERATIONS = 200
#: Predictor-corrector steps of one homotopy path, and the fixed cost of certifying its
#: endpoint (interval arithmetic in python-flint).
_PATH_STEPS = 200
_CERTIFY_BASE = 10**5
#: Fixed cost of classifying one point (Python overhead of the location decision).
_CLASSIFY_BASE = 10**5
#: Nearest-point solves of one classification (starts times iterations of a dense LM step).
_CLASSIFY_SOLVES = 8 * 200


@dataclass(frozen=True)
class Estimate:
    """Sizes of an experiment: ``chunks``, ``points`` (store rows), the largest ``memory``
    (float64 elements held at once, over the architectures) and its architecture, and ``work``
    (elementary operations, all architectures)."""

    chunks: int
    points: int
    memory: int
    memory_arch: str
    work: int

    def to_json(self) -> dict[str, Any]:
        return {"chunks": self.chunks, "points": self.points, "memory": self.memory,
                "memory_arch": self.memory_arch, "work": self.work}


def _shape(a: ArchSpec) -> tuple[int, int, int, int]:
    """``(n_in, n_out, P, m)``: input and output sizes, parameters, Gram size."""
    if a.kind == "dense":
        w = a.widths or (1, 1)
        P = sum(x * y for x, y in zip(w, w[1:], strict=False))
        return w[0], w[-1], P, w[0] * w[-1]
    k, s = a.k or (1,), a.s or (1,)
    # n_{l-1} = s_l (n_l - 1) + k_l, MATH.md 1 (computed in Python ints: no overflow)
    n = a.n_out
    for kl, sl in zip(reversed(k), reversed(s), strict=True):
        n = sl * (n - 1) + kl
    degree, S = 0, 1
    for kl, sl in zip(k, s, strict=True):
        degree += (kl - 1) * S
        S *= sl
    return n, a.n_out, sum(k), degree + 1


def _homotopy_paths(a: ArchSpec) -> int:
    """Paths per dataset of a homotopy architecture (``ed_degree``, resolved by the config
    within ``search.max_paths``); 0 for Newton."""
    arch = a.lcn
    return arch.ed_degree if a.method == "homotopy" and arch is not None else 0


def _singular_bound(a: ArchSpec) -> int:
    """Exact singular critical points per dataset at most (one per singular component, only
    for rank-deficient data, :mod:`lcn.experiment.singular`)."""
    arch = a.lcn
    if arch is None or not a.gram_rank_deficient:
        return 0
    try:
        return len(arch.singular_components)
    except LCNError:
        return 0


def _arch_sizes(a: ArchSpec, chunk: int, search_chunk: int = 1) -> tuple[int, int, int]:
    """``(points, memory elements, work)`` of one architecture (points: store rows at most;
    a homotopy architecture's real points are bounded by its paths)."""
    n_in, n_out, P, m = _shape(a)
    if a.method == "homotopy":
        # every path ends in at most one stored real point; a path costs predictor-corrector
        # steps of a dense solve in ~P unknowns and one interval certification
        paths = a.datasets * _homotopy_paths(a)
        runs = a.datasets * a.inits
        # the solver holds the paths of one chunk of datasets at once
        batch_paths = min(search_chunk, a.datasets) * _homotopy_paths(a)
        memory = ((n_in + n_out) * a.N + n_in * n_in + m * m) * a.datasets + \
            max(min(chunk, runs), 1) * (P + m) * 4 + batch_paths * (P + m) * 8
        work = runs * a.steps * (P * m + m * m) * 4
        work += paths * (_PATH_STEPS * (P**3 + m * P * P) + _CERTIFY_BASE)
        points = runs + paths
        work += points * (_CLASSIFY_BASE + m**3 + _CLASSIFY_SOLVES * (P**3 + m * P * P))
        work += a.datasets * (n_in + n_out) * a.N * n_in
        return points, memory, work
    runs, starts = a.datasets * a.inits, a.datasets * a.starts
    per_dataset = (n_in + n_out) * a.N + n_in * n_in + m * m
    batch = max(min(chunk, runs), min(a.starts, 1) * a.starts) * (P + m) * 4
    memory = per_dataset * a.datasets + batch
    step = P * m + m * m
    work = (runs * a.steps + starts * _SEARCH_ITERATIONS) * step * 4
    points = runs + starts + a.datasets * _singular_bound(a)
    work += points * (_CLASSIFY_BASE + m**3 + _CLASSIFY_SOLVES * (P**3 + m * P * P))
    work += a.datasets * (n_in + n_out) * a.N * n_in
    return points, memory, work


def estimate(config: ExperimentConfig) -> Estimate:
    """The sizes of ``config`` (exact chunk and row counts, estimated memory and work)."""
    chunks = points = memory = work = 0
    memory_arch = config.architectures[0].name
    for a in config.architectures:
        runs = a.datasets * a.inits
        chunks += -(-runs // config.chunk)
        if a.method == "homotopy":
            chunks += -(-a.datasets // config.search_chunk)
        elif a.starts > 0 or a.gram_rank_deficient:
            chunks += a.datasets
        p, mem, w = _arch_sizes(a, config.chunk, config.search_chunk)
        points += p
        work += w
        if mem > memory:
            memory, memory_arch = mem, a.name
    return Estimate(chunks, points, memory, memory_arch, work)


def check_budget(config: ExperimentConfig, *, large: bool = False) -> Estimate:
    """:func:`estimate`, refused with a :class:`ConfigError` naming the number and the limit
    when the memory of an architecture exceeds :data:`MAX_MEMORY_ELEMENTS`, the chunks exceed
    :data:`MAX_CHUNKS`, or (unless ``large``) the work exceeds :data:`MAX_WORK`."""
    est = estimate(config)
    where = next(i for i, a in enumerate(config.architectures) if a.name == est.memory_arch)
    check_size(est.memory, f"architectures[{where}]", limit=int(MAX_MEMORY_ELEMENTS),
               what="float64 elements of data and batches held at once (about "
               f"{est.memory * 8 / 1e9:.3g} GB)", error=ConfigError)
    check_size(est.chunks, "architectures", limit=MAX_CHUNKS,
               what="chunks (store transactions); raise training.chunk or lower datasets",
               error=ConfigError)
    if not large and est.work > MAX_WORK:
        raise ConfigError(
            "architectures", f"ask for about {est.work:.3g} operations, more than the limit "
            f"{MAX_WORK:.3g}; make the experiment smaller (datasets, inits, steps, starts, "
            "filter sizes) or pass --large (large=True) to run it anyway"
        )
    return est
