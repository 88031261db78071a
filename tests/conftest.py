"""Suite-wide fixtures: no test may reach the internet (loopback only)."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian" / "area.toml"

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    else:  # an AF_UNIX path is local; anything else is not an address we allow
        return isinstance(address, (str, bytes))
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> object:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise OSError(f"tests must not touch the internet (tried to connect to {address!r})")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_internet():
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def driver():
    """A headless chromium for one module's real-browser tests (tests/_browser.py), quit at the
    module's end; skipped where chromium or selenium is missing."""
    from _browser import start_driver

    d = start_driver()
    yield d
    d.quit()


@pytest.fixture
def sample_copy(tmp_path):
    """A copy of the Huitian sample folder (``tmp_path/huitian``) that the test may change."""
    dst = tmp_path / "huitian"
    shutil.copytree(SAMPLE.parent, dst)
    return dst


@pytest.fixture(scope="session")
def sample_config():
    """The embedded Huitian sample's config."""
    from coverage.config import load_config

    return load_config(SAMPLE)


@pytest.fixture(scope="session")
def sample_inputs(sample_config):
    from coverage.inputs import load_inputs

    return load_inputs(sample_config)


@pytest.fixture(scope="session")
def sample_result(sample_inputs):
    """The coverage stage run once on the embedded sample (shared by the tests that read it)."""
    from coverage.pipeline import analyze

    return analyze(sample_inputs)
