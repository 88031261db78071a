"""The what-if workspace behind ``circle15 serve``: one study area loaded once, a plan edited
site by site, every number computed exactly as ``circle15 run`` computes it.

How an edit stays cheap and exact
---------------------------------
At start-up the workspace runs the coverage stage once (:func:`coverage.pipeline.analyze`,
without isochrones) for the network, the compounds' access points and the snapped facilities,
then keeps, in metres:

* per category, the distance from every compound (inside the units) to the nearest existing
  facility -- one multi-source pass of :func:`coverage.reach.nearest_source_distances`;
* per site of the plan (added by hand, planned station, candidate space), the distance from
  that site alone to every compound -- one bounded pass of the same function with a single
  source, computed once per location and cached.

Both passes are bounded by :attr:`Workspace.store_m`, the longest walk the sliders allow
(``walk.max_walk_min`` at the fastest slider speed), so the walking minutes a run reports up to
``max_walk_min`` are all known. A category's distance under a plan is the element-wise minimum
of the existing distances and its sites' distances. This equals, to the last bit, the single
multi-source pass a run makes over facilities and sites: each pass settles every node at the
minimum over sources of the same floating-point sums. Removing or moving a site recomputes that
minimum from the stored vectors; a slider only changes the threshold applied to stored metres.
Coverage flags, walking minutes and unit tables then come from :mod:`coverage.metrics`
(``coverage_columns``, ``unit_summary``), the functions a run uses, after the run's reporting
cutoff (``max_walk_min`` at the category's speed) is applied.

A plan's numbers equal those of ``circle15 run CONFIG --scenario DIR`` for the same plan saved
in ``DIR`` (see :mod:`coverage.serve.scenario`): the run's ``existing`` columns are the
workspace's baseline (existing facilities at the plan's walk), its ``with_proposed`` columns
the plan.

Every public method takes the workspace's lock, so requests from several browser tabs apply one
at a time, each completely.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from .._geometry import within_distance
from ..access import Snapped, snap_layer, snap_points
from ..config import Category
from ..inputs import StudyInputs
from ..metrics import (
    compound_distance,
    coverage_columns,
    coverage_pct,
    unit_summary,
    within_walk,
)
from ..pipeline import CoverageResult, analyze
from ..reach import nearest_source_distances
from ..siting import solve_mclp
from ..validate import project_lonlat
from .scenario import Scenario, Site, Walk

__all__ = [
    "CHART_MINUTES",
    "SPEED_RANGE_M_S",
    "CategoryState",
    "EditError",
    "Plan",
    "Workspace",
]

log = logging.getLogger(__name__)

#: Walking-speed slider range (m/s); widened to include every category's own speed.
SPEED_RANGE_M_S = (0.5, 1.5)
#: Minutes of the coverage-against-minutes chart.
CHART_MINUTES = tuple(range(5, 31))


class EditError(ValueError):
    """An edit that cannot be applied (the message says why); ``status`` is the HTTP code."""

    def __init__(self, message: str, *, status: int = 422, code: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Plan:
    """An immutable plan: its sites (in the order they were placed) and each category's walk."""

    sites: tuple[Site, ...]
    walks: Mapping[str, Walk]

    def of(self, key: str) -> tuple[Site, ...]:
        """The sites serving category ``key``."""
        return tuple(s for s in self.sites if s.category == key)


@dataclass
class _Reach:
    """Where one site attaches (cheap) and, once asked for, its walking distance to every
    compound (m; one bounded pass)."""

    snap: Snapped
    snap_m: float
    off_network: bool
    dist_m: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class CategoryState:
    """One category under one plan, as a run would report it.

    Attributes
    ----------
    category : Category
        With the plan's minutes and speed.
    base_m, plan_m : ndarray, shape (c,)
        Walking distance to the nearest existing facility / facility or site of the plan (m,
        ``inf`` beyond the run's reporting cutoff), per compound inside the units.
    base_covered, plan_covered : ndarray of bool, shape (c,)
    summary : DataFrame
        :func:`coverage.metrics.unit_summary` rows: scenario ``existing`` is the baseline,
        ``with_proposed`` the plan.
    """

    category: Category
    base_m: NDArray[np.float64]
    plan_m: NDArray[np.float64]
    base_covered: NDArray[np.bool_]
    plan_covered: NDArray[np.bool_]
    summary: pd.DataFrame


class Workspace:
    """One study area loaded once, and the plan being edited.

    Parameters
    ----------
    inputs : StudyInputs
        The area's validated inputs (:func:`coverage.inputs.load_inputs`).
    progress : bool
        Show progress bars while loading.
    """

    def __init__(self, inputs: StudyInputs, *, progress: bool = False) -> None:
        self.inputs = inputs
        self.config = cfg = inputs.config
        self.lock = threading.RLock()
        """Held by every public method: one request at a time changes or reads the plan."""
        self.baseline: CoverageResult = analyze(inputs, isochrones=False, progress=progress)
        self.network = self.baseline.network
        all_comp = inputs.compounds.reset_index(drop=True)
        self._n_all = len(all_comp)
        self._in_area = np.flatnonzero(all_comp["in_area"].to_numpy(bool))
        self.compounds = self.baseline.compounds  # inside the units, in _in_area order
        demands = sorted({c.demand for c in cfg.categories})
        self._units = pd.DataFrame(self.compounds[["unit", *demands]])
        lo, hi = SPEED_RANGE_M_S
        speeds = [c.speed_m_s for c in cfg.categories]
        self.speed_range = (min(lo, *speeds), max(hi, *speeds))
        self.store_m = max(c.cutoff_m(cfg.max_walk_min, self.speed_range[1])
                           for c in cfg.categories)

        facilities, fac_snap = snap_layer(self.network, inputs.facilities, cfg.max_snap_m)
        usable = ~facilities["off_network"].to_numpy(bool)
        cat_of = facilities["category"].to_numpy()
        self._existing: dict[str, NDArray[np.float64]] = {}
        for cat in cfg.categories:
            src = fac_snap.take(np.flatnonzero((cat_of == cat.key) & usable))
            self._existing[cat.key] = self._compound_m(src)

        self.facility_ids = set(inputs.facilities["id"].astype(str))
        self.proposed = self._points(inputs.proposed, "proposed")
        self.candidates = self._points(self._candidate_layer(), "candidate")
        self._reserved_ids = self.facility_ids | set(self.proposed) | set(self.candidates)
        self._reach: dict[tuple[float, float], _Reach] = {}
        self._cache: dict[tuple[Any, ...], CategoryState] = {}
        self._charts: dict[tuple[Any, ...], dict[str, list[float | None]]] = {}
        self._bases: dict[tuple[Any, ...], tuple[NDArray[np.bool_], pd.DataFrame]] = {}
        self.initial = Plan(tuple(s for s in self.proposed.values()),
                            {c.key: Walk(c.minutes, c.speed_m_s) for c in cfg.categories})
        self._plan = self.initial
        self.version = 0
        self._check_baseline()

    # --- loading ----------------------------------------------------------------------------

    def _compound_m(self, sources: Any) -> NDArray[np.float64]:
        """Distance from the nearest of ``sources`` to each compound inside the units (m)."""
        access = self.baseline.access
        point_m, _ = nearest_source_distances(self.network, sources, access.snap, self.store_m)
        return compound_distance(access.compound, point_m, self._n_all)[self._in_area]

    def _candidate_layer(self) -> Any:
        """Candidate spaces: the candidates file, plus generated ones when the config asks."""
        cand = self.inputs.candidates
        if not self.config.generate_candidates:
            return cand
        from ..planning import generate_candidates

        sited = [c.key for c in self.config.categories if c.new_sites > 0]
        comp = self.compounds
        uncovered = np.zeros(len(comp), bool)
        for key in sited:
            uncovered |= ~comp[f"covered_{key}"].to_numpy(bool)
        gen = generate_candidates(self.network, comp.geometry.to_numpy()[uncovered],
                                  self.config.candidate_spacing_m, crs=self.config.crs)
        lonlat = gen.geometry.to_crs(4326)
        gen["lon"], gen["lat"] = lonlat.x.to_numpy(), lonlat.y.to_numpy()
        if cand is None:
            return gen
        return pd.concat([cand, gen], ignore_index=True)

    def _points(self, layer: Any, source: str) -> dict[str, Site]:
        """Planned stations or candidate spaces as plan sites, keyed by site id."""
        out: dict[str, Site] = {}
        if layer is None:
            return out
        for r in layer.itertuples():
            sid = str(r.id)
            if source == "candidate" and sid in self.facility_ids | set(self.proposed):
                sid = f"{sid}-candidate"  # keep the plan's site ids unique, as a run requires
            out[sid] = Site(sid, str(r.name), str(r.category if r.category == r.category else ""),
                            source, float(r.lon), float(r.lat))
        return out

    def _check_baseline(self) -> None:
        """The initial plan must reproduce the run's own numbers: say so loudly if not."""
        for cat in self.config.categories:
            st = self.category_state(cat.key, self.initial)
            want_b = self.compounds[f"covered_{cat.key}"].to_numpy(bool)
            want_p = self.compounds[f"covered_{cat.key}_with_proposed"].to_numpy(bool)
            if not (np.array_equal(st.base_covered, want_b)
                    and np.array_equal(st.plan_covered, want_p)):
                log.error("workspace: %s differs from the coverage stage (a bug)", cat.key)

    # --- sites ------------------------------------------------------------------------------

    def reach(self, site: Site) -> _Reach:
        """Where a site attaches to the network (cached by its lon/lat).

        Raises
        ------
        EditError
            The point is outside the study area (the units plus the longest walk).
        """
        got = self._reach.get((site.lon, site.lat))
        if got is not None:
            return got
        # as locate_points projects and checks a point of a file (see scenario.locate_sites)
        x, y = project_lonlat([site.lon], [site.lat], self.config.crs)
        if not within_distance(self.inputs.study_area, shapely.points(x, y),
                               self.config.max_walk_m)[0]:
            raise EditError(_outside_message(site, self.config.max_walk_m), code="outside_area")
        snap = snap_points(self.network, np.column_stack([x, y]))
        got = _Reach(snap, float(snap.off_m[0]), bool(snap.off_m[0] > self.config.max_snap_m))
        self._reach[(site.lon, site.lat)] = got
        return got

    def site_m(self, site: Site) -> NDArray[np.float64]:
        """The site's walking distance to every compound inside the units (m; computed once).

        ``inf`` beyond :attr:`store_m`, and everywhere for a site a run leaves out (farther
        than ``walk.max_snap_m`` from every walkable street).
        """
        r = self.reach(site)
        if r.dist_m is None:
            r.dist_m = (np.full(len(self._in_area), np.inf) if r.off_network
                        else self._compound_m(r.snap))
        return r.dist_m

    def _plan_m(self, plan: Plan, key: str) -> NDArray[np.float64]:
        dist = self._existing[key]
        for site in plan.of(key):
            dist = np.minimum(dist, self.site_m(site))
        return dist

    def category_state(self, key: str, plan: Plan | None = None) -> CategoryState:
        """Category ``key`` under ``plan`` (default: the current plan); memoised."""
        with self.lock:
            plan = self._plan if plan is None else plan
            walk = plan.walks[key]
            memo = (key, walk, tuple((s.lon, s.lat) for s in plan.of(key)))
            got = self._cache.get(memo)
            if got is not None:
                return got
            cat = replace(self.config.category(key), minutes=walk.minutes,
                          speed_m_s=walk.speed_m_s)
            cutoff_m = cat.cutoff_m(self.config.max_walk_min)  # the run's reporting cutoff
            base = np.where(self._existing[key] <= cutoff_m, self._existing[key], np.inf)
            plan_m = self._plan_m(plan, key)
            plan_m = np.where(plan_m <= cutoff_m, plan_m, np.inf)
            base_cov, base_rows = self._baseline(key, cat, base)
            cov = coverage_columns({key: plan_m}, (cat,), "_with_proposed")
            # unit_summary reports the scenarios whose columns it is given: the baseline's rows
            # (memoised per walk) then the plan's, as one call with both columns would
            plan_rows = unit_summary(pd.concat([self._units, cov], axis=1), (cat,))
            got = CategoryState(
                category=cat, base_m=base, plan_m=plan_m, base_covered=base_cov,
                plan_covered=cov[f"covered_{key}_with_proposed"].to_numpy(bool),
                summary=pd.concat([base_rows, plan_rows], ignore_index=True),
            )
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[memo] = got
            return got

    def _baseline(self, key: str, cat: Category, base_m: NDArray[np.float64]
                  ) -> tuple[NDArray[np.bool_], pd.DataFrame]:
        """Coverage flags and summary rows of the existing facilities at ``cat``'s walk."""
        memo = ("base", key, cat.minutes, cat.speed_m_s)
        got = self._bases.get(memo)
        if got is None:
            cov = coverage_columns({key: base_m}, (cat,))
            rows = unit_summary(pd.concat([self._units, cov], axis=1), (cat,))
            got = (cov[f"covered_{key}"].to_numpy(bool), rows)
            if len(self._bases) > 512:
                self._bases.clear()
            self._bases[memo] = got
        return got

    def demand(self, key: str) -> NDArray[np.float64]:
        """Demand per compound of category ``key`` (residents; NaN as 0, as a run counts)."""
        return self._units[self.config.category(key).demand].fillna(0).to_numpy(dtype=float)

    def chart(self, key: str, plan: Plan | None = None) -> dict[str, list[float | None]]:
        """Coverage (%) against minutes (:data:`CHART_MINUTES`) at the plan's speed."""
        with self.lock:
            plan = self._plan if plan is None else plan
            memo = ("chart", key, plan.walks[key].speed_m_s,
                    tuple((s.lon, s.lat) for s in plan.of(key)))
            got = self._charts.get(memo)
            if got is not None:
                return got
            st = self.category_state(key, plan)
            demand = self.demand(key)
            out: dict[str, list[float | None]] = {"minutes": list(map(float, CHART_MINUTES)),
                                                  "plan": [], "base": []}
            for minutes in CHART_MINUTES:
                walk_m = replace(st.category, minutes=float(minutes)).walk_m
                for name, dist in (("plan", st.plan_m), ("base", st.base_m)):
                    out[name].append(_num(coverage_pct(demand, within_walk(dist, walk_m))))
            if len(self._charts) > 512:
                self._charts.clear()
            self._charts[memo] = out
            return out

    # --- the plan -----------------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        with self.lock:
            return self._plan

    def _set(self, plan: Plan) -> Plan:
        self._plan = plan
        self.version += 1
        return plan

    def scenario(self, name: str) -> Scenario:
        """The current plan as a :class:`~coverage.serve.scenario.Scenario` named ``name``."""
        with self.lock:
            return Scenario(name=name, area=self.config.name, sites=self._plan.sites,
                            walks=dict(self._plan.walks))

    def check_category(self, key: object) -> str:
        if not isinstance(key, str) or key not in self.config.category_keys:
            raise EditError(f"unknown category {str(key)[:60]!r}; use one of: "
                            f"{', '.join(self.config.category_keys)}", code="unknown_category")
        return key

    def _free_id(self) -> str:
        used = self._reserved_ids | {s.id for s in self._plan.sites}
        n = 1
        while f"S{n:03d}" in used:
            n += 1
        return f"S{n:03d}"

    def add_site(self, key: str, lon: float, lat: float, name: str | None = None, *,
                 label: str = "新站点") -> Site:
        """Place a new site of category ``key`` at ``lon``/``lat`` (WGS-84).

        Its id is ``S001``, ``S002``...; its name ``name`` or ``"<label> <number>"``.
        """
        with self.lock:
            self.check_category(key)
            sid = self._free_id()
            site = Site(sid, name or f"{label} {int(sid[1:])}", key, "added", float(lon),
                        float(lat))
            self._require_on_network(site)
            self._set(replace(self._plan, sites=(*self._plan.sites, site)))
            return site

    def _require_on_network(self, site: Site) -> None:
        r = self.reach(site)
        if r.off_network:
            raise EditError(
                f"the point is {r.snap_m:.0f} m from the nearest walkable street (more than "
                f"walk.max_snap_m = {self.config.max_snap_m:g} m): a run would leave it out; "
                "place it nearer a street", code="off_network")

    def _index(self, site_id: object) -> int:
        for i, s in enumerate(self._plan.sites):
            if s.id == site_id:
                return i
        raise EditError(f"no site {str(site_id)[:60]!r} in the plan", status=404,
                        code="not_found")

    def move_site(self, site_id: str, lon: float, lat: float) -> Site:
        """Move a placed site or a planned station (candidate spaces stay where they are)."""
        with self.lock:
            i = self._index(site_id)
            old = self._plan.sites[i]
            if old.source == "candidate":
                raise EditError("a candidate space cannot be moved: switch it off and place a "
                                "new site instead", status=409, code="conflict")
            site = replace(old, lon=float(lon), lat=float(lat))
            self._require_on_network(site)
            sites = list(self._plan.sites)
            sites[i] = site
            self._set(replace(self._plan, sites=tuple(sites)))
            return site

    def delete_site(self, site_id: str) -> None:
        """Remove a site from the plan (a planned station or candidate is switched off)."""
        with self.lock:
            i = self._index(site_id)
            self._set(replace(self._plan, sites=self._plan.sites[:i] + self._plan.sites[i + 1:]))

    def toggle(self, kind: str, item_id: str, on: bool, key: str | None = None) -> None:
        """Switch a planned station or a candidate space (for category ``key``) on or off."""
        with self.lock:
            pool = self.proposed if kind == "proposed" else self.candidates
            if item_id not in pool:
                raise EditError(f"no {kind} site {str(item_id)[:60]!r}", status=404,
                                code="not_found")
            current = [s for s in self._plan.sites if s.id == item_id]
            if not on:
                if current:
                    self.delete_site(item_id)
                return
            site = pool[item_id]
            if kind == "candidate":
                key = self.check_category(key)
                if site.category not in ("", key):
                    raise EditError(f"candidate {item_id} is for {site.category} only",
                                    code="conflict", status=409)
                if current and current[0].category != key:
                    raise EditError(f"candidate {item_id} already hosts {current[0].category}; "
                                    "switch it off there first", code="conflict", status=409)
                site = replace(site, category=key)
            if current:
                return
            self._require_on_network(site)
            self._set(replace(self._plan, sites=(*self._plan.sites, site)))

    def set_walk(self, key: str, minutes: float, speed_m_s: float) -> None:
        """Set category ``key``'s walking minutes and speed (the sliders)."""
        with self.lock:
            self.check_category(key)
            lo, hi = self.speed_range
            if not 0 < minutes <= self.config.max_walk_min:
                raise EditError(f"minutes must be more than 0 and at most "
                                f"{self.config.max_walk_min:g} (walk.max_walk_min)")
            if not lo <= speed_m_s <= hi:
                raise EditError(f"speed_m_s must be between {lo:g} and {hi:g} m/s")
            walks = {**self._plan.walks, key: Walk(float(minutes), float(speed_m_s))}
            self._set(replace(self._plan, walks=walks))

    def reset(self) -> None:
        """Back to the config's own plan: its planned stations, its walks."""
        with self.lock:
            self._set(self.initial)

    def load(self, plan: Plan) -> None:
        """Make a saved plan the current one (its sites are checked like new ones)."""
        with self.lock:
            for site in plan.sites:
                self.check_category(site.category)
                self.reach(site)
            self._set(Plan(tuple(plan.sites), {**self.initial.walks, **dict(plan.walks)}))

    # --- optimise -----------------------------------------------------------------------------

    def usable_candidates(self, key: str, plan: Plan | None = None) -> list[Site]:
        """Candidate spaces that could host category ``key`` (on the network, not hosting
        another category in the plan), in the order ``circle15 sites`` considers them."""
        with self.lock:
            plan = self._plan if plan is None else plan
            taken = {s.id for s in plan.sites if s.source == "candidate" and s.category != key}
            out = []
            for site in self.candidates.values():
                if (site.category in ("", key) and site.id not in taken
                        and not self.reach(site).off_network):
                    out.append(replace(site, category=key))
            return out

    def optimise(self, key: str, k: int) -> dict[str, Any]:
        """Choose the best ``k`` candidate spaces for ``key`` and make them the plan's.

        Exact maximal covering (:func:`coverage.siting.solve_mclp`, the solver of ``circle15
        sites``) with every other site of the plan held as given; the plan's earlier
        candidate spaces for ``key`` are replaced by the selection.
        """
        with self.lock:
            self.check_category(key)
            cands = self.usable_candidates(key)
            if not cands:
                raise EditError("no candidate spaces for this category: add a [candidates] "
                                "file to the config (or set generate = true)", code="bad_k")
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(cands):
                raise EditError(f"k must be a whole number from 1 to {len(cands)} (the candidate"
                                " spaces available for this category)", code="bad_k")
            others = tuple(s for s in self._plan.sites
                           if not (s.source == "candidate" and s.category == key))
            given = Plan(others, self._plan.walks)
            st = self.category_state(key, given)
            rows = [within_walk(self.site_m(c), st.category.walk_m) for c in cands]
            cover = sp.csr_matrix(np.vstack(rows))
            res = solve_mclp(cover, self.demand(key), st.plan_covered, k)
            chosen = [cands[int(i)] for i in res.selected]
            self._set(Plan((*others, *chosen), self._plan.walks))
            return {"selected": [c.id for c in chosen], "status": res.status,
                    "gain": round(res.demand_gained, 1), "k": k}


def _outside_message(site: Site, margin_m: float) -> str:
    return (f"lon/lat ({site.lon:.6f}, {site.lat:.6f}) is outside the study area (its units plus "
            f"a {margin_m:.0f} m walk): place the site inside the area")


def _num(value: float) -> float | None:
    """A float for JSON (NaN and infinities become null)."""
    return float(value) if np.isfinite(value) else None


def lonlat_ok(lon: object, lat: object) -> tuple[float, float]:
    """Validated WGS-84 lon/lat numbers (raises :class:`EditError`)."""
    for name, v, bound in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise EditError(f"{name} must be a number", code="bad_field")
        if not -bound <= v <= bound:
            raise EditError(f"{name} {v!r} is out of range (±{bound:g} degrees)",
                            code="bad_field")
    return float(lon), float(lat)  # type: ignore[arg-type]


