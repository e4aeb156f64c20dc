"""What every page handler shares: who is asking (session cookie), CSRF checks on forms, rendering,
the not-found page, and running blocking store calls off the event loop.

Sessions are the Hub's (hub.sessions: the HttpOnly, SameSite=Lax cookie `dockyard_session`); each session has
its own CSRF token, kept by the store, that every form carries in `csrf_token`. Anonymous forms (sign in,
sign up) use a double-submit token instead: a random `hub_csrf` cookie (HttpOnly, SameSite=Lax) that the
form must echo.
"""
from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from dockyard.hub.sessions import SESSION_COOKIE

ANON_CSRF_COOKIE = "hub_csrf"
VIEWER_KEY = "hub_viewer"


@dataclass(frozen=True)
class Viewer:
    """The person looking at a page: user None when anonymous. `csrf` is what their forms must carry."""
    user: str | None
    csrf: str
    session_id: str | None = None
    new_anon_csrf: bool = False   # the anonymous token is new: set its cookie on the response


async def blocking(fn, *args):
    """Run a blocking call (SQLite, file walks) in the default executor so the loop never waits on disk."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def backend(request: web.Request):
    return request.app["hub_pages_backend"]


async def viewer(request: web.Request) -> Viewer:
    """Who is asking, resolved once per request."""
    if VIEWER_KEY in request:
        return request[VIEWER_KEY]
    principal = await blocking(backend(request).principal, request)
    if principal is not None:
        v = Viewer(user=principal.user, csrf=principal.csrf, session_id=request.cookies.get(SESSION_COOKIE))
    else:
        anon = request.cookies.get(ANON_CSRF_COOKIE, "")
        fresh = len(anon) < 32
        v = Viewer(user=None, csrf=secrets.token_urlsafe(32) if fresh else anon, new_anon_csrf=fresh)
    request[VIEWER_KEY] = v
    return v


def set_session_cookie(resp: web.StreamResponse, request: web.Request, session_id: str | None) -> None:
    sessions = request.app["hub"].sessions
    if session_id is None:
        sessions.clear_cookie(resp)
    else:
        sessions.set_cookie(resp, session_id, request)


async def checked_form(request: web.Request) -> dict:
    """The posted form, after checking its CSRF token against the viewer's; refuses (403) otherwise."""
    form = await request.post()
    v = await viewer(request)
    sent = form.get("csrf_token", "")
    if not isinstance(sent, str) or not sent or v.new_anon_csrf or not hmac.compare_digest(sent, v.csrf):
        raise web.HTTPForbidden(text=render_text(request, "error.html", {
            "heading": "Form expired", "message": "The form's security token is missing or wrong (CSRF check). "
                                                  "Go back, reload the page and try again."}),
            content_type="text/html")
    return {k: (v if isinstance(v, str) else "") for k, v in form.items()}


async def base_context(request: web.Request) -> dict[str, Any]:
    v = await viewer(request)
    return {"viewer": v.user, "csrf": v.csrf, "flashes": [],
            "signup_enabled": backend(request).signup_enabled()}


def render_text(request: web.Request, template: str, context: dict) -> str:
    env = aiohttp_jinja2.get_env(request.app)
    base = {"viewer": None, "csrf": "", "flashes": [], "signup_enabled": False}
    if VIEWER_KEY in request:
        base.update(viewer=request[VIEWER_KEY].user, csrf=request[VIEWER_KEY].csrf)
    return env.get_template(template).render({**base, **context})


async def render(request: web.Request, template: str, context: dict, status: int = 200) -> web.Response:
    ctx = {**await base_context(request), **context}
    resp = aiohttp_jinja2.render_template(template, request, ctx, status=status)
    v = request[VIEWER_KEY]
    if v.new_anon_csrf:
        resp.set_cookie(ANON_CSRF_COOKIE, v.csrf, path="/", httponly=True, samesite="Lax",
                        secure=request.scheme == "https")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' https: data:; "
                                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    return resp


async def not_found(request: web.Request, message: str | None = None) -> web.Response:
    """The one answer for "missing" and "not yours": a private repository must look like no repository."""
    return await render(request, "not_found.html", {"message": message}, status=404)


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


async def require_user(request: web.Request) -> Viewer:
    v = await viewer(request)
    if v.user is None:
        from urllib.parse import quote
        raise redirect("/login?next=" + quote(request.path_qs, safe=""))
    return v
