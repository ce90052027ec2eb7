"""``lcn experiment``: run (or resume) an experiment config into its SQLite store, then
print its report (lcn.experiment, MATH.md 8)."""

from __future__ import annotations

import sys

import typer

from lcn import experiment as ex
from lcn.cli._app import app, console, err_console, handle_errors
from lcn.cli._interrupts import EXIT_INTERRUPTED
from lcn.cli.report import PLOTS_HELP
from lcn.errors import ConfigError


@app.command()
@handle_errors
def experiment(
    config: str | None = typer.Argument(
        None, help="Experiment config (TOML, see docs/experiments.md). Default: the main job."
    ),
    *,
    store: str | None = typer.Option(
        None, "--store", help="SQLite store to write (default: the config's, results/NAME.sqlite)."
    ),
    plots: str | None = typer.Option(None, "--plots", help=PLOTS_HELP),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    max_chunks: int | None = typer.Option(
        None, "--max-chunks", min=1, help="Stop after this many new chunks (rerun to resume)."
    ),
    large: bool = typer.Option(
        False, "--large", help="Run even when the estimated work exceeds the limit "
        f"({ex.MAX_WORK:.0e} operations; memory limits stay)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=0, max=4096, help="Run the chunks on a local Dask cluster of this "
        "many worker processes (0: one per core); this process stays the store's only writer."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Run the chunks on an existing Dask cluster: tcp://HOST:PORT "
        "or a scheduler file."
    ),
    print_default: bool = typer.Option(
        False, "--print-default", help="Print the embedded default config and exit."
    ),
) -> None:
    """Train many networks and compute their critical points; store, tabulate and plot.

    Critical points: every real one, certified complete, by the homotopy (search.method
    "auto"/"homotopy", LCNs with generic data), else the Newton search. Results go to an
    SQLite store chunk by chunk (one row per training, one per critical point, one census
    per dataset solved by the homotopy); an interrupted run resumes where it stopped when
    started again with the same config, and a store made by another config (or a file that
    is not a store) is refused. The config's size is estimated before anything runs (memory
    and work; see docs/experiments.md). At the end: a table per architecture of
    gradient-descent limits and critical points, split into zero / pure smooth interior /
    singular / boundary / spurious (MATH.md 8), the table of complete critical sets (real
    points per dataset, minima, saddles, GD limits found in them), the comparison with the
    theorem, and the PNG plots. Ctrl-C exits
    with code 130 after keeping every finished chunk. With --workers or --scheduler the chunks
    are Dask tasks (the results are the same; see docs/experiments.md); a chunk whose task
    fails is reported with its seed (exit code 1) and retried by the next run.
    """
    if print_default:
        sys.stdout.write(ex.default_config_text())
        return
    if workers is not None and scheduler is not None:
        raise ConfigError("--workers", "give either --workers (a local cluster) or --scheduler")
    cluster = None if workers is None and scheduler is None else ex.Cluster(workers, scheduler)
    cfg = ex.load_config(config)
    path = store if store is not None else str(cfg.store)
    where = "--store" if store is not None else "store"
    estimate = ex.check_budget(cfg, large=large)
    ex.check_plots_dir(ex.plot_paths(path, plots), "--plots")
    console.print(
        f"experiment {cfg.name} (config {cfg.hash}): {len(cfg.architectures)} architectures, "
        f"{estimate.chunks} chunks -> {path}",
        highlight=False,
    )
    outcome = ex.run_experiment(
        cfg, path, console=console, progress=not no_progress, max_chunks=max_chunks,
        store_argument=where, cluster=cluster,
    )
    _say_outcome(outcome, path)
    ex.print_report(ex.summarize(path, argument=where), console, plots, plots_argument="--plots")


def _say_outcome(outcome: ex.Outcome, path: str) -> None:
    """What the run did, or why it stopped (interrupted: exit 130; failed chunks: exit 1)."""
    if outcome.interrupted:
        err_console.print(
            f"interrupted: {outcome.ran} new chunks saved in {path}; run the same command "
            "again to resume",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=EXIT_INTERRUPTED)
    if outcome.failures:
        for line in outcome.failures:
            err_console.print(f"error: {line}", markup=False, highlight=False)
        err_console.print(
            f"{len(outcome.failures)} chunks failed and were not saved ({outcome.ran} new "
            f"chunks saved in {path}); run the same command again to retry them",
            markup=False, highlight=False,
        )
        raise typer.Exit(code=1)
    if outcome.ran == 0 and outcome.complete:
        console.print("all chunks were already in the store; nothing to run", highlight=False)
    else:
        console.print(
            f"ran {outcome.ran} chunks in {outcome.seconds:.1f} s "
            f"({outcome.skipped} already in the store)",
            highlight=False,
        )
