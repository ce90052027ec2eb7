"""Tolerances of the critical-point classification and the options object that carries them.

Every tolerance here is relative and has one meaning. Critical points come from a solver
(:func:`lcn.training.critical_points`, :func:`lcn.training.train`) that stops at a relative
gradient of about ``1e-10``, so their ``mu(w)`` and Jacobians carry errors far above roundoff:
the rank tolerance for them, :data:`CRITICAL_RANK_RTOL`, is looser than the library-wide
:data:`lcn.geometry.numerical.RANK_RTOL` (``1e-9``) used for filters that are exact to
roundoff. The two are different numbers on purpose and have different names.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``||P_T grad l(v)|| / (2 ||G|| (||v|| + ||u||))`` at most this: pure; above
#: ``PURE_TOL * PURE_MARGIN``: spurious; in between: undecided.
PURE_TOL = 1e-6
PURE_MARGIN = 100.0
#: Relative tolerance for numerical ranks of solver output (Jacobians ``d mu(w)``, stratum
#: tangent spaces, dense end-to-end matrices): singular values above
#: ``CRITICAL_RANK_RTOL * sigma_max`` count.
CRITICAL_RANK_RTOL = 1e-7
#: Relative tolerance of the location of ``v = mu(w)`` (distances to components, roots); the
#: zero test uses :data:`lcn.training.ZERO_RTOL`.
GEOMETRY_TOL = 1e-7
#: Hessian eigenvalues below ``-HESSIAN_RTOL * max |eigenvalue|`` are negative (Morse index);
#: those within ``HESSIAN_RTOL * max |eigenvalue|`` of zero span the kernel.
HESSIAN_RTOL = 1e-6
#: A point whose relative gradient exceeds ``NOT_CRITICAL_FACTOR * tol`` is not critical.
NOT_CRITICAL_FACTOR = 1e3


@dataclass(frozen=True)
class ClassifyOptions:
    """The tolerances of one :func:`lcn.critical.classify_critical_points` call: ``tol`` (the
    relative gradient the points were solved to), ``geometry_tol`` (location), ``rank_rtol``
    (ranks), ``pure_tol`` (purity; ``pure_tol * PURE_MARGIN`` is the spurious threshold)."""

    tol: float = 1e-10
    geometry_tol: float = GEOMETRY_TOL
    rank_rtol: float = CRITICAL_RANK_RTOL
    pure_tol: float = PURE_TOL
