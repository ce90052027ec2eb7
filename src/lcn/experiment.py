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
* each chunk's points are classified (MATH.md 5-8: zero, regular, smooth or singular,
  interior or boundary, pure or spurious) and written to the SQLite store in one transaction
  together with the mark that the chunk is done. An interrupted experiment (Ctrl-C, ``kill
  -9``) therefore loses at most the chunk in flight, and a rerun with the same config skips the
  chunks already done. Seeds are derived from ``(seed, task, architecture name, chunk)``
  (datasets: ``(seed, "data", architecture name, dataset)``), so a resumed experiment stores
  exactly what an uninterrupted one would have;
* a store remembers the hash of the config that made it; another config is refused.

At the end, :func:`summary_table` counts gradient-descent limits and critical points per
architecture split into the categories of :data:`CATEGORIES`, :func:`checks` compares the
counts with the theorem of MATH.md 8, and :func:`write_plots` draws them.

Torch is imported only when chunks run (``import lcn.experiment`` does not import it).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import hashlib
import json
import math
import os
import re
import secrets
import sqlite3
import time
import tomllib
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lcn.architecture import Architecture
from lcn.errors import ConfigError, LCNError

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "UNCONVERGED",
    "ArchSpec",
    "ArchSummary",
    "Check",
    "Chunk",
    "Counts",
    "ExperimentConfig",
    "Outcome",
    "Store",
    "Summary",
    "checks",
    "checks_table",
    "default_config_text",
    "derive_seed",
    "iter_points",
    "load_config",
    "parse_config",
    "plan_chunks",
    "plot_paths",
    "preflight",
    "print_report",
    "run_experiment",
    "summarize",
    "summary_table",
    "write_plots",
]

#: Categories of a critical point, in the order of the table (MATH.md 5-8). ``zero``:
#: ``mu(w) = 0``; ``pure_smooth_interior``: regular, ``mu(w)`` a smooth interior point of ``M``
#: and critical for the loss on ``M`` (what the theorem of MATH.md 8 promises for reduced
#: architectures); ``singular``: ``mu(w)`` a singular point of ``M``; ``boundary``: on the
#: relative boundary; ``spurious``: ``mu(w)`` not critical for the loss on its stratum.
CATEGORIES = ("zero", "pure_smooth_interior", "singular", "boundary", "spurious")
CATEGORY_LABELS = {
    "zero": "zero",
    "pure_smooth_interior": "pure smooth interior",
    "singular": "singular",
    "boundary": "boundary",
    "spurious": "spurious",
    "unconverged": "not converged",
}
#: Rows that did not reach a critical point within the tolerance carry this category.
UNCONVERGED = "unconverged"
TASKS = ("train", "search")
STORE_FORMAT = "lcn-experiment-store 1"

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_DEFAULT_RESOURCE = "default_experiment.toml"


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchSpec:
    """One architecture of an experiment with its data sizes and budgets (overrides applied).

    ``kind`` is ``"lcn"`` (``k``, ``s``) or ``"dense"`` (``widths = (n_0, ..., n_L)``, input
    first). ``N`` is the number of samples per dataset (MATH.md 8: the theorem assumes
    ``N >= d + 1``), ``n_out`` the output length ``n_L``.
    """

    name: str
    kind: str
    k: tuple[int, ...] | None
    s: tuple[int, ...] | None
    widths: tuple[int, ...] | None
    N: int
    n_out: int
    datasets: int
    inits: int
    starts: int
    steps: int
    lr: float | None
    noise: float | None
    target: str
    path: str | None
    #: SHA-256 of the bytes of the data file ``path`` (``None`` for Gaussian data): part of the
    #: config hash, so a store never mixes results of two versions of a data file.
    data_sha256: str | None = None

    def build(self) -> Any:
        """The architecture object: :class:`lcn.Architecture` or ``lcn.dense.DenseArchitecture``."""
        if self.kind == "lcn":
            return Architecture(self.k, self.s)
        from lcn.dense import DenseArchitecture

        return DenseArchitecture(self.widths)

    @property
    def lcn(self) -> Architecture | None:
        """The LCN architecture, or ``None`` for a dense network."""
        return Architecture(self.k, self.s) if self.kind == "lcn" else None

    @property
    def family(self) -> str:
        """Which statement of MATH.md 8 speaks about this architecture.

        ``"dense"``; ``"reduced, strides > 1"`` (the theorem); ``"reduced"`` (one layer, or
        stride one everywhere with one layer: the theorem applies trivially); ``"stride one,
        filling"`` / ``"stride one, not filling"`` (MATH.md 3: ``M`` is everything iff at most
        one ``d_i`` is odd); ``"not reduced"`` otherwise.
        """
        arch = self.lcn
        if arch is None:
            return "dense"
        if arch.is_reduced:
            return "reduced, strides > 1" if arch.layers > 1 else "reduced"
        if all(si == 1 for si in arch.s):
            odd = sum(1 for di in arch.d if di % 2 == 1)
            return "stride one, filling" if odd <= 1 else "stride one, not filling"
        return "not reduced"

    @property
    def theorem_applies(self) -> bool:
        """The hypotheses of the theorem of MATH.md 8 hold: reduced LCN, Gaussian (generic)
        data with ``N >= d + 1`` (a planted target needs noise > 0 to be generic)."""
        arch = self.lcn
        return (
            arch is not None
            and arch.is_reduced
            and self.path is None
            and (self.target == "random" or (self.noise or 0.0) > 0)
            and self.N >= arch.degree + 1
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (also what the config hash is computed from)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "lcn":
            out["k"], out["s"] = list(self.k or ()), list(self.s or ())
        else:
            out["widths"] = list(self.widths or ())
        out.update(
            N=self.N,
            n_out=self.n_out,
            datasets=self.datasets,
            inits=self.inits,
            starts=self.starts,
            steps=self.steps,
            lr=self.lr,
            noise=self.noise,
            target=self.target,
            path=self.path,
        )
        if self.path is not None:
            # only for file data: Gaussian configs keep the hashes they had before this key
            out["data_sha256"] = self.data_sha256
        return out

    def task_label(self) -> str:
        """Short description of the data, stored in the ``task`` column."""
        if self.path is not None:
            return f"file {self.path}"
        extra = "" if self.target == "random" else f",planted,noise={self.noise or 0.0:g}"
        return f"gaussian(N={self.N},n_out={self.n_out}{extra})"


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment config (see ``docs/experiments.md``).

    ``hash`` identifies everything that influences the results (all settings but ``store``
    and ``description``): a store only accepts chunks of the config hash it was created with.
    """

    name: str
    description: str
    store: Path
    seed: int
    device: str
    init: str
    optimizer: str
    polish: bool
    chunk: int
    classify: tuple[tuple[str, float], ...]
    architectures: tuple[ArchSpec, ...]
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Normalized plain-JSON form of every setting that influences results."""
        return {
            "name": self.name,
            "seed": self.seed,
            "device": self.device,
            "init": self.init,
            "optimizer": self.optimizer,
            "polish": self.polish,
            "chunk": self.chunk,
            "classify": dict(self.classify),
            "architectures": [a.to_dict() for a in self.architectures],
        }

    @property
    def hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def arch(self, name: str) -> ArchSpec:
        """The architecture called ``name``."""
        for a in self.architectures:
            if a.name == name:
                return a
        raise ConfigError("architecture", f"no architecture named {name!r} in this config")


class _Table:
    """Reads one TOML table, checking types, and complains about unknown keys by full name."""

    def __init__(self, raw: Any, prefix: str) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(prefix, f"must be a table, got {_tname(raw)}")
        self.raw = dict(raw)
        self.prefix = prefix
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def has(self, name: str) -> bool:
        return name in self.raw

    def get(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return self.raw.get(name, default)

    def int_(self, name: str, default: Any, minimum: int = 0) -> Any:
        v = self.get(name, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(self.key(name), f"must be an integer, got {_tname(v)} {v!r}")
        if v < minimum:
            raise ConfigError(self.key(name), f"is {v}; it must be an integer >= {minimum}")
        return v

    def float_(self, name: str, default: Any, positive: bool = False) -> Any:
        v = self.get(name, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(self.key(name), f"must be a number, got {_tname(v)} {v!r}")
        v = float(v)
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            bound = "> 0" if positive else ">= 0"
            raise ConfigError(self.key(name), f"is {v!r}; it must be a finite number {bound}")
        return v

    def bool_(self, name: str, default: bool) -> bool:
        v = self.get(name, default)
        if not isinstance(v, bool):
            raise ConfigError(self.key(name), f"must be true or false, got {_tname(v)} {v!r}")
        return v

    def str_(self, name: str, default: Any, choices: Sequence[str] | None = None) -> Any:
        v = self.get(name, default)
        if v is None:
            return None
        if not isinstance(v, str):
            raise ConfigError(self.key(name), f"must be a string, got {_tname(v)} {v!r}")
        if choices is not None and v not in choices:
            raise ConfigError(
                self.key(name), f"is {v!r}; choose one of {', '.join(map(repr, choices))}"
            )
        return v

    def int_list(self, name: str) -> tuple[int, ...] | None:
        v = self.get(name)
        if v is None:
            return None
        if isinstance(v, str):
            from lcn.architecture import parse_int_list

            try:
                v = list(parse_int_list(v, self.key(name)))
            except LCNError as exc:
                raise ConfigError(self.key(name), exc.message) from None
        if not isinstance(v, list) or not v:
            raise ConfigError(
                self.key(name), f"must be a non-empty list of positive integers, got {v!r}"
            )
        for i, x in enumerate(v):
            if isinstance(x, bool) or not isinstance(x, int) or x < 1:
                raise ConfigError(
                    self.key(name), f"entry {i} is {x!r}; entries must be positive integers"
                )
        return tuple(v)

    def finish(self) -> None:
        unknown = [k for k in self.raw if k not in self.seen]
        if unknown:
            bad = unknown[0]
            near = difflib.get_close_matches(bad, sorted(self.seen), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            allowed = ", ".join(sorted(self.seen))
            raise ConfigError(self.key(bad), f"unknown key{hint} (allowed here: {allowed})")


def _tname(v: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "table",
    }.get(type(v), type(v).__name__)


_INITS = ("gaussian", "small", "tied")
#: Keys of ``[classify]``: keyword arguments of ``lcn.critical.classify_critical_points``.
_CLASSIFY_KEYS = ("tol", "geometry_tol", "rank_rtol", "pure_tol")
_OPTIMIZERS = ("gd", "none")


def _training_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Allowed ``init``/``optimizer`` values: what :mod:`lcn.training` declares (``INITS``,
    ``OPTIMIZERS``) when it does, else the documented defaults. Reading them does not import
    torch."""
    try:
        from lcn import training
    except ImportError:
        return _INITS, _OPTIMIZERS
    inits = tuple(getattr(training, "INITS", _INITS))
    opts = tuple(getattr(training, "OPTIMIZERS", _OPTIMIZERS))
    return inits, opts


def parse_config(
    text: str, source: str = "<config>", name: str | None = None, check_files: bool = True
) -> ExperimentConfig:
    """Parse and validate an experiment config given as TOML text.

    Every error is a :class:`ConfigError` naming the key (``"architectures[2].k"``,
    ``"training.steps"``) and raised before anything runs: unknown keys, wrong types,
    impossible architectures (``k``/``s`` lengths that differ, zero sizes, dense ``widths`` with
    fewer than two entries), a ``data.path`` that does not exist (unless ``check_files`` is
    false). ``name`` is the default of the ``name`` key (the file stem for a file).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"is not valid TOML: {exc}") from None
    top = _Table(raw, "")
    cfg_name = top.str_("name", name or "experiment")
    if not _NAME.match(cfg_name):
        raise ConfigError("name", f"is {cfg_name!r}; use letters, digits and . _ + - only")
    description = top.str_("description", "")
    store = top.str_("store", None)
    seed = top.int_("seed", 0)
    device = top.str_("device", "cpu")
    if not re.match(r"^(cpu|cuda(:\d+)?)$", device):
        raise ConfigError("device", f"is {device!r}; use 'cpu', 'cuda' or 'cuda:N'")

    data = _Table(top.get("data", {}), "data")
    kind = data.str_("kind", "gaussian", ("gaussian", "file"))
    N_default = data.get("N", "auto")
    n_out_default = data.int_("n_out", 1, minimum=1)
    noise_default = data.float_("noise", None)
    target_default = data.str_("target", "random", ("random", "planted"))
    datasets_default = data.int_("datasets", 1, minimum=1)
    path_default = data.str_("path", None)
    if kind == "file" and path_default is None:
        raise ConfigError("data.path", "is missing; data.kind = 'file' needs a .npz or .csv path")
    if kind == "gaussian" and path_default is not None:
        raise ConfigError("data.path", "is only used with data.kind = 'file'")
    _check_N(N_default, "data.N")
    data.finish()

    tr = _Table(top.get("training", {}), "training")
    inits_choices, opt_choices = _training_choices()
    inits_default = tr.int_("inits", 10)
    init = tr.str_("init", "gaussian", inits_choices)
    optimizer = tr.str_("optimizer", "gd", opt_choices)
    steps_default = tr.int_("steps", 2000, minimum=1)
    lr_default = tr.float_("lr", None, positive=True)
    polish = tr.bool_("polish", True)
    chunk = tr.int_("chunk", 256, minimum=1)
    tr.finish()

    se = _Table(top.get("search", {}), "search")
    starts_default = se.int_("starts", 10)
    se.finish()

    cl = _Table(top.get("classify", {}), "classify")
    classify = {}
    for key in _CLASSIFY_KEYS:
        value = cl.float_(key, None, positive=True)
        if value is not None:
            if value >= 1:  # relative tolerances: 1 or more would accept anything
                raise ConfigError(f"classify.{key}", f"is {value}; it must lie in (0, 1)")
            classify[key] = value
    cl.finish()

    arch_list = top.get("architectures")
    if arch_list is None:
        raise ConfigError(
            "architectures", "is missing; add [[architectures]] tables (k, s or widths)"
        )
    if not isinstance(arch_list, list) or not arch_list:
        raise ConfigError("architectures", "must be a non-empty array of tables [[architectures]]")
    top.finish()

    specs: list[ArchSpec] = []
    for i, entry in enumerate(arch_list):
        key = f"architectures[{i}]"
        t = _Table(entry, key)
        k = t.int_list("k")
        s = t.int_list("s")
        widths = t.int_list("widths")
        if widths is not None and (k is not None or s is not None):
            raise ConfigError(key, "give either k (and s) for an LCN or widths for a dense network")
        if widths is None and k is None:
            raise ConfigError(key + ".k", "is missing; give k (and s) for an LCN or widths")
        n_out = t.int_("n_out", None, minimum=1)
        if widths is not None:
            if len(widths) < 2:
                raise ConfigError(
                    key + ".widths", "needs at least two entries (input and output width)"
                )
            if n_out is not None and n_out != widths[-1]:
                raise ConfigError(
                    key + ".n_out", f"is {n_out} but a dense network's output is widths[-1]"
                )
            n_out = widths[-1]
            label = "dense " + "-".join(map(str, widths))
            degree = None
        else:
            assert k is not None
            try:
                arch = Architecture(k, s)
            except LCNError as exc:
                raise ConfigError(f"{key}.{exc.argument}", exc.message) from None
            k, s = arch.k, arch.s
            label = f"k={','.join(map(str, k))} s={','.join(map(str, s))}"
            degree = arch.degree
            if n_out is None:
                n_out = n_out_default
        arch_name = t.str_("name", label)
        N_raw = t.get("N", N_default)
        N = _check_N(N_raw, key + ".N" if t.has("N") else "data.N")
        if N == "auto":
            assert widths is not None or degree is not None
            N = degree + 1 if degree is not None else widths[0]  # type: ignore[index]
        path = t.str_("path", path_default)
        if path is not None:
            if kind != "file":
                raise ConfigError(key + ".path", "is only used with data.kind = 'file'")
            path_key = key + ".path" if t.has("path") else "data.path"
            if check_files and not Path(path).is_file():
                raise ConfigError(path_key, f"{path!r} is not a file")
        datasets = t.int_("datasets", datasets_default, minimum=1)
        if path is not None and datasets != 1:
            raise ConfigError(key + ".datasets", "must be 1 when the data come from a file")
        spec = ArchSpec(
            name=arch_name,
            kind="dense" if widths is not None else "lcn",
            k=k,
            s=s,
            widths=widths,
            N=int(N),
            n_out=int(n_out),
            datasets=datasets,
            inits=t.int_("inits", inits_default),
            starts=t.int_("starts", starts_default),
            steps=t.int_("steps", steps_default, minimum=1),
            lr=t.float_("lr", lr_default, positive=True),
            noise=t.float_("noise", noise_default),
            target=t.str_("target", target_default, ("random", "planted")),
            path=path,
            data_sha256=_file_sha256(path, path_key) if path is not None else None,
        )
        t.finish()
        if spec.noise is not None and spec.target != "planted":
            raise ConfigError(
                key + ".noise" if t.has("noise") else "data.noise",
                "is only used with target = 'planted' (Y = mu(w*) X + noise); the default "
                "target 'random' draws Y independent of X",
            )
        if spec.path is not None and t.has("target"):
            raise ConfigError(key + ".target", "is only used with Gaussian data")
        if spec.kind == "dense":
            try:
                spec.build()
            except LCNError as exc:
                raise ConfigError(f"{key}.widths", exc.message) from None
            except ImportError:
                pass  # lcn.dense not available: the run will say so
        if any(a.name == spec.name for a in specs):
            raise ConfigError(key + ".name", f"{spec.name!r} is used twice; names must differ")
        specs.append(spec)

    store_path = Path(store) if store is not None else Path("results") / f"{cfg_name}.sqlite"
    return ExperimentConfig(
        name=cfg_name,
        description=description,
        store=store_path,
        seed=seed,
        device=device,
        init=init,
        optimizer=optimizer,
        polish=polish,
        chunk=chunk,
        classify=tuple(sorted(classify.items())),
        architectures=tuple(specs),
        source=text,
    )


def _file_sha256(path: str, key: str) -> str | None:
    """Hex SHA-256 of a data file's bytes; ``None`` when it does not exist (only reached with
    ``check_files=False``, e.g. re-reading a store whose data file has moved)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with p.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path!r}: {exc}") from None


def _check_N(v: Any, key: str) -> int | str:
    if v == "auto":
        return "auto"
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(key, f"is {v!r}; give a positive integer or 'auto' (d+1 for an LCN)")
    return v


def default_config_text() -> str:
    """The TOML text of the embedded default experiment (the main job of ``make run``)."""
    return resources.files("lcn").joinpath(_DEFAULT_RESOURCE).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None) -> ExperimentConfig:
    """Read and validate a config file; ``None`` gives the embedded default experiment."""
    if path is None:
        return parse_config(default_config_text(), "default config", name="main")
    p = Path(path)
    if not p.is_file():
        raise ConfigError("CONFIG", f"{str(p)!r} is not a file; give a TOML experiment config")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("CONFIG", f"cannot read {str(p)!r}: {exc}") from None
    return parse_config(text, str(p), name=p.stem)


# ---------------------------------------------------------------------------------------------
# Plan and seeds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """One unit of work, written to the store in one transaction.

    ``task = "train"``: runs ``first .. first+count-1`` of the architecture (run ``r`` trains on
    dataset ``r // inits``), ``part`` numbers the chunk. ``task = "search"``: the search of
    dataset ``part`` from ``count`` starts (one chunk per dataset, so the deduplication of the
    critical points of one loss is complete).
    """

    arch: str
    task: str
    part: int
    first: int
    count: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.arch, self.task, self.part)

    @property
    def label(self) -> str:
        if self.task == "train":
            return f"train runs {self.first}-{self.first + self.count - 1}"
        return f"search dataset {self.part}"


def plan_chunks(config: ExperimentConfig) -> list[Chunk]:
    """All chunks of an experiment in the order they run: architecture by architecture, the
    trainings (batched across datasets, ``training.chunk`` runs per chunk), then the searches
    (one chunk per dataset)."""
    out: list[Chunk] = []
    for a in config.architectures:
        total = a.datasets * a.inits
        for part, first in enumerate(range(0, total, config.chunk)):
            out.append(Chunk(a.name, "train", part, first, min(config.chunk, total - first)))
        if a.starts > 0:
            out.extend(Chunk(a.name, "search", j, 0, a.starts) for j in range(a.datasets))
    return out


def derive_seed(seed: int, *parts: Any) -> int:
    """A 31-bit seed from the experiment seed and a path of labels (stable across runs and
    machines: CRC32 of strings, NumPy ``SeedSequence`` mixing)."""
    words = [seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF]
    for p in parts:
        words.append(zlib.crc32(p.encode()) if isinstance(p, str) else int(p) & 0xFFFFFFFF)
    state = np.random.SeedSequence(words).generate_state(1, dtype=np.uint32)[0]
    return int(state) & 0x7FFFFFFF


# ---------------------------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------------------------

#: Classification columns: the fields of ``lcn.critical.CriticalPointInfo`` kept in the store.
_CLASS_COLUMNS = (
    ("category", "TEXT NOT NULL"),
    ("zero", "INTEGER"),
    ("regular", "INTEGER"),
    ("rank", "INTEGER"),
    ("dimension", "INTEGER"),
    ("location", "TEXT"),
    ("smooth", "INTEGER"),
    ("singular_component", ""),
    ("boundary", ""),
    ("pure", "INTEGER"),
    ("spurious_in_M", "INTEGER"),
    ("stratum_dimension", "INTEGER"),
    ("projected_gradient", "REAL"),
    ("morse_index", "INTEGER"),
    ("nullity", "INTEGER"),
    ("invariants", "TEXT"),
    ("undecided", "INTEGER"),
    ("notes", "TEXT"),
)
_COMMON_COLUMNS = (
    ("arch", "TEXT NOT NULL"),
    ("arch_kind", "TEXT NOT NULL"),
    ("arch_spec", "TEXT NOT NULL"),
    ("family", "TEXT NOT NULL"),
    ("task", "TEXT NOT NULL"),
    ("dataset", "INTEGER NOT NULL"),
    ("data_seed", "INTEGER NOT NULL"),
    ("seed", "INTEGER NOT NULL"),
    ("config_hash", "TEXT NOT NULL"),
    ("loss", "REAL"),
    ("loss_rel", "REAL"),
    ("grad_norm", "REAL"),
    ("rel_grad_norm", "REAL"),
    ("converged", "INTEGER"),
    *_CLASS_COLUMNS,
    ("params", "TEXT"),
)
_RUN_COLUMNS = (
    *_COMMON_COLUMNS,
    ("run", "INTEGER NOT NULL"),
    ("init", "TEXT"),
    ("optimizer", "TEXT"),
    ("steps", "INTEGER"),
    ("invariant_drift", "REAL"),
)
_CP_COLUMNS = (
    *_COMMON_COLUMNS,
    ("point", "INTEGER NOT NULL"),
    ("starts", "INTEGER"),
    ("hits", "INTEGER"),
)
_CLASS_FIELDS = tuple(c for c, _ in _CLASS_COLUMNS)
_RUN_FIELDS = [c for c, _ in _RUN_COLUMNS]
_CP_FIELDS = [c for c, _ in _CP_COLUMNS]


def _columns_sql(cols: Sequence[tuple[str, str]]) -> str:
    return ",\n    ".join(f"{name} {decl}".rstrip() for name, decl in cols)


_POINT_VIEW_COLUMNS = (
    "arch, dataset, category, converged, undecided, spurious_in_M, regular, smooth, location, "
    "pure, loss, loss_rel"
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    arch TEXT NOT NULL, task TEXT NOT NULL, part INTEGER NOT NULL, rows INTEGER NOT NULL,
    unconverged INTEGER NOT NULL, seconds REAL NOT NULL, finished TEXT NOT NULL,
    PRIMARY KEY (arch, task, part));
CREATE TABLE IF NOT EXISTS datasets (
    arch TEXT NOT NULL, dataset INTEGER NOT NULL, data_seed INTEGER NOT NULL, task TEXT NOT NULL,
    N INTEGER NOT NULL, n_in INTEGER NOT NULL, n_out INTEGER NOT NULL, loss_zero REAL NOT NULL,
    PRIMARY KEY (arch, dataset));
CREATE TABLE IF NOT EXISTS runs (
    {_columns_sql(_RUN_COLUMNS)},
    PRIMARY KEY (arch, dataset, run));
CREATE TABLE IF NOT EXISTS critical_points (
    {_columns_sql(_CP_COLUMNS)},
    PRIMARY KEY (arch, dataset, point));
CREATE VIEW IF NOT EXISTS points AS
    SELECT 'train' AS source, {_POINT_VIEW_COLUMNS} FROM runs
    UNION ALL
    SELECT 'search' AS source, {_POINT_VIEW_COLUMNS} FROM critical_points;
"""


class Store:
    """The SQLite store of one experiment (one file; stdlib :mod:`sqlite3`).

    Tables: ``meta`` (format, config hash, config JSON and TOML, version, creation time),
    ``chunks`` (one row per finished chunk), ``datasets`` (seeds, sizes, ``loss_zero = ||Y||^2``),
    ``runs`` (one row per training), ``critical_points`` (one row per distinct critical point
    found by a search), and the view ``points`` (both, with a ``source`` column).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        #: What :meth:`config` had to forgive when reading (a config that no longer hashes the
        #: same, a stored TOML that no longer parses): one line each, for the report.
        self.warnings: list[str] = []

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create_or_resume(cls, path: str | Path, config: ExperimentConfig) -> Store:
        """Open the store for ``config``: create it, or resume it when it was made by the same
        config. A store of another config (different hash) is refused with a
        :class:`ConfigError` naming ``store``: results are never overwritten."""
        p = Path(path)
        if p.exists():
            store = cls.open(p)
            have = store.meta().get("config_hash")
            if have != config.hash:
                store.close()
                raise ConfigError(
                    "store",
                    f"{str(p)!r} holds results of another config (hash {have}, this config "
                    f"{config.hash}); give another store path (--store or 'store = ...') or "
                    "remove that file yourself",
                )
            return store
        p.parent.mkdir(parents=True, exist_ok=True)
        if cls._create(p, config):
            return cls.open(p)
        # another process created it between our check and our link: resume it (or refuse)
        return cls.create_or_resume(p, config)

    @staticmethod
    def _create(p: Path, config: ExperimentConfig) -> bool:
        """Create the store atomically: schema and ``meta`` are written to a temporary file in
        the same directory, which is then hard-linked to ``p`` (``os.link`` never replaces an
        existing file, so two processes creating the same store cannot clobber each other).
        A kill at any point leaves either no store or a complete empty one (at worst a hidden
        ``.<name>.*.creating`` file). ``False`` when ``p`` appeared meanwhile."""
        from lcn import __version__

        # a fresh name that sqlite creates itself (so the store gets the usual permissions)
        tmp = p.parent / f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}.creating"
        try:
            conn = sqlite3.connect(tmp, timeout=30.0)
            try:
                # WAL is a property of the file: set it now, so that opening the finished store
                # never has to convert it while another process writes
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                meta = {
                    "format": STORE_FORMAT,
                    "config_hash": config.hash,
                    "config_json": json.dumps(config.to_dict(), sort_keys=True),
                    "config_toml": config.source,
                    "lcn_version": __version__,
                    "created": _now(),
                }
                with conn:
                    conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            finally:
                conn.close()  # checkpoints and removes the -wal file: tmp is self-contained
            try:
                os.link(tmp, p)
            except FileExistsError:
                return False
            except OSError:
                # file systems without hard links: a rename (may replace a store created in
                # the same instant by another process; checked just before)
                if p.exists():
                    return False
                os.replace(tmp, p)
            return True
        finally:
            for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                leftover.unlink(missing_ok=True)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open an existing store (for :func:`summarize` or resuming); refuses a file that is not
        an lcn experiment store."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError("RESULTS", f"{str(p)!r} is not a file; give an experiment store")
        try:
            conn = sqlite3.connect(p, timeout=30.0)
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            raise ConfigError("RESULTS", f"{str(p)!r} is not an lcn experiment store") from None
        if rows.get("format") != STORE_FORMAT:
            conn.close()
            raise ConfigError("RESULTS", f"{str(p)!r} is not an lcn experiment store")
        store = cls(p, conn)
        store._pragmas()
        return store

    def _pragmas(self) -> None:
        # WAL: readers (lcn report while a run goes on) never block the writer; a commit is
        # atomic, so kill -9 loses at most the chunk in flight.
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def config(self, strict: bool = False) -> ExperimentConfig:
        """The config that made this store, re-parsed from its stored TOML (the digests of data
        files are those stored, not those of the files on disk now).

        The stored hash is the store's identity. When the re-parsed config no longer hashes
        the same (the config normalization changed since the store was written), or the stored
        TOML no longer parses (then the config is rebuilt from the stored JSON), reading goes
        on and a line is added to :attr:`warnings`; with ``strict`` (anything that would
        write to the store) it is a :class:`ConfigError`.
        """
        m = self.meta()
        stored_hash = m.get("config_hash")
        try:
            stored = json.loads(m["config_json"])
            name = stored["name"]
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                "RESULTS", f"{str(self.path)!r} has no readable stored config"
            ) from None
        version = m.get("lcn_version")
        problem: str | None = None
        cfg: ExperimentConfig | None = None
        try:
            cfg = parse_config(
                m.get("config_toml", ""), f"{self.path} (stored config)", name=name,
                check_files=False,
            )
            digests = {a.get("name"): a.get("data_sha256") for a in stored["architectures"]}
            cfg = dataclasses.replace(cfg, architectures=tuple(
                dataclasses.replace(a, data_sha256=digests.get(a.name))
                for a in cfg.architectures
            ))
            if cfg.hash != stored_hash:
                problem = f"its config now hashes to {cfg.hash}, not {stored_hash}"
        except (LCNError, KeyError, TypeError, AttributeError) as exc:
            problem = f"its stored TOML no longer reads ({exc}); using the stored JSON"
            cfg = None
        if problem is not None:
            msg = (
                f"{str(self.path)!r} was written by lcn {version}: {problem}. Results are "
                "read as stored; resuming this store needs a config with the stored hash"
            )
            if strict:
                raise ConfigError("RESULTS", msg)
            self.warnings.append(msg)
        if cfg is None:
            try:
                cfg = _config_from_json(stored, m.get("config_toml", ""))
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ConfigError(
                    "RESULTS", f"{str(self.path)!r}: neither its stored TOML nor its stored "
                    "JSON config can be read by this lcn version"
                ) from None
        return cfg

    def done_chunks(self) -> set[tuple[str, str, int]]:
        rows = self.conn.execute("SELECT arch, task, part FROM chunks").fetchall()
        return {(a, t, int(p)) for a, t, p in rows}

    def is_done(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` is in the store (perhaps written by another process)."""
        row = self.conn.execute(
            "SELECT 1 FROM chunks WHERE arch = ? AND task = ? AND part = ?", chunk.key
        ).fetchone()
        return row is not None

    # -- writing -------------------------------------------------------------------------------
    def write_chunk(
        self,
        chunk: Chunk,
        seconds: float,
        dataset_rows: Sequence[Mapping[str, Any]],
        rows: Sequence[Mapping[str, Any]],
        unconverged: int,
    ) -> bool:
        """Write a chunk's rows, its datasets (once) and its done mark in one transaction.

        ``False`` (and nothing written) when the chunk is already in the store: another process
        running the same experiment on this store finished it first. Its rows are the same
        (seeds depend only on the config and the chunk), so keeping the first is lossless."""
        table, fields = (
            ("runs", _RUN_FIELDS) if chunk.task == "train" else ("critical_points", _CP_FIELDS)
        )
        sql = f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"
        dcols = ("arch", "dataset", "data_seed", "task", "N", "n_in", "n_out", "loss_zero")
        with self.conn:
            # IMMEDIATE: take the write lock before the check, so that no other process can
            # commit this chunk between the check and the inserts
            self.conn.execute("BEGIN IMMEDIATE")
            if self.is_done(chunk):
                return False
            self.conn.executemany(
                "INSERT OR IGNORE INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[d[c] for c in dcols] for d in dataset_rows],
            )
            self.conn.executemany(sql, [[r.get(f) for f in fields] for r in rows])
            self.conn.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*chunk.key, len(rows), int(unconverged), float(seconds), _now()),
            )
        return True


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _config_from_json(d: Mapping[str, Any], source: str) -> ExperimentConfig:
    """Rebuild a config from the ``config_json`` of a store (for reading only: used when the
    stored TOML no longer parses). Missing settings get today's defaults."""

    def ints(v: Any) -> tuple[int, ...] | None:
        return tuple(int(x) for x in v) if v is not None else None

    specs = []
    for a in d["architectures"]:
        specs.append(ArchSpec(
            name=str(a["name"]),
            kind=str(a.get("kind", "lcn")),
            k=ints(a.get("k")),
            s=ints(a.get("s")),
            widths=ints(a.get("widths")),
            N=int(a["N"]),
            n_out=int(a.get("n_out", 1)),
            datasets=int(a.get("datasets", 1)),
            inits=int(a.get("inits", 0)),
            starts=int(a.get("starts", 0)),
            steps=int(a.get("steps", 1)),
            lr=a.get("lr"),
            noise=a.get("noise"),
            target=str(a.get("target", "random")),
            path=a.get("path"),
            data_sha256=a.get("data_sha256"),
        ))
    name = str(d["name"])
    return ExperimentConfig(
        name=name,
        description="",
        store=Path("results") / f"{name}.sqlite",
        seed=int(d.get("seed", 0)),
        device=str(d.get("device", "cpu")),
        init=str(d.get("init", "gaussian")),
        optimizer=str(d.get("optimizer", "gd")),
        polish=bool(d.get("polish", True)),
        chunk=int(d.get("chunk", 256)),
        classify=tuple(sorted((str(k), float(v)) for k, v in d.get("classify", {}).items())),
        architectures=tuple(specs),
        source=source,
    )


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _column(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, int | float | bool | np.generic):
        return [values] * n
    arr = list(_to_numpy(values).tolist()) if not isinstance(values, list | tuple) else list(values)
    if len(arr) != n:
        raise ValueError(f"expected {n} values, got {len(arr)}")
    return arr


def _sql_value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or isinstance(v, str | int | float):
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else v
        return v
    if isinstance(v, bool):
        return int(v)
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, tuple):
        v = list(v)
    try:
        return json.dumps(v, default=str)
    except (TypeError, ValueError):
        return str(v)


def _classification_rows(info: Any, n: int) -> list[dict[str, Any]]:
    """Per-point classification fields from what ``classify_critical_points`` returns: a sequence
    of per-point records (objects or mappings) or one record of per-point arrays."""
    def field_of(rec: Any, name: str) -> Any:
        if isinstance(rec, Mapping):
            return rec.get(name)
        return getattr(rec, name, None)

    if isinstance(info, Sequence) and not isinstance(info, str) and len(info) == n and (
        n == 0 or not isinstance(info[0], int | float)
    ):
        return [{f: _sql_value(field_of(r, f)) for f in _CLASS_FIELDS} for r in info]
    cols = {f: _column(field_of(info, f), n) for f in _CLASS_FIELDS}
    return [{f: _sql_value(cols[f][i]) for f in _CLASS_FIELDS} for i in range(n)]


class _Runner:
    """Executes chunks: makes the datasets of an architecture (cached while its chunks run),
    trains or searches, classifies, and turns the results into store rows."""

    def __init__(self, config: ExperimentConfig) -> None:
        from lcn import critical, training

        self.config = config
        self.training = training
        self.critical = critical
        self._arch_name: str | None = None
        self._arch: Any = None
        self._data: dict[int, tuple[Any, Any, dict[str, Any]]] = {}

    def arch(self, spec: ArchSpec) -> Any:
        if self._arch_name != spec.name:
            self._arch_name, self._arch, self._data = spec.name, spec.build(), {}
        return self._arch

    def dataset(self, spec: ArchSpec, j: int) -> tuple[Any, Any, dict[str, Any]]:
        """``(data, gram form, datasets row)`` of dataset ``j`` of ``spec``."""
        arch = self.arch(spec)
        if j not in self._data:
            data_seed = derive_seed(self.config.seed, "data", spec.name, j)
            if spec.path is not None:
                data = self.training.load_dataset(spec.path, arch, spec.n_out)
            else:
                kwargs: dict[str, Any] = {}
                if spec.target != "random":
                    kwargs["target"] = spec.target
                if spec.noise is not None:
                    kwargs["noise"] = spec.noise
                data = self.training.gaussian_dataset(
                    arch, spec.n_out, spec.N, data_seed, **kwargs
                )
            gram = self.training.gram_form(arch, data)
            X, Y = _to_numpy(data.X), _to_numpy(data.Y)
            row = {
                "arch": spec.name,
                "dataset": j,
                "data_seed": data_seed,
                "task": spec.task_label(),
                "N": int(X.shape[-1]),
                "n_in": int(X.shape[0]),
                "n_out": int(Y.shape[0]),
                "loss_zero": float(np.sum(Y * Y)),
            }
            self._data[j] = (data, gram, row)
        return self._data[j]

    def classify(self, arch: Any, gram: Any, params: Any) -> Any:
        return self.critical.classify_critical_points(
            arch, gram, params, **dict(self.config.classify)
        )

    def split(self, spec: ArchSpec, arch: Any, theta: np.ndarray) -> list[Any]:
        """Per-point parameters as nested lists, one entry per layer (filters for an LCN,
        matrices for a dense network)."""
        if theta.ndim != 2 or theta.shape[0] == 0:
            return [row.tolist() for row in theta]
        if spec.kind == "lcn":
            from lcn.parametrization import split_params

            layers = split_params(arch, theta)
        else:
            from lcn.dense import split_dense

            layers = split_dense(arch, theta)
        return [[layer[i].tolist() for layer in layers] for i in range(theta.shape[0])]

    def run(self, chunk: Chunk) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        """``(datasets rows, point rows, unconverged)`` of one chunk; ``unconverged`` counts
        training runs or search starts that did not reach a critical point."""
        spec = self.config.arch(chunk.arch)
        arch = self.arch(spec)
        seed = derive_seed(self.config.seed, chunk.task, spec.name, chunk.part)
        common = {
            "arch": spec.name,
            "arch_kind": spec.kind,
            "arch_spec": json.dumps(
                {k: v for k, v in spec.to_dict().items() if k in ("k", "s", "widths")}
            ),
            "family": spec.family,
            "task": spec.task_label(),
            "config_hash": self.config.hash,
            "seed": seed,
        }
        res: Any
        if chunk.task == "train":
            runs = list(range(chunk.first, chunk.first + chunk.count))
            point_ds = [r // spec.inits for r in runs]
            grams = [self.dataset(spec, j)[1] for j in point_ds]
            res = self.training.train(
                arch,
                grams,
                chunk.count,
                init=self.config.init,
                optimizer=self.config.optimizer,
                steps=spec.steps,
                lr=spec.lr,
                device=self.config.device,
                seed=seed,
                polish=self.config.polish,
            )
            n = chunk.count
            extra: dict[str, list[Any]] = {
                "run": runs,
                "steps": _column(res.steps, n),
                "invariant_drift": _column(res.invariant_drift, n),
                "init": [self.config.init] * n,
                "optimizer": [self.config.optimizer] * n,
            }
            unconverged = int(n - np.count_nonzero(_to_numpy(res.converged)))
        else:
            data, gram, _ = self.dataset(spec, chunk.part)
            res = self.training.critical_points(
                arch, gram, chunk.count, seed=seed, device=self.config.device
            )
            n = int(_to_numpy(res.params).shape[0])
            point_ds = [chunk.part] * n
            extra = {
                "point": list(range(n)),
                "starts": [chunk.count] * n,
                "hits": _column(res.count, n),
            }
            labels = getattr(res, "labels", None)
            unconverged = 0 if labels is None else int(np.count_nonzero(_to_numpy(labels) < 0))
        theta = _to_numpy(res.params).astype(np.float64)
        loss = [float(v) for v in _column(res.loss, n)]
        conv = [bool(v) for v in _column(res.converged, n)]
        gnorm = _column(res.grad_norm, n)
        rgnorm = _column(res.rel_grad_norm, n)
        params = self.split(spec, arch, theta)
        # classify dataset by dataset (a training chunk spans several datasets)
        cls: list[dict[str, Any]] = [{} for _ in range(n)]
        for j in sorted(set(point_ds)):
            idx = [i for i in range(n) if point_ds[i] == j]
            info = self.classify(arch, self.dataset(spec, j)[1], theta[idx])
            for i, rec in zip(idx, _classification_rows(info, len(idx)), strict=True):
                cls[i] = rec
        rows = []
        for i in range(n):
            drow = self.dataset(spec, point_ds[i])[2]
            row = dict(common)
            row.update(cls[i])
            lz = drow["loss_zero"]
            row.update(
                dataset=point_ds[i],
                data_seed=drow["data_seed"],
                loss=loss[i],
                loss_rel=loss[i] / lz if lz > 0 else None,
                grad_norm=_sql_value(gnorm[i]),
                rel_grad_norm=_sql_value(rgnorm[i]),
                converged=int(conv[i]),
                params=json.dumps(params[i]),
            )
            if not conv[i]:
                row["category"] = UNCONVERGED
            elif row.get("category") not in CATEGORIES:
                raise ValueError(f"unknown category {row.get('category')!r} from classification")
            for key, vals in extra.items():
                row[key] = _sql_value(vals[i])
            rows.append(row)
        drows = [self.dataset(spec, j)[2] for j in sorted(set(point_ds))]
        if chunk.task == "search" and not drows:
            drows = [self.dataset(spec, chunk.part)[2]]
        return drows, rows, unconverged


@dataclass
class Outcome:
    """What :func:`run_experiment` did: chunks run now, already done (before, or meanwhile by
    another process on the same store), and in total."""

    store: Path
    ran: int
    skipped: int
    total: int
    seconds: float
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return self.ran + self.skipped == self.total


def preflight(config: ExperimentConfig) -> None:
    """Checks that need the training modules, before any training: device availability and
    architectures the trainer can build. Raises :class:`ConfigError`."""
    if config.device != "cpu":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("device", f"is {config.device!r} but no CUDA device is available")
        index = torch.device(config.device).index
        if index is not None and index >= torch.cuda.device_count():
            raise ConfigError(
                "device", f"is {config.device!r} but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible"
            )
    from lcn import training

    for i, spec in enumerate(config.architectures):
        try:
            arch = spec.build()
            if spec.path is not None:
                # read and validate data files now: a bad file must stop the run before any
                # architecture trains (DataError names the problem)
                training.load_dataset(spec.path, arch, spec.n_out)
        except LCNError as exc:
            raise ConfigError(f"architectures[{i}]", f"{exc.argument}: {exc.message}") from None


def run_experiment(
    config: ExperimentConfig,
    store: str | Path | None = None,
    *,
    console: Any = None,
    progress: bool = True,
    max_chunks: int | None = None,
) -> Outcome:
    """Run (or resume) an experiment; results go to the store as each chunk finishes.

    ``store`` overrides ``config.store``. Chunks already in the store are skipped.
    ``max_chunks`` stops after that many new chunks (an interruption on purpose, for tests and
    for spreading a long experiment over several sessions). Ctrl-C stops after rolling back the
    chunk in flight; the outcome then says ``interrupted``.
    """
    path = Path(store) if store is not None else config.store
    plan = plan_chunks(config)
    preflight(config)
    st = Store.create_or_resume(path, config)
    t0 = time.perf_counter()
    ran = skipped = 0
    interrupted = False
    try:
        done = st.done_chunks()
        todo = [c for c in plan if c.key not in done]
        skipped = len(plan) - len(todo)
        if max_chunks is not None:
            todo = todo[:max_chunks]
        if not todo:
            return Outcome(path, 0, skipped, len(plan), 0.0)
        runner = _Runner(config)
        with _progress(console, progress, len(plan), skipped) as advance:
            for chunk in todo:
                # another process on the same store may have finished it meanwhile
                if st.is_done(chunk):
                    skipped += 1
                    advance(chunk, True)
                    continue
                advance(chunk, False)
                c0 = time.perf_counter()
                drows, rows, unconverged = runner.run(chunk)
                if st.write_chunk(chunk, time.perf_counter() - c0, drows, rows, unconverged):
                    ran += 1
                else:
                    skipped += 1
                advance(chunk, True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        st.close()
    return Outcome(path, ran, skipped, len(plan), time.perf_counter() - t0, interrupted)


@contextmanager
def _progress(
    console: Any, enabled: bool, total: int, completed: int
) -> Iterator[Callable[[Chunk, bool], None]]:
    if not enabled:
        yield lambda chunk, finished: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as prog:
        task = prog.add_task("chunks", total=total, completed=completed)

        def advance(chunk: Chunk, finished: bool) -> None:
            if finished:
                prog.advance(task)
            else:
                prog.update(task, description=f"{chunk.arch}: {chunk.label}")

        yield advance
        prog.update(task, description="done")


# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------


@dataclass
class Counts:
    """Points of one architecture from one source (``train``: gradient-descent limits;
    ``search``: distinct critical points found by the search).

    ``categories`` counts converged points by ``category``; ``unconverged`` counts runs (or
    search starts) that did not reach a critical point; ``undecided`` the converged points whose
    classification was not clear at its tolerances (their category is the best numerical
    reading); ``exceptions`` the converged non-zero points that fail any of the theorem's
    claims field by field (``regular``, ``smooth``, ``location == "interior"``, ``pure``), and
    ``undecided_exceptions`` those among them with an undecided classification;
    ``spurious_in_M`` the converged points that are not critical points of the loss on the
    smooth interior of ``M`` (the talk's weaker notion: every singular or boundary point is one,
    besides the strictly spurious points).
    """

    total: int = 0
    categories: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    unconverged: int = 0
    undecided: int = 0
    exceptions: int = 0
    undecided_exceptions: int = 0
    spurious_in_M: int = 0

    @property
    def converged(self) -> int:
        return self.total - self.unconverged

    @property
    def nonzero(self) -> int:
        return self.converged - self.categories["zero"]

    def fraction(self, category: str) -> float:
        return self.categories[category] / self.converged if self.converged else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "converged": self.converged,
            "unconverged": self.unconverged,
            "undecided": self.undecided,
            "spurious_in_M": self.spurious_in_M,
            "categories": dict(self.categories),
        }


@dataclass
class ArchSummary:
    """Counts of one architecture, with what MATH.md 8 says about its family."""

    spec: ArchSpec
    train: Counts
    search: Counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "family": self.spec.family,
            "theorem_applies": self.spec.theorem_applies,
            "spec": self.spec.to_dict(),
            "train": self.train.to_dict(),
            "search": self.search.to_dict(),
        }


@dataclass
class Check:
    """One comparison of the results with MATH.md 8. ``status``: ``"ok"`` (as stated),
    ``"CONTRADICTS"`` (a counterexample to the theorem), ``"not observed"`` (a phenomenon
    MATH.md calls frequent did not show up: not a contradiction, but worth a look; ``"only in
    the weak sense"`` when it shows up only under the talk's notion of spurious),
    ``"undecided"`` (nothing to judge, or only points with undecided classification)."""

    subject: str
    statement: str
    observed: str
    status: str

    def to_dict(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "statement": self.statement,
            "observed": self.observed,
            "status": self.status,
        }


@dataclass
class Summary:
    """Everything the table, the checks and the plots are made of."""

    config: ExperimentConfig
    store: Path
    chunks_done: int
    chunks_total: int
    seconds: float
    archs: list[ArchSummary]
    losses: dict[str, dict[str, list[float]]]
    #: Problems met reading the store's config (see :meth:`Store.config`), one line each.
    warnings: list[str] = field(default_factory=list)
    #: The hash the store was created with (its identity; ``config.hash`` unless warned).
    config_hash: str | None = None

    @property
    def complete(self) -> bool:
        return self.chunks_done == self.chunks_total

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.name,
            "config_hash": self.config_hash or self.config.hash,
            "warnings": list(self.warnings),
            "store": str(self.store),
            "chunks": {"done": self.chunks_done, "total": self.chunks_total},
            "seconds": self.seconds,
            "architectures": [a.to_dict() for a in self.archs],
            "checks": [c.to_dict() for c in checks(self)],
        }


def summarize(store: str | Path) -> Summary:
    """Read a store (complete or not) and count its points per architecture and category."""
    with Store.open(store) as st:
        config = st.config()
        warnings = list(st.warnings)
        stored_hash = st.meta().get("config_hash")
        plan = plan_chunks(config)
        done = st.done_chunks() & {c.key for c in plan}
        seconds = float(
            st.conn.execute("SELECT COALESCE(SUM(seconds), 0) FROM chunks").fetchone()[0]
        )
        counts: dict[tuple[str, str], Counts] = {}
        losses: dict[str, dict[str, list[float]]] = {}
        for a in config.architectures:
            for src in TASKS:
                counts[(a.name, src)] = Counts()
            losses[a.name] = {"train": [], "search": []}
        q = (
            "SELECT source, arch, category, COALESCE(undecided, 0), COALESCE(spurious_in_M, 0), "
            "COALESCE(regular = 1 AND smooth = 1 AND location = 'interior' AND pure = 1, 0), "
            "COUNT(*) FROM points GROUP BY 1, 2, 3, 4, 5, 6"
        )
        for src, arch, cat, undecided, weak, thm_ok, n in st.conn.execute(q):
            c = counts.get((arch, src))
            if c is None:
                continue
            c.total += n
            if cat == UNCONVERGED:
                c.unconverged += n
                continue
            c.categories[cat] = c.categories.get(cat, 0) + n
            if undecided:
                c.undecided += n
            if cat != "zero" and not thm_ok:
                c.exceptions += n
                if undecided:
                    c.undecided_exceptions += n
            if weak:
                c.spurious_in_M += n
        # search starts that did not converge are not points: the chunks table counts them
        for arch, n in st.conn.execute(
            "SELECT arch, SUM(unconverged) FROM chunks WHERE task = 'search' GROUP BY arch"
        ):
            c = counts.get((arch, "search"))
            if c is not None:
                c.total += int(n)
                c.unconverged += int(n)
        for src, arch, lr in st.conn.execute(
            "SELECT source, arch, loss_rel FROM points WHERE converged = 1 AND loss_rel IS NOT NULL"
        ):
            if arch in losses:
                losses[arch][src].append(float(lr))
    archs = [
        ArchSummary(a, counts[(a.name, "train")], counts[(a.name, "search")])
        for a in config.architectures
    ]
    return Summary(
        config, Path(store), len(done), len(plan), seconds, archs, losses, warnings, stored_hash
    )


def _found(what: str, strict: int, weak: int | None, of: int) -> tuple[str, str]:
    """Observed text and status of "the search finds ``what`` points"."""
    obs = f"{strict} of {of}"
    if weak is not None:
        obs += f" (weak: {weak})"
    if of == 0:
        return obs, "undecided"
    if strict > 0:
        return obs, "ok"
    if weak:
        return obs, "only in the weak sense"
    return obs, "not observed"


def checks(summary: Summary) -> list[Check]:
    """Compare the counts with MATH.md 8.

    * Reduced architecture, Gaussian data, ``N >= d+1``: every non-zero critical point (converged
      gradient-descent limits and search results) is pure smooth interior (regular, smooth,
      interior, pure). A decided exception ``CONTRADICTS`` the theorem; exceptions whose
      classification is undecided make the verdict ``undecided``. Also the total over all such
      architectures.
    * Stride one, not filling: a positive fraction of gradient-descent limits on the boundary.
    * Stride one (filling or not) and dense: the search finds spurious points (strictly: not
      critical on their stratum; in the weak sense of the talk: not critical on the smooth
      interior of ``M``); dense: the search finds singular (rank-deficient) points.
      MATH.md says "often", so absence is ``not observed``, not a contradiction.
    """
    out: list[Check] = []
    total_nz = total_exc = total_und = n_thm = 0
    for a in summary.archs:
        spec = a.spec
        name = spec.name
        if spec.theorem_applies:
            nz = a.train.nonzero + a.search.nonzero
            und = a.train.undecided_exceptions + a.search.undecided_exceptions
            exc = a.train.exceptions + a.search.exceptions - und
            total_nz, total_exc, total_und = total_nz + nz, total_exc + exc, total_und + und
            n_thm += 1
            obs = f"{exc} exceptions in {nz}"
            if und:
                obs += f", {und} undecided"
            status = (
                "CONTRADICTS" if exc else "undecided" if und or nz == 0 else "ok"
            )
            out.append(Check(name, "every non-zero point is pure smooth interior", obs, status))
            continue
        if spec.lcn is not None and spec.lcn.is_reduced:
            why = "N < d+1" if spec.N < spec.lcn.degree + 1 else "data from a file"
            out.append(Check(name, "theorem of MATH.md 8", f"not checked: {why}", "undecided"))
            continue
        if spec.family == "stride one, not filling":
            b, conv = a.train.categories["boundary"], a.train.converged
            status = "undecided" if conv == 0 else "ok" if b > 0 else "not observed"
            out.append(Check(name, "some GD limits on the boundary",
                             f"{b} of {conv} ({_pct(b, conv)})", status))
        if spec.family.startswith("stride one") or spec.family == "dense":
            if spec.family == "dense":
                obs, status = _found("singular", a.search.categories["singular"], None,
                                     a.search.converged)
                out.append(Check(name, "search finds singular points", obs, status))
            obs, status = _found("spurious", a.search.categories["spurious"],
                                 a.search.spurious_in_M, a.search.converged)
            out.append(Check(name, "search finds spurious points", obs, status))
    if n_thm > 1:
        obs = f"{total_exc} exceptions in {total_nz}"
        if total_und:
            obs += f", {total_und} undecided"
        status = "CONTRADICTS" if total_exc else "undecided" if total_und or not total_nz else "ok"
        out.append(Check(f"all {n_thm} theorem architectures",
                         "every non-zero point is pure smooth interior", obs, status))
    return out


def _pct(a: int, b: int) -> str:
    if not b:
        return "-"
    p = 100.0 * a / b
    return f"{p:.0f}%" if p >= 99.95 or p == 0 else f"{p:.1f}%"


# Two-line headers keep the table inside 80 columns.
_SHORT_HEADS = ("zero", "pure\nsmooth\nint.", "sing-\nular", "bound-\nary", "spur-\nious")


def summary_table(summary: Summary) -> Any:
    """A rich table: per architecture, one row for gradient-descent limits and one for the
    search, with counts and fractions (of converged points) per category."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    chash = summary.config_hash or summary.config.hash
    title = f"experiment {escape(summary.config.name)} (config {chash})"
    if not summary.complete:
        title += f"\nINCOMPLETE: {summary.chunks_done} of {summary.chunks_total} chunks done"
    caption = (
        "count and % of converged points. GD: gradient-descent limits; search: distinct "
        "critical points; not conv.: GD runs or search starts that did not converge"
    )
    undecided = [
        f"{a.spec.name} {src} {c.undecided}"
        for a in summary.archs
        for src, c in (("GD", a.train), ("search", a.search))
        if c.undecided
    ]
    if undecided:
        caption += (
            ". Undecided classifications (category = best numerical reading): "
            + ", ".join(undecided)
        )
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        caption=escape(caption),
    )
    table.add_column("architecture", overflow="fold", min_width=16)
    table.add_column("points", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for head in _SHORT_HEADS:
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("not\nconv.", justify="right", no_wrap=True)
    for a in summary.archs:
        for src, c in (("GD", a.train), ("search", a.search)):
            head = (
                f"{escape(a.spec.name)}\n[dim]{escape(a.spec.family)}[/]" if src == "GD" else ""
            )
            cells = [
                f"{c.categories[cat]}\n{_pct(c.categories[cat], c.converged)}"
                for cat in CATEGORIES
            ]
            table.add_row(
                head, src, str(c.converged), *cells, str(c.unconverged),
                end_section=src == "search",
            )
    return table


_STATUS_STYLE = {
    "ok": "green",
    "CONTRADICTS": "bold red",
    "not observed": "yellow",
    "only in the weak sense": "yellow",
}


def checks_table(summary: Summary) -> Any:
    """The comparisons of :func:`checks` as a rich table."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="compared with MATH.md 8",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="pure smooth interior: regular, smooth, interior, pure (the theorem for reduced "
        "architectures, N >= d+1). spurious: mu(w) not critical for the loss on its stratum of "
        "M; weak: not critical on the smooth interior of M (so every singular or boundary "
        "point)",
    )
    table.add_column("architecture", overflow="fold", min_width=16)
    for col in ("statement", "observed", "status"):
        table.add_column(col)
    for c in checks(summary):
        style = _STATUS_STYLE.get(c.status)
        status = f"[{style}]{escape(c.status)}[/]" if style else escape(c.status)
        table.add_row(escape(c.subject), escape(c.statement), escape(c.observed), status)
    return table


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------

_COLORS = {
    "zero": "#9e9e9e",
    "pure_smooth_interior": "#2e7d32",
    "singular": "#6a1b9a",
    "boundary": "#ef6c00",
    "spurious": "#c62828",
    "unconverged": "#e0e0e0",
}


_LOSS_FLOOR = 1e-12


def plot_paths(store: str | Path, outdir: str | Path | None = None) -> tuple[Path, Path]:
    """Where :func:`write_plots` puts the two PNGs of a store: ``<stem>-types.png`` and
    ``<stem>-loss.png`` beside the store, or in ``outdir``."""
    p = Path(store)
    d = Path(outdir) if outdir is not None else p.parent
    return d / f"{p.stem}-types.png", d / f"{p.stem}-loss.png"


def write_plots(summary: Summary, outdir: str | Path | None = None) -> list[Path]:
    """Write the plots (matplotlib, Agg, no display needed):

    * stacked bars of the point categories per architecture, one bar for gradient-descent
      limits and one for the distinct critical points found by the search, as fractions of
      the converged points (as in the table);
    * histograms of the final relative loss ``L(w) / ||Y||^2`` of converged points (log scale),
      one panel per architecture, GD limits and search results overlaid.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    types_path, loss_path = plot_paths(summary.store, outdir)
    types_path.parent.mkdir(parents=True, exist_ok=True)
    archs = summary.archs
    cats = list(CATEGORIES)

    fig = Figure(figsize=(max(6.0, 1.6 * len(archs) + 2.5), 4.8), layout="constrained")
    ax = fig.add_subplot()
    width = 0.38
    xs = np.arange(len(archs), dtype=float)
    for offset, src in ((-width / 2 - 0.01, "train"), (width / 2 + 0.01, "search")):
        bottom = np.zeros(len(archs))
        for cat in cats:
            vals = []
            for a in archs:
                c = a.train if src == "train" else a.search
                vals.append(c.fraction(cat))
            ax.bar(xs + offset, vals, width, bottom=bottom, color=_COLORS[cat],
                   edgecolor="white", linewidth=0.5,
                   label=CATEGORY_LABELS[cat] if src == "train" else None)
            bottom += np.asarray(vals)
    ax.set_xticks(xs, [f"{a.spec.name}\n{a.spec.family}" for a in archs], fontsize=7)
    ax.set_ylabel("fraction of converged points\n(left: GD limits, right: search)")
    ax.set_ylim(0, 1)
    ax.set_title(f"critical points by type: experiment {summary.config.name}")
    fig.legend(loc="outside right center", fontsize=8)
    fig.savefig(types_path, dpi=120)

    ncols = min(3, max(1, len(archs)))
    nrows = max(1, math.ceil(len(archs) / ncols))
    fig = Figure(figsize=(4.0 * ncols, 3.0 * nrows), layout="constrained")
    for i, a in enumerate(archs):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        # exact fits (loss ~ 1e-16 relative) are rounding noise: show them at the floor
        data = {src: [max(v, _LOSS_FLOOR) for v in vals]
                for src, vals in summary.losses.get(a.spec.name, {}).items()}
        allv = [v for src in TASKS for v in data.get(src, [])]
        if allv:
            lo, hi = min(allv), max(allv)
            if hi <= lo * 1.0001:
                lo, hi = lo / 1.5, hi * 1.5
            bins = [float(b) for b in np.geomspace(lo, hi, 30)]
            for src, label, color in (("train", "GD limits", "#1565c0"),
                                      ("search", "search", "#c62828")):
                vals = data.get(src, [])
                if vals:
                    ax.hist(vals, bins=bins, histtype="step" if src == "search" else "bar",
                            color=color, alpha=0.7 if src == "train" else 1.0, label=label)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no converged points", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_title(a.spec.name, fontsize=9)
        ax.set_xlabel(f"final loss / ||Y||^2 (values < {_LOSS_FLOOR:g} at {_LOSS_FLOOR:g})",
                      fontsize=7)
        ax.set_ylabel("count", fontsize=8)
    fig.suptitle(f"final losses: experiment {summary.config.name}")
    fig.savefig(loss_path, dpi=110)
    return [types_path, loss_path]


def iter_points(store: str | Path, source: str = "train") -> Iterable[dict[str, Any]]:
    """All rows of ``runs`` (``source="train"``) or ``critical_points`` (``"search"``) as
    dicts."""
    table = {"train": "runs", "search": "critical_points"}[source]
    with Store.open(store) as st:
        cur = st.conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def print_report(
    store: str | Path, console: Any, plots: str | Path | None = None, write: bool = True
) -> Summary:
    """Print the summary table and the MATH.md 8 comparison of a store, write the plots
    (unless ``write`` is false) and say where they are. Used by ``lcn experiment`` at the end
    and by ``lcn report``."""
    from rich.markup import escape

    summary = summarize(store)
    for w in summary.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    console.print(summary_table(summary))
    console.print(checks_table(summary))
    if write:
        paths = write_plots(summary, plots)
        console.print("plots: " + ", ".join(str(p) for p in paths), highlight=False)
    console.print(
        f"store: {summary.store} ({summary.chunks_done}/{summary.chunks_total} chunks, "
        f"{summary.seconds:.1f} s of chunk compute)",
        highlight=False,
    )
    return summary
