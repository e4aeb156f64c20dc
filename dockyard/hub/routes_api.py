"""The Hub API, at Docker Hub's paths and in its shapes (docs.docker.com/reference/api/hub).

This module: accounts, repositories, tags, stars, collaborators and teams on a repository, search, and the route
table; routes_hooks.py, routes_orgs.py and routes_tokens.py the rest; api_common.py their shared helpers.

Auth: `Authorization: Bearer <JWT>` (from POST /v2/users/login or /v2/auth/token) or the web UI's session
cookie; a cookie-authenticated change must carry the session's CSRF token (X-CSRFToken). Rights: rights.py
through Hub.repo_for; what a caller may not read answers 404 exactly as what does not exist.
Creations answer 201 with the object; bad input 400 {"message", "detail", "errinfo"}.

Accounts   POST /v2/users/login {username, password} -> {token}; POST /v2/auth/token {identifier, secret}
           -> {access_token}; POST /v2/users/signup {username, password, email}; GET /v2/user/;
           GET /v2/users/{name}/; GET /v2/users/{name}/repositories/starred/
Repos      GET|POST /v2/namespaces/{ns}/repositories (GET also as /v2/repositories/{ns}/);
           GET|HEAD|PATCH|DELETE .../repositories/{repo};
           GET .../{repo}/tags; GET|DELETE .../{repo}/tags/{tag}; the same under /v2/repositories/{ns}/{repo}/
Stars      POST|DELETE /v2/repositories/{ns}/{repo}/stars/
People     GET|POST /v2/repositories/{ns}/{repo}/collaborators/ {user, permission};
           GET|DELETE .../collaborators/{user}/; GET|POST .../groups/ {group_id|group_name, permission};
           DELETE .../groups/{group_id}/
Hooks      GET|POST /v2/repositories/{ns}/{repo}/webhook_pipeline/ {name, webhooks: [{name, hook_url}]};
           GET|DELETE .../webhook_pipeline/{name}/; POST /v2/webhook_callbacks/{token}/ {state, description}
Orgs       POST /v2/orgs/ {orgname, full_name}; GET|DELETE /v2/orgs/{org}/; GET /v2/orgs/{org}/members;
           GET|POST /v2/orgs/{org}/groups; GET|PATCH|DELETE .../groups/{group};
           GET|POST .../groups/{group}/members {member}; DELETE .../members/{user}
Tokens     GET|POST /v2/access-tokens {token_label, scopes}; GET|PATCH|DELETE /v2/access-tokens/{uuid}
Search     GET /v1/search?q=&n=&page= (docker search); GET /v2/search/repositories/?query=&page=&page_size=
"""
import math

from aiohttp import web

from dockyard.hub import repos, routes_hooks, routes_orgs, routes_tokens
from dockyard.hub.api_common import (caller, field, hub_of, input_errors, int_query, iso, paging, paged, read_body,
                                     removed_or_404, repo_of, row_where, signed_in, whole_list)
from dockyard.hub.errors import hub_error, not_found
from dockyard.hub.rights import OFFICIAL
from dockyard.registry.server import routes_v2
from dockyard.registry.server.auth import Identity
from dockyard.registry.server.routes_hub import display_name


def _user_json(user: dict) -> dict:
    return {"id": str(user["id"]), "username": user["name"], "full_name": user["full_name"], "location": "",
            "company": "", "profile_url": "", "date_joined": iso(user["created"]), "gravatar_url": "",
            "type": "User"}


# ---------- accounts ----------
async def _sign_in(request, name_key: str, secret_key: str, answer_key: str) -> web.Response:
    body = await read_body(request)
    hub = hub_of(request)
    principal = await hub.authenticate_async(field(body, name_key), field(body, secret_key), request.remote)
    if principal is None:
        raise hub_error(401, "Incorrect authentication credentials")
    return web.json_response({answer_key: hub.sessions.issue_jwt(principal)})


@input_errors
async def users_login(request):
    return await _sign_in(request, "username", "password", "token")


@input_errors
async def auth_token(request):
    """Docker Hub's newer form: a personal access token (or password) as `secret`."""
    return await _sign_in(request, "identifier", "secret", "access_token")


@input_errors
async def users_signup(request):
    hub = hub_of(request)
    if not hub.config.signup:
        raise hub_error(403, "sign-up is disabled on this registry")
    body = await read_body(request)
    user = hub.accounts.create_user(field(body, "username"), field(body, "password"), email=field(body, "email", False))
    return web.json_response(_user_json(user), status=201)


async def current_user(request):
    principal = signed_in(request)
    user = hub_of(request).store.get_user(principal.user)
    return web.json_response({**_user_json(user), "email": user["email"]})


async def user_profile(request):
    user = hub_of(request).store.get_user(request.match_info["name"])
    if user is None:
        raise not_found("user")
    return web.json_response(_user_json(user))


async def user_starred(request):
    """GET /v2/users/{name}/repositories/starred/: what a user starred, as far as the caller may see."""
    hub = hub_of(request)
    principal = caller(request)
    if hub.store.get_user(request.match_info["name"]) is None:
        raise not_found("user")
    page, page_size = paging(request)
    total, rows = hub.search(principal, starred_by=request.match_info["name"], page=page, page_size=page_size)
    return paged(request, total, [repos.summary_json(r) for r in rows], page, page_size)


# ---------- repositories ----------
async def namespace_repos(request):
    """GET /v2/repositories/{ns}/: Docker Hub lists a namespace's repositories here; a name that is no namespace
    keeps the registry's older meaning (a top-level repository, e.g. an official image's info)."""
    if hub_of(request).store.namespace_kind(request.match_info["ns"]) is None:
        return await routes_v2.dispatch(request)
    return await repo_list(request)


async def repo_list(request):
    hub = hub_of(request)
    principal = caller(request)
    ns = request.match_info["ns"]
    if ns != OFFICIAL and hub.store.namespace_kind(ns) is None:
        raise not_found("namespace")
    page, page_size = paging(request)
    order = request.query.get("ordering", "updated").lstrip("-")
    order = {"last_updated": "updated", "name": "name", "updated": "updated", "pull_count": "popular",
             "star_count": "popular"}.get(order)
    if order is None:
        raise hub_error(400, "ordering must be one of last_updated, name, pull_count, star_count")
    total, rows = hub.search(principal, text=request.query.get("name", ""), namespace=ns, order=order, page=page,
                             page_size=page_size)
    return paged(request, total, [repos.summary_json(r) for r in rows], page, page_size)


@input_errors
async def repo_create(request):
    hub = hub_of(request)
    principal = signed_in(request)
    ns = request.match_info["ns"]
    body = await read_body(request)
    if body.get("namespace") not in (None, ns):
        raise hub_error(400, f"namespace in the body ({body.get('namespace')}) differs from the path ({ns})")
    if ns != OFFICIAL and hub.store.namespace_kind(ns) is None:
        raise not_found("namespace")
    if not hub.rights.can_create(principal.user, ns) or principal.cap != "admin":
        raise hub_error(403, f"you cannot create repositories in {ns}")
    repo = repos.create(hub, ns, field(body, "name"), body)
    return web.json_response(repos.to_json(hub, repo, hub.level(principal, repo), principal.user), status=201)


async def repo_get(request):
    hub, principal, repo, level = repo_of(request)
    if request.method == "HEAD":
        return web.Response(status=200)
    return web.json_response(repos.to_json(hub, repo, level, principal.user if principal else None))


@input_errors
async def repo_patch(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    repo = repos.update(hub, repo, await read_body(request))
    return web.json_response(repos.to_json(hub, repo, hub.level(principal, repo), principal.user))


async def repo_delete(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    repos.delete(hub, repo)
    return web.Response(status=202)


async def tags_list(request):
    hub, principal, repo, _ = repo_of(request)
    page, page_size = paging(request)
    ordering = request.query.get("ordering", "last_updated").lstrip("-")
    if ordering not in ("last_updated", "name"):
        raise hub_error(400, "ordering must be last_updated or name")
    names = repos.tag_names(hub, repo, request.query.get("name", ""), ordering)
    chunk = names[(page - 1) * page_size: page * page_size]
    return paged(request, len(names), repos.tags_json(hub, repo, chunk), page, page_size)


@input_errors
async def tag_get(request):
    hub, principal, repo, _ = repo_of(request)
    tag = repos.check_tag(request.match_info["tag"])
    found = repos.tags_json(hub, repo, [tag]) if hub.registry.storage.get_tag(repo["path"], tag) else []
    if not found:
        raise not_found("tag")
    return web.json_response(found[0])


@input_errors
async def tag_delete(request):
    hub, principal, repo, _ = repo_of(request, "write")
    return removed_or_404(repos.delete_tag(hub, repo, request.match_info["tag"]), "tag")


# ---------- stars ----------
async def star(request):
    hub, principal, repo, _ = repo_of(request)
    if principal is None:
        raise hub_error(401, "Authentication credentials were not provided.")
    if request.method == "GET":
        return web.json_response({"star_count": repo["star_count"],
                                  "has_starred": hub.store.has_starred(repo["id"], principal.user)})
    count = hub.store.set_star(repo["id"], principal.user, request.method == "POST")
    return web.json_response({"star_count": count}, status=201 if request.method == "POST" else 200)


# ---------- collaborators and teams on a repository ----------
async def collaborators(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    return whole_list(hub.store.collaborators(repo["id"]))


@input_errors
async def collaborator_add(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    body = await read_body(request)
    user, permission = field(body, "user"), field(body, "permission")
    repos.add_collaborator(hub, repo, user, permission)
    return web.json_response({"user": user, "permission": permission}, status=201)


async def collaborator_get(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    return web.json_response(row_where(hub.store.collaborators(repo["id"]), "user", request.match_info["user"],
                                       "collaborator"))


async def collaborator_delete(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    return removed_or_404(hub.store.remove_collaborator(repo["id"], request.match_info["user"]), "collaborator")


async def repo_groups(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    return whole_list(hub.store.team_permissions(repo["id"]))


@input_errors
async def repo_group_add(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    body = await read_body(request)
    group = body.get("group_id", body.get("group_name"))
    if group is None:
        raise hub_error(400, "group_id (or group_name) is required", field="group_id")
    team = repos.add_team(hub, repo, group, field(body, "permission"))
    return web.json_response({"group_id": team["id"], "group_name": team["name"],
                              "permission": body["permission"]}, status=201)


async def repo_group_delete(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    group_id = request.match_info["group_id"]
    return removed_or_404(group_id.isdigit() and hub.store.remove_team_permission(int(group_id), repo["id"]), "group")


# ---------- search ----------
async def v1_search(request):
    """docker search's API (the registry's /v1/search), from the Hub's rights and counts."""
    hub = hub_of(request)
    principal = caller(request)
    n = int_query(request, "n", 25, 100)
    page = int_query(request, "page", 1, 10 ** 6)
    query = request.query.get("q", "")
    total, rows = hub.search(principal, text=query, page=page, page_size=n)
    results = [{"name": display_name(r["full_name"]), "description": r["description"],
                "star_count": r["star_count"], "pull_count": r["pull_count"], "is_official": r["namespace"] == OFFICIAL,
                "is_automated": False, "is_trusted": False} for r in rows]
    return web.json_response({"query": query, "num_results": total, "page": page, "page_size": n,
                              "num_pages": max(1, math.ceil(total / n)), "results": results})


async def v2_search(request):
    hub = hub_of(request)
    principal = caller(request)
    page, page_size = paging(request, 25)
    total, rows = hub.search(principal, text=request.query.get("query", ""), page=page, page_size=page_size)
    results = [{"repo_name": display_name(r["full_name"]), "short_description": r["description"],
                "star_count": r["star_count"], "pull_count": r["pull_count"], "repo_owner": r["namespace"],
                "is_automated": False, "is_official": r["namespace"] == OFFICIAL, "is_private": r["is_private"]}
               for r in rows]
    return paged(request, total, results, page, page_size)


# ---------- routes ----------
def _routes():
    orgs, tokens, hooks = routes_orgs, routes_tokens, routes_hooks
    org, team = "/v2/orgs/{org}", "/v2/orgs/{org}/groups/{group}"
    routes = [
        ("POST", "/v2/users/login", users_login), ("POST", "/v2/auth/token", auth_token),
        ("POST", "/v2/users/signup", users_signup), ("GET", "/v2/user", current_user),
        ("GET", "/v2/users/{name}", user_profile), ("GET", "/v2/users/{name}/repositories/starred", user_starred),
        ("GET", "/v2/namespaces/{ns}/repositories", repo_list),
        ("POST", "/v2/namespaces/{ns}/repositories", repo_create),
        ("GET", "/v2/repositories/{ns}", namespace_repos),
        ("POST", "/v2/webhook_callbacks/{token}", hooks.hook_callback),
        ("POST", "/v2/orgs", orgs.org_create), ("GET", org, orgs.org_get), ("DELETE", org, orgs.org_delete),
        ("GET", org + "/members", orgs.org_members),
        ("GET", org + "/groups", orgs.groups_list), ("POST", org + "/groups", orgs.group_create),
        ("GET", team, orgs.group_get), ("PATCH", team, orgs.group_patch), ("DELETE", team, orgs.group_delete),
        ("GET", team + "/members", orgs.group_members), ("POST", team + "/members", orgs.group_member_add),
        ("DELETE", team + "/members/{user}", orgs.group_member_delete),
        ("GET", "/v2/access-tokens", tokens.tokens_list), ("POST", "/v2/access-tokens", tokens.token_create),
        ("GET", "/v2/access-tokens/{uuid}", tokens.token_get),
        ("PATCH", "/v2/access-tokens/{uuid}", tokens.token_patch),
        ("DELETE", "/v2/access-tokens/{uuid}", tokens.token_delete),
        ("GET", "/v1/search", v1_search), ("GET", "/v2/search/repositories", v2_search),
    ]
    for prefix in ("/v2/namespaces/{ns}/repositories/{repo}", "/v2/repositories/{ns}/{repo}"):
        routes += [
            ("GET", prefix, repo_get), ("HEAD", prefix, repo_get), ("PATCH", prefix, repo_patch),
            ("DELETE", prefix, repo_delete),
            ("GET", prefix + "/tags", tags_list), ("GET", prefix + "/tags/{tag}", tag_get),
            ("DELETE", prefix + "/tags/{tag}", tag_delete),
        ]
    legacy = "/v2/repositories/{ns}/{repo}"
    routes += [
        ("GET", legacy + "/stars", star), ("POST", legacy + "/stars", star), ("DELETE", legacy + "/stars", star),
        ("GET", legacy + "/collaborators", collaborators), ("POST", legacy + "/collaborators", collaborator_add),
        ("GET", legacy + "/collaborators/{user}", collaborator_get),
        ("DELETE", legacy + "/collaborators/{user}", collaborator_delete),
        ("GET", legacy + "/groups", repo_groups), ("POST", legacy + "/groups", repo_group_add),
        ("DELETE", legacy + "/groups/{group_id}", repo_group_delete),
        ("GET", legacy + "/webhook_pipeline", hooks.hooks_list),
        ("POST", legacy + "/webhook_pipeline", hooks.hook_create),
        ("GET", legacy + "/webhook_pipeline/{name}", hooks.hook_get),
        ("DELETE", legacy + "/webhook_pipeline/{name}", hooks.hook_delete),
    ]
    return routes


def setup(app, hub) -> None:
    """Register the Hub API (each path with and without its trailing slash, as Docker Hub takes both)."""
    for method, path, handler in _routes():
        named = _named(handler)
        for variant in (path, path + "/"):
            app.router.add_route(method, variant, named)


def _named(handler):
    """Sets the request's route name (the access log and metrics label requests by it)."""
    route = "hub_" + handler.__name__

    async def named(request):
        request["route"] = route
        try:
            return await handler(request)
        finally:
            principal = request.get("hub_principal")
            request["identity"] = Identity(user=principal.user if principal else None)
    return named
