"""Helpers for tests that need OSM files in other formats (.osm.pbf)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def to_pbf(src: Path, dst: Path) -> Path:
    """The same objects, in the same order, as .osm.pbf (pyosmium's writer; ids kept)."""
    import osmium

    dst.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(dst)) as w:
        for obj in osmium.FileProcessor(str(src)):
            w.add(obj)
    return dst


def osmium_cat(src: Path, dst: Path) -> Path:
    """``osmium cat src -o dst`` (Debian osmium-tool, installed by ``make system-deps``).

    Skipped when the tool is absent, unless CI is set: then it is a failure.
    """
    exe = shutil.which("osmium")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but osmium-tool is missing: run `make system-deps`")
        pytest.skip("osmium-tool is not installed (make system-deps)")
    subprocess.run([exe, "cat", str(src), "-o", str(dst), "--overwrite"], check=True,
                   capture_output=True, timeout=300)
    return dst
