"""Route tables: each routes/<resource>.py declares its routes on a RouteTable; install() serves them twice."""
from __future__ import annotations

from aiohttp import web

VERSION_PREFIX = r"/{version:v[0-9]+\.[0-9]+}"


class RouteTable(web.RouteTableDef):
    pass


def install(app: web.Application, tables: list[web.RouteTableDef]) -> None:
    for table in tables:
        for route in table:
            app.router.add_route(route.method, route.path, route.handler)
            app.router.add_route(route.method, VERSION_PREFIX + route.path, route.handler)
