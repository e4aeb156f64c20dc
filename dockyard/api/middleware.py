"""Middlewares: API version checks, the error table, and the headers every response carries."""
from __future__ import annotations

import json
import logging

from aiohttp import web

from .. import __version__
from ..errors import DockyardError, http_status
from ..apiversion import MAX_API_VERSION, MIN_API_VERSION
from ..store.write_behind import request_written, reset_tracking, track_request
from .versions import as_tuple

log = logging.getLogger("dockyard.api")

SERVER_HEADERS = {
    "Api-Version": MAX_API_VERSION,
    "Docker-Experimental": "false",
    "Ostype": "linux",
    "Server": f"Dockyard/{__version__} (linux)",
}


# Go's http.Server reads a request line and headers of up to 1 MiB (DefaultMaxHeaderBytes), so dockerd serves
# long query strings (many filters, build args, labels); aiohttp's default stops at 8190 bytes.
REQUEST_LIMITS = {"max_line_size": 1 << 20, "max_field_size": 1 << 20}


def error_response(status: int, message: str) -> web.Response:
    body = json.dumps({"message": message}).encode()
    return web.Response(body=body, status=status, headers={**SERVER_HEADERS, "Content-Type": "application/json"})


@web.middleware
async def written_middleware(request: web.Request, handler):
    """A response goes out once the records its request changed are on disk (they are written behind the
    event loop: store/write_behind.py), so what a client was told survives the daemon's crash."""
    token = track_request()
    try:
        resp = await handler(request)
    except BaseException:
        reset_tracking(token)
        raise
    await request_written(token)
    return resp


@web.middleware
async def version_middleware(request: web.Request, handler):
    version = request.match_info.get("version")
    if version:
        v = version.lstrip("v")
        try:
            vt = as_tuple(v)
        except ValueError:
            return error_response(400, f"invalid API version: {v}")
        if vt > as_tuple(MAX_API_VERSION):
            return error_response(400, f"client version {v} is too new. Maximum supported API version is {MAX_API_VERSION}")
        if vt < as_tuple(MIN_API_VERSION):
            return error_response(400, f"client version {v} is too old. Minimum supported API version is "
                                       f"{MIN_API_VERSION}, please upgrade your client to a newer version")
        request["api_version"] = v
    else:
        request["api_version"] = MAX_API_VERSION
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler):
    if request.match_info.http_exception is not None:
        # no route for this path (or this method on it): dockerd answers both with 404 "page not found"
        return error_response(404, "page not found")
    try:
        resp = await handler(request)
    except (ConnectionResetError, BrokenPipeError):
        if request.get("streaming") is not None:
            return request["streaming"]  # the client left mid-stream: nothing to answer, nothing to log
        raise
    except DockyardError as err:
        if request.get("streaming") is not None:
            raise
        return error_response(http_status(err), str(err))
    except web.HTTPException as err:
        if err.status >= 400 and err.content_type != "application/json":
            return error_response(err.status, err.text or err.reason)
        raise
    except Exception as err:  # a bug: log it, answer 500 with the message instead of hanging up
        log.exception("%s %s failed", request.method, request.path)
        if request.get("streaming") is not None:
            raise  # the headers are gone already: dropping the connection is all that is left
        return error_response(500, f"{type(err).__name__}: {err}")
    if not resp.prepared:
        for k, v in SERVER_HEADERS.items():
            resp.headers.setdefault(k, v)
    return resp
