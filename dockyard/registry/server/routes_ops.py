"""Operational endpoints: the token service (/token), /health, /metrics."""
import json
import os

from aiohttp import web

from dockyard.registry.server.access import ALL
from dockyard.registry.server.auth import Identity, Login, parse_basic
from dockyard.registry.server.errors import RegistryError


async def token(request: web.Request) -> web.Response:
    """The token service (auth-token.md): GET ?service=&scope=&account=[&offline_token=true&client_id=] with
    optional Basic credentials, or the OAuth2 POST form (grant_type=password [access_type=offline] or
    grant_type=refresh_token). `offline_token`/`access_type=offline` with a signed-in user adds a refresh
    token, which docker keeps as its IdentityToken. Bad credentials -> 401; missing rights are simply not
    granted (the registry then answers 403 DENIED)."""
    reg = request.app["registry"]
    request["route"] = "token"
    if reg.auth.kind != "token":
        return web.json_response({"details": "token auth is not enabled"}, status=404)
    if request.method == "POST":
        form = await request.post()
        scopes, service = str(form.get("scope", "")).split(), form.get("service")
        login, refresh = await _oauth_grant(reg, form, request.remote)
    else:
        # A scope parameter may hold several scopes separated by spaces, as a challenge's scope does (a mount
        # names two repositories) and clients that pass it on verbatim send it.
        scopes = [scope for raw in request.query.getall("scope", []) for scope in raw.split()]
        service = request.query.get("service")
        login = await _basic_login(reg, request)
        wants_refresh = request.query.get("offline_token") == "true" and login is not None
        refresh = reg.auth.issue_refresh(login) if wants_refresh else None
    if service and service != reg.config.auth.service:
        return web.json_response({"details": f"unknown service {service!r}"}, status=400)
    user = login.user if login else None
    request["identity"] = Identity(user=user)
    body = reg.auth.issue(user, scopes, login.actions if login else ALL)
    if refresh:
        body["refresh_token"] = refresh
    return web.json_response(body)


def _oauth_error(error: str, description: str, status: int) -> web.HTTPException:
    # OAuth2 clients read `error`; docker's token client reads `details` (as Docker Hub's token server sends).
    body = json.dumps({"error": error, "error_description": description, "details": description})
    exc = web.HTTPUnauthorized if status == 401 else web.HTTPBadRequest
    return exc(text=body, content_type="application/json")


async def _oauth_grant(reg, form, remote_addr) -> tuple[Login, str | None]:
    """(login, refresh token to hand out or None) for an OAuth2 token request."""
    grant = form.get("grant_type")
    if grant == "password":
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        login = await reg.auth.login(username, password, remote_addr)
        if login is None:
            raise _oauth_error("invalid_grant", "incorrect username or password", 401)
        return login, reg.auth.issue_refresh(login) if form.get("access_type") == "offline" else None
    if grant == "refresh_token":
        presented = str(form.get("refresh_token", ""))
        login = reg.auth.refresh_login(presented)
        if login is None:
            raise _oauth_error("invalid_grant", "invalid or revoked refresh token", 401)
        return login, presented      # oauth.md: a refresh grant answers with the same refresh token
    raise _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported", 400)


async def _basic_login(reg, request) -> Login | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    creds = parse_basic(header)
    login = await reg.auth.login(*creds, remote_addr=request.remote) if creds else None
    if login is None:
        raise RegistryError("UNAUTHORIZED", message="incorrect username or password",  # Docker Hub's words
                            headers={"WWW-Authenticate": 'Basic realm="dockyard-registry-token"'})
    return login


async def health(request: web.Request) -> web.Response:
    reg = request.app["registry"]
    request["route"] = "health"
    ok = os.access(reg.storage.base, os.W_OK)
    status = 200 if ok else 503
    return web.json_response({"status": "ok" if ok else "storage not writable"}, status=status)


async def metrics(request: web.Request) -> web.Response:
    request["route"] = "metrics"
    return web.Response(text=request.app["registry"].metrics.render(), content_type="text/plain",
                        charset="utf-8", headers={"X-Prometheus-Format": "0.0.4"})
