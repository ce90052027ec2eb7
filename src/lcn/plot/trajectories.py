"""Training pictures: gradient-descent trajectories in function space (MATH.md 8).

Many runs of plain gradient descent on one seeded Gaussian dataset (``N = d + 1``), recorded
step by step with :func:`lcn.training.gradient` and :func:`lcn.training.loss` (NumPy, batched
over runs), then polished to critical points by :func:`lcn.training.train` (descent off, its
Newton polish only) and classified by :func:`lcn.critical.classify_critical_points`. Three
panels:

* the trajectories ``mu(w(t))`` in function space: on the surface of :func:`lcn.plot.space`
  (a 3-D chart of the closure, drawn from the same exact samples) when the closure is a
  hypersurface, otherwise projected onto the top two principal components; endpoints
  coloured by their critical-point category;
* the loss along the runs;
* the conserved quantities ``||w_i||^2 - ||w_{i+1}||^2`` along every run: constant for gradient
  flow because ``mu`` is linear in each ``w_i`` (MATH.md 8); the small steps used here
  (``step = eta / Lhat``, ``Lhat`` a local smoothness bound, halved on any loss increase) keep
  their drift at the order of ``eta`` times the squared step, which the picture states.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from lcn._validate import check_int, check_real, check_seed, check_size
from lcn.architecture import Architecture, as_architecture
from lcn.critical import classify_critical_points
from lcn.plot import _style
from lcn.plot._rational import rational_near
from lcn.plot._spacedata import SpaceData
from lcn.plot._surface import draw_mesh, is_hypersurface
from lcn.plot.spaces import space_data
from lcn.training import function, gaussian_dataset, gradient, gram_form, init_params, loss, train

__all__ = ["FlowData", "flow_data", "flow", "draw_flow", "FLOW_SIZE"]

FLOW_SIZE = (1600, 600)


@dataclass(frozen=True, eq=False)
class FlowData:
    """Recorded runs: ``steps`` (recorded step numbers, ``(T,)``), ``params`` (``(runs, T, P)``),
    ``loss`` (``(runs, T)``), ``invariants`` (``(runs, T, L-1)``: ``||w_i||^2 - ||w_{i+1}||^2``),
    ``end_params`` (polished critical points), ``end_categories`` and ``end_undecided`` (from
    :func:`lcn.critical.classify_critical_points`), ``end_rel_grad`` (relative gradient norm of
    the polished points), ``eta`` (step factor), ``surface`` (the :class:`SpaceData` of the
    chart, or ``None`` when the trajectories are projected), ``projection`` (``"chart"`` or
    ``"pca"``) and ``coords`` (``(runs, T, 2 or 3)`` display coordinates, NaN off the chart),
    ``end_coords``."""

    arch: Architecture
    seed: int
    steps: np.ndarray
    params: np.ndarray
    loss: np.ndarray
    invariants: np.ndarray
    end_params: np.ndarray
    end_categories: tuple[str, ...]
    end_undecided: tuple[bool, ...]
    end_rel_grad: np.ndarray
    eta: float
    projection: str
    coords: np.ndarray
    end_coords: np.ndarray
    surface: SpaceData | None
    seconds: float

    def invariant_drift(self) -> float:
        """Largest change of any invariant along any run, relative to the largest ``||w_i||^2``
        at the start."""
        drift = np.abs(self.invariants - self.invariants[:, :1, :]).max()
        scale = max(float(np.max(_sq_norms(self.arch, self.params[:, 0]))), 1e-300)
        return float(drift / scale)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary: architecture, seed, runs, recorded steps, endpoint categories,
        relative invariant drift, projection, seconds."""
        cats: dict[str, int] = {}
        for c in self.end_categories:
            cats[c] = cats.get(c, 0) + 1
        return {
            "architecture": str(self.arch), "seed": self.seed, "runs": int(self.params.shape[0]),
            "recorded_steps": int(self.steps[-1]), "eta": self.eta,
            "end_categories": cats, "undecided": int(sum(self.end_undecided)),
            "invariant_drift": self.invariant_drift(), "projection": self.projection,
            "final_loss": [float(v) for v in self.loss[:, -1]], "seconds": self.seconds,
        }


def _sq_norms(arch: Architecture, theta: np.ndarray) -> np.ndarray:
    cuts = np.cumsum(arch.k)[:-1]
    return np.stack([np.sum(w * w, axis=-1) for w in np.split(theta, cuts, axis=-1)], axis=-1)


def _lipschitz(arch: Architecture, theta: np.ndarray, gnorm: float) -> np.ndarray:
    """``2 ||G|| sum_i prod_{j != i} ||w_j||^2``: the curvature of ``L`` along each layer (exact
    for one layer; the step is also halved on any loss increase)."""
    q = _sq_norms(arch, theta)
    L = q.shape[-1]
    tot = np.zeros(theta.shape[0])
    for i in range(L):
        tot += np.prod(np.delete(q, i, axis=-1), axis=-1) if L > 1 else 1.0
    return 2.0 * gnorm * np.maximum(tot, 1e-300)


def _descend(arch: Architecture, gram: Any, theta: np.ndarray, steps: int, every: int,
             eta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient descent recorded every ``every`` steps: (step numbers, params, losses)."""
    rec_s, rec_p, rec_l = [], [], []
    lv = loss(arch, gram, theta)
    fac = np.full(theta.shape[0], eta)
    for t in range(steps + 1):
        if t % every == 0 or t == steps:
            rec_s.append(t)
            rec_p.append(theta.copy())
            rec_l.append(lv.copy())
        if t == steps:
            break
        g = gradient(arch, gram, theta)
        step = fac / _lipschitz(arch, theta, gram.norm)
        cand = theta - step[:, None] * g
        lc = loss(arch, gram, cand)
        ok = np.isfinite(lc) & (lc <= lv)
        theta = np.where(ok[:, None], cand, theta)
        lv = np.where(ok, lc, lv)
        fac = np.where(ok, fac, 0.5 * fac)
    return np.array(rec_s), np.stack(rec_p, axis=1), np.stack(rec_l, axis=1)


def flow_data(arch: Any, seed: int = 0, *, runs: int = 16, steps: int = 3000,
              record_every: int = 10, eta: float = 0.5, resolution: int = 28) -> FlowData:
    """Record ``runs`` gradient-descent runs (MATH.md 8) on ``gaussian_dataset(arch, N=d+1,
    seed=seed)`` from ``init_params(..., seed=seed)``, polish and classify their endpoints, and
    place them in function space (see the module docstring)."""
    t0 = time.perf_counter()
    arch = as_architecture(arch)
    seed = check_seed(seed)
    runs = check_int(runs, "runs", min=1, max=500)
    steps = check_int(steps, "steps", min=1, max=10**6)
    every = check_int(record_every, "record_every", min=1, max=steps)
    eta = check_real(eta, "eta", min=0.0, max=1.0, min_open=True)
    check_size(runs * (steps // every + 2) * arch.parameters, "steps", limit=5 * 10**7,
               what="recorded numbers")
    data = gaussian_dataset(arch, N=arch.degree + 1, seed=seed)
    gram = gram_form(arch, data)
    theta0 = init_params(arch, gram, runs, seed=seed)
    st, params, losses = _descend(arch, gram, theta0, steps, every, eta)
    polished = train(arch, gram, runs, init=params[:, -1], optimizer="none", seed=seed)
    infos = classify_critical_points(arch, gram, polished.params)
    q = _sq_norms(arch, params)
    inv = q[..., :-1] - q[..., 1:]
    V = function(arch, params)
    Vend = function(arch, polished.params)
    surface = None
    if is_hypersurface(arch) and arch.degree + 1 >= 4:
        coords, end, surface = _chart(arch, V, Vend, gram.u, resolution)
        projection = "chart"
    else:
        coords, end = _pca(V, Vend)
        projection = "pca"
    return FlowData(
        arch=arch, seed=seed, steps=st, params=params, loss=losses, invariants=inv,
        end_params=polished.params, end_categories=tuple(i.category for i in infos),
        end_undecided=tuple(bool(i.undecided) for i in infos),
        end_rel_grad=np.asarray(polished.rel_grad_norm), eta=eta, projection=projection,
        coords=coords, end_coords=end, surface=surface, seconds=time.perf_counter() - t0,
    )


def _pca(V: np.ndarray, Vend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = V.reshape(-1, V.shape[-1])
    mean = flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    B = vt[:2].T
    return (V - mean) @ B, (Vend - mean) @ B


def _chart(arch: Architecture, V: np.ndarray, Vend: np.ndarray, u: np.ndarray,
           resolution: int) -> tuple[np.ndarray, np.ndarray, SpaceData]:
    """The projective chart centred on the endpoints' mean direction: ``through`` = that
    direction, ``plane`` = an orthonormal basis of its complement (rationalized so the surface
    samples stay exact), window = the range of the endpoints (and most of the runs)."""
    norms = np.linalg.norm(Vend, axis=1)
    keep = norms > 1e-9 * max(float(np.max(norms)), float(np.linalg.norm(u)))
    if keep.any():  # zero end points (mu(w) = 0) have no direction
        ends = Vend[keep] / norms[keep, None]
        ends = ends * np.where(ends @ ends[0] < 0, -1.0, 1.0)[:, None]
        n = ends.mean(axis=0)
    else:
        n = u.copy()
    n = n / np.linalg.norm(n)
    q, _ = np.linalg.qr(np.column_stack([n, np.eye(len(n))]))
    basis = q[:, 1:4].T
    through = [rational_near(float(x), 10**4) for x in n]
    plane = [[rational_near(float(x), 10**4) for x in b] for b in basis]
    B = np.array([[float(x) for x in through]] + [[float(x) for x in p] for p in plane]).T

    def coords(X: np.ndarray) -> np.ndarray:
        flat = X.reshape(-1, X.shape[-1])
        sol = np.linalg.lstsq(B, flat.T, rcond=None)[0].T
        alpha = sol[:, :1]
        norm = np.linalg.norm(flat, axis=1, keepdims=True)
        c = np.where(np.abs(alpha) > 0.2 * norm / np.linalg.norm(B[:, 0]), sol[:, 1:] / alpha,
                     np.nan)
        return c.reshape(*X.shape[:-1], 3)

    C, E = coords(V), coords(Vend)
    # the window holds the endpoints and most of every run (runs start far out, at random)
    spread = np.abs(C[np.isfinite(C)])
    half = max(float(np.nanmax(np.abs(E))) if np.any(np.isfinite(E)) else 0.0,
               float(np.quantile(spread, 0.75)) if spread.size else 1.0)
    half = min(max(1.2 * half, 0.5), 3.0)
    surf = space_data(arch, through, plane, resolution=resolution, window=half)
    C = np.where(np.abs(C) <= half, C, np.nan)
    return C, E, surf


def draw_flow(data: FlowData, size: tuple[int, int] = FLOW_SIZE, dpi: int = 100) -> Any:
    """Three panels: trajectories in function space, loss, invariants (returns the Figure)."""
    fig = _style.new_figure(size, dpi)
    gs = fig.add_gridspec(1, 3, width_ratios=(1.4, 1, 1), wspace=0.08)
    colors = [_style.CRITICAL_COLORS.get(c, "#000000") for c in data.end_categories]
    if data.projection == "chart" and data.surface is not None:
        ax = fig.add_subplot(gs[0], projection="3d")
        draw_mesh(ax, data.surface, alpha=0.25)
        for r in range(data.coords.shape[0]):
            c = data.coords[r]
            ax.plot(c[:, 0], c[:, 1], c[:, 2], color=colors[r], linewidth=1.0)
            seg = np.array([c[-1], data.end_coords[r]])
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colors[r], linewidth=1.0,
                    linestyle=":")
        e = data.end_coords
        ax.scatter(e[:, 0], e[:, 1], e[:, 2], c=colors, s=40, edgecolors="black",
                   depthshade=False, zorder=5)
        for k, (lo, hi) in enumerate(data.surface.window):
            getattr(ax, "set_" + "xyz"[k] + "lim")(lo, hi)
        ax.set_xlabel("chart a")
        ax.set_ylabel("chart b")
        ax.set_zlabel("chart c")
        ax.set_title("mu(w(t)) on the closure of M (projective chart)", fontsize=10)
    else:
        ax = fig.add_subplot(gs[0])
        for r in range(data.coords.shape[0]):
            c = data.coords[r]
            ax.plot(c[:, 0], c[:, 1], color=colors[r], linewidth=1.0)
            ax.plot(c[0, 0], c[0, 1], marker=".", color=colors[r])
            ax.plot([c[-1, 0], data.end_coords[r, 0]], [c[-1, 1], data.end_coords[r, 1]],
                    color=colors[r], linewidth=1.0, linestyle=":")
        e = data.end_coords
        ax.scatter(e[:, 0], e[:, 1], c=colors, s=40, edgecolors="black", zorder=5)
        ax.set_xlabel("principal component 1")
        ax.set_ylabel("principal component 2")
        ax.set_title("mu(w(t)), top two principal components", fontsize=10)
    present = [c for c in _style.CRITICAL_COLORS if c in set(data.end_categories)]
    ax.legend(handles=_style.legend_handles(present, _style.CRITICAL_COLORS,
                                            _style.CRITICAL_LABELS, marker="o"),
              title="endpoint (lcn.critical); dotted: polish", fontsize=8, title_fontsize=8,
              loc="upper left")
    ax2 = fig.add_subplot(gs[1])
    floor = max(float(np.min(data.loss)) * 1e-3, 1e-300)
    for r in range(data.loss.shape[0]):
        ax2.plot(data.steps + 1, np.maximum(data.loss[r], floor), color=colors[r],
                 linewidth=1.0)
    ax2.set_yscale("log")
    ax2.set_xscale("log")
    ax2.set_xlabel("gradient-descent step + 1")
    ax2.set_ylabel("loss L(w) = ||Y - mu(w) X||^2")
    ax2.set_title("loss along the runs", fontsize=10)
    ax3 = fig.add_subplot(gs[2])
    styles = ("-", "--", ":", "-.")
    for r in range(data.invariants.shape[0]):
        for p in range(data.invariants.shape[2]):
            ax3.plot(data.steps + 1, data.invariants[r, :, p], color=colors[r], linewidth=1.0,
                     linestyle=styles[p % len(styles)])
    ax3.set_xscale("log")
    ax3.set_xlabel("gradient-descent step + 1")
    ax3.set_ylabel("||w_i||^2 - ||w_{i+1}||^2  (i = 1: solid, 2: dashed, ...)")
    ax3.set_title(f"conserved quantities (relative drift {data.invariant_drift():.1e})",
                  fontsize=10)
    runs = data.params.shape[0]
    fig.suptitle(f"gradient descent for {data.arch}: {runs} runs, seed {data.seed}, "
                 f"N = d+1 = {data.arch.degree + 1} Gaussian samples, step {data.eta:g}/Lhat; "
                 "endpoints polished and classified")
    return fig


def flow(arch: Any, seed: int = 0, *, runs: int = 16, steps: int = 3000,
         record_every: int = 10, eta: float = 0.5, size: tuple[int, int] = FLOW_SIZE) -> Any:
    """Picture of ``runs`` gradient-descent runs (see :func:`flow_data`); returns the
    matplotlib ``Figure``."""
    return draw_flow(flow_data(arch, seed, runs=runs, steps=steps, record_every=record_every,
                               eta=eta), size)

