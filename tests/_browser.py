"""Headless Debian chromium for the real-browser tests (selenium), shared by the test modules.

Skipped only when CI is unset and the browser is absent; with CI set, a missing browser or
selenium is a failure (run ``make system-deps`` and install the test extras).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--window-size=1280,900")
# Counts calls to alert() instead of blocking on a dialog; set before any page script runs.
ALERT_TRAP = "window.__alerts = []; window.alert = function (m) { window.__alerts.push(m); };"


def need(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {what} is missing: run `make system-deps` "
                    "(chromium, chromium-driver) and install the test extras (selenium)")
    pytest.skip(f"{what} not available")


def start_driver():  # type: ignore[no-untyped-def]
    """A headless chromium driver (the caller quits it)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        need("selenium")
    binary = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    drv = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    if not binary or not drv:
        need("chromium/chromedriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ARGS:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(drv), options=opts)
    d.set_page_load_timeout(60)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    return d


def viewport(driver, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    """Make the page's viewport exactly ``width`` × ``height`` CSS pixels."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def open_page(driver, path: Path) -> None:  # type: ignore[no-untyped-def]
    driver.get(path.as_uri())
    driver.get_log("browser")  # drop entries of the previous page
    driver.get(path.as_uri())
    for _ in range(50):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)


def js_errors(driver) -> list[dict]:  # type: ignore[no-untyped-def]
    """Browser log entries that are script errors (basemap tiles failing offline are not)."""
    return [e for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and e.get("source") != "network"]


def alerts(driver) -> list:  # type: ignore[no-untyped-def]
    return driver.execute_script("return window.__alerts")
