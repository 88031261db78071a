#!/usr/bin/env python3
"""Build the embedded 回天地区 (Huitian) sample in ``data/huitian/`` from ``../shared/data``.

Real inputs (see ``data/huitian/PROVENANCE.md``):

* OpenStreetMap 2013 streets of Beijing (ODbL, "© OpenStreetMap contributors"),
  ``osm/beijing_osm2013_all_ways.gpkg``;
* the MIT township layer ``boundaries/beijing_townships.gpkg`` (pre-2020 division).

Everything else (compound populations, facilities, proposed stations, candidate sites) is
*illustrative*, generated here with fixed seeds. ``reference/ht_jd.json`` (no licence) is only
read to print/record an IoU check of the derived units; none of its geometry is written.

The output is deterministic: running the script twice gives byte-identical files (fixed seeds,
sorted output, fixed rounding, no timestamps).

Usage::

    .venv/bin/python scripts/build_huitian_sample.py [--shared ../shared/data] [--out data/huitian]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import Transformer
from scipy.spatial import cKDTree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coverage.access import AccessPoints, compound_access_points, snap_points  # noqa: E402
from coverage.coords import wgs84_to_gcj02  # noqa: E402
from coverage.io import write_text  # noqa: E402
from coverage.metrics import compound_distance  # noqa: E402
from coverage.network import WalkNetwork, walk_network_from_ways  # noqa: E402
from coverage.reach import nearest_source_distances  # noqa: E402
from coverage.samplegen import host_segments, street_blocks, street_points  # noqa: E402

log = logging.getLogger("build_huitian_sample")

CRS_M = "EPSG:32650"  # UTM 50N: every distance/area below is in metres in this CRS
SEED = 20130101
BUFFER_M = 1500.0  # streets: longest walk (15 min at 1.0-1.2 m/s = 900-1080 m) plus margin
# Facilities: within this of the units. The loader rejects points farther than the config's
# longest walk (15 min at 1.0 m/s = 900 m) from the units.
FACILITY_RING_M = 850.0
TOTAL_POPULATION = 860_000  # Huitian plan (2018-2020): about 86万 residents
SHARE_60PLUS = 0.15  # illustrative order of magnitude (Beijing 2020 census, 60+ ~ 15-20 %)
UNIT_ROUND = 1000  # unit totals are rounded to this many residents

# --- units ---------------------------------------------------------------------------------

UNCHANGED = ("东小口镇", "霍营街道", "天通苑北街道", "天通苑南街道")
OLD_HLG = "回龙观镇"
UNIT_PREFIX = {
    "东小口镇": "DXK",
    "霍营街道": "HY",
    "天通苑北街道": "TTB",
    "天通苑南街道": "TTN",
    "回龙观街道": "HLG",
    "龙泽园街道": "LZY",
    "史各庄街道": "SGZ",
}
UNIT_NAMES = tuple(sorted(UNIT_PREFIX))

# The split of the old 回龙观镇 follows real streets of the 2013 data (way ids are the export's
# ``way_idx``; streets.osm writes them as way id -(way_idx + 1)):
#   * 京藏高速 G6 (北京-拉萨高速公路 and its bridges) separates west from east;
#   * 同成街 (Tongcheng Jie / Tongcheng Street) separates 回龙观 (south) from 龙泽园 (north);
#   * the unnamed streets 9354, 2484 and 15563 (north edge of the 龙泽园 estates; a straight
#     280 m link joins 2484 to 15563 where the 2013 data has no street) separate 龙泽园 from
#     史各庄;
#   * west of G6, 北清路 and the unnamed tertiary street 5887 separate 回龙观 (south-east) from
#     史各庄; 5887 runs ~50 m inside the township boundary near its western corner, so it is
#     cut where it comes nearest to that boundary and joined to it by a straight ~50 m link;
#   * the easternmost part of 回龙观镇 (east of the unnamed tertiary 303, 回龙观西大街 and the
#     residential street 2946) is today part of 霍营街道 and is added to it.
# (label, OSM names, way_idx chain, node path [(way_idx, from node, to node)],
#  extension of both ends in metres, join): join=True cuts the line where it comes nearest to
#  the township boundary, keeps the part towards the line's last vertex, links the cut to the
#  boundary and extends only the far end.
SPLIT_CUTTERS: tuple[tuple[str, tuple[str, ...], tuple[int, ...],
                           tuple[tuple[int, int, int], ...], float, bool], ...] = (
    ("京藏高速 G6", ("北京-拉萨高速公路", "辛庄桥", "西三旗桥"), (), (), 300.0, False),
    ("同成街", ("Tongcheng Jie", "Tongcheng Street"), (), (), 400.0, False),
    ("北清路", ("北清路",), (), (), 150.0, False),
    ("龙泽园 north edge", (), (9354, 2484, 15563), (), 150.0, False),
    ("tertiary 5887", (), (5887,), (), 150.0, True),
    ("霍营 west edge", (), (), ((303, 1653906131, 291299661), (12141, 291299661, 529963396),
                               (2946, 529963396, 701039292)), 150.0, False),
)
# One point well inside each piece (lon, lat). Every piece >= SLIVER_M2 must hold exactly one
# seed; smaller pieces (slivers between the carriageways of a cutting road) join the
# neighbour they share most border with.
SPLIT_SEEDS = (
    ("回龙观街道", 116.2998, 40.0767),  # west of G6, south of 北清路 / east of 5887
    ("回龙观街道", 116.3375, 40.0634),  # east of G6, south of 同成街
    ("龙泽园街道", 116.3256, 40.0786),  # east of G6, north of 同成街
    ("史各庄街道", 116.2960, 40.1037),  # north of 北清路
    ("史各庄街道", 116.3138, 40.0912),  # east of G6, north of the 龙泽园 estates
    ("史各庄街道", 116.2775, 40.0828),  # west of 5887, south of 北清路
    ("霍营街道", 116.3526, 40.0752),  # east of 303 / 2946
)
SLIVER_M2 = 50_000.0

# --- streets -------------------------------------------------------------------------------

# Street blocks (which streets bound them, which sizes and shapes are kept) and facility
# fronts follow coverage.samplegen, the same rules as any other illustrative area.
# What circle15 loads around the units: the config's longest walk (15 min at 1.0 m/s).
LOAD_BUFFER_M = 900.0

# --- facilities ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilitySpec:
    """How many illustrative facilities of one category to place and where not to."""

    key: str
    prefix: str
    label: str
    n_inside: int  # inside the seven units
    n_ring: int  # in the 1.5 km ring around them
    spacing_m: float  # minimum distance between two of this category
    gaps: int  # number of gap zones left without this category
    gap_radius_m: float


FACILITIES = (
    FacilitySpec("elderly_station", "ES", "养老驿站", 58, 14, 250.0, 4, 900.0),
    FacilitySpec("elderly_centre", "EC", "养老照料中心", 7, 3, 1200.0, 0, 0.0),
    FacilitySpec("psych_station", "PS", "社会心理服务站", 4, 2, 1500.0, 0, 0.0),
    FacilitySpec("health_station", "HS", "社区卫生服务站", 70, 18, 250.0, 4, 900.0),
    FacilitySpec("community_service", "CS", "社区综合服务站", 110, 30, 200.0, 3, 700.0),
    FacilitySpec("wet_market", "WM", "菜市场", 40, 12, 350.0, 3, 800.0),
    FacilitySpec("convenience_store", "CV", "便利店", 260, 70, 80.0, 4, 600.0),
    FacilitySpec("pharmacy", "PH", "药店", 100, 28, 150.0, 3, 700.0),
    FacilitySpec("kindergarten", "KG", "幼儿园", 85, 22, 150.0, 3, 600.0),
    FacilitySpec("primary_school", "PR", "小学", 34, 10, 400.0, 3, 800.0),
    FacilitySpec("park_sports", "PK", "公园健身场地", 50, 14, 300.0, 3, 800.0),
)
PROPOSED = (("elderly_station", 6), ("elderly_centre", 2), ("psych_station", 2))
# Walking thresholds used to place the proposed stations (must match area.toml).
WALK_M = {"elderly_station": 15 * 60 * 0.9, "elderly_centre": 15 * 60 * 0.9,
          "psych_station": 15 * 60 * 1.0}
N_CANDIDATES = 150
# The joint plan (illustrative): floor areas of the candidate spaces and capacities of the
# existing facilities of the planned categories. Drawn from a second seeded stream, so every
# other file stays as it was.
PLAN_SEED = (SEED, 13)
FLOOR_AREA_M2 = (250.0, 0.7, 40.0, 3000.0, 5.0)  # lognormal median, sigma, min, max, rounding
# Share of candidate spaces whose floor area is known (the district's stock-space list); the
# others are street points of unknown floor area.
FLOOR_AREA_KNOWN = 0.35
# capacity of an existing facility, in its category's demand unit: low, high, rounding
EXISTING_CAPACITY = {
    "elderly_station": (1500, 4500, 50),  # residents aged 60+
    "elderly_centre": (4000, 8000, 100),  # residents aged 60+
    "psych_station": (30_000, 60_000, 1000),  # residents
}
MAX_TRIES = 200_000  # random street points tried per placement
CANDIDATE_SPACING_M = 150.0

OSM_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<osm version="0.6" generator="circle15 scripts/build_huitian_sample.py from '
    'yangli1-stanford/trajectoryTracerDemo beijing_2013 (re-georeferenced)" '
    'copyright="OpenStreetMap and contributors" '
    'attribution="http://www.openstreetmap.org/copyright" '
    'license="http://opendatacommons.org/licenses/odbl/1-0/">\n'
)


# --- helpers -------------------------------------------------------------------------------


def _to_wgs84() -> Transformer:
    return Transformer.from_crs(CRS_M, "EPSG:4326", always_xy=True)


def _to_metric() -> Transformer:
    return Transformer.from_crs("EPSG:4326", CRS_M, always_xy=True)


def _extend(line: shapely.LineString, dist_m: float) -> shapely.LineString:
    """Extend both ends of a line straight along its end segments by ``dist_m`` metres."""
    c = np.asarray(line.coords)
    d0 = c[0] - c[1]
    d1 = c[-1] - c[-2]
    p0 = c[0] + d0 / np.hypot(*d0) * dist_m
    p1 = c[-1] + d1 / np.hypot(*d1) * dist_m
    return shapely.LineString(np.vstack([p0, c, p1]))


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (ties by index)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    order = np.lexsort((np.arange(len(raw)), -(raw - out)))
    out[order[:rest]] += 1
    return out


def _rounded_geojson_geometry(geom: shapely.Geometry, ndigits: int = 6) -> dict:
    def rnd(obj):
        if isinstance(obj, (list, tuple)):
            if obj and isinstance(obj[0], float):
                return [round(v, ndigits) for v in obj]
            return [rnd(o) for o in obj]
        return obj

    m = shapely.geometry.mapping(geom)
    return {"type": m["type"], "coordinates": rnd(m["coordinates"])}


def _snap_polygons(geoms: Sequence[shapely.Geometry], grid: float) -> list[shapely.Geometry]:
    """Snap WGS-84 polygons to a ``grid`` degree grid, keep them valid and CCW-oriented."""
    out = []
    for g in geoms:
        s = shapely.set_precision(g, grid)
        if s.geom_type == "GeometryCollection":
            s = shapely.MultiPolygon([p for p in s.geoms if p.geom_type == "Polygon"])
        out.append(shapely.orient_polygons(s))
    return out


def _feature_collection(rows: Iterable[tuple[dict, shapely.Geometry]]) -> str:
    lines = ['{"type":"FeatureCollection","features":[']
    feats = [
        json.dumps({"type": "Feature", "properties": props,
                    "geometry": _rounded_geojson_geometry(geom)},
                   ensure_ascii=False, separators=(",", ":"))
        for props, geom in rows
    ]
    lines.append(",\n".join(feats))
    lines.append("]}\n")
    return "\n".join(lines)


# --- inputs --------------------------------------------------------------------------------


def load_ways(shared: Path) -> gpd.GeoDataFrame:
    """All 2013 ways near Huitian, WGS-84 geometry plus a metric copy (``geom_m``)."""
    ways = gpd.read_file(shared / "osm" / "beijing_osm2013_all_ways.gpkg",
                         bbox=(116.15, 39.95, 116.60, 40.20))
    ways = ways.sort_values("way_idx").reset_index(drop=True)
    ways["geom_m"] = ways.geometry.to_crs(CRS_M).values
    return ways


def load_old_units(shared: Path) -> gpd.GeoDataFrame:
    t = gpd.read_file(shared / "boundaries" / "beijing_townships.gpkg")
    t = t[t["乡"].isin((*UNCHANGED, OLD_HLG)) & (t["县"] == "昌平区")]
    if len(t) != 5:
        raise SystemExit(f"expected 5 Huitian townships in the MIT layer, found {len(t)}")
    return t.rename(columns={"乡": "name"})[["name", "geometry"]].to_crs(CRS_M)


# --- units ---------------------------------------------------------------------------------


def _chain(ways: gpd.GeoDataFrame, idx: Sequence[int]) -> shapely.LineString:
    """Join ways (in order) into one line; gaps between consecutive ways become straight links."""
    parts = [list(ways.loc[ways.way_idx == i, "geom_m"].iloc[0].coords) for i in idx]
    if len(parts) > 1:
        first, nxt = parts[0], parts[1]
        if min(math.dist(first[0], nxt[0]), math.dist(first[0], nxt[-1])) < min(
                math.dist(first[-1], nxt[0]), math.dist(first[-1], nxt[-1])):
            parts[0] = first[::-1]
    coords = list(parts[0])
    for c in parts[1:]:
        if math.dist(coords[-1], c[-1]) < math.dist(coords[-1], c[0]):
            c = c[::-1]
        coords.extend(c)
    return shapely.LineString(coords)


def _node_path(ways: gpd.GeoDataFrame, steps: Sequence[tuple[int, int, int]]) -> shapely.LineString:
    """A line along ways from node to node: [(way_idx, from_node, to_node), ...]."""
    coords: list[tuple[float, float]] = []
    for way_idx, a, b in steps:
        row = ways.loc[ways.way_idx == way_idx].iloc[0]
        nids = [int(v) for v in row.node_ids.split()]
        c = list(row.geom_m.coords)
        i, j = nids.index(a), nids.index(b)
        part = c[i:j + 1] if i <= j else c[j:i + 1][::-1]
        coords.extend(part if not coords else part[1:])
    return shapely.LineString(coords)


def _cutters(old: shapely.Geometry, ways: gpd.GeoDataFrame) -> list[shapely.LineString]:
    """The street lines (extended, optionally joined to the boundary) that split the old unit."""
    near = ways[ways.geom_m.intersects(old.buffer(200.0))]
    cutters: list[shapely.LineString] = []
    for _what, names, chain, path, ext_m, join in SPLIT_CUTTERS:
        lines = []
        if names:
            sel = near[near["name"].isin(names) & (near.highway != "platform")]
            merged = shapely.line_merge(shapely.union_all(sel.geom_m.values))
            lines += list(shapely.get_parts(merged))
        if chain:
            lines.append(_chain(ways, chain))
        if path:
            lines.append(_node_path(ways, path))
        for g in lines:
            ext = _extend(g, ext_m)
            if join:
                on_line, on_bd = shapely.ops.nearest_points(g, old.boundary)
                keep = shapely.ops.substring(ext, ext.project(on_line), ext.length)
                ext = shapely.LineString([on_bd, *keep.coords])
            cutters.append(ext)
    return cutters


def _seed_labels(faces: list[shapely.Geometry]) -> list[str | None]:
    """Each face's unit from the seed point inside it (None: no seed)."""
    fwd = _to_metric()
    label: list[str | None] = [None] * len(faces)
    for name, lon, lat in SPLIT_SEEDS:
        p = shapely.Point(fwd.transform(lon, lat))
        hits = [i for i, f in enumerate(faces) if f.contains(p)]
        if len(hits) != 1:
            raise SystemExit(f"split seed {name} ({lon}, {lat}) lies in {len(hits)} faces")
        if label[hits[0]] not in (None, name):
            raise SystemExit(f"seed {name} ({lon}, {lat}) shares a face with {label[hits[0]]}")
        label[hits[0]] = name
    for i, f in enumerate(faces):
        if label[i] is None and f.area >= SLIVER_M2:
            c = f.representative_point()
            raise SystemExit(f"a {f.area / 1e4:.0f} ha piece at {c} has no seed")
    return label


def _best_neighbour(faces: list[shapely.Geometry], label: list[str | None], i: int) -> str | None:
    """The label of the labelled face sharing the longest border with face ``i``."""
    best, best_len = None, 0.0
    for j, lab in enumerate(label):
        if lab is not None:
            shared_len = faces[i].boundary.intersection(faces[j].boundary).length
            if shared_len > best_len:
                best, best_len = lab, shared_len
    return best


def split_old_hlg(old: shapely.Geometry, ways: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    """Split the old 回龙观镇 along real streets; returns metric pieces keyed by unit name."""
    cutters = _cutters(old, ways)
    lines = shapely.union_all([old.boundary, *[c.intersection(old.buffer(1.0)) for c in cutters]])
    faces = [f for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
             if f.representative_point().within(old)]
    faces = [f.intersection(old) for f in faces]
    label = _seed_labels(faces)
    # slivers join the labelled neighbour with the longest shared border
    for _ in range(20):
        todo = [i for i, lab in enumerate(label) if lab is None]
        if not todo:
            break
        for i in todo:
            label[i] = _best_neighbour(faces, label, i)
    if any(lab is None for lab in label):
        raise SystemExit("a sliver face has no labelled neighbour")
    out = {}
    for name in sorted({n for n, _, _ in SPLIT_SEEDS}):
        parts = [f for f, lab in zip(faces, label, strict=True) if lab == name]
        out[name] = shapely.make_valid(shapely.union_all(parts))
    return out


def build_units(shared: Path, ways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    old = load_old_units(shared)
    geoms = dict(zip(old["name"], old.geometry, strict=True))
    units = {n: geoms[n] for n in UNCHANGED}
    pieces = split_old_hlg(geoms[OLD_HLG], ways)
    for name, piece in pieces.items():
        units[name] = shapely.union_all([units[name], piece]) if name in units else piece
    gdf = gpd.GeoDataFrame({"name": list(UNIT_NAMES)},
                           geometry=[units[n] for n in UNIT_NAMES], crs=CRS_M)
    # snap to the 6-decimal grid once, so every later step uses the published geometry
    wgs = gdf.to_crs(4326)
    wgs["geometry"] = _snap_polygons(wgs.geometry, 1e-6)
    return wgs.to_crs(CRS_M)


def unit_iou(units: gpd.GeoDataFrame, shared: Path) -> pd.DataFrame:
    """IoU of each derived unit with the (unlicensed, check-only) reference polygons."""
    ref_path = shared / "reference" / "ht_jd.json"
    if not ref_path.exists():
        return pd.DataFrame(columns=["name", "area_km2", "ref_area_km2", "iou", "iou_in_outline"])
    ref = gpd.read_file(ref_path).to_crs(CRS_M).set_index("jd_name")
    outline = shapely.union_all(ref.geometry.values)
    rows = []
    for name, g in zip(units["name"], units.geometry, strict=True):
        r = ref.loc[name].geometry
        rows.append({"name": name, "area_km2": round(g.area / 1e6, 2),
                     "ref_area_km2": round(r.area / 1e6, 2),
                     "iou": round(g.intersection(r).area / g.union(r).area, 3),
                     # the same inside the reference's outer outline: the quality of the split
                     # alone, without the township layer's differing outer boundary
                     "iou_in_outline": round(g.intersection(r).area
                                             / g.intersection(outline).union(r).area, 3)})
    return pd.DataFrame(rows)


# --- streets.osm ---------------------------------------------------------------------------


def write_osm(path: Path, ways: gpd.GeoDataFrame) -> tuple[int, int]:
    """Write the ways as OSM XML with their real node ids; returns (nodes, ways)."""
    nodes: dict[int, tuple[float, float]] = {}
    worst = 0.0
    for ids, geom in zip(ways["node_ids"], ways.geometry, strict=True):
        nids = [int(v) for v in ids.split()]
        coords = list(geom.coords)
        if len(nids) != len(coords):
            raise SystemExit("node_ids and geometry disagree")
        for nid, (lon, lat) in zip(nids, coords, strict=True):
            if nid in nodes:
                worst = max(worst, abs(nodes[nid][0] - lon), abs(nodes[nid][1] - lat))
            else:
                nodes[nid] = (lon, lat)
    log.info("shared nodes agree to %.1e deg", worst)
    buf = io.StringIO()
    buf.write(OSM_HEADER)
    lons = [c[0] for c in nodes.values()]
    lats = [c[1] for c in nodes.values()]
    buf.write(f' <bounds minlat="{min(lats):.7f}" minlon="{min(lons):.7f}" '
              f'maxlat="{max(lats):.7f}" maxlon="{max(lons):.7f}"/>\n')
    for nid in sorted(nodes):
        lon, lat = nodes[nid]
        buf.write(f' <node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>\n')
    for row in ways.sort_values("way_idx", ascending=True).itertuples():
        buf.write(f' <way id="{-(row.way_idx + 1)}" version="1">\n')
        for nid in row.node_ids.split():
            buf.write(f'  <nd ref="{int(nid)}"/>\n')
        buf.write(f'  <tag k="highway" v={quoteattr(row.highway)}/>\n')
        if str(row.oneway) == "1":
            buf.write('  <tag k="oneway" v="yes"/>\n')
        if row.name:
            buf.write(f'  <tag k="name" v={quoteattr(row.name)}/>\n')
        if row.maxspeed:
            buf.write(f'  <tag k="maxspeed" v={quoteattr(str(row.maxspeed))}/>\n')
        buf.write(" </way>\n")
    buf.write("</osm>\n")
    write_text(path, buf.getvalue())
    return len(nodes), len(ways)


# --- compounds -----------------------------------------------------------------------------


def build_blocks(ways: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Street blocks of every unit (``coverage.samplegen.street_blocks``: polygonised street
    centrelines cut by the unit, kept when of a plausible residential size and shape)."""
    metric = gpd.GeoDataFrame(ways.drop(columns="geometry"), geometry="geom_m", crs=CRS_M)
    rows = [(name, block) for name, unit in zip(units["name"], units.geometry, strict=True)
            for block in street_blocks(metric, unit)]
    log.info("blocks: %d kept", len(rows))
    return gpd.GeoDataFrame({"unit": [r[0] for r in rows]}, geometry=[r[1] for r in rows],
                            crs=CRS_M)


def unit_totals(blocks: gpd.GeoDataFrame) -> dict[str, int]:
    """Unit populations: the area total split by block area, rounded to UNIT_ROUND."""
    area = blocks.groupby("unit").geometry.apply(lambda s: s.area.sum())
    area = area.reindex(UNIT_NAMES).fillna(0.0)
    raw = TOTAL_POPULATION * area / area.sum()
    totals = (raw / UNIT_ROUND).round().astype(int) * UNIT_ROUND
    biggest = totals.idxmax()
    totals[biggest] += TOTAL_POPULATION - int(totals.sum())
    return {k: int(v) for k, v in totals.items()}


def build_compounds(blocks: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    totals = unit_totals(blocks)
    blocks = blocks.copy()
    c = blocks.geometry.centroid
    blocks["_y"] = -c.y.round(1)
    blocks["_x"] = c.x.round(1)
    blocks["_prefix"] = blocks["unit"].map(UNIT_PREFIX)
    blocks = blocks.sort_values(["_prefix", "_y", "_x"]).reset_index(drop=True)
    blocks["number"] = blocks.groupby("unit").cumcount() + 1
    blocks["id"] = blocks["_prefix"] + "-" + blocks["number"].map("{:03d}".format)
    blocks["name"] = blocks["unit"] + " 街坊 " + blocks["number"].map("{:03d}".format)
    blocks["population"] = 0
    for unit, idx in blocks.groupby("unit").groups.items():
        blocks.loc[idx, "population"] = _largest_remainder(
            totals[unit], blocks.loc[idx].area.to_numpy())
    blocks["population_60plus"] = np.floor(blocks["population"] * SHARE_60PLUS + 0.5).astype(int)
    blocks["population"] = blocks["population"].astype(int)
    out = blocks[["id", "name", "unit", "population", "population_60plus", "geometry"]]
    return gpd.GeoDataFrame(out, crs=CRS_M), totals


# --- points on streets ---------------------------------------------------------------------


# --- walking distances: the product's own engine ------------------------------------------


def covered_compounds(net: WalkNetwork, access: AccessPoints, n_compounds: int,
                      pts: np.ndarray, walk_m: float) -> np.ndarray:
    """Which compounds are within ``walk_m`` of any of ``pts`` along the network."""
    if len(pts) == 0:
        return np.zeros(n_compounds, bool)
    d, _ = nearest_source_distances(net, snap_points(net, pts), access.snap, walk_m)
    return np.isfinite(compound_distance(access.compound, d, n_compounds))


# --- main ----------------------------------------------------------------------------------


def _facility_rows(key: str, spec_prefix: str, label: str, pts_m: np.ndarray, source: str,
                   status: str, *, names: Sequence[str] | None = None,
                   gcj: bool = False) -> list[dict]:
    if len(pts_m) == 0:
        return []
    lon, lat = _to_wgs84().transform(pts_m[:, 0], pts_m[:, 1])
    lon, lat = np.asarray(lon), np.asarray(lat)
    if gcj:
        lon, lat = wgs84_to_gcj02(lon, lat)
    rows = []
    for k in range(len(pts_m)):
        n = 1 + k
        rows.append({
            "id": f"{spec_prefix}-{n:03d}",
            "name": names[k] if names is not None else f"{label}（示例）{n:02d}",
            "category": key,
            "lon": f"{lon[k]:.6f}",
            "lat": f"{lat[k]:.6f}",
            "status": status,
            "capacity": "",
            "source": source,
        })
    return rows


def _sort_north_west(pts: np.ndarray) -> np.ndarray:
    if len(pts) == 0:
        return pts
    order = np.lexsort((np.round(pts[:, 0], 1), -np.round(pts[:, 1], 1)))
    return pts[order]


POINT_COLUMNS = ["id", "name", "category", "lon", "lat", "status", "capacity", "source"]


def _write_csv(path: Path, rows: list[dict], cols: Sequence[str] = POINT_COLUMNS) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def _round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.round(values / step) * step


def add_plan_attributes(rows: list[dict], cand_rows: list[dict]) -> None:
    """Illustrative capacities (existing facilities) and floor areas (candidate spaces).

    Existing facilities of the planned categories get a capacity uniform in the category's
    range of :data:`EXISTING_CAPACITY`; a share :data:`FLOOR_AREA_KNOWN` of the candidate
    spaces a lognormal floor area (:data:`FLOOR_AREA_M2`), the others none (unknown). In
    place, from their own seeded stream.
    """
    rng = np.random.default_rng(PLAN_SEED)
    for row in rows:
        if row["category"] in EXISTING_CAPACITY:
            low, high, step = EXISTING_CAPACITY[row["category"]]
            row["capacity"] = str(int(_round_to(rng.uniform(low, high), step)))
    median, sigma, low_m2, high_m2, step_m2 = FLOOR_AREA_M2
    area = rng.lognormal(math.log(median), sigma, len(cand_rows))
    area = _round_to(np.clip(area, low_m2, high_m2), step_m2)
    known = rng.random(len(cand_rows)) < FLOOR_AREA_KNOWN
    for row, a, k in zip(cand_rows, area, known, strict=True):
        row["floor_area_m2"] = f"{a:.0f}" if k else ""


def build(shared: Path, out: Path) -> dict:
    """Build every file of the sample into ``out``; returns the figures for PROVENANCE.md."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    ways = load_ways(shared)
    units = build_units(shared, ways)
    iou = unit_iou(units, shared)
    log.info("units:\n%s", iou.to_string(index=False))
    units_wgs = units.to_crs(4326)
    write_text(out / "boundaries.geojson", _feature_collection(
        ({"name": n}, g)
        for n, g in zip(units_wgs["name"], units_wgs.geometry, strict=True)))

    union = shapely.union_all(units.geometry.values)
    area = union.buffer(BUFFER_M)
    sel = ways[ways.geom_m.intersects(area)].copy()
    n_nodes, n_ways = write_osm(out / "streets.osm", sel)
    log.info("streets.osm: %d nodes, %d ways", n_nodes, n_ways)

    blocks = build_blocks(sel, units)
    compounds, totals = build_compounds(blocks)
    cw = compounds.to_crs(4326)
    cw["geometry"] = _snap_polygons(cw.geometry, 1e-6)
    write_text(out / "compounds.geojson", _feature_collection(
        ({"id": r.id, "name": r.name, "unit": r.unit, "population": int(r.population),
          "population_60plus": int(r.population_60plus)}, r.geometry)
        for r in cw.itertuples()))
    log.info("compounds: %d, population %d (60+ %d)", len(compounds),
             compounds.population.sum(), compounds.population_60plus.sum())

    # --- facilities (illustrative) ---
    rng = np.random.default_rng(SEED)
    # The walk network exactly as circle15 loads it for this area (units + longest walk).
    net = walk_network_from_ways(sel.drop(columns="geom_m"), CRS_M,
                                 clip_to=union.buffer(LOAD_BUFFER_M))
    access = compound_access_points(net, compounds.geometry.to_numpy())
    n_comp = len(compounds)
    segs = host_segments(sel.drop(columns="geom_m"), area, crs=CRS_M,
                         clip_to=union.buffer(LOAD_BUFFER_M))
    fac_area = union.buffer(FACILITY_RING_M)
    ring = fac_area.difference(union)
    cent = compounds.geometry.centroid
    cxy = np.column_stack([cent.x, cent.y])
    rows: list[dict] = []
    placed: dict[str, np.ndarray] = {}
    for spec in FACILITIES:
        avoid = []
        for _ in range(spec.gaps):
            k = int(rng.integers(len(cxy)))
            avoid.append((cxy[k, 0], cxy[k, 1], spec.gap_radius_m))
        inside = street_points(segs, rng, spec.n_inside, spec.spacing_m, union, avoid=avoid,
                               max_tries=MAX_TRIES)
        outside = street_points(segs, rng, spec.n_ring, spec.spacing_m, ring, avoid=avoid,
                                max_tries=MAX_TRIES, others=inside)
        pts = _sort_north_west(np.vstack([inside, outside]))
        placed[spec.key] = pts
        rows += _facility_rows(spec.key, spec.prefix, spec.label, pts, "illustrative", "existing")
    # real bus platforms
    plat = sel[sel.highway == "platform"].sort_values("way_idx")
    mid = plat.geom_m.interpolate(0.5, normalized=True)
    plat = plat[mid.within(fac_area).to_numpy()]
    bxy = np.asarray([[p.x, p.y] for p in plat.geom_m.interpolate(0.5, normalized=True)])
    order = np.lexsort((plat.way_idx.to_numpy(), np.round(bxy[:, 0], 1), -np.round(bxy[:, 1], 1)))
    bxy = bxy[order]
    rows += _facility_rows("bus_stop", "BS", "公交站", bxy, "osm2013", "existing",
                           names=list(plat["name"].iloc[order]))
    placed["bus_stop"] = bxy

    # --- proposed 2020 stations: put in poorly served places (illustrative) ---
    demand60 = compounds.population_60plus.to_numpy()
    prop_rows: list[dict] = []
    prop_pts: dict[str, np.ndarray] = {}
    pool = street_points(segs, rng, 2000, 60.0, union, max_tries=MAX_TRIES)
    used: set[int] = set()
    for key, n in PROPOSED:
        walk = WALK_M[key]
        uncovered = ~covered_compounds(net, access, n_comp, placed[key], walk)
        ucxy, udem = cxy[uncovered], demand60[uncovered]
        if len(ucxy) == 0:
            raise SystemExit(f"{key}: nothing uncovered to propose for")
        utree = cKDTree(ucxy)
        score = np.array([udem[utree.query_ball_point(p, walk * 0.75)].sum() for p in pool])
        ranked = np.argsort(-score, kind="stable")[: max(100, 15 * n)]
        chosen: list[np.ndarray] = []
        order = rng.permutation(ranked)
        # One walk apart where the gaps allow it, closer where they are too few.
        for spacing in (walk, walk / 2, walk / 4):
            for i in order:
                if len(chosen) == n:
                    break
                if score[i] <= 0 or int(i) in used:
                    continue
                if all(np.hypot(*(pool[i] - c)) >= spacing for c in chosen):
                    chosen.append(pool[i])
                    used.add(int(i))
        pts = _sort_north_west(np.asarray(chosen))
        prop_pts[key] = pts
        spec = next(s for s in FACILITIES if s.key == key)
        prop_rows += _facility_rows(key, "P" + spec.prefix, spec.label + "（2020规划）", pts,
                                    "illustrative", "planned", gcj=True,
                                    names=[f"{spec.label}（2020规划示例）{k + 1:02d}"
                                           for k in range(len(pts))])
    _write_csv(out / "proposed_2020.csv", prop_rows)

    # --- candidate sites ---
    cand = _sort_north_west(street_points(segs, rng, N_CANDIDATES, CANDIDATE_SPACING_M, union,
                                          max_tries=MAX_TRIES))
    cand_rows = _facility_rows("", "CAND", "候选点", cand, "illustrative", "candidate",
                               names=[f"候选存量空间（示例）{k + 1:03d}" for k in range(len(cand))])
    add_plan_attributes(rows, cand_rows)
    _write_csv(out / "facilities.csv", rows)
    cand_cols = [*POINT_COLUMNS[:-1], "floor_area_m2", POINT_COLUMNS[-1]]
    _write_csv(out / "candidates.csv", cand_rows, cand_cols)

    # --- figures ---
    cov = {}
    walk_cat = {"elderly_station": 810, "elderly_centre": 810, "psych_station": 900,
                "health_station": 900, "community_service": 600, "wet_market": 600,
                "convenience_store": 300, "pharmacy": 600, "kindergarten": 300,
                "primary_school": 600, "park_sports": 600, "bus_stop": 300}
    pop = compounds.population.to_numpy()
    for key, walk in walk_cat.items():
        dem = demand60 if key.startswith("elderly") else pop
        res = []
        for pts in (placed[key], np.vstack([placed[key], prop_pts[key]])
                    if key in prop_pts else None):
            if pts is None:
                res.append(None)
                continue
            ok = covered_compounds(net, access, n_comp, pts, walk)
            res.append(round(100 * dem[ok].sum() / dem.sum(), 1))
        cov[key] = res
    counts = {k: len(v) for k, v in placed.items()}
    figures = {
        "iou": iou.to_dict("records"), "osm_nodes": n_nodes, "osm_ways": n_ways,
        "compounds": len(compounds), "compounds_per_unit":
            compounds.groupby("unit").size().reindex(UNIT_NAMES).fillna(0).astype(int).to_dict(),
        "unit_totals": totals, "population": int(compounds.population.sum()),
        "population_60plus": int(compounds.population_60plus.sum()),
        "facilities": counts, "facilities_inside": {
            k: int(shapely.contains_xy(union, v[:, 0], v[:, 1]).sum()) for k, v in placed.items()},
        "proposed": {k: len(v) for k, v in prop_pts.items()}, "candidates": len(cand),
        "candidate_floor_area_m2": _floor_area_figures(cand_rows),
        "coverage_pct_approx": cov, "seconds": round(time.perf_counter() - t0, 1),
    }
    return figures


def _floor_area_figures(cand_rows: list[dict]) -> dict[str, float]:
    a = np.array([float(r["floor_area_m2"]) for r in cand_rows if r["floor_area_m2"]])
    return {"known": len(a), "min": float(a.min()), "median": float(np.median(a)),
            "max": float(a.max()), **{f">={t}": int((a >= t).sum()) for t in (60, 150, 800)}}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                    help="the shared data folder (default: ../shared/data beside the repo)")
    ap.add_argument("--out", type=Path, default=REPO / "data" / "huitian",
                    help="output folder (default: data/huitian)")
    ap.add_argument("--figures", type=Path, default=None,
                    help="also write the figures (counts, IoU, coverage) as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    if not (args.shared / "osm" / "beijing_osm2013_all_ways.gpkg").exists():
        print(f"shared data not found under {args.shared}", file=sys.stderr)
        return 2
    figures = build(args.shared, args.out)
    text = json.dumps(figures, ensure_ascii=False, indent=1)
    if args.figures:
        write_text(args.figures, text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
