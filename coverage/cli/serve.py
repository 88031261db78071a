"""``circle15 serve``: the what-if workspace in the browser, until Ctrl-C."""

from __future__ import annotations

import argparse

from .common import load_study, out_dir, progress
from .console import say


def cmd_serve(args: argparse.Namespace) -> int:
    """``circle15 serve``: the what-if workspace, until Ctrl-C."""
    import webbrowser

    from ..serve import bind, is_loopback, new_token, serve_forever, url_for

    sock = bind(args.host, args.port)  # fail at once when the port is taken
    try:
        _, study = load_study(args, sites=False)
        inputs = study.inputs
        from ..serve.app import create_app
        from ..serve.workspace import Workspace

        say(f"circle15 serve: loading {inputs.config.name} ...")
        ws = Workspace(inputs, progress=progress(args))
        loopback = is_loopback(args.host)
        token = None if loopback else new_token()
        out = out_dir(args)
        app = create_app(ws, out_dir=out, lang=args.lang, token=token, loopback=loopback)
        url = url_for(sock, args.host, token)
        say(f"circle15 serve: open {url}  (Ctrl-C stops; scenarios are saved in "
            f"{out / 'scenarios'})")
        if token:
            say("  anyone with this address (and its token) can edit the plan: share it only "
                "with your team")
        if not args.no_browser:
            webbrowser.open(url)
        serve_forever(app, sock, quiet=args.verbose == 0)
    finally:
        sock.close()
    return 0


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """--host, --port, --no-browser."""
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other requires the token "
                   "printed in the address)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
