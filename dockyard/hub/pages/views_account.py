"""Account pages: sign in/up/out, password change, personal access tokens, creating a repository.
Every POST goes through checked_form (CSRF) before anything changes."""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from dockyard.hub.pages.backend import PageError
from dockyard.hub.pages.web import (backend, blocking, checked_form, redirect, render, require_user,
                                    set_session_cookie, viewer)

TOKEN_SCOPES = [("repo:read", "Read-only"), ("repo:write", "Read & Write"), ("repo:admin", "Read, Write & Delete")]


def _safe_next(target: str) -> str:
    """Only local paths: a `next` of //evil.example or https://... would make sign-in an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


async def login_form(request: web.Request) -> web.Response:
    v = await viewer(request)
    if v.user:
        raise redirect("/")
    return await render(request, "login.html", {"next": _safe_next(request.query.get("next", "/")), "username": ""})


async def login(request: web.Request) -> web.Response:
    form = await checked_form(request)
    username, nxt = form.get("username", "").strip(), _safe_next(form.get("next", "/"))
    try:
        sid = await blocking(backend(request).sign_in, username, form.get("password", ""), request.remote or "")
    except PageError as e:
        return await render(request, "login.html", {"error": str(e), "username": username, "next": nxt},
                            status=e.status)
    resp = redirect(nxt)
    set_session_cookie(resp, request, sid)
    raise resp


async def logout(request: web.Request) -> web.Response:
    await checked_form(request)
    v = await viewer(request)
    if v.session_id:
        await blocking(backend(request).sign_out, v.session_id)
    resp = redirect("/")
    set_session_cookie(resp, request, None)
    raise resp


async def signup_form(request: web.Request) -> web.Response:
    if not backend(request).signup_enabled():
        return await render(request, "error.html", {"heading": "Sign-up is closed",
                                                    "message": "Ask an administrator for an account."}, status=403)
    return await render(request, "signup.html", {"username": "", "email": ""})


async def signup(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if not backend(request).signup_enabled():
        raise web.HTTPForbidden(text="sign-up is disabled")
    username, email = form.get("username", "").strip(), form.get("email", "").strip()
    try:
        sid = await blocking(backend(request).sign_up, username, email, form.get("password", ""),
                             request.remote or "")
    except PageError as e:
        return await render(request, "signup.html", {"error": str(e), "username": username, "email": email},
                            status=e.status)
    resp = redirect(f"/u/{quote(username)}")
    set_session_cookie(resp, request, sid)
    raise resp


async def password_form(request: web.Request) -> web.Response:
    await require_user(request)
    changed = [("", "Your password was changed.")] if request.query.get("changed") else []
    return await render(request, "password.html", {"flashes": changed})


async def password(request: web.Request) -> web.Response:
    v = await require_user(request)
    form = await checked_form(request)
    try:
        sid = await blocking(backend(request).change_password, v.user, form.get("current", ""), form.get("new", ""),
                       request.remote or "")
    except PageError as e:
        return await render(request, "password.html", {"error": str(e)}, status=e.status)
    resp = redirect("/settings/password?changed=1")   # the change ended the old session: a new one, new token
    set_session_cookie(resp, request, sid)
    raise resp


async def tokens_page(request: web.Request, new_token: str | None = None, error: str | None = None,
                      status: int = 200) -> web.Response:
    v = await require_user(request)
    tokens = await blocking(backend(request).tokens, v.user)
    return await render(request, "tokens.html", {"tokens": tokens, "new_token": new_token, "error": error,
                                                 "scopes": TOKEN_SCOPES, "registry_host": request.host},
                        status=status)


async def tokens_form(request: web.Request) -> web.Response:
    return await tokens_page(request)


async def token_create(request: web.Request) -> web.Response:
    v = await require_user(request)
    form = await checked_form(request)
    scope = form.get("scope", "repo:read")
    if scope not in dict(TOKEN_SCOPES):
        return await tokens_page(request, error="Unknown access permission.", status=400)
    try:
        secret = await blocking(backend(request).create_token, v.user, form.get("label", "").strip(), [scope],
                                request.remote or "", request.headers.get("User-Agent", ""))
    except PageError as e:
        return await tokens_page(request, error=str(e), status=e.status)
    return await tokens_page(request, new_token=secret)   # shown once: never stored or shown again


async def token_delete(request: web.Request) -> web.Response:
    v = await require_user(request)
    await checked_form(request)
    await blocking(backend(request).revoke_token, v.user, request.match_info["id"])
    raise redirect("/settings/security")


async def create_repo_form(request: web.Request) -> web.Response:
    v = await require_user(request)
    namespaces = await blocking(backend(request).namespaces_for, v.user)
    return await render(request, "create_repo.html", {"namespaces": namespaces, "form": {
        "namespace": request.query.get("namespace", v.user), "name": "", "description": "", "visibility": "public"}})


async def create_repo(request: web.Request) -> web.Response:
    v = await require_user(request)
    form = await checked_form(request)
    b = backend(request)
    try:
        name = await blocking(b.create_repo, v.user, form.get("namespace", ""), form.get("name", "").strip(),
                              form.get("description", "").strip(), form.get("visibility") == "private")
    except PageError as e:
        namespaces = await blocking(b.namespaces_for, v.user)
        return await render(request, "create_repo.html", {"namespaces": namespaces, "form": form,
                                                          "error": str(e)}, status=e.status)
    raise redirect(f"/r/{name}")
