"""The project's layers: which GeoPackage table (and filter) each shows, in which group, styled
like the web map (:mod:`coverage.style`), with legend names in the report's language."""

from __future__ import annotations

from dataclasses import dataclass

from .. import style
from .._i18n import cat_label, check_lang
from ..config import Category
from ..report._labels import tr
from ..results import Results
from .symbology import Label, Rule, fill, line, marker


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the project: a GeoPackage table (optionally filtered) and how it looks.

    Attributes
    ----------
    id : str
        Fixed layer id in the project.
    table : str
        Layer (table) name in ``coverage.gpkg``.
    name : str
        Display name.
    group : str
        Layer-tree group key: ``plan``, ``facilities``, ``coverage`` or ``reference``.
    kind : str
        ``fill``, ``marker`` or ``line``.
    rules : list of Rule
    subset : str or None
        OGR filter (SQL WHERE) on the table.
    label : Label or None
    visible : bool
        Checked when the project opens.
    style_name : str
        Name of the style in ``layer_styles``; ``default`` marks the table's default style.
    """

    id: str
    table: str
    name: str
    group: str
    kind: str
    rules: list[Rule]
    subset: str | None = None
    label: Label | None = None
    visible: bool = True
    style_name: str = "default"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _coverage_rules(cat: Category, lang: str) -> list[Rule]:
    col = _q(f"covered_{cat.key}")
    within = tr("cat_within", lang, minutes=cat.minutes)
    beyond = tr("cat_beyond", lang, minutes=cat.minutes)
    return [Rule(tr("legend_compounds", lang, what=within), fill(style.COVERED_COLOUR, alpha=0.8),
                 f"coalesce({col}, 0) = 1"),
            Rule(tr("legend_compounds", lang, what=beyond), fill(style.UNCOVERED_COLOUR,
                                                                 alpha=0.8), None)]


def _overview_rules(results: Results, lang: str) -> list[Rule]:
    """Compounds by the number of categories they lack, as the web map and the report's maps
    class them (:func:`coverage.style.missing_class`: a compound missing every category is in
    the last class, which then reads "no category within reach" when the area has fewer
    categories than that class's bound)."""
    n = len(results.config.categories)
    missing = f"({n} - coalesce({_q('n_categories_covered')}, 0))"
    classes = style.ALL_CATEGORIES_CLASSES
    rules = []
    for i, (lower, colour, key) in enumerate(classes):
        if i + 1 < len(classes):
            expr = f"{missing} >= {lower} AND {missing} < {min(classes[i + 1][0], n)}"
            label = tr(key, lang)
        else:
            expr = f"{missing} >= {min(lower, n)} AND {missing} > 0"
            label = tr("missing_all" if n < lower else key, lang)
        rules.append(Rule(label, fill(colour, alpha=0.85), expr))
    return rules


def _plan_layer(results: Results, lang: str) -> LayerSpec:
    """The joint plan's new facilities: a square per space in its category's colour, ranked."""
    assert results.plan is not None
    keys = list(dict.fromkeys(results.plan.joint_sites["category"].astype(str)))
    index = {c.key: i for i, c in enumerate(results.config.categories)}
    rules = [Rule(cat_label(results.config.category(k), lang),
                  marker("square", style.category_colour(index[k]), size_mm=4.2,
                         stroke="#ffffff", stroke_mm=0.35),
                  f"{_q('category')} = {_lit(k)}") for k in keys if k in index]
    return LayerSpec("plan_joint", "plan_sites", tr("plan_layer", lang), "plan", "marker",
                     rules, subset=f"{_q('method')} = 'joint_plan'",
                     label=Label("rank", size_pt=7.5), style_name="joint_plan")


def _ranked_rules(results: Results, lang: str) -> list[Rule]:
    """Ranked sites: a circle in each sited category's colour (the web map's pins)."""
    sited = set(results.sites["category"].astype(str)) if results.sites is not None else set()
    return [Rule(cat_label(c, lang), marker("circle", style.category_colour(i), size_mm=4.2,
                                            stroke="#ffffff", stroke_mm=0.35),
                 f"{_q('category')} = {_lit(c.key)}")
            for i, c in enumerate(results.config.categories) if c.key in sited]


def _site_layers(results: Results, lang: str, tables: set[str]) -> list[LayerSpec]:
    """The plan group, top first: the joint plan, ranked sites (numbered), the optimal
    selection (gold stars, under the ranked sites' numbers), planned stations, candidates."""
    out = []
    if "plan_sites" in tables and results.plan is not None and len(results.plan.joint_sites):
        out.append(_plan_layer(results, lang))  # the plan on top: it answers the plan's question
    if "selected_sites" in tables:
        method = _q("method")
        out.append(LayerSpec(
            "sites_ranked", "selected_sites", tr("ranked_sites", lang), "plan", "marker",
            _ranked_rules(results, lang), subset=f"{method} = 'greedy'",
            label=Label("rank", size_pt=7.5), style_name="ranked"))
        out.append(LayerSpec(
            "sites_optimal", "selected_sites", tr("optimal_sites", lang), "plan", "marker",
            [Rule(tr("optimal_sites", lang), marker("star", style.OPTIMAL_COLOUR, size_mm=9.0,
                                                    stroke_mm=0.3))],
            subset=f"{method} = 'optimal'", style_name="optimal"))
    if "proposed" in tables and results.has_proposed:
        out.append(LayerSpec(
            "proposed", "proposed", tr("proposed", lang), "plan", "marker",
            [Rule(tr("proposed_diamond", lang), marker("diamond", style.PROPOSED_COLOUR,
                                                       size_mm=3.6, stroke="#ffffff",
                                                       stroke_mm=0.4))]))
    if "candidates" in tables:
        out.append(LayerSpec(
            "candidates", "candidates", tr("candidates", lang), "plan", "marker",
            [Rule(tr("candidate_ring", lang), marker("circle", "#ffffff", size_mm=1.8,
                                                     stroke="#525252", stroke_mm=0.35))],
            visible=False))
    return out


def layer_specs(results: Results, tables: set[str], lang: str = "zh") -> list[LayerSpec]:
    """Every layer of the project, top (drawn last) to bottom, for the tables in the GeoPackage.

    Parameters
    ----------
    results : Results
    tables : set of str
        Layer names present in ``coverage.gpkg``.
    lang : {"zh", "en"}
    """
    check_lang(lang)
    cfg = results.config
    sited = set(results.sites["category"].astype(str)) if results.has_sites and \
        results.sites is not None else set()
    specs = _site_layers(results, lang, tables)
    for i, cat in enumerate(cfg.categories):
        colour = style.category_colour(i)
        specs.append(LayerSpec(
            f"facilities_{cat.key}", "facilities", tr("facilities_cat", lang,
                                                      label=cat_label(cat, lang)),
            "facilities", "marker",
            [Rule(cat_label(cat, lang), marker("circle", colour, size_mm=2.4,
                                               stroke="#ffffff", stroke_mm=0.35))],
            subset=f"{_q('category')} = {_lit(cat.key)}", visible=cat.key in sited,
            style_name=cat.key))
    specs.append(LayerSpec("compounds_all", "compounds", tr("all_categories", lang),
                           "coverage", "fill", _overview_rules(results, lang)))
    for cat in cfg.categories:
        specs.append(LayerSpec(
            f"compounds_{cat.key}", "compounds", tr("compounds_cat", lang,
                                                    label=cat_label(cat, lang)),
            "coverage", "fill", _coverage_rules(cat, lang), visible=False,
            style_name=f"covered_{cat.key}"))
    for i, cat in enumerate(cfg.categories):
        if f"isochrones_{cat.key}" in tables:
            specs.append(LayerSpec(
                f"isochrones_{cat.key}", f"isochrones_{cat.key}",
                tr("isochrones_cat", lang, minutes=cat.minutes, label=cat_label(cat, lang)),
                "coverage", "fill",
                [Rule(tr("scenario_existing", lang),
                      fill(style.category_colour(i), outline=style.category_colour(i),
                           width_mm=0.3, alpha=0.25), f"{_q('scenario')} = 'existing'")],
                visible=False))
    specs.append(LayerSpec("units", "boundaries", tr("units", lang), "reference", "fill",
                           [Rule(tr("units_legend", lang),
                                 fill("#ffffff", outline=style.BOUNDARY_COLOUR, width_mm=0.5,
                                      no_fill=True, dashed=True))],
                           label=Label("name", size_pt=10, placement=4)))
    if "streets" in tables:
        specs.append(LayerSpec("streets", "streets", tr("streets", lang), "reference",
                               "line", [Rule(tr("streets", lang),
                                             line(style.STREET_COLOUR, width_mm=0.18))]))
    return specs
