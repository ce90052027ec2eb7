"""The report of a store: the summary table, the comparison with MATH.md 8 (rich tables) and
two PNG plots (matplotlib, Agg).

Plots are only written where they are ours: a plots path that exists and is not a directory,
or a PNG of that name not written by ``lcn``, is refused (:func:`check_plots_dir`), never
overwritten.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from lcn.critical import CATEGORIES
from lcn.errors import ConfigError
from lcn.experiment.summary import (
    MATCH_RTOL,
    MATCH_SEPARATION,
    ArchSummary,
    Counts,
    Summary,
    checks,
    kind_of,
    pct,
    summarize,
)

__all__ = ["CATEGORY_LABELS", "census_table", "check_plots_dir", "checks_table", "kinds_table",
           "plot_paths", "print_report", "summary_table", "write_plots"]

CATEGORY_LABELS = {
    "zero": "zero",
    "pure_smooth_interior": "pure smooth interior",
    "singular": "singular",
    "boundary": "boundary",
    "spurious": "spurious",
    "unconverged": "not converged",
}
# Two-line headers keep the table inside 80 columns.
_SHORT_HEADS = {"zero": "zero", "pure_smooth_interior": "pure\nsmooth\nint.",
                "singular": "sing-\nular", "boundary": "bound-\nary", "spurious": "spur-\nious"}
_STATUS_STYLE = {
    "ok": "green",
    "CONTRADICTS": "bold red",
    "not observed": "yellow",
    "only in the weak sense": "yellow",
    "incomplete": "yellow",
}
_COLORS = {
    "zero": "#9e9e9e",
    "pure_smooth_interior": "#2e7d32",
    "singular": "#6a1b9a",
    "boundary": "#ef6c00",
    "spurious": "#c62828",
    "unconverged": "#e0e0e0",
}
_LOSS_FLOOR = 1e-12
#: PNG text chunk of every plot lcn writes: how an existing PNG is recognised as ours.
_SOFTWARE = "lcn experiment report"


#: Row labels of the summary table, per source of points.
_ROW_LABELS = {"train": "GD", "search": "search", "homotopy": "all real", "singular": "exact sing."}


def _rows(a: ArchSummary) -> list[tuple[str, Counts]]:
    """The sources shown for an architecture: GD, then its method's points, then the exact
    singular points (rank-deficient data)."""
    out = [("train", a.train)]
    if a.spec.method == "homotopy":
        out.append(("homotopy", a.homotopy))
        if a.search.total:
            out.append(("search", a.search))
    else:
        out.append(("search", a.search))
    if a.spec.gram_rank_deficient or a.singular.total:
        out.append(("singular", a.singular))
    return out


def _caption(summary: Summary) -> str:
    caption = (
        "count and % of converged points. GD: gradient-descent limits; search: distinct "
        "critical points of the Newton search; all real: every real critical point of every "
        "dataset (homotopy, certified); exact sing.: exact singular critical points of "
        "rank-deficient data; not conv.: GD runs or search starts that did not converge"
    )
    undecided = [
        f"{a.spec.name} {_ROW_LABELS[src]} {c.undecided}"
        for a in summary.archs
        for src, c in _rows(a)
        if c.undecided
    ]
    if undecided:
        caption += (". Undecided classifications (category = best numerical reading): "
                    + ", ".join(undecided))
    return caption


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
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True,
                  pad_edge=False, caption=escape(_caption(summary)))
    table.add_column("architecture", overflow="fold", min_width=16)
    table.add_column("points", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for cat in CATEGORIES:
        table.add_column(_SHORT_HEADS.get(cat, cat), justify="right", no_wrap=True)
    table.add_column("not\nconv.", justify="right", no_wrap=True)
    for a in summary.archs:
        rows = _rows(a)
        for i, (src, c) in enumerate(rows):
            head = (
                f"{escape(a.spec.name)}\n[dim]{escape(kind_of(a.spec))}[/]" if i == 0 else ""
            )
            cells = [f"{c.categories[cat]}\n{pct(c.categories[cat], c.converged)}"
                     for cat in CATEGORIES]
            table.add_row(head, _ROW_LABELS[src], str(c.converged), *cells, str(c.unconverged),
                          end_section=i == len(rows) - 1)
    return table


def _mean_range(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{np.mean(values):.1f} [{min(values)}-{max(values)}]"


def census_table(summary: Summary) -> Any:
    """Per homotopy architecture: ``ed_degree``, datasets certified complete, real critical
    points per dataset (mean [min-max]), minima (Morse index 0) and saddles among all real
    critical points, isolated zero-filter solutions, GD limits found in the complete set."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="complete critical sets (homotopy, certified; MATH.md 9)", box=box.SIMPLE_HEAD,
        pad_edge=False, caption=escape("real/dataset: real critical points (mu(w) != 0, modulo "
        "rescaling) per dataset, mean [min-max], of ed_degree complex ones; min.: Morse index "
        "0; zero: isolated critical points with mu(w) = 0 (all datasets; '?' where "
        "positive-dimensional); GD in set: GD limits whose mu(w) is nearest to one real "
        "critical point of their dataset (see the comparison below)"),
    )
    table.add_column("architecture", overflow="fold", min_width=12, max_width=18)
    for col in ("ed\ndeg.", "certi-\nfied", "real/\ndataset", "min.", "sad-\ndles", "zero",
                "GD in\nset"):
        table.add_column(col, justify="right", no_wrap=True)
    for a in summary.archs:
        c = a.census
        if c is None:
            continue
        zeros = "?" if any(z is None for z in c.zero_counts) else str(
            sum(z or 0 for z in c.zero_counts))
        m = a.match
        gd = "-" if m is None else f"{m.matched}/{m.checked}"
        table.add_row(escape(a.spec.name), str(c.ed_degree or "-"),
                      f"{c.certified}/{c.datasets}", _mean_range(c.real_counts),
                      str(a.homotopy.minima), str(a.homotopy.saddles), zeros, gd)
    return table


def kinds_table(summary: Summary) -> Any:
    """Counts per kind of architecture (reduced strided, stride one, non-reduced, N < d+1,
    ...), summed over a sweep: one row for gradient-descent limits and one for the critical
    points (of each architecture's method: all real ones for the homotopy) per kind."""
    from rich import box
    from rich.table import Table

    table = Table(title="per kind of architecture", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("kind", "archs", "points", "n"):
        table.add_column(col, justify="left" if col in ("kind", "points") else "right")
    for cat in CATEGORIES:
        table.add_column(_SHORT_HEADS.get(cat, cat), justify="right")
    for kind, (n, tr, se) in summary.kinds().items():
        for src, c in (("GD", tr), ("points", se)):
            table.add_row(kind if src == "GD" else "", str(n) if src == "GD" else "", src,
                          str(c.converged),
                          *(pct(c.categories[cat], c.converged) for cat in CATEGORIES),
                          end_section=src == "points")
    return table


def checks_table(summary: Summary) -> Any:
    """The comparisons of :func:`checks` as a rich table."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="compared with MATH.md 8",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="pure smooth interior (s.i.): regular, smooth, interior, pure (the theorem for "
        "reduced architectures, N >= d+1). spurious: mu(w) not critical for the loss on its "
        "stratum of M; weak: not critical on the smooth interior of M (so every singular or "
        "boundary point). GD limit in the complete set: the nearest real critical point w* has "
        f"|mu(w) - mu(w*)| <= {MATCH_RTOL:g} |mu(w*)| and the next distinct function is "
        f"{MATCH_SEPARATION:g} times farther",
    )
    table.add_column("architecture", overflow="fold", min_width=16)
    for col in ("statement", "observed", "status"):
        table.add_column(col)
    for c in checks(summary):
        style = _STATUS_STYLE.get(c.status)
        status = f"[{style}]{escape(c.status)}[/]" if style else escape(c.status)
        table.add_row(escape(c.subject), escape(c.statement), escape(c.observed), status)
    return table


def plot_paths(store: str | Path, outdir: str | Path | None = None) -> tuple[Path, ...]:
    """Where :func:`write_plots` puts the PNGs of a store: ``<stem>-types.png``,
    ``<stem>-loss.png`` and ``<stem>-real.png`` (real critical points per dataset, drawn when
    the store has homotopy censuses) beside the store, or in ``outdir``."""
    p = Path(store)
    d = Path(outdir) if outdir is not None else p.parent
    return d / f"{p.stem}-types.png", d / f"{p.stem}-loss.png", d / f"{p.stem}-real.png"


def _is_our_png(p: Path) -> bool:
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"\x89PNG") and _SOFTWARE.encode() in head


def check_plots_dir(paths: tuple[Path, ...], argument: str = "plots") -> None:
    """Refuse, before any work, plot paths that would overwrite something not ours or cannot
    be written: the directory exists and is not a directory, or is not writable; a PNG of that
    name exists and was not written by lcn. A missing directory is fine (it is created)."""
    d = paths[0].parent
    if d.exists() and not d.is_dir():
        raise ConfigError(argument, f"{str(d)!r} exists and is not a directory; give a "
                          "directory for the plots")
    probe = d
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(argument, f"cannot write in {str(probe)!r}; give a writable plots "
                          "directory (or --no-plots for lcn report)")
    for p in paths:
        if p.is_dir() or p.is_symlink() or (p.exists() and not _is_our_png(p)):
            raise ConfigError(argument, f"{str(p)!r} exists and was not written by lcn; "
                              "give another plots directory")


def _types_figure(summary: Summary) -> Any:
    from matplotlib.figure import Figure

    archs = summary.archs
    fig = Figure(figsize=(max(6.0, 1.6 * len(archs) + 2.5), 4.8), layout="constrained")
    ax = fig.add_subplot()
    width = 0.38
    xs = np.arange(len(archs), dtype=float)
    for offset, src in ((-width / 2 - 0.01, "train"), (width / 2 + 0.01, "points")):
        bottom = np.zeros(len(archs))
        for cat in CATEGORIES:
            vals = np.array([(a.train if src == "train" else a.points).fraction(cat)
                             for a in archs])
            ax.bar(xs + offset, vals, width, bottom=bottom, color=_COLORS.get(cat, "#000000"),
                   edgecolor="white", linewidth=0.5,
                   label=CATEGORY_LABELS.get(cat, cat) if src == "train" else None)
            bottom += vals
    ax.set_xticks(xs, [f"{a.spec.name}\n{kind_of(a.spec)}\n({a.spec.method})" for a in archs],
                  fontsize=7)
    ax.set_ylabel("fraction of converged points\n(left: GD limits, right: critical points:\n"
                  "all real ones (homotopy) or the search's)")
    ax.set_ylim(0, 1)
    ax.set_title(f"critical points by type: experiment {summary.config.name}")
    fig.legend(loc="outside right center", fontsize=8)
    return fig


def _loss_panel(ax: Any, data: dict[str, list[float]]) -> None:
    from matplotlib.ticker import NullFormatter

    allv = [v for vals in data.values() for v in vals]
    if not allv:
        ax.text(0.5, 0.5, "no converged points", ha="center", va="center",
                transform=ax.transAxes)
        return
    lo, hi = min(allv), max(allv)
    if hi <= lo * 1.0001:
        lo, hi = lo / 1.5, hi * 1.5
    bins = [float(b) for b in np.geomspace(lo, hi, 30)]
    for src, label, color in (("train", "GD limits", "#1565c0"), ("search", "search", "#c62828"),
                              ("homotopy", "all real (homotopy)", "#2e7d32"),
                              ("singular", "exact singular", "#6a1b9a")):
        vals = data.get(src, [])
        if vals:
            ax.hist(vals, bins=bins, histtype="bar" if src == "train" else "step",
                    color=color, alpha=0.7 if src == "train" else 1.0, label=label)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=7)


def _loss_figure(summary: Summary) -> Any:
    from matplotlib.figure import Figure

    archs = summary.archs
    ncols = min(3, max(1, len(archs)))
    nrows = max(1, math.ceil(len(archs) / ncols))
    fig = Figure(figsize=(4.0 * ncols, 3.0 * nrows), layout="constrained")
    for i, a in enumerate(archs):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        # exact fits (loss ~ 1e-16 relative) are rounding noise: show them at the floor
        _loss_panel(ax, {src: [max(v, _LOSS_FLOOR) for v in vals]
                         for src, vals in summary.losses.get(a.spec.name, {}).items()})
        ax.set_title(a.spec.name, fontsize=9)
        ax.set_xlabel(f"final loss / ||Y||^2 (values < {_LOSS_FLOOR:g} at {_LOSS_FLOOR:g})",
                      fontsize=7)
        ax.set_ylabel("count", fontsize=8)
    fig.suptitle(f"final losses: experiment {summary.config.name}")
    return fig


def _real_figure(summary: Summary) -> Any:
    """Histograms of the number of real critical points per dataset, one panel per homotopy
    architecture, against its ``ed_degree`` (the complex count)."""
    from matplotlib.figure import Figure

    archs = [a for a in summary.archs if a.census is not None and a.census.real_counts]
    ncols = min(3, max(1, len(archs)))
    nrows = max(1, math.ceil(len(archs) / ncols))
    fig = Figure(figsize=(4.0 * ncols, 3.0 * nrows), layout="constrained")
    for i, a in enumerate(archs):
        c = a.census
        assert c is not None
        ax = fig.add_subplot(nrows, ncols, i + 1)
        counts = np.asarray(c.real_counts)
        lo, hi = int(counts.min()), int(counts.max())
        step = max(1, (hi - lo + 1) // 30)
        bins = [float(b) for b in np.arange(lo - 0.5, hi + 1.5, step)]
        ax.hist(counts, bins=bins, color="#2e7d32", edgecolor="white")
        ax.axvline(float(np.mean(counts)), color="#c62828", linewidth=1,
                   label=f"mean {np.mean(counts):.1f}")
        ax.set_title(f"{a.spec.name} ({kind_of(a.spec)})", fontsize=9)
        ax.set_xlabel(f"real critical points per dataset, of ed_degree = {c.ed_degree} "
                      f"complex\n({c.datasets} datasets, {c.certified} certified complete)",
                      fontsize=7)
        ax.set_ylabel("datasets", fontsize=8)
        ax.legend(fontsize=7)
    if not archs:
        fig.add_subplot().text(0.5, 0.5, "no homotopy censuses in this store", ha="center",
                               va="center")
    fig.suptitle(f"how many of the complex critical points are real (Gaussian data): "
                 f"experiment {summary.config.name}", fontsize=10)
    return fig


def write_plots(summary: Summary, outdir: str | Path | None = None, *,
                argument: str = "plots") -> list[Path]:
    """Write the plots (matplotlib, Agg, no display needed), after :func:`check_plots_dir`:

    * stacked bars of the point categories per architecture, one bar for gradient-descent
      limits and one for the critical points (all real ones for a homotopy architecture, the
      distinct points of the search otherwise), as fractions of the converged points (as in
      the table);
    * histograms of the final relative loss ``L(w) / ||Y||^2`` of converged points (log scale),
      one panel per architecture, GD limits and critical points overlaid;
    * when the store has homotopy censuses: histograms of the number of real critical points
      per dataset, one panel per architecture, against its ``ed_degree``.
    """
    paths = plot_paths(summary.store, outdir)
    check_plots_dir(paths, argument)
    written = list(paths[:2])
    try:
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        meta = {"Software": _SOFTWARE}
        _types_figure(summary).savefig(paths[0], dpi=120, metadata=meta)
        _loss_figure(summary).savefig(paths[1], dpi=110, metadata=meta)
        if any(a.census is not None and a.census.real_counts for a in summary.archs):
            _real_figure(summary).savefig(paths[2], dpi=110, metadata=meta)
            written.append(paths[2])
    except OSError as exc:
        raise ConfigError(argument, f"cannot write the plots in {str(paths[0].parent)!r}: "
                          f"{exc.strerror or exc}") from None
    return written


def print_report(
    store: str | Path | Summary, console: Any, plots: str | Path | None = None,
    write: bool = True, *, plots_argument: str = "plots",
) -> Summary:
    """Print the summary table and the MATH.md 8 comparison of a store (a path, read
    read-only, or its :class:`Summary`), write the plots (unless ``write`` is false) and say
    where they are. Used by ``lcn experiment`` at the end and by ``lcn report``."""
    from rich.markup import escape

    summary = store if isinstance(store, Summary) else summarize(store)
    for w in summary.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    console.print(summary_table(summary))
    if any(a.census is not None for a in summary.archs):
        console.print(census_table(summary))
    if len(summary.kinds()) > 1:
        console.print(kinds_table(summary))
    console.print(checks_table(summary))
    if write:
        paths = write_plots(summary, plots, argument=plots_argument)
        console.print("plots: " + ", ".join(str(p) for p in paths), highlight=False)
    console.print(
        f"store: {summary.store} ({summary.chunks_done}/{summary.chunks_total} chunks, "
        f"{summary.seconds:.1f} s of chunk compute)",
        highlight=False,
    )
    return summary
