"""The compiled CPU tracker (lcn.homotopy.native) against the batched torch tracker it
reimplements: same statuses, same number of steps, same endpoints, on random complex start
pairs of several architectures (strided, stride one, size-1 layers, one active layer)."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lcn import Architecture, _numba
from lcn.homotopy import critical_sets
from lcn.homotopy.chart import make_chart
from lcn.homotopy.start import _random_params, start_pair
from lcn.homotopy.system import CriticalSystem, ZeroSystem
from lcn.homotopy.track import OK, TrackOptions, _track_torch, track
from lcn.training import gaussian_dataset

pytestmark = pytest.mark.skipif(not _numba.available(), reason="numba is not installed")

ARCHS = [((3, 2), (2, 1)), ((2, 2, 2), (1, 2, 1)), ((3, 1, 2), (2, 1, 1)),
         ((2, 2, 1, 2), (2, 1, 2, 1)), ((1, 3), (1, 1)), ((4, 2), (2, 1))]


def _paths(system: CriticalSystem | ZeroSystem, count: int, seed: int
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    xs, p0s = zip(*(start_pair(system, rng) for _ in range(count)), strict=True)
    p1 = np.array([_random_params(system, rng) for _ in range(count)])
    gam = np.exp(2j * math.pi * rng.random(count))
    c = torch.complex128
    return (torch.as_tensor(np.array(xs), dtype=c), torch.as_tensor(np.array(p0s), dtype=c),
            torch.as_tensor(p1, dtype=c), torch.as_tensor(gam, dtype=c))


ZERO = [((2, 2, 2), (1, 2, 1), 0), ((2, 2, 2), (1, 2, 1), 1), ((2, 2, 2), (2, 2, 1), 2),
        ((2, 3), (1, 1), 0)]


@pytest.mark.parametrize(("k", "s"), ARCHS, ids=[f"k{k}-s{s}" for k, s in ARCHS])
def test_native_equals_torch(k: tuple[int, ...], s: tuple[int, ...]) -> None:
    _compare(CriticalSystem(make_chart(Architecture(k, s), 3)))


@pytest.mark.parametrize(("k", "s", "layer"), ZERO)
def test_native_equals_torch_zero_filter(k: tuple[int, ...], s: tuple[int, ...],
                                         layer: int) -> None:
    """The zero-filter systems (a layer zero, the others on their slices; fixed chart)."""
    system = ZeroSystem(make_chart(Architecture(k, s), 3), layer)
    assert system.n == system.eqs  # square
    _compare(system)


def _compare(system: CriticalSystem | ZeroSystem) -> None:
    x0, p0, p1, gam = _paths(system, 24, 7)
    opt = TrackOptions()
    with torch.no_grad():
        xn, sn, nn = track(system, x0, p0, p1, gam, opt, threads=2)
        xt, stt, nt = _track_torch(system, x0, p0, p1, gam, opt)
        # the torch path's final polish, as track() does it
        ok = stt == OK
        for _ in range(3):
            F, Jx, _ = system.evaluate(xt[ok], p1[ok])
            xt[ok] = xt[ok] + torch.linalg.solve(Jx, -F[..., None])[..., 0]
    assert torch.equal(sn, stt)
    # rounding may flip a step's acceptance on rare paths; nearly all agree step for step
    assert (nn == nt).float().mean() >= 0.9
    both = (sn == OK).numpy()
    assert both.mean() > 0.5
    a, b = xn.numpy()[both], xt.numpy()[both]
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    # the endpoints are roots of the target systems
    with torch.no_grad():
        F = system.residual(xn[both], p1[both])
    assert F.abs().max() < 1e-8 * (1 + xn[both].abs().max())


def test_broadcast_start_and_threads() -> None:
    """A stride-0 start (one shared parameter row) and 1 vs 2 threads give identical results."""
    system = CriticalSystem(make_chart(Architecture((3, 2), (2, 1)), 0))
    x0, p0, p1, gam = _paths(system, 40, 2)
    p0b = p0[:1].expand(40, -1)
    x0b = x0.clone()
    # every row starts from the first start pair: a root of p0[0]
    x0b[:] = x0[0]
    with torch.no_grad():
        a = track(system, x0b, p0b, p1, gam, threads=1)
        b = track(system, x0b, p0b.contiguous(), p1, gam, threads=2)
    for u, v in zip(a, b, strict=True):
        assert torch.equal(u, v)


_COMPILE_COUNT = """
import torch
from lcn import Architecture
from lcn.homotopy import native
from lcn.homotopy.chart import make_chart
from lcn.homotopy.system import CriticalSystem, ZeroSystem
from lcn.homotopy.track import OK, track
from tests.homotopy.test_native import _paths
for system in (CriticalSystem(make_chart(Architecture((3, 2), (2, 1)), 0)),
               ZeroSystem(make_chart(Architecture((2, 2, 2), (1, 2, 1)), 3), 0)):
    with torch.no_grad():
        _, status, _ = track(system, *_paths(system, 8, 1), threads=1)
    assert (status == OK).any()  # so the one-lane finish (its polish) ran too
kernels = {n: f for n, f in vars(native).items() if hasattr(f, "signatures")}
print(sorted((n, len(f.signatures)) for n, f in kernels.items()))
"""


def test_each_kernel_compiles_once(tmp_path: Path) -> None:
    """Every compiled function of the tracker (evaluations, solver, lane loads and moves, the
    one-lane finish) is compiled once for both system kinds: a literal flag, lane count or
    lane index in a call would compile another specialization (seconds each on a machine's
    first run). Counted in a fresh process with an empty numba cache, since a cached kernel
    loads with its callees (their dispatchers stay empty)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _COMPILE_COUNT], env=env, check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parents[2]).stdout
    counts = dict(ast.literal_eval(out.strip()))
    # the inlined helpers (_layers, _prod, _residual, _eval) have no entries of their own
    assert {"_evaluate", "_evaluate_zero", "_solve", "_load", "_move", "_finish",
            "_track_range"} <= counts.keys()
    assert {n: c for n, c in counts.items() if c > 1} == {}


@pytest.mark.gpu
def test_cuda_solver_matches_cpu(cache: Path) -> None:
    """On CUDA the torch tracker and the float64 Krawczyk test run on the device: the same
    certified complete sets as the compiled CPU tracker (run with ``make test-gpu``)."""
    arch = Architecture((3, 3), (2, 1))
    data = [gaussian_dataset(arch, N=20, seed=i) for i in range(4)]
    cpu = critical_sets(arch, data, cache_dir=cache, classify=False)
    gpu = critical_sets(arch, data, cache_dir=cache, classify=False, device="cuda")
    for a, b in zip(cpu, gpu, strict=True):
        assert a.certified_complete and b.certified_complete
        for v in b.functions:
            d = np.abs(a.functions - v).max(axis=1) / (1 + np.abs(v).max())
            assert d.min() < 1e-8
