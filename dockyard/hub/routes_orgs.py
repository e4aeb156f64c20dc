"""Hub API: organizations (POST /v2/orgs/, GET|DELETE /v2/orgs/{org}/, GET .../members) and their teams
("groups": GET|POST /v2/orgs/{org}/groups, GET|PATCH|DELETE .../groups/{group}, GET|POST .../members,
DELETE .../members/{user}). An organization's public face is for anyone; teams and members for its members;
changes for its owners."""
from aiohttp import web

from dockyard.hub import orgs
from dockyard.hub.api_common import (caller, field, hub_of, input_errors, iso, paging, paged, read_body, removed_or_404,
                                     signed_in)
from dockyard.hub.errors import hub_error, not_found


def _org_json(hub, org: dict, viewer) -> dict:
    return {"id": str(org["id"]), "orgname": org["name"], "full_name": org["full_name"], "location": "",
            "company": "", "profile_url": "", "date_joined": iso(org["created"]), "gravatar_url": "",
            "type": "Organization",
            "is_owner": bool(viewer) and hub.rights.can_manage_org(viewer.user, org["name"])}


def _team_json(team: dict) -> dict:
    return {"id": team["id"], "name": team["name"], "description": team["description"],
            "member_count": team["member_count"]}


def _org(request, manage: bool = False, members: bool = False):
    """(hub, principal, org row): the organization's public face for anyone; its teams and members for its
    members (404 to others, as private data); changes for its owners (403)."""
    hub = hub_of(request)
    principal = caller(request)
    org = hub.store.get_org(request.match_info["org"])
    if org is None:
        raise not_found("organization")
    user = principal.user if principal else None
    if (members or manage) and not hub.rights.can_see_org(user, org["name"]):
        raise not_found("organization")
    if manage and (not hub.rights.can_manage_org(user, org["name"]) or principal.cap != "admin"):
        raise hub_error(403, f"only owners of {org['name']} can do this")
    return hub, principal, org


@input_errors
async def org_create(request):
    hub = hub_of(request)
    principal = signed_in(request)
    body = await read_body(request)
    org = orgs.create_org(hub, principal.user, field(body, "orgname"), body.get("full_name"))
    return web.json_response(_org_json(hub, org, principal), status=201)


async def org_get(request):
    hub, principal, org = _org(request)
    return web.json_response(_org_json(hub, org, principal))


async def org_delete(request):
    hub, principal, org = _org(request, manage=True)
    _, rows = hub.store.query_repos(("1 = 1", {}), namespace=org["name"], limit=1)
    if rows:
        raise hub_error(400, f"{org['name']} still has repositories; delete them first")
    hub.store.delete_org(org["name"])
    return web.Response(status=204)


async def org_members(request):
    hub, principal, org = _org(request, members=True)
    page, page_size = paging(request, 25)
    rows = hub.store.org_members(org["name"])
    results = [{"id": str(r["id"]), "username": r["name"], "full_name": r["full_name"],
                "role": "owner" if r["is_owner"] else "member"} for r in rows]
    return paged(request, len(results), results[(page - 1) * page_size: page * page_size], page, page_size)


async def groups_list(request):
    hub, principal, org = _org(request, members=True)
    page, page_size = paging(request, 25)
    teams = [_team_json(t) for t in hub.store.list_teams(org["name"])]
    return paged(request, len(teams), teams[(page - 1) * page_size: page * page_size], page, page_size)


@input_errors
async def group_create(request):
    hub, principal, org = _org(request, manage=True)
    body = await read_body(request)
    team = orgs.create_team(hub, org["name"], field(body, "name"), body.get("description"))
    return web.json_response(_team_json(team), status=201)


def _team(request, manage: bool = False):
    hub, principal, org = _org(request, manage=manage, members=True)
    team = hub.store.get_team(org["name"], request.match_info["group"])
    if team is None:
        raise not_found("group")
    return hub, principal, org, team


async def group_get(request):
    hub, principal, org, team = _team(request)
    return web.json_response(_team_json(team))


@input_errors
async def group_patch(request):
    hub, principal, org, team = _team(request, manage=True)
    body = await read_body(request)
    return web.json_response(_team_json(orgs.update_team(hub, team, body.get("name"), body.get("description"))))


async def group_delete(request):
    hub, principal, org, team = _team(request, manage=True)
    hub.store.delete_team(team["id"])
    return web.Response(status=204)


async def group_members(request):
    hub, principal, org, team = _team(request)
    rows = [{"id": str(r["id"]), "username": r["name"], "full_name": r["full_name"]}
            for r in hub.store.team_members(team["id"])]
    page, page_size = paging(request, 25)
    return paged(request, len(rows), rows[(page - 1) * page_size: page * page_size], page, page_size)


@input_errors
async def group_member_add(request):
    hub, principal, org, team = _team(request, manage=True)
    body = await read_body(request)
    member = field(body, "member")
    orgs.add_member(hub, team, member)
    return web.json_response({"username": member, "group": team["name"]}, status=201)


async def group_member_delete(request):
    hub, principal, org, team = _team(request, manage=True)
    return removed_or_404(hub.store.remove_team_member(team["id"], request.match_info["user"]), "member")
