"""Organizations: creating one (any signed-in user, who becomes its owner), and for its owners the teams tab's
forms: create a team, add and remove members. Team permissions on repositories are set in each repository's
settings. Every POST: CSRF first, then the rights check (hub.rights.can_manage_org), then the change."""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from dockyard.hub.pages.backend import PageError
from dockyard.hub.pages.views_public import namespace_page
from dockyard.hub.pages.web import backend, blocking, checked_form, not_found, redirect, render, require_user


async def create_form(request: web.Request) -> web.Response:
    await require_user(request)
    return await render(request, "create_org.html", {"form": {"name": "", "full_name": ""}})


async def create(request: web.Request) -> web.Response:
    v = await require_user(request)
    form = await checked_form(request)
    name = form.get("name", "").strip()
    try:
        await blocking(backend(request).create_org, v.user, name, form.get("full_name", "").strip())
    except PageError as e:
        return await render(request, "create_org.html", {"form": form, "error": str(e)}, status=e.status)
    raise redirect(f"/orgs/{quote(name)}/teams")


def _team_change(action):
    async def handler(request: web.Request) -> web.Response:
        v = await require_user(request)
        form = await checked_form(request)
        org = request.match_info["org"]
        b = backend(request)
        if not await blocking(b.can_manage_org, v.user, org):
            return await not_found(request)     # members see teams, only owners change them
        try:
            await blocking(action, b, org, form)
        except PageError as e:
            return await namespace_page(request, org, "org", "teams", error=str(e), status=e.status)
        raise redirect(f"/orgs/{quote(org)}/teams")
    return handler


team_create = _team_change(lambda b, org, f: b.create_team(org, f.get("name", "").strip(), f.get("description", "")))
member_add = _team_change(lambda b, org, f: b.add_member(org, f.get("team", ""), f.get("member", "").strip()))
member_remove = _team_change(lambda b, org, f: b.remove_member(org, f.get("team", ""), f.get("member", "")))
