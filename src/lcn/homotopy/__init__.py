"""All critical points of the loss, certified: a batched parameter-homotopy solver (issue 9).

:func:`critical_sets` / :func:`critical_set` return a :class:`CriticalSet` per dataset: every
complex critical point of ``L(w) = ||Y - mu(w) X||^2`` with ``mu(w) != 0`` modulo rescaling
(``ed_degree`` of them for generic data, MATH.md 9), each certified by Krawczyk's test (in
float64 with a priori rounding bounds, else in acb balls), the real ones classified by
:mod:`lcn.critical`, and the isolated zero-filter critical points counted apart.

Files, bottom-up: ``chart`` (the gauge-fixed square system), ``system`` (its batched torch
evaluation), ``native`` (the compiled CPU tracker), ``track`` (the path tracker), ``start``
(monodromy start sets and their cache), ``certify`` (Krawczyk in acb), ``krawczyk``
(Krawczyk for many roots in float64), ``zero`` (``mu(w) = 0`` points), ``result``, ``solve``.
``import lcn.homotopy`` does not import torch.
"""

from lcn.homotopy.result import CriticalSet
from lcn.homotopy.solve import DEFAULT_MAX_PATHS, critical_set, critical_sets

__all__ = ["DEFAULT_MAX_PATHS", "CriticalSet", "critical_set", "critical_sets"]
