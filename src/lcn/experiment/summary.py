"""Summaries of a store: counts per architecture and category, and their comparison with
the theorem of MATH.md 8 (:func:`checks`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lcn import training
from lcn.critical import CATEGORIES
from lcn.experiment.config import ArchSpec, ExperimentConfig
from lcn.experiment.plan import plan_chunks
from lcn.experiment.store import SOURCES, UNCONVERGED, Store, StoreError

__all__ = ["KINDS", "MATCH_RTOL", "MATCH_SEPARATION", "SMALL_N_KIND", "ArchSummary", "Census",
           "Check", "Counts", "Match", "Summary", "checks", "iter_points", "kind_of",
           "summarize"]

#: A gradient-descent limit ``w`` is found in the complete critical set of its dataset when
#: the nearest real critical point ``w*`` there has ``||mu(w) - mu(w*)|| <= MATCH_RTOL
#: ||mu(w*)||`` and every other one is at least :data:`MATCH_SEPARATION` times farther. GD
#: limits are only polished to relative gradient norm ``1e-10``, and real critical points of
#: Gaussian data can have condition numbers of ``1e8`` and more, so a limit may sit ``1e-5``
#: away from the exact point it approximates (observed in the main job); the separation makes
#: the match unambiguous. The largest matched distance is reported.
MATCH_RTOL = 1e-3
MATCH_SEPARATION = 10.0


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
    #: Converged non-zero points with Morse index 0 (local minima when the Hessian's nullity
    #: beyond the symmetry orbit is 0) and with Morse index > 0 (saddles).
    minima: int = 0
    saddles: int = 0

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
            "exceptions": self.exceptions,
            "minima": self.minima,
            "saddles": self.saddles,
            "categories": dict(self.categories),
        }

    to_dict = to_json

    def __add__(self, other: Counts) -> Counts:
        cats = {c: self.categories.get(c, 0) + other.categories.get(c, 0)
                for c in {*self.categories, *other.categories}}
        return Counts(self.total + other.total, cats, self.unconverged + other.unconverged,
                      self.undecided + other.undecided, self.exceptions + other.exceptions,
                      self.undecided_exceptions + other.undecided_exceptions,
                      self.spurious_in_M + other.spurious_in_M, self.minima + other.minima,
                      self.saddles + other.saddles)


@dataclass
class Census:
    """The complete critical sets of one architecture (homotopy), from ``censuses``:
    ``datasets`` solved (of ``planned``), ``certified`` complete among them, the per-dataset
    ``real_counts`` and ``complex_counts``, the isolated zero-filter solutions
    (``zero_counts``; ``None`` where positive-dimensional), and the distinct ``reasons`` a
    dataset was not certified."""

    ed_degree: int | None = None
    planned: int = 0
    datasets: int = 0
    certified: int = 0
    real_counts: list[int] = field(default_factory=list)
    complex_counts: list[int] = field(default_factory=list)
    zero_counts: list[int | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def real_total(self) -> int:
        return sum(self.real_counts)

    def to_json(self) -> dict[str, Any]:
        rc = self.real_counts
        return {
            "ed_degree": self.ed_degree, "datasets_planned": self.planned,
            "datasets": self.datasets, "certified_complete": self.certified,
            "real_total": self.real_total,
            "real_per_dataset": {"mean": float(np.mean(rc)) if rc else None,
                                 "min": min(rc) if rc else None,
                                 "max": max(rc) if rc else None},
            "real_counts": list(rc), "complex_counts": list(self.complex_counts),
            "zero_counts": list(self.zero_counts), "reasons": list(self.reasons),
            "seconds": self.seconds,
        }

    to_dict = to_json


@dataclass
class Match:
    """Gradient-descent limits looked up in the complete critical set of their dataset
    (:data:`MATCH_RTOL`, :data:`MATCH_SEPARATION`, distinct functions only): ``checked``
    converged non-zero limits of datasets with a census, ``matched``, the unmatched ones in
    certified-complete datasets (``missed_certified``: a contradiction of completeness) and
    in the others, and the largest relative distance of a matched limit (``worst``)."""

    checked: int = 0
    matched: int = 0
    missed_certified: int = 0
    missed_uncertified: int = 0
    worst: float = 0.0
    tol: float = MATCH_RTOL
    separation: float = MATCH_SEPARATION

    def to_json(self) -> dict[str, Any]:
        return {"checked": self.checked, "matched": self.matched,
                "missed_certified": self.missed_certified,
                "missed_uncertified": self.missed_uncertified, "worst_matched": self.worst,
                "rtol": self.tol, "separation": self.separation}

    to_dict = to_json


#: Kinds of architecture a sweep is summarized by (MATH.md 3, 8), from ``ArchSpec.family``.
KINDS = {
    "reduced, strides > 1": "reduced strided",
    "reduced": "one layer",
    "stride one, filling": "stride one",
    "stride one, not filling": "stride one",
    "not reduced": "non-reduced",
    "dense": "dense",
}
#: The kind of an LCN whose Gaussian data are too few for a full-rank Gram matrix.
SMALL_N_KIND = "N < d+1"


def kind_of(spec: ArchSpec) -> str:
    """The kind of ``spec`` (:data:`KINDS`; ``N < d+1`` first, whatever the family)."""
    if spec.gram_rank_deficient:
        return SMALL_N_KIND
    if spec.family == "not reduced" and spec.lcn is not None and all(x == 1 for x in spec.lcn.s):
        return "stride one"
    return KINDS.get(spec.family, spec.family)


@dataclass(frozen=True)
class ArchSummary:
    """Counts of one architecture, with what MATH.md 8 says about its family: ``train``
    (gradient-descent limits), ``search`` (Newton search), ``homotopy`` (every real critical
    point of the complete sets), ``singular`` (exact singular critical points, rank-deficient
    data), the ``census`` of the homotopy and the look-up of the GD limits in it (``match``)."""

    spec: ArchSpec
    train: Counts
    search: Counts
    homotopy: Counts = field(default_factory=Counts)
    singular: Counts = field(default_factory=Counts)
    census: Census | None = None
    match: Match | None = None
    #: Datasets with at least one exact singular critical point, of those searched.
    singular_datasets: tuple[int, int] = (0, 0)

    @property
    def points(self) -> Counts:
        """The critical points of the architecture's method (all real ones for the homotopy)."""
        return self.homotopy if self.spec.method == "homotopy" else self.search

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "family": self.spec.family,
            "kind": kind_of(self.spec),
            "method": self.spec.method,
            "theorem_applies": self.spec.theorem_applies,
            "spec": self.spec.to_dict(),
            "train": self.train.to_json(),
            "search": self.search.to_json(),
            "homotopy": self.homotopy.to_json(),
            "singular": {**self.singular.to_json(), "datasets_with_points":
                         self.singular_datasets[0], "datasets": self.singular_datasets[1]},
            "census": None if self.census is None else self.census.to_json(),
            "gd_in_complete_set": None if self.match is None else self.match.to_json(),
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
        """Per kind of architecture (:func:`kind_of`): ``(architectures, train, points)``
        counts summed over the architectures of that kind (the summary of a sweep; points:
        of each architecture's method, :attr:`ArchSummary.points`)."""
        out: dict[str, tuple[int, Counts, Counts]] = {}
        for a in self.archs:
            kind = kind_of(a.spec)
            n, tr, se = out.get(kind, (0, Counts(), Counts()))
            out[kind] = (n + 1, tr + a.train, se + a.points)
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
            "kinds": {kind: {"architectures": n, "train": tr.to_json(), "points": se.to_json()}
                      for kind, (n, tr, se) in self.kinds().items()},
            "checks": [c.to_json() for c in checks(self)],
        }

    to_dict = to_json


_COUNT_COLUMNS = (
    "arch, category, COALESCE(undecided, 0), COALESCE(spurious_in_M, 0), "
    "COALESCE(regular = 1 AND smooth = 1 AND location = 'interior' AND pure = 1, 0), "
    "COALESCE(morse_index = 0, 0), COUNT(*)"
)


def _source_sql(st: Store) -> str:
    """The ``source`` of a ``critical_points`` row (stores before ``method``: the search)."""
    if "method" not in st.columns("critical_points"):
        return "'search'"
    return ("CASE method WHEN 'homotopy' THEN 'homotopy' WHEN 'singular' THEN 'singular' "
            "ELSE 'search' END")


def _count(st: Store, counts: dict[tuple[str, str], Counts]) -> None:
    query = (
        f"SELECT 'train', {_COUNT_COLUMNS} FROM runs GROUP BY 2, 3, 4, 5, 6, 7 UNION ALL "
        f"SELECT {_source_sql(st)}, {_COUNT_COLUMNS} FROM critical_points "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )
    for src, arch, cat, undecided, weak, thm_ok, minimum, n in st.conn.execute(query):
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
        if cat != "zero":
            if minimum:
                c.minima += n
            else:
                c.saddles += n
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


def _censuses(st: Store, config: ExperimentConfig) -> dict[str, Census]:
    out = {a.name: Census(planned=a.datasets) for a in config.architectures
           if a.method == "homotopy"}
    if not st.has_table("censuses"):
        return out
    rows = st.conn.execute(
        "SELECT arch, ed_degree, complex_count, real_count, zero_count, certified_complete, "
        "reason, seconds FROM censuses ORDER BY arch, dataset"
    )
    for arch, ed, cc, rc, zc, cert, reason, sec in rows:
        c = out.get(arch)
        if c is None:
            continue
        c.ed_degree = ed if ed is not None else c.ed_degree
        c.datasets += 1
        c.certified += int(bool(cert))
        c.real_counts.append(int(rc))
        c.complex_counts.append(int(cc))
        c.zero_counts.append(None if zc is None else int(zc))
        if reason and reason not in c.reasons:
            c.reasons.append(str(reason))
        c.seconds += float(sec or 0.0)
    return out


def _params(text: str) -> list[float]:
    return [x for layer in json.loads(text) for x in np.ravel(np.asarray(layer, float))]


def _distinct(fs: np.ndarray, rtol: float = 1e-8) -> np.ndarray:
    """The distinct rows of ``fs`` (end-to-end filters): critical points with the same
    ``mu(w)`` (root permutations in a stride-one block, other factorizations of a non-reduced
    architecture) count once, so the separation test compares different functions."""
    keep: list[np.ndarray] = []
    for f in fs:
        if all(float(np.linalg.norm(f - g)) > rtol * max(float(np.linalg.norm(g)), 1e-300)
               for g in keep):
            keep.append(f)
    return np.array(keep)


def _match(st: Store, spec: ArchSpec) -> Match:
    """Look up every converged non-zero GD limit of ``spec`` in the complete set of its
    dataset, by the end-to-end filters ``mu`` (:data:`MATCH_RTOL`)."""
    arch = spec.build()
    cps: dict[int, list[list[float]]] = {}
    for ds, text in st.conn.execute(
        "SELECT dataset, params FROM critical_points WHERE arch = ? AND method = 'homotopy'",
        (spec.name,),
    ):
        cps.setdefault(int(ds), []).append(_params(text))
    cert = {int(d): bool(c) for d, c in st.conn.execute(
        "SELECT dataset, certified_complete FROM censuses WHERE arch = ?", (spec.name,))}
    gd: dict[int, list[list[float]]] = {}
    for ds, text in st.conn.execute(
        "SELECT dataset, params FROM runs WHERE arch = ? AND converged = 1 AND "
        "category != 'zero' AND category != ?", (spec.name, UNCONVERGED),
    ):
        if int(ds) in cert:
            gd.setdefault(int(ds), []).append(_params(text))
    m = Match()
    for ds, limits in gd.items():
        f_gd = training.function(arch, np.array(limits))
        m.checked += len(limits)
        if ds not in cps:
            if cert[ds]:
                m.missed_certified += len(limits)
            else:
                m.missed_uncertified += len(limits)
            continue
        f_cp = _distinct(training.function(arch, np.array(cps[ds])))
        dist = np.linalg.norm(f_gd[:, None, :] - f_cp[None, :, :], axis=-1)
        rel = dist / np.maximum(np.linalg.norm(f_cp, axis=-1), np.finfo(float).tiny)[None, :]
        order = np.sort(rel, axis=1)
        best = order[:, 0]
        second = order[:, 1] if order.shape[1] > 1 else np.full(len(best), np.inf)
        ok = (best <= MATCH_RTOL) & (second >= MATCH_SEPARATION * best)
        m.matched += int(ok.sum())
        if ok.any():
            m.worst = max(m.worst, float(best[ok].max()))
        if cert[ds]:
            m.missed_certified += int((~ok).sum())
        else:
            m.missed_uncertified += int((~ok).sum())
    return m


def _singular_datasets(st: Store, spec: ArchSpec) -> tuple[int, int]:
    """``(datasets with an exact singular critical point, datasets searched)``."""
    searched = st.conn.execute(
        "SELECT COUNT(*) FROM chunks WHERE arch = ? AND task = 'search'", (spec.name,)
    ).fetchone()[0]
    if "method" not in st.columns("critical_points"):
        return 0, int(searched)
    found = st.conn.execute(
        "SELECT COUNT(DISTINCT dataset) FROM critical_points WHERE arch = ? AND "
        "method = 'singular'", (spec.name,)
    ).fetchone()[0]
    return int(found), int(searched)


def _read(st: Store) -> Summary:
    config = st.config()
    plan = plan_chunks(config)
    done = st.done_chunks() & {c.key for c in plan}
    seconds = float(st.conn.execute("SELECT COALESCE(SUM(seconds), 0) FROM chunks").fetchone()[0])
    counts = {(a.name, src): Counts() for a in config.architectures for src in SOURCES}
    losses: dict[str, dict[str, list[float]]] = {
        a.name: {src: [] for src in SOURCES} for a in config.architectures
    }
    _count(st, counts)
    for src, arch, lr in st.conn.execute(
        f"SELECT 'train', arch, loss_rel FROM runs WHERE converged = 1 AND loss_rel IS NOT NULL "
        f"UNION ALL SELECT {_source_sql(st)}, arch, loss_rel FROM critical_points WHERE "
        "converged = 1 AND loss_rel IS NOT NULL"
    ):
        if arch in losses:
            losses[arch][src].append(float(lr))
    censuses = _censuses(st, config)
    archs = []
    for a in config.architectures:
        census = censuses.get(a.name)
        archs.append(ArchSummary(
            a, counts[(a.name, "train")], counts[(a.name, "search")],
            counts[(a.name, "homotopy")], counts[(a.name, "singular")], census,
            _match(st, a) if census is not None and st.has_table("censuses") else None,
            _singular_datasets(st, a) if a.gram_rank_deficient else (0, 0),
        ))
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


def _census_checks(a: ArchSummary) -> list[Check]:
    """Completeness of the census and the GD limits found in it (homotopy architectures)."""
    c, m = a.census, a.match
    out: list[Check] = []
    if c is None:
        return out
    obs = f"{c.certified} of {c.datasets} datasets" + (
        f" ({c.planned - c.datasets} not yet solved)" if c.datasets < c.planned else "")
    if c.reasons:
        obs += "; not certified: " + "; ".join(c.reasons[:2])
    if c.certified < c.datasets or c.datasets == 0:
        # when every dataset is certified the other lines say so ("certified complete in")
        status = "undecided" if c.datasets == 0 else "incomplete"
        out.append(Check(a.spec.name, f"complete set certified ({c.ed_degree} complex points "
                         "per dataset = ed_degree, MATH.md 9)", obs, status))
    if m is not None:
        obs = f"{m.matched} of {m.checked}"
        obs += f" (largest |mu - mu*| / |mu*| {m.worst:.1e})" if m.matched else ""
        missed = m.missed_certified + m.missed_uncertified
        if missed:
            obs += f"; {m.missed_certified} missed in certified datasets, " \
                   f"{m.missed_uncertified} in others"
        status = ("CONTRADICTS" if m.missed_certified else "undecided" if missed or
                  m.checked == 0 else "ok")
        out.append(Check(a.spec.name, "every GD limit is in its dataset's complete set",
                         obs, status))
    return out


def _census_text(a: ArchSummary, what: str) -> str:
    c = a.census
    n = a.points.nonzero
    if c is None:
        return f"{what} of {n}"
    return (f"{what} among ALL {n} real critical points of {c.datasets} datasets, "
            f"certified complete in {c.certified} of them")


def _categories_text(c: Counts) -> str:
    cats = c.categories
    return (f"{cats['pure_smooth_interior']} pure s.i., {cats['singular']} singular, "
            f"{cats['boundary']} boundary, {cats['spurious']} spurious")


def _theorem_check(a: ArchSummary, statement: str) -> Check:
    if a.spec.method == "homotopy":
        pts = a.homotopy
        und = pts.undecided_exceptions
        exc = pts.exceptions - und
        obs = _census_text(a, f"{exc} exceptions") + (f", {und} undecided" if und else "")
        status = "CONTRADICTS" if exc else "undecided" if und or pts.nonzero == 0 else "ok"
        return Check(a.spec.name, "every real critical point is pure smooth interior",
                     obs, status)
    nz = a.train.nonzero + a.search.nonzero
    und = a.train.undecided_exceptions + a.search.undecided_exceptions
    exc = a.train.exceptions + a.search.exceptions - und
    return Check(a.spec.name, statement, *_theorem_status(exc, und, nz))


def _stride_one_checks(a: ArchSummary) -> list[Check]:
    spec = a.spec
    out: list[Check] = []
    if spec.family == "stride one, not filling":
        b, conv = a.train.categories["boundary"], a.train.converged
        status = "undecided" if conv == 0 else "ok" if b > 0 else "not observed"
        out.append(Check(spec.name, "some GD limits on the boundary",
                         f"{b} of {conv} ({pct(b, conv)})", status))
    if spec.method == "homotopy":
        pts = a.homotopy
        n = pts.nonzero
        b, sp = pts.categories["boundary"], pts.categories["spurious"]
        if spec.family == "stride one, not filling":
            st = "undecided" if n == 0 else "ok" if b else "not observed"
            out.append(Check(spec.name, "all real critical points: some on the boundary",
                             f"{b} of {n} ({pct(b, n)})", st))
        st = "undecided" if n == 0 else "ok" if sp else \
            "only in the weak sense" if pts.spurious_in_M else "not observed"
        out.append(Check(spec.name, "all real critical points: some spurious",
                         f"{sp} of {n} ({pct(sp, n)}; weak: {pts.spurious_in_M})", st))
        return out
    obs, status = _found(a.search.categories["spurious"], a.search.spurious_in_M,
                         a.search.converged)
    out.append(Check(spec.name, "search finds spurious points", obs, status))
    return out


def _contrast_checks(a: ArchSummary) -> list[Check]:
    """The checks of an architecture outside the theorem (stride one, non-reduced, dense)."""
    spec = a.spec
    out: list[Check] = []
    if kind_of(spec) == "stride one":
        return _stride_one_checks(a)
    if spec.family == "dense":
        obs, status = _found(a.search.categories["singular"], None, a.search.converged)
        out.append(Check(spec.name, "search finds singular points", obs, status))
        obs, status = _found(a.search.categories["spurious"], a.search.spurious_in_M,
                             a.search.converged)
        out.append(Check(spec.name, "search finds spurious points", obs, status))
        return out
    if spec.family == "not reduced" and spec.lcn is not None:
        red = spec.lcn.reduced()
        statement = (f"not reduced: closure of k={','.join(map(str, red.k))} "
                     f"s={','.join(map(str, red.s))} (MATH.md 3), M can be smaller; no "
                     "claim")
        pts = a.points
        b = a.train.categories["boundary"]
        obs = (f"all {pts.nonzero} real: " if spec.method == "homotopy"
               else f"search, {pts.nonzero}: ") + _categories_text(pts)
        obs += f"; GD: {b} of {a.train.converged} boundary"
        out.append(Check(spec.name, statement, obs, "observed"))
    return out


def _small_n_check(a: ArchSummary) -> Check:
    """``N < d+1``: the singular critical points that exist (exact), and what GD and the
    search found."""
    spec = a.spec
    found, searched = a.singular_datasets
    obs = (f"exact ones (Sing M ∩ argmin l) in {found} of {searched} datasets; "
           f"singular/boundary found by GD: {a.train.categories['singular']}/"
           f"{a.train.categories['boundary']} of {a.train.converged}, by the search: "
           f"{a.search.categories['singular']}/{a.search.categories['boundary']} of "
           f"{a.search.converged}")
    status = "undecided" if searched == 0 else "ok" if found else "not observed"
    return Check(spec.name, f"N = {spec.N} < d+1 = {spec.lcn.degree + 1 if spec.lcn else '?'}: "
                 "hypothesis fails; singular critical points exist", obs, status)


def _why_not_theorem(spec: Any) -> str:
    """Which hypothesis of MATH.md 8 a reduced LCN's data miss."""
    if spec.path is not None:
        return "data from a file"
    if spec.N < spec.lcn.degree + 1:
        return "N < d+1"
    return "planted target without noise (special data)"


def checks(summary: Summary) -> list[Check]:
    """Compare the counts with MATH.md 8 (and, for the homotopy, with MATH.md 9).

    * Reduced architecture, Gaussian data, ``N >= d+1``: every non-zero critical point is pure
      smooth interior (regular, smooth, interior, pure). With the homotopy the statement is
      checked on ALL real critical points of every dataset, with the number of datasets
      certified complete; with Newton on the gradient-descent limits and the points the search
      found. A decided exception ``CONTRADICTS`` the theorem; exceptions whose classification
      is undecided make the verdict ``undecided``. Also the total over all such architectures.
    * Every homotopy architecture: the census is certified complete (``ed_degree`` complex
      points) in every dataset (else ``incomplete``, counted), and every gradient-descent limit
      lies in the complete set of its dataset (a miss in a certified dataset ``CONTRADICTS``
      completeness).
    * Stride one: a positive fraction of GD limits (not filling) and of all real critical
      points on the boundary, and spurious points (strictly / in the weak sense). Dense: the
      search finds singular and spurious points. MATH.md says "often", so absence is ``not
      observed``, not a contradiction.
    * Non-reduced strided: MATH.md 3 says only that the closure is the reduced architecture's
      and ``M`` can be smaller; the categories are reported as ``observed``, nothing claimed.
    * ``N < d+1`` (rank-deficient ``G``): the singular critical points that exist (exact,
      :mod:`lcn.experiment.singular`) and what GD and the search found.
    """
    out: list[Check] = []
    totals = [0, 0, 0, 0, 0, 0]  # non-zero, exceptions, undecided, archs, datasets, certified
    statement = "every non-zero point is pure smooth interior"
    for a in summary.archs:
        spec = a.spec
        if spec.theorem_applies:
            chk = _theorem_check(a, statement)
            out.append(chk)
            pts = [a.homotopy] if spec.method == "homotopy" else [a.train, a.search]
            und = sum(p.undecided_exceptions for p in pts)
            c = a.census
            totals = [totals[0] + sum(p.nonzero for p in pts),
                      totals[1] + sum(p.exceptions for p in pts) - und, totals[2] + und,
                      totals[3] + 1, totals[4] + (c.datasets if c else 0),
                      totals[5] + (c.certified if c else 0)]
        elif spec.gram_rank_deficient:
            out.append(_small_n_check(a))
        elif spec.lcn is not None and spec.lcn.is_reduced:
            out.append(Check(spec.name, "theorem of MATH.md 8",
                             f"not checked: {_why_not_theorem(spec)}", "undecided"))
        else:
            out.extend(_contrast_checks(a))
        out.extend(_census_checks(a))
    if totals[3] > 1:
        obs, status = _theorem_status(totals[1], totals[2], totals[0])
        if totals[4]:
            obs += (f" ({totals[4]} datasets solved by the homotopy, certified complete in "
                    f"{totals[5]})")
        out.append(Check(f"all {totals[3]} theorem architectures", statement, obs, status))
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
