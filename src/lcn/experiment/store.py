"""The SQLite store of one experiment (one file; stdlib :mod:`sqlite3`).

Guarantees: a store is created atomically (complete or absent); a chunk's rows and its done
mark are one transaction (``kill -9`` loses at most the chunk in flight); a store only accepts
chunks of the config hash it was created with; a file that is not an ``lcn`` store is never
written, and :meth:`Store.open` with ``readonly=True`` (``lcn report``) never writes at all
(SQLite ``mode=ro``; on a read-only file system ``immutable=1``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import secrets
import sqlite3
import typing
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lcn.critical import CriticalPointInfo
from lcn.errors import ConfigError, LCNError
from lcn.experiment.config import (
    DEFAULT_SEARCH_CHUNK,
    ArchSpec,
    ExperimentConfig,
    parse_config,
    replace_digests,
)
from lcn.experiment.plan import Chunk

__all__ = ["CENSUS_COLUMNS", "SOURCES", "STORE_FORMAT", "TASKS",
           "UNCONVERGED", "Store", "StoreError"]

STORE_FORMAT = "lcn-experiment-store 1"
#: Rows that did not reach a critical point within the tolerance carry this category.
UNCONVERGED = "unconverged"
TASKS = ("train", "search")
#: Values of the ``source`` column of the ``points`` view: gradient-descent limits, Newton
#: search, homotopy (all real critical points), exact singular points.
SOURCES = ("train", "search", "homotopy", "singular")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLES = {"meta", "chunks", "datasets", "runs", "critical_points", "points"}

StoreError = ConfigError
"""Errors about a store (not a store, unreadable, unwritable, full) name the store's argument
(``--store``, ``store`` in a config, ``STORE`` of ``lcn report``)."""

#: Fields of ``CriticalPointInfo`` that the store does not keep as classification columns:
#: ``index`` (the row's own key is kept instead), ``loss`` and ``rel_grad_norm`` (the
#: trainer's values are the common columns of that name), ``source`` (the ``points`` view
#: uses that name for train/search).
_NOT_STORED = {"index", "loss", "rel_grad_norm", "source"}
_SQL_TYPES = {bool: "INTEGER", int: "INTEGER", float: "REAL", str: "TEXT"}


def _sql_type(tp: Any) -> str:
    base = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    return _SQL_TYPES.get(base[0], "") if len(base) == 1 else ""


def _class_columns() -> tuple[tuple[str, str], ...]:
    """The classification columns: the fields of :class:`lcn.critical.CriticalPointInfo`
    (derived, so a field added there is stored in new stores)."""
    hints = typing.get_type_hints(CriticalPointInfo)
    cols = []
    for f in dataclasses.fields(CriticalPointInfo):
        if f.name not in _NOT_STORED:
            decl = "TEXT NOT NULL" if f.name == "category" else _sql_type(hints[f.name])
            cols.append((f.name, decl))
    return tuple(cols)


_CLASS_COLUMNS = _class_columns()
CLASS_FIELDS = tuple(c for c, _ in _CLASS_COLUMNS)
_COMMON_COLUMNS = (
    ("arch", "TEXT NOT NULL"), ("arch_kind", "TEXT NOT NULL"), ("arch_spec", "TEXT NOT NULL"),
    ("family", "TEXT NOT NULL"), ("task", "TEXT NOT NULL"), ("dataset", "INTEGER NOT NULL"),
    ("data_seed", "INTEGER NOT NULL"), ("seed", "INTEGER NOT NULL"),
    ("config_hash", "TEXT NOT NULL"), ("loss", "REAL"), ("loss_rel", "REAL"),
    ("grad_norm", "REAL"), ("rel_grad_norm", "REAL"), ("converged", "INTEGER"),
    *_CLASS_COLUMNS, ("params", "TEXT"),
)
_RUN_COLUMNS = (
    *_COMMON_COLUMNS, ("run", "INTEGER NOT NULL"), ("init", "TEXT"), ("optimizer", "TEXT"),
    ("steps", "INTEGER"), ("invariant_drift", "REAL"),
)
_CP_COLUMNS = (
    *_COMMON_COLUMNS, ("point", "INTEGER NOT NULL"), ("starts", "INTEGER"), ("hits", "INTEGER"),
    ("method", "TEXT"),
)
#: Columns of ``censuses``: one row per dataset solved by the homotopy (the fields of
#: ``lcn.homotopy.CriticalSet`` that are counts, verdicts and texts).
CENSUS_COLUMNS = (
    ("arch", "TEXT NOT NULL"), ("dataset", "INTEGER NOT NULL"), ("ed_degree", "INTEGER"),
    ("complex_count", "INTEGER NOT NULL"), ("real_count", "INTEGER NOT NULL"),
    ("zero_count", "INTEGER"), ("certified_complete", "INTEGER NOT NULL"),
    ("missing", "INTEGER"), ("reason", "TEXT"), ("certificate", "TEXT"), ("paths", "INTEGER"),
    ("seconds", "REAL"),
)
_DATASET_COLUMNS = ("arch", "dataset", "data_seed", "task", "N", "n_in", "n_out", "loss_zero")


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
CREATE TABLE IF NOT EXISTS censuses (
    {_columns_sql(CENSUS_COLUMNS)},
    PRIMARY KEY (arch, dataset));
CREATE VIEW IF NOT EXISTS points AS
    SELECT 'train' AS source, {_POINT_VIEW_COLUMNS} FROM runs
    UNION ALL
    SELECT CASE method WHEN 'homotopy' THEN 'homotopy' WHEN 'singular' THEN 'singular'
           ELSE 'search' END AS source, {_POINT_VIEW_COLUMNS} FROM critical_points;
"""


def _lcn_version() -> str:
    """The installed lcn version, recorded in ``meta`` (``"unknown"`` from a bare source tree)."""
    try:
        return metadata.version("lcn")
    except metadata.PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _check_is_store_file(p: Path, argument: str) -> None:
    """Refuse, before SQLite touches it, a path that is not a file starting with SQLite's
    header (a directory, an empty or garbage file, an unreadable one)."""
    if p.is_dir():
        raise StoreError(argument, f"{str(p)!r} is a directory; give an experiment store file")
    if not p.is_file():
        raise StoreError(argument, f"{str(p)!r} is not a file; give an experiment store")
    try:
        with p.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(argument, f"cannot read {str(p)!r}: {_reason(exc)}") from None
    if head != _SQLITE_MAGIC:
        raise StoreError(argument, f"{str(p)!r} is not an lcn experiment store (not SQLite); "
                         "give a store written by `lcn experiment`")


def _connect_readonly(p: Path) -> sqlite3.Connection:
    """A connection that cannot write: ``mode=ro``; where the directory is not writable
    (read-only file system), SQLite cannot make the WAL index, so ``immutable=1``."""
    uri = "file:" + quote(str(p.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30.0)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.Error:
            conn.close()
            raise
        return conn
    except sqlite3.OperationalError:
        if os.access(p.parent, os.W_OK):
            raise
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30.0)


class Store:
    """The SQLite store of one experiment.

    Tables: ``meta`` (format, config hash, config JSON and TOML, version, creation time),
    ``chunks`` (one row per finished chunk), ``datasets`` (seeds, sizes, ``loss_zero = ||Y||^2``),
    ``runs`` (one row per training), ``critical_points`` (one row per distinct critical point
    found by a Newton search, per real point of a homotopy's complete set, per exact singular
    point; column ``method``), ``censuses`` (one row per dataset solved by the homotopy:
    counts and certificate; absent in stores of lcn before it), and the view ``points`` (both
    point tables, with a ``source`` column, :data:`SOURCES`).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, argument: str = "store") -> None:
        self.path = path
        self.conn = conn
        #: The name errors about this store use (``--store``, ``store``, ``STORE``).
        self.argument = argument
        #: What :meth:`config` had to forgive when reading (a config that no longer hashes the
        #: same, a stored TOML that no longer parses): one line each, for the report.
        self.warnings: list[str] = []
        self._columns: dict[str, list[str]] = {}

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create_or_resume(cls, path: str | Path, config: ExperimentConfig,
                         argument: str = "store") -> Store:
        """Open the store for ``config``: create it, or resume it when it was made by the same
        config. A store of another config (different hash) or a file that is not a store is
        refused with a :class:`ConfigError` naming ``argument``: nothing is overwritten."""
        p = Path(path)
        if p.exists() or p.is_symlink():
            store = cls.open(p, argument=argument)
            have = store.meta().get("config_hash")
            if have != config.hash:
                store.close()
                raise StoreError(
                    argument,
                    f"{str(p)!r} holds results of another config (hash {have}, this config "
                    f"{config.hash}); give another store path (--store or 'store = ...') or "
                    "remove that file yourself",
                )
            return store
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(argument, f"cannot create the directory {str(p.parent)!r}: "
                             f"{_reason(exc)}") from None
        if not os.access(p.parent, os.W_OK | os.X_OK):
            raise StoreError(argument, f"cannot write in {str(p.parent)!r}; give a store path "
                             "in a writable directory")
        if cls._create(p, config, argument):
            return cls.open(p, argument=argument)
        # another process created it between our check and our link: resume it (or refuse)
        return cls.create_or_resume(p, config, argument)

    @staticmethod
    def _create(p: Path, config: ExperimentConfig, argument: str) -> bool:
        """Create the store atomically: schema and ``meta`` are written to a temporary file in
        the same directory, which is then hard-linked to ``p`` (``os.link`` never replaces an
        existing file, so two processes creating the same store cannot clobber each other).
        A kill at any point leaves either no store or a complete empty one (at worst a hidden
        ``.<name>.*.creating`` file). ``False`` when ``p`` appeared meanwhile."""
        tmp = p.parent / f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}.creating"
        try:
            try:
                _write_empty_store(tmp, config)
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(argument, f"cannot create {str(p)!r}: {_reason(exc)}; nothing "
                                 "was saved") from None
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
    def open(cls, path: str | Path, *, argument: str = "store", readonly: bool = False) -> Store:
        """Open an existing store (``readonly`` for :func:`summarize`, else for resuming);
        refuses a file that is not an lcn experiment store before anything could change it."""
        p = Path(path)
        _check_is_store_file(p, argument)
        try:
            conn = _connect_readonly(p)
            try:
                _check_layout(conn, p, argument)
            finally:
                if not readonly:
                    conn.close()
            if not readonly:
                if not (os.access(p, os.W_OK) and os.access(p.parent, os.W_OK)):
                    raise StoreError(argument, f"{str(p)!r} is not writable (a store being "
                                     "resumed is written); `lcn report` reads it as it is")
                conn = sqlite3.connect(p, timeout=30.0)
                # per connection, not a property of the file: commits stay atomic (WAL, set
                # when the store was created), fsync only at checkpoints
                conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(argument, f"{str(p)!r} cannot be read as an lcn experiment store "
                             f"({_reason(exc)})") from None
        return cls(p, conn, argument)

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
            digests = {a.get("name"): a.get("data_sha256") for a in stored["architectures"]}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise StoreError(self.argument, f"{str(self.path)!r} has no readable stored config"
                             ) from None
        problem: str | None = None
        cfg: ExperimentConfig | None = None
        try:
            cfg = replace_digests(parse_config(
                m.get("config_toml", ""), f"{self.path} (stored config)", name=name,
                check_files=False), digests)
            if cfg.hash != stored_hash:
                problem = f"its config now hashes to {cfg.hash}, not {stored_hash}"
        except LCNError as exc:
            problem = f"its stored TOML no longer reads ({exc}); using the stored JSON"
            cfg = None
        if problem is not None and cfg is not None:
            # a config whose defaults changed since (search.method): the stored JSON holds the
            # settings as resolved then; prefer it when it reproduces the stored hash
            try:
                rebuilt = _config_from_json(stored, m.get("config_toml", ""))
                if rebuilt.hash == stored_hash:
                    cfg = rebuilt
                    problem += " (read with the settings of its stored JSON, which match)"
            except (KeyError, TypeError, ValueError, AttributeError, LCNError):
                pass
        if problem is not None:
            msg = (
                f"{str(self.path)!r} was written by lcn {m.get('lcn_version')}: {problem}. "
                "Results are read as stored; resuming this store needs a config with the "
                "stored hash"
            )
            if strict:
                raise StoreError(self.argument, msg)
            self.warnings.append(msg)
        if cfg is None:
            try:
                cfg = _config_from_json(stored, m.get("config_toml", ""))
            except (KeyError, TypeError, ValueError, AttributeError, LCNError):
                raise StoreError(
                    self.argument, f"{str(self.path)!r}: neither its stored TOML nor its "
                    "stored JSON config can be read by this lcn version"
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

    def has_table(self, name: str) -> bool:
        """Whether this store has the table ``name`` (``censuses`` is newer than format 1)."""
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def columns(self, table: str) -> list[str]:
        """The columns ``table`` has in this store (a store written by an older lcn may lack
        classification fields added since: those are not written)."""
        if table not in self._columns:
            self._columns[table] = [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]
        return self._columns[table]

    # -- writing -------------------------------------------------------------------------------
    def write_chunk(
        self,
        chunk: Chunk,
        seconds: float,
        dataset_rows: Sequence[Mapping[str, Any]],
        rows: Sequence[Mapping[str, Any]],
        unconverged: int,
        census_rows: Sequence[Mapping[str, Any]] = (),
    ) -> bool:
        """Write a chunk's rows, its datasets (once), its census rows (homotopy) and its done
        mark in one transaction.

        ``False`` (and nothing written) when the chunk is already in the store: another process
        running the same experiment on this store finished it first. Its rows are the same
        (seeds depend only on the config and the chunk), so keeping the first is lossless."""
        table = "runs" if chunk.task == "train" else "critical_points"
        fields = self.columns(table)
        sql = f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"
        with self.conn:
            # IMMEDIATE: take the write lock before the check, so that no other process can
            # commit this chunk between the check and the inserts
            self.conn.execute("BEGIN IMMEDIATE")
            if self.is_done(chunk):
                return False
            self.conn.executemany(
                "INSERT OR IGNORE INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[d[c] for c in _DATASET_COLUMNS] for d in dataset_rows],
            )
            self.conn.executemany(sql, [[r.get(f) for f in fields] for r in rows])
            if census_rows:
                names = [c for c, _ in CENSUS_COLUMNS]
                self.conn.executemany(
                    f"INSERT INTO censuses ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))})",
                    [[r.get(c) for c in names] for r in census_rows],
                )
            self.conn.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*chunk.key, len(rows), int(unconverged), float(seconds), _now()),
            )
        return True


def _write_empty_store(tmp: Path, config: ExperimentConfig) -> None:
    conn = sqlite3.connect(tmp, timeout=30.0)
    try:
        # WAL is a property of the file: set it now, so that opening the finished store never
        # has to convert it while another process writes
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        meta = {
            "format": STORE_FORMAT,
            "config_hash": config.hash,
            "config_json": json.dumps(config.to_dict(), sort_keys=True),
            "config_toml": config.source,
            "lcn_version": _lcn_version(),
            "created": _now(),
        }
        with conn:
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    finally:
        conn.close()  # checkpoints and removes the -wal file: tmp is self-contained


def _check_layout(conn: sqlite3.Connection, p: Path, argument: str) -> None:
    """Refuse an SQLite file that is not an lcn store (no ``meta`` with our format, or tables
    missing)."""
    not_ours = StoreError(argument, f"{str(p)!r} is not an lcn experiment store; give a store "
                          "written by `lcn experiment`")
    try:
        names = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if "meta" not in names:
            raise not_ours
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        raise not_ours from None
    if rows.get("format") != STORE_FORMAT or not _TABLES <= names:
        raise not_ours


def _config_from_json(d: Mapping[str, Any], source: str) -> ExperimentConfig:
    """Rebuild a config from the ``config_json`` of a store (for reading only: used when the
    stored TOML no longer parses). Missing settings get today's defaults."""

    def ints(v: Any) -> tuple[int, ...] | None:
        return tuple(int(x) for x in v) if v is not None else None

    specs = tuple(ArchSpec(
        name=str(a["name"]), kind=str(a.get("kind", "lcn")), k=ints(a.get("k")),
        s=ints(a.get("s")), widths=ints(a.get("widths")), N=int(a["N"]),
        n_out=int(a.get("n_out", 1)), datasets=int(a.get("datasets", 1)),
        inits=int(a.get("inits", 0)), starts=int(a.get("starts", 0)),
        steps=int(a.get("steps", 1)), lr=a.get("lr"), noise=a.get("noise"),
        target=str(a.get("target", "random")), path=a.get("path"),
        data_sha256=a.get("data_sha256"), method=str(a.get("method", "newton")),
    ) for a in d["architectures"])
    name = str(d["name"])
    return ExperimentConfig(
        name=name, description="", store=Path("results") / f"{name}.sqlite",
        seed=int(d.get("seed", 0)), device=str(d.get("device", "cpu")),
        init=str(d.get("init", "gaussian")), optimizer=str(d.get("optimizer", "gd")),
        polish=bool(d.get("polish", True)), chunk=int(d.get("chunk", 256)),
        classify=tuple(sorted((str(k), float(v)) for k, v in d.get("classify", {}).items())),
        architectures=specs, source=source,
        search_chunk=int(d.get("search_chunk", DEFAULT_SEARCH_CHUNK)),
    )
