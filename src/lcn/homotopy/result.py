"""The result record of :func:`lcn.homotopy.critical_sets` (one per dataset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lcn.architecture import Architecture
from lcn.critical import CriticalPointInfo
from lcn.parametrization import split_params

__all__ = ["CriticalSet"]


def _num(v: Any) -> Any:
    """A JSON-ready number (``None`` for non-finite values)."""
    f = float(v)
    return f if np.isfinite(f) else None


@dataclass(frozen=True, eq=False)
class CriticalSet:
    """Every critical point of ``L(w) = ||Y - mu(w) X||^2`` with ``mu(w) != 0`` for one
    dataset, modulo the rescaling symmetry (MATH.md 7-9), from :func:`critical_sets`.

    * ``ed_degree``: :attr:`lcn.Architecture.ed_degree`, the number of such points for generic
      data (MATH.md 9);
    * ``complex_count``: distinct certified roots of the gauge-fixed critical equations
      (:mod:`lcn.homotopy.chart`), each in its own Krawczyk box (:mod:`lcn.homotopy.certify`);
      ``real_count`` of them certified real; ``missing = ed_degree - complex_count``;
    * ``zero_count``: isolated critical points with ``mu(w) = 0`` (exactly one zero layer; the
      other layers up to scale), ``None`` when that set is positive-dimensional
      (:mod:`lcn.homotopy.zero`);
    * ``certified_complete``: ``complex_count == ed_degree`` with every box certified: for data
      off the discriminant (generic data, the theorem's case) no critical point with
      ``mu(w) != 0`` is missing (the number of nonsingular roots never exceeds the generic
      count). ``reason`` says why not otherwise (paths that diverged or went singular,
      endpoints that failed the test, duplicates), never left silent;
    * ``functions`` ``(complex_count, d+1)``: the end-to-end filters ``mu(w)``; ``losses``
      ``(complex_count,)`` (complex; real for real points); ``is_real``;
    * ``real_params`` ``(real_count, P)``: balanced real layer filters in the
      :func:`lcn.parametrization.join_params` layout, and ``real_points`` their
      :func:`lcn.critical.classify_critical_points` records (empty with ``classify=False``);
    * ``certificate``: what was certified and how; ``paths`` tracked for this dataset;
      ``seconds`` of wall time attributed to it (the batched tracking split evenly).
    """

    arch: Architecture
    ed_degree: int
    complex_count: int
    real_count: int
    zero_count: int | None
    certified_complete: bool
    missing: int
    reason: str
    functions: np.ndarray
    losses: np.ndarray
    is_real: np.ndarray
    real_params: np.ndarray
    real_points: tuple[CriticalPointInfo, ...]
    certificate: str
    paths: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the counts, the certificate and one object per real critical
        point (``filters``, ``function``, ``loss``, ``category``, ``morse_index``, ...)."""
        points = []
        real_f = self.functions[self.is_real].real
        real_l = self.losses[self.is_real].real
        for i in range(self.real_count):
            layers = split_params(self.arch, self.real_params[i])
            pt: dict[str, Any] = {
                "filters": [[_num(v) for v in w] for w in layers],
                "function": [_num(v) for v in real_f[i]],
                "loss": _num(real_l[i]),
                "category": None,
                "morse_index": None,
            }
            if i < len(self.real_points):
                info = self.real_points[i]
                pt.update(category=info.category, morse_index=info.morse_index,
                          regular=info.regular, location=info.location, pure=info.pure,
                          undecided=info.undecided)
            points.append(pt)
        return {
            "k": list(self.arch.k),
            "s": list(self.arch.s),
            "ed_degree": self.ed_degree,
            "complex_count": self.complex_count,
            "real_count": self.real_count,
            "zero_count": self.zero_count,
            "certified_complete": self.certified_complete,
            "missing": self.missing,
            "reason": self.reason,
            "certificate": self.certificate,
            "paths": self.paths,
            "seconds": self.seconds,
            "points": points,
            "complex_losses": [[_num(v.real), _num(v.imag)] for v in self.losses],
        }
