"""The report's own words (static maps, sensitivity, PDF), in Chinese and English.

Shared labels (sections, columns, categories) stay in :mod:`coverage._i18n`; :func:`tr` looks
here first and falls back to it. Nothing here is escaped: callers escape where text lands in HTML.
"""

from __future__ import annotations

from typing import Any

from .. import _i18n

__all__ = ["output_date", "tr"]

_T: dict[str, tuple[str, str]] = {
    "sec_maps": ("现状与选址地图", "Maps: coverage and sites"),
    "sec_sensitivity": ("敏感性分析：时间标准与步行速度", "Sensitivity: time limit and "
                        "walking speed"),
    "maps_note": ("每张地图显示一个类别：小区是否在步行时间内可达（蓝：可达，红：不可达）、"
                  "现有设施（类别颜色圆点）、规划站点（紫色菱形 P）、按增益排序的推荐站点"
                  "（类别颜色圆圈，数字为排名）和最优方案（金色五角星）；第一张为全部类别。"
                  "符号和颜色与交互地图、QGIS 工程一致，底图为步行路网。",
                  "Each map shows one category: compounds within its walk (blue) or not (red), "
                  "the existing facilities (dots in the category's colour), the planned stations "
                  "(purple diamonds marked P), the ranked sites (circles in the category's "
                  "colour, numbered by rank) and the optimal selection (gold stars); the first "
                  "map shows all categories. Symbols and colours are "
                  "those of the interactive map and the QGIS project; the base is the walk "
                  "network."),
    "map_overview": ("全部类别：每个小区缺少的类别数", "All categories: categories each compound "
                     "lacks"),
    "map_category": ("{label}（{minutes:g} 分钟）", "{label} ({minutes:g} min)"),
    "map_fig": ("图 {n}　{title}", "Figure {n}. {title}"),
    "plan_cat": ("联合方案：{label}", "Joint plan: {label}"),
    "north": ("北", "N"),
    "metres": ("米", "m"),
    "km": ("公里", "km"),
    "sens_note": ("按本次计算已有的步行距离重新判断覆盖（距离 = 步行分钟 × 60 × 类别步速），"
                  "不重新计算路径。第一组图：步速取类别设定值，时间标准从 5 到 30 分钟；第二组图："
                  "时间标准取类别设定值，步速从 0.6 到 1.4 米/秒。实线为现状，虚线为含规划站点，"
                  "竖线与圆点为本次采用的参数。",
                  "Coverage recomputed from the walking distances this run measured (distance = "
                  "walking minutes × 60 × the category's speed); no route is searched again. "
                  "First set of charts: time limits from 5 to 30 minutes at the category's speed; "
                  "second set: walking speeds from 0.6 to 1.4 m/s at the category's time limit. "
                  "Solid: existing; dashed: with the planned stations; the vertical line and the "
                  "dot mark the setting used in this run."),
    "sens_minutes_axis": ("时间标准（分钟）", "Time limit (min)"),
    "sens_config": ("本次参数", "this run"),
    "sens_table": ("不同时间标准下的人口加权覆盖率（%；“现状 → 含规划站点”，● 为本次参数）",
                   "Population-weighted coverage (%) at other time limits (“existing → with "
                   "planned stations”; ● this run's setting)"),
    "sens_speed_table": ("不同步行速度下的人口加权覆盖率（%；“现状 → 含规划站点”，● 为本次参数）",
                         "Population-weighted coverage (%) at other walking speeds (“existing → "
                         "with planned stations”; ● this run's setting)"),
    "sens_minutes_title": ("覆盖率随时间标准的变化（步速为类别设定值）",
                           "Coverage against the time limit (at the category's speed)"),
    "sens_speed_title": ("覆盖率随步行速度的变化（时间标准为类别设定值）",
                         "Coverage against walking speed (at the category's time limit)"),
    "sens_lower_bound": ("* 超出本次搜索范围，数值为下限。", "* beyond this run's search "
                         "limit: a lower bound."),
    "sens_csv": ("每分钟、每 0.05 米/秒的完整曲线见 sensitivity.csv 与 report.xlsx。",
                 "The full curves (every minute, every 0.05 m/s) are in sensitivity.csv and "
                 "report.xlsx."),
    "sheet_sensitivity": ("敏感性分析", "Sensitivity"),
    "varied": ("变化参数", "Varied"),
    "varied_minutes": ("时间标准", "time limit"),
    "varied_speed": ("步行速度", "walking speed"),
    "at_config": ("本次参数", "This run's setting"),
    "within_search": ("在搜索范围内", "Within search limit"),
    "page": ("第 {n} 页", "Page {n}"),
    "unit_of_site": ("所在单元", "Unit"),
    "outside_units": ("区外", "outside"),
    "font_fallback": ("（未安装中文字体，图中以编号代替中文名称）",
                      "(no Chinese font installed: charts show ids instead of Chinese names)"),
    "qgis_group_plan": ("规划与选址", "Plan and sites"),
    "qgis_group_facilities": ("现有设施（按类别）", "Facilities by category"),
    "qgis_group_coverage": ("覆盖情况（按类别）", "Coverage by category"),
    "unit_key": ("图中编号：{items}", "Ids in the charts: {items}"),
    # the joint plan (coverage/report/plan.py)
    "sec_plan": ("联合方案：存量空间统筹布局",
                 "Joint plan: one stock of spaces for every category"),
    "plan_intro": ("联合方案同时安排各规划类别：一处候选空间最多设一个新设施，只设建筑面积达到"
                   "该类别最低要求的设施，每类新增不超过计划数量；在此前提下使服务人数最多"
                   "（有服务能力时，同等服务人数下再使步行可达人数最多）。结果由 HiGHS 精确求解"
                   "并证明最优。",
                   "The joint plan places every planned category at once: each candidate space "
                   "hosts at most one new facility, only a category whose minimum floor area it "
                   "meets, and each category gets at most its planned number; within that it "
                   "serves the most people (with capacities, among plans serving as many, it "
                   "brings the most within walking reach). Solved exactly by HiGHS, optimality "
                   "proven."),
    "plan_capacity_note": ("有服务能力时，“服务”指在步行范围内且设施未超出服务能力；"
                           "“可达”只看步行范围。",
                           "With capacities, served means within the walk and within the "
                           "facility's capacity; within reach counts the walk only."),
    "plan_new": ("新增设施", "New facilities"),
    "plan_served": ("服务率（%）现状 → 联合方案", "Served (%) now → joint plan"),
    "plan_reach": ("步行可达率（%）现状 → 联合方案", "Within reach (%) now → joint plan"),
    "plan_alone": ("单独规划服务率（%）", "Served (%) planned alone"),
    "plan_shared": ("单独规划时与其他类别重复占用的空间", "Spaces shared when planned alone"),
    "plan_conflict_note": ("若各类别分别求最优，下列空间会同时被两个类别选中，方案无法实施；"
                           "联合方案避开了这些冲突，加权服务人数比各自最优之和少 {gap} 人。",
                           "Planned one by one, the categories would each take the spaces "
                           "below, which cannot host two facilities; the joint plan avoids that "
                           "and serves {gap} fewer (weighted) people than the separate optima "
                           "added up."),
    "plan_conflict_free": ("若各类别分别求最优，下列空间会同时被两个类别选中，方案无法实施；"
                           "联合方案避开了这些冲突，服务人数与各自最优之和相同。",
                           "Planned one by one, the categories would each take the spaces "
                           "below, which cannot host two facilities; the joint plan avoids that "
                           "and serves as many people as the separate optima added up."),
    "plan_no_conflict": ("各类别单独规划时没有重复占用空间：联合方案即各类别的最优方案。",
                         "Planned one by one, no two categories want the same space: the joint "
                         "plan is each category's best."),
    "plan_overloaded_head": ("现状超出服务能力的设施（最多列出 {n} 处，全部见 utilisation.csv）",
                             "Existing facilities with more demand than capacity (up to {n}; "
                             "all in utilisation.csv)"),
    "plan_nearest": ("就近需求人数", "Demand nearest to it"),
    "plan_floor_area": ("建筑面积（m²）", "Floor area (m²)"),
    "plan_nearest_pct": ("就近需求 / 服务能力（%）", "Nearest demand / capacity (%)"),
    "sheet_plan": ("联合方案", "Joint plan"),
    "sheet_plan_spaces": ("联合方案空间", "Joint plan spaces"),
    "sheet_plan_overloaded": ("超负荷设施", "Overloaded facilities"),
}


def tr(key: str, lang: str, **fmt: Any) -> str:
    """The label ``key`` in ``lang``: the report's own table first, then :mod:`coverage._i18n`."""
    if key not in _T:
        return str(_i18n.tr(key, lang, **fmt))
    zh, en = _T[key]
    text = en if lang == "en" else zh
    return text.format(**fmt) if fmt else text


def output_date() -> str | None:
    """The date printed on outputs, or None for none (so the same inputs give the same bytes).

    The rule shared by the report and the map: :func:`coverage.results.source_date`
    (``SOURCE_DATE_EPOCH``).
    """
    from ..results import source_date

    return source_date()
