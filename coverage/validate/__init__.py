"""Check the planner's tables and turn them into clean, projected GeoDataFrames.

Every function here *collects* problems (:class:`~coverage.errors.Problem`: file, 1-based data
row, field, what is wrong, how to fix it) and returns them next to its result, so that
:func:`coverage.inputs.load_inputs` can raise one :class:`~coverage.errors.InputError` listing
everything wrong in every file. The same problem in many rows is reported once with the rows
(:func:`group_problems`: "unknown unit '清河街道' in rows 1–32").

Decisions worth knowing
-----------------------
* **Coordinates** are converted from ``gcj02``/``bd09`` to WGS-84 before any other check, then
  projected once to the area CRS.
* **Swapped lat/lon** is reported when the values are out of range but valid swapped, or when a
  point lies outside the study area but its swapped position lies inside.
* **Study area for points** is the union of the units buffered by the longest walk of any
  category (``AreaConfig.max_walk_m``): a facility just outside the units still serves homes
  inside. District- or city-wide lists are welcome: points beyond it are *dropped* (one warning
  per file; listed in :attr:`~coverage.inputs.StudyInputs.dropped`). Only when (nearly) every
  point of a file lies outside (fewer than :data:`NEARLY_ALL_OUTSIDE` of them inside) is it an
  error: one for the file, naming the nearest point, with the swapped/GCJ-02 hints. In strict
  mode every point outside is an error of its own.
* **Categories not in the config** (a district list of every kind of facility): those rows are
  dropped with one warning per file listing the categories and counts; strict mode makes them
  errors. An empty category is always an error (candidates: empty = any category).
* **Numbers** (population, capacity, floor area; :func:`parse_amount`): a comma is accepted only
  as a thousands separator between groups of three digits (``1,200``, ``12,345.5``). Anything
  ambiguous is an error naming row and field: ``12,5`` (decimal comma?), ``1.200`` (1.2 or
  1200?), ``1 200``. Numbers typed as numbers (XLSX, GeoJSON, GeoPackage) are taken as they are.
  Values beyond 1e12 (e.g. ``1e308``) or not finite are errors.
* **Invalid polygons** (self-intersections, bow-ties) are *repaired* with
  :func:`shapely.make_valid` and a warning naming file, row and :func:`shapely.is_valid_reason`
  is logged; a polygon that is empty, has no area after repair, or is not a polygon at all is an
  error.
* **population_60plus** may be absent: it is then NaN (warning), and it is an error only if a
  category uses it as ``demand``. The same holds for any other demand column.
* **Compounds** keep a ``unit`` column. If the file has none (or a cell is empty) the unit is the
  one containing the compound's representative point. Compounds in the walking buffer but in no
  unit get ``unit = ""`` and ``in_area = False`` (kept, as homes near the edge, but not counted
  in unit coverage; warning). Compounds entirely outside the buffer are dropped with a warning;
  if that leaves none, or none lies in a unit, it is an error.
"""

from __future__ import annotations

from ._common import (
    DROPPED_COLUMNS,
    NEARLY_ALL_OUTSIDE,
    POINT_COLUMNS,
    closest,
    empty_point_table,
    group_problems,
    parse_amount,
)
from .points import (
    PointLayer,
    candidate_problems,
    check_duplicate_ids,
    locate_points,
    parse_points,
    plan_input_problems,
    project_lonlat,
)
from .polygons import parse_boundaries, parse_compounds, polygons_problems

__all__ = [
    "DROPPED_COLUMNS",
    "NEARLY_ALL_OUTSIDE",
    "POINT_COLUMNS",
    "PointLayer",
    "candidate_problems",
    "check_duplicate_ids",
    "closest",
    "empty_point_table",
    "group_problems",
    "locate_points",
    "parse_amount",
    "parse_boundaries",
    "parse_compounds",
    "parse_points",
    "plan_input_problems",
    "polygons_problems",
    "project_lonlat",
]
