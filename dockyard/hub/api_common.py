"""What every Hub API module uses: who is calling (with the CSRF check on cookie changes), the JSON body and its
fields, paging in Docker Hub's {count, next, previous, results} shape, and turning the lower layers' input errors
into 400s (409 for a taken name, 429 while a sign-in is throttled)."""
from urllib.parse import urlencode

from aiohttp import web

from dockyard.hub.accounts import AccountError, LoginThrottled
from dockyard.hub.errors import hub_error, not_found
from dockyard.hub.repos import RepoError
from dockyard.hub.store import Conflict
from dockyard.hub.webhooks import HookError
from dockyard.registry.server.routes_hub import iso_time

SAFE = {"GET", "HEAD", "OPTIONS"}


def hub_of(request):
    return request.app["hub"]


def caller(request):
    """The Principal (or None); a cookie-authenticated change must carry its CSRF token."""
    hub = hub_of(request)
    principal = hub.principal(request)
    if request.method not in SAFE:
        hub.check_csrf(request, principal)
    return principal


def signed_in(request):
    principal = caller(request)
    if principal is None:
        raise hub_error(401, "Authentication credentials were not provided.",
                        headers={"WWW-Authenticate": 'Bearer realm="dockyard-hub"'})
    return principal


async def read_body(request) -> dict:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise hub_error(400, "request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise hub_error(400, "request body must be a JSON object")
    return body


def field(body: dict, key: str, required: bool = True, default: str = "") -> str:
    value = body.get(key, None)
    if value is None:
        if required:
            raise hub_error(400, f"{key} is required", field=key)
        return default
    if not isinstance(value, str):
        raise hub_error(400, f"{key} must be a string", field=key)
    return value


def int_query(request, key: str, default: int, hi: int) -> int:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise hub_error(400, f"{key} must be a positive integer", field=key) from None
    if value < 1:
        raise hub_error(400, f"{key} must be a positive integer", field=key)
    return min(value, hi)


def paging(request, default_size: int = 10) -> tuple[int, int]:
    return int_query(request, "page", 1, 10 ** 6), int_query(request, "page_size", default_size, 100)


def paged(request, total: int, results: list, page: int, page_size: int) -> web.Response:
    base = f"{request.scheme}://{request.host}{request.path}"
    params = {k: v for k, v in request.query.items() if k not in ("page", "page_size")}

    def link(p):
        return f"{base}?{urlencode({**params, 'page': p, 'page_size': page_size})}"

    return web.json_response({"count": total, "next": link(page + 1) if page * page_size < total else None,
                              "previous": link(page - 1) if page > 1 else None, "results": results})


def whole_list(results: list) -> web.Response:
    """A short list in Docker Hub's paged shape, all on one page."""
    return web.json_response({"count": len(results), "next": None, "previous": None, "results": results})


def row_where(rows, key: str, value, kind: str) -> dict:
    """The row whose `key` is `value` (a repository's collaborator, web hook, ...), else the 404 for `kind`."""
    for row in rows:
        if row[key] == value:
            return row
    raise not_found(kind)


def removed_or_404(removed: bool, kind: str) -> web.Response:
    """204 once a child object (tag, collaborator, hook, member) was removed; the 404 for `kind` if none was."""
    if not removed:
        raise not_found(kind)
    return web.Response(status=204)


def iso(ts) -> str | None:
    return iso_time(ts) if ts else None


def input_errors(fn):
    """Input errors of the layers below become 400s (409 for a taken name) with their message."""
    async def wrapper(request):
        try:
            return await fn(request)
        except (AccountError, RepoError, HookError) as e:
            raise hub_error(400, str(e)) from None
        except Conflict as e:
            raise hub_error(409, str(e)) from None
        except LoginThrottled as e:
            raise hub_error(429, str(e), headers={"Retry-After": str(e.retry_after)}) from None
    wrapper.__name__ = fn.__name__
    return wrapper


def repo_of(request, need: str = "read"):
    hub = hub_of(request)
    principal = caller(request)
    repo, level = hub.repo_for(principal, request.match_info["ns"], request.match_info["repo"], need)
    return hub, principal, repo, level
