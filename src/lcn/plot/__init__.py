"""Pictures of LCN geometry and training (matplotlib; every function returns a ``Figure``).

* :func:`space`: function spaces (MATH.md 3-6): 2-D slices of stride-one spaces coloured by
  exact category and real-root count, the swallowtail, 3-D charts of hypersurface closures
  with ``M``, closure-only points, singular locus and boundary; :func:`space_data` gives the
  exact samples behind the colours.
* :func:`roots`: the roots of a filter grouped into the hyperroot orbits of each layer
  (MATH.md 3); :func:`roots_data`.
* :func:`flow`: gradient-descent trajectories in function space, the loss, and the conserved
  quantities ``||w_i||^2 - ||w_j||^2`` (MATH.md 8); :func:`flow_data`.
* :func:`save`: write a figure (``.png``, ``.svg``, ``.pdf``), refusing to overwrite a file
  this module did not write.

Matplotlib is imported inside the functions, always on the Agg canvas: no window opens.
"""

from lcn.plot._spacedata import SpaceData
from lcn.plot._style import CRITICAL_COLORS, POINT_CATEGORIES, POINT_COLORS
from lcn.plot.orbits import RootMarker, RootsData, draw_roots, roots, roots_data
from lcn.plot.output import check_target, is_ours, save
from lcn.plot.spaces import draw_space, space, space_data
from lcn.plot.trajectories import FlowData, draw_flow, flow, flow_data

__all__ = [
    "CRITICAL_COLORS",
    "FlowData",
    "POINT_CATEGORIES",
    "POINT_COLORS",
    "RootMarker",
    "RootsData",
    "SpaceData",
    "check_target",
    "draw_flow",
    "draw_roots",
    "draw_space",
    "flow",
    "flow_data",
    "is_ours",
    "roots",
    "roots_data",
    "save",
    "space",
    "space_data",
]
