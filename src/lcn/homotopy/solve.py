"""All critical points of the loss, certified: :func:`critical_sets` (MATH.md 8-9, issue 9).

Pipeline per architecture, then per dataset (batched over paths *and* datasets):

1. the gauge-fixed square system of :mod:`.chart` (random real slices, seeded by ``seed``);
2. its ``ed_degree`` roots at a generic complex start, by monodromy, cached on disk
   (:mod:`.start`);
3. a parameter homotopy (gamma trick) from the start to each dataset's ``(G, u)``, scaled to
   ``||G|| = ||u|| = 1`` (the roots scale with it: ``lam -> lam / ||u||``), tracked in one
   batch (:mod:`.track`; compiled on the CPU, :mod:`.native`);
4. every endpoint refined and certified at the *unscaled* data by Krawczyk's test, all at
   once in float64 with a priori rounding bounds (:mod:`.krawczyk`), the ill-conditioned
   rest in acb balls at 106-212 bits (:mod:`.certify`); boxes pairwise disjoint make the
   certified roots distinct; a dataset with too few certified roots is tracked again once
   with a new gamma and tighter steps, and the certified roots of both runs are merged;
5. real roots -> balanced real layer filters, classified by
   :func:`lcn.critical.classify_critical_points`.

Completeness: for data off the discriminant the number of nonsingular roots of the chart
system is at most its generic number ``ed_degree`` (the number of isolated roots, with
multiplicity, never exceeds the generic count of a parametrized square system), so
``ed_degree`` certified distinct roots are all of them. For special data (``G = I``, data on the
discriminant) some paths diverge or end singular; the result then says how many are missing
and why (``certified_complete = False``), never silently.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lcn._validate import check_int, check_seed
from lcn.architecture import Architecture, as_architecture
from lcn.critical import classify_critical_points
from lcn.errors import DataError, OptionError
from lcn.homotopy.certify import PRECISIONS, Certified, certify_roots
from lcn.homotopy.chart import Chart, make_chart
from lcn.homotopy.krawczyk import certify_float
from lcn.homotopy.result import CriticalSet
from lcn.homotopy.start import cached_start
from lcn.homotopy.system import CriticalSystem
from lcn.homotopy.track import OK, STATUS, TrackOptions, track
from lcn.homotopy.zero import zero_counts
from lcn.parametrization import balance_layers, join_params
from lcn.training import Dataset, GramForm, gram_form
from lcn.training.backend import fixed_threads, torch_setup

__all__ = ["DEFAULT_MAX_PATHS", "critical_set", "critical_sets"]

#: Largest ``ed_degree`` solved by default: ``k=(4,3,3) s=(3,2,1)`` (8547 paths) takes 22 s
#: per dataset on one core with its start system cached (the first call adds the one-time
#: monodromy: 140 s in all), ``k=(3,3,3) s=(2,2,1)`` (2385) 2.4 s.
DEFAULT_MAX_PATHS = 10000

#: Relative eigenvalue below which ``G`` counts as rank-deficient.
RANK_RTOL = 1e-10

#: Most paths tracked in one torch batch.
BATCH_PATHS = 20000


def critical_set(arch: Any, data: Dataset | GramForm, **kwargs: Any) -> CriticalSet:
    """:func:`critical_sets` for one dataset."""
    return critical_sets(arch, [data], **kwargs)[0]


def critical_sets(arch: Any, data: Sequence[Dataset | GramForm], *,
                  max_paths: int = DEFAULT_MAX_PATHS, seed: int = 0,
                  cache_dir: str | Path | None = None, device: str = "cpu",
                  classify: bool = True) -> list[CriticalSet]:
    """Every critical point of ``L(w) = (mu(w) - u)^T G (mu(w) - u) + c`` with ``mu(w) != 0``,
    modulo rescaling, for each dataset (a :class:`~lcn.training.Dataset` or
    :class:`~lcn.training.GramForm`), certified (see the module docstring and
    :class:`CriticalSet`). ``max_paths``: refuse architectures with ``ed_degree`` above it;
    ``seed``: slices and start instance (the cache key); ``cache_dir``: start-solution cache
    (default ``$LCN_CACHE_DIR`` or ``~/.cache/lcn/homotopy``); ``device``: ``"cpu"`` or
    ``"cuda"`` for the tracking; ``classify``: run :func:`lcn.critical.classify_critical_points`
    on the real points."""
    import torch

    t0 = time.perf_counter()
    arch = as_architecture(arch)
    max_paths = check_int(max_paths, "max_paths", min=1, error=OptionError)
    seed = check_seed(seed, error=OptionError)
    dev, _ = torch_setup(device, "float64")
    ed = arch.ed_degree
    if ed > max_paths:
        raise OptionError("max_paths", f"is {max_paths} but {arch} has ed_degree {ed}: the "
                          f"solver tracks {ed} paths per dataset; raise max_paths "
                          f"(--max-paths) to at least {ed} or use a smaller architecture")
    if isinstance(data, Dataset | GramForm) or not isinstance(data, Sequence) or not data:
        raise DataError("data", "must be a non-empty list of Datasets or GramForms")
    grams = [_checked_gram(arch, d, i) for i, d in enumerate(data)]
    chart = make_chart(arch, seed)
    system = CriticalSystem(chart, dev)
    # one intra-op thread on the CPU: the batched ops are small, and threading them costs more
    # in synchronization than it gains (lcn.training.backend.small_op_threads)
    threads = 1 if dev.type == "cpu" else torch.get_num_threads()
    # the compiled tracker's threads do whole paths: as many as torch would use
    workers = torch.get_num_threads()
    with torch.no_grad(), fixed_threads(torch, threads):
        start = cached_start(system, chart, seed, "critical", ed, cache_dir)
        ends, status = _track_all(system, start.x, start.p, grams, seed, TrackOptions(),
                                  workers)
        zeros, zero_note = zero_counts(chart, [gf.G @ gf.u / (gf.norm * _unorm(gf))
                                               for gf in grams], seed, cache_dir, dev)
    certified = _certified(system, chart, grams, ends, status)
    t_track = time.perf_counter() - t0
    out = []
    for i, gf in enumerate(grams):
        t1 = time.perf_counter()
        roots, notes = certified[i]
        paths = start.count
        if len(roots) < ed:
            # a second run with a new gamma and tighter steps; certified roots are merged
            with torch.no_grad(), fixed_threads(torch, threads):
                e2, s2 = _track_all(system, start.x, start.p, [gf], seed + 7919 * (i + 1),
                                    TrackOptions(h_max=0.02, beta=1e-5), workers)
            more, notes2 = _certified(system, chart, [gf], e2, s2)[0]
            roots = _union(roots, more)
            paths += start.count
            notes = f"first run: {notes}; second run (new gamma, smaller steps): {notes2}"
        if start.count < ed:
            notes = (f"the start system has only {start.count} of {ed} roots (monodromy "
                     f"stalled); {notes}")
        out.append(_result(arch, chart, gf, roots, zeros[i], zero_note, notes, paths,
                           t_track / len(grams) + time.perf_counter() - t1, classify))
    return out


def _unorm(gf: GramForm) -> float:
    return float(np.linalg.norm(gf.u))


def _checked_gram(arch: Architecture, d: Any, i: int) -> GramForm:
    gf = gram_form(arch, d)
    m = gf.size
    ev = np.linalg.eigvalsh(gf.G)
    rank = int(np.sum(ev > RANK_RTOL * max(ev[-1], 0.0)))
    if rank < m:
        raise DataError("data", f"dataset {i}: the Gram matrix G has rank {rank} < d + 1 = {m} "
                        "(too few or dependent samples); such data are not generic and the "
                        "critical set may be positive-dimensional; use more samples")
    if not np.linalg.norm(gf.u) > 0:
        raise DataError("data", f"dataset {i}: the optimum u of the Gram form is 0 (Y = 0?); "
                        "every critical point is then degenerate; use non-zero targets Y")
    return gf


def _track_all(system: CriticalSystem, X0: np.ndarray, p0: np.ndarray,
               grams: list[GramForm], seed: int, options: TrackOptions,
               threads: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Endpoints (unscaled: ``lam`` times ``||u||``) and statuses per dataset."""
    import torch

    dev = system.device
    c = torch.complex128
    N = X0.shape[0]
    rng = np.random.default_rng([seed, 61])
    targets = []
    for gf in grams:
        G = gf.G / gf.norm  # ||G||_2 (GramForm.norm)
        u = gf.u / _unorm(gf)
        targets.append(np.concatenate([G.reshape(-1), G @ u]))
    gammas = np.exp(2j * math.pi * rng.random(len(grams)))
    per = max(1, BATCH_PATHS // max(N, 1))
    ends, stats = [], []
    for s in range(0, len(grams), per):
        T = np.array(targets[s:s + per])
        D = T.shape[0]
        X = torch.as_tensor(np.tile(X0, (D, 1)), dtype=c, device=dev)
        P0 = torch.as_tensor(p0, dtype=c, device=dev).expand(N * D, -1)
        P1 = torch.as_tensor(np.repeat(T, N, axis=0), dtype=c, device=dev)
        gam = torch.as_tensor(np.repeat(gammas[s:s + per], N), dtype=c, device=dev)
        xe, st, _ = track(system, X, P0, P1, gam, options, threads)
        xe_, st_ = xe.cpu().numpy(), st.cpu().numpy()
        for d in range(D):
            x = xe_[d * N:(d + 1) * N].copy()
            x[:, -1] *= _unorm(grams[s + d])
            ends.append(x)
            stats.append(st_[d * N:(d + 1) * N])
    return ends, stats


def _overlaps(C: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of boxes (centres ``C`` ``(K, n)``, radii ``R``) that may
    meet: boxes are rectangles ``mid +- r`` in the real and the imaginary part of every
    coordinate, so two are disjoint iff one coordinate's real or imaginary intervals are
    (with a margin for the rounding of the differences). Row blocks bound the memory."""
    K, n = C.shape
    out = []
    for lo in range(0, K, 256):
        hi = min(lo + 256, K)
        meet = np.ones((hi - lo, K), bool)
        for q in range(n):
            d = C[lo:hi, q, None] - C[None, :, q]
            lim = (R[lo:hi, q, None] + R[None, :, q]) * (1 + 1e-9) + 1e-300
            meet &= (np.abs(d.real) <= lim) & (np.abs(d.imag) <= lim)
        i, j = np.nonzero(meet)
        i = i + lo
        out.append(np.stack([i[i < j], j[i < j]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def _union(roots: list[Certified], more: list[Certified]) -> list[Certified]:
    """``roots`` plus the boxes of ``more``, in order, that are disjoint from every box kept
    before them."""
    if not more:
        return list(roots)
    allc = list(roots) + list(more)
    C = np.array([r.center for r in allc])
    R = np.array([r.radius for r in allc])
    kept = np.ones(len(allc), bool)
    pairs = _overlaps(C, R)
    # sorted by the later box: a box's own fate is settled before it can drop another
    for i, j in pairs[np.argsort(pairs[:, 1], kind="stable")]:
        if j >= len(roots) and kept[i]:
            kept[j] = False
    return [r for r, k in zip(allc, kept, strict=True) if k]


def _certified(system: CriticalSystem, chart: Chart, grams: list[GramForm],
               ends: list[np.ndarray], status: list[np.ndarray]
               ) -> list[tuple[list[Certified], str]]:
    """Per dataset: the certified distinct roots among its endpoints and a note on what
    failed. Every endpoint of every dataset is first tested in one batch in float64
    (:func:`.krawczyk.certify_float`); those that fail there (ill-conditioned roots,
    undecided realness) are tested one by one in acb balls (:func:`.certify.certify_roots`),
    which raises the precision."""
    import torch

    n = chart.n
    rows = [np.nonzero(st == OK)[0] for st in status]
    certs: list[list[Certified | None]] = [[None] * len(r) for r in rows]
    flat = [(i, j) for i, r in enumerate(rows) for j in range(len(r))]
    for s0 in range(0, len(flat), BATCH_PATHS):
        part = flat[s0:s0 + BATCH_PATHS]
        X = np.array([ends[i][rows[i][j]] for i, j in part]).reshape(len(part), n)
        G = np.array([grams[i].G for i, _ in part])
        u = np.array([grams[i].u for i, _ in part])
        threads = 1 if system.device.type == "cpu" else torch.get_num_threads()
        with torch.no_grad(), fixed_threads(torch, threads):
            fc = certify_float(system, G, u, X)
        for q, (i, j) in enumerate(part):
            if fc.ok[q]:
                certs[i][j] = Certified(True, fc.center[q], np.full(n, fc.radius[q]),
                                        bool(fc.real[q]), 53, "float64")
    out = []
    for i, gf in enumerate(grams):
        todo = [j for j, c in enumerate(certs[i]) if c is None]
        if todo:
            # these failed at 53 bits in float64 (ill-conditioned, or realness undecided)
            more = certify_roots(chart, gf.G, gf.u, ends[i][rows[i][todo]],
                                 precisions=PRECISIONS[1:])
            for j, c in zip(todo, more, strict=True):
                certs[i][j] = c
        out.append(_summary([c for c in certs[i] if c is not None], status[i]))
    return out


def _summary(certs: list[Certified], st: np.ndarray) -> tuple[list[Certified], str]:
    good = [c for c in certs if c.ok]
    distinct = _union([], good)
    parts = []
    for code, name in STATUS.items():
        cnt = int(np.sum(st == code))
        if code != OK and cnt:
            parts.append(f"{cnt} paths {name}")
    if len(certs) - len(good):
        parts.append(f"{len(certs) - len(good)} endpoints failed the Krawczyk test")
    undecided = sum(c.real is None for c in good)
    if undecided:
        parts.append(f"{undecided} roots of undecided realness (counted as non-real)")
    if len(good) - len(distinct):
        parts.append(f"{len(good) - len(distinct)} duplicate endpoints (path jumping)")
    return distinct, ", ".join(parts) if parts else "all paths certified"


def _result(arch: Architecture, chart: Chart, gf: GramForm, roots: list[Certified],
            zero: int | None, zero_note: str, notes: str, paths: int, seconds: float,
            classify: bool) -> CriticalSet:
    ed = arch.ed_degree
    X = np.array([r.center for r in roots]).reshape(len(roots), chart.n)
    is_real = np.array([r.real is True for r in roots], dtype=bool)
    v = chart.mu(X) * X[:, -1:] if len(roots) else np.zeros((0, chart.m), np.complex128)
    res = v - gf.u
    losses = np.einsum("ni,ij,nj->n", res, gf.G, res) + gf.c
    losses[is_real] = losses[is_real].real
    real_x = X[is_real].real
    if real_x.shape[0]:
        layers = [w.real for w in chart.full_layers(real_x.astype(np.complex128))]
        params = join_params(balance_layers(layers))
    else:
        params = np.zeros((0, arch.parameters))
    points = tuple(classify_critical_points(arch, gf, params)) if classify and len(params) \
        else ()
    # every kept root passed Krawczyk; the count decides completeness
    complete = len(roots) == ed
    missing = max(ed - len(roots), 0)
    reason = "" if complete else (
        f"{len(roots)} of {ed} roots certified: {notes}; the data may be special (on the "
        "discriminant, e.g. G = I), where fewer critical points exist, or roots were lost")
    if len(roots) > ed:
        complete = False
        reason = (f"{len(roots)} certified distinct roots exceed ed_degree {ed}: the data are "
                  "not generic (the count bound does not apply)")
    n_float = sum(r.arithmetic == "float64" for r in roots)
    bits = sorted({r.bits for r in roots if r.arithmetic == "acb"})
    how = []
    if n_float or not roots:
        how.append(f"{n_float} roots in float64 midpoint-radius arithmetic with a priori "
                   "rounding bounds (Rump)")
    if bits:
        how.append(f"{len(roots) - n_float} in acb balls ({'-'.join(map(str, bits))} bits)")
    cert = (f"Krawczyk test ({'; '.join(how)}) on the gauge-fixed critical equations (random "
            f"real slices a_i.w_i = 1, seed {chart.seed}): each root unique and nonsingular in "
            "its box, boxes pairwise disjoint, realness by conjugation-invariant boxes; "
            "complete when the count equals ed_degree (bound on nonsingular roots for data off "
            "the discriminant)")
    undecided = sum(r.real is None for r in roots)
    if undecided:
        cert += (f"; realness undecided for {undecided} roots (their boxes meet the real "
                 "subspace but no conjugation-invariant box passed at 212 bits): counted as "
                 "non-real")
    if zero_note:
        cert += "; " + zero_note
    return CriticalSet(
        arch=arch, ed_degree=ed, complex_count=len(roots), real_count=int(is_real.sum()),
        zero_count=zero, certified_complete=bool(complete),
        missing=missing, reason=reason, functions=v, losses=losses, is_real=is_real,
        real_params=params, real_points=points, certificate=cert, paths=paths,
        seconds=float(seconds))
