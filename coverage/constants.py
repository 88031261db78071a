"""Constants shared by several modules, defined once.

A rule that two modules must agree on (the tiling proof needs the gate tolerance the access
stage uses; coverage and siting must count "within the threshold" the same way) lives here, so
changing it in one place changes it everywhere. Module-specific tuning stays in its module.
"""

from __future__ import annotations

__all__ = [
    "COORD_SYSTEMS",
    "DEFAULT_CANDIDATE_SPACING_M",
    "DEFAULT_ISOCHRONE_BUFFER_M",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_MAX_WALK_MIN",
    "DEFAULT_SPEED_M_S",
    "DIST_TOL_M",
    "FAR_FROM_STREET_M",
    "GATE_TOL_M",
    "LANGS",
    "SPEED_RANGE_M_S",
]

#: Languages of the map, the report and the QGIS project (``--lang``; :mod:`coverage._i18n`).
LANGS = ("zh", "en")

#: Walking speeds accepted anywhere (m/s, inclusive): 0.3 m/s (1.1 km/h, a very slow walker) to
#: 3.0 m/s (10.8 km/h, running). Anything else is almost surely km/h or a typo.
SPEED_RANGE_M_S: tuple[float, float] = (0.3, 3.0)

#: Default walking speed (m/s; 1.0 m/s = 3.6 km/h), ``[walk] speed_m_s``.
DEFAULT_SPEED_M_S = 1.0

#: A point farther than this from every walkable street is "off network" (m), ``[walk]
#: max_snap_m``.
DEFAULT_MAX_SNAP_M = 300.0

#: Walking times beyond this are reported as unreachable (minutes), ``[walk] max_walk_min``.
DEFAULT_MAX_WALK_MIN = 60.0

#: Width drawn around reachable streets in isochrone polygons (m), ``[area]
#: isochrone_buffer_m``.
DEFAULT_ISOCHRONE_BUFFER_M = 50.0

#: Minimum spacing of generated candidate sites (m), ``[candidates] spacing_m``.
DEFAULT_CANDIDATE_SPACING_M = 200.0

#: A gate (``entrance=*`` / ``barrier=gate``) belongs to a compound whose boundary is within this
#: distance (m). The access stage uses it, and the tiling halo must include it.
GATE_TOL_M = 30.0

#: Distances within this of a threshold count as within it (m): a facility exactly at the
#: threshold must not be lost to floating-point rounding of edge lengths. Coverage and siting
#: must use the same value, or a site would cover a compound that coverage calls uncovered.
DIST_TOL_M = 1e-6

#: Coordinate systems point files may be given in (converted to WGS-84 on input).
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

#: A facility, planned station or candidate farther than this from the nearest walkable street
#: is probably misplaced (m): it is kept (its straight walk to the street counts), with a
#: warning naming it. Beyond ``[walk] max_snap_m`` it is left out.
FAR_FROM_STREET_M = 100.0
