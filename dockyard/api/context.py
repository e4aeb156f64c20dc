"""Request helpers shared by route modules: the services, query parsing, JSON bodies. Every JSON body and
integer query parameter goes through here, so bad input is one 400 (or 413) in Go's words, never a 500."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import overload

from aiohttp import web

from ..blocking import blocking, computing
from ..errors import InvalidParameter, TooLarge
from .. import gojson
from .body_schemas import SCHEMAS
from .router import VERSION_PREFIX

MAX_JSON_BODY = 16 << 20   # bytes of a JSON request body (dockerd's largest real ones are a few KiB)
MAX_JSON_DEPTH = 100       # nesting of arrays/objects; no Engine API body comes near it

# Where routes spool request bodies and archives (<data-root>/tmp, emptied at daemon start).
TEMP_DIR = web.AppKey("temp dir", Path)


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    v = request.query.get(name)
    if v is None or v == "":
        return default
    return v.lower() not in ("0", "false", "no")


GO_INT = re.compile(r"[+-]?[0-9]+")


def atoi(v: str) -> int:
    """Go's strconv.Atoi: a 64-bit integer, no spaces or fractions; InvalidParameter in its words."""
    if not GO_INT.fullmatch(v):
        raise InvalidParameter(f'strconv.Atoi: parsing "{v}": invalid syntax')
    value = int(v)
    if not gojson.INT64[0] <= value <= gojson.INT64[1]:
        raise InvalidParameter(f'strconv.Atoi: parsing "{v}": value out of range')
    return value


@overload
def qint(request: web.Request, name: str, default: int) -> int: ...
@overload
def qint(request: web.Request, name: str, default: None = None) -> int | None: ...


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    v = request.query.get(name)
    return default if v in (None, "") else atoi(v)


async def json_body(request: web.Request, default=None):
    """The request's JSON body, checked against the struct dockerd decodes it into (body_schemas)."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise TooLarge(f"request body is too large: the limit is {MAX_JSON_BODY} bytes")
    raw = bytearray()
    async for chunk in request.content.iter_any():  # read no further than the limit
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise TooLarge(f"request body is too large: the limit is {MAX_JSON_BODY} bytes")
    text = bytes(raw).strip()
    if not text or text == b"null":  # Go decodes null into a struct as its zero value
        return {} if default is None else default
    too_deep = InvalidParameter(f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError as err:
        raise InvalidParameter(f"invalid JSON: {err}") from None
    if gojson.depth(body, MAX_JSON_DEPTH):
        raise too_deep
    schema = SCHEMAS.get((request.method, _route_path(request)))
    if schema is not None:
        gojson.check(body, schema, prefix="invalid JSON: ")
    return body


def _route_path(request: web.Request) -> str:
    """The route's path as its table declares it (e.g. /networks/{id}/connect), without the /v1.NN prefix."""
    route = request.match_info.route
    path = route.resource.canonical if route.resource is not None else ""
    return path[len(VERSION_PREFIX):] if path.startswith(VERSION_PREFIX) else path


def json_response(data, status: int = 200, headers: dict | None = None) -> web.Response:
    # Exactly `application/json`: the docker CLI only decodes error bodies with that content type.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})


async def json_response_of(fn, *args, status: int = 200) -> web.Response:
    """json_response(fn(*args)), with both the call and the encoding run through blocking(): a list of
    thousands of objects is tens of milliseconds of work the loop must not wait on."""
    return await blocking(lambda: json_response(fn(*args), status=status))


async def json_rendered(fn, *args) -> web.Response:
    """json_response(fn(*args)) for an `fn` that only reads records in memory or SQLite and renders them (lists,
    inspects): in blocking.computing's few threads, not the big pool (see there)."""
    return await computing(lambda: json_response(fn(*args)))


def no_content() -> web.Response:
    return web.Response(status=204)
