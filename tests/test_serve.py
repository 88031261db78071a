"""circle15 serve: the what-if workspace's API, checked against fresh runs of the pipeline.

Every edit (add, move, delete, toggle, slider, optimise, load) is followed by the page's
numbers being compared with ``analyze`` run from scratch on the same plan (the plan's sites as
proposed stations, its walks as the categories'), and a saved scenario is rerun through the CLI
(``circle15 run CONFIG --scenario DIR``). Bad requests of every kind the issue lists get a 4xx
with a message; the test client raises on any 500.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _subproc import LineReader
from pyproj import Transformer

from coverage.cli import main
from coverage.errors import InputError
from coverage.pipeline import analyze
from coverage.planning import select_sites
from coverage.serve import bind, url_for
from coverage.serve.app import MAX_BODY, TOKEN_COOKIE, TOKEN_HEADER, create_app
from coverage.serve.scenario import (
    SCENARIO_FILE,
    SITES_FILE,
    Scenario,
    Site,
    check_name,
    list_scenarios,
    read_scenario,
    scenario_inputs,
    write_scenario,
)
from coverage.serve.workspace import Workspace

starlette_testclient = pytest.importorskip("starlette.testclient")
TestClient = starlette_testclient.TestClient

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian" / "area.toml"
BASE = "http://127.0.0.1:8765"
KEY = "elderly_station"


@pytest.fixture(scope="module")
def ws(sample_inputs):
    return Workspace(sample_inputs)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("serve_out")


@pytest.fixture(scope="module")
def app(ws, out_dir):
    return create_app(ws, out_dir=out_dir, basemap=False)


@pytest.fixture
def client(app, ws):
    ws.reset()
    with TestClient(app, base_url=BASE) as c:
        yield c
    ws.reset()


@pytest.fixture(scope="module")
def street_points(ws):
    """WGS-84 points on the walk network inside the units (where a planner would click)."""
    rng = np.random.default_rng(7)
    to_ll = Transformer.from_crs(ws.config.crs, 4326, always_xy=True)
    area = ws.inputs.study_area
    nodes = ws.network.node_xy[ws.network.component == ws.network.main_component]
    pts = []
    for i in rng.permutation(len(nodes)):
        x, y = nodes[i] + rng.normal(0, 15, 2)
        if area.buffer(-200).contains(__import__("shapely").Point(x, y)):
            pts.append(to_ll.transform(x, y))
        if len(pts) == 12:
            break
    return pts


def fresh(ws: Workspace, name: str = "check"):
    """The plan run from scratch through the pipeline (the network is the same object)."""
    return analyze(scenario_inputs(ws.inputs, ws.scenario(name)), isochrones=False,
                   network=ws.network)


def assert_view_equals_run(client, result, key: str, *, every_compound: bool = False) -> None:
    """The page's numbers for ``key`` (table, colours, popups) equal the run's."""
    v = client.get(f"/api/view?category={key}").json()
    s = result.summary[result.summary["category"] == key].set_index(["scenario", "unit"])
    for row in v["units"]:
        plan, base = s.loc[("with_proposed", row["unit"])], s.loc[("existing", row["unit"])]
        assert row["plan_pct"] == plan.coverage_pct
        assert row["base_pct"] == base.coverage_pct
        assert row["covered"] == plan.population_covered
        assert row["population"] == plan.population
        assert row["compounds"] == plan.compounds
        assert row["uncovered_compounds"] == plan.compounds_uncovered
        assert row["base_uncovered_compounds"] == base.compounds_uncovered
    comp = result.compounds
    want = "".join("1" if c else "0" for c in comp[f"covered_{key}_with_proposed"])
    assert v["covered"] == want
    want_b = "".join("1" if c else "0" for c in comp[f"covered_{key}"])
    assert v["base_covered"] == want_b
    # the walking minutes (popups), as compounds.csv rounds them
    for i in range(len(comp)) if every_compound else (0, len(comp) // 2, len(comp) - 1):
        d = client.get(f"/api/compound/{i}").json()
        c = next(c for c in d["categories"] if c["key"] == key)
        for field, col in (("plan_min", f"walk_min_{key}_with_proposed"),
                           ("base_min", f"walk_min_{key}")):
            w = comp[col].iat[i]
            assert (c[field] is None) == bool(np.isnan(w))
            if c[field] is not None:
                assert c[field] == float(np.round(w, 2))


# --- exactness ------------------------------------------------------------------------------


def test_initial_plan_is_the_run_with_proposed(client, sample_result):
    for cat in sample_result.config.categories:
        assert_view_equals_run(client, sample_result, cat.key)


def test_every_edit_equals_a_fresh_analyze(client, ws, street_points):
    keys = [KEY, "health_station", "wet_market"]
    # add
    ids = []
    for i, (lon, lat) in enumerate(street_points[:6]):
        r = client.post("/api/sites", json={"category": keys[i % 3], "lon": lon, "lat": lat,
                                            "view": keys[i % 3]})
        assert r.status_code == 200, r.text
        ids.append(r.json()["result"]["id"])
    result = fresh(ws)
    for key in keys:
        assert_view_equals_run(client, result, key)
    # move (drag)
    lon, lat = street_points[7]
    r = client.patch(f"/api/sites/{ids[0]}", json={"lon": lon, "lat": lat, "view": KEY})
    assert r.status_code == 200, r.text
    assert_view_equals_run(client, fresh(ws), KEY)
    # delete
    r = client.delete(f"/api/sites/{ids[3]}?view={KEY}")
    assert r.status_code == 200, r.text
    assert ids[3] not in {s["id"] for s in r.json()["sites"]}
    assert_view_equals_run(client, fresh(ws), KEY)
    # toggle a proposed station off, a candidate on
    prop = next(s for s in ws.proposed.values() if s.category == KEY)
    cand = next(iter(ws.candidates))
    for body in ({"kind": "proposed", "id": prop.id, "on": False},
                 {"kind": "candidate", "id": cand, "on": True, "category": KEY}):
        r = client.post("/api/toggle", json={**body, "view": KEY})
        assert r.status_code == 200, r.text
    assert_view_equals_run(client, fresh(ws), KEY)
    # sliders: minutes and speed (a slow walk also lowers the run's 60-minute reporting cutoff)
    r = client.post("/api/walk", json={"category": KEY, "minutes": 11, "speed_m_s": 0.75,
                                       "view": KEY})
    assert r.status_code == 200, r.text
    assert r.json()["walks"][KEY] == {"minutes": 11.0, "speed_m_s": 0.75}
    client.post("/api/walk", json={"category": "elderly_centre", "minutes": 25,
                                   "speed_m_s": 0.5})
    result = fresh(ws)
    assert result.config.category(KEY).walk_m == pytest.approx(11 * 60 * 0.75)
    beyond = result.compounds["walk_min_elderly_centre_with_proposed"].isna().sum()
    assert beyond > 0  # some compounds are more than 60 minutes away at 0.5 m/s
    for key in keys:
        assert_view_equals_run(client, result, key)
    assert_view_equals_run(client, result, "elderly_centre", every_compound=True)
    # optimise
    r = client.post("/api/optimise", json={"category": "health_station", "k": 2, "view": KEY})
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]["selected"]) <= 2
    result = fresh(ws)
    for key in keys:
        assert_view_equals_run(client, result, key)


def test_chart_points_equal_runs_at_those_minutes(client, ws, street_points):
    lon, lat = street_points[0]
    client.post("/api/sites", json={"category": KEY, "lon": lon, "lat": lat})
    chart = client.get(f"/api/view?category={KEY}").json()["chart"]
    speed = ws.plan.walks[KEY].speed_m_s
    for minutes in (5, 12, 30):
        client.post("/api/walk", json={"category": KEY, "minutes": minutes, "speed_m_s": speed})
        got = fresh(ws).summary.set_index(["category", "scenario", "unit"])
        j = chart["minutes"].index(minutes)
        assert chart["plan"][j] == got.loc[(KEY, "with_proposed", "ALL"), "coverage_pct"]
        assert chart["base"][j] == got.loc[(KEY, "existing", "ALL"), "coverage_pct"]


def test_all_categories_view(client, sample_result):
    v = client.get("/api/view?category=all").json()
    s = sample_result.summary.set_index(["category", "scenario", "unit"])
    for row in v["categories"]:
        assert row["plan_pct"] == s.loc[(row["key"], "with_proposed", "ALL"), "coverage_pct"]
        assert row["base_pct"] == s.loc[(row["key"], "existing", "ALL"), "coverage_pct"]
    missing = len(sample_result.config.categories) - sample_result.compounds[
        "n_categories_covered_with_proposed"].to_numpy()
    assert v["missing"] == missing.tolist()


@pytest.mark.parametrize("given_proposed", [False, True])
def test_optimise_is_circle15_sites(client, ws, sample_result, given_proposed):
    if not given_proposed:
        for sid in list(ws.proposed):
            client.post("/api/toggle", json={"kind": "proposed", "id": sid, "on": False})
    k = 4
    r = client.post("/api/optimise", json={"category": KEY, "k": k, "view": KEY})
    assert r.status_code == 200, r.text
    got = r.json()["result"]
    outcome = select_sites(sample_result, categories=[KEY], k=k, given_proposed=given_proposed)
    opt = outcome.plans[KEY].optimal
    want = outcome.sites[(outcome.sites["method"] == "optimal")]["candidate_id"].tolist()
    assert got["selected"] == want
    assert got["gain"] == pytest.approx(opt.demand_gained, abs=0.1)
    assert got["status"] == "optimal"
    on = [s["id"] for s in r.json()["sites"] if s["source"] == "candidate"]
    assert on == want


def test_candidate_cannot_host_two_categories(client, ws):
    cand = next(iter(ws.candidates))
    client.post("/api/toggle", json={"kind": "candidate", "id": cand, "on": True,
                                     "category": KEY})
    r = client.post("/api/toggle", json={"kind": "candidate", "id": cand, "on": True,
                                         "category": "health_station"})
    assert r.status_code == 409
    assert "already hosts" in r.json()["message"]


# --- scenarios: save, rerun with the CLI, export, restart -------------------------------------


def test_export_and_cli_rerun_reproduce_the_page(client, ws, out_dir, street_points, tmp_path,
                                                 capsys):
    for i, (lon, lat) in enumerate(street_points[:3]):
        client.post("/api/sites", json={"category": [KEY, "wet_market"][i % 2], "lon": lon,
                                        "lat": lat, "name": f"新站点 {i}"})
    client.post("/api/walk", json={"category": "wet_market", "minutes": 8, "speed_m_s": 1.1})
    client.post("/api/toggle", json={"kind": "proposed", "id": next(iter(ws.proposed)),
                                     "on": False})
    views = {c.key: client.get(f"/api/view?category={c.key}").json()
             for c in ws.config.categories}
    r = client.post("/api/export", json={"name": "回天-方案_1"})
    assert r.status_code == 200, r.text
    assert r.json()["matches"] is True
    assert "回天-方案_1" in r.json()["scenarios"]
    folder = out_dir / "scenarios" / "回天-方案_1"
    for f in ("report.html", "report.xlsx", "compounds.csv", "summary.csv", "map.html",
              SCENARIO_FILE, SITES_FILE):
        assert (folder / f).is_file(), f

    # circle15 run CONFIG --scenario DIR, from scratch (network loaded again, as a planner would)
    assert main(["-q", "run", str(SAMPLE), "--scenario", str(folder), "--out", str(tmp_path)]) == 0
    assert f"scenario 回天-方案_1: {len(ws.plan.sites)} sites" in capsys.readouterr().out
    exported = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    rerun = {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert exported == rerun  # the same files (export mirrors `circle15 run`'s stages)
    for f in sorted(exported):
        if f.endswith(".csv"):
            assert (tmp_path / f).read_bytes() == (folder / f).read_bytes(), f
    summary = pd.read_csv(tmp_path / "summary.csv", encoding="utf-8-sig", dtype={"unit": str})
    s = summary.set_index(["category", "scenario", "unit"])
    comp = pd.read_csv(tmp_path / "compounds.csv", encoding="utf-8-sig", dtype={"id": str})
    for key, v in views.items():
        for row in v["units"]:
            for scen, field in (("with_proposed", "plan_pct"), ("existing", "base_pct")):
                want = s.loc[(key, scen, row["unit"]), "coverage_pct"]
                assert row[field] == (None if np.isnan(want) else want), (key, row["unit"])
            assert row["covered"] == s.loc[(key, "with_proposed", row["unit"]),
                                           "population_covered"]
        flags = "".join("1" if c else "0" for c in comp[f"covered_{key}_with_proposed"])
        assert v["covered"] == flags
    assert read_scenario(tmp_path, ws.config) == read_scenario(folder, ws.config)

    # saving the same plan again keeps the exported results; a changed plan drops them
    client.post("/api/scenarios", json={"name": "回天-方案_1"})
    assert (folder / "report.html").is_file()
    client.post("/api/walk", json={"category": KEY, "minutes": 10, "speed_m_s": 0.9})
    client.post("/api/scenarios", json={"name": "回天-方案_1"})
    assert not (folder / "report.html").exists()
    assert read_scenario(folder, ws.config).walks[KEY].minutes == 10


def test_load_and_compare(client, ws, street_points):
    client.post("/api/sites", json={"category": KEY, "lon": street_points[5][0],
                                    "lat": street_points[5][1]})
    client.post("/api/scenarios", json={"name": "A"})
    a_view = client.get(f"/api/view?category={KEY}").json()
    client.post("/api/reset", json={})
    r = client.post("/api/scenarios/load", json={"name": "A", "view": KEY})
    assert r.status_code == 200, r.text
    assert r.json()["units"] == a_view["units"]
    assert r.json()["status"] == {"scenario": "A", "saved": True}
    client.post("/api/walk", json={"category": KEY, "minutes": 20, "speed_m_s": 0.9})
    assert client.get("/api/version").json()["status"]["saved"] is False
    r = client.get(f"/api/compare?a=A&b=current&category={KEY}")
    assert r.status_code == 200, r.text
    d = r.json()
    row = next(x for x in d["rows"] if x["key"] == KEY)
    now = client.get(f"/api/view?category={KEY}").json()
    assert row["a_pct"] == a_view["units"][-1]["plan_pct"]
    assert row["b_pct"] == now["units"][-1]["plan_pct"]
    a_cov = np.array([c == "1" for c in a_view["covered"]])
    b_cov = np.array([c == "1" for c in now["covered"]])
    assert d["gained"] == np.flatnonzero(b_cov & ~a_cov).tolist()
    assert d["lost"] == np.flatnonzero(a_cov & ~b_cov).tolist()
    assert d["gained"]  # 20 minutes covers more


def test_restart_lists_saved_scenarios(ws, client, out_dir):
    client.post("/api/scenarios", json={"name": "kept"})
    app2 = create_app(ws, out_dir=out_dir, basemap=False)
    with TestClient(app2, base_url=BASE) as c2:
        assert "kept" in c2.get("/api/scenarios").json()["scenarios"]
        assert "kept" in c2.get("/api/init").json()["scenarios"]


def test_save_is_atomic(ws, tmp_path, monkeypatch):
    root = tmp_path / "scenarios"
    first = ws.scenario("s1")
    write_scenario(root, first)
    before = {p.name: p.read_bytes() for p in (root / "s1").iterdir()}
    import coverage.serve.scenario as scen

    calls = []
    real = scen.write_text

    def failing(path, text, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(path, text, **kw)

    monkeypatch.setattr(scen, "write_text", failing)
    changed = Scenario("s1", first.area, (*first.sites, Site("S9", "x", KEY, "added",
                                                               116.3, 40.07)), first.walks)
    with pytest.raises(OSError):
        write_scenario(root, changed)
    assert {p.name: p.read_bytes() for p in (root / "s1").iterdir()} == before
    assert [p.name for p in root.iterdir()] == ["s1"]


def test_interrupted_swap_is_repaired(ws, tmp_path):
    root = tmp_path / "scenarios"
    write_scenario(root, ws.scenario("s2"))
    # a crash between the two renames: the old folder is hidden, the new one not yet in place
    os.rename(root / "s2", root / ".s2.abcd1234.old")
    (root / ".s3.abcd1234.tmp").mkdir()
    assert list_scenarios(root) == ["s2"]
    assert sorted(p.name for p in root.iterdir()) == ["s2"]


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_edits_apply_whole(ws, street_points):
    ws.reset()
    v0 = ws.version
    errors = []

    def worker(j):
        try:
            for lon, lat in street_points[j * 3:(j + 1) * 3]:
                site = ws.add_site(KEY, lon, lat)
                ws.category_state(KEY)
                ws.delete_site(site.id)
                ws.add_site(KEY, lon, lat)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(j,)) for j in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ws.version - v0 == 4 * 3 * 3
    added = [s for s in ws.plan.sites if s.source == "added"]
    assert len(added) == 12 and len({s.id for s in added}) == 12
    result = fresh(ws)
    st = ws.category_state(KEY)
    assert np.array_equal(st.plan_covered,
                          result.compounds[f"covered_{KEY}_with_proposed"].to_numpy(bool))
    ws.reset()


# --- bad requests ----------------------------------------------------------------------------


BAD_BODIES = [
    ("post", "/api/sites", {"category": KEY, "lon": "116.3", "lat": 40.07}, 422, "bad_field"),
    ("post", "/api/sites", {"category": KEY, "lon": True, "lat": 40.07}, 422, "bad_field"),
    ("post", "/api/sites", {"category": KEY, "lon": 116.3}, 422, "missing_field"),
    ("post", "/api/sites", {"category": KEY, "lon": 200.0, "lat": 40.07}, 422, "bad_field"),
    ("post", "/api/sites", {"category": KEY, "lon": 116.0, "lat": 39.5}, 422, "outside_area"),
    ("post", "/api/sites", {"category": "nope", "lon": 116.3, "lat": 40.07}, 422,
     "unknown_category"),
    ("post", "/api/sites", {"category": 5, "lon": 116.3, "lat": 40.07}, 422, "bad_field"),
    ("post", "/api/sites", {"category": KEY, "lon": 116.3, "lat": 40.07, "x": 1}, 422,
     "unknown_field"),
    ("post", "/api/sites", {"category": KEY, "lon": 116.3, "lat": 40.07, "view": "zz"}, 422,
     "unknown_category"),
    ("post", "/api/walk", {"category": KEY, "minutes": -1, "speed_m_s": 1.0}, 422, "invalid"),
    ("post", "/api/walk", {"category": KEY, "minutes": 15, "speed_m_s": 9.0}, 422, "invalid"),
    ("post", "/api/walk", {"category": KEY, "minutes": "15", "speed_m_s": 1.0}, 422,
     "bad_field"),
    ("post", "/api/optimise", {"category": KEY, "k": 0}, 422, "bad_k"),
    ("post", "/api/optimise", {"category": KEY, "k": 100000}, 422, "bad_k"),
    ("post", "/api/optimise", {"category": KEY, "k": "3"}, 422, "bad_field"),
    ("post", "/api/optimise", {"category": KEY, "k": 2.5}, 422, "bad_field"),
    ("post", "/api/toggle", {"kind": "facility", "id": "x", "on": True}, 422, "bad_field"),
    ("post", "/api/toggle", {"kind": "proposed", "id": "nope", "on": True}, 404, "not_found"),
    ("post", "/api/toggle", {"kind": "proposed", "id": "x", "on": "yes"}, 422, "bad_field"),
    ("patch", "/api/sites/nope", {"lon": 116.3, "lat": 40.07}, 404, "not_found"),
    ("delete", "/api/sites/nope", None, 404, "not_found"),
    ("post", "/api/scenarios/load", {"name": "never-saved"}, 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_BODIES)
def test_bad_requests_get_4xx_with_a_message(client, method, path, body, status, code):
    before = client.get("/api/version").json()["version"]
    r = getattr(client, method)(path, **({} if body is None else {"json": body}))
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert r.json()["message"] and "Traceback" not in r.text
    assert client.get("/api/version").json()["version"] == before  # nothing changed


def test_point_far_from_any_street_is_refused(client, ws):
    # inside the units but north of the 2013 export's last street
    to_ll = Transformer.from_crs(ws.config.crs, 4326, always_xy=True)
    import shapely

    area = ws.inputs.study_area
    far = None
    for x in np.linspace(*area.bounds[0::2], 60):
        for y in np.linspace(*area.bounds[1::2], 60):
            p = shapely.Point(x, y)
            if area.contains(p) and ws.network.edge_tree.query_nearest(
                    p, return_distance=True)[1][0] > 400:
                far = to_ll.transform(x, y)
                break
        if far:
            break
    assert far is not None
    r = client.post("/api/sites", json={"category": KEY, "lon": far[0], "lat": far[1]})
    assert r.status_code == 422 and r.json()["error"] == "off_network"
    assert "walkable street" in r.json()["message"]


NAMES = ["../etc", "..", ".", "a/b", "a\\b", "", " ", "a b", "CON", "nul", "x" * 65, "-rf",
         "名字\x00", "a.b", "%2e%2e"]


@pytest.mark.parametrize("name", NAMES)
def test_scenario_names_are_never_paths(client, name, out_dir):
    for path in ("/api/scenarios", "/api/scenarios/load", "/api/export"):
        r = client.post(path, json={"name": name})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "bad_name"
    r = client.get("/api/compare", params={"a": name, "b": "current"})
    assert r.status_code == 422
    with pytest.raises(ValueError):
        check_name(name)
    assert not any(p.name.startswith((".", "..")) for p in (out_dir / "scenarios").glob("*")
                   ) if (out_dir / "scenarios").exists() else True


def test_valid_names():
    for name in ("方案A", "plan_2", "回天-2020", "A"):
        assert check_name(name) == name


def test_malformed_bodies(client):
    h = {"content-type": "application/json"}
    r = client.post("/api/sites", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["error"] == "bad_json"
    r = client.post("/api/sites", content=b"[1, 2]", headers=h)
    assert r.status_code == 422
    r = client.post("/api/sites", content="\xff".encode("latin-1"), headers=h)
    assert r.status_code == 400
    r = client.post("/api/sites", content=b'{"category": 1}', headers={"content-type":
                                                                       "text/plain"})
    assert r.status_code == 415
    big = b'{"name": "' + b"x" * MAX_BODY + b'"}'
    r = client.post("/api/scenarios", content=big, headers=h)
    assert r.status_code == 413

    def chunks():  # no Content-Length: the cap counts what arrives
        for _ in range(MAX_BODY // 1000 + 2):
            yield b" " * 1000

    r = client.post("/api/scenarios", content=chunks(), headers=h)
    assert r.status_code == 413
    r = client.get("/api/compound/99999")
    assert r.status_code == 404
    r = client.get("/api/compound/abc")
    assert r.status_code == 404
    r = client.get("/static/app.py")
    assert r.status_code == 404
    r = client.get("/static/..%2F..%2F__init__.py")  # coverage/__init__.py exists
    assert r.status_code == 404


def test_cross_site_and_dns_rebinding_refused(client):
    r = client.post("/api/reset", json={}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/api/reset", json={}, headers={"origin": BASE})
    assert r.status_code == 200
    r = client.get("/api/init", headers={"host": "evil.example:8765"})
    assert r.status_code == 403


def test_token_required_on_other_hosts(ws, out_dir):
    app = create_app(ws, out_dir=out_dir, token="s3cret-token", loopback=False, basemap=False)
    with TestClient(app, base_url="http://10.0.0.5:8765") as c:
        for path in ("/", "/api/init", "/api/view", "/static/app.js", "/api/scenarios"):
            assert c.get(path).status_code == 403, path
        assert c.post("/api/reset", json={}).status_code == 403
        assert c.get("/api/version", params={"token": "wrong"}).status_code == 403
        assert c.get("/api/version", headers={TOKEN_HEADER: "s3cret-token"}).status_code == 200
        r = c.get("/", params={"token": "s3cret-token"})
        assert r.status_code == 200
        assert r.cookies.get(TOKEN_COOKIE) == "s3cret-token"
        assert "httponly" in r.headers["set-cookie"].lower()
        assert c.get("/api/version").status_code == 200  # the cookie now carries it


def test_security_headers(client):
    r = client.get("/")
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "tile.openstreetmap.org" not in r.headers["content-security-policy"]  # basemap off
    assert client.get("/static/leaflet.js").status_code == 200


def test_hostile_names_travel_as_plain_text(client, street_points):
    evil = "<img src=x onerror=alert(1)>"
    lon, lat = street_points[0]
    r = client.post("/api/sites", json={"category": KEY, "lon": lon, "lat": lat,
                                        "name": evil + "\x07"})
    assert r.status_code == 200
    site = next(s for s in r.json()["sites"] if s["source"] == "added")
    assert site["name"] == evil  # stored as text (control character dropped); never HTML


# --- scenario files and the CLI ---------------------------------------------------------------


def _scenario_dir(tmp_path, toml: str, sites: str | None = None) -> Path:
    folder = tmp_path / "sc"
    folder.mkdir()
    (folder / SCENARIO_FILE).write_text(toml, encoding="utf-8")
    (folder / SITES_FILE).write_text(sites or '{"type": "FeatureCollection", "features": []}',
                                     encoding="utf-8")
    return folder


@pytest.mark.parametrize(("toml", "needle"), [
    ('[scenario]\nname = "a"\narea = "回天地区"\nx = 1\n', "scenario.x"),
    ('[scenario]\nname = "a"\narea = "别处"\n', "scenario.area"),
    ('[scenario]\nname = "a"\n[[category]]\nkey = "nope"\nminutes = 10\n', "unknown category"),
    ('[[category]]\nkey = "elderly_station"\nminutes = 0\n', "out of range"),
    ('[[category]]\nkey = "elderly_station"\nspeed_m_s = "fast"\n', "not a number"),
    ('[[category]]\nkey = "elderly_station"\nspeed_m_s = 9\n', "not a walking speed"),
    ("[scenario\n", "not valid TOML"),
    ('[scenario]\nname = "../x"\n', "scenario.name"),
])
def test_bad_scenario_files_exit_2(tmp_path, capsys, toml, needle):
    folder = _scenario_dir(tmp_path, toml)
    assert main(["-q", "run", str(SAMPLE), "--scenario", str(folder)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_scenario_site_outside_the_area_exits_2(tmp_path, capsys):
    sites = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
             '{"id": "S1", "name": "far", "category": "elderly_station", "source": "added"}, '
             '"geometry": {"type": "Point", "coordinates": [116.9, 40.5]}}]}')
    folder = _scenario_dir(tmp_path, '[scenario]\nname = "a"\n', sites)
    assert main(["-q", "run", str(SAMPLE), "--scenario", str(folder)]) == 2
    assert "outside the study area" in capsys.readouterr().err


def test_scenario_missing_folder_exits_2(tmp_path, capsys):
    assert main(["-q", "run", str(SAMPLE), "--scenario", str(tmp_path / "none")]) == 2
    assert "scenario" in capsys.readouterr().err


def test_scenario_round_trip_is_exact(ws, tmp_path):
    sc = ws.scenario("rt")
    sc = Scenario("rt", sc.area, (*sc.sites, Site("S1", "新站点", KEY, "added",
                                                   116.33333333333331, 40.071234567891234)),
                  sc.walks)
    folder = write_scenario(tmp_path, sc)
    back = read_scenario(folder, ws.config)
    assert back == sc  # floats too, to the last bit
    inputs = scenario_inputs(ws.inputs, back)
    assert list(inputs.proposed["id"]) == [s.id for s in sc.sites]


def test_serve_port_in_use_exits_2(capsys):
    sock = bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert main(["serve", str(SAMPLE), "--port", str(port), "--no-browser"]) == 2
        assert "cannot listen" in capsys.readouterr().err
    finally:
        sock.close()


def test_url_carries_the_token_only_when_required():
    sock = bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert url_for(sock, "127.0.0.1", None) == f"http://127.0.0.1:{port}/"
        assert url_for(sock, "0.0.0.0", "abc") == f"http://0.0.0.0:{port}/?token=abc"
    finally:
        sock.close()


def test_read_scenario_needs_sites_file(tmp_path, ws):
    folder = _scenario_dir(tmp_path, '[scenario]\nname = "a"\n')
    (folder / SITES_FILE).unlink()
    with pytest.raises(InputError, match="sites file is missing"):
        read_scenario(folder, ws.config)
    shutil.rmtree(folder)


def test_save_waits_for_no_run_in_the_folder(client, ws, out_dir):
    """A CLI run writing into the scenario folder (another process) holds its lock: 409."""
    import subprocess
    import sys
    import time

    client.post("/api/scenarios", json={"name": "busy"})
    client.post("/api/walk", json={"category": KEY, "minutes": 9, "speed_m_s": 0.9})
    folder = out_dir / "scenarios" / "busy"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from coverage.outputs import lock_output\n"
         "with lock_output(sys.argv[1], command='circle15 run (test)'):\n"
         "    print('locked', flush=True); time.sleep(60)", str(folder)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert LineReader(holder.stdout).wait_for("locked", 60).strip() == "locked"
        r = client.post("/api/scenarios", json={"name": "busy"})
        assert r.status_code == 409 and r.json()["error"] == "in_use", r.text
        assert "another circle15 process" in r.json()["message"]
        assert client.post("/api/export", json={"name": "busy"}).status_code == 409
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert read_scenario(folder, ws.config).walks[KEY].minutes == 15
    assert client.post("/api/scenarios", json={"name": "busy"}).status_code == 200
    assert read_scenario(folder, ws.config).walks[KEY].minutes == 9


def test_circle15_serve_command_serves_until_terminated(tmp_path):
    """The real command: prints the address, answers on it, stops cleanly on SIGTERM."""
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "coverage.cli", "-q", "serve", str(SAMPLE), "--port", "0",
         "--no-browser", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = LineReader(proc.stdout).wait_for("open http://", 120)
        url = line.split("open ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        with urllib.request.urlopen(url + "api/version", timeout=30) as resp:
            assert json.loads(resp.read())["version"] == 0
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert b"/static/leaflet.js" in resp.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 143), err
    assert "Traceback" not in err
