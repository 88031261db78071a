"""Geometry idioms shared by the pipeline stages."""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

QUAD_SEGS = 16  # straight pieces per quarter circle (the default of shapely's .buffer method)


def buffer_covering(geom: BaseGeometry, distance_m: float) -> BaseGeometry:
    """``geom`` buffered so that it holds every point within ``distance_m`` of ``geom``.

    GEOS draws each round corner of a buffer as chords whose ends lie on the circle, so a
    plain ``geom.buffer(d)`` leaves out slivers of the points within ``d`` (up to
    ``d * (1 - cos(pi / 64))``, 1.1 m at 900 m, at every convex corner). Scaling the radius by
    ``1 / cos(pi / (4 * QUAD_SEGS))`` puts the chords outside the circle: the result holds the
    exact offset and reaches at most 0.121 % of ``distance_m`` beyond it. Where a region must
    hold every point within a distance (the load area, a tile's halo), this is the buffer to
    use; whether a point lies within ``distance_m`` is :func:`within_distance`'s question.

    A negative ``distance_m`` shrinks ``geom`` the same way: the result holds only points at
    least ``-distance_m`` inside ``geom``.

    Parameters
    ----------
    geom : shapely geometry
        In a projected CRS (metres).
    distance_m : float
        Buffer distance (m).

    Returns
    -------
    shapely geometry
    """
    scale = 1.0 / math.cos(math.pi / (4 * QUAD_SEGS))
    return shapely.buffer(geom, distance_m * scale, quad_segs=QUAD_SEGS)


def within_distance(area: BaseGeometry, geoms: ArrayLike, distance_m: float) -> NDArray[np.bool_]:
    """Which of ``geoms`` lie within ``distance_m`` of ``area`` (exact distances, no buffer).

    The test of "inside the units plus the longest walk" for every input point and compound:
    a buffer would draw the reach's round corners as chords (see :func:`buffer_covering`).

    Parameters
    ----------
    area : shapely geometry
        E.g. the union of the units, in a projected CRS (metres).
    geoms : array of shapely geometries
    distance_m : float
        Distance (m); 0 means intersecting ``area``.

    Returns
    -------
    numpy.ndarray of bool
    """
    shapely.prepare(area)
    return np.asarray(shapely.dwithin(area, np.asarray(geoms, dtype=object), distance_m), bool)
