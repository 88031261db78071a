"""What a fetch is asked to do: :class:`FetchOptions`, checked once, and its defaults.

Standard library only, so the CLI can build its ``circle15 fetch`` options from these defaults
without importing the heavy parts of the fetch.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..constants import DEFAULT_SPEED_M_S, SPEED_RANGE_M_S
from ..errors import InputError, Problem

__all__ = [
    "DEFAULT_BACKOFF_S",
    "DEFAULT_FALLBACK_FAR",
    "DEFAULT_LEVELS",
    "DEFAULT_M2_PER_PERSON",
    "DEFAULT_PRESET",
    "DEFAULT_RETRIES",
    "DEFAULT_SHARE_60PLUS",
    "DEFAULT_SPEED_M_S",
    "DEFAULT_TIMEOUT_S",
    "FetchError",
    "FetchOptions",
    "default_cache_folder",
    "parse_bbox",
    "parse_units",
]

#: Residential floor area per resident (m²/person) used to turn building floor area into people.
#: Order of magnitude of Beijing's per-capita residential floor area in official statistics
#: (Beijing Statistical Yearbook, 城镇居民人均住房建筑面积: low-to-mid 30s m² in the late 2010s);
#: set your district's own figure with ``--m2-per-person``.
DEFAULT_M2_PER_PERSON = 33.0
#: Storeys assumed for a residential building without ``building:levels`` (Beijing's common
#: six-storey walk-up); every use is counted and reported.
DEFAULT_LEVELS = 6
#: Share of residents aged 60+ (Beijing, 7th national population census 2020: 19.6 %).
DEFAULT_SHARE_60PLUS = 0.196
#: Floor-area ratio assumed for a compound without mapped buildings when no compound of the area
#: has buildings to take the median from.
DEFAULT_FALLBACK_FAR = 1.5
#: Category preset used when none is given.
DEFAULT_PRESET = "gb50180"
#: Seconds per request (also the Overpass server-side timeout).
DEFAULT_TIMEOUT_S = 180.0
#: Attempts per download.
DEFAULT_RETRIES = 3
#: First wait between attempts (seconds); doubles each time.
DEFAULT_BACKOFF_S = 5.0

_UNIT_SPLIT = re.compile(r"[,，、;；\n]+")
# (option, field, lowest, highest) of the numeric options.
_RANGES = (("--m2-per-person", "m2_per_person", 5, 200),
           ("--default-levels", "default_levels", 1, 100),
           ("--share-60plus", "share_60plus", 0, 1),
           ("--speed", "speed_m_s", *SPEED_RANGE_M_S))


class FetchError(InputError):
    """A download or extract could not provide the study area (CLI exit code 2)."""

    def __init__(self, problem: str, fix: str, *, source: str = "OpenStreetMap fetch") -> None:
        super().__init__(Problem(source, None, None, problem, fix))


def parse_units(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Unit names from ``"回龙观街道,龙泽园街道"`` (also ，、; separators) or a list."""
    if text is None:
        return ()
    parts = _UNIT_SPLIT.split(text) if isinstance(text, str) else list(text)
    return tuple(p.strip() for p in parts if p and p.strip())


def parse_bbox(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` degrees -> tuple; raises :class:`FetchError` when malformed."""
    try:
        vals = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except (TypeError, ValueError):
        vals = []
    if (len(vals) != 4 or not all(math.isfinite(v) for v in vals)
            or not (-180 <= vals[0] < vals[2] <= 180 and -90 <= vals[1] < vals[3] <= 90)):
        raise FetchError(f"--bbox {text!r} is not west,south,east,north in degrees",
                         fix="write e.g. --bbox 116.28,40.05,116.36,40.10 (west < east, "
                             "south < north)", source="--bbox")
    return vals[0], vals[1], vals[2], vals[3]


def default_cache_folder() -> Path:
    """``$XDG_CACHE_HOME/circle15/osmnx`` (``~/.cache/circle15/osmnx``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "circle15" / "osmnx"


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


@dataclass(frozen=True)
class FetchOptions:
    """Everything ``circle15 fetch`` is asked to do; checked when made.

    Attributes
    ----------
    out : Path
        Snapshot folder to create (must not exist unless ``overwrite``).
    units : tuple of str
        Unit names (街道/镇), e.g. ``"回龙观街道,龙泽园街道"`` (a string is split on , ，、 ;).
        Geocoded with Nominatim (online), looked up by ``name`` in the extract (``from_pbf``),
        or, with ``boundary``, the rows of the boundary file to keep.
    within : str, optional
        Parent area appended to each geocoding query (``"北京市昌平区"``) / tie-breaker in PBFs.
    boundary : Path, optional
        Polygon file of the units (name column ``name``/``名称``/``unit``/``jd_name``/``乡``).
    bbox : (west, south, east, north), optional
        A rectangle (degrees; ``"W,S,E,N"`` is parsed) as the single unit.
    from_pbf : Path, optional
        Read everything from this .osm.pbf instead of downloading.
    preset : str
        Category preset (see :data:`coverage.presets.PRESETS`).
    name : str, optional
        Area name; default the unit names joined with 、.
    categories : tuple of dict
        Category overrides merged over the preset by key
        (:func:`coverage.presets.merge_categories`).
    category_config : Path, optional
        A TOML file whose ``[[category]]`` blocks are further overrides.
    speed_m_s : float
        ``[walk] speed_m_s`` written to area.toml (m/s, within
        :data:`coverage.constants.SPEED_RANGE_M_S`).
    m2_per_person : float
        Residential floor area per resident (m², 5-200), for the population estimate.
    default_levels : float
        Storeys assumed for residential buildings without ``building:levels`` (1-100).
    share_60plus : float
        Share of residents aged 60 or more (0-1).
    cache_folder : Path, optional
        osmnx download cache (default :func:`default_cache_folder`).
    timeout_s : float
        Per-request timeout (seconds); also the Overpass server-side timeout.
    retries : int
        Attempts per download (network errors, HTTP 429/5xx), with exponential backoff.
    backoff_s : float
        First wait between attempts (seconds); doubles each time.
    overpass_url, nominatim_url : str, optional
        Other endpoints (mirrors) than osmnx's defaults.
    overwrite : bool
        Replace an existing ``out`` folder.

    Raises
    ------
    FetchError
        Not exactly one of units / boundary / bbox, a malformed bbox, or a number out of range.
    """

    out: Path
    units: tuple[str, ...] = ()
    within: str | None = None
    boundary: Path | None = None
    bbox: tuple[float, float, float, float] | None = None
    from_pbf: Path | None = None
    preset: str = DEFAULT_PRESET
    name: str | None = None
    categories: tuple[Mapping[str, Any], ...] = ()
    category_config: Path | None = None
    speed_m_s: float = DEFAULT_SPEED_M_S
    m2_per_person: float = DEFAULT_M2_PER_PERSON
    default_levels: float = DEFAULT_LEVELS
    share_60plus: float = DEFAULT_SHARE_60PLUS
    cache_folder: Path | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    backoff_s: float = DEFAULT_BACKOFF_S
    overpass_url: str | None = None
    nominatim_url: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the given values once, here
        set_(self, "out", Path(self.out))
        set_(self, "units", parse_units(self.units))
        for name in ("boundary", "from_pbf", "category_config", "cache_folder"):
            set_(self, name, _path(getattr(self, name)))
        if self.bbox is not None:
            set_(self, "bbox", parse_bbox(self.bbox))
        set_(self, "categories", tuple(self.categories))
        self._check()

    def _check(self) -> None:
        modes = [m for m, v in (("--units", self.units and self.boundary is None),
                                ("--boundary", self.boundary), ("--bbox", self.bbox)) if v]
        if len(modes) != 1:
            raise FetchError("give exactly one of --units, --boundary FILE or --bbox W,S,E,N"
                             + (f" (got {', '.join(modes)})" if modes else ""),
                             fix="e.g. --units 回龙观街道,龙泽园街道 --within 北京市昌平区",
                             source="circle15 fetch")
        for label, name, lo, hi in _RANGES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not lo <= value <= hi:
                raise FetchError(f"{label} {value!r} is outside {lo}-{hi}",
                                 fix=f"give a number between {lo} and {hi}", source=label)

    @property
    def cache(self) -> Path:
        """The osmnx download cache folder in use."""
        return self.cache_folder or default_cache_folder()
