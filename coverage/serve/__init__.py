"""``circle15 serve``: a planner's what-if workspace in the browser.

* :mod:`~coverage.serve.scenario` -- the scenario folder a plan is saved in, and how a run
  reads it (``circle15 run CONFIG --scenario DIR``);
* :mod:`~coverage.serve.workspace` -- the study area loaded once and the plan being edited,
  every number computed as a run computes it;
* :mod:`~coverage.serve.views` -- what the page is sent;
* :mod:`~coverage.serve.app` -- the web application (Starlette) and its security rules;
* :mod:`~coverage.serve.export` -- a saved scenario run into its folder.

This module itself only binds the socket and runs the server (uvicorn); importing it does not
import the web framework.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from typing import Any

from ..errors import InputError, Problem

__all__ = ["bind", "is_loopback", "new_token", "serve_forever", "url_for"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A random token for a server reachable from other computers."""
    return secrets.token_urlsafe(24)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0 = any free port).

    Raises
    ------
    InputError
        When the port is in use or the address is not this computer's.
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise InputError(Problem("--host/--port", None, None,
                                 f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                                 "pass another --port (or stop the program using it)")) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_for(sock: socket.socket, host: str, token: str | None) -> str:
    """The address to open: ``http://host:port/`` (plus ``?token=`` when one is required)."""
    port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve_forever(app: Any, sock: socket.socket, *, quiet: bool = True) -> None:
    """Run ``app`` on ``sock`` with uvicorn until interrupted (Ctrl-C)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning" if quiet else "info", access_log=not quiet,
                            lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
