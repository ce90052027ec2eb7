"""Experiment configs: the TOML format of ``docs/experiments.md``, parsed section by section
into frozen :class:`ExperimentConfig` / :class:`ArchSpec` objects whose hash identifies a
store's results.

Every error is a :class:`ConfigError` naming the config key (``seed``,
``architectures[2].k``, ``training.steps``), raised before anything runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lcn._validate import check_int, check_real, check_seed
from lcn.architecture import Architecture, parse_int_list
from lcn.dense import DenseArchitecture
from lcn.errors import ConfigError, LCNError
from lcn.experiment.sweep import expand_sweep

__all__ = [
    "ArchSpec",
    "DEFAULT_MAX_PATHS",
    "METHODS",
    "ExperimentConfig",
    "INITS",
    "MAX_LR",
    "OPTIMIZERS",
    "default_config_text",
    "load_config",
    "parse_config",
]

#: Values of ``training.init`` and ``training.optimizer`` (those of ``lcn.training.train``).
INITS = ("gaussian", "small", "tied")
OPTIMIZERS = ("gd", "none")
#: Values of ``search.method``: ``"auto"`` (the homotopy where it applies, else Newton),
#: ``"homotopy"`` (the complete certified solver :func:`lcn.homotopy.critical_sets`) and
#: ``"newton"`` (the local search :func:`lcn.training.critical_points`).
METHODS = ("auto", "homotopy", "newton")
#: Default of ``search.max_paths``: the homotopy tracks ``ed_degree`` paths per dataset; an
#: architecture with more is searched by Newton under ``method = "auto"``. Deliberately below
#: the solver's own limit (``lcn.homotopy.DEFAULT_MAX_PATHS``, 10000: one dataset in well under
#: a minute): an experiment solves many datasets per architecture.
DEFAULT_MAX_PATHS = 1000
#: Default of ``search.chunk``: datasets per homotopy chunk (one batched solve, one commit).
DEFAULT_SEARCH_CHUNK = 10
#: Keys of ``[classify]``: keyword arguments of ``lcn.critical.classify_critical_points``.
CLASSIFY_KEYS = ("tol", "geometry_tol", "rank_rtol", "pure_tol")
#: Largest gradient-descent step accepted (``training.lr``): the trainer's steps are of the
#: order ``1 / ||G||``, and beyond this every run overflows.
MAX_LR = 1e3
#: Largest integer setting (counts, sizes): anything beyond is refused by the size estimate
#: anyway; this bound only keeps the numbers printable.
_MAX_COUNT = 10**15

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
_DEFAULT_RESOURCE = "default_experiment.toml"


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
    #: How the critical points are searched, resolved from ``search.method``: ``"homotopy"``
    #: (every complex critical point, certified; LCNs with generic data only) or ``"newton"``.
    method: str = "newton"

    def build(self) -> Architecture | DenseArchitecture:
        """The architecture object: :class:`lcn.Architecture` or ``lcn.dense.DenseArchitecture``."""
        if self.kind == "lcn":
            return Architecture(self.k, self.s)
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
    def gram_rank_deficient(self) -> bool:
        """Gaussian data too small for a full-rank Gram matrix: ``G`` (``(d+1) x (d+1)``)
        has rank at most ``n_out N < d + 1`` (MATH.md 8), so ``l`` has a positive-dimensional
        set of minimizers and the hypothesis ``N >= d + 1`` fails."""
        arch = self.lcn
        return arch is not None and self.path is None and self.n_out * self.N < arch.degree + 1

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
            N=self.N, n_out=self.n_out, datasets=self.datasets, inits=self.inits,
            starts=self.starts, steps=self.steps, lr=self.lr, noise=self.noise,
            target=self.target, path=self.path,
        )
        if self.path is not None:
            # only for file data: Gaussian configs keep the hashes they had before this key
            out["data_sha256"] = self.data_sha256
        if self.method != "newton":
            # only when not the former (only) method: Newton configs keep their old hashes
            out["method"] = self.method
        return out

    to_json = to_dict

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
    #: ``search.max_paths``: the most homotopy paths per dataset (``ed_degree``) accepted.
    max_paths: int = DEFAULT_MAX_PATHS
    #: ``search.chunk``: datasets per homotopy chunk.
    search_chunk: int = DEFAULT_SEARCH_CHUNK

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
            # only with a homotopy architecture (its chunks): Newton configs keep their hashes
            **({"search_chunk": self.search_chunk}
               if any(a.method == "homotopy" for a in self.architectures) else {}),
        }

    to_json = to_dict

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


def _tname(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(v), type(v).__name__)


class _Table:
    """Reads one TOML table, checking types, and complains about unknown keys by full name."""

    def __init__(self, raw: Any, prefix: str) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(prefix or "config", f"must be a table, got {_tname(raw)}")
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
            raise ConfigError(self.key(name), f"must be an integer, got {_tname(v)} {v!r:.40}")
        return check_int(v, self.key(name), min=minimum, max=_MAX_COUNT, error=ConfigError)

    def float_(self, name: str, default: Any, positive: bool = False,
               maximum: float | None = None) -> Any:
        v = self.get(name, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(self.key(name), f"must be a number, got {_tname(v)} {v!r:.40}")
        return check_real(v, self.key(name), min=0.0, max=maximum, min_open=positive,
                          error=ConfigError)

    def bool_(self, name: str, default: bool) -> bool:
        v = self.get(name, default)
        if not isinstance(v, bool):
            raise ConfigError(self.key(name), f"must be true or false, got {_tname(v)} {v!r:.40}")
        return v

    def str_(self, name: str, default: Any, choices: Sequence[str] | None = None) -> Any:
        v = self.get(name, default)
        if v is None:
            return None
        if not isinstance(v, str):
            raise ConfigError(self.key(name), f"must be a string, got {_tname(v)} {v!r:.40}")
        if choices is not None and v not in choices:
            raise ConfigError(
                self.key(name), f"is {v!r:.40}; choose one of {', '.join(map(repr, choices))}"
            )
        return v

    def int_list(self, name: str) -> tuple[int, ...] | None:
        v = self.get(name)
        if v is None:
            return None
        if isinstance(v, str):
            try:
                v = list(parse_int_list(v, self.key(name)))
            except LCNError as exc:
                raise ConfigError(self.key(name), exc.message) from None
        if not isinstance(v, list) or not v:
            raise ConfigError(
                self.key(name), f"must be a non-empty list of positive integers, got {v!r:.40}"
            )
        for i, x in enumerate(v):
            if isinstance(x, bool) or not isinstance(x, int) or x < 1:
                raise ConfigError(
                    self.key(name), f"entry {i} is {x!r:.40}; entries must be positive integers"
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


@dataclass(frozen=True)
class _Defaults:
    """Per-architecture settings from ``[data]``, ``[training]`` and ``[search]`` (each
    ``[[architectures]]`` table may override them)."""

    kind: str
    N: int | str
    n_out: int
    noise: float | None
    target: str
    datasets: int
    path: str | None
    inits: int
    steps: int
    lr: float | None
    starts: int
    method: str = "auto"


def _check_N(v: Any, key: str) -> int | str:
    if v == "auto":
        return "auto"
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(key, f"is {v!r:.40}; give a positive integer or 'auto' (d+1 for an LCN)")
    return check_int(v, key, min=1, max=_MAX_COUNT, error=ConfigError)


def _parse_data(data: _Table) -> dict[str, Any]:
    kind = data.str_("kind", "gaussian", ("gaussian", "file"))
    out = dict(
        kind=kind,
        N=_check_N(data.get("N", "auto"), "data.N"),
        n_out=data.int_("n_out", 1, minimum=1),
        noise=data.float_("noise", None),
        target=data.str_("target", "random", ("random", "planted")),
        datasets=data.int_("datasets", 1, minimum=1),
        path=data.str_("path", None),
    )
    if kind == "file" and out["path"] is None:
        raise ConfigError("data.path", "is missing; data.kind = 'file' needs a .npz or .csv path")
    if kind == "gaussian" and out["path"] is not None:
        raise ConfigError("data.path", "is only used with data.kind = 'file'")
    data.finish()
    return out


def _parse_training(tr: _Table) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(per-architecture defaults, global settings)`` of ``[training]``."""
    defaults = dict(
        inits=tr.int_("inits", 10),
        steps=tr.int_("steps", 2000, minimum=1),
        lr=tr.float_("lr", None, positive=True, maximum=MAX_LR),
    )
    settings = dict(
        init=tr.str_("init", "gaussian", INITS),
        optimizer=tr.str_("optimizer", "gd", OPTIMIZERS),
        polish=tr.bool_("polish", True),
        chunk=tr.int_("chunk", 256, minimum=1),
    )
    tr.finish()
    return defaults, settings


def _parse_classify(cl: _Table) -> tuple[tuple[str, float], ...]:
    out = {}
    for key in CLASSIFY_KEYS:
        value = cl.float_(key, None, positive=True)
        if value is not None:
            if value >= 1:  # relative tolerances: 1 or more would accept anything
                raise ConfigError(f"classify.{key}", f"is {value}; it must lie in (0, 1)")
            out[key] = value
    cl.finish()
    return tuple(sorted(out.items()))


def _parse_shape(t: _Table, key: str, n_out_default: int) -> dict[str, Any]:
    """``kind, k, s, widths, n_out, label, degree`` of one ``[[architectures]]`` table."""
    k, s, widths = t.int_list("k"), t.int_list("s"), t.int_list("widths")
    if widths is not None and (k is not None or s is not None):
        raise ConfigError(key, "give either k (and s) for an LCN or widths for a dense network")
    if widths is None and k is None:
        raise ConfigError(key + ".k", "is missing; give k (and s) for an LCN or widths")
    n_out = t.int_("n_out", None, minimum=1)
    if widths is not None:
        if len(widths) < 2:
            raise ConfigError(key + ".widths",
                              "needs at least two entries (input and output width)")
        if n_out is not None and n_out != widths[-1]:
            raise ConfigError(key + ".n_out", f"is {n_out} but a dense network's output is "
                              "widths[-1]")
        try:
            DenseArchitecture(widths)
        except LCNError as exc:
            raise ConfigError(f"{key}.widths", exc.message) from None
        return dict(kind="dense", k=None, s=None, widths=widths, n_out=widths[-1],
                    label="dense " + "-".join(map(str, widths)), auto_N=widths[0])
    try:
        arch = Architecture(k, s)
    except LCNError as exc:
        raise ConfigError(f"{key}.{exc.argument}", exc.message) from None
    label = f"k={','.join(map(str, arch.k))} s={','.join(map(str, arch.s))}"
    return dict(kind="lcn", k=arch.k, s=arch.s, widths=None,
                n_out=n_out_default if n_out is None else n_out, label=label,
                auto_N=arch.degree + 1)


def _parse_arch(entry: Any, i: int, d: _Defaults, check_files: bool,
                max_paths: int = DEFAULT_MAX_PATHS) -> ArchSpec:
    key = f"architectures[{i}]"
    t = _Table(entry, key)
    shape = _parse_shape(t, key, d.n_out)
    name = t.str_("name", shape["label"])
    N = _check_N(t.get("N", d.N), key + ".N" if t.has("N") else "data.N")
    path = t.str_("path", d.path)
    path_key = key + ".path" if t.has("path") else "data.path"
    if path is not None:
        if d.kind != "file":
            raise ConfigError(key + ".path", "is only used with data.kind = 'file'")
        if check_files and not Path(path).is_file():
            raise ConfigError(path_key, f"{path!r} is not a file")
    datasets = t.int_("datasets", d.datasets, minimum=1)
    if path is not None and datasets != 1:
        raise ConfigError(key + ".datasets", "must be 1 when the data come from a file")
    method = t.str_("method", d.method, METHODS)
    method_key = key + ".method" if t.has("method") else "search.method"
    spec = ArchSpec(
        name=name, kind=shape["kind"], k=shape["k"], s=shape["s"], widths=shape["widths"],
        N=shape["auto_N"] if N == "auto" else int(N), n_out=int(shape["n_out"]),
        datasets=datasets, inits=t.int_("inits", d.inits), starts=t.int_("starts", d.starts),
        steps=t.int_("steps", d.steps, minimum=1),
        lr=t.float_("lr", d.lr, positive=True, maximum=MAX_LR),
        noise=t.float_("noise", d.noise),
        target=t.str_("target", d.target, ("random", "planted")), path=path,
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
    return dataclasses.replace(spec, method=_resolve_method(spec, method, method_key,
                                                            max_paths))


def _resolve_method(spec: ArchSpec, method: str, key: str, max_paths: int) -> str:
    """``"homotopy"`` or ``"newton"`` for ``spec``. ``"auto"``: the homotopy for an LCN with
    generic data (random or noisy planted target, full-rank Gram matrix, MATH.md 8) whose
    ``ed_degree`` (the paths per dataset, MATH.md 9) is at most ``max_paths``, else Newton.
    An explicit ``"homotopy"`` where it cannot work is a :class:`ConfigError` naming ``key``.
    """
    if method == "newton":
        return "newton"
    arch = spec.lcn
    why: str | None = None
    if arch is None:
        why = ("a dense network's fibres are not finite, so its critical points are not "
               "isolated; use 'newton'")
    elif spec.gram_rank_deficient:
        why = (f"N = {spec.N} samples (n_out = {spec.n_out}) give a Gram matrix of rank < "
               f"d + 1 = {arch.degree + 1}: the critical points are not isolated; use 'newton' "
               "(the exact singular critical points are computed beside it)")
    else:
        try:
            ed = arch.ed_degree
        except LCNError as exc:
            ed, why = None, f"ed_degree cannot be computed ({exc.message}); use 'newton'"
        if ed is not None and ed > max_paths:
            why = (f"ed_degree = {ed} paths per dataset exceed search.max_paths = {max_paths}; "
                   "raise search.max_paths or use 'newton'")
    if why is not None:
        if method == "homotopy":
            raise ConfigError(key, f"is 'homotopy' but {why}")
        return "newton"
    if method == "auto" and spec.path is None and spec.target == "planted" and not spec.noise:
        return "newton"  # an exact planted target is special data, off the generic count
    return "homotopy"


def _parse_architectures(arch_list: Any, d: _Defaults, check_files: bool,
                         max_paths: int = DEFAULT_MAX_PATHS) -> tuple[ArchSpec, ...]:
    if arch_list is None:
        raise ConfigError(
            "architectures", "is missing; add [[architectures]] tables (k, s or widths) or a "
            "[sweep]"
        )
    if not isinstance(arch_list, list) or not arch_list:
        raise ConfigError("architectures", "must be a non-empty array of tables [[architectures]]")
    specs: list[ArchSpec] = []
    for i, entry in enumerate(arch_list):
        spec = _parse_arch(entry, i, d, check_files, max_paths)
        if any(a.name == spec.name for a in specs):
            raise ConfigError(f"architectures[{i}].name",
                              f"{spec.name!r} is used twice; names must differ")
        specs.append(spec)
    return tuple(specs)


def parse_config(
    text: str, source: str = "<config>", name: str | None = None, check_files: bool = True
) -> ExperimentConfig:
    """Parse and validate an experiment config given as TOML text.

    Every error is a :class:`ConfigError` naming the key (``"architectures[2].k"``,
    ``"training.steps"``) and raised before anything runs: unknown keys, wrong types,
    impossible architectures (``k``/``s`` lengths that differ, zero sizes, dense ``widths`` with
    fewer than two entries), seeds outside ``[0, 2^64)``, a ``data.path`` that does not exist
    (unless ``check_files`` is false). ``name`` is the default of the ``name`` key (the file
    stem for a file). Sizes are judged separately, by :func:`lcn.experiment.check_budget`.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"is not valid TOML: {exc}") from None
    top = _Table(raw, "")
    cfg_name = top.str_("name", name or "experiment")
    if not _NAME.match(cfg_name):
        raise ConfigError("name", f"is {cfg_name!r:.60}; use letters, digits and . _ + - only")
    description = top.str_("description", "")
    store = top.str_("store", None)
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError("seed", f"must be an integer, got {_tname(seed)} {seed!r:.40}")
    seed = check_seed(seed, "seed", error=ConfigError)
    device = top.str_("device", "cpu")
    if not _DEVICE.match(device):
        raise ConfigError("device", f"is {device!r:.40}; use 'cpu', 'cuda' or 'cuda:N'")
    data = _parse_data(_Table(top.get("data", {}), "data"))
    tr_defaults, settings = _parse_training(_Table(top.get("training", {}), "training"))
    se = _Table(top.get("search", {}), "search")
    starts = se.int_("starts", 10)
    method = se.str_("method", "auto", METHODS)
    max_paths = se.int_("max_paths", DEFAULT_MAX_PATHS, minimum=1)
    search_chunk = se.int_("chunk", DEFAULT_SEARCH_CHUNK, minimum=1)
    se.finish()
    classify = _parse_classify(_Table(top.get("classify", {}), "classify"))
    arch_list = top.get("architectures")
    if top.has("sweep"):
        arch_list = [*(arch_list if isinstance(arch_list, list) else []),
                     *expand_sweep(top.get("sweep"))]
    top.finish()
    defaults = _Defaults(**data, **tr_defaults, starts=starts, method=method)
    specs = _parse_architectures(arch_list, defaults, check_files, max_paths)
    store_path = Path(store) if store is not None else Path("results") / f"{cfg_name}.sqlite"
    return ExperimentConfig(
        name=cfg_name, description=description, store=store_path, seed=seed, device=device,
        classify=classify, architectures=specs, source=text, max_paths=max_paths,
        search_chunk=search_chunk, **settings,
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
        raise ConfigError(key, f"cannot read {path!r}: {exc.strerror or exc}") from None


def default_config_text() -> str:
    """The TOML text of the embedded default experiment (the main job of ``make run``)."""
    return resources.files("lcn").joinpath(_DEFAULT_RESOURCE).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, argument: str = "CONFIG") -> ExperimentConfig:
    """Read and validate a config file; ``None`` gives the embedded default experiment."""
    if path is None:
        return parse_config(default_config_text(), "default config", name="main")
    p = Path(path)
    if p.is_dir():
        raise ConfigError(argument, f"{str(p)!r} is a directory; give a TOML experiment config")
    if not p.is_file():
        raise ConfigError(argument, f"{str(p)!r} is not a file; give a TOML experiment config")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(argument, f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(argument, f"{str(p)!r} is not UTF-8 text; give a TOML config") from None
    return parse_config(text, str(p), name=p.stem)


def replace_digests(config: ExperimentConfig, digests: dict[str, str | None]) -> ExperimentConfig:
    """``config`` with the data-file digests given per architecture name (a store keeps the
    digests its results were computed with, whatever the files on disk are now)."""
    return dataclasses.replace(config, architectures=tuple(
        dataclasses.replace(a, data_sha256=digests.get(a.name)) for a in config.architectures
    ))
