"""Illustrative study-area data for any set of unit polygons and an OSM network of ways.

For trying circle15 (and testing it at scale) where no compounds or facility lists are at
hand. Only the streets are real; everything else is **ILLUSTRATIVE**, generated with fixed
seeds, exactly as for the embedded Huitian sample (``scripts/build_huitian_sample.py``):

* compounds are street blocks: the polygons the street centrelines enclose, cut by the units,
  kept when 1-80 ha, at least 60 m wide and not too thin (the rules of the Huitian sample);
  population = ``RESIDENTS_PER_HA`` x block area, of whom ``SHARE_60PLUS`` are aged 60+;
* facilities of eleven categories are random points on residential/tertiary/service streets
  (5-20 m off the centreline), at the Huitian sample's density per km² and spacing, in the
  units and an 850 m ring around them; bus stops are the network's real ``platform`` ways;
* ``area.toml`` uses the Huitian sample's twelve categories and walking thresholds.

Each unit is generated on its own (its own seed, from its name), so a unit's data do not
depend on which other units are built with it.

Example::

    from coverage.samplegen import build_sample
    build_sample(units, "beijing_osm2013_all_ways.gpkg", "out/sample", name="北京 示例")
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .io import toml_value, write_text
from .network import read_ways as network_read_ways
from .network import walk_network_from_ways

__all__ = [
    "CATEGORIES_TOML",
    "FACILITY_DENSITY",
    "build_sample",
    "covered_units",
    "host_segments",
    "illustrative_compounds",
    "illustrative_facilities",
    "read_ways",
    "street_blocks",
    "street_points",
]

log = logging.getLogger(__name__)

SEED = 20130101
RESIDENTS_PER_HA = 200.0  # illustrative: ~20,000 residents per km² of residential block
SHARE_60PLUS = 0.15  # illustrative order of magnitude (Beijing 2020 census: 60+ ~ 15-20 %)
FACILITY_RING_M = 850.0  # facilities also this far around the units (< the longest walk)
LOAD_BUFFER_M = 900.0  # the categories' longest walk (15 min at 1.0 m/s): what a run loads
STREET_BUFFER_M = 1500.0  # streets read around a unit to close its blocks
OFFSET_M = (5.0, 20.0)  # facility fronts sit this far off the street centreline

BLOCK_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "road",
})
HOST_HIGHWAYS = frozenset({"residential", "tertiary", "unclassified", "living_street",
                           "service"})
BLOCK_MIN_M2 = 10_000.0
BLOCK_MAX_M2 = 800_000.0
BLOCK_MIN_WIDTH_M = 60.0
BLOCK_MIN_COMPACT = 0.25


@dataclass(frozen=True)
class FacilityDensity:
    """Illustrative facilities of one category: how many per km² and how far apart."""

    key: str
    prefix: str
    label: str
    per_km2: float
    spacing_m: float


# The Huitian sample's counts (units + ring) over its ~99 km² (64 km² units + ~35 km² ring).
FACILITY_DENSITY = (
    FacilityDensity("elderly_station", "ES", "养老驿站", 72 / 99, 250.0),
    FacilityDensity("elderly_centre", "EC", "养老照料中心", 10 / 99, 1200.0),
    FacilityDensity("psych_station", "PS", "社会心理服务站", 6 / 99, 1500.0),
    FacilityDensity("health_station", "HS", "社区卫生服务站", 88 / 99, 250.0),
    FacilityDensity("community_service", "CS", "社区综合服务站", 140 / 99, 200.0),
    FacilityDensity("wet_market", "WM", "菜市场", 52 / 99, 350.0),
    FacilityDensity("convenience_store", "CV", "便利店", 330 / 99, 80.0),
    FacilityDensity("pharmacy", "PH", "药店", 128 / 99, 150.0),
    FacilityDensity("kindergarten", "KG", "幼儿园", 107 / 99, 150.0),
    FacilityDensity("primary_school", "PR", "小学", 44 / 99, 400.0),
    FacilityDensity("park_sports", "PK", "公园健身场地", 64 / 99, 300.0),
)

CATEGORIES_TOML = """\
[walk]
speed_m_s = 1.0
max_snap_m = 300

# The Huitian sample's categories and thresholds (GB 50180-2018 life-circle tiers; see
# data/huitian/area.toml for the reasoning behind each).
[[category]]
key = "elderly_station"
label = "社区养老服务驿站"
label_en = "Community elderly-care station"
minutes = 15
speed_m_s = 0.9
demand = "population_60plus"

[[category]]
key = "elderly_centre"
label = "养老照料中心"
label_en = "Elderly-care centre"
minutes = 15
speed_m_s = 0.9
demand = "population_60plus"

[[category]]
key = "psych_station"
label = "社会心理服务站"
label_en = "Psychological service station"
minutes = 15

[[category]]
key = "health_station"
label = "社区卫生服务站"
label_en = "Community health station"
minutes = 15

[[category]]
key = "community_service"
label = "社区综合服务站"
label_en = "Community service station"
minutes = 10

[[category]]
key = "wet_market"
label = "菜市场/生鲜超市"
label_en = "Wet market / fresh-food supermarket"
minutes = 10

[[category]]
key = "convenience_store"
label = "便利店"
label_en = "Convenience store"
minutes = 5

[[category]]
key = "pharmacy"
label = "药店"
label_en = "Pharmacy"
minutes = 10

[[category]]
key = "kindergarten"
label = "幼儿园"
label_en = "Kindergarten"
minutes = 5

[[category]]
key = "primary_school"
label = "小学"
label_en = "Primary school"
minutes = 10

[[category]]
key = "park_sports"
label = "公园/健身场地"
label_en = "Park / sports ground"
minutes = 10

[[category]]
key = "bus_stop"
label = "公交站"
label_en = "Bus stop"
minutes = 5
"""


def _unit_seed(seed: int, name: str) -> int:
    return seed ^ zlib.crc32(name.encode("utf-8"))


def read_ways(path: str | Path, crs: str, area: shapely.Geometry | None = None
              ) -> gpd.GeoDataFrame:
    """OSM ways (``highway``, ``name`` ...) touching ``area`` (in ``crs``), projected to ``crs``,
    in file order (so the output depends on the area only through which ways it selects)."""
    ways = network_read_ways(path, crs, None if area is None else area.buffer(100.0))
    if area is not None:
        ways = ways[ways.intersects(area)]
    return ways.reset_index(drop=True)


def _rect_width(rect: shapely.Geometry) -> float:
    c = np.asarray(rect.exterior.coords)
    return float(min(np.hypot(*(c[1] - c[0])), np.hypot(*(c[2] - c[1]))))


def street_blocks(ways: gpd.GeoDataFrame, unit: shapely.Geometry) -> list[shapely.Geometry]:
    """Street blocks of one unit (metres): polygonised centrelines cut by it, filtered."""
    lines = ways.loc[ways["highway"].isin(BLOCK_HIGHWAYS)].geometry.to_numpy()
    if len(lines) == 0:
        return []
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    polys = polys[shapely.intersects(polys, unit)]
    out = []
    for piece in shapely.get_parts(shapely.intersection(polys, unit)):
        for g in shapely.get_parts(shapely.make_valid(piece)):
            if g.geom_type != "Polygon":
                continue
            g = g.buffer(0)
            area = g.area
            if not BLOCK_MIN_M2 <= area <= BLOCK_MAX_M2:
                continue
            if 4 * math.pi * area / g.length**2 < BLOCK_MIN_COMPACT:
                continue
            if _rect_width(g.minimum_rotated_rectangle) < BLOCK_MIN_WIDTH_M:
                continue
            out.append(g)
    # north to south, then west to east (stable ids)
    cxy = np.array([[p.centroid.x, p.centroid.y] for p in out]).reshape(-1, 2)
    order = np.lexsort((np.round(cxy[:, 0], 1), -np.round(cxy[:, 1], 1)))
    return [out[i] for i in order]


def illustrative_compounds(units: gpd.GeoDataFrame, ways: gpd.GeoDataFrame,
                           prefixes: Sequence[str]) -> gpd.GeoDataFrame:
    """Street-block compounds of every unit with illustrative populations (``units.crs``)."""
    rows = []
    for (name, geom), prefix in zip(zip(units["name"], units.geometry, strict=True), prefixes,
                                    strict=True):
        near = ways[ways.intersects(geom.buffer(STREET_BUFFER_M))]
        for n, block in enumerate(street_blocks(near, geom), start=1):
            pop = max(1, round(block.area / 1e4 * RESIDENTS_PER_HA))
            rows.append({"id": f"{prefix}-{n:04d}", "name": f"{name} 街坊 {n:03d}",
                         "unit": name, "population": pop,
                         "population_60plus": max(1, math.floor(pop * SHARE_60PLUS + 0.5)),
                         "geometry": block})
    cols = ["id", "name", "unit", "population", "population_60plus", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry",
                            crs=units.crs)


def host_segments(ways: gpd.GeoDataFrame, area: shapely.Geometry, *, crs: str,
                  clip_to: shapely.Geometry | None = None) -> np.ndarray:
    """Street segments a facility front can sit on: host streets of the main connected
    component of the walk network circle15 builds from ``ways`` (a facility on a street island
    would serve nobody), with their midpoint in ``area``.

    ``clip_to`` is the area circle15 will load the network for (the units buffered by the longest
    walk), so that "main component" means the same as in the run.

    Returns
    -------
    ndarray, shape (k, 4)
        ``x0, y0, x1, y1`` in ``crs`` (metres).
    """
    if len(ways) == 0:
        return np.zeros((0, 4))
    net = walk_network_from_ways(ways, crs, clip_to=clip_to)
    main = net.component[net.edge_u] == net.main_component
    e = np.flatnonzero(main & np.isin(net.edge_highway, list(HOST_HIGHWAYS)))
    s = np.hstack([net.node_xy[net.edge_u[e]], net.node_xy[net.edge_v[e]]])
    mx, my = (s[:, 0] + s[:, 2]) / 2, (s[:, 1] + s[:, 3]) / 2
    s = s[shapely.contains_xy(area, mx, my)]
    return s[np.hypot(s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]) > 0]


def street_points(segs: np.ndarray, rng: np.random.Generator, n: int, spacing_m: float,
                  area: shapely.Geometry, *, avoid: Sequence[tuple[float, float, float]] = (),
                  others: np.ndarray | None = None, max_tries: int | None = None) -> np.ndarray:
    """Up to ``n`` random points on street fronts in ``area``, at least ``spacing_m`` apart.

    Segments are chosen in proportion to their length; points sit ``OFFSET_M`` off the
    centreline like a building front. ``avoid`` holds ``(x, y, radius_m)`` discs left empty (gaps
    in provision); ``others`` are points already placed that new ones keep their spacing from.
    """
    if n <= 0 or len(segs) == 0:
        return np.zeros((0, 2))
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    cum = np.cumsum(length) / length.sum()
    placed = [] if others is None else [np.asarray(p, float) for p in others]
    start = len(placed)
    tree = None
    for _ in range(max_tries if max_tries is not None else 50 * n):
        i = min(int(np.searchsorted(cum, rng.random())), len(segs) - 1)
        x0, y0, x1, y1 = segs[i]
        t = rng.random()
        dx, dy = (x1 - x0) / length[i], (y1 - y0) / length[i]
        off = rng.uniform(*OFFSET_M) * (1 if rng.random() < 0.5 else -1)
        p = np.array([x0 + t * (x1 - x0) - dy * off, y0 + t * (y1 - y0) + dx * off])
        if not shapely.contains_xy(area, p[0], p[1]):
            continue
        if any(math.hypot(p[0] - ax, p[1] - ay) < r for ax, ay, r in avoid):
            continue
        if placed and (tree is None or len(tree.data) != len(placed)):
            tree = cKDTree(np.asarray(placed))
        if placed and tree is not None and tree.query_ball_point(p, spacing_m - 1e-9):
            continue
        placed.append(p)
        if len(placed) - start == n:
            break
    if len(placed) - start < n:
        log.info("placed %d of %d street points (spacing %.0f m)", len(placed) - start, n,
                 spacing_m)
    return np.asarray(placed[start:]).reshape(-1, 2)


def illustrative_facilities(units: gpd.GeoDataFrame, ways: gpd.GeoDataFrame,
                            prefixes: Sequence[str], *, seed: int = SEED) -> gpd.GeoDataFrame:
    """Illustrative facilities around every unit, plus the real bus platforms (``units.crs``).

    Columns ``id, name, category, status, capacity, source, geometry``.
    """
    rows = []
    for name, geom, prefix in zip(units["name"], units.geometry, prefixes, strict=True):
        rng = np.random.default_rng(_unit_seed(seed, name))
        area = geom.buffer(FACILITY_RING_M)
        near = ways[ways.intersects(area)]
        segs = host_segments(near, area, crs=str(units.crs),
                             clip_to=geom.buffer(LOAD_BUFFER_M))
        km2 = area.area / 1e6
        for spec in FACILITY_DENSITY:
            pts = street_points(segs, rng, max(1, round(spec.per_km2 * km2)), spec.spacing_m,
                                area)
            for k, (x, y) in enumerate(pts, start=1):
                rows.append({"id": f"{prefix}-{spec.prefix}-{k:03d}",
                             "name": f"{spec.label}（示例）{name} {k:02d}",
                             "category": spec.key, "status": "existing", "capacity": "",
                             "source": "illustrative", "geometry": shapely.Point(x, y)})
        plat = near[(near["highway"] == "platform") & near.intersects(geom)]
        for k, line in enumerate(plat.geometry, start=1):
            mid = line.interpolate(0.5, normalized=True)
            if not area.contains(mid):
                continue
            label = plat["name"].iloc[k - 1] if "name" in plat else None
            rows.append({"id": f"{prefix}-BS-{k:03d}",
                         "name": label if isinstance(label, str) and label else f"公交站 {k:03d}",
                         "category": "bus_stop", "status": "existing", "capacity": "",
                         "source": "osm", "geometry": mid})
    cols = ["id", "name", "category", "status", "capacity", "source", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry",
                            crs=units.crs)


def _geojson(gdf: gpd.GeoDataFrame, props: Sequence[str]) -> str:
    wgs = gdf.to_crs(4326)
    feats = []
    for rec, geom in zip(wgs[list(props)].to_dict("records"), wgs.geometry, strict=True):
        g = shapely.set_precision(geom, 1e-7)
        m = shapely.geometry.mapping(g)
        feats.append(json.dumps({"type": "Feature", "properties": rec,
                                 "geometry": {"type": m["type"],
                                              "coordinates": m["coordinates"]}},
                                ensure_ascii=False, separators=(",", ":")))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(feats) + "\n]}\n"


def _write(path: Path, text: str) -> Path:
    return write_text(path, text)


def build_sample(units: gpd.GeoDataFrame, network: str | Path, out: str | Path, *,
                 name: str, crs: str = "EPSG:32650", seed: int = SEED,
                 network_in_config: str | None = None, tiles: int = 1) -> Path:
    """Write an illustrative study area for ``units`` into ``out``; returns its ``area.toml``.

    Parameters
    ----------
    units : GeoDataFrame
        ``name`` (unique) and polygon geometry, any CRS.
    network : path
        A GeoPackage of OSM ways (e.g. the 2013 Beijing export); also the config's network.
    out : path
        Folder for ``area.toml``, ``boundaries.geojson``, ``compounds.geojson`` and
        ``facilities.csv`` (created).
    name : str
        Study-area name.
    crs : str
        Projected CRS (metres).
    network_in_config : str, optional
        How ``area.toml`` names the network (default: its absolute path).
    tiles : int
        ``[area] tiles`` of the config (1 = untiled).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    units = units[["name", "geometry"]].to_crs(crs).reset_index(drop=True)
    units["geometry"] = shapely.make_valid(units.geometry.to_numpy())
    prefixes = [f"U{i + 1:03d}" for i in range(len(units))]
    ways = read_ways(network, crs, shapely.union_all(units.geometry.to_numpy()).buffer(
        STREET_BUFFER_M))
    compounds = illustrative_compounds(units, ways, prefixes)
    facilities = illustrative_facilities(units, ways, prefixes, seed=seed)
    _write(out / "boundaries.geojson", _geojson(units, ["name"]))
    _write(out / "compounds.geojson",
           _geojson(compounds, ["id", "name", "unit", "population", "population_60plus"]))
    lonlat = facilities.geometry.to_crs(4326)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "category", "lon", "lat", "status", "capacity", "source"])
    for r, p in zip(facilities.itertuples(), lonlat, strict=True):
        w.writerow([r.id, r.name, r.category, f"{p.x:.6f}", f"{p.y:.6f}", r.status,
                    r.capacity, r.source])
    _write(out / "facilities.csv", buf.getvalue())
    net = network_in_config or str(Path(network).resolve())
    text = (
        f"# {name}: ILLUSTRATIVE study area generated by coverage.samplegen.\n"
        "# Real: the street network (OpenStreetMap, ODbL) and the unit polygons. Illustrative:\n"
        "# compounds (street blocks, populations by area) and facilities (random street\n"
        "# fronts at the Huitian sample's densities; bus stops are the network's platforms).\n\n"
        "[area]\n"
        f"name = {toml_value(str(name))}\n"
        f"crs = {toml_value(str(crs))}\n"
        'boundaries = "boundaries.geojson"\n'
        f"network = {toml_value(str(net))}\n"
        + (f"tiles = {int(tiles)}\n" if tiles != 1 else "")
        + "\n" + CATEGORIES_TOML
        + '\n[[facilities]]\npath = "facilities.csv"\ncoords = "wgs84"\n\n'
        '[compounds]\npath = "compounds.geojson"\n'
    )
    _write(out / "area.toml", text)
    log.info("%s: %d units, %d compounds, %d facilities", name, len(units), len(compounds),
             len(facilities))
    return out / "area.toml"


def covered_units(units: gpd.GeoDataFrame, network: str | Path, *,
                  crs: str = "EPSG:32650") -> gpd.GeoDataFrame:
    """The units lying wholly inside the network's extent (the convex hull of its ways).

    The 2013 Beijing export stops at 40.096 N; units beyond it would get no streets.
    """
    ways = gpd.read_file(network, columns=["highway"])
    hull = shapely.convex_hull(shapely.union_all(ways.geometry.to_crs(crs).to_numpy()))
    metric = units.to_crs(crs)
    return units[shapely.within(metric.geometry.to_numpy(), hull)].reset_index(drop=True)
