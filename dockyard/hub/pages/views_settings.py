"""Changing a repository: star/unstar (any signed-in reader), and the settings page (admins only):
descriptions, visibility, collaborators or teams, web hooks with their delivery history, delete.

Order in every POST: CSRF check, then the rights check (a non-admin gets the same 404 a stranger gets, or
403 when they can read the repository), then the change."""
from __future__ import annotations

from aiohttp import web

from dockyard.hub.pages.backend import PageError
from dockyard.hub.pages.views_public import readable_repo
from dockyard.hub.pages.web import backend, blocking, checked_form, not_found, redirect, render, require_user


async def star(request: web.Request) -> web.Response:
    v = await require_user(request)
    form = await checked_form(request)
    repo = await readable_repo(request)
    if repo is None:
        return await not_found(request)
    await blocking(backend(request).set_star, v.user, repo["name"], form.get("star") == "1")
    raise redirect(repo["url"])


async def _admin_repo(request: web.Request):
    """(repo, None) when the viewer administers it, else (None, the refusal page to return)."""
    repo = await readable_repo(request)
    if repo is None:
        return None, await not_found(request)
    if not repo["can_admin"]:
        return None, await render(request, "error.html", {
            "heading": "Permission denied", "message": "Only administrators of this repository can change its settings."},
            status=403)
    return repo, None


async def settings_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    await require_user(request)
    repo, refusal = await _admin_repo(request)
    if refusal is not None:
        return refusal
    b = backend(request)
    grants = await blocking(b.grants, repo["name"])
    hooks = await blocking(b.hooks, repo["name"])
    flashes = [("error", error)] if error else []
    return await render(request, "settings.html", {"repo": repo, "grants": grants, "hooks": hooks,
                                                   "flashes": flashes}, status=status)


def _setting(action):
    """A settings POST: CSRF, require admin, run `action(backend, user, repo, form)`, back to the settings page."""
    async def handler(request: web.Request) -> web.Response:
        v = await require_user(request)
        form = await checked_form(request)
        repo, refusal = await _admin_repo(request)
        if refusal is not None:
            return refusal
        try:
            after = await blocking(action, backend(request), v.user, repo, form)
        except PageError as e:
            return await settings_page(request, error=str(e), status=e.status)
        raise redirect(after or repo["url"] + "/settings")
    return handler


def _general(b, user, repo, form):
    b.update_repo(user, repo["name"], description=form.get("description", ""),
                  full_description=form.get("full_description", ""))


def _visibility(b, user, repo, form):
    b.update_repo(user, repo["name"], private=form.get("visibility") == "private")


def _grant(b, user, repo, form):
    b.grant(user, repo["name"], form.get("name", "").strip(), form.get("permission", "read"))


def _revoke(b, user, repo, form):
    b.revoke(user, repo["name"], form.get("name", "").strip())


def _add_hook(b, user, repo, form):
    b.add_hook(user, repo["name"], form.get("name", "").strip(), form.get("url", "").strip())


def _remove_hook(b, user, repo, form):
    b.remove_hook(user, repo["name"], form.get("name", "").strip())


def _delete(b, user, repo, form):
    if form.get("confirm", "").strip() not in (repo["name"].split("/")[-1], repo["name"]):
        raise PageError("Type the repository's name to confirm the deletion.")
    b.delete_repo(user, repo["name"])
    return f"/u/{repo['namespace']}" if not repo["is_org"] else f"/orgs/{repo['namespace']}"


general = _setting(_general)
visibility = _setting(_visibility)
grant = _setting(_grant)
revoke = _setting(_revoke)
add_hook = _setting(_add_hook)
remove_hook = _setting(_remove_hook)
delete = _setting(_delete)
