"""Volume routes."""
from __future__ import annotations

from aiohttp import web

from ...filters import Filters
from ..context import json_body, json_response, no_content, qbool, services
from ..router import RouteTable
from ..versions import as_tuple

routes = RouteTable()


def _volumes(request):
    return services(request).extra["volumes"]


@routes.get("/volumes")
async def list_volumes(request: web.Request) -> web.Response:
    return json_response(_volumes(request).list(Filters.parse(request.query.get("filters"))))


@routes.post("/volumes/create")
async def create_volume(request: web.Request) -> web.Response:
    return json_response(_volumes(request).create(await json_body(request)), status=201)


@routes.post("/volumes/prune")
async def prune_volumes(request: web.Request) -> web.Response:
    filters = Filters.parse(request.query.get("filters"))
    if as_tuple(request["api_version"]) < (1, 42):  # before 1.42 a prune took named volumes too (moby adds all=true)
        filters.values["all"] = ["true"]
    return json_response(_volumes(request).prune(filters))


@routes.get("/volumes/{name}")
async def inspect_volume(request: web.Request) -> web.Response:
    return json_response(_volumes(request).inspect(request.match_info["name"]))


@routes.delete("/volumes/{name}")
async def remove_volume(request: web.Request) -> web.Response:
    _volumes(request).remove(request.match_info["name"], qbool(request, "force"))
    return no_content()
