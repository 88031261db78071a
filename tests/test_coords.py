"""GCJ-02 / BD-09 <-> WGS-84: published reference pairs and round trips to < 0.5 m."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from coverage.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
TOL_M = 0.5


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres (WGS-84 ellipsoid)."""
    _, _, d = GEOD.inv(np.atleast_1d(lon1), np.atleast_1d(lat1),
                       np.atleast_1d(lon2), np.atleast_1d(lat2))
    return np.asarray(d)


# (wgs lon, wgs lat, gcj lon, gcj lat): Shanghai, Shenzhen, Beijing. Published in the test
# suite of googollee/eviltransform (python/test.py, go/transform_test.go), to ~6 decimals.
EVILTRANSFORM_WGS_GCJ = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]
# The same suite also lists two BD-09/WGS-84 pairs (near 120.02 E, 29.20 N); they are not used
# here because eviltransform's own formulas do not reproduce them (10-41 m apart), so they look
# measured rather than computed.
# wandergis/coordtransform README example results for the input (116.404, 39.915).
COORDTRANSFORM_IN = (116.404, 39.915)
COORDTRANSFORM_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
COORDTRANSFORM_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)  # closed-form inverse
COORDTRANSFORM_GCJ_TO_WGS = (116.39775550083061, 39.91359571849836)  # one-step inverse


@pytest.mark.parametrize("wlon,wlat,glon,glat", EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert dist_m(lon, lat, glon, glat)[0] < TOL_M
    assert abs(lon - glon) < 1e-6 and abs(lat - glat) < 1e-6
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert dist_m(lon, lat, wlon, wlat)[0] < TOL_M
    # the offset being corrected is hundreds of metres, so the test is not vacuous
    assert dist_m(glon, glat, wlon, wlat)[0] > 100


def test_coordtransform_readme_vectors():
    lon, lat = wgs84_to_gcj02(*COORDTRANSFORM_IN)
    assert (float(lon), float(lat)) == pytest.approx(COORDTRANSFORM_WGS_TO_GCJ, abs=1e-9)
    lon, lat = gcj02_to_bd09(*COORDTRANSFORM_IN)
    assert (float(lon), float(lat)) == pytest.approx(COORDTRANSFORM_GCJ_TO_BD, abs=1e-9)
    lon, lat = bd09_to_gcj02(*COORDTRANSFORM_IN)
    assert dist_m(lon, lat, *COORDTRANSFORM_BD_TO_GCJ)[0] < TOL_M
    lon, lat = bd09_to_gcj02(*COORDTRANSFORM_GCJ_TO_BD)
    assert dist_m(lon, lat, *COORDTRANSFORM_IN)[0] < TOL_M
    lon, lat = bd09_to_wgs84(*gcj02_to_bd09(*COORDTRANSFORM_WGS_TO_GCJ))
    assert dist_m(lon, lat, *COORDTRANSFORM_IN)[0] < TOL_M
    # their one-step GCJ->WGS is approximate (~1-2 m); ours must agree to a few metres and be
    # exact in the sense that the forward transform of our answer returns the input
    lon, lat = gcj02_to_wgs84(*COORDTRANSFORM_IN)
    assert dist_m(lon, lat, *COORDTRANSFORM_GCJ_TO_WGS)[0] < 5.0
    flon, flat = wgs84_to_gcj02(lon, lat)
    assert dist_m(flon, flat, *COORDTRANSFORM_IN)[0] < 0.01


def test_to_wgs84_dispatch_and_outside_china():
    lon, lat = 116.35, 40.07
    assert to_wgs84(lon, lat, "wgs84") == (pytest.approx(lon), pytest.approx(lat))
    g = wgs84_to_gcj02(lon, lat)
    b = wgs84_to_bd09(lon, lat)
    assert dist_m(*to_wgs84(*g, "gcj02"), lon, lat)[0] < TOL_M
    assert dist_m(*to_wgs84(*b, "bd09"), lon, lat)[0] < TOL_M
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(lon, lat, "cgcs2000x")
    # GCJ-02 leaves points outside China unchanged
    assert wgs84_to_gcj02(2.35, 48.85) == (pytest.approx(2.35), pytest.approx(48.85))


def test_vectorised_matches_scalar():
    lons = np.array([116.2, 116.35, 116.5])
    lats = np.array([39.9, 40.07, 40.1])
    vl, vt = gcj02_to_wgs84(lons, lats)
    for i in range(3):
        sl, st_ = gcj02_to_wgs84(lons[i], lats[i])
        assert vl[i] == pytest.approx(float(sl), abs=1e-12)
        assert vt[i] == pytest.approx(float(st_), abs=1e-12)


beijing = st.tuples(st.floats(115.4, 117.6), st.floats(39.4, 41.1))
china = st.tuples(st.floats(73.7, 134.8), st.floats(18.2, 53.4))


@settings(max_examples=200, deadline=None)
@given(beijing)
def test_round_trip_beijing(p):
    lon, lat = p
    for fwd, inv in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        assert dist_m(*inv(*fwd(lon, lat)), lon, lat)[0] < TOL_M
        # and from the other side: a GCJ/BD point read back lands on itself
        assert dist_m(*fwd(*inv(lon, lat)), lon, lat)[0] < TOL_M


@settings(max_examples=200, deadline=None)
@given(china)
def test_round_trip_china(p):
    lon, lat = p
    for fwd, inv in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84),
                     (gcj02_to_bd09, bd09_to_gcj02)):
        assert dist_m(*inv(*fwd(lon, lat)), lon, lat)[0] < TOL_M


def test_round_trip_china_grid_vectorised():
    lon, lat = np.meshgrid(np.linspace(73.7, 134.8, 60), np.linspace(18.2, 53.4, 40))
    lon, lat = lon.ravel(), lat.ravel()
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert dist_m(*back, lon, lat).max() < TOL_M
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert dist_m(*back, lon, lat).max() < TOL_M
