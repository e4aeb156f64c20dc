"""Volume routes. Every service call runs off the loop: SQLite, directory walks and removals, and a
volume plugin's HTTP answers must not hold the event loop."""
from __future__ import annotations

from aiohttp import web

from ...filters import Filters
from ...blocking import bulk
from ..context import json_body, json_response_of, no_content, qbool
from ..router import RouteTable
from ..versions import as_tuple
from .volumes_backend import VOLUMES, VolumeBackend

routes = RouteTable()


def _volumes(request: web.Request) -> VolumeBackend:
    return request.app[VOLUMES]


@routes.get("/volumes")
async def list_volumes(request: web.Request) -> web.Response:
    return await json_response_of(_volumes(request).list, Filters.parse(request.query.get("filters")))


@routes.post("/volumes/create")
async def create_volume(request: web.Request) -> web.Response:
    return await json_response_of(_volumes(request).create, await json_body(request), status=201)


@routes.post("/volumes/prune")
async def prune_volumes(request: web.Request) -> web.Response:
    filters = Filters.parse(request.query.get("filters"))
    if as_tuple(request["api_version"]) < (1, 42):  # before 1.42 a prune took named volumes too (moby adds all=true)
        filters.values["all"] = ["true"]
    return await json_response_of(_volumes(request).prune, filters)


@routes.get("/volumes/{name}")
async def inspect_volume(request: web.Request) -> web.Response:
    return await json_response_of(_volumes(request).inspect, request.match_info["name"])


@routes.delete("/volumes/{name}")
async def remove_volume(request: web.Request) -> web.Response:
    await bulk(_volumes(request).remove, request.match_info["name"], qbool(request, "force"))
    return no_content()
