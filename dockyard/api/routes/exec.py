"""Exec routes: create, start (hijacked unless detached), resize, inspect."""
from __future__ import annotations

from aiohttp import web

from ..context import json_body, json_response, qint
from ..router import RouteTable
from ..streams import hijack
from .containers import _stream_content_type
from .exec_backend import EXECS, ExecBackend

routes = RouteTable()


def _execs(request: web.Request) -> ExecBackend:
    return request.app[EXECS]


@routes.post("/containers/{id}/exec")
async def create_exec(request: web.Request) -> web.Response:
    body = await json_body(request)
    return json_response(_execs(request).create(request.match_info["id"], body), status=201)


@routes.post("/exec/{id}/start")
async def start_exec(request: web.Request) -> web.StreamResponse:
    svc = _execs(request)
    rec = svc.get(request.match_info["id"])
    body = await json_body(request)
    if body.get("Detach"):
        await svc.start(rec.id)
        return web.Response(status=200)
    # Whether the process gets a pty is the exec's create config; the start body's Tty only says how the
    # stream is framed (raw, or stdcopy frames), as in moby's exec start route.
    raw_stream = bool(body.get("Tty", rec.config.get("Tty")))
    svc.store.get(rec.container_id)  # 404/409 before the hijack
    hijacked = await hijack(request, _stream_content_type(request, raw_stream))
    try:
        await svc.start(rec.id, hijacked, raw_stream)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        await hijacked.end()
    return hijacked.resp


@routes.post("/exec/{id}/resize")
async def resize_exec(request: web.Request) -> web.Response:
    await _execs(request).resize(request.match_info["id"], qint(request, "h", 0), qint(request, "w", 0))
    return web.Response(status=200)


@routes.get("/exec/{id}/json")
async def inspect_exec(request: web.Request) -> web.Response:
    return json_response(_execs(request).inspect(request.match_info["id"]))
