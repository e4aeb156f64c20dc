"""Request helpers shared by route modules: the services, query parsing, JSON bodies."""
from __future__ import annotations

import json

from aiohttp import web

from ..blocking import blocking
from ..errors import InvalidParameter

SERVICES = web.AppKey("services", object)


def services(request: web.Request):
    return request.app[SERVICES]


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    v = request.query.get(name)
    if v is None or v == "":
        return default
    return v.lower() not in ("0", "false", "no")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    v = request.query.get(name)
    if v in (None, ""):
        return default
    try:
        return int(v)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {v!r}") from None


async def json_body(request: web.Request, default=None):
    raw = await request.read()
    if not raw.strip():
        return {} if default is None else default
    try:
        return json.loads(raw)
    except ValueError as err:
        raise InvalidParameter(f"invalid JSON: {err}") from None


def json_response(data, status: int = 200, headers: dict | None = None) -> web.Response:
    # Exactly `application/json`: the docker CLI only decodes error bodies with that content type.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})


async def json_response_of(fn, *args) -> web.Response:
    """json_response(fn(*args)), with both the call and the encoding run through blocking(): a list of
    thousands of objects is tens of milliseconds of work the loop must not wait on."""
    return await blocking(lambda: json_response(fn(*args)))


def no_content() -> web.Response:
    return web.Response(status=204)
