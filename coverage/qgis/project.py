"""The ``coverage.qgz`` project: every layer from the GeoPackage by a relative path, in groups,
an OpenStreetMap basemap (off), and the study area's extent and CRS. Same results, same bytes."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from ..io import write_bytes
from ..report._labels import tr
from ..results import GPKG, Results
from .layers import LayerSpec
from .symbology import QGIS_VERSION, style_body

OSM_XYZ = ("type=xyz&url=https://tile.openstreetmap.org/{z}/{x}/{y}.png&zmax=19&zmin=0"
           "&crs=EPSG:3857")
_GEOM = {"fill": "Polygon", "marker": "Point", "line": "Line"}


def _srs(parent: ET.Element, crs: str) -> None:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(srs, "wkt").text = c.to_wkt()
    auth = c.to_authority()
    ET.SubElement(srs, "authid").text = f"{auth[0]}:{auth[1]}" if auth else crs
    ET.SubElement(srs, "description").text = c.name
    ET.SubElement(srs, "geographicflag").text = "true" if c.is_geographic else "false"


def _source(spec: LayerSpec) -> str:
    src = f"./{GPKG}|layername={spec.table}"
    return src + (f"|subset={spec.subset}" if spec.subset else "")


def _layer_id(spec: LayerSpec) -> str:
    # QGIS keeps a layer id from the file only when it is longer than 10 characters
    return f"circle15_{spec.id}"


def _maplayer(spec: LayerSpec, crs: str) -> ET.Element:
    ml = ET.Element("maplayer", type="vector", geometry=_GEOM[spec.kind],
                    autoRefreshEnabled="0", refreshOnNotifyEnabled="0",
                    hasScaleBasedVisibilityFlag="0", styleCategories="AllStyleCategories")
    ET.SubElement(ml, "id").text = _layer_id(spec)
    ET.SubElement(ml, "datasource").text = _source(spec)
    ET.SubElement(ml, "layername").text = spec.name
    _srs(ET.SubElement(ml, "srs"), crs)
    ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr"
    style_body(ml, spec.rules, spec.label)
    return ml


def _basemap() -> ET.Element:
    ml = ET.Element("maplayer", type="raster", autoRefreshEnabled="0",
                    hasScaleBasedVisibilityFlag="0", styleCategories="AllStyleCategories")
    ET.SubElement(ml, "id").text = "circle15_osm_basemap"
    ET.SubElement(ml, "datasource").text = OSM_XYZ
    ET.SubElement(ml, "layername").text = "OpenStreetMap"
    _srs(ET.SubElement(ml, "srs"), "EPSG:3857")
    ET.SubElement(ml, "provider").text = "wms"
    return ml


_GROUPS = ("plan", "facilities", "coverage", "reference")
_GROUP_LABELS = {"plan": "qgis_group_plan", "facilities": "qgis_group_facilities",
                 "coverage": "qgis_group_coverage", "reference": "grp_reference"}


def _tree(root: ET.Element, specs: list[LayerSpec], lang: str) -> None:
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for g in _GROUPS:
        grp = ET.SubElement(tree, "layer-tree-group", name=tr(_GROUP_LABELS[g], lang),
                            checked="Qt::Checked", expanded="1" if g != "facilities" else "0")
        ET.SubElement(grp, "customproperties")
        for spec in [s for s in specs if s.group == g]:
            ET.SubElement(grp, "layer-tree-layer", id=_layer_id(spec), name=spec.name,
                          source=_source(spec), providerKey="ogr", expanded="0",
                          checked="Qt::Checked" if spec.visible else "Qt::Unchecked")
        if g == "reference":
            ET.SubElement(grp, "layer-tree-layer", id="circle15_osm_basemap", name="OpenStreetMap",
                          source=OSM_XYZ, providerKey="wms", expanded="0",
                          checked="Qt::Unchecked")


def project_xml(results: Results, specs: list[LayerSpec], lang: str = "zh") -> str:
    """The ``.qgs`` project XML."""
    cfg = results.config
    title = tr("report_title", lang, area=cfg.name)
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), cfg.crs)
    _tree(root, specs, lang)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    ext = ET.SubElement(canvas, "extent")
    x0, y0, x1, y1 = results.boundaries.total_bounds
    pad = 0.05 * max(x1 - x0, y1 - y0)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), (x0 - pad, y0 - pad, x1 + pad, y1 + pad),
                    strict=True):
        ET.SubElement(ext, k).text = f"{v:.2f}"
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), cfg.crs)
    layers = ET.SubElement(root, "projectlayers")
    for spec in specs:
        layers.append(_maplayer(spec, cfg.crs))
    layers.append(_basemap())
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")  # QGIS reads <projectCrs> only with this on
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    ET.SubElement(srs, "ProjectCrs", type="QString").text = cfg.crs
    ET.indent(root, space=" ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def _qgz(project: str) -> bytes:
    """The project zipped as QGIS saves a ``.qgz`` (fixed entry time: same input, same bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("coverage.qgs", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        z.writestr(info, project.encode("utf-8"))
    return buf.getvalue()


def write_qgis_project(results: Results, out_dir: str | Path, specs: list[LayerSpec], *,
                       lang: str = "zh") -> Path:
    """Write ``coverage.qgz`` into ``out_dir`` (beside ``coverage.gpkg``)."""
    return write_bytes(Path(out_dir) / "coverage.qgz", _qgz(project_xml(results, specs, lang)))
