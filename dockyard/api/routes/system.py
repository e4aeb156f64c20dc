"""System routes: _ping, version, info, system df, events."""
from __future__ import annotations

import json

from aiohttp import web

from ...blocking import bulk
from ...filters import Filters
from ...errors import InvalidParameter
from ...timefmt import parse_time_filter
from ..context import json_response
from ..middleware import SERVER_HEADERS
from .. import image_versions
from ..router import RouteTable
from ..versions import as_tuple
from ..streams import start_stream
from .system_backend import EVENTS, SYSTEM

routes = RouteTable()

PING_HEADERS = {**SERVER_HEADERS, "Builder-Version": "1", "Cache-Control": "no-cache, no-store, must-revalidate",
                "Pragma": "no-cache"}


@routes.get("/_ping")
async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers=PING_HEADERS)


@routes.head("/_ping")
async def ping_head(request: web.Request) -> web.Response:
    # moby's ping handler sets this type on HEAD (a GET's "OK" gets it from Go's content sniffing)
    return web.Response(headers={**PING_HEADERS, "Content-Length": "0", "Content-Type": "text/plain; charset=utf-8"})


@routes.get("/version")
async def version(request: web.Request) -> web.Response:
    return json_response(request.app[SYSTEM].version())


@routes.get("/info")
async def info(request: web.Request) -> web.Response:
    return json_response(image_versions.info(request.app[SYSTEM].info(), request["api_version"]))


@routes.get("/system/df")
async def system_df(request: web.Request) -> web.Response:
    # `type` selects what to compute from API 1.42 on; before that (or without it) everything is.
    types = request.query.getall("type", [])
    selected = set(types) if types and as_tuple(request["api_version"]) >= (1, 42) else None
    usage = await bulk(request.app[SYSTEM].disk_usage, selected)  # walks every layer and volume
    return json_response(image_versions.disk_usage(usage, request["api_version"]))


# docker's event filters; the swarm ones (node, service, secret, config) and plugin match nothing here.
EVENT_FILTERS = {"config", "container", "daemon", "event", "image", "label", "network", "node", "plugin",
                 "scope", "secret", "service", "type", "volume"}


@routes.get("/events")
async def events(request: web.Request) -> web.StreamResponse:
    filters = Filters.parse(request.query.get("filters"))
    filters.validate(EVENT_FILTERS)
    since = parse_time_filter(request.query["since"]) if request.query.get("since") else None
    until = parse_time_filter(request.query["until"]) if request.query.get("until") else None
    if until is not None and until < (since or 0):
        raise InvalidParameter(f"`since` time ({request.query['since']}) cannot be after `until` time "
                               f"({request.query['until']})")
    resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": "application/json"})
    await start_stream(request, resp)
    async for ev in request.app[EVENTS].stream(since, until):
        if _matches(ev, filters):
            await resp.write(json.dumps(ev).encode() + b"\n")
    await resp.write_eof()
    return resp


def _matches(ev: dict, f: Filters) -> bool:
    """moby's events Filter.Include: every filter key given must match."""
    attrs = ev["Actor"]["Attributes"]
    checks = {
        "type": lambda v: ev["Type"] == v,
        "event": lambda v: ev["Action"] == v or ev["Action"].split(":")[0] == v,
        "scope": lambda v: ev.get("scope") == v,
        "image": lambda v: attrs.get("image") == v or attrs.get("name") == v or ev["Actor"]["ID"].startswith(v),
        "label": lambda v: attrs.get(v.partition("=")[0]) == v.partition("=")[2] if "=" in v else v in attrs,
    }
    # container=, network=, volume=, daemon= ...: a prefix of the actor's ID or its name
    for kind in EVENT_FILTERS - set(checks):
        checks[kind] = lambda v: _actor_matches(ev, v)
    for key, test in checks.items():
        if f.has(key) and not any(test(v) for v in f.get(key)):
            return False
    return True


def _actor_matches(ev: dict, value: str) -> bool:
    name = ev["Actor"]["Attributes"].get("name", "")
    return ev["Actor"]["ID"].startswith(value) or name.startswith(value)
