"""Many study areas in one run, on a Dask cluster or one after the other.

A batch file (TOML) names the areas in one of two ways::

    [batch]
    name = "北京 街乡"          # optional, shown in the overview map

    [[area]]                    # one block per study area
    config = "huitian/area.toml"

or one config whose unit layer is split, one area per polygon::

    [split]
    config = "beijing/area.toml"   # network, compounds, facilities and categories for all
    boundaries = "townships.gpkg"  # optional: the polygons (default: the config's boundaries)
    name_field = "name"            # optional: column naming each polygon (default "name")
    prefix_field = "县"            # optional: column put in front of the name (e.g. district)
    names = ["海淀区清河街道"]      # optional: only these polygons

In split mode each polygon gets a folder ``OUT/split/<area>/`` with its own ``area.toml`` and
the subsets of the input files it needs (compounds within the longest walk of it, facilities
within the longest walk; a ``unit`` column of the compounds is dropped, units are assigned by
location). Rows whose location cannot be read go to every area, whose check then reports them.

Each area is one task running the same pipeline as ``circle15 run`` (inputs, coverage, outputs;
map and report with ``--maps``); results land in ``OUT/.cache/<hash>/`` (written atomically),
where the hash covers the config file's bytes, every input file's bytes, the circle15 version
and the options that change outputs. A rerun skips finished areas, so an interrupted batch
resumes. Lost workers are retried. An area with bad input is reported with its error; the
others finish. Outputs in ``OUT``:

* ``batch_summary.csv``: area, unit, category, scenario, compounds, population,
  population_covered, coverage_pct, status, error (one row per area that failed);
* ``batch_areas.csv``: area, status, error, cached, seconds, compounds, nodes, results,
  config;
* ``batch_coverage.gpkg`` layer ``units``: every unit with ``coverage_pct_<key>`` per category
  (existing facilities) and the area it belongs to;
* ``batch_map.html``: an overview map of all units coloured by coverage (works offline);
* ``areas/<area>/``: each area's results (compounds.csv, summary.csv, coverage.gpkg ...).

Dask (``pip install 'circle15[dask]'``) is optional: without it, or without ``--scheduler``,
the areas run one after the other with the same outputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import Circle15Error, ConfigError, InputError, Problem
from .io import (
    read_toml,
    remove_stale_temp,
    sha256_file,
    toml_value,
    write_csv,
    write_geojson,
    write_gpkg,
    write_text,
)
from .outputs import LOCK_NAME, check_out_dir, csv_table

__all__ = [
    "SUMMARY_COLUMNS",
    "AreaJob",
    "AreaOutcome",
    "BatchResult",
    "area_jobs",
    "cluster_client",
    "combine_results",
    "run_area",
    "run_batch_file",
    "run_jobs",
    "split_areas",
]

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ["area", "unit", "category", "scenario", "compounds", "population",
                   "population_covered", "coverage_pct", "status", "error"]
AREA_COLUMNS = ["area", "status", "error", "cached", "seconds", "compounds", "nodes",
                "results", "config"]
DONE = "outcome.json"


# --- jobs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AreaJob:
    """One study area of a batch.

    Attributes
    ----------
    name : str
        Area name (the config's ``[area] name`` or the polygon's name).
    slug : str
        Folder name under ``OUT/areas/`` (unique in the batch).
    config : Path
        The area's ``area.toml``.
    key : str
        Cache key (hex SHA-256 of the inputs' bytes, version and options); "" if the config
        could not be read (the task then reports the error).
    maps : bool
        Also write the map and report.
    tiles : int or None
        Override ``[area] tiles``.
    """

    name: str
    slug: str
    config: Path
    key: str
    maps: bool = False
    tiles: int | None = None


@dataclass
class AreaOutcome:
    """What one area task reports back (small; results are in ``results``)."""

    name: str
    slug: str
    status: str  # "ok" | "error"
    error: str = ""
    seconds: float = 0.0
    compounds: int = 0
    results: str = ""  # folder holding the area's outputs
    cached: bool = False
    nodes: int = 0  # street network nodes the area used (summed over tiles)
    # The area's rows of the combined tables, read by the task itself (in parallel on a
    # cluster) so that combining is only concatenation; None: combine reads them.
    tables: tuple[pd.DataFrame, gpd.GeoDataFrame | None] | None = field(default=None,
                                                                        repr=False)


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _slug(i: int, name: str) -> str:
    return f"{i + 1:03d}-{_UNSAFE.sub('_', name).strip('_')[:60] or 'area'}"


class _Digests:
    """SHA-256 of files, memoised by (path, size, mtime) for one batch run."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int, int], str] = {}

    def __call__(self, path: Path) -> str:
        st = path.stat()
        k = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if k not in self._memo:
            self._memo[k] = sha256_file(path)
        return self._memo[k]


def _input_paths(cfg: Any) -> list[tuple[str, Path]]:
    paths = [("boundaries", cfg.boundaries), ("network", cfg.network),
             ("compounds", cfg.compounds)]
    paths += [(f"facilities{i}", s.path) for i, s in enumerate(cfg.facilities)]
    paths += [(f"proposed{i}", s.path) for i, s in enumerate(cfg.proposed)]
    if cfg.candidates is not None:
        paths.append(("candidates", cfg.candidates.path))
    if cfg.gates is not None:
        paths.append(("gates", cfg.gates))
    return paths


def cache_key(config_path: Path, *, maps: bool = False, tiles: int | None = None,
              digests: Callable[[Path], str] | None = None) -> str:
    """Hash of everything an area's results depend on (hex SHA-256).

    The config file's bytes, every input file's bytes, the circle15 version and the options.

    Raises
    ------
    ConfigError
        If the config cannot be read.
    """
    from . import __version__
    from .config import load_config

    digests = digests or _Digests()
    cfg = load_config(config_path)
    h = hashlib.sha256()
    h.update(f"circle15 {__version__}\nmaps={maps}\ntiles={tiles}\n".encode())
    h.update(config_path.read_bytes())
    for role, path in _input_paths(cfg):
        h.update(f"\n{role}:{digests(path) if path.exists() else 'missing'}".encode())
    return h.hexdigest()


def area_jobs(configs: Sequence[tuple[str | None, Path]], *, maps: bool = False,
              tiles: int | None = None) -> list[AreaJob]:
    """Jobs for ``(name or None, config path)`` pairs; a config that cannot be read gets key ""."""
    from .config import load_config

    digests = _Digests()
    jobs = []
    for i, (name, path) in enumerate(configs):
        path = Path(path)
        try:
            key = cache_key(path, maps=maps, tiles=tiles, digests=digests)
            name = name or load_config(path).name
        except Circle15Error:
            key = ""
            name = name or path.parent.name
        jobs.append(AreaJob(name=name, slug=_slug(i, name), config=path, key=key, maps=maps,
                            tiles=tiles))
    return jobs


# --- one area (the task) ---------------------------------------------------------------------

def run_area(job: AreaJob, cache_root: str | Path) -> AreaOutcome:
    """Run one area's pipeline into ``cache_root/<key>/`` (or reuse it); never raises for bad
    input or bugs in the area: the outcome carries the error."""
    from .config import load_config
    from .inputs import load_inputs
    from .outputs import open_run, write_coverage_files
    from .pipeline import CoverageTables, analyze

    t0 = time.perf_counter()
    cache_root = Path(cache_root)
    final = cache_root / job.key if job.key else None
    if final is not None and (final / DONE).exists():
        done = json.loads((final / DONE).read_text(encoding="utf-8"))
        return _with_tables(AreaOutcome(
            name=job.name, slug=job.slug, status="ok", seconds=done["seconds"],
            compounds=done["compounds"], results=str(final), cached=True,
            nodes=done.get("nodes", 0)))
    tmp = cache_root / f".{job.key or 'nokey'}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        cfg = load_config(job.config)
        if job.tiles is not None:
            cfg = dataclasses.replace(cfg, tiles=job.tiles)
        inputs = load_inputs(cfg)
        result: CoverageTables
        if cfg.tiles > 1:
            from .tiles import analyze_tiled

            result = analyze_tiled(inputs)
        else:
            result = analyze(inputs, isochrones=job.maps)
        with open_run(tmp, config=cfg) as run:
            write_coverage_files(result, run.dir)
            if job.maps:
                from .maps import write_map
                from .report import write_report
                from .results import results_of

                results = results_of(result)
                write_map(results, run.dir / "map.html")
                write_report(results, run.dir)
        seconds = time.perf_counter() - t0
        nodes = result.n_nodes
        outcome = AreaOutcome(name=job.name, slug=job.slug, status="ok", seconds=seconds,
                              compounds=len(result.compounds), nodes=nodes)
        write_text(tmp / DONE, json.dumps({"area": job.name, "seconds": round(seconds, 3),
                                           "compounds": outcome.compounds, "nodes": nodes},
                                          ensure_ascii=False) + "\n")
        assert final is not None
        try:
            os.replace(tmp, final)
        except OSError:  # another run finished the same area first: keep its results
            shutil.rmtree(tmp, ignore_errors=True)
        outcome.results = str(final)
        return _with_tables(outcome)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        msg = str(exc) if isinstance(exc, Circle15Error) else (
            f"unexpected error: {type(exc).__name__}: {exc}")
        log.warning("area %s failed: %s", job.name, msg)
        return AreaOutcome(name=job.name, slug=job.slug, status="error", error=msg,
                           seconds=time.perf_counter() - t0)


def _with_tables(o: AreaOutcome) -> AreaOutcome:
    """The outcome with its combined-table rows attached (left for combine on any error)."""
    try:
        o.tables = _area_tables(o)
    except Exception as exc:  # combine_results reads them again and reports a real problem
        log.debug("area %s: tables left for combining (%s)", o.name, exc)
    return o


# --- running many -----------------------------------------------------------------------------

def cluster_client(scheduler: str | None, workers: int | None = None) -> Any:
    """A Dask client: ``"local"`` starts a LocalCluster (processes, one thread each) on
    127.0.0.1; a ``tcp://host:port`` address connects to a running scheduler; None returns
    None (serial)."""
    if scheduler is None:
        return None
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster)
    return Client(scheduler)


def run_jobs(jobs: Sequence[AreaJob], cache_root: str | Path, *, client: Any = None,
             progress: bool = True, retries: int = 3,
             runner: Callable[[AreaJob, Path], AreaOutcome] = run_area) -> list[AreaOutcome]:
    """Run the area tasks (on ``client`` if given) and return the outcomes in job order.

    A task whose worker dies is run again on another worker (Dask reschedules it; ``retries``
    more attempts on errors). A task that still fails is reported as an error.
    """
    from tqdm.auto import tqdm

    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    outcomes: dict[int, AreaOutcome] = {}
    bar = tqdm(total=len(jobs), desc="areas", unit="area", disable=not progress)
    if client is None:
        for i, job in enumerate(jobs):
            outcomes[i] = runner(job, cache_root)
            bar.update()
    else:
        from distributed import as_completed

        futures = {client.submit(runner, job, cache_root, key=f"area-{i}-{uuid.uuid4().hex[:8]}",
                                 pure=False, retries=retries): i for i, job in enumerate(jobs)}
        for fut in as_completed(list(futures)):
            i = futures[fut]
            try:
                outcomes[i] = fut.result()
            except Exception as exc:  # e.g. KilledWorker after repeated worker deaths
                outcomes[i] = AreaOutcome(name=jobs[i].name, slug=jobs[i].slug, status="error",
                                          error=f"task failed: {type(exc).__name__}: {exc}")
            bar.update()
    bar.close()
    return [outcomes[i] for i in range(len(jobs))]


# --- split mode -------------------------------------------------------------------------------

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

    from .io import read_table
    from .validate import parse_points

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


def _point_subset(src: _PointSource, area: shapely.Geometry, folder: Path, stem: str) -> str:
    """Write the rows of a point file located in ``area`` (plus rows that could not be
    located, so the area's check reports them) to ``folder``; returns the new file name."""
    keep = np.ones(len(src.table), bool)
    keep[src.rows] = False
    if len(src.rows):
        keep[src.rows[shapely.contains_xy(area, src.xy[:, 0], src.xy[:, 1])]] = True
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
    """What every area folder of a split is cut from (sent once to each worker)."""

    template: Path
    raw: dict[str, Any]
    network: str
    reach_m: float
    polys: gpd.GeoDataFrame
    comp: gpd.GeoDataFrame
    points: dict[str, list[_PointSource]]


def _write_split_areas(shared: _SplitShared, areas: list[tuple[int, str, Any, np.ndarray]],
                       out: Path) -> list[tuple[str, Path]]:
    """Write the folders of some areas of a split: ``(index, name, polygon in the area CRS,
    compound rows within reach)`` each; returns ``(name, config)`` in the same order."""
    raw, points = shared.raw, shared.points
    out_configs = []
    for i, name, geom, hit in areas:
        folder = out / "split" / _slug(i, name)
        folder.mkdir(parents=True, exist_ok=True)
        inner = geom.buffer(shared.reach_m - 1.0)
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
                 "path": _point_subset(src, inner, folder, f"{section}{j + 1}")}
                for j, (t, src) in enumerate(zip(tables, points[section], strict=True))]
        if points["candidates"]:
            area_raw["candidates"] = {
                **{k: v for k, v in raw["candidates"].items() if k not in ("layer", "sheet")},
                "path": _point_subset(points["candidates"][0], inner, folder, "candidates")}
        path = folder / "area.toml"
        text = (f"# {name}: split from {shared.template} by circle15 batch\n\n"
                + _dump_toml(area_raw))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
        out_configs.append((name, path))
    return out_configs


def split_areas(spec: dict[str, Any], base: Path, out: Path, *,
                client: Any = None) -> list[tuple[str, Path]]:
    """Write one area folder per polygon of a ``[split]`` batch; returns ``(name, config)``.

    With a Dask ``client`` the folders are written on its workers (same files).

    Raises
    ------
    InputError
        If the template config, the polygons or an input file cannot be read.
    """
    from .config import load_config
    from .io import read_table

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
    reach = cfg.max_walk_m

    comp = read_table(cfg.compounds, layer=cfg.compounds_layer)
    if not isinstance(comp, gpd.GeoDataFrame):
        raise InputError(Problem(str(cfg.compounds), None, None, "compounds are not polygons",
                                 "give a GeoJSON or GPKG of compound polygons"))
    comp = comp.drop(columns=[c for c in comp.columns if c == "unit"])
    comp_m = comp.geometry.to_crs(cfg.crs).to_numpy()
    comp_tree = shapely.STRtree(comp_m)
    points = {
        "facilities": [_read_points(src, cfg, "facilities") for src in cfg.facilities],
        "proposed": [_read_points(src, cfg, "proposed") for src in cfg.proposed],
        "candidates": ([_read_points(cfg.candidates, cfg, "candidates")]
                       if cfg.candidates is not None else []),
    }

    shared = _SplitShared(template=template, raw=raw, network=str(cfg.network),
                          reach_m=reach, polys=polys, comp=comp, points=points)
    areas = [(i, name, geom, np.sort(comp_tree.query(geom.buffer(reach), predicate="intersects")))
             for i, (name, geom) in enumerate(zip(metric["name"], metric.geometry, strict=True))]
    if client is None or len(areas) < 2:
        out_configs = _write_split_areas(shared, areas, out)
    else:
        # Writing the area folders is most of a split: in chunks on the cluster's workers,
        # the shared tables sent once to each of them.
        data = client.scatter(shared, broadcast=True)
        n_chunks = min(len(areas), 4 * max(1, len(client.scheduler_info()["workers"])))
        chunks = [areas[k::n_chunks] for k in range(n_chunks)]
        done = client.gather([client.submit(_write_split_areas, data, chunk, out, pure=False)
                              for chunk in chunks])
        by_index = {i: pair for chunk, pairs in zip(chunks, done, strict=True)
                    for (i, *_), pair in zip(chunk, pairs, strict=True)}
        out_configs = [by_index[i] for i in range(len(areas))]
    log.info("split %s into %d areas", b_path.name, len(out_configs))
    return out_configs


# --- combining ---------------------------------------------------------------------------------

@dataclass
class BatchResult:
    """A finished batch: outcomes in batch order and the files written."""

    outcomes: list[AreaOutcome]
    summary: pd.DataFrame
    units: gpd.GeoDataFrame
    paths: list[Path]
    seconds: float

    @property
    def failed(self) -> list[AreaOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)
    return dst


def _area_tables(o: AreaOutcome) -> tuple[pd.DataFrame, gpd.GeoDataFrame | None]:
    """An ok area's rows of batch_summary.csv and of the units layer."""
    s = pd.read_csv(Path(o.results) / "summary.csv", encoding="utf-8-sig", dtype={"unit": str})
    s.insert(0, "area", o.name)
    s["status"], s["error"] = "ok", ""
    return s, _area_units(o, s)


def _area_units(o: AreaOutcome, summary: pd.DataFrame) -> gpd.GeoDataFrame | None:
    import pyogrio

    gpkg = Path(o.results) / "coverage.gpkg"
    if not gpkg.exists():
        return None
    bnd = pyogrio.read_dataframe(gpkg, layer="boundaries")
    ex = summary[(summary["scenario"] == "existing") & (summary["unit"] != "ALL")]
    wide = ex.pivot_table(index="unit", columns="category", values="coverage_pct",
                          aggfunc="first", sort=False)
    pop = ex.groupby("unit", sort=False)["population"].first()  # first category's demand
    units = bnd.rename(columns={"name": "unit"})
    units.insert(0, "area", o.name)
    for key in dict.fromkeys(ex["category"]):
        units[f"coverage_pct_{key}"] = units["unit"].map(wide[key]).astype(float)
    units["population"] = units["unit"].map(pop)
    return units.to_crs(4326)


def _category_labels(jobs: Sequence[AreaJob], lang: str) -> dict[str, str]:
    """Category key -> display name in ``lang``, from the areas' configs (first one wins)."""
    from ._i18n import cat_label
    from .config import load_config

    labels: dict[str, str] = {}
    for job in jobs:
        try:
            cfg = load_config(job.config)
        except (ConfigError, InputError, OSError):
            continue  # that area failed anyway; its keys stay as they are
        for cat in cfg.categories:
            labels.setdefault(cat.key, cat_label(cat, lang))
    return labels


def combine_results(outcomes: Sequence[AreaOutcome], jobs: Sequence[AreaJob], out: Path, *,
                    title: str = "circle15 batch", lang: str = "zh",
                    ) -> tuple[pd.DataFrame, gpd.GeoDataFrame, list[Path]]:
    """Copy each area's results to ``out/areas/<slug>/`` and write the combined files.

    ``out`` is the staging folder of the batch's run (see :func:`run_batch_file`): what it
    does not hold (an area that failed this time, a combined file with no data) is not part of
    the batch's outputs any more. The overview map (``batch_map.html``) is in ``lang``.
    """
    from .maps import write_overview_map

    rows = []
    unit_parts = []
    area_rows = []
    for o, job in zip(outcomes, jobs, strict=True):
        dest = out / "areas" / o.slug
        if o.status == "ok":
            if dest.exists():
                shutil.rmtree(dest)
            # Hard links, not copies: cached results are written once (atomically) and never
            # changed in place, so the two names can share the bytes.
            shutil.copytree(o.results, dest, ignore=shutil.ignore_patterns(DONE, LOCK_NAME),
                            copy_function=_link_or_copy)
            s, units = o.tables if o.tables is not None else _area_tables(o)
            rows.append(s)
            if units is not None:
                unit_parts.append(units)
        else:
            rows.append(pd.DataFrame([{"area": o.name, "status": "error", "error": o.error}]))
        area_rows.append({"area": o.name, "status": o.status, "error": o.error,
                          "cached": o.cached, "seconds": round(o.seconds, 2),
                          "compounds": o.compounds, "nodes": o.nodes,
                          "results": f"areas/{o.slug}" if o.status == "ok" else "",
                          "config": str(job.config)})
    summary = (pd.concat(rows, ignore_index=True).reindex(columns=SUMMARY_COLUMNS)
               if rows else pd.DataFrame(columns=SUMMARY_COLUMNS))
    units = (gpd.GeoDataFrame(pd.concat(unit_parts, ignore_index=True), geometry="geometry",
                              crs=4326) if unit_parts
             else gpd.GeoDataFrame({"area": [], "unit": []}, geometry=[], crs=4326))
    paths = [write_csv(csv_table(summary), out / "batch_summary.csv"),
             write_csv(pd.DataFrame(area_rows, columns=AREA_COLUMNS), out / "batch_areas.csv")]
    if len(units):
        paths.append(write_gpkg(out / "batch_coverage.gpkg", {"units": units}))
        paths.append(write_overview_map(units, out / "batch_map.html", title=title, lang=lang,
                                        labels=_category_labels(jobs, lang)))
    return summary, units, paths


# --- the batch file ------------------------------------------------------------------------------

def read_batch(path: str | Path, out: Path, *,
               client: Any = None) -> tuple[str, list[tuple[str | None, Path]]]:
    """Read a batch file: its title and ``(name or None, config)`` per area (split mode writes
    the area folders into ``out/split``)."""
    path = Path(path)
    raw = read_toml(path)
    base = path.resolve().parent
    unknown = sorted(set(raw) - {"batch", "area", "split"})
    if unknown or ("area" in raw) == ("split" in raw):
        raise ConfigError(Problem(str(path), None, ", ".join(unknown) or None,
                                  "a batch needs either [[area]] blocks or one [split] block",
                                  'write [[area]] config = "x/area.toml" blocks, or [split] '
                                  'config = "city/area.toml"'))
    title = str(raw.get("batch", {}).get("name", path.stem))
    if "split" in raw:
        return title, list(split_areas(raw["split"], base, out, client=client))
    configs: list[tuple[str | None, Path]] = []
    for i, a in enumerate(raw["area"] if isinstance(raw["area"], list) else [raw["area"]]):
        if not isinstance(a, dict) or "config" not in a:
            raise ConfigError(Problem(str(path), None, f"area[{i}].config",
                                      "missing required key", 'add config = "x/area.toml"'))
        configs.append((a.get("name"), (base / a["config"]).resolve()))
    return title, configs


def run_batch_file(path: str | Path, out: str | Path, *, client: Any = None,
                   maps: bool = False, tiles: int | None = None, progress: bool = True,
                   runner: Callable[[AreaJob, Path], AreaOutcome] = run_area,
                   lang: str = "zh") -> BatchResult:
    """Run every area of a batch file and write the combined results into ``out``.

    Parameters
    ----------
    path : path
        The batch TOML (see the module docstring).
    out : path
        Output folder (``areas/``, ``.cache/``, ``batch_*.csv``, ``batch_coverage.gpkg``,
        ``batch_map.html``).
    client : dask.distributed.Client, optional
        Run the areas as Dask tasks; default one after the other here.
    maps : bool
        Also write each area's map and report.
    tiles : int, optional
        Override every area's ``[area] tiles``.
    runner : callable
        The task (default :func:`run_area`); for tests and custom pipelines.
    lang : {"zh", "en"}
        Language of the overview map (``batch_map.html``).

    Raises
    ------
    ConfigError, InputError
        Only for a broken batch file or split source; an area's bad input is in its outcome.
    """
    from .outputs import lock_output, open_run

    t0 = time.perf_counter()
    out = check_out_dir(out)
    # One batch at a time per folder; the combined outputs are replaced as one run, so a rerun
    # where an area now fails drops that area's old results (and a killed batch changes none).
    with lock_output(out, command="circle15 batch"):
        remove_stale_temp(out / ".cache")
        title, configs = read_batch(path, out, client=client)
        jobs = area_jobs(configs, maps=maps, tiles=tiles)
        outcomes = run_jobs(jobs, out / ".cache", client=client, progress=progress,
                            runner=runner)
        with open_run(out, command="circle15 batch") as run:
            summary, units, staged = combine_results(outcomes, jobs, run.dir, title=title,
                                                     lang=lang)
    paths = [out / p.relative_to(run.dir) for p in staged]
    return BatchResult(outcomes=outcomes, summary=summary, units=units, paths=paths,
                       seconds=time.perf_counter() - t0)
