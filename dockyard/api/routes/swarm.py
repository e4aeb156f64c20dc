"""Swarm and plugin routes: dockyard is never part of a swarm and has no managed plugins.

The answers are those of a Docker daemon in the same state (moby daemon/cluster errors, plugin store), so
SDKs and the CLI (`docker node ls`, `docker plugin ls`) report what they report against Docker.
"""
from __future__ import annotations

from aiohttp import web

from ...filters import Filters
from ...errors import NotFound, NotImplemented_, Unavailable
from ..context import json_response
from ..router import RouteTable

routes = RouteTable()

# moby daemon/cluster: errNoManager for a node without a swarm, errNoSwarm for leaving one never joined.
NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
                 'this node to swarm and try again.')
NOT_IN_A_SWARM = "This node is not part of a swarm"

# Everything that needs a swarm manager: (method, path).
MANAGER_ROUTES = [
    ("GET", "/swarm"), ("POST", "/swarm/update"), ("GET", "/swarm/unlockkey"), ("POST", "/swarm/unlock"),
    ("GET", "/nodes"), ("GET", "/nodes/{id}"), ("DELETE", "/nodes/{id}"), ("POST", "/nodes/{id}/update"),
    ("GET", "/services"), ("POST", "/services/create"), ("GET", "/services/{id}"),
    ("DELETE", "/services/{id}"), ("POST", "/services/{id}/update"), ("GET", "/services/{id}/logs"),
    ("GET", "/tasks"), ("GET", "/tasks/{id}"), ("GET", "/tasks/{id}/logs"),
    ("GET", "/secrets"), ("POST", "/secrets/create"), ("GET", "/secrets/{id}"),
    ("DELETE", "/secrets/{id}"), ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"), ("POST", "/configs/create"), ("GET", "/configs/{id}"),
    ("DELETE", "/configs/{id}"), ("POST", "/configs/{id}/update"),
]

# moby's plugin list filters
PLUGIN_FILTERS = {"enabled", "capability"}

# Routes naming one plugin (a reference, slashes included): none exists, so each is moby's "not found".
PLUGIN_ROUTES = [
    ("GET", "/plugins/{name:.+}/json"), ("DELETE", "/plugins/{name:.+}"), ("POST", "/plugins/{name:.+}/enable"),
    ("POST", "/plugins/{name:.+}/disable"), ("POST", "/plugins/{name:.+}/push"), ("POST", "/plugins/{name:.+}/set"),
    ("POST", "/plugins/{name:.+}/upgrade"),
]


async def not_a_manager(request: web.Request) -> web.Response:
    raise Unavailable(NOT_A_MANAGER)


async def no_such_plugin(request: web.Request) -> web.Response:
    raise NotFound(f'plugin "{request.match_info["name"]}" not found')


for _method, _path in MANAGER_ROUTES:
    routes.route(_method, _path)(not_a_manager)
for _method, _path in PLUGIN_ROUTES:
    routes.route(_method, _path)(no_such_plugin)


@routes.post("/swarm/leave")
async def leave_swarm(request: web.Request) -> web.Response:
    raise Unavailable(NOT_IN_A_SWARM)


@routes.post("/swarm/init")
async def init_swarm(request: web.Request) -> web.Response:
    raise NotImplemented_("swarm mode is not supported by dockyard")


@routes.post("/swarm/join")
async def join_swarm(request: web.Request) -> web.Response:
    raise NotImplemented_("swarm mode is not supported by dockyard")


@routes.get("/plugins")
async def list_plugins(request: web.Request) -> web.Response:
    Filters.parse(request.query.get("filters")).validate(PLUGIN_FILTERS)
    return json_response([])
