"""Network routes: /networks, create, inspect, rm, connect, disconnect, prune."""
from __future__ import annotations

from aiohttp import web

from ...filters import Filters
from ..context import json_body, json_response, json_response_of, no_content
from ..router import RouteTable
from .networks_backend import NETWORKS, NetworkBackend

routes = RouteTable()


def _networks(request: web.Request) -> NetworkBackend:
    return request.app[NETWORKS]


@routes.get("/networks")
async def list_networks(request: web.Request) -> web.Response:
    return await json_response_of(_networks(request).list, Filters.parse(request.query.get("filters")))


@routes.post("/networks/create")
async def create_network(request: web.Request) -> web.Response:
    return json_response(await _networks(request).create(await json_body(request)), status=201)


@routes.post("/networks/prune")
async def prune_networks(request: web.Request) -> web.Response:
    return json_response(await _networks(request).prune(Filters.parse(request.query.get("filters"))))


@routes.get("/networks/{id}")
async def inspect_network(request: web.Request) -> web.Response:
    return await json_response_of(_networks(request).inspect, request.match_info["id"])


@routes.delete("/networks/{id}")
async def remove_network(request: web.Request) -> web.Response:
    await _networks(request).remove(request.match_info["id"])
    return no_content()


@routes.post("/networks/{id}/connect")
async def connect_network(request: web.Request) -> web.Response:
    await _networks(request).connect(request.match_info["id"], await json_body(request))
    return web.Response(status=200)


@routes.post("/networks/{id}/disconnect")
async def disconnect_network(request: web.Request) -> web.Response:
    await _networks(request).disconnect(request.match_info["id"], await json_body(request))
    return web.Response(status=200)
