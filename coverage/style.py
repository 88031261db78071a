"""One palette for every picture circle15 makes: the web map, the report's static maps and charts,
and the QGIS styles. Change a colour here and all of them follow.

Colours for coverage are ColorBrewer's RdYlBu (colour-blind safe): red is "missing", blue is
"covered", so the compounds that lack services are the loudest colour on every map.
"""

from __future__ import annotations

__all__ = [
    "ALL_CATEGORIES_CLASSES",
    "BOUNDARY_COLOUR",
    "CATEGORY_COLOURS",
    "COVERED_COLOUR",
    "NO_DATA_COLOUR",
    "OPTIMAL_COLOUR",
    "OVERVIEW_CLASSES",
    "PROPOSED_COLOUR",
    "SITE_COLOUR",
    "STREET_COLOUR",
    "UNCOVERED_COLOUR",
    "category_colour",
    "missing_class",
]

#: Facility categories, in config order (cycled beyond 12): distinct hues for small dots.
CATEGORY_COLOURS = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#2ca02c", "#7f7f7f", "#393b79", "#ad494a",
)

#: One category: compound within its walk / not.
COVERED_COLOUR = "#4575b4"
UNCOVERED_COLOUR = "#d73027"

#: "All categories": number of categories missing (lower bound) -> colour and label key, from
#: none missing (blue) to many missing (red). ColorBrewer RdYlBu, 5 classes.
ALL_CATEGORIES_CLASSES: tuple[tuple[int, str, str], ...] = (
    (0, "#4575b4", "missing_none"),
    (1, "#91bfdb", "missing_one"),
    (2, "#fee090", "missing_two_three"),
    (4, "#fc8d59", "missing_four_five"),
    (6, "#d73027", "missing_six_plus"),
)

#: Batch overview (coverage % of a unit): lower bound -> colour. Fixed 10 % steps above 50 %,
#: where units differ in practice, and one class below; ColorBrewer YlOrRd (6 classes),
#: reversed: the least covered units are the darkest red.
OVERVIEW_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#bd0026"),
    (50.0, "#f03b20"),
    (60.0, "#fd8d3c"),
    (70.0, "#feb24c"),
    (80.0, "#fed976"),
    (90.0, "#ffffb2"),
)

NO_DATA_COLOUR = "#bdbdbd"
STREET_COLOUR = "#9e9e9e"
BOUNDARY_COLOUR = "#252525"
PROPOSED_COLOUR = "#6a3d9a"
SITE_COLOUR = "#ff7f00"
OPTIMAL_COLOUR = "#ffd700"


def category_colour(index: int) -> str:
    """The colour of the ``index``-th category in config order."""
    return CATEGORY_COLOURS[index % len(CATEGORY_COLOURS)]


def missing_class(n_missing: int, n_categories: int | None = None) -> int:
    """Index into :data:`ALL_CATEGORIES_CLASSES` for a compound missing ``n_missing`` categories.

    With ``n_categories`` given, a compound missing every category (and at least one) is always
    in the last, loudest class, also when an area has fewer categories than that class's bound.
    """
    if n_categories is not None and n_missing >= n_categories > 0:
        return len(ALL_CATEGORIES_CLASSES) - 1
    index = 0
    for i, (lower, _, _) in enumerate(ALL_CATEGORIES_CLASSES):
        if n_missing >= lower:
            index = i
    return index
