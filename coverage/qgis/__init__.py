"""QGIS hand-off: styles inside ``coverage.gpkg`` and a ready ``coverage.qgz`` project.

* Every layer of ``coverage.gpkg`` gets a default style in the GeoPackage's ``layer_styles``
  table, the table QGIS reads when a layer is opened (drag the file into QGIS: it is styled).
  The compounds layer also carries one named style per category ("covered / not covered"),
  selectable in QGIS's Styles menu.
* ``coverage.qgz`` is a QGIS project beside it that opens every layer from the GeoPackage by a
  relative path (move or e-mail the folder as a whole), grouped as *plan and sites*, *facilities
  by category*, *coverage by category* and *reference*, styled like the web map, with labels on
  unit names and site ranks, and an OpenStreetMap XYZ basemap (off by default: it needs
  internet).

Colours come from :mod:`coverage.style`. Both files are written as XML by this package (no QGIS
needed to write them); the test suite opens them with a real QGIS (Debian's ``python3-qgis``).
Same results, same bytes: no timestamps, fixed ids.

Modules: :mod:`.symbology` symbols, rule-based renderers and labels as QGIS XML;
:mod:`.layers` which layers the project has and how each looks (:func:`layer_specs`);
:mod:`.gpkgstyles` the GeoPackage's ``layer_styles`` table; :mod:`.project` the ``.qgz``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..results import GPKG, Results
from .gpkgstyles import write_layer_styles
from .layers import LayerSpec, layer_specs
from .project import write_qgis_project
from .symbology import QGIS_VERSION

__all__ = [
    "QGIS_VERSION",
    "LayerSpec",
    "layer_specs",
    "write_layer_styles",
    "write_qgis",
    "write_qgis_project",
]

log = logging.getLogger(__name__)


def write_qgis(results: Results, out_dir: str | Path, *, lang: str = "zh") -> list[Path]:
    """Style ``out_dir/coverage.gpkg`` for QGIS and write ``out_dir/coverage.qgz``.

    Parameters
    ----------
    results : Results
        The run's results (their layers are in ``out_dir/coverage.gpkg``).
    out_dir : str or Path
        The run's output folder.
    lang : {"zh", "en"}
        Language of layer, group and legend names.

    Returns
    -------
    list of Path
        ``coverage.gpkg`` (restyled) and ``coverage.qgz``.
    """
    import pyogrio

    out = Path(out_dir)
    gpkg = out / GPKG
    tables = {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}
    specs = layer_specs(results, tables, lang)
    paths = [write_layer_styles(gpkg, specs),
             write_qgis_project(results, out, specs, lang=lang)]
    log.info("QGIS project written: %s (%d layers)", paths[1], len(specs) + 1)
    return paths
