"""Label tables for the map and the report (Chinese by default, English with ``lang="en"``).

Only the project's own words live here; category names come from the config (``label`` /
``label_en``) and place names from the data. Nothing here is escaped: callers escape at the
point where text lands in HTML.
"""

from __future__ import annotations

from typing import Any

from .config import Category
from .constants import LANGS

__all__ = ["LANGS", "cat_label", "check_lang", "tr"]

# Most entries are (zh, en) strings; a few are (zh, en) tuples of paragraphs.
_T: dict[str, tuple[Any, Any]] = {
    # map
    "all_categories": ("全部类别", "All categories"),
    "compounds_cat": ("小区覆盖：{label}", "Compounds: {label}"),
    "units": ("街道/地区边界", "Units (boundaries)"),
    "facilities_cat": ("现有设施：{label}", "Facilities: {label}"),
    "proposed": ("规划站点", "Proposed stations"),
    "isochrones_cat": ("{minutes:g} 分钟步行范围：{label}", "{minutes:g}-min walk area: {label}"),
    "candidates": ("候选站点", "Candidate sites"),
    "ranked_sites": ("推荐站点（按增益排序）", "Ranked sites (by gain)"),
    "optimal_sites": ("最优方案", "Optimal selection"),
    "layers": ("图层", "Layers"),
    "legend": ("图例", "Legend"),
    "covered": ("已覆盖", "Covered"),
    "uncovered": ("未覆盖", "Not covered"),
    "all_covered": ("全部类别均覆盖", "All categories covered"),
    "n_of_cats": ("{n} / {total} 类达标", "{n} of {total} categories within reach"),
    "beyond": ("> {minutes:g}", "> {minutes:g}"),
    "beyond_note": ("“> {minutes:g}”表示 {minutes:g} 分钟内无法步行到达（或路网不连通）。",
                    "“> {minutes:g}” means not reachable on foot within {minutes:g} minutes "
                    "(or not connected by the street network)."),
    "unit": ("单元", "Unit"),
    "population": ("人口", "Population"),
    "population_60plus": ("60岁以上人口", "Population 60+"),
    "category": ("类别", "Category"),
    "walk_min": ("步行（分钟）", "Walk (min)"),
    "limit_min": ("标准（分钟）", "Limit (min)"),
    "walk_min_proposed": ("含规划（分钟）", "With proposed (min)"),
    "unreachable": ("不可达", "unreachable"),
    "facility": ("设施", "Facility"),
    "status": ("状态", "Status"),
    "status_existing": ("现有", "existing"),
    "status_proposed": ("规划", "proposed"),
    "status_planned": ("规划", "planned"),
    "source": ("来源", "Source"),
    "off_network": ("距路网过远", "far from the street network"),
    "rank": ("排名", "Rank"),
    "gain": ("新增覆盖需求", "Demand gained"),
    "cum_pct": ("累计覆盖率（%）", "Cumulative coverage (%)"),
    "method": ("方法", "Method"),
    "method_greedy": ("贪心排序", "greedy ranking"),
    "method_optimal": ("最优（整数规划）", "optimal (integer programme)"),
    "method_set_cover": ("全覆盖（最少站点）", "set cover (fewest sites)"),
    "method_set_cover_pct": ("覆盖 {pct}% 可达需求的最少站点", "fewest sites for {pct}% of "
                             "reachable demand"),
    "attribution": ("街道网络 © OpenStreetMap 贡献者（ODbL）", "Street network © OpenStreetMap "
                    "contributors (ODbL)"),
    # map: panel, legend, title (coverage.maps)
    "grp_colouring": ("小区着色与各类别", "Compounds, facilities, walk areas"),
    "grp_scenario": ("情景", "Scenario"),
    "grp_sites": ("选址", "New sites"),
    "grp_reference": ("参考图层", "Reference"),
    "grp_basemap": ("底图", "Basemap"),
    "col_colour": ("着色", "Colour"),
    "col_facilities": ("设施", "Facilities"),
    "col_walk_area": ("步行范围", "Walk area"),
    "colour_all": ("全部类别（缺几类）", "All categories (how many missing)"),
    "streets": ("步行路网", "Walk network (streets)"),
    "basemap_osm": ("OpenStreetMap 底图", "OpenStreetMap"),
    "basemap_none": ("无底图", "No basemap"),
    "tiles_failed": ("底图无法加载（离线？）", "Basemap tiles unavailable (offline?)"),
    "tiles_failed_streets": ("底图无法加载（离线？）：已显示步行路网", "Basemap tiles unavailable "
                             "(offline?): the walk network is drawn instead"),
    "missing_none": ("全部类别可达", "All categories within reach"),
    "missing_one": ("缺 1 类", "1 category missing"),
    "missing_two_three": ("缺 2–3 类", "2–3 categories missing"),
    "missing_four_five": ("缺 4–5 类", "4–5 categories missing"),
    "missing_six_plus": ("缺 6 类及以上", "6 or more categories missing"),
    "missing_all": ("全部类别均不可达", "No category within reach"),
    "legend_compounds": ("小区：{what}", "Compounds: {what}"),
    "cat_within": ("{minutes:g} 分钟内可达", "within {minutes:g} min"),
    "cat_beyond": ("{minutes:g} 分钟内不可达", "not within {minutes:g} min"),
    "cluster_bubble": ("灰色圆：此处设施数（放大可分开）", "Grey bubble: facilities here "
                       "(zoom in to split)"),
    "cell_legend": ("方块内数字为 {cell:g} 米网格内的数量（共 {n:,} 处，过多无法逐个显示）",
                    "number in each {cell:g} m cell ({n:,} in all: too many to draw one by "
                    "one)"),
    "cell_popup": ("{label}：此 {cell:g} 米网格内 {n:,} 处", "{label}: {n:,} in this {cell:g} m "
                   "cell"),
    "ranked_pin": ("推荐站点（数字为排名）", "Ranked sites (number = rank)"),
    "optimal_star": ("最优方案：{label}", "Optimal selection: {label}"),
    "plan_layer": ("联合方案：哪处空间建什么", "Joint plan: which space becomes what"),
    "plan_legend": ("联合方案（颜色为类别，数字为序号）",
                    "Joint plan (colour = category, number = order)"),
    "plan_conflicts": ("单独规划时重复占用的空间", "Spaces the separate plans use twice"),
    "plan_conflict_ring": ("各类别单独规划会在此放两个设施",
                           "planning each category alone puts two facilities here"),
    "space_id": ("空间编号", "Space id"),
    "floor_area": ("建筑面积", "Floor area"),
    "capacity": ("服务能力", "Capacity"),
    "unlimited": ("不限", "unlimited"),
    "plan_gain": ("新增服务人数", "Demand served added"),
    "double_booked_by": ("单独规划的类别", "Categories planned alone"),
    "facilities": ("现有设施", "Existing facilities"),
    "candidate_ring": ("候选站点", "Candidate site"),
    "proposed_diamond": ("规划站点", "Proposed station"),
    "units_legend": ("街道/地区边界", "Unit boundary"),
    "streets_legend": ("步行路网（显示已简化）", "Walk network (simplified for display)"),
    "iso_legend": ("{label}：{minutes:g} 分钟步行范围（小于 {ha:g} 公顷的封闭街区已填充）",
                   "{label}: {minutes:g}-min walk area (enclosed blocks under {ha:g} ha "
                   "filled)"),
    "show_panel": ("图层", "Layers"),
    "hide": ("收起", "Hide"),
    "ov_mean": ("各类别平均", "Mean of categories"),
    "ov_colour_by": ("按类别着色", "Colour units by"),
    "ov_coverage": ("人口加权覆盖率", "Population-weighted coverage"),
    "ov_labels": ("单元名称", "Unit names"),
    "no_data": ("无数据", "No data"),
    "area": ("地区", "Area"),
    "batch_title": ("{title}：各单元覆盖率", "{title}: coverage by unit"),
    # report
    "report_title": ("{area} 15分钟生活圈覆盖评估报告", "{area}: 15-minute neighbourhood "
                     "coverage report"),
    "generated": ("生成时间", "Generated"),
    "toc": ("目录", "Contents"),
    "sec_area": ("研究区域", "Study area"),
    "sec_sources": ("数据来源与日期", "Data sources and dates"),
    "sec_method": ("方法", "Method"),
    "sec_unit_cov": ("各单元分类别覆盖率", "Coverage by unit and category"),
    "sec_pop_cov": ("人口加权覆盖率", "Population-weighted coverage"),
    "sec_uncovered": ("未覆盖小区", "Compounds not covered"),
    "sec_sites": ("推荐站点与最优方案", "Ranked sites and optimal selection"),
    "sec_scenarios": ("规划站点实施前后对比", "Before and after the planned stations"),
    "sec_provenance": ("数据溯源与局限性", "Provenance and limitations"),
    "not_computed": ("未计算（本次运行没有生成该结果）。", "Not computed (this run produced no "
                     "such result)."),
    "area_name": ("区域名称", "Area"),
    "crs": ("投影坐标系", "Projected CRS"),
    "n_units": ("单元数", "Units"),
    "n_compounds": ("小区数", "Compounds"),
    "n_facilities": ("现有设施数", "Existing facilities"),
    "n_proposed": ("规划站点数", "Proposed stations"),
    "total_population": ("总人口", "Total population"),
    "file": ("文件", "File"),
    "role": ("用途", "Role"),
    "file_bytes": ("大小（字节）", "Size (bytes)"),
    "role_boundaries": ("单元边界", "Unit boundaries"),
    "role_network": ("步行路网", "Walking network"),
    "role_compounds": ("小区", "Compounds"),
    "role_facilities": ("现有设施", "Existing facilities"),
    "role_proposed": ("规划站点", "Proposed stations"),
    "role_candidates": ("候选站点", "Candidate sites"),
    "role_results": ("计算结果", "Results"),
    "missing": ("（缺失）", "(missing)"),
    "minutes": ("时间标准（分钟）", "Limit (min)"),
    "speed": ("步行速度（米/秒）", "Walking speed (m/s)"),
    "walk_m": ("步行距离（米）", "Walking distance (m)"),
    "demand": ("需求人群", "Demand group"),
    "new_sites": ("拟新增站点", "New sites requested"),
    "method_text": (
        "步行时间沿街道网络计算（不按直线距离）。小区以其出入口（无出入口数据时以边界）接入路网，"
        "设施点吸附到最近的可步行道路。某类别下，若小区到最近一处该类设施的网络步行距离不超过"
        "“时间标准 × 步行速度”，则该小区视为被覆盖。距离均在投影坐标系（米）中计算。",
        "Walking times follow the street network, not straight lines. Compounds join the "
        "network at their gates (or along their boundary when no gates are known); facilities "
        "are snapped to the nearest walkable way. A compound counts as covered for a category "
        "when the network walk to the nearest facility of that category is at most "
        "minutes x walking speed. All distances are computed in the projected CRS (metres).",
    ),
    "coverage_pct": ("覆盖率（%）", "Coverage (%)"),
    "pop_weighted_pct": ("人口加权覆盖率（%）", "Population-weighted coverage (%)"),
    "compound_pct": ("小区覆盖率（%）", "Compounds covered (%)"),
    "compounds": ("小区数", "Compounds"),
    "compounds_uncovered": ("未覆盖小区数", "Compounds not covered"),
    "population_covered": ("已覆盖需求人口", "Demand covered"),
    "demand_population": ("需求人口", "Demand population"),
    "scenario": ("情景", "Scenario"),
    "scenario_existing": ("现状", "Existing"),
    "scenario_with_proposed": ("含规划站点", "With proposed"),
    "scenario_greedy": ("新增推荐站点", "With ranked new sites"),
    "scenario_optimal": ("最优方案", "Optimal selection"),
    "scenario_set_cover": ("全覆盖方案", "Full-coverage selection"),
    "scenario_joint_plan": ("联合方案（各类别统筹，一处空间一个设施）",
                            "Joint plan (all categories, one facility per space)"),
    "scenario_independent_plan": ("各类别单独最优（可能重复占用空间）",
                                  "Each category on its own (may use a space twice)"),
    "scenario_optimal_k": ("最优方案（新增至多 {k} 处）", "Optimal selection (up to {k} new "
                           "sites)"),
    "scenario_greedy_k": ("贪心排序前 {k} 处", "Greedy ranking, top {k}"),
    "scenario_set_cover_k": ("最少站点方案（{k}）", "Fewest-sites selection ({k})"),
    "sites_summary": ("各类别选址结论", "Siting results by category"),
    "sites_requested": ("拟新增站点", "New sites requested"),
    "sites_chosen": ("最优方案站点", "Optimal selection"),
    "coverage_before": ("现状覆盖率（%）", "Coverage now (%)"),
    "coverage_after": ("最优方案后覆盖率（%）", "Coverage with the selection (%)"),
    "sites_for_pct": ("达到 {pct}% 可达需求所需站点数", "Sites for {pct}% of reachable demand"),
    "greedy_equals_optimal": ("贪心排序前 k 处即最优", "Greedy top k is optimal"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "ranking_of": ("{label}：候选站点贪心排序（每步选新增覆盖最多的站点）",
                   "{label}: greedy ranking of the candidate sites (each step adds the site "
                   "that covers the most new demand)"),
    "in_optimal": ("入选最优方案", "In optimal selection"),
    "set_cover_lists": ("最少站点方案明细", "Fewest-sites selections in detail"),
    "sites_note": ("贪心排序给出逐个建设的优先顺序；最优方案是在拟新增站点数内使覆盖需求最大的"
                   "组合（整数规划求解）。",
                   "The greedy ranking gives an order in which to build; the optimal selection "
                   "is the combination of the requested number of sites that covers the most "
                   "demand (solved as an integer programme)."),
    "scenario_chart_optimal": ("最优方案", "Optimal selection"),
    "islands_none": ("所有小区与设施都接入主路网（无孤立路段）。",
                     "Every compound and facility joins the main street network (no network "
                     "islands)."),
    "islands_some": ("{n} 个对象只接入与主路网不连通的孤立路段（距主路网最远 {gap:.0f} 米），"
                     "其步行时间可能偏长或显示为不可达：{items}。详见 islands.csv。",
                     "{n} features join only a small street-network island (up to {gap:.0f} m "
                     "from the main network), so their walking times may be too long or shown "
                     "as unreachable: {items}. See islands.csv."),
    "layer_compounds": ("小区", "compound"),
    "layer_facilities": ("设施", "facility"),
    "layer_proposed": ("规划站点", "proposed station"),
    "pct_table_note": ("表中数值为现状人口加权覆盖率（%）。",
                       "Values are population-weighted coverage now (%)."),
    "sites_added": ("新增站点数", "Sites added"),
    "demand_covered": ("覆盖需求人口", "Demand covered"),
    "demand_served": ("容量内服务人口", "Demand served (within capacity)"),
    "change_pp": ("变化（百分点）", "Change (points)"),
    "all_units": ("全部", "All"),
    "name": ("名称", "Name"),
    "missing_categories": ("未覆盖类别", "Categories not covered"),
    "n_missing": ("未覆盖类别数", "Categories missing"),
    "max_walk_min": ("最长步行（分钟）", "Longest walk (min)"),
    "candidate_id": ("候选编号", "Candidate id"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "cum_demand": ("累计覆盖需求", "Cumulative demand covered"),
    "sort_hint": ("点击表头排序。", "Click a column header to sort."),
    "chart_unit_cov": ("各单元分类别覆盖率（现状，人口加权）", "Coverage by unit and category "
                       "(existing, population-weighted)"),
    "chart_before_after": ("规划站点实施前后人口加权覆盖率", "Population-weighted coverage "
                           "before and after the planned stations"),
    "none_uncovered": ("所有小区在全部类别下均被覆盖。", "Every compound is covered for every "
                       "category."),
    "limitations": (
        (
            "步行网络来自 OpenStreetMap，可能缺少小区内部道路、人行天桥或地下通道，也可能包含"
            "实际无法通行的路段；结果应结合实地踏勘核实。",
            "设施位置与类别取决于输入数据的完整性与时效；缺失的设施会使覆盖率偏低。",
            "人口为输入数据中的估计值，未考虑人口结构的细分差异（60岁以上人口除外）。",
            "时间标准与步行速度为规划参数，老年人实际步速可能更慢。",
            "候选站点的增益按需求人口计算，未考虑用地、产权与建设成本。",
        ),
        (
            "The walking network comes from OpenStreetMap and may miss paths inside compounds, "
            "footbridges or underpasses, or include ways that cannot be walked; check the "
            "results on the ground.",
            "Facility locations and categories are only as complete and current as the input "
            "data; missing facilities make coverage look lower than it is.",
            "Populations are the estimates in the input data; no finer age structure is used "
            "(except population 60+).",
            "Minute limits and walking speeds are planning parameters; older residents may walk "
            "more slowly.",
            "Site gains count demand only; land, ownership and construction cost are not "
            "considered.",
        ),
    ),
    "osm_credit": ("地图与路网数据 © OpenStreetMap 贡献者，采用 ODbL 1.0 许可。",
                   "Map and street data © OpenStreetMap contributors, licensed under ODbL 1.0."),
    # xlsx sheet names (<= 31 characters, no []:*?/\)
    "sheet_method": ("方法", "Method"),
    "sheet_sources": ("数据来源", "Sources"),
    "sheet_unit_cov": ("单元覆盖率", "Coverage by unit"),
    "sheet_pop_cov": ("人口加权覆盖率", "Population-weighted"),
    "sheet_uncovered": ("未覆盖小区", "Uncovered compounds"),
    "sheet_sites": ("推荐站点", "Sites"),
    "sheet_scenarios": ("情景对比", "Scenarios"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of: {', '.join(LANGS)}")
    return lang


def tr(key: str, lang: str, **fmt: object):
    """The label ``key`` in ``lang`` (``"zh"`` or ``"en"``), formatted with ``fmt`` if given."""
    zh, en = _T[key]
    text = en if lang == "en" else zh
    return text.format(**fmt) if fmt else text


def cat_label(cat: Category, lang: str) -> str:
    """A category's display name in ``lang``."""
    return cat.label_en if lang == "en" else cat.label
