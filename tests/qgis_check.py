"""Open a circle15 QGIS project in a real QGIS and report what it sees (JSON on stdout).

Run by tests/test_qgis.py with Debian's /usr/bin/python3 (PyQGIS is not in the venv):

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py OUT_DIR PNG

Reads OUT_DIR/coverage.qgz, lists every layer (valid? renderer? labels?), the group tree, the
default style QGIS loads for each GeoPackage table opened on its own, and renders the visible
layers to PNG with QgsMapRendererParallelJob.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def tree(node) -> list:
    out = []
    for child in node.children():
        if isinstance(child, QgsLayerTreeGroup):
            out.append({"group": child.name(), "children": tree(child)})
        elif isinstance(child, QgsLayerTreeLayer):
            out.append({"layer": child.name(), "visible": child.isVisible()})
    return out


def main() -> int:
    out_dir, png = Path(sys.argv[1]), Path(sys.argv[2])
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    ok = project.read(str(out_dir / "coverage.qgz"))
    layers = {}
    for layer in project.mapLayers().values():
        info = {"valid": layer.isValid(), "name": layer.name(), "type": layer.type(),
                "source": layer.source(), "provider": layer.providerType()}
        if isinstance(layer, QgsVectorLayer):
            info.update(features=layer.featureCount(),
                        renderer=layer.renderer().type() if layer.renderer() else None,
                        labels=layer.labelsEnabled(),
                        rules=len(layer.renderer().rootRule().children())
                        if layer.renderer() and layer.renderer().type() == "RuleRenderer" else 0)
        layers[layer.id()] = info
    root = project.layerTreeRoot()
    # each table opened on its own (as when the GeoPackage is dragged into QGIS)
    standalone = {}
    for table in ("compounds", "boundaries", "facilities", "selected_sites"):
        lyr = QgsVectorLayer(f"{out_dir / 'coverage.gpkg'}|layername={table}", table, "ogr")
        standalone[table] = {"valid": lyr.isValid(),
                             "renderer": lyr.renderer().type() if lyr.renderer() else None,
                             "styles": lyr.listStylesInDatabase()[0]}
    visible = [n.layer() for n in root.findLayers() if n.isVisible() and n.layer() is not None]
    settings = QgsMapSettings()
    settings.setLayers(visible)
    settings.setDestinationCrs(project.crs())
    units = next(lyr for lyr in project.mapLayers().values() if lyr.id() == "circle15_units")
    extent = units.extent()
    extent.scale(1.05)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(900, 600))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(png), "PNG")
    # not blank: count pixels that are not the white background
    non_white = sum(1 for y in range(0, image.height(), 3) for x in range(0, image.width(), 3)
                    if image.pixelColor(x, y).name() != "#ffffff")
    colours = {image.pixelColor(x, y).name() for y in range(0, image.height(), 5)
               for x in range(0, image.width(), 5)}
    print(json.dumps({"read": ok, "crs": project.crs().authid(), "layers": layers,
                      "tree": tree(root), "standalone": standalone,
                      "rendered_layers": len(visible), "non_white_share":
                      non_white / ((image.height() // 3 + 1) * (image.width() // 3 + 1)),
                      "n_colours": len(colours)}, ensure_ascii=False))
    sys.stdout.flush()
    os._exit(0)  # QgsApplication.exitQgis() may crash at exit in Debian's 3.22 (double free)


if __name__ == "__main__":
    sys.exit(main())
