"""Split mode: one area folder per polygon, cut from one config's inputs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._geometry import within_distance
from ..errors import ConfigError, InputError, Problem
from ..io import read_toml, toml_value, write_csv, write_geojson, write_text
from .jobs import area_slug

__all__ = ["split_areas"]

log = logging.getLogger(__name__)


def _dump_toml(raw: dict[str, Any]) -> str:
    lines: list[str] = []
    for section, body in raw.items():
        tables = body if isinstance(body, list) else [body]
        for t in tables:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in t.items()]
            lines.append("")
    return "\n".join(lines)


@dataclass
class _PointSource:
    """A point file read once for splitting: its rows and their located positions."""

    table: pd.DataFrame
    rows: np.ndarray  # 0-based table rows that were located
    xy: np.ndarray  # their coordinates in the area CRS (m)


def _read_points(src: Any, cfg: Any, kind: str) -> _PointSource:
    from pyproj import Transformer

    from ..io import read_table
    from ..validate import parse_points

    table = read_table(src.path, layer=src.layer, sheet=src.sheet)
    labels = {**{c.label_en: c.key for c in cfg.categories},
              **{c.label: c.key for c in cfg.categories}}
    layer, _ = parse_points(table, file=src.path.name, kind=kind, coords=src.coords,
                            categories=cfg.category_keys, labels=labels)
    t = layer.table
    x, y = Transformer.from_crs("EPSG:4326", cfg.crs, always_xy=True).transform(
        t["lon"].to_numpy(float), t["lat"].to_numpy(float))
    return _PointSource(table, t["row"].to_numpy(int) - 1,
                        np.column_stack([np.asarray(x, float), np.asarray(y, float)]))


def _point_subset(src: _PointSource, area: shapely.Geometry, within_m: float, folder: Path,
                  stem: str) -> str:
    """Write the rows of a point file located within ``within_m`` of ``area`` (plus rows that
    could not be located, so the area's check reports them) to ``folder``; returns the new
    file name."""
    keep = np.ones(len(src.table), bool)
    keep[src.rows] = False
    x0, y0, x1, y1 = shapely.bounds(area)
    x, y = src.xy[:, 0], src.xy[:, 1]
    box = np.flatnonzero((x >= x0 - within_m) & (x <= x1 + within_m)
                         & (y >= y0 - within_m) & (y <= y1 + within_m))
    near = box[within_distance(area, shapely.points(src.xy[box]), within_m)]
    keep[src.rows[near]] = True
    sub = src.table.iloc[np.flatnonzero(keep)]
    if isinstance(sub, gpd.GeoDataFrame):
        name = f"{stem}.geojson"
        write_geojson(sub, folder / name, only_if_changed=True)
    else:
        name = f"{stem}.csv"
        tmp = folder / f".{stem}.new.csv"
        write_csv(sub, tmp, protect_formulas=False)  # an input file circle15 reads back
        dest = folder / name
        if dest.exists() and dest.read_bytes() == tmp.read_bytes():
            tmp.unlink()
        else:
            os.replace(tmp, dest)
    return name


@dataclass(frozen=True)
class _SplitShared:
    """What every area folder of a split is cut from (built once; on a cluster, on a worker,
    and moved between workers, never through the client)."""

    template: Path
    raw: dict[str, Any]
    network: str
    reach_m: float
    polys: gpd.GeoDataFrame
    comp: gpd.GeoDataFrame
    comp_metric: np.ndarray  # the compound polygons in the area CRS
    points: dict[str, list[_PointSource]]


def _shared(template: Path, raw: dict[str, Any], cfg: Any, polys: gpd.GeoDataFrame,
            kinds: list[str], comp: gpd.GeoDataFrame, *read: _PointSource) -> _SplitShared:
    points: dict[str, list[_PointSource]] = {"facilities": [], "proposed": [], "candidates": []}
    for kind, source in zip(kinds, read, strict=True):
        points[kind].append(source)
    return _SplitShared(template=template, raw=raw, network=str(cfg.network),
                        reach_m=cfg.max_walk_m, polys=polys, comp=comp,
                        comp_metric=comp.geometry.to_crs(cfg.crs).to_numpy(), points=points)


def _write_split_areas(shared: _SplitShared, areas: list[tuple[int, str, Any]],
                       out: Path) -> list[tuple[str, Path]]:
    """Write the folders of some areas of a split: ``(index, name, polygon in the area CRS)``
    each; returns ``(name, config)`` in the same order. An area gets the compounds and points
    within walking reach of its polygon (the longest walk of any category)."""
    raw, points = shared.raw, shared.points
    tree = shapely.STRtree(shared.comp_metric)
    out_configs = []
    for i, name, geom in areas:
        folder = out / "split" / area_slug(i, name)
        folder.mkdir(parents=True, exist_ok=True)
        shapely.prepare(geom)
        hit = np.sort(tree.query(geom, predicate="dwithin", distance=shared.reach_m))
        write_geojson(shared.polys.iloc[[i]], folder / "boundaries.geojson", only_if_changed=True)
        write_geojson(shared.comp.iloc[hit], folder / "compounds.geojson", only_if_changed=True)
        area_raw = {**raw}
        area_raw["area"] = {**raw["area"], "name": name, "boundaries": "boundaries.geojson",
                            "network": shared.network}
        area_raw["compounds"] = {"path": "compounds.geojson"}
        for section in ("facilities", "proposed"):
            if not points[section]:
                continue
            tables = raw[section] if isinstance(raw[section], list) else [raw[section]]
            area_raw[section] = [
                {**{k: v for k, v in t.items() if k not in ("layer", "sheet")},
                 "path": _point_subset(src, geom, shared.reach_m - 1.0, folder,
                                       f"{section}{j + 1}")}
                for j, (t, src) in enumerate(zip(tables, points[section], strict=True))]
        if points["candidates"]:
            area_raw["candidates"] = {
                **{k: v for k, v in raw["candidates"].items() if k not in ("layer", "sheet")},
                "path": _point_subset(points["candidates"][0], geom, shared.reach_m - 1.0,
                                      folder, "candidates")}
        path = folder / "area.toml"
        text = (f"# {name}: split from {shared.template} by circle15 batch\n\n"
                + _dump_toml(area_raw))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
        out_configs.append((name, path))
    return out_configs


def _read_compounds(cfg: Any) -> gpd.GeoDataFrame:
    """The template's compound polygons, without a ``unit`` column (units go by location)."""
    from ..io import read_table

    comp = read_table(cfg.compounds, layer=cfg.compounds_layer)
    if not isinstance(comp, gpd.GeoDataFrame):
        raise InputError(Problem(str(cfg.compounds), None, None, "compounds are not polygons",
                                 "give a GeoJSON or GPKG of compound polygons"))
    return comp.drop(columns=[c for c in comp.columns if c == "unit"])


def _caught(fn: Callable[..., Any], *args: Any) -> tuple[Any, tuple[type, list[Any]] | None]:
    """``fn(*args)`` on a worker, an input error returned rather than raised (it would not
    unpickle with its problems)."""
    try:
        return fn(*args), None
    except InputError as exc:
        return None, (type(exc), exc.problems)


def _first_error(*results: tuple[Any, Any]) -> tuple[type, list[Any]] | None:
    return next((error for _, error in results if error is not None), None)


def _shared_of(template: Path, raw: dict[str, Any], cfg: Any, polys: gpd.GeoDataFrame,
               kinds: list[str], *results: tuple[Any, Any]) -> _SplitShared:
    """:func:`_shared` from ``_caught`` results (checked by :func:`_first_error` first)."""
    return _shared(template, raw, cfg, polys, kinds, *(value for value, _ in results))


def _sources(cfg: Any) -> list[tuple[str, Any]]:
    """Every point file of the template, as (kind, source)."""
    return ([("facilities", s) for s in cfg.facilities]
            + [("proposed", s) for s in cfg.proposed]
            + ([("candidates", cfg.candidates)] if cfg.candidates is not None else []))


def split_areas(spec: dict[str, Any], base: Path, out: Path, *,
                client: Any = None) -> list[tuple[str, Path]]:
    """Write one area folder per polygon of a ``[split]`` batch; returns ``(name, config)``.

    With a Dask ``client`` the folders are written on its workers (same files).

    Raises
    ------
    InputError
        If the template config, the polygons or an input file cannot be read.
    """
    from ..config import load_config

    where = "split"
    if "config" not in spec:
        raise ConfigError(Problem(str(base), None, f"{where}.config", "missing required key",
                                  'add config = "path/area.toml" to [split]'))
    template = (base / spec["config"]).resolve()
    cfg = load_config(template)
    raw = read_toml(template)
    b_path = (base / spec["boundaries"]).resolve() if "boundaries" in spec else cfg.boundaries
    name_field = spec.get("name_field", "name")
    prefix_field = spec.get("prefix_field")
    polys = gpd.read_file(b_path)
    for col in (name_field, prefix_field):
        if col is not None and col not in polys.columns:
            raise InputError(Problem(str(b_path), None, col, f"no column {col!r}",
                                     f"set name_field/prefix_field to one of: "
                                     f"{', '.join(map(str, polys.columns))}"))
    names = polys[name_field].astype(str)
    if prefix_field:
        names = polys[prefix_field].astype(str) + names
    polys = polys.assign(name=names.to_numpy())[["name", "geometry"]]
    if "names" in spec:
        wanted = list(spec["names"])
        missing = sorted(set(wanted) - set(polys["name"]))
        if missing:
            raise InputError(Problem(str(b_path), None, name_field,
                                     f"no polygon named {', '.join(missing)}",
                                     "check the names list of [split]"))
        polys = polys[polys["name"].isin(wanted)]
    polys = polys.drop_duplicates("name").reset_index(drop=True)
    metric = polys.to_crs(cfg.crs)
    areas = [(i, name, geom) for i, (name, geom)
             in enumerate(zip(metric["name"], metric.geometry, strict=True))]
    sources = _sources(cfg)
    kinds = [kind for kind, _ in sources]
    if client is None or len(areas) < 2:
        shared = _shared(template, raw, cfg, polys, kinds, _read_compounds(cfg),
                         *(_read_points(src, cfg, kind) for kind, src in sources))
        out_configs = _write_split_areas(shared, areas, out)
    else:
        # On the cluster's workers: the compounds and each point file read in parallel, the
        # shared tables built there and moved between workers (not through this process),
        # and the area folders, most of a split, written in chunks.
        read = [client.submit(_caught, _read_compounds, cfg, pure=False)]
        read += [client.submit(_caught, _read_points, src, cfg, kind, pure=False)
                 for kind, src in sources]
        error = client.submit(_first_error, *read, pure=False).result()
        if error is not None:
            raise error[0](error[1])
        shared_f = client.submit(_shared_of, template, raw, cfg, polys, kinds, *read, pure=False)
        n_chunks = min(len(areas), 4 * max(1, len(client.scheduler_info()["workers"])))
        chunks = [areas[k::n_chunks] for k in range(n_chunks)]
        done = client.gather([client.submit(_write_split_areas, shared_f, chunk, out, pure=False)
                              for chunk in chunks])
        by_index = {i: pair for chunk, pairs in zip(chunks, done, strict=True)
                    for (i, *_), pair in zip(chunk, pairs, strict=True)}
        out_configs = [by_index[i] for i in range(len(areas))]
    log.info("split %s into %d areas", b_path.name, len(out_configs))
    return out_configs

