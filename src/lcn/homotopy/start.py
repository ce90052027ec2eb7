"""Start instances and their complete solution sets, by monodromy, cached on disk.

A start pair is free (issue 9): the equations of :class:`~lcn.homotopy.system.CriticalSystem`
are linear in ``b``, so for a random complex chart point ``x*`` and a random complex symmetric
``G*`` every ``b* = lam* G* mu(x*) + N c`` with ``N`` a basis of the kernel of
``M = [Jz^T; mu^T]`` (``n x m``, ``n <= m``) and random ``c`` makes ``x*`` a root. The same holds
for a :class:`~lcn.homotopy.system.ZeroSystem` (``b*`` in the kernel of ``J_j(w*)^T``).

Monodromy (Duff, Hill, Jensen, Lee, Leykin, Sommars 2019, the graph version): two parameter
nodes (the start ``p_0`` and a random complex ``p_1``) joined by several edges, each the arc
of :mod:`.track` with its own random ``gamma`` (the reverse direction uses ``1 / gamma``, the
same curve). Every known root at a node is tracked once along each edge leaving it; new
endpoints join the other node's set. Loops ``p_0 -> p_1 -> p_0`` along different edges
permute the roots, so the sets grow until they reach the known generic count ``target``
(:attr:`lcn.Architecture.ed_degree`). When a round finds nothing new an edge is added; after
``stall`` rounds without progress the search stops and the shortfall is reported.

The incidence variety ``{(x, p) : F(x; p) = 0}`` can be *reducible*: for layers in one
stride-one block (equal ``S_i``), critical points whose layers share roots (e.g. ``w_1 ~ w_2``
for ``k=(2,2)`` stride one: 4 of the 6 roots) form their own components, which monodromy from
a generic root never reaches. So whenever a round brings nothing new, the start node is also
seeded by a Newton sweep from random points (:func:`newton_sweep`), which hits every component
with positive probability; monodromy then completes each component.

Cache (:func:`cached_start`): one ``.npz`` per (architecture, slice seed, system, format
version) under ``cache_dir`` (default ``$LCN_CACHE_DIR`` or ``~/.cache/lcn/homotopy``), written
atomically (temporary file, then ``os.replace``). A file is used only when it carries our
marker and every stored root passes a Newton-residual check at the stored start parameters;
anything else is recomputed, and a file without our marker is never overwritten.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lcn.homotopy.track import OK, TrackOptions, track

__all__ = ["CACHE_VERSION", "StartSet", "cache_path", "cached_start", "default_cache_dir",
           "full_start", "monodromy", "newton_sweep"]

#: Format version of the cache files; part of the file name.
CACHE_VERSION = 1
_MARKER = "lcn.homotopy start solutions"


@dataclass(frozen=True, eq=False)
class StartSet:
    """Roots ``x`` ``(count, n)`` of a system at parameters ``p`` ``(P,)``; ``complete``:
    ``count == target``; ``seconds`` spent by the monodromy (0 when read from the cache);
    ``paths`` tracked; ``cached``: read from disk."""

    x: np.ndarray
    p: np.ndarray
    target: int
    seconds: float
    paths: int
    cached: bool

    @property
    def count(self) -> int:
        return int(self.x.shape[0])

    @property
    def complete(self) -> bool:
        return self.count == self.target


def default_cache_dir() -> Path:
    """``$LCN_CACHE_DIR`` when set, else ``~/.cache/lcn/homotopy``."""
    env = os.environ.get("LCN_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "lcn" / "homotopy"


def cache_path(cache_dir: Path, arch: Any, seed: int, kind: str) -> Path:
    k = "-".join(map(str, arch.k))
    s = "-".join(map(str, arch.s))
    return cache_dir / f"k{k}_s{s}_seed{seed}_{kind}_v{CACHE_VERSION}.npz"


def _random_symmetric(rng: np.random.Generator, m: int) -> np.ndarray:
    A = (rng.standard_normal((m, m)) + 1j * rng.standard_normal((m, m))) / math.sqrt(2 * m)
    return A + A.T


def _cplx(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)


def start_pair(system: Any, rng: np.random.Generator, x: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """A random complex root ``x*`` (or the given one) and parameters ``p*`` with
    ``F(x*; p*) = 0``."""
    import torch

    n, m = system.n, system.m
    x = _cplx(rng, n) if x is None else np.asarray(x, np.complex128)
    xt = torch.as_tensor(x[None], dtype=torch.complex128, device=system.device)
    if hasattr(system, "mu_jac"):
        mu, Jz, _ = system.mu_jac(xt)
        mu_, Jz_ = mu[0].cpu().numpy(), Jz[0].cpu().numpy()
        M = np.concatenate([Jz_.T, mu_[None]], axis=0)
        G = _random_symmetric(rng, m)
        base = x[-1] * (G @ mu_)
        pack = lambda b: np.concatenate([G.reshape(-1), b])  # noqa: E731
    else:
        # J_j(w)^T b is linear in b: its matrix from the images of the unit vectors
        eye = torch.eye(m, dtype=torch.complex128, device=system.device)
        M = system.residual(xt.expand(m, n), eye).cpu().numpy().T
        base = np.zeros(m, np.complex128)
        pack = lambda b: b  # noqa: E731
    _, sv, Vh = np.linalg.svd(M)
    rank = int(np.sum(sv > sv[0] * 1e-12)) if sv.size else 0
    Nul = Vh[rank:].conj().T
    b = base + Nul @ _cplx(rng, Nul.shape[1]) if Nul.shape[1] else base
    return x, pack(b)


def _random_params(system: Any, rng: np.random.Generator) -> np.ndarray:
    m = system.m
    if hasattr(system, "mu_jac"):
        return np.concatenate([_random_symmetric(rng, m).reshape(-1), _cplx(rng, m)])
    return _cplx(rng, m)


def _merge(known: list[np.ndarray], new: np.ndarray, tol: float = 1e-6) -> list[np.ndarray]:
    """Append the rows of ``new`` not within ``tol (1 + |x|)`` (max norm) of a known row."""
    out = list(known)
    K = np.array(out) if out else np.zeros((0, new.shape[1]), np.complex128)
    for row in new:
        if K.shape[0]:
            dist = np.abs(K - row).max(axis=1)
            if np.any(dist <= tol * (1 + np.abs(row).max())):
                continue
        out.append(row)
        K = np.concatenate([K, row[None]], axis=0)
    return out


class _Graph:
    """One monodromy graph: nodes ``p_0`` (where ``x_start`` is a root) and ``p_1``, several
    edges (gammas), the root sets at both nodes and how much of each set every directed edge
    has already carried."""

    def __init__(self, system: Any, rng: np.random.Generator, x_start: np.ndarray | None
                 ) -> None:
        self.rng = rng
        x0, p0 = start_pair(system, rng, x_start)
        self.nodes = [p0, _random_params(system, rng)]
        self.sets: list[list[np.ndarray]] = [[x0], []]
        self.edges: list[complex] = []
        self.done: dict[tuple[int, int], int] = {}
        self.quiet = 0
        for _ in range(3):
            self.add_edge()

    def add_edge(self) -> None:
        self.edges.append(complex(np.exp(2j * math.pi * self.rng.random())))
        for d in (0, 1):
            self.done[(len(self.edges) - 1, d)] = 0

    def pending(self) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, complex]]:
        """``(dst, X, p_src, p_dst, gamma)`` for every directed edge with untracked roots."""
        out = []
        for e, g in enumerate(self.edges):
            for d in (0, 1):
                src, dst = (0, 1) if d == 0 else (1, 0)
                todo = self.sets[src][self.done[(e, d)]:]
                if todo:
                    self.done[(e, d)] = len(self.sets[src])
                    out.append((dst, np.array(todo), self.nodes[src], self.nodes[dst],
                                g if d == 0 else 1 / g))
        return out


def _track_many(system: Any, jobs: list[tuple[np.ndarray, np.ndarray, np.ndarray, complex]],
                options: TrackOptions | None) -> list[np.ndarray]:
    """Track several homotopies (roots, p_src, p_dst, gamma) in one batch; returns the
    endpoints of the paths that ended OK, per job."""
    import torch

    if not jobs:
        return []
    dev = system.device
    X = np.concatenate([j[0] for j in jobs])
    P0 = np.concatenate([np.broadcast_to(j[1], (len(j[0]), j[1].size)) for j in jobs])
    P1 = np.concatenate([np.broadcast_to(j[2], (len(j[0]), j[2].size)) for j in jobs])
    gam = np.concatenate([np.full(len(j[0]), j[3]) for j in jobs])
    c = torch.complex128
    xe, st, _ = track(system, torch.as_tensor(X, dtype=c, device=dev),
                      torch.as_tensor(P0, dtype=c, device=dev),
                      torch.as_tensor(P1, dtype=c, device=dev),
                      torch.as_tensor(gam, dtype=c, device=dev), options)
    xe_, ok = xe.cpu().numpy(), (st == OK).cpu().numpy()
    out, i = [], 0
    for j in jobs:
        sl = slice(i, i + len(j[0]))
        out.append(xe_[sl][ok[sl]])
        i += len(j[0])
    return out


def newton_sweep(system: Any, p: np.ndarray, count: int, rng: np.random.Generator,
                 iters: int = 40) -> np.ndarray:
    """Roots of ``F(.; p)`` found by plain Newton from ``count`` random complex points (scale
    1 to 10): a blind but component-agnostic way to seed monodromy (every irreducible
    component of the incidence variety gets hit with positive probability)."""
    import torch

    dev = system.device
    scale = np.exp(rng.uniform(0, np.log(10), (count, 1)))
    x = torch.as_tensor(_cplx(rng, count, system.n) * scale, dtype=torch.complex128,
                        device=dev)
    P = torch.as_tensor(p, dtype=torch.complex128, device=dev).expand(count, -1)
    for _ in range(iters):
        F, J, _ = system.evaluate(x, P)
        d, info = torch.linalg.solve_ex(J, -F[..., None])
        x = x + torch.nan_to_num(d[..., 0]) * (info == 0)[:, None]
        x = torch.where(torch.isfinite(x), x, torch.zeros_like(x))
    F, J, _ = system.evaluate(x, P)
    d, info = torch.linalg.solve_ex(J, -F[..., None])
    step = d[..., 0].abs().amax(1)
    size = x.abs().amax(1)
    ok = (info == 0) & (step <= 1e-12 * (1 + size)) & (size <= 1e4)
    return x[ok].cpu().numpy()


def monodromy(system: Any, target: int, seed: int, *, max_paths: int | None = None,
              stall: int = 4, options: TrackOptions | None = None,
              x_starts: list[np.ndarray] | None = None) -> StartSet:
    """Roots of ``system`` at a random start by the graph monodromy of the module docstring,
    one graph per start root in ``x_starts`` (``[None]``: one random root), all graphs tracked
    in one batch per round, until ``target`` roots are known in all (the graphs' components are
    disjoint), every graph has had ``stall`` rounds without progress, or ``max_paths`` paths
    were tracked. The roots of the other graphs are then carried to the first graph's start by
    a parameter homotopy."""
    import time

    t0 = time.perf_counter()
    starts = x_starts if x_starts else [None]
    graphs = [_Graph(system, np.random.default_rng([seed, 31, i, system.n, system.m]), xs)
              for i, xs in enumerate(starts)]
    tracked = 0
    sweeps, max_sweeps = 0, 3
    budget = max_paths if max_paths is not None else 200 * max(target, 1) + 1000

    def total() -> int:
        return sum(len(g.sets[0]) for g in graphs)

    while total() < target and tracked < budget:
        live = [g for g in graphs if g.quiet < stall]
        if not live:
            break
        jobs, where = [], []
        for g in live:
            for dst, X, ps, pd, gam in g.pending():
                jobs.append((X, ps, pd, gam))
                where.append((g, dst))
        tracked += sum(len(j[0]) for j in jobs)
        ends = _track_many(system, jobs, options)
        grew = {id(g): False for g in live}
        for (g, dst), xe in zip(where, ends, strict=True):
            before = len(g.sets[dst])
            g.sets[dst] = _merge(g.sets[dst], xe)
            grew[id(g)] |= len(g.sets[dst]) > before
        for g in live:
            if grew[id(g)]:
                g.quiet = 0
            else:
                g.quiet += 1
                g.add_edge()
        base = graphs[0]
        if not grew[id(base)] and sweeps < max_sweeps and total() < target:
            # stalled: seed the start node by Newton from random points (other components)
            sweeps += 1
            count = min(max(200, 20 * target), 20000)
            tracked += count
            before = len(base.sets[0])
            base.sets[0] = _merge(base.sets[0], newton_sweep(system, base.nodes[0], count,
                                                             base.rng))
            if len(base.sets[0]) > before:
                base.quiet = 0
    base = graphs[0]
    roots = list(base.sets[0])
    rng = np.random.default_rng([seed, 43])
    jobs = [(np.array(g.sets[0]), g.nodes[0], base.nodes[0],
             complex(np.exp(2j * math.pi * rng.random()))) for g in graphs[1:] if g.sets[0]]
    tracked += sum(len(j[0]) for j in jobs)
    for xe in _track_many(system, jobs, options):
        roots = _merge(roots, xe)
    return StartSet(np.array(roots), base.nodes[0], target, time.perf_counter() - t0, tracked,
                    False)


def full_start(system: Any, chart: Any, target: int, seed: int, *,
               max_paths: int | None = None) -> StartSet:
    """All ``target`` roots at one start: monodromy from a generic root, seeded by Newton
    sweeps (:func:`newton_sweep`) whenever it stalls, which reach the other components of the
    incidence variety (critical points whose layers share roots, stride-one blocks)."""
    return monodromy(system, target, seed, max_paths=max_paths)


def _valid(system: Any, x: np.ndarray, p: np.ndarray, target: int) -> bool:
    import torch

    if x.ndim != 2 or x.shape[1] != system.n or p.shape != (system.P,) or x.shape[0] != target:
        return False
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
        return False
    X = torch.as_tensor(x, dtype=torch.complex128, device=system.device)
    P = torch.as_tensor(p, dtype=torch.complex128, device=system.device).expand(x.shape[0], -1)
    F = system.residual(X, P).abs().amax(1).cpu().numpy()
    if not np.all(F <= 1e-8 * (1 + np.abs(x).max(1))):
        return False
    return len(_merge([], x)) == x.shape[0]


def cached_start(system: Any, chart: Any, seed: int, kind: str, target: int,
                 cache_dir: str | Path | None, *, max_paths: int | None = None) -> StartSet:
    """The start set of ``system`` from the cache, or by :func:`monodromy` (then stored when
    complete). See the module docstring for what makes a cache file trusted."""
    arch = chart.arch
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_path(root, arch, seed, kind)
    ours = False
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                ours = str(f["marker"]) == _MARKER
                if ours and int(f["version"]) == CACHE_VERSION:
                    x, p = np.array(f["x"]), np.array(f["p"])
                    if _valid(system, x, p, target):
                        return StartSet(x, p, target, 0.0, 0, True)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
            pass
    start = full_start(system, chart, target, seed, max_paths=max_paths)
    if start.complete and (ours or not path.exists()):
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, marker=np.array(_MARKER), version=np.array(CACHE_VERSION),
                             x=start.x, p=start.p, k=np.array(arch.k), s=np.array(arch.s),
                             seed=np.array(seed), kind=np.array(kind))
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass  # an unwritable cache costs time, not correctness
    return start
