/* circle15 serve: the what-if workspace page.
 *
 * Every number shown comes from the server, which computes it exactly as `circle15 run` does;
 * this script only draws. Text from data (compound, unit, facility and site names) is always
 * set as text (textContent / text nodes), never parsed as HTML.
 */
(function () {
  "use strict";

  const T = {
    zh: {
      title: "方案推演", category: "规划类别", all: "全部类别", walk: "步行标准",
      minutes: "步行时间", speed: "步行速度", walk_reset: "恢复默认",
      chart_title: "覆盖率与步行时间（当前方案实线，现状虚线）", plan: "方案：新增站点与候选空间",
      add_mode: "✚ 在地图上添加站点", reset_plan: "重置方案", proposed: "规划站点",
      candidates: "候选空间", k: "新增站点数", optimise: "最优选址",
      scenarios: "保存、载入与对比", save: "保存", export: "导出报告",
      name_hint: "名称：字母、数字、汉字、- 或 _", compare: "对比", current: "当前方案",
      add_hint: "点击地图放置站点；拖动站点可移动。", add_hint_all: "先选择一个类别再添加站点。",
      unsaved: "未保存的方案", saved_as: "方案：{n}", modified: "方案：{n}（有未保存的修改）",
      coverage: "覆盖率", baseline: "现状", change_pp: "个百分点", units_table: "各街道/镇覆盖情况",
      cats_table: "各类别覆盖情况", unit: "街道/镇", compounds: "小区", demand: "需求人口",
      base_pct: "现状 %", plan_pct: "方案 %", change: "变化", uncovered: "未覆盖小区",
      total: "全部", limit: "标准（分钟）", delete: "删除", added: "新增", from_proposed: "规划",
      from_candidate: "候选", none: "（无）", all_head: "全部类别均在步行范围内的小区",
      all_line: "按当前方案与各类别的步行标准（共 {n} 类）；颜色表示缺少的类别数。", load: "载入", covered_line: "{d}：{c} / {p} 人已覆盖；未覆盖小区 {u} 个（现状 {b} 个）",
      population: "常住人口", population_60plus: "60岁以上人口",
      legend_base: "现状已覆盖", legend_new: "方案新增覆盖", legend_unc: "未覆盖",
      legend_site: "新增站点（可拖动）", legend_prop: "规划站点（实心 = 纳入方案）",
      legend_cand: "候选空间（橙色 = 已选用）", legend_fac: "现有设施", legend_streets: "步行路网",
      legend_gained: "对比：B 新增覆盖", legend_lost: "对比：B 失去覆盖",
      missing: ["全部达标", "缺 1 类", "缺 2–3 类", "缺 4–5 类", "缺 6 类及以上"],
      walk_m: "= {m} 米", min_unit: "分钟", speed_unit: "米/秒",
      cand_info: "{n} 处可用于本类别，{on} 处已选用。点击地图上的菱形选用或取消。",
      show_candidates: "在地图上显示候选空间", compare_clear: "清除对比",
      cand_all: "选择一个类别以使用候选空间。",
      use_for: "用于本类别", stop_using: "不再使用", include: "纳入方案", exclude: "移出方案",
      opt_done: "最优方案：{n} 处，新增覆盖 {g} 人（{s}）", exported: "已导出到 {f}：{files}",
      matches: "结果与页面数字一致", mismatch: "警告：导出结果与页面不一致",
      walk_min: "步行（分钟）", base_min: "现状", plan_min: "方案", beyond: "> {m}",
      streets: "步行路网", units: "街道/镇边界", facilities: "现有设施", basemap: "OSM 底图",
      cmp_title: "方案对比", a_pct: "A %", b_pct: "B %", loading: "正在载入研究区域…",
      exporting: "正在导出（运行完整分析）…", saved: "已保存：{n}", loaded: "已载入：{n}",
      other_tab: "另一个窗口修改了方案，已刷新。",
      errors: {
        outside_area: "该位置不在研究区域内", off_network: "该位置离步行道路太远",
        bad_name: "方案名称无效", not_found: "未找到", conflict: "无法执行",
        bad_k: "新增站点数无效", too_large: "请求过大", forbidden: "无权访问",
        unknown_category: "未知类别", internal: "服务器内部错误",
      },
    },
    en: {
      title: "What-if", category: "Category", all: "All categories", walk: "Walking standard",
      minutes: "Minutes", speed: "Speed", walk_reset: "Reset",
      chart_title: "Coverage against walking minutes (plan solid, baseline dashed)",
      plan: "Plan: new sites and candidate spaces", add_mode: "✚ Add sites on the map", reset_plan: "Reset plan",
      proposed: "Proposed stations", candidates: "Candidate spaces", k: "New sites",
      optimise: "Optimise", scenarios: "Save, load and compare", save: "Save",
      export: "Export report", name_hint: "Name: letters, digits, Chinese characters, - or _",
      compare: "Compare", current: "Current plan",
      add_hint: "Click the map to place a site; drag a site to move it.",
      add_hint_all: "Pick a category to add sites.",
      unsaved: "Unsaved plan", saved_as: "Scenario: {n}", modified: "Scenario: {n} (unsaved changes)",
      coverage: "Coverage", baseline: "Baseline", change_pp: "pp", units_table: "Coverage by unit",
      cats_table: "Coverage by category", unit: "Unit", compounds: "Compounds",
      demand: "Demand", base_pct: "Baseline %", plan_pct: "Plan %", change: "Change",
      uncovered: "Uncovered compounds", total: "All", limit: "Limit (min)", delete: "Delete",
      added: "new", from_proposed: "proposed", from_candidate: "candidate", none: "(none)",
      all_head: "Compounds with every category within reach",
      all_line: "Under the current plan and each category's walk ({n} categories); the colour " +
        "shows how many categories are missing.",
      load: "Load", covered_line: "{d}: {c} of {p} covered; {u} compounds uncovered (baseline {b})",
      population: "Residents", population_60plus: "Residents aged 60+",
      legend_base: "Covered today", legend_new: "Newly covered by the plan",
      legend_unc: "Not covered", legend_site: "New site (drag to move)",
      legend_prop: "Proposed station (filled = in the plan)",
      legend_cand: "Candidate space (orange = used)", legend_fac: "Existing facility",
      legend_streets: "Walk network", legend_gained: "Compare: B gains",
      legend_lost: "Compare: B loses",
      missing: ["All covered", "1 missing", "2–3 missing", "4–5 missing", "6+ missing"],
      walk_m: "= {m} m", min_unit: "min", speed_unit: "m/s",
      cand_info: "{n} usable for this category, {on} in use. Click a diamond on the map to use it.",
      show_candidates: "Show candidate spaces on the map", compare_clear: "Clear",
      cand_all: "Pick a category to use candidate spaces.",
      use_for: "Use for this category", stop_using: "Stop using", include: "Include in plan",
      exclude: "Leave out of plan",
      opt_done: "Optimal: {n} sites, {g} more residents covered ({s})",
      exported: "Exported to {f}: {files}", matches: "results equal the page's numbers",
      mismatch: "WARNING: the exported results differ from the page",
      walk_min: "Walk (min)", base_min: "Baseline", plan_min: "Plan", beyond: "> {m}",
      streets: "Walk network", units: "Unit boundaries", facilities: "Existing facilities",
      basemap: "OSM basemap", cmp_title: "Comparison", a_pct: "A %", b_pct: "B %",
      loading: "Loading the study area…", exporting: "Exporting (running the whole analysis)…",
      saved: "Saved: {n}", loaded: "Loaded: {n}",
      other_tab: "Another window changed the plan; refreshed.",
      errors: {
        outside_area: "That point is outside the study area",
        off_network: "That point is too far from a walkable street", bad_name: "Invalid name",
        not_found: "Not found", conflict: "Not possible", bad_k: "Invalid number of sites",
        too_large: "Request too large", forbidden: "Forbidden",
        unknown_category: "Unknown category", internal: "Internal server error",
      },
    },
  };

  const S = { init: null, view: null, key: null, lang: "zh", adding: false, compare: null,
              cats: {}, busy: 0 };
  const L_ = window.L;
  let map, layers = {};

  // --- helpers -------------------------------------------------------------------------------
  function t(key, fmt) {
    let s = T[S.lang][key];
    if (s === undefined) s = key;
    if (fmt) for (const k of Object.keys(fmt)) s = s.split("{" + k + "}").join(String(fmt[k]));
    return s;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v;
      else if (k === "style") e.style.cssText = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined) continue;
      e.appendChild(typeof kid === "string" || typeof kid === "number"
        ? document.createTextNode(String(kid)) : kid);
    }
    return e;
  }
  const $ = (id) => document.getElementById(id);
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmtInt(v) { return v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US"); }
  function fmtPct(v) { return v === null || v === undefined ? "–" : v.toFixed(2) + "%"; }
  function fmtPp(v) {
    if (v === null || v === undefined) return "–";
    return (v > 0 ? "+" : "") + v.toFixed(2);
  }
  function toast(msg, info) {
    const box = $("toast");
    box.textContent = msg;
    box.className = info ? "info" : "";
    box.style.display = "block";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.style.display = "none"; }, info ? 2500 : 6000);
  }

  async function api(method, path, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    S.busy += 1;
    document.body.dataset.busy = String(S.busy);
    try {
      const resp = await fetch(path, opts);
      const data = await resp.json().catch(() => ({ error: "internal", message: resp.statusText }));
      if (!resp.ok) {
        const head = (T[S.lang].errors[data.error]) || "";
        toast((head ? head + ": " : "") + (data.message || resp.status));
        const err = new Error(data.message || String(resp.status));
        err.status = resp.status;
        throw err;
      }
      return data;
    } finally {
      S.busy -= 1;
      document.body.dataset.busy = String(S.busy);
    }
  }
  const viewParam = () => S.key || "all";
  async function edit(method, path, body) {
    const b = Object.assign({}, body || {});
    if (method !== "DELETE") b.view = viewParam();
    const data = method === "DELETE"
      ? await api("DELETE", path + "?view=" + encodeURIComponent(viewParam()))
      : await api(method, path, b);
    applyView(data);
    return data;
  }

  // --- map ---------------------------------------------------------------------------------------
  function buildMap() {
    const I = S.init;
    map = L_.map("map", { preferCanvas: true, zoomControl: true, zoomSnap: 0.25 });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(
      S.lang === "en" ? "Street network © OpenStreetMap contributors (ODbL)"
                      : "街道网络 © OpenStreetMap 贡献者（ODbL）");
    const overlays = {};
    if (I.basemap) {
      layers.basemap = L_.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        { maxZoom: 19, opacity: 0.55, attribution: "© OpenStreetMap" }).addTo(map);
      overlays[t("basemap")] = layers.basemap;
    }
    layers.streets = L_.geoJSON(I.streets, { interactive: false,
      style: { color: I.colours.street, weight: 1, opacity: 0.9 } }).addTo(map);
    overlays[t("streets")] = layers.streets;
    layers.compounds = L_.geoJSON(I.compounds, {
      style: () => ({ weight: 0.6, color: "#555", fillOpacity: 0.65, fillColor: "#bdbdbd" }),
      onEachFeature: (f, layer) => {
        layer.bindTooltip(() => el("div", null, el("b", null, f.properties.name), " · ",
          f.properties.unit), { sticky: true });
        layer.on("click", (e) => {
          if (S.adding) return;  // the map's click handler places a site
          L_.DomEvent.stopPropagation(e);
          showCompound(f.properties.i, e.latlng);
        });
      },
    }).addTo(map);
    layers.units = L_.geoJSON(I.units, { interactive: false,
      style: { color: I.colours.boundary, weight: 2, fill: false, dashArray: "6 4" },
      onEachFeature: (f, layer) => {
        layer.bindTooltip(el("span", null, f.properties.name),
          { permanent: true, direction: "center", className: "unit-label" });
      } }).addTo(map);
    overlays[t("units")] = layers.units;
    layers.facilities = L_.layerGroup().addTo(map);
    overlays[t("facilities")] = layers.facilities;
    layers.candidates = L_.layerGroup();  // off at first: 100s of spaces would hide the map
    overlays[t("candidates")] = layers.candidates;
    map.on("overlayadd overlayremove", () => {
      $("show-candidates").checked = map.hasLayer(layers.candidates);
    });
    layers.proposed = L_.layerGroup().addTo(map);
    overlays[t("proposed")] = layers.proposed;
    layers.sites = L_.layerGroup().addTo(map);
    L_.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
    L_.control.scale({ imperial: false }).addTo(map);
    layers.legend = L_.control({ position: "bottomright" });
    layers.legend.onAdd = () => el("div", { class: "legend", id: "legend" });
    layers.legend.addTo(map);
    map.fitBounds(I.bounds, { padding: [10, 10] });
    // Many units (a city): their names only once zoomed in, or they hide each other and the map.
    const labelZoom = I.units.features.length > 25 ? map.getZoom() + 2 : -Infinity;
    const showLabels = () => map.getContainer().classList.toggle("no-unit-labels",
                                                                map.getZoom() < labelZoom);
    map.on("zoomend", showLabels);
    showLabels();
    map.on("click", (e) => { if (S.adding) addSite(e.latlng); });
  }

  // One colour per kind of symbol (coverage.style): the map is coloured by coverage, so
  // facilities are dark dots and the plan's sites stand out in orange and purple.
  const FACILITY = "#252525";
  function sourceColour(source) {
    return source === "proposed" ? S.init.colours.proposed : S.init.colours.site;
  }

  function drawFacilities() {
    layers.facilities.clearLayers();
    if (!S.key) return;
    for (const [lon, lat, name] of S.init.facilities[S.key] || []) {
      L_.circleMarker([lat, lon], { radius: 3.5, color: "#fff", weight: 1, fillColor: FACILITY,
        fillOpacity: 1 }).bindTooltip(el("span", null, name)).addTo(layers.facilities);
    }
  }

  function drawSites() {
    layers.sites.clearLayers();
    layers.proposed.clearLayers();
    layers.candidates.clearLayers();
    const v = S.view;
    const inPlan = new Map(v.sites.map((s) => [s.id, s]));
    for (const p of S.init.proposed) {
      if (S.key && p.category !== S.key) continue;
      const cur = inPlan.get(p.id);
      const pos = cur ? [cur.lat, cur.lon] : [p.lat, p.lon];
      const box = el("div", { class: "proposed-icon" + (cur ? " on" : "") });
      const m = L_.marker(pos, { icon: L_.divIcon({ className: "", iconSize: [13, 13] }),
        draggable: !!cur, keyboard: false, zIndexOffset: 500 });
      m.on("add", () => { const ic = m.getElement(); clear(ic); ic.appendChild(box); });
      m.bindTooltip(el("span", null, p.name + " (" + t("from_proposed") + ")"));
      m.on("click", () => togglePopup(m, p, "proposed", !!cur));
      if (cur) m.on("dragend", () => moveSite(p.id, m.getLatLng()));
      m.addTo(layers.proposed);
    }
    if (S.key) {
      for (const c of S.init.candidates) {
        if (c.category && c.category !== S.key) continue;
        const cur = inPlan.get(c.id);
        const on = !!cur && cur.category === S.key;
        const d = el("div", { class: "candidate-icon" + (on ? " on" : "") });
        const m = L_.marker([c.lat, c.lon], { icon: L_.divIcon({ className: "", iconSize: [12, 12] }),
          keyboard: false, zIndexOffset: on ? 400 : 0 });
        m.on("add", () => { const ic = m.getElement(); clear(ic); ic.appendChild(d); });
        m.bindTooltip(el("span", null, c.name + " (" + t("from_candidate") + ")"));
        m.on("click", () => togglePopup(m, c, "candidate", on));
        m.addTo(layers.candidates);
      }
    }
    for (const s of v.sites) {
      if (s.source !== "added" || (S.key && s.category !== S.key)) continue;
      const pin = el("div", { class: "site-icon", style: "background:" + S.init.colours.site });
      const m = L_.marker([s.lat, s.lon], { icon: L_.divIcon({ className: "", iconSize: [18, 18],
        iconAnchor: [9, 22] }), draggable: true, zIndexOffset: 1000, title: s.name });
      m.on("add", () => { const ic = m.getElement(); clear(ic); ic.appendChild(pin); });
      m.bindTooltip(el("span", null, s.name));
      m.on("dragend", () => moveSite(s.id, m.getLatLng()));
      m.on("click", () => {
        m.bindPopup(el("div", { class: "popup" }, el("h4", null, s.name),
          el("div", null, (S.cats[s.category] || {}).label || s.category),
          el("div", { class: "muted" }, "snap " + (s.snap_m === null ? "–" : s.snap_m) + " m"),
          el("button", { type: "button", onclick: () => { map.closePopup(); deleteSite(s.id); } },
             t("delete")))).openPopup();
      });
      m.addTo(layers.sites);
    }
  }

  function togglePopup(marker, item, kind, on) {
    const label = kind === "proposed" ? (on ? t("exclude") : t("include"))
                                      : (on ? t("stop_using") : t("use_for"));
    marker.bindPopup(el("div", { class: "popup" }, el("h4", null, item.name),
      el("div", { class: "muted" }, kind === "proposed" ? t("from_proposed") : t("from_candidate")),
      el("button", { type: "button", onclick: () => { map.closePopup(); toggle(kind, item.id, !on); } },
         label))).openPopup();
  }

  function missingColour(n) {
    let colour = S.init.colours.missing[0][1];
    for (const [lower, c] of S.init.colours.missing) if (n >= lower) colour = c;
    return colour;
  }

  function styleCompounds() {
    const v = S.view, C = S.init.colours;
    const gained = S.compare ? new Set(S.compare.gained) : null;
    const lost = S.compare ? new Set(S.compare.lost) : null;
    layers.compounds.eachLayer((layer) => {
      const i = layer.feature.properties.i;
      let fill;
      if (v.category === "all") fill = missingColour(v.missing[i]);
      else if (v.covered[i] === "1") fill = v.base_covered[i] === "1" ? C.covered : "#91bfdb";
      else fill = C.uncovered;
      const st = { fillColor: fill, color: "#555", weight: 0.6, dashArray: null };
      if (gained && gained.has(i)) Object.assign(st, { color: "#000", weight: 3 });
      if (lost && lost.has(i)) Object.assign(st, { color: "#000", weight: 3, dashArray: "4 3" });
      layer.setStyle(st);
    });
  }

  function drawLegend() {
    const box = $("legend");
    if (!box) return;
    clear(box);
    const C = S.init.colours;
    const sw = (colour, text, cls) => el("div", null,
      el("span", { class: "sw" + (cls ? " " + cls : ""), style: colour ? "background:" + colour : "" }), text);
    if (S.key) {
      box.appendChild(sw(C.covered, t("legend_base")));
      box.appendChild(sw("#91bfdb", t("legend_new")));
      box.appendChild(sw(C.uncovered, t("legend_unc")));
      box.appendChild(el("div", null, el("span", { class: "sw", style: "width:9px;height:9px;border-radius:50%;background:" +
        FACILITY }), t("legend_fac")));
      box.appendChild(el("div", null, el("span", { class: "sw", style: "background:" + C.site +
        ";border-radius:50% 50% 50% 0" }), t("legend_site")));
      box.appendChild(el("div", null, el("span", { class: "sw", style: "background:" + C.proposed }),
        t("legend_prop")));
      box.appendChild(el("div", null, el("span", { class: "sw", style: "background:#ff7f00;transform:rotate(45deg);width:9px;height:9px" }),
        t("legend_cand")));
    } else {
      S.init.colours.missing.forEach(([, colour], j) => box.appendChild(sw(colour, T[S.lang].missing[j])));
    }
    box.appendChild(el("div", null, el("span", { class: "sw line", style: "border-top-color:" + C.street }),
      t("legend_streets")));
    if (S.compare) {
      box.appendChild(el("div", null, el("span", { class: "sw", style: "border:3px solid #000" }), t("legend_gained")));
      box.appendChild(el("div", null, el("span", { class: "sw", style: "border:3px dashed #000" }), t("legend_lost")));
    }
  }

  async function showCompound(i, latlng) {
    const d = await api("GET", "/api/compound/" + i);
    const body = el("tbody");
    const beyond = t("beyond", { m: d.max_walk_min });
    for (const c of d.categories) {
      if (S.key && c.key !== S.key) continue;
      body.appendChild(el("tr", null, el("td", null, (S.cats[c.key] || {}).label || c.key),
        el("td", null, String(c.limit_min)),
        el("td", null, c.base_min === null ? beyond : c.base_min.toFixed(2)),
        el("td", { class: c.plan_covered ? "" : "down" }, c.plan_min === null ? beyond : c.plan_min.toFixed(2))));
    }
    const demand = el("div", { class: "muted" }, t("population") + " " + fmtInt(d.population) +
      (d.population_60plus === null ? "" : " · " + t("population_60plus") + " " + fmtInt(d.population_60plus)));
    L_.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(el("div", { class: "popup" },
      el("h4", null, d.name), el("div", null, d.unit), demand,
      el("table", null, el("thead", null, el("tr", null, el("th", null, t("category")),
        el("th", null, t("limit")), el("th", null, t("base_min")), el("th", null, t("plan_min")))), body)))
      .openOn(map);
  }

  // --- panel -------------------------------------------------------------------------------------
  function buildPanel() {
    const I = S.init;
    document.documentElement.lang = S.lang === "en" ? "en" : "zh";
    document.title = I.area + " · " + t("title");
    $("title").textContent = I.area + " · " + t("title");
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    const sel = $("category");
    sel.appendChild(el("option", { value: "all" }, t("all")));
    for (const c of I.categories) {
      S.cats[c.key] = c;
      sel.appendChild(el("option", { value: c.key }, c.label + " · " + c.minutes + " " + t("min_unit")));
    }
    const first = I.categories.find((c) => c.new_sites > 0) || I.categories[0];
    sel.value = first.key;
    S.key = first.key;
    sel.addEventListener("change", () => { S.key = sel.value === "all" ? null : sel.value;
      S.compare = null; clear($("compare-out")); $("compare-clear").hidden = true; refresh(); });
    const mins = $("minutes"), speed = $("speed");
    speed.min = I.speed_range[0]; speed.max = I.speed_range[1];
    mins.max = Math.max(30, ...I.categories.map((c) => c.minutes));
    for (const inp of [mins, speed]) {
      inp.addEventListener("input", () => { showWalk(+mins.value, +speed.value); sendWalk(); });
    }
    $("walk-reset").addEventListener("click", () => {
      const c = S.cats[S.key];
      if (c) { mins.value = c.minutes; speed.value = c.speed_m_s; sendWalk(); }
    });
    $("add-mode").addEventListener("click", () => setAdding(!S.adding));
    $("reset").addEventListener("click", () => edit("POST", "/api/reset", {}));
    $("optimise").addEventListener("click", optimise);
    $("save").addEventListener("click", save);
    $("export").addEventListener("click", exportScenario);
    $("compare").addEventListener("click", compare);
    $("compare-clear").addEventListener("click", () => {
      S.compare = null; clear($("compare-out")); $("compare-clear").hidden = true;
      styleCompounds(); drawLegend();
    });
    $("show-candidates").addEventListener("change", (e) => {
      if (e.target.checked) map.addLayer(layers.candidates); else map.removeLayer(layers.candidates);
    });
    fillScenarios(I.scenarios);
  }

  function setAdding(on) {
    S.adding = on && !!S.key;
    $("add-mode").classList.toggle("on", S.adding);
    map.getContainer().classList.toggle("adding", S.adding);
  }

  function showWalk(minutes, speed) {
    $("minutes-out").textContent = minutes + " " + t("min_unit");
    $("speed-out").textContent = speed.toFixed(2) + " " + t("speed_unit");
    $("walk-m").textContent = t("walk_m", { m: Math.round(minutes * 60 * speed) });
  }

  let walkTimer = null, walkInFlight = false, walkAgain = false;
  function sendWalk() {
    clearTimeout(walkTimer);
    walkTimer = setTimeout(async () => {
      if (walkInFlight) { walkAgain = true; return; }
      walkInFlight = true;
      try {
        await edit("POST", "/api/walk", { category: S.key, minutes: +$("minutes").value,
                                           speed_m_s: +$("speed").value });
      } catch (e) { /* toast shown */ }
      walkInFlight = false;
      if (walkAgain) { walkAgain = false; sendWalk(); }
    }, 60);
  }

  function fillScenarios(names) {
    const list = $("scenario-list");
    clear(list);
    for (const n of names) {
      list.appendChild(el("li", null, el("span", { class: "name" }, n),
        el("button", { type: "button", class: "small", onclick: () => loadScenario(n) }, t("load"))));
    }
    for (const id of ["compare-a", "compare-b"]) {
      const sel = $(id), old = sel.value;
      clear(sel);
      sel.appendChild(el("option", { value: "current" }, t("current")));
      for (const n of names) sel.appendChild(el("option", { value: n }, n));
      if (old && [...sel.options].some((o) => o.value === old)) sel.value = old;
    }
    if (names.length && $("compare-a").value === "current") $("compare-a").value = names[0];
  }

  function renderHeadline() {
    const box = $("headline");
    clear(box);
    const v = S.view;
    if (v.category === "all") {
      const n = v.missing.filter((m) => m === 0).length;
      box.appendChild(el("div", { class: "muted" }, t("all_head")));
      box.appendChild(el("div", { class: "big" }, el("span", { class: "plan", id: "plan-pct" },
        n + " / " + v.missing.length)));
      box.appendChild(el("div", null, t("all_line", { n: v.categories.length })));
      return;
    }
    const all = v.units[v.units.length - 1];
    const c = S.cats[v.category];
    const delta = all.change_pp;
    box.appendChild(el("div", { class: "muted" }, t("coverage") + " · " + c.label));
    box.appendChild(el("div", { class: "big" }, el("span", { class: "plan", id: "plan-pct" }, fmtPct(all.plan_pct)),
      el("span", { class: "delta " + (delta > 0 ? "up" : delta < 0 ? "down" : "") },
         fmtPp(delta) + " " + t("change_pp"))));
    box.appendChild(el("div", { class: "muted" }, t("baseline") + " " + fmtPct(all.base_pct)));
    box.appendChild(el("div", null, t("covered_line", { d: t(c.demand) === c.demand ? c.demand : t(c.demand),
      c: fmtInt(all.covered), p: fmtInt(all.population), u: all.uncovered_compounds,
      b: all.base_uncovered_compounds })));
  }

  function renderTable() {
    const v = S.view;
    const head = $("table").tHead, body = $("table").tBodies[0];
    clear(head); clear(body);
    if (v.category === "all") {
      $("table-title").textContent = t("cats_table");
      head.appendChild(el("tr", null, ...[t("category"), t("limit"), t("base_pct"), t("plan_pct"),
        t("change"), t("uncovered")].map((h) => el("th", null, h))));
      for (const r of v.categories) {
        body.appendChild(el("tr", null, el("td", null, S.cats[r.key].label), el("td", null, String(r.minutes)),
          el("td", null, fmtPct(r.base_pct)), el("td", null, fmtPct(r.plan_pct)),
          el("td", { class: r.change_pp > 0 ? "up" : "" }, fmtPp(r.change_pp)),
          el("td", null, String(r.uncovered_compounds))));
      }
      return;
    }
    $("table-title").textContent = t("units_table");
    head.appendChild(el("tr", null, ...[t("unit"), t("compounds"), t("demand"), t("base_pct"),
      t("plan_pct"), t("change")].map((h) => el("th", null, h))));
    for (const r of v.units) {
      body.appendChild(el("tr", { class: r.unit === "ALL" ? "total" : "", "data-unit": r.unit },
        el("td", null, r.unit === "ALL" ? t("total") : r.unit), el("td", null, String(r.compounds)),
        el("td", null, fmtInt(r.population)), el("td", null, fmtPct(r.base_pct)),
        el("td", { class: "plan-pct" }, fmtPct(r.plan_pct)),
        el("td", { class: r.change_pp > 0 ? "up" : "" }, fmtPp(r.change_pp))));
    }
  }

  function renderChart() {
    const svg = $("chart");
    clear(svg);
    const v = S.view;
    if (v.category === "all") { $("chart-box").style.display = "none"; return; }
    $("chart-box").style.display = "";
    const NS = "http://www.w3.org/2000/svg";
    const mk = (tag, attrs, text) => {
      const e = document.createElementNS(NS, tag);
      for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    };
    const W = 320, H = 150, L = 34, R = 8, Tp = 8, B = 22;
    const xs = v.chart.minutes, lo = xs[0], hi = xs[xs.length - 1];
    const vals = v.chart.plan.concat(v.chart.base).filter((x) => x !== null);
    const ymin = Math.max(0, Math.floor(Math.min(...vals, 100) / 10) * 10);
    const X = (m) => L + (m - lo) / (hi - lo) * (W - L - R);
    const Y = (p) => Tp + (100 - p) / (100 - ymin || 1) * (H - Tp - B);
    for (let p = ymin; p <= 100; p += (100 - ymin) >= 50 ? 20 : 10) {
      mk("line", { x1: L, x2: W - R, y1: Y(p), y2: Y(p), stroke: "#eee" });
      mk("text", { x: L - 4, y: Y(p) + 3, "text-anchor": "end" }, p + "%");
    }
    for (let m = lo; m <= hi; m += 5) mk("text", { x: X(m), y: H - 8, "text-anchor": "middle" }, String(m));
    mk("text", { x: W - R, y: H - 1, "text-anchor": "end" }, t("min_unit"));
    const path = (arr) => arr.map((p, j) => (p === null ? null : (j ? "L" : "M") + X(xs[j]) + "," + Y(p)))
      .filter(Boolean).join(" ");
    mk("path", { d: path(v.chart.base), fill: "none", stroke: "#888", "stroke-dasharray": "4 3", "stroke-width": 1.5 });
    mk("path", { d: path(v.chart.plan), fill: "none", stroke: S.init.colours.covered, "stroke-width": 2 });
    const cur = v.walks[v.category].minutes;
    if (cur >= lo && cur <= hi) {
      mk("line", { x1: X(cur), x2: X(cur), y1: Tp, y2: H - B, stroke: "#ff7f00", "stroke-width": 1.5 });
      const all = v.units[v.units.length - 1];
      if (all.plan_pct !== null) mk("circle", { cx: X(cur), cy: Y(all.plan_pct), r: 3.5, fill: "#ff7f00" });
    }
    xs.forEach((m, j) => {
      const c = mk("circle", { cx: X(m), cy: Y(v.chart.plan[j] === null ? ymin : v.chart.plan[j]), r: 5, fill: "transparent" });
      const title = document.createElementNS(NS, "title");
      title.textContent = m + " " + t("min_unit") + ": " + fmtPct(v.chart.plan[j]) + " / " + t("baseline") + " " + fmtPct(v.chart.base[j]);
      c.appendChild(title);
    });
  }

  function renderSites() {
    const v = S.view, list = $("site-list"), plist = $("proposed-list");
    clear(list); clear(plist);
    const order = { added: 0, candidate: 1, proposed: 2 };
    // placed sites and candidate spaces here; planned stations have their own list below
    const mine = v.sites.filter((s) => s.source !== "proposed" && (!S.key || s.category === S.key))
      .sort((a, b) => order[a.source] - order[b.source]);  // stable: placing order within a kind
    const srcTag = { added: t("added"), proposed: t("from_proposed"), candidate: t("from_candidate") };
    for (const s of mine) {
      list.appendChild(el("li", { "data-site": s.id },
        el("span", { class: "dot", style: "background:" + sourceColour(s.source) +
          (s.source === "proposed" ? ";border-radius:0" : "") }),
        el("span", { class: "name", title: s.name }, s.name),
        el("span", { class: "tag" }, srcTag[s.source] || s.source),
        el("button", { type: "button", class: "small", onclick: () => deleteSite(s.id) }, t("delete"))));
    }
    if (!mine.length) list.appendChild(el("li", { class: "muted" }, t("none")));
    const ids = new Set(v.sites.map((s) => s.id));
    for (const p of S.init.proposed) {
      if (S.key && p.category !== S.key) continue;
      const box = el("input", { type: "checkbox", "data-proposed": p.id });
      box.checked = ids.has(p.id);
      box.addEventListener("change", () => toggle("proposed", p.id, box.checked));
      plist.appendChild(el("li", null, box, el("span", { class: "name", title: p.name }, p.name)));
    }
    if (!plist.firstChild) plist.appendChild(el("li", { class: "muted" }, t("none")));
    const info = $("candidate-info");
    if (S.key) {
      const c = S.cats[S.key];
      const on = v.sites.filter((s) => s.source === "candidate" && s.category === S.key).length;
      info.textContent = t("cand_info", { n: c.candidates, on });
      $("k").max = Math.max(1, c.candidates);
      $("optimise").disabled = !c.candidates;
    } else {
      info.textContent = t("cand_all");
      $("optimise").disabled = true;
    }
    $("add-mode").disabled = !S.key;
    $("add-hint").textContent = S.key ? t("add_hint") : t("add_hint_all");
  }

  function renderStatus() {
    const st = S.view.status;
    $("status").textContent = !st.scenario ? t("unsaved")
      : st.saved ? t("saved_as", { n: st.scenario }) : t("modified", { n: st.scenario });
    if (st.scenario && !$("scenario-name").value) $("scenario-name").value = st.scenario;
  }

  function applyView(data) {
    S.view = data;
    if (data.category !== "all") {
      const w = data.walks[data.category];
      if (!walkInFlight || document.activeElement === document.body) {
        $("minutes").value = w.minutes; $("speed").value = w.speed_m_s;
      }
      showWalk(+$("minutes").value, +$("speed").value);
    }
    $("walk-section").style.display = data.category === "all" ? "none" : "";
    renderHeadline(); renderTable(); renderChart(); renderSites(); renderStatus();
    drawFacilities(); drawSites(); styleCompounds(); drawLegend();
    if (data.result && data.result.scenarios) fillScenarios(data.result.scenarios);
    document.body.dataset.version = String(data.version);
  }

  async function refresh() {
    setAdding(S.adding);
    applyView(await api("GET", "/api/view?category=" + encodeURIComponent(viewParam())));
  }

  // --- actions -----------------------------------------------------------------------------------
  async function addSite(latlng) {
    try {
      await edit("POST", "/api/sites", { category: S.key, lon: latlng.lng, lat: latlng.lat });
    } catch (e) { /* toast shown */ }
  }
  async function moveSite(id, latlng) {
    try { await edit("PATCH", "/api/sites/" + encodeURIComponent(id), { lon: latlng.lng, lat: latlng.lat }); }
    catch (e) { refresh(); }
  }
  async function deleteSite(id) {
    try { await edit("DELETE", "/api/sites/" + encodeURIComponent(id)); } catch (e) { /* shown */ }
  }
  async function toggle(kind, id, on) {
    try { await edit("POST", "/api/toggle", { kind, id, on, category: S.key || undefined }); }
    catch (e) { refresh(); }
  }
  async function optimise() {
    const k = parseInt($("k").value, 10);
    try {
      const d = await edit("POST", "/api/optimise", { category: S.key, k: isNaN(k) ? 0 : k });
      const r = d.result;
      $("optimise-out").textContent = t("opt_done", { n: r.selected.length, g: fmtInt(r.gain), s: r.status });
    } catch (e) { /* shown */ }
  }
  async function save() {
    try {
      const d = await api("POST", "/api/scenarios", { name: $("scenario-name").value, view: viewParam() });
      applyView(d);
      toast(t("saved", { n: d.result.name }), true);
    } catch (e) { /* shown */ }
  }
  async function loadScenario(name) {
    try {
      const d = await edit("POST", "/api/scenarios/load", { name });
      $("scenario-name").value = name;
      toast(t("loaded", { n: d.result.name }), true);
    } catch (e) { /* shown */ }
  }
  async function compare() {
    const a = $("compare-a").value, b = $("compare-b").value;
    try {
      const d = await api("GET", "/api/compare?a=" + encodeURIComponent(a) + "&b=" +
        encodeURIComponent(b) + "&category=" + encodeURIComponent(viewParam()));
      S.compare = d;
      const out = $("compare-out");
      clear(out);
      const tb = el("tbody");
      for (const r of d.rows) {
        tb.appendChild(el("tr", null, el("td", null, S.cats[r.key].label), el("td", null, fmtPct(r.a_pct)),
          el("td", null, fmtPct(r.b_pct)), el("td", { class: r.change_pp > 0 ? "up" : r.change_pp < 0 ? "down" : "" },
          fmtPp(r.change_pp))));
      }
      const la = a === "current" ? t("current") : a, lb = b === "current" ? t("current") : b;
      out.appendChild(el("h3", null, t("cmp_title") + ": A = " + la + ", B = " + lb));
      out.appendChild(el("table", { id: "compare-table" }, el("thead", null, el("tr", null, el("th", null, t("category")),
        el("th", null, "A %"), el("th", null, "B %"), el("th", null, t("change")))), tb));
      $("compare-clear").hidden = false;
      styleCompounds(); drawLegend();
    } catch (e) { /* shown */ }
  }
  async function exportScenario() {
    const name = $("scenario-name").value;
    $("export-out").textContent = t("exporting");
    try {
      const d = await api("POST", "/api/export", { name });
      $("export-out").textContent = t("exported", { f: d.folder, files: d.files.join(", ") }) +
        " · " + (d.matches ? t("matches") : t("mismatch"));
      fillScenarios(d.scenarios);
      refresh();
    } catch (e) { $("export-out").textContent = ""; }
  }

  async function poll() {
    try {
      const d = await fetch("/api/version", { credentials: "same-origin" }).then((r) => r.json());
      if (S.view && d.version !== S.view.version && !S.busy) {
        await refresh();
        toast(t("other_tab"), true);
      }
    } catch (e) { /* server gone: keep the page */ }
  }

  async function start() {
    if (location.search.indexOf("token=") >= 0) {
      history.replaceState(null, "", location.pathname);  // the cookie carries the token now
    }
    const lang = (navigator.language || "").startsWith("en") ? "en" : "zh";
    S.lang = lang;
    toast(T[lang].loading, true);
    S.init = await api("GET", "/api/init");
    S.lang = S.init.lang;
    buildPanel();
    buildMap();
    await refresh();
    $("toast").style.display = "none";
    document.body.dataset.ready = "1";
    setInterval(poll, 4000);
  }

  window.c15 = { state: S, layers, get map() { return map; } };
  start().catch((e) => { toast(String(e)); });
})();
