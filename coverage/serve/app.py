"""The web application of ``circle15 serve`` (Starlette; served by uvicorn).

Routes
------
``GET /`` the page; ``GET /static/<file>`` its scripts and styles (Leaflet included, from the
package: nothing is loaded from a CDN). JSON API, every answer ``{"error", "message"}`` on
failure:

=======================================  ===============================================
``GET  /api/init``                       the study area (once)
``GET  /api/view?category=K|all``        the plan's numbers for one category or all
``GET  /api/version``                    the plan's version (other tabs poll it)
``GET  /api/compound/<i>``               one compound's walking minutes
``POST /api/sites``                      add a site ``{category, lon, lat[, name]}``
``PATCH /api/sites/<id>``                move it ``{lon, lat}``
``DELETE /api/sites/<id>``               delete it
``POST /api/toggle``                     ``{kind: proposed|candidate, id, on[, category]}``
``POST /api/walk``                       sliders ``{category, minutes, speed_m_s}``
``POST /api/optimise``                   ``{category, k}``
``POST /api/reset``                      back to the config's plan
``GET  /api/scenarios``                  saved scenario names
``POST /api/scenarios``                  save the plan ``{name}``
``POST /api/scenarios/load``             ``{name}``
``GET  /api/compare?a=&b=&category=``    two scenarios (or ``current``) side by side
``POST /api/export``                     save and run ``{name}`` into its folder
=======================================  ===============================================

Mutating requests accept ``view`` (a category key or ``all``) and answer with that view.

Security
--------
* Bound to 127.0.0.1 by default; then requests must name a loopback host (a page on another
  site cannot reach the server through DNS rebinding).
* On any other host a token is required (:func:`create_app` ``token``): in the URL the server
  prints (``?token=``), then in a cookie the page sets, or an ``X-Circle15-Token`` header;
  anything else gets 403.
* Requests that change something must be JSON (``Content-Type: application/json``, which a
  cross-site form cannot send) from the page's own origin; bodies over :data:`MAX_BODY` bytes
  get 413.
* The client never names a file: scenario names are checked
  (:func:`~coverage.serve.scenario.check_name`, 422 otherwise) and only ever joined to the
  scenarios folder. Every JSON field is checked (types, ranges, known categories, the point
  inside the study area); a bad request gets a 4xx with a message, never a traceback.
* Each request is applied under the workspace's lock, so two tabs never interleave an edit.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError
from ..outputs import OutputInUseError
from .scenario import (
    ScenarioNameError,
    check_name,
    list_scenarios,
    read_scenario,
    scenarios_dir,
    write_scenario,
)
from .views import compare_payload, compound_payload, init_payload, view_payload
from .workspace import EditError, Plan, Workspace, lonlat_ok

__all__ = ["MAX_BODY", "TOKEN_COOKIE", "TOKEN_HEADER", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Largest request body accepted (bytes); every legitimate request is far smaller."""
TOKEN_COOKIE = "circle15_token"
TOKEN_HEADER = "x-circle15-token"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_STATIC = Path(__file__).resolve().parent / "static"
_ASSETS = Path(__file__).resolve().parents[1] / "assets"
#: The only files the app serves: URL name -> file in the package.
FILES = {
    "app.js": _STATIC / "app.js",
    "app.css": _STATIC / "app.css",
    "leaflet.js": _ASSETS / "leaflet.js",
    "leaflet.css": _ASSETS / "leaflet.css",
}
_SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",  # never leak the token to the basemap's server
    "cache-control": "no-store",
}


class ApiError(Exception):
    """A request the server refuses: HTTP ``status``, a short ``code`` and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status,
                        headers=_SECURITY_HEADERS)


# --- the guard: host, token, origin, content type, body size --------------------------------


class _Guard:
    """ASGI middleware refusing what must never reach a route (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, token: str | None, loopback: bool) -> None:
        self.app, self.token, self.loopback = app, token, loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _capped(receive), send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> Response | None:
        host = headers.get("host", "")
        hostname = urlsplit(f"//{host}").hostname or ""
        if self.loopback and hostname not in _LOOPBACK_HOSTS:
            return _error(403, "forbidden", f"requests must name this computer (got host "
                          f"{host[:80]!r}); open the address circle15 printed")
        if self.token is not None and not self._has_token(scope, headers):
            return _error(403, "forbidden", "a valid token is required: open the address with "
                          "?token=... that circle15 printed")
        if scope["method"] in ("POST", "PATCH", "PUT", "DELETE"):
            origin = headers.get("origin")  # browsers send it on cross-site requests
            if origin is not None and (origin == "null" or urlsplit(origin).netloc != host):
                return _error(403, "forbidden", "cross-site request refused")
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if scope["method"] != "DELETE" and ctype != "application/json":
                return _error(415, "content_type", "send the body as application/json")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _error(413, "too_large", f"the request body is larger than {MAX_BODY} bytes")
        return None

    def _has_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        assert self.token is not None
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        given = given or headers.get(TOKEN_HEADER, "")
        if not given and "cookie" in headers:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed cookie header is just no token
                return False
            morsel = cookie.get(TOKEN_COOKIE)
            given = morsel.value if morsel else ""
        return hmac.compare_digest(given.encode(), self.token.encode())


class _TooLarge(Exception):
    pass


def _capped(receive: Receive) -> Receive:
    """``receive`` that stops a body (also a chunked one) at :data:`MAX_BODY` bytes."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _TooLarge
        return message

    return wrapped


# --- request parsing ----------------------------------------------------------------------------


_KINDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "str": (str, "text"), "number": ((int, float), "a number"), "int": (int, "a whole number"),
    "bool": (bool, "true or false"),
}


@dataclass
class _Body:
    """A JSON object whose fields are read once each; unknown fields are refused."""

    data: dict[str, Any]

    def get(self, name: str, kind: str, *, required: bool = True, max_len: int = 200) -> Any:
        if name not in self.data:
            if required:
                raise ApiError(422, "missing_field", f"field {name!r} is required")
            return None
        value = self.data[name]
        types, what = _KINDS[kind]
        bad_bool = kind in ("number", "int") and isinstance(value, bool)
        if bad_bool or not isinstance(value, types):
            raise ApiError(422, "bad_field", f"field {name!r} must be {what}")
        if isinstance(value, str) and len(value) > max_len:
            raise ApiError(422, "bad_field", f"field {name!r} is longer than {max_len} "
                           "characters")
        return value

    def only(self, *names: str) -> None:
        extra = sorted(set(self.data) - set(names))
        if extra:
            raise ApiError(422, "unknown_field", f"unknown field {extra[0][:40]!r}; expected "
                           f"{', '.join(names)}")


async def _body(request: Request) -> _Body:
    try:
        raw = await request.body()
    except _TooLarge:
        raise ApiError(413, "too_large",
                       f"the request body is larger than {MAX_BODY} bytes") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "bad_json", "the body must be a JSON object")
    return _Body(data)


def _clean_text(text: str) -> str:
    """Drop control characters from a name typed in the page."""
    return "".join(ch for ch in text if ch.isprintable()).strip()


# --- the application ------------------------------------------------------------------------


def _json(data: Any) -> JSONResponse:
    return JSONResponse(data, headers=_SECURITY_HEADERS)


def _name(value: object) -> str:
    try:
        return check_name(value)
    except ScenarioNameError as exc:
        raise ApiError(422, "bad_name", str(exc)) from None


@dataclass
class _Server:
    """The routes of one workspace (see the module docstring for what each does)."""

    ws: Workspace
    out_dir: Path
    lang: str = "zh"
    basemap: bool = True
    saved: dict[str, Any] = field(default_factory=dict)
    disk: threading.Lock = field(default_factory=threading.Lock)  # one writer of scenarios
    area: dict[str, Any] | None = None  # the study area's page data, built on first request

    @property
    def scenarios_root(self) -> Path:
        return scenarios_dir(self.out_dir)

    def view_key(self, value: object) -> str | None:
        if value is None or value == "all":
            return None
        try:
            return self.ws.check_category(value)
        except EditError as exc:
            raise ApiError(422, exc.code, str(exc)) from None

    def status(self) -> dict[str, Any]:
        name = self.saved.get("name")
        return {"scenario": name,
                "saved": name is not None and self.saved.get("plan") == self.ws.plan}

    def view(self, key: str | None) -> dict[str, Any]:
        with self.ws.lock:
            return view_payload(self.ws, key, self.ws.version, self.status())

    def saved_plan(self, value: object) -> tuple[str, Plan]:
        """A saved scenario read from its folder exactly as the CLI reads it."""
        name = _name(value)
        if name not in list_scenarios(self.scenarios_root):
            raise ApiError(404, "not_found", f"no saved scenario {name!r}")
        try:
            sc = read_scenario(self.scenarios_root / name, self.ws.config)
        except InputError as exc:
            raise ApiError(422, "bad_scenario", "; ".join(str(p) for p in exc.problems[:3])
                           ) from None
        return name, Plan(sc.sites, {**self.ws.initial.walks, **dict(sc.walks)})

    # --- pages and reads ---------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        resp = FileResponse(_STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={**_SECURITY_HEADERS,
                                     "content-security-policy": _csp(self.basemap)})
        token = request.app.state.token
        given = request.query_params.get("token")
        if token is not None and given and hmac.compare_digest(given.encode(), token.encode()):
            resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return resp

    async def static(self, request: Request) -> Response:
        path = FILES.get(request.path_params["name"])
        if path is None or not path.is_file():
            return _error(404, "not_found", "no such file")
        return FileResponse(path, headers=_SECURITY_HEADERS)

    def _init(self) -> dict[str, Any]:
        with self.ws.lock:
            if self.area is None:  # the study area does not change: build it once
                self.area = init_payload(self.ws, self.lang, [])
                self.area["basemap"] = self.basemap
            return {**self.area, "scenarios": list_scenarios(self.scenarios_root)}

    async def init(self, request: Request) -> Response:
        return _json(await run_in_threadpool(self._init))

    async def get_view(self, request: Request) -> Response:
        key = self.view_key(request.query_params.get("category", "all"))
        return _json(await run_in_threadpool(self.view, key))

    async def version(self, request: Request) -> Response:
        return _json({"version": self.ws.version, "status": self.status()})

    async def compound(self, request: Request) -> Response:
        text = request.path_params["i"]
        if not text.isdigit() or int(text) >= len(self.ws.compounds):
            raise ApiError(404, "not_found", "no such compound")
        return _json(await run_in_threadpool(compound_payload, self.ws, int(text)))

    async def scenarios(self, request: Request) -> Response:
        return _json({"scenarios": await run_in_threadpool(list_scenarios, self.scenarios_root)})

    def _compare(self, a: str | None, b: str | None, key: str | None) -> dict[str, Any]:
        plans = {}
        with self.ws.lock:
            for side, label in (("a", a), ("b", b)):
                if label is None:
                    raise ApiError(422, "missing_field", f"parameter {side!r} is required")
                if label == "current":
                    plans[f"{side}:current"] = self.ws.plan
                else:
                    name, plan = self.saved_plan(label)
                    plans[f"{side}:{name}"] = plan
            out = compare_payload(self.ws, plans, key)
        out["a"], out["b"] = a, b
        return out

    async def compare(self, request: Request) -> Response:
        q = request.query_params
        key = self.view_key(q.get("category", "all"))
        return _json(await run_in_threadpool(self._compare, q.get("a"), q.get("b"), key))

    # --- edits (each applied under the workspace's lock by _edit) ----------------------------

    def add(self, body: _Body) -> Any:
        key = body.get("category", "str")
        lon, lat = lonlat_ok(body.get("lon", "number"), body.get("lat", "number"))
        name = body.get("name", "str", required=False, max_len=100)
        site = self.ws.add_site(key, lon, lat, _clean_text(name) if name else None,
                                label="New site" if self.lang == "en" else "新站点")
        return {"id": site.id}

    def move(self, body: _Body, site_id: str) -> Any:
        lon, lat = lonlat_ok(body.get("lon", "number"), body.get("lat", "number"))
        self.ws.move_site(site_id, lon, lat)
        return {"id": site_id}

    async def site(self, request: Request) -> Response:
        site_id = request.path_params["site_id"]
        if request.method == "PATCH":
            return await _edit(self, lambda b: self.move(b, site_id), ("lon", "lat"))(request)
        key = self.view_key(request.query_params.get("view", "all"))

        def work() -> dict[str, Any]:
            with self.ws.lock:
                self.ws.delete_site(site_id)
                return self.view(key)
        return _json(await run_in_threadpool(work))

    def toggle(self, body: _Body) -> Any:
        kind = body.get("kind", "str")
        if kind not in ("proposed", "candidate"):
            raise ApiError(422, "bad_field", "field 'kind' must be 'proposed' or 'candidate'")
        self.ws.toggle(kind, body.get("id", "str"), body.get("on", "bool"),
                       body.get("category", "str", required=False))
        return None

    def walk(self, body: _Body) -> Any:
        self.ws.set_walk(body.get("category", "str"), float(body.get("minutes", "number")),
                         float(body.get("speed_m_s", "number")))
        return None

    def optimise(self, body: _Body) -> Any:
        return self.ws.optimise(body.get("category", "str"), body.get("k", "int"))

    def reset(self, body: _Body) -> Any:
        self.ws.reset()
        return None

    def load(self, body: _Body) -> Any:
        name, plan = self.saved_plan(body.get("name", "str"))
        self.ws.load(plan)
        self.saved.update(name=name, plan=self.ws.plan)
        return {"name": name}

    # --- writing scenarios (the disk lock, never the workspace lock, while writing) ---------

    def _save(self, name: str, key: str | None) -> dict[str, Any]:
        with self.ws.lock:
            scenario, plan = self.ws.scenario(name), self.ws.plan
        with self.disk, _in_use():
            write_scenario(self.scenarios_root, scenario)
        with self.ws.lock:
            self.saved.update(name=name, plan=plan)
            out = self.view(key)
        out["result"] = {"name": name, "scenarios": list_scenarios(self.scenarios_root)}
        return out

    async def save(self, request: Request) -> Response:
        body = await _body(request)
        body.only("name", "view")
        key = self.view_key(body.get("view", "str", required=False))
        name = _name(body.get("name", "str"))
        return _json(await run_in_threadpool(self._save, name, key))

    def _export(self, name: str) -> dict[str, Any]:
        """Save the plan as ``name`` and run it into its folder; check the run equals the page."""
        from .export import run_scenario

        ws = self.ws
        with ws.lock:
            scenario, plan = ws.scenario(name), ws.plan
        with self.disk, _in_use():
            folder = write_scenario(self.scenarios_root, scenario)
            try:
                run = run_scenario(ws.inputs, folder, lang=self.lang, network=ws.network)
            except OutputInUseError:
                raise
            except InputError as exc:  # the plan does not fit the area (should not happen)
                raise ApiError(422, "bad_scenario", "; ".join(
                    str(p) for p in exc.problems[:3])) from None
        summary = run.result.summary
        with ws.lock:
            self.saved.update(name=name, plan=plan)
            matches = all(
                ws.category_state(c.key, plan).summary.reset_index(drop=True).equals(
                    summary[summary["category"] == c.key].reset_index(drop=True))
                for c in ws.config.categories)
        if not matches:
            log.error("export %s: the run's summary differs from the page's (a bug)", name)
        return {"name": name, "folder": str(folder), "matches": matches,
                "files": sorted({p.name for p in run.paths}),
                "scenarios": list_scenarios(self.scenarios_root)}

    async def export(self, request: Request) -> Response:
        body = await _body(request)
        body.only("name")
        return _json(await run_in_threadpool(self._export, _name(body.get("name", "str"))))


@contextmanager
def _in_use() -> Iterator[None]:
    """A scenario folder a CLI run is writing into: 409 with the lock's message."""
    try:
        yield
    except OutputInUseError as exc:
        raise ApiError(409, "in_use", "; ".join(p.problem for p in exc.problems)) from None


def _edit(srv: _Server, fn: Callable[[_Body], Any], names: tuple[str, ...]
          ) -> Callable[[Request], Awaitable[Response]]:
    """A route that applies one edit under the lock and answers with the requested view."""

    async def endpoint(request: Request) -> Response:
        body = await _body(request)
        body.only(*names, "view")
        key = srv.view_key(body.get("view", "str", required=False))

        def work() -> dict[str, Any]:
            with srv.ws.lock:
                extra = fn(body)
                out = srv.view(key)
                if extra is not None:
                    out["result"] = extra
                return out

        return _json(await run_in_threadpool(work))

    return endpoint


def _routes(srv: _Server) -> list[Route]:
    return [
        Route("/", srv.page),
        Route("/static/{name}", srv.static),
        Route("/api/init", srv.init),
        Route("/api/view", srv.get_view),
        Route("/api/version", srv.version),
        Route("/api/compound/{i}", srv.compound),
        Route("/api/sites", _edit(srv, srv.add, ("category", "lon", "lat", "name")),
              methods=["POST"]),
        Route("/api/sites/{site_id}", srv.site, methods=["PATCH", "DELETE"]),
        Route("/api/toggle", _edit(srv, srv.toggle, ("kind", "id", "on", "category")),
              methods=["POST"]),
        Route("/api/walk", _edit(srv, srv.walk, ("category", "minutes", "speed_m_s")),
              methods=["POST"]),
        Route("/api/optimise", _edit(srv, srv.optimise, ("category", "k")), methods=["POST"]),
        Route("/api/reset", _edit(srv, srv.reset, ()), methods=["POST"]),
        Route("/api/scenarios", srv.scenarios, methods=["GET"]),
        Route("/api/scenarios", srv.save, methods=["POST"]),
        Route("/api/scenarios/load", _edit(srv, srv.load, ("name",)), methods=["POST"]),
        Route("/api/compare", srv.compare),
        Route("/api/export", srv.export, methods=["POST"]),
    ]


def _api_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return _error(exc.status, exc.code, exc.message)
    if isinstance(exc, EditError):
        return _error(exc.status, exc.code, str(exc))
    if isinstance(exc, _TooLarge):
        return _error(413, "too_large", f"the request body is larger than {MAX_BODY} bytes")
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal", "internal error (details in the server's log)")


def create_app(ws: Workspace, *, out_dir: str | Path, lang: str = "zh", token: str | None = None,
               loopback: bool = True, basemap: bool = True) -> Starlette:
    """The ASGI app serving one workspace.

    Parameters
    ----------
    ws : Workspace
    out_dir : path
        Scenarios are saved in ``out_dir/scenarios/<name>/``.
    lang : {"zh", "en"}
    token : str, optional
        Require this token on every request (any host other than loopback).
    loopback : bool
        The server listens on a loopback address: refuse requests naming another host.
    basemap : bool
        Offer the OpenStreetMap basemap (tiles from the internet); the streets layer is drawn
        either way.
    """
    srv = _Server(ws, Path(out_dir), lang, basemap)
    list_scenarios(srv.scenarios_root)  # finish or undo a save a crash interrupted
    handlers = {cls: _api_error for cls in (ApiError, EditError, _TooLarge, Exception)}
    app = Starlette(routes=_routes(srv), exception_handlers=handlers,  # type: ignore[arg-type]
                    middleware=[Middleware(_Guard, token=token, loopback=loopback),
                                Middleware(GZipMiddleware, minimum_size=2048)])
    app.state.server = srv
    app.state.token = token
    return app


def _csp(basemap: bool) -> str:
    tiles = " https://tile.openstreetmap.org" if basemap else ""
    return ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:{tiles}; connect-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
