"""The study-area config's types: frozen dataclasses, built by :func:`coverage.config.load_config`.

Minutes and walking speeds become metres in exactly one place, :meth:`Category.cutoff_m` (and
back, :meth:`Category.minutes_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..constants import (
    DEFAULT_CANDIDATE_SPACING_M,
    DEFAULT_ISOCHRONE_BUFFER_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MAX_WALK_MIN,
    DEFAULT_SPEED_M_S,
)
from ..errors import ConfigError, Problem

__all__ = ["AreaConfig", "Category", "OsmFilter", "PlanConfig", "PointSource"]

OsmFilter = Mapping[str, "tuple[str, ...] | bool"]
"""OSM tag filter ``{key: (values...)}`` or ``{key: True}`` (any value); any key=value matches."""


@dataclass(frozen=True)
class Category:
    """A facility category and the walk within which residents should reach one.

    Attributes
    ----------
    key : str
        ``[a-z0-9_]+``; used in output column names (``walk_min_<key>``).
    label, label_en : str
        Chinese and English names.
    minutes : float
        Walking time threshold in minutes.
    speed_m_s : float
        Walking speed in metres per second (the category's own, or ``[walk] speed_m_s``).
    demand : str
        Compound column this category serves (``population`` or e.g. ``population_60plus``).
    new_sites : int
        How many new sites siting should choose (0 = none requested).
    min_floor_area_m2 : float
        A candidate space smaller than this cannot host a new facility of this category (m²;
        0 = any space).
    capacity : float or None
        Capacity of a facility of this category, in the category's demand unit (e.g. residents
        aged 60+): of every new one, and of every existing one whose own ``capacity`` is empty;
        None = unlimited.
    weight : float
        Factor on this category's served demand in a joint plan of several categories
        (dimensionless).
    osm : mapping or None
        OpenStreetMap tag filter ``{key: (values...)}`` (or ``{key: True}``) used by ``fetch``;
        informational in a run.
    name_pattern : str or None
        Regular expression an OSM feature's name must also match (used by ``fetch``).
    source : str
        The document and clause the category comes from.
    level, group : str
        Informational tier and group (presets: life-circle tier, business-type group).
    """

    key: str
    label: str
    label_en: str
    minutes: float
    speed_m_s: float
    demand: str = "population"
    new_sites: int = 0
    min_floor_area_m2: float = 0.0
    capacity: float | None = None
    weight: float = 1.0
    osm: OsmFilter | None = None
    name_pattern: str | None = None
    source: str = ""
    level: str = ""
    group: str = ""

    def __hash__(self) -> int:  # the osm mapping is not hashable; equal categories share these
        return hash((self.key, self.label, self.minutes, self.speed_m_s, self.demand))

    def cutoff_m(self, minutes: float | None = None, speed_m_s: float | None = None) -> float:
        """Walking distance (metres) that ``minutes`` at ``speed_m_s`` allows.

        Parameters
        ----------
        minutes : float, optional
            Default the category's threshold; e.g. ``config.max_walk_min`` for the engine's
            reporting cutoff.
        speed_m_s : float, optional
            Default the category's walking speed.
        """
        m = self.minutes if minutes is None else minutes
        s = self.speed_m_s if speed_m_s is None else speed_m_s
        return m * 60.0 * s

    def minutes_of(self, metres: Any) -> Any:
        """Walking minutes of a distance (metres; float or array) at the category's speed."""
        return metres / self.speed_m_s / 60.0

    @property
    def walk_m(self) -> float:
        """Walking distance in metres that ``minutes`` at ``speed_m_s`` allows."""
        return self.cutoff_m()


@dataclass(frozen=True)
class PointSource:
    """A point file (facilities, proposed stations or candidates) and its coordinate system."""

    path: Path
    coords: str = "wgs84"
    layer: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class PlanConfig:
    """The ``[plan]`` table: which categories the joint plan places at once (see
    :mod:`coverage.jointplan`).

    Attributes
    ----------
    categories : tuple of str
        Category keys planned together; empty = every category with ``new_sites > 0``.
    given_proposed : bool
        Treat the planned (``[[proposed]]``) stations as existing facilities.
    time_limit_s : float
        Time limit of each exact solve (seconds).
    """

    categories: tuple[str, ...] = ()
    given_proposed: bool = False
    time_limit_s: float = 60.0


@dataclass(frozen=True)
class AreaConfig:
    """Everything one study area's run needs; built by :func:`load_config`.

    Attributes
    ----------
    source : Path
        The TOML file this config was read from.
    name : str
        Area name (e.g. 回天地区).
    crs : str
        Projected CRS for all distance work (metres).
    boundaries, network, compounds : Path
        Unit polygons, street network file and compound polygons.
    speed_m_s : float
        Default walking speed (m/s).
    max_snap_m : float
        Points farther than this from any walkable way are reported off network (metres).
    max_walk_min : float
        Walking times beyond this are reported as unreachable (minutes).
    isochrone_buffer_m : float
        Buffer around reachable street segments drawn as isochrones (metres).
    categories : tuple of Category
    facilities, proposed : tuple of PointSource
    candidates : PointSource or None
    generate_candidates : bool
        Also generate candidate sites on the network in uncovered areas.
    candidate_spacing_m : float
        Minimum spacing of generated candidates (metres).
    gates : Path or None
        Optional point file of compound gates (``entrance=*`` / ``barrier=gate``), WGS-84.
    boundaries_layer : str or None
        GeoPackage layer of the boundaries file.
    name_field : str
        Column of the boundaries file holding the unit names (e.g. ``乡`` in a township layer).
    unit_names : tuple of str
        ``[area] names``: keep only these units of the boundaries file (empty = all).
    compounds_layer : str or None
        GeoPackage layer of the compounds file.
    tiles : int
        Split the coverage computation into this many tiles (1 = not tiled); see
        :mod:`coverage.tiles`. The results are identical either way.
    plan : PlanConfig or None
        The ``[plan]`` table (None when the file has none).
    """

    source: Path
    name: str
    crs: str
    boundaries: Path
    network: Path
    compounds: Path
    categories: tuple[Category, ...]
    facilities: tuple[PointSource, ...]
    proposed: tuple[PointSource, ...] = ()
    candidates: PointSource | None = None
    generate_candidates: bool = False
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M
    speed_m_s: float = DEFAULT_SPEED_M_S
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    max_walk_min: float = DEFAULT_MAX_WALK_MIN
    isochrone_buffer_m: float = DEFAULT_ISOCHRONE_BUFFER_M
    gates: Path | None = None
    boundaries_layer: str | None = None
    name_field: str = "name"
    unit_names: tuple[str, ...] = ()
    compounds_layer: str | None = None
    tiles: int = 1
    plan: PlanConfig | None = None

    @property
    def folder(self) -> Path:
        """The folder holding the config file."""
        return self.source.parent

    @property
    def category_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.categories)

    def category(self, key: str) -> Category:
        """The category with this key (KeyError if none)."""
        for c in self.categories:
            if c.key == key:
                return c
        raise KeyError(key)

    def category_key(self, text: str) -> str:
        """The key of the category named ``text`` by its key, label or English label.

        Raises
        ------
        ConfigError
            No category is called that (the message lists them).
        """
        for c in self.categories:
            if text in (c.key, c.label, c.label_en):
                return c.key
        choices = ", ".join(f"{c.key} ({c.label})" for c in self.categories)
        raise ConfigError(Problem(str(self.source), None, "category",
                                  f"no category {text!r} in this config",
                                  f"use a key or label: {choices}"))

    @property
    def max_walk_m(self) -> float:
        """The longest walk of any category (metres): how far beyond the units data must reach."""
        return max(c.walk_m for c in self.categories)
