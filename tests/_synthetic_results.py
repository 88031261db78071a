"""Large synthetic Results in memory (many compounds and facilities) for the maps' size tests."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
from _results_fixture import make_config
from shapely.geometry import Polygon, box

from coverage.config import Category
from coverage.results import Results


def synthetic_results(tmp_path, n_comp: int, n_fac: int, n_cat: int = 12, iso: bool = True):
    """Results of ``n_comp`` compounds and ``n_fac`` facilities in ``n_cat`` categories."""
    cfg0 = make_config(tmp_path)
    cats = tuple(Category(f"cat{i:02d}", f"类别{i}", f"Category {i}", 15, 1.0)
                 for i in range(n_cat))
    cfg = replace(cfg0, categories=cats)
    rng = np.random.default_rng(0)
    x0, y0 = 440_000, 4_430_000
    xs, ys = rng.uniform(0, 12_000, n_comp), rng.uniform(0, 9_000, n_comp)
    comp = pd.DataFrame({"id": [f"C{i}" for i in range(n_comp)],
                         "name": [f"小区{i}号院" for i in range(n_comp)],
                         "unit": [f"单元{i % 7}" for i in range(n_comp)],
                         "population": rng.integers(300, 5000, n_comp),
                         "population_60plus": rng.integers(50, 900, n_comp)})
    for c in cats:
        for suf in ("", "_with_proposed"):
            w = rng.uniform(1, 30, n_comp).round(2)
            comp[f"walk_min_{c.key}{suf}"] = w
            comp[f"covered_{c.key}{suf}"] = w <= 15
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)  # 24-vertex blocks
    geoms = [Polygon(np.c_[x0 + x + 60 * np.cos(ang), y0 + y + 45 * np.sin(ang)])
             for x, y in zip(xs, ys, strict=True)]
    units = gpd.GeoDataFrame({"name": [f"单元{i}" for i in range(7)]},
                             geometry=[box(x0 + i * 1700, y0, x0 + (i + 1) * 1700, y0 + 9000)
                                       for i in range(7)], crs="EPSG:32650")
    fac = gpd.GeoDataFrame(
        {"id": [f"F{i}" for i in range(n_fac)], "name": [f"设施{i}" for i in range(n_fac)],
         "category": [cats[i % n_cat].key for i in range(n_fac)], "source": "osm",
         "status": "existing", "snap_dist_m": 5.0, "off_network": False},
        geometry=gpd.points_from_xy(x0 + rng.uniform(0, 12_000, n_fac),
                                    y0 + rng.uniform(0, 9_000, n_fac)), crs="EPSG:32650")
    isochrones = {}
    for c in cats if iso else ():
        pts = gpd.GeoSeries(gpd.points_from_xy(x0 + rng.uniform(0, 12_000, 60),
                                               y0 + rng.uniform(0, 9_000, 60)))
        isochrones[c.key] = gpd.GeoDataFrame(
            {"category": [c.key], "scenario": ["existing"]},
            geometry=[pts.buffer(700, quad_segs=16).union_all()], crs="EPSG:32650")
    empty = gpd.GeoDataFrame({"name": [], "category": []}, geometry=[], crs="EPSG:32650")
    return Results(config=cfg, boundaries=units,
                   compounds=gpd.GeoDataFrame(comp, geometry=geoms, crs="EPSG:32650"),
                   facilities=fac, proposed=empty, summary=pd.DataFrame(),
                   islands=pd.DataFrame(), isochrones=isochrones)
