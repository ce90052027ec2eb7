"""Executing one chunk: make the datasets (cached per architecture), train, search (Newton:
:func:`lcn.training.critical_points`, plus the exact singular critical points for
rank-deficient data, :mod:`lcn.experiment.singular`; homotopy: the complete certified
critical sets, :mod:`lcn.experiment.census`), classify every point (MATH.md 5-8) and turn
the results into store rows; and committing a chunk's result to the store. The same code
runs in-process and on Dask workers (:mod:`lcn.experiment.distributed`): a chunk's seeds
depend only on the config and the chunk, so where it runs does not change its rows.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lcn import critical, training
from lcn.critical import CATEGORIES, CriticalPointInfo
from lcn.dense import split_dense
from lcn.experiment.census import solve_censuses
from lcn.experiment.config import ArchSpec, ExperimentConfig
from lcn.experiment.plan import Chunk, derive_seed
from lcn.experiment.singular import exact_singular_points
from lcn.experiment.store import CLASS_FIELDS, UNCONVERGED, Store, StoreError
from lcn.parametrization import split_params
from lcn.training.loss import metrics

__all__ = ["HOMOTOPY_SEED", "ChunkResult", "chunk_seed", "commit", "run_chunk"]

Rows = list[dict[str, Any]]

#: The ``seed`` of every homotopy solve: it picks the solver's random slices and start
#: instance, whose solutions are computed once by monodromy and cached on disk
#: (:func:`lcn.homotopy.critical_sets`), so one seed for all chunks and experiments solves
#: each architecture's start system once. The complete set does not depend on it.
HOMOTOPY_SEED = 0


def _sql_value(v: Any) -> Any:
    """A value as SQLite stores it: numbers and text as they are, NaN as NULL, sequences as
    JSON text."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return int(v)
    if v is None or isinstance(v, str | int | float):
        if isinstance(v, float) and math.isnan(v):
            return None
        return v
    if hasattr(v, "tolist"):
        v = v.tolist()
    return json.dumps(list(v) if isinstance(v, tuple) else v, default=str)


def _classification_row(info: CriticalPointInfo) -> dict[str, Any]:
    return {f: _sql_value(getattr(info, f)) for f in CLASS_FIELDS}


@dataclass(frozen=True)
class _Points:
    """What a chunk's training or search returned, per point."""

    theta: np.ndarray
    datasets: list[int]
    loss: np.ndarray
    converged: np.ndarray
    grad_norm: np.ndarray
    rel_grad_norm: np.ndarray
    extra: dict[str, list[Any]]
    unconverged: int
    #: Census rows (homotopy chunks): one per dataset.
    censuses: tuple[dict[str, Any], ...] = ()


def chunk_seed(config: ExperimentConfig, chunk: Chunk) -> int:
    """The seed of a chunk's training or search call (:data:`HOMOTOPY_SEED` for the
    homotopy)."""
    if chunk.method == "homotopy":
        return HOMOTOPY_SEED
    return derive_seed(config.seed, chunk.task, chunk.arch, chunk.part)


class _Runner:
    """Executes chunks: makes the datasets of an architecture (cached while its chunks run),
    trains or searches, classifies, and turns the results into store rows."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config
        self._arch_name: str | None = None
        self._arch: Any = None
        self._data: dict[int, tuple[Any, dict[str, Any]]] = {}

    def arch(self, spec: ArchSpec) -> Any:
        if self._arch_name != spec.name:
            self._arch_name, self._arch, self._data = spec.name, spec.build(), {}
        return self._arch

    def dataset(self, spec: ArchSpec, j: int) -> tuple[Any, dict[str, Any]]:
        """``(gram form, datasets row)`` of dataset ``j`` of ``spec``."""
        arch = self.arch(spec)
        if j not in self._data:
            data_seed = derive_seed(self.config.seed, "data", spec.name, j)
            if spec.path is not None:
                data = training.load_dataset(spec.path, arch, spec.n_out)
            else:
                data = training.gaussian_dataset(
                    arch, spec.n_out, spec.N, data_seed, noise=spec.noise or 0.0,
                    target=spec.target,
                )
            X, Y = np.asarray(data.X), np.asarray(data.Y)
            row = {
                "arch": spec.name, "dataset": j, "data_seed": data_seed,
                "task": spec.task_label(), "N": int(X.shape[-1]), "n_in": int(X.shape[0]),
                "n_out": int(Y.shape[0]), "loss_zero": float(np.sum(Y * Y)),
            }
            self._data[j] = (training.gram_form(arch, data), row)
        return self._data[j]

    def split(self, spec: ArchSpec, arch: Any, theta: np.ndarray) -> list[Any]:
        """Per-point parameters as nested lists, one entry per layer (filters for an LCN,
        matrices for a dense network)."""
        if theta.shape[0] == 0:
            return []
        layers = split_params(arch, theta) if spec.kind == "lcn" else split_dense(arch, theta)
        return [[layer[i].tolist() for layer in layers] for i in range(theta.shape[0])]

    def _train(self, spec: ArchSpec, chunk: Chunk, seed: int) -> _Points:
        runs = list(range(chunk.first, chunk.first + chunk.count))
        point_ds = [r // spec.inits for r in runs]
        res = training.train(
            self.arch(spec), [self.dataset(spec, j)[0] for j in point_ds], chunk.count,
            init=self.config.init, optimizer=self.config.optimizer, steps=spec.steps,
            lr=spec.lr, device=self.config.device, seed=seed, polish=self.config.polish,
        )
        n = chunk.count
        extra = {"run": runs, "steps": list(res.steps), "invariant_drift":
                 list(res.invariant_drift), "init": [self.config.init] * n,
                 "optimizer": [self.config.optimizer] * n}
        return _Points(res.params, point_ds, res.loss, res.converged, res.grad_norm,
                       res.rel_grad_norm, extra, int(n - np.count_nonzero(res.converged)))

    def _search(self, spec: ArchSpec, chunk: Chunk, seed: int) -> _Points:
        if chunk.method == "homotopy":
            return self._homotopy(spec, chunk, seed)
        arch, gram = self.arch(spec), self.dataset(spec, chunk.part)[0]
        hits: list[Any]
        if spec.starts > 0:
            res = training.critical_points(arch, gram, chunk.count, seed=seed,
                                           device=self.config.device)
            theta, loss, conv = res.params, res.loss, np.asarray(res.converged, dtype=bool)
            gn, rgn, hits = res.grad_norm, res.rel_grad_norm, list(res.count)
            unconverged = int(np.count_nonzero(res.labels < 0))
        else:
            theta = np.zeros((0, arch.parameters))  # an LCN: only its data can be deficient
            loss, gn, rgn = np.zeros(0), np.zeros(0), np.zeros(0)
            conv = np.zeros(0, dtype=bool)
            hits, unconverged = [], 0
        n = len(hits)
        methods: list[Any] = ["newton"] * n
        starts: list[Any] = [chunk.count] * n
        if spec.gram_rank_deficient:
            sing = exact_singular_points(arch, gram).params
            if len(sing):
                fig = metrics(training.model_for(arch), [gram], sing)
                theta = np.concatenate([np.asarray(theta).reshape(n, -1), sing])
                loss = np.concatenate([loss, fig["loss"]])
                conv = np.concatenate([conv, np.ones(len(sing), dtype=bool)])
                gn = np.concatenate([gn, fig["grad_norm"]])
                rgn = np.concatenate([rgn, fig["rel"]])
                hits += [None] * len(sing)
                methods += ["singular"] * len(sing)
                starts += [None] * len(sing)
        m = len(hits)
        extra = {"point": list(range(m)), "starts": starts, "hits": hits, "method": methods}
        return _Points(theta, [chunk.part] * m, loss, conv, gn, rgn, extra, unconverged)

    def _homotopy(self, spec: ArchSpec, chunk: Chunk, seed: int) -> _Points:
        """The real points of the complete critical sets of the chunk's datasets, and one
        census row per dataset."""
        arch = self.arch(spec)
        grams = [self.dataset(spec, j)[0] for j in chunk.datasets]
        # the method was resolved against search.max_paths when the plan was made; the cap is
        # not part of a store's recorded config, so a resumed store must not re-apply it
        found = solve_censuses(arch, grams, max_paths=arch.ed_degree, seed=seed,
                               device=self.config.device)
        thetas, ds, points, censuses = [], [], [], []
        for j, cen in zip(chunk.datasets, found, strict=True):
            censuses.append({"arch": spec.name, "dataset": j, **cen.row})
            th = cen.real_params.reshape(-1, arch.parameters)
            thetas.append(th)
            ds += [j] * len(th)
            points += list(range(len(th)))
        theta = np.concatenate(thetas) if thetas else np.zeros((0, arch.parameters))
        n = len(ds)
        # loss and gradient of the classified real points, recomputed from their filters in
        # float64 (the solver's complex values agree to rounding), each on its own dataset
        by_ds = dict(zip(chunk.datasets, grams, strict=True))
        if n:
            fig = metrics(training.model_for(arch), [by_ds[d] for d in ds], theta)
            loss, gn, rgn = fig["loss"], fig["grad_norm"], fig["rel"]
        else:
            loss, gn, rgn = np.zeros(0), np.zeros(0), np.zeros(0)
        extra: dict[str, list[Any]] = {"point": points, "starts": [None] * n,
                                       "hits": [None] * n, "method": ["homotopy"] * n}
        # certified solutions are critical points: converged by construction
        return _Points(theta, ds, loss, np.ones(n, dtype=bool), gn, rgn, extra, 0,
                       tuple(censuses))

    def _classify(self, spec: ArchSpec, pts: _Points) -> list[dict[str, Any]]:
        """Classification columns per point, dataset by dataset (a training chunk spans
        several datasets)."""
        theta = np.asarray(pts.theta, dtype=np.float64)
        out: list[dict[str, Any]] = [{} for _ in pts.datasets]
        for j in sorted(set(pts.datasets)):
            idx = [i for i, d in enumerate(pts.datasets) if d == j]
            infos = critical.classify_critical_points(
                self.arch(spec), self.dataset(spec, j)[0], theta[idx], **dict(self.config.classify)
            )
            for i, info in zip(idx, infos, strict=True):
                out[i] = _classification_row(info)
        return out

    def run(self, chunk: Chunk) -> tuple[Rows, Rows, int, Rows]:
        """``(datasets rows, point rows, unconverged, census rows)`` of one chunk;
        ``unconverged`` counts training runs or search starts that did not reach a critical
        point."""
        spec = self.config.arch(chunk.arch)
        seed = chunk_seed(self.config, chunk)
        pts = (self._train if chunk.task == "train" else self._search)(spec, chunk, seed)
        common = {
            "arch": spec.name, "arch_kind": spec.kind,
            "arch_spec": json.dumps({k: v for k, v in spec.to_dict().items()
                                     if k in ("k", "s", "widths")}),
            "family": spec.family, "task": spec.task_label(), "config_hash": self.config.hash,
            "seed": seed,
        }
        params = self.split(spec, self.arch(spec), np.asarray(pts.theta, dtype=np.float64))
        rows = []
        for i, cls in enumerate(self._classify(spec, pts)):
            drow = self.dataset(spec, pts.datasets[i])[1]
            lz, loss = drow["loss_zero"], float(pts.loss[i])
            row = {**common, **cls}
            row.update(
                dataset=pts.datasets[i], data_seed=drow["data_seed"], loss=loss,
                loss_rel=loss / lz if lz > 0 else None,
                grad_norm=_sql_value(pts.grad_norm[i]),
                rel_grad_norm=_sql_value(pts.rel_grad_norm[i]),
                converged=int(bool(pts.converged[i])), params=json.dumps(params[i]),
            )
            if not pts.converged[i]:
                row["category"] = UNCONVERGED
            elif row.get("category") not in CATEGORIES:
                raise ValueError(f"unknown category {row.get('category')!r} from classification")
            row.update({key: _sql_value(vals[i]) for key, vals in pts.extra.items()})
            rows.append(row)
        ds = sorted(set(pts.datasets) | set(chunk.datasets if chunk.task == "search" else ()))
        ds = ds or [chunk.part]
        return ([self.dataset(spec, j)[1] for j in ds], rows, pts.unconverged,
                list(pts.censuses))


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk produced: its datasets rows, point rows, the runs or starts that did not
    converge, and the seconds it took."""

    datasets: Rows
    rows: Rows
    unconverged: int
    seconds: float
    #: One row per dataset solved by the homotopy (table ``censuses``).
    censuses: Rows = field(default_factory=list)


#: One runner per process (its dataset cache), for the config it last ran.
_RUNNERS: dict[str, _Runner] = {}


def run_chunk(config: ExperimentConfig, chunk: Chunk) -> ChunkResult:
    """Run one chunk (in this process, or as a Dask task on a worker)."""
    runner = _RUNNERS.get(config.hash)
    if runner is None:
        _RUNNERS.clear()
        runner = _RUNNERS[config.hash] = _Runner(config)
    t0 = time.perf_counter()
    drows, rows, unconverged, censuses = runner.run(chunk)
    return ChunkResult(drows, rows, unconverged, time.perf_counter() - t0, censuses)


def commit(st: Store, chunk: Chunk, result: ChunkResult, counts: list[int]) -> None:
    """Write a chunk's result (the caller is the store's only writer) and count it in
    ``counts = [ran, skipped]``; a failing write (a full disk) is a :class:`ConfigError`
    naming the store and saying what was saved."""
    try:
        written = st.write_chunk(chunk, result.seconds, result.datasets, result.rows,
                                 result.unconverged, result.censuses)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(
            st.argument, f"cannot write to {str(st.path)!r} ({exc}); {counts[0]} new "
            f"chunks were saved, {counts[0] + counts[1]} in all; the chunk in flight "
            f"({chunk.arch}: {chunk.label}) was not. Free space (or fix the permissions) "
            "and run the same command again to resume"
        ) from None
    counts[0 if written else 1] += 1
