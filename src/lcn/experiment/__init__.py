"""Experiments: many trainings and critical-point searches, stored, summarised and plotted.

An experiment is described by a TOML config (reference: ``docs/experiments.md``): a list of
architectures (LCNs ``k``, ``s``; dense networks ``widths``), how many datasets per
architecture, how many gradient-descent trainings and critical-point search starts per dataset,
and the optimizer settings. :func:`run_experiment` works through it chunk by chunk:

* a *chunk* is one unit of work: ``task = "train"`` trains up to ``training.chunk`` networks
  from random initializations in one batched call (run ``r`` on dataset ``r // inits``, so a
  chunk spans datasets: one large batch is far cheaper than many small ones),
  ``task = "search"`` solves ``grad L = 0`` from all search starts of one dataset (so the
  deduplication of the critical points of one loss is complete);
* ``search.method``: ``"homotopy"`` (the default, ``"auto"``, for LCNs with generic data
  whose ``ed_degree`` is at most ``search.max_paths``) solves for the complete certified
  critical set of ``search.chunk`` datasets per chunk (:func:`lcn.homotopy.critical_sets`,
  MATH.md 9) and stores every real critical point and one census row per dataset;
  ``"newton"`` is the local search (the only choice for dense networks and rank-deficient
  data, where the critical points are not isolated; for the latter the exact singular
  critical points are computed beside it, :mod:`~lcn.experiment.singular`);
* each chunk's points are classified (MATH.md 5-8: zero, regular, smooth or singular,
  interior or boundary, pure or spurious) and written to the SQLite store in one transaction
  together with the mark that the chunk is done. An interrupted experiment (Ctrl-C, ``kill
  -9``) therefore loses at most the chunk in flight, and a rerun with the same config skips the
  chunks already done. Seeds are derived from ``(seed, task, architecture name, chunk)``
  (datasets: ``(seed, "data", architecture name, dataset)``), so a resumed experiment stores
  exactly what an uninterrupted one would have;
* a store remembers the hash of the config that made it; another config is refused.

At the end, :func:`summary_table` counts gradient-descent limits and critical points per
architecture split into the categories of :data:`lcn.critical.CATEGORIES`, :func:`checks`
compares the counts with the theorem of MATH.md 8, and :func:`write_plots` draws them.

The package, one concept per file, bottom up: :mod:`~lcn.experiment.config` (the TOML
format), :mod:`~lcn.experiment.plan` (chunks and seeds), :mod:`~lcn.experiment.budget` (size
estimates judged before anything runs), :mod:`~lcn.experiment.store` (SQLite),
:mod:`~lcn.experiment.census` (homotopy chunks),
:mod:`~lcn.experiment.singular` (exact singular critical points of rank-deficient data),
:mod:`~lcn.experiment.worker` (one chunk, and its commit), :mod:`~lcn.experiment.distributed`
(chunks as Dask tasks), :mod:`~lcn.experiment.runner`, :mod:`~lcn.experiment.summary`
(counts and the MATH.md 8 checks), :mod:`~lcn.experiment.report` (tables and plots). Torch is
imported only when chunks run, Dask only when asked (``import lcn.experiment`` imports
neither).
"""

from lcn.critical import CATEGORIES
from lcn.experiment.budget import (
    MAX_CHUNKS,
    MAX_MEMORY_ELEMENTS,
    MAX_WORK,
    Estimate,
    check_budget,
    estimate,
)
from lcn.experiment.config import (
    DEFAULT_MAX_PATHS,
    INITS,
    METHODS,
    OPTIMIZERS,
    ArchSpec,
    ExperimentConfig,
    default_config_text,
    load_config,
    parse_config,
)
from lcn.experiment.distributed import Cluster
from lcn.experiment.plan import Chunk, derive_seed, plan_chunks
from lcn.experiment.report import (
    CATEGORY_LABELS,
    census_table,
    check_plots_dir,
    checks_table,
    kinds_table,
    plot_paths,
    print_report,
    summary_table,
    write_plots,
)
from lcn.experiment.runner import Outcome, preflight, run_experiment
from lcn.experiment.singular import SingularPoints, exact_singular_points
from lcn.experiment.store import SOURCES, STORE_FORMAT, TASKS, UNCONVERGED, Store, StoreError
from lcn.experiment.summary import (
    KINDS,
    MATCH_RTOL,
    MATCH_SEPARATION,
    ArchSummary,
    Census,
    Check,
    Counts,
    Match,
    Summary,
    checks,
    iter_points,
    kind_of,
    summarize,
)
from lcn.experiment.sweep import MAX_SWEEP, expand_sweep
from lcn.experiment.worker import ChunkResult, run_chunk

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "DEFAULT_MAX_PATHS",
    "INITS",
    "KINDS",
    "MATCH_RTOL",
    "MATCH_SEPARATION",
    "METHODS",
    "MAX_CHUNKS",
    "MAX_MEMORY_ELEMENTS",
    "MAX_SWEEP",
    "MAX_WORK",
    "OPTIMIZERS",
    "SOURCES",
    "STORE_FORMAT",
    "TASKS",
    "UNCONVERGED",
    "ArchSpec",
    "ArchSummary",
    "Census",
    "Check",
    "Chunk",
    "ChunkResult",
    "Cluster",
    "Counts",
    "Estimate",
    "ExperimentConfig",
    "Match",
    "Outcome",
    "SingularPoints",
    "Store",
    "StoreError",
    "Summary",
    "census_table",
    "check_budget",
    "check_plots_dir",
    "checks",
    "checks_table",
    "kinds_table",
    "expand_sweep",
    "default_config_text",
    "derive_seed",
    "estimate",
    "exact_singular_points",
    "iter_points",
    "kind_of",
    "load_config",
    "parse_config",
    "plan_chunks",
    "plot_paths",
    "preflight",
    "print_report",
    "run_chunk",
    "run_experiment",
    "summarize",
    "summary_table",
    "write_plots",
]
