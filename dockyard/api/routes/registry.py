"""Registry routes: POST /auth, GET /images/search, POST /images/{name}/push, GET /distribution/{name}/json.

(Pulling is `POST /images/create?fromImage=`, in routes/images.py.) Credentials come as the
X-Registry-Auth header the docker CLI sends; the service decodes it.
"""
from __future__ import annotations

from aiohttp import web

from ...filters import Filters
from ...errors import InvalidParameter
from ..context import json_body, json_response, qint
from ..router import RouteTable
from ..streams import JSONStream
from .registry_backend import REGISTRY, RegistryBackend

routes = RouteTable()


def _registry(request: web.Request) -> RegistryBackend:
    registry = request.app.get(REGISTRY)
    if registry is None:
        raise InvalidParameter("registry access is not available in this daemon")
    return registry


@routes.post("/auth")
async def auth(request: web.Request) -> web.Response:
    body = await json_body(request)
    return json_response(await _registry(request).login(body))


@routes.get("/images/search")
async def search(request: web.Request) -> web.Response:
    term = request.query.get("term", "")
    if not term:
        raise InvalidParameter("term is required")  # docker CLI never sends an empty one
    filters = Filters.parse(request.query.get("filters"))
    results = await _registry(request).search(term, qint(request, "limit"), filters,
                                              request.headers.get("X-Registry-Auth"))
    return json_response(results)


@routes.post("/images/{name:.+}/push")
async def push(request: web.Request) -> web.StreamResponse:
    registry = _registry(request)
    stream = JSONStream(request)
    return await stream.run(registry.push(request.match_info["name"], request.query.get("tag") or None,
                                          auth=request.headers.get("X-Registry-Auth"), progress=stream.send))


@routes.get("/distribution/{name:.+}/json")
async def distribution_inspect(request: web.Request) -> web.Response:
    return json_response(await _registry(request).distribution_inspect(
        request.match_info["name"], request.headers.get("X-Registry-Auth")))
