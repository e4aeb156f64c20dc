"""Hub API errors in Docker Hub's shape: {"message": ..., "errinfo": {...}} (plus "detail", the key Docker Hub's
login endpoints use), raised as aiohttp HTTP exceptions so the registry's error middleware passes them through."""
import json

from aiohttp import web

_STATUS = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
           405: web.HTTPMethodNotAllowed, 409: web.HTTPConflict, 429: web.HTTPTooManyRequests}


def hub_error(status: int, message: str, headers: dict | None = None, **errinfo) -> web.HTTPException:
    body = json.dumps({"message": message, "detail": message, "errinfo": errinfo})
    cls = _STATUS[status]
    if cls is web.HTTPMethodNotAllowed:
        return cls("", [], text=body, content_type="application/json", headers=headers)
    return cls(text=body, content_type="application/json", headers=headers)


def not_found(kind: str) -> web.HTTPException:
    """The one answer for "no such thing" and "not yours to see" (`kind` is a word like "repository", never a
    name): nothing private leaks through a difference."""
    return hub_error(404, "object not found", resource=kind)
