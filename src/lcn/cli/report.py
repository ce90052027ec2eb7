"""``lcn report``: reprint the tables of an experiment store and redraw its plots (the store
is opened read-only)."""

from __future__ import annotations

import typer

from lcn import experiment as ex
from lcn.cli._app import JSON_HELP, app, console, handle_errors, print_json

PLOTS_HELP = "Directory for the PNG plots (default: beside the store)."


@app.command()
@handle_errors
def report(
    store: str = typer.Argument(..., metavar="STORE",
                                help="Experiment store written by `lcn experiment`."),
    plots: str | None = typer.Option(None, "--plots", help=PLOTS_HELP),
    no_plots: bool = typer.Option(False, "--no-plots", help="Only print, write no PNGs."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Reprint the summary table of an experiment store and redraw its plots.

    The store is only read (it may be on a read-only file system, or being written by a run).
    Works on incomplete stores too (the title says how many chunks are done). JSON keys:
    config, config_hash, store, chunks {done,total}, seconds, architectures [name, family,
    kind, method, theorem_applies, spec, train, search, homotopy, singular {total, converged,
    unconverged, minima, saddles, categories}, census {ed_degree, datasets,
    certified_complete, real_per_dataset {mean,min,max}, real_counts, ...},
    gd_in_complete_set {checked, matched, missed_certified, ...}], kinds, checks, warnings
    (e.g. a store written under a config that no longer hashes the same).
    """
    summary = ex.summarize(store, argument="STORE")
    if not no_plots:
        ex.check_plots_dir(ex.plot_paths(store, plots), "--plots")
    if as_json:
        if not no_plots:
            ex.write_plots(summary, plots, argument="--plots")
        print_json(summary.to_json())
        return
    ex.print_report(summary, console, plots, write=not no_plots, plots_argument="--plots")
