"""Summaries of a store: counts per architecture and category, and their comparison with
the theorem of MATH.md 8 (:func:`checks`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcn.critical import CATEGORIES
from lcn.experiment.config import ArchSpec, ExperimentConfig
from lcn.experiment.plan import plan_chunks
from lcn.experiment.store import TASKS, UNCONVERGED, Store, StoreError

__all__ = ["KINDS", "ArchSummary", "Check", "Counts", "Summary", "checks", "iter_points",
           "summarize"]


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

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "converged": self.converged,
            "unconverged": self.unconverged,
            "undecided": self.undecided,
            "spurious_in_M": self.spurious_in_M,
            "categories": dict(self.categories),
        }

    to_dict = to_json

    def __add__(self, other: Counts) -> Counts:
        cats = {c: self.categories.get(c, 0) + other.categories.get(c, 0)
                for c in {*self.categories, *other.categories}}
        return Counts(self.total + other.total, cats, self.unconverged + other.unconverged,
                      self.undecided + other.undecided, self.exceptions + other.exceptions,
                      self.undecided_exceptions + other.undecided_exceptions,
                      self.spurious_in_M + other.spurious_in_M)


#: Kinds of architecture a sweep is summarized by (MATH.md 3, 8), from ``ArchSpec.family``.
KINDS = {
    "reduced, strides > 1": "reduced strided",
    "reduced": "one layer",
    "stride one, filling": "stride one",
    "stride one, not filling": "stride one",
    "not reduced": "non-reduced",
    "dense": "dense",
}


@dataclass(frozen=True)
class ArchSummary:
    """Counts of one architecture, with what MATH.md 8 says about its family."""

    spec: ArchSpec
    train: Counts
    search: Counts

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "family": self.spec.family,
            "theorem_applies": self.spec.theorem_applies,
            "spec": self.spec.to_dict(),
            "train": self.train.to_json(),
            "search": self.search.to_json(),
        }

    to_dict = to_json


@dataclass(frozen=True)
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

    def to_json(self) -> dict[str, str]:
        return {"subject": self.subject, "statement": self.statement,
                "observed": self.observed, "status": self.status}

    to_dict = to_json


@dataclass(frozen=True)
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

    def kinds(self) -> dict[str, tuple[int, Counts, Counts]]:
        """Per kind of architecture (:data:`KINDS`): ``(architectures, train, search)``
        counts summed over the architectures of that kind (the summary of a sweep)."""
        out: dict[str, tuple[int, Counts, Counts]] = {}
        for a in self.archs:
            kind = KINDS.get(a.spec.family, a.spec.family)
            n, tr, se = out.get(kind, (0, Counts(), Counts()))
            out[kind] = (n + 1, tr + a.train, se + a.search)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``lcn report --json`` document (keys listed in ``docs/experiments.md``)."""
        return {
            "config": self.config.name,
            "config_hash": self.config_hash or self.config.hash,
            "warnings": list(self.warnings),
            "store": str(self.store),
            "chunks": {"done": self.chunks_done, "total": self.chunks_total},
            "seconds": self.seconds,
            "architectures": [a.to_json() for a in self.archs],
            "kinds": {kind: {"architectures": n, "train": tr.to_json(), "search": se.to_json()}
                      for kind, (n, tr, se) in self.kinds().items()},
            "checks": [c.to_json() for c in checks(self)],
        }

    to_dict = to_json


_COUNT_QUERY = (
    "SELECT source, arch, category, COALESCE(undecided, 0), COALESCE(spurious_in_M, 0), "
    "COALESCE(regular = 1 AND smooth = 1 AND location = 'interior' AND pure = 1, 0), "
    "COUNT(*) FROM points GROUP BY 1, 2, 3, 4, 5, 6"
)


def _count(st: Store, counts: dict[tuple[str, str], Counts]) -> None:
    for src, arch, cat, undecided, weak, thm_ok, n in st.conn.execute(_COUNT_QUERY):
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


def _read(st: Store) -> Summary:
    config = st.config()
    plan = plan_chunks(config)
    done = st.done_chunks() & {c.key for c in plan}
    seconds = float(st.conn.execute("SELECT COALESCE(SUM(seconds), 0) FROM chunks").fetchone()[0])
    counts = {(a.name, src): Counts() for a in config.architectures for src in TASKS}
    losses: dict[str, dict[str, list[float]]] = {
        a.name: {"train": [], "search": []} for a in config.architectures
    }
    _count(st, counts)
    for src, arch, lr in st.conn.execute(
        "SELECT source, arch, loss_rel FROM points WHERE converged = 1 AND loss_rel IS NOT NULL"
    ):
        if arch in losses:
            losses[arch][src].append(float(lr))
    archs = [ArchSummary(a, counts[(a.name, "train")], counts[(a.name, "search")])
             for a in config.architectures]
    return Summary(config, st.path, len(done), len(plan), seconds, archs, losses,
                   list(st.warnings), st.meta().get("config_hash"))


def summarize(store: str | Path, *, argument: str = "store") -> Summary:
    """Read a store (complete or not, read-only) and count its points per architecture and
    category. A damaged store is a :class:`ConfigError` naming ``argument``."""
    with Store.open(store, argument=argument, readonly=True) as st:
        try:
            return _read(st)
        except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
            raise StoreError(argument, f"{str(store)!r} is damaged ({exc}); rerun the "
                             "experiment into a new store") from None


def _found(strict: int, weak: int | None, of: int) -> tuple[str, str]:
    """Observed text and status of "the search finds such points"."""
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


def _theorem_status(exc: int, und: int, nz: int) -> tuple[str, str]:
    obs = f"{exc} exceptions in {nz}" + (f", {und} undecided" if und else "")
    return obs, "CONTRADICTS" if exc else "undecided" if und or nz == 0 else "ok"


def _contrast_checks(a: ArchSummary) -> list[Check]:
    """The checks of an architecture outside the theorem (stride one, dense)."""
    spec, out = a.spec, []
    if spec.family == "stride one, not filling":
        b, conv = a.train.categories["boundary"], a.train.converged
        status = "undecided" if conv == 0 else "ok" if b > 0 else "not observed"
        out.append(Check(spec.name, "some GD limits on the boundary",
                         f"{b} of {conv} ({pct(b, conv)})", status))
    if spec.family.startswith("stride one") or spec.family == "dense":
        if spec.family == "dense":
            obs, status = _found(a.search.categories["singular"], None, a.search.converged)
            out.append(Check(spec.name, "search finds singular points", obs, status))
        obs, status = _found(a.search.categories["spurious"], a.search.spurious_in_M,
                             a.search.converged)
        out.append(Check(spec.name, "search finds spurious points", obs, status))
    return out


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
    totals = [0, 0, 0, 0]  # non-zero, exceptions, undecided, architectures
    statement = "every non-zero point is pure smooth interior"
    for a in summary.archs:
        spec = a.spec
        if spec.theorem_applies:
            nz = a.train.nonzero + a.search.nonzero
            und = a.train.undecided_exceptions + a.search.undecided_exceptions
            exc = a.train.exceptions + a.search.exceptions - und
            totals = [totals[0] + nz, totals[1] + exc, totals[2] + und, totals[3] + 1]
            out.append(Check(spec.name, statement, *_theorem_status(exc, und, nz)))
        elif spec.lcn is not None and spec.lcn.is_reduced:
            why = "N < d+1" if spec.N < spec.lcn.degree + 1 else "data from a file"
            out.append(Check(spec.name, "theorem of MATH.md 8", f"not checked: {why}",
                             "undecided"))
        else:
            out.extend(_contrast_checks(a))
    if totals[3] > 1:
        out.append(Check(f"all {totals[3]} theorem architectures", statement,
                         *_theorem_status(totals[1], totals[2], totals[0])))
    return out


def pct(a: int, b: int) -> str:
    if not b:
        return "-"
    p = 100.0 * a / b
    return f"{p:.0f}%" if p >= 99.95 or p == 0 else f"{p:.1f}%"


def iter_points(store: str | Path, source: str = "train") -> Iterable[dict[str, Any]]:
    """All rows of ``runs`` (``source="train"``) or ``critical_points`` (``"search"``) as
    dicts (the store is opened read-only)."""
    table = {"train": "runs", "search": "critical_points"}[source]
    with Store.open(store, readonly=True) as st:
        cur = st.conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
