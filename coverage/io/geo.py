"""Vector layers: GeoJSON, GeoPackage and shapefile in; deterministic GeoPackage and GeoJSON out.

* ``.geojson`` / ``.json``: GeoJSON is WGS-84 by definition (RFC 7946); a legacy ``crs`` member
  is honoured. Coordinates that are not degrees are refused.
* ``.gpkg``: optional ``layer`` (required when the file holds several layers). A layer without a
  CRS is refused: circle15 will not guess what the numbers mean.
* ``.shp``: read like GPKG (a shapefile without ``.prj`` is refused).
* :func:`write_gpkg` writes all layers or none, with fixed metadata (same data, same bytes) and
  GeoPackage version 1.2, which every GDAL/QGIS in use opens without a warning.
* :func:`write_geojson` writes a layer as WGS-84 GeoJSON text, deterministically.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .files import _check_file, _fail, atomic_path, write_text
from .tables import _clean_column

__all__ = [
    "GPKG_VERSION",
    "VECTOR_SUFFIXES",
    "read_vector",
    "write_geojson",
    "write_gpkg",
]

log = logging.getLogger(__name__)

_GEOJSON_SUFFIXES = (".geojson", ".json")
_OGR_SUFFIXES = (".gpkg", ".shp")
VECTOR_SUFFIXES = _GEOJSON_SUFFIXES + _OGR_SUFFIXES
"""Suffixes :func:`read_vector` reads."""


def read_vector(path: str | Path, *, layer: str | None = None,
                file: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage or shapefile layer.

    Parameters
    ----------
    path : str or Path
        The file.
    layer : str, optional
        Layer name (GeoPackage). Needed when the file holds more than one layer.
    file : str, optional
        Name used for the file in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        In the file's own CRS (GeoJSON without a ``crs`` member: EPSG:4326). Attribute columns
        keep the types the file declares; geometry may contain empties/invalids (the validator
        reports them).

    Raises
    ------
    InputError
        Missing file, unknown or ambiguous layer, a GeoPackage/shapefile layer without CRS,
        GeoJSON whose coordinates are not degrees, or a file GDAL cannot read.
    """
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    path = Path(path)
    file = file or str(path)
    _check_file(path, file)
    is_geojson = path.suffix.lower() in _GEOJSON_SUFFIXES
    try:
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise _fail(file, f"cannot read the file ({exc})",
                    "check it opens in QGIS; GeoJSON must be UTF-8") from None
    if layer is not None and layer not in layers:
        raise _fail(file, f"no layer named {layer!r}", f"use one of: {', '.join(layers)}",
                    field="layer")
    if layer is None and len(layers) > 1:
        raise _fail(file, f"the file holds {len(layers)} layers",
                    f"name one in the config with layer = ..., one of: {', '.join(layers)}",
                    field="layer")
    try:
        with warnings.catch_warnings():  # mixed-type columns are validated cell by cell
            warnings.filterwarnings("ignore", message="Could not parse column")
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (DataSourceError, DataLayerError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(file, f"cannot read the file ({exc})",
                    "check it opens in QGIS; text must be UTF-8") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise _fail(file, "the layer has no geometry column", "export it with geometries")
    if gdf.crs is None:
        if is_geojson:
            gdf = gdf.set_crs("EPSG:4326")
        else:
            raise _fail(
                file,
                "the layer has no coordinate reference system (CRS)",
                "assign the CRS in QGIS (Layer Properties > Source > Assigned CRS, e.g. "
                "EPSG:4326 for longitude/latitude) and save it again",
                field="geometry",
            )
    if is_geojson and gdf.crs.is_geographic and len(gdf) and not gdf.geometry.is_empty.all():
        minx, miny, maxx, maxy = gdf.total_bounds
        if min(minx, miny) < -180 or maxx > 180 or maxy > 90:
            raise _fail(
                file,
                "coordinates are not longitude/latitude degrees (GeoJSON must be WGS-84)",
                "export the layer as GeoJSON with CRS EPSG:4326, or use a GeoPackage",
                field="geometry",
            )
    for col in gdf.columns:  # text columns: object, or pandas 3's str dtype
        if col != gdf.geometry.name and (pd.api.types.is_object_dtype(gdf[col])
                                         or pd.api.types.is_string_dtype(gdf[col])):
            gdf[col] = pd.Series(_clean_column(gdf[col].tolist(), file, str(col)),
                                 index=gdf.index, dtype=object)
    return gdf.reset_index(drop=True)


def _gpkg_date() -> str:
    """The fixed GeoPackage ``last_change`` date: ``SOURCE_DATE_EPOCH`` if set, else 1970."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    stamp = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@contextlib.contextmanager
def _gdal_options(options: Mapping[str, str]) -> Iterator[None]:
    """Set GDAL config options for the block and restore the previous values after it."""
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


GPKG_VERSION = "1.2"
"""GeoPackage version written: QGIS 3.22 with GDAL 3.6 warns on the 1.4 newer GDALs write."""


def write_gpkg(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame], *,
               progress: bool = False) -> Path:
    """Write several layers into one GeoPackage atomically (all or nothing).

    The same layers give the same bytes: the ``last_change`` dates are fixed (1970-01-01, or
    ``SOURCE_DATE_EPOCH``).

    Parameters
    ----------
    path : str or Path
        Destination ``.gpkg``; an existing file is replaced only after every layer is written.
    layers : mapping of str to GeoDataFrame
        Layer name -> data. Every layer must have a CRS. Empty layers are written with their
        columns.
    progress : bool
        Show a progress bar over the layers.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    for name, gdf in layers.items():
        if gdf.crs is None:
            raise ValueError(f"layer {name!r} has no CRS; refusing to write it")
    # SQLite flushes to disk after every transaction by default, and keeps each transaction's
    # rollback journal in a file it creates and deletes: most of the time of a multi-layer
    # write. The temporary file is thrown away on any failure, so it is written without those
    # flushes and with the journal in memory (a failed statement still rolls back; the file's
    # bytes are the same), and made durable once, when finished, before the rename.
    with atomic_path(path) as tmp, _gdal_options({"OGR_CURRENT_DATE": _gpkg_date(),
                                                  "OGR_SQLITE_SYNCHRONOUS": "OFF",
                                                  "OGR_SQLITE_JOURNAL": "MEMORY"}):
        for i, (name, gdf) in enumerate(tqdm(layers.items(), desc=f"writing {path.name}",
                                             unit="layer", disable=not progress)):
            options = {"dataset_options": {"VERSION": GPKG_VERSION}} if i == 0 else {}
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **options)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    log.debug("wrote %s (%d layers)", path, len(layers))
    return path


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, *,
                  only_if_changed: bool = False) -> Path:
    """Write a layer as GeoJSON in WGS-84 (RFC 7946), atomically and deterministically.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS; converted to EPSG:4326.
    path : str or Path
    only_if_changed : bool
        Leave an existing file with the same content untouched (keeps its modification time,
        which caches key on).
    """
    path = Path(path)
    text = gdf.to_crs(4326).to_json(ensure_ascii=False, drop_id=True) + "\n"
    if only_if_changed and path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    return write_text(path, text)
