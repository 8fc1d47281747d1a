"""Commands of the web tracker: `serve` (the interactive tracker and its JSON API, one log
line per request) and `publish` (the tracker as a static site).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from talent_tracker.cli import render
from talent_tracker.cli.app import DbOption, app, universities_of
from talent_tracker.errors import UserError
from talent_tracker.store.schema import DEFAULT_DB


@app.command()
def serve(
    db: DbOption = Path(DEFAULT_DB),
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    annotate: Annotated[bool, typer.Option("--annotate", help="Also serve the annotation workflow (saves go to the workspace).")] = False,
    universities: Annotated[Optional[Path], typer.Option("--universities", metavar="FILE", help="World-universities list, for the annotation workflow's institution autocomplete and validation; default: the one the database was built with, else the copy `fetch --universities` keeps.")] = None,
    blind: Annotated[bool, typer.Option("--blind", help="Annotators do not see each other's entries or settled values until review.")] = False,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", metavar="NAME", help="A name clients reach the server by (repeatable; loopback names are always allowed).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not log requests (by default one line per request on stdout).")] = False,
) -> None:
    """Serve the interactive tracker and its JSON API, logging one line per request.

    A build of the same database may run meanwhile: the server shows the new build as
    soon as it is in place. A database whose workspace is not beside it is served with a
    warning (every build makes one: its work is elsewhere, or lost)."""
    import uvicorn

    from talent_tracker.web.app import create_app
    from talent_tracker.web.assets import require_assets
    from talent_tracker.web.security import allowed_hosts

    hosts = allowed_hosts(host, allow_host)
    warning = None
    if annotate:
        universities = universities_of(universities, db)
        if universities is None:
            from talent_tracker.institutions import load_resolver

            warning = load_resolver(None)[1]
    require_assets()
    application = create_app(db, annotate=annotate, universities=universities, blind=blind, hosts=hosts)
    _check_port(host, port)
    for message in (warning, application.state.workspace_warning):
        if message:
            render.warn(message)
    if host in ("0.0.0.0", "::") and not allow_host:
        render.warn("listening on every interface, but only loopback names are accepted: add --allow-host NAME")
    render.say(f"talent-tracker at http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(application, host=host, port=port, log_config=_server_logging(), log_level=None,
                access_log=not quiet)


def _server_logging() -> dict:
    """uvicorn's logging with its own messages at warning and above (the line above says
    where the server is), and one access line per request on stdout: time, client, request,
    status."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    config["loggers"]["uvicorn.access"]["level"] = "INFO"
    config["formatters"]["access"]["fmt"] = '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s'
    config["formatters"]["access"]["datefmt"] = "%Y-%m-%d %H:%M:%S"
    return config


def _check_port(host: str, port: int) -> None:
    """One line now, rather than a server log later, if the address cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except (OSError, OverflowError) as exc:
        raise UserError(f"cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc})") from None


@app.command()
def publish(
    db: DbOption = Path(DEFAULT_DB),
    output: Annotated[Path, typer.Option("--output", metavar="DIR", help="Folder to write the static site to: new, empty, or a site publish wrote.")] = Path("site"),
) -> None:
    """Write the tracker as a static site (open DIR/index.html from disk or any static host)."""
    from talent_tracker.web.publish import publish as run_publish

    with render.bars("publishing") as bars:
        task = bars.add_task("publishing", total=None)
        counts = run_publish(db, output, lambda done, total: bars.update(task, completed=done, total=total))
    render.say(f"published {counts['pages']} pages and {counts['data_files']:,} data files "
               f"({counts['filter_settings']} filter settings) to {output}; open {output / 'index.html'}")
