"""Reading the planner's files and writing results atomically: every file read and write.

One subpackage, three modules (everything is importable from ``coverage.io``):

* :mod:`coverage.io.tables`: CSV and XLSX readers (every cell a stripped string, control
  characters removed, GBK named as such) and the formula-safe CSV writer (UTF-8 with BOM).
* :mod:`coverage.io.geo`: GeoJSON/GPKG/SHP reader (CRS required) and the deterministic
  GeoPackage and GeoJSON writers.
* :mod:`coverage.io.files`: the one atomic writer (:func:`atomic_path`, :func:`write_text`,
  :func:`write_bytes`, :func:`atomic_folder`), temporary names and their clean-up
  (:func:`remove_stale_temp`), SHA-256, TOML read/parse/write.

:func:`read_table` reads any supported input file, dispatching on its suffix.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .files import (
    _fail,
    atomic_folder,
    atomic_path,
    parse_toml,
    read_toml,
    remove_path,
    remove_stale_temp,
    replace_folder,
    sha256_file,
    temp_path,
    toml_value,
    write_bytes,
    write_text,
)
from .geo import GPKG_VERSION, VECTOR_SUFFIXES, read_vector, write_geojson, write_gpkg
from .tables import (
    _TEXT_SUFFIXES,
    _XLSX_SUFFIXES,
    CSV_ENCODING,
    cell_text,
    formula_safe,
    read_csv,
    read_xlsx,
    strip_control,
    write_csv,
)

__all__ = [
    "CSV_ENCODING",
    "GPKG_VERSION",
    "atomic_folder",
    "atomic_path",
    "cell_text",
    "formula_safe",
    "parse_toml",
    "read_csv",
    "read_table",
    "read_toml",
    "read_vector",
    "read_xlsx",
    "remove_path",
    "remove_stale_temp",
    "replace_folder",
    "sha256_file",
    "strip_control",
    "temp_path",
    "toml_value",
    "write_bytes",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_text",
]


def read_table(path: str | Path, *, sheet: str | None = None, layer: str | None = None,
               file: str | None = None) -> pd.DataFrame:
    """Read any supported input file (dispatch on suffix).

    Returns a :class:`pandas.DataFrame` of text cells for CSV (XLSX: text and numbers) and a
    :class:`geopandas.GeoDataFrame` for GeoJSON/GPKG/SHP; see the module docstring.

    Raises
    ------
    InputError
        Unsupported suffix, or any error of the specific reader.
    """
    path = Path(path)
    file = file or str(path)
    if path.is_dir():
        raise _fail(file, "this is a folder, not a file", "name the file inside it in the config")
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return read_csv(path, file=file)
    if suffix in _XLSX_SUFFIXES:
        return read_xlsx(path, sheet=sheet, file=file)
    if suffix in VECTOR_SUFFIXES:
        return read_vector(path, layer=layer, file=file)
    if suffix == ".xls":
        raise _fail(file, "old .xls workbooks are not supported",
                    "save it from Excel as .xlsx or as CSV UTF-8")
    raise _fail(file, f"unsupported file type {suffix or '(none)'!r}",
                "use .csv (UTF-8), .xlsx, .geojson or .gpkg")
