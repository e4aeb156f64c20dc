"""Operational endpoints: the token service (/token), /health, /metrics."""
import os

from aiohttp import web

from dockyard.registry.server.auth import Identity, parse_basic
from dockyard.registry.server.errors import RegistryError


async def token(request: web.Request) -> web.Response:
    """GET ?service=&scope=&account= with optional Basic credentials (Docker token spec), or POST form
    grant_type=password (OAuth2, as `docker login` may use). Bad credentials -> 401; missing rights are
    simply not granted (the registry then answers 403 DENIED)."""
    reg = request.app["registry"]
    request["route"] = "token"
    if reg.auth.kind != "token":
        return web.json_response({"details": "token auth is not enabled"}, status=404)
    user = None
    if request.method == "POST":
        form = await request.post()
        if form.get("grant_type") != "password":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        username, password = form.get("username", ""), form.get("password", "")
        scopes = str(form.get("scope", "")).split()
        service = form.get("service")
        if not await reg.auth.check_password(username, password):
            return web.json_response({"error": "invalid_grant"}, status=401)
        user = username
    else:
        scopes = request.query.getall("scope", [])
        service = request.query.get("service")
        header = request.headers.get("Authorization", "")
        if header:
            creds = parse_basic(header)
            if creds is None or not await reg.auth.check_password(*creds):
                raise RegistryError("UNAUTHORIZED", message="invalid username or password",
                                    headers={"WWW-Authenticate": 'Basic realm="dockyard-registry-token"'})
            user = creds[0]
    if service and service != reg.config.auth.service:
        return web.json_response({"details": f"unknown service {service!r}"}, status=400)
    request["identity"] = Identity(user=user)
    return web.json_response(reg.auth.issue(user, scopes))


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
