"""The Hub API, at Docker Hub's paths and in its shapes (docs.docker.com/reference/api/hub).

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
import json
import math
from urllib.parse import urlencode

from aiohttp import web

from dockyard.hub import orgs, repos
from dockyard.hub.accounts import AccountError, LoginThrottled
from dockyard.hub.errors import hub_error, not_found
from dockyard.hub.repos import RepoError
from dockyard.hub.rights import OFFICIAL
from dockyard.hub.store import Conflict
from dockyard.hub.webhooks import HookError
from dockyard.registry.server import routes_v2
from dockyard.registry.server.auth import Identity
from dockyard.registry.server.routes_hub import display_name, iso_time

SAFE = {"GET", "HEAD", "OPTIONS"}


# ---------- helpers ----------
def _hub(request):
    return request.app["hub"]


def _caller(request):
    """The Principal (or None); a cookie-authenticated change must carry its CSRF token."""
    hub = _hub(request)
    principal = hub.principal(request)
    if request.method not in SAFE:
        hub.check_csrf(request, principal)
    return principal


def _signed_in(request):
    principal = _caller(request)
    if principal is None:
        raise hub_error(401, "Authentication credentials were not provided.",
                        headers={"WWW-Authenticate": 'Bearer realm="dockyard-hub"'})
    return principal


async def _body(request) -> dict:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise hub_error(400, "request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise hub_error(400, "request body must be a JSON object")
    return body


def _str(body: dict, key: str, required: bool = True, default: str = "") -> str:
    value = body.get(key, None)
    if value is None:
        if required:
            raise hub_error(400, f"{key} is required", field=key)
        return default
    if not isinstance(value, str):
        raise hub_error(400, f"{key} must be a string", field=key)
    return value


def _int_query(request, key: str, default: int, hi: int) -> int:
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


def _paging(request, default_size: int = 10) -> tuple[int, int]:
    return _int_query(request, "page", 1, 10 ** 6), _int_query(request, "page_size", default_size, 100)


def _paged(request, total: int, results: list, page: int, page_size: int) -> web.Response:
    base = f"{request.scheme}://{request.host}{request.path}"
    params = {k: v for k, v in request.query.items() if k not in ("page", "page_size")}

    def link(p):
        return f"{base}?{urlencode({**params, 'page': p, 'page_size': page_size})}"

    return web.json_response({"count": total, "next": link(page + 1) if page * page_size < total else None,
                              "previous": link(page - 1) if page > 1 else None, "results": results})


def _iso(ts) -> str | None:
    return iso_time(ts) if ts else None


def _input_errors(fn):
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


def _user_json(user: dict) -> dict:
    return {"id": str(user["id"]), "username": user["name"], "full_name": user["full_name"], "location": "",
            "company": "", "profile_url": "", "date_joined": _iso(user["created"]), "gravatar_url": "",
            "type": "User"}


# ---------- accounts ----------
async def _sign_in(request, name_key: str, secret_key: str, answer_key: str) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    principal = await hub.authenticate_async(_str(body, name_key), _str(body, secret_key), request.remote)
    if principal is None:
        raise hub_error(401, "Incorrect authentication credentials")
    return web.json_response({answer_key: hub.sessions.issue_jwt(principal)})


@_input_errors
async def users_login(request):
    return await _sign_in(request, "username", "password", "token")


@_input_errors
async def auth_token(request):
    """Docker Hub's newer form: a personal access token (or password) as `secret`."""
    return await _sign_in(request, "identifier", "secret", "access_token")


@_input_errors
async def users_signup(request):
    hub = _hub(request)
    if not hub.config.signup:
        raise hub_error(403, "sign-up is disabled on this registry")
    body = await _body(request)
    user = hub.accounts.create_user(_str(body, "username"), _str(body, "password"), email=_str(body, "email", False))
    return web.json_response(_user_json(user), status=201)


async def current_user(request):
    principal = _signed_in(request)
    user = _hub(request).store.get_user(principal.user)
    return web.json_response({**_user_json(user), "email": user["email"]})


async def user_profile(request):
    user = _hub(request).store.get_user(request.match_info["name"])
    if user is None:
        raise not_found("user")
    return web.json_response(_user_json(user))


async def user_starred(request):
    """GET /v2/users/{name}/repositories/starred/: what a user starred, as far as the caller may see."""
    hub = _hub(request)
    principal = _caller(request)
    if hub.store.get_user(request.match_info["name"]) is None:
        raise not_found("user")
    page, page_size = _paging(request)
    total, rows = hub.search(principal, starred_by=request.match_info["name"], page=page, page_size=page_size)
    return _paged(request, total, [repos.summary_json(r) for r in rows], page, page_size)


# ---------- repositories ----------
def _repo(request, need: str = "read"):
    hub = _hub(request)
    principal = _caller(request)
    repo, level = hub.repo_for(principal, request.match_info["ns"], request.match_info["repo"], need)
    return hub, principal, repo, level


async def namespace_repos(request):
    """GET /v2/repositories/{ns}/: Docker Hub lists a namespace's repositories here; a name that is no namespace
    keeps the registry's older meaning (a top-level repository, e.g. an official image's info)."""
    if _hub(request).store.namespace_kind(request.match_info["ns"]) is None:
        return await routes_v2.dispatch(request)
    return await repo_list(request)


async def repo_list(request):
    hub = _hub(request)
    principal = _caller(request)
    ns = request.match_info["ns"]
    if ns != OFFICIAL and hub.store.namespace_kind(ns) is None:
        raise not_found("namespace")
    page, page_size = _paging(request)
    order = request.query.get("ordering", "updated").lstrip("-")
    order = {"last_updated": "updated", "name": "name", "updated": "updated", "pull_count": "popular",
             "star_count": "popular"}.get(order)
    if order is None:
        raise hub_error(400, "ordering must be one of last_updated, name, pull_count, star_count")
    total, rows = hub.search(principal, text=request.query.get("name", ""), namespace=ns, order=order, page=page,
                             page_size=page_size)
    return _paged(request, total, [repos.summary_json(r) for r in rows], page, page_size)


@_input_errors
async def repo_create(request):
    hub = _hub(request)
    principal = _signed_in(request)
    ns = request.match_info["ns"]
    body = await _body(request)
    if body.get("namespace") not in (None, ns):
        raise hub_error(400, f"namespace in the body ({body.get('namespace')}) differs from the path ({ns})")
    if ns != OFFICIAL and hub.store.namespace_kind(ns) is None:
        raise not_found("namespace")
    if not hub.rights.can_create(principal.user, ns) or principal.cap != "admin":
        raise hub_error(403, f"you cannot create repositories in {ns}")
    repo = repos.create(hub, ns, _str(body, "name"), body)
    return web.json_response(repos.to_json(hub, repo, hub.level(principal, repo), principal.user), status=201)


async def repo_get(request):
    hub, principal, repo, level = _repo(request)
    if request.method == "HEAD":
        return web.Response(status=200)
    return web.json_response(repos.to_json(hub, repo, level, principal.user if principal else None))


@_input_errors
async def repo_patch(request):
    hub, principal, repo, _ = _repo(request, "admin")
    repo = repos.update(hub, repo, await _body(request))
    return web.json_response(repos.to_json(hub, repo, hub.level(principal, repo), principal.user))


async def repo_delete(request):
    hub, principal, repo, _ = _repo(request, "admin")
    repos.delete(hub, repo)
    return web.Response(status=202)


async def tags_list(request):
    hub, principal, repo, _ = _repo(request)
    page, page_size = _paging(request)
    ordering = request.query.get("ordering", "last_updated").lstrip("-")
    if ordering not in ("last_updated", "name"):
        raise hub_error(400, "ordering must be last_updated or name")
    names = repos.tag_names(hub, repo, request.query.get("name", ""), ordering)
    chunk = names[(page - 1) * page_size: page * page_size]
    return _paged(request, len(names), repos.tags_json(hub, repo, chunk), page, page_size)


@_input_errors
async def tag_get(request):
    hub, principal, repo, _ = _repo(request)
    tag = repos.check_tag(request.match_info["tag"])
    found = repos.tags_json(hub, repo, [tag]) if hub.registry.storage.get_tag(repo["path"], tag) else []
    if not found:
        raise not_found("tag")
    return web.json_response(found[0])


@_input_errors
async def tag_delete(request):
    hub, principal, repo, _ = _repo(request, "write")
    if not repos.delete_tag(hub, repo, request.match_info["tag"]):
        raise not_found("tag")
    return web.Response(status=204)


# ---------- stars ----------
async def star(request):
    hub, principal, repo, _ = _repo(request)
    if principal is None:
        raise hub_error(401, "Authentication credentials were not provided.")
    if request.method == "GET":
        return web.json_response({"star_count": repo["star_count"],
                                  "has_starred": hub.store.has_starred(repo["id"], principal.user)})
    count = hub.store.set_star(repo["id"], principal.user, request.method == "POST")
    return web.json_response({"star_count": count}, status=201 if request.method == "POST" else 200)


# ---------- collaborators and teams on a repository ----------
async def collaborators(request):
    hub, principal, repo, _ = _repo(request, "admin")
    rows = hub.store.collaborators(repo["id"])
    return web.json_response({"count": len(rows), "next": None, "previous": None, "results": rows})


@_input_errors
async def collaborator_add(request):
    hub, principal, repo, _ = _repo(request, "admin")
    body = await _body(request)
    user, permission = _str(body, "user"), _str(body, "permission")
    repos.add_collaborator(hub, repo, user, permission)
    return web.json_response({"user": user, "permission": permission}, status=201)


async def collaborator_get(request):
    hub, principal, repo, _ = _repo(request, "admin")
    for row in hub.store.collaborators(repo["id"]):
        if row["user"] == request.match_info["user"]:
            return web.json_response(row)
    raise not_found("collaborator")


async def collaborator_delete(request):
    hub, principal, repo, _ = _repo(request, "admin")
    if not hub.store.remove_collaborator(repo["id"], request.match_info["user"]):
        raise not_found("collaborator")
    return web.Response(status=204)


async def repo_groups(request):
    hub, principal, repo, _ = _repo(request, "admin")
    rows = hub.store.team_permissions(repo["id"])
    return web.json_response({"count": len(rows), "next": None, "previous": None, "results": rows})


@_input_errors
async def repo_group_add(request):
    hub, principal, repo, _ = _repo(request, "admin")
    body = await _body(request)
    group = body.get("group_id", body.get("group_name"))
    if group is None:
        raise hub_error(400, "group_id (or group_name) is required", field="group_id")
    team = repos.add_team(hub, repo, group, _str(body, "permission"))
    return web.json_response({"group_id": team["id"], "group_name": team["name"],
                              "permission": body["permission"]}, status=201)


async def repo_group_delete(request):
    hub, principal, repo, _ = _repo(request, "admin")
    group_id = request.match_info["group_id"]
    if not group_id.isdigit() or not hub.store.remove_team_permission(int(group_id), repo["id"]):
        raise not_found("group")
    return web.Response(status=204)


# ---------- web hooks ----------
def _pipeline_json(hub, hook: dict) -> dict:
    deliveries = [{"created": _iso(d["created"]), "updated": _iso(d["updated"]), "status": d["status"],
                   "response_code": d["response_code"], "attempts": d["attempts"], "message": d["message"],
                   "tag": d["tag"], "callback_state": d["callback_state"],
                   "callback_description": d["callback_description"]} for d in hub.store.deliveries(hook["id"])]
    return {"name": hook["name"], "slug": hook["name"], "expect_final_callback": False,
            "webhooks": [{"name": hook["name"], "hook_url": hook["hook_url"]}], "creator": hook["creator"],
            "created": _iso(hook["created"]), "deliveries": deliveries}


async def hooks_list(request):
    hub, principal, repo, _ = _repo(request, "admin")
    results = [_pipeline_json(hub, h) for h in hub.store.hooks(repo["id"])]
    return web.json_response({"count": len(results), "next": None, "previous": None, "results": results})


@_input_errors
async def hook_create(request):
    hub, principal, repo, _ = _repo(request, "admin")
    body = await _body(request)
    hooks = body.get("webhooks")
    if not isinstance(hooks, list) or len(hooks) != 1 or not isinstance(hooks[0], dict):
        raise hub_error(400, "webhooks must be a list of one {name, hook_url}", field="webhooks")
    hook = repos.add_hook(hub, repo, _str(body, "name"), hooks[0].get("hook_url"), principal.user)
    return web.json_response(_pipeline_json(hub, hook), status=201)


def _hook(hub, repo, name):
    for hook in hub.store.hooks(repo["id"]):
        if hook["name"] == name:
            return hook
    raise not_found("webhook")


async def hook_get(request):
    hub, principal, repo, _ = _repo(request, "admin")
    return web.json_response(_pipeline_json(hub, _hook(hub, repo, request.match_info["name"])))


async def hook_delete(request):
    hub, principal, repo, _ = _repo(request, "admin")
    if not hub.store.delete_hook(repo["id"], request.match_info["name"]):
        raise not_found("webhook")
    return web.Response(status=204)


async def hook_callback(request):
    """A receiver reports its outcome (Docker Hub's callback_url): {"state": success|failure|error, ...}."""
    body = await _body(request)
    state = body.get("state")
    if state not in ("success", "failure", "error"):
        raise hub_error(400, "state must be success, failure or error", field="state")
    description = body.get("description") if isinstance(body.get("description"), str) else ""
    if not _hub(request).store.set_callback_state(request.match_info["token"], state, description):
        raise not_found("callback")
    return web.json_response({"state": state})


# ---------- organizations and teams ----------
def _org_json(hub, org: dict, viewer) -> dict:
    return {"id": str(org["id"]), "orgname": org["name"], "full_name": org["full_name"], "location": "",
            "company": "", "profile_url": "", "date_joined": _iso(org["created"]), "gravatar_url": "",
            "type": "Organization",
            "is_owner": bool(viewer) and hub.rights.can_manage_org(viewer.user, org["name"])}


def _team_json(team: dict) -> dict:
    return {"id": team["id"], "name": team["name"], "description": team["description"],
            "member_count": team["member_count"]}


def _org(request, manage: bool = False, members: bool = False):
    """(hub, principal, org row): the organization's public face for anyone; its teams and members for its
    members (404 to others, as private data); changes for its owners (403)."""
    hub = _hub(request)
    principal = _caller(request)
    org = hub.store.get_org(request.match_info["org"])
    if org is None:
        raise not_found("organization")
    user = principal.user if principal else None
    if (members or manage) and not hub.rights.can_see_org(user, org["name"]):
        raise not_found("organization")
    if manage and (not hub.rights.can_manage_org(user, org["name"]) or principal.cap != "admin"):
        raise hub_error(403, f"only owners of {org['name']} can do this")
    return hub, principal, org


@_input_errors
async def org_create(request):
    hub = _hub(request)
    principal = _signed_in(request)
    body = await _body(request)
    org = orgs.create_org(hub, principal.user, _str(body, "orgname"), body.get("full_name"))
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
    page, page_size = _paging(request, 25)
    rows = hub.store.org_members(org["name"])
    results = [{"id": str(r["id"]), "username": r["name"], "full_name": r["full_name"],
                "role": "owner" if r["is_owner"] else "member"} for r in rows]
    return _paged(request, len(results), results[(page - 1) * page_size: page * page_size], page, page_size)


async def groups_list(request):
    hub, principal, org = _org(request, members=True)
    page, page_size = _paging(request, 25)
    teams = [_team_json(t) for t in hub.store.list_teams(org["name"])]
    return _paged(request, len(teams), teams[(page - 1) * page_size: page * page_size], page, page_size)


@_input_errors
async def group_create(request):
    hub, principal, org = _org(request, manage=True)
    body = await _body(request)
    team = orgs.create_team(hub, org["name"], _str(body, "name"), body.get("description"))
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


@_input_errors
async def group_patch(request):
    hub, principal, org, team = _team(request, manage=True)
    body = await _body(request)
    return web.json_response(_team_json(orgs.update_team(hub, team, body.get("name"), body.get("description"))))


async def group_delete(request):
    hub, principal, org, team = _team(request, manage=True)
    hub.store.delete_team(team["id"])
    return web.Response(status=204)


async def group_members(request):
    hub, principal, org, team = _team(request)
    rows = [{"id": str(r["id"]), "username": r["name"], "full_name": r["full_name"]}
            for r in hub.store.team_members(team["id"])]
    page, page_size = _paging(request, 25)
    return _paged(request, len(rows), rows[(page - 1) * page_size: page * page_size], page, page_size)


@_input_errors
async def group_member_add(request):
    hub, principal, org, team = _team(request, manage=True)
    body = await _body(request)
    member = _str(body, "member")
    orgs.add_member(hub, team, member)
    return web.json_response({"username": member, "group": team["name"]}, status=201)


async def group_member_delete(request):
    hub, principal, org, team = _team(request, manage=True)
    if not hub.store.remove_team_member(team["id"], request.match_info["user"]):
        raise not_found("member")
    return web.Response(status=204)


# ---------- personal access tokens ----------
def _token_json(token: dict, secret: str = "") -> dict:
    return {"uuid": token["uuid"], "client_id": "dockyard", "creator_ip": token["creator_ip"],
            "creator_ua": token["creator_ua"], "created_at": _iso(token["created"]),
            "last_used": _iso(token["last_used"]), "generated_by": "manual", "is_active": token["is_active"],
            "token": secret, "token_label": token["label"], "scopes": token["scopes"]}


def _token_owner(request):
    """Access tokens are managed with a password sign-in or the web session, never with an access token."""
    principal = _signed_in(request)
    if principal.via == "token":
        raise hub_error(403, "access tokens cannot manage access tokens; sign in with your password")
    return _hub(request), principal


def _own_token(request):
    hub, principal = _token_owner(request)
    token = hub.store.get_token(request.match_info["uuid"])
    if token is None or token["user"] != principal.user:
        raise not_found("access token")
    return hub, principal, token


async def tokens_list(request):
    hub, principal = _token_owner(request)
    page, page_size = _paging(request)
    rows = hub.store.list_tokens(principal.user)
    body = [_token_json(t) for t in rows[(page - 1) * page_size: page * page_size]]
    resp = _paged(request, len(rows), body, page, page_size)
    data = json.loads(resp.body)
    data["active_count"] = sum(1 for t in rows if t["is_active"])
    return web.json_response(data)


@_input_errors
async def token_create(request):
    hub, principal = _token_owner(request)
    body = await _body(request)
    scopes = body.get("scopes", ["repo:admin"])
    row, secret = hub.accounts.create_token(principal.user, _str(body, "token_label"), scopes,
                                            request.remote or "", request.headers.get("User-Agent", ""))
    return web.json_response(_token_json(row, secret), status=201)


async def token_get(request):
    hub, principal, token = _own_token(request)
    return web.json_response(_token_json(token))


async def token_patch(request):
    hub, principal, token = _own_token(request)
    body = await _body(request)
    fields = {}
    if "is_active" in body:
        if not isinstance(body["is_active"], bool):
            raise hub_error(400, "is_active must be true or false", field="is_active")
        fields["is_active"] = body["is_active"]
    if "token_label" in body:
        label = _str(body, "token_label").strip()
        if not label or len(label) > 100:
            raise hub_error(400, "token_label must be 1 to 100 characters", field="token_label")
        fields["label"] = label
    hub.store.update_token(token["uuid"], **fields)
    return web.json_response(_token_json(hub.store.get_token(token["uuid"])))


async def token_delete(request):
    hub, principal, token = _own_token(request)
    hub.store.delete_token(token["uuid"])
    return web.Response(status=204)


# ---------- search ----------
async def v1_search(request):
    """docker search's API (the registry's /v1/search), from the Hub's rights and counts."""
    hub = _hub(request)
    principal = _caller(request)
    n = _int_query(request, "n", 25, 100)
    page = _int_query(request, "page", 1, 10 ** 6)
    query = request.query.get("q", "")
    total, rows = hub.search(principal, text=query, page=page, page_size=n)
    results = [{"name": display_name(r["full_name"]), "description": r["description"],
                "star_count": r["star_count"], "pull_count": r["pull_count"], "is_official": r["namespace"] == OFFICIAL,
                "is_automated": False, "is_trusted": False} for r in rows]
    return web.json_response({"query": query, "num_results": total, "page": page, "page_size": n,
                              "num_pages": max(1, math.ceil(total / n)), "results": results})


async def v2_search(request):
    hub = _hub(request)
    principal = _caller(request)
    page, page_size = _paging(request, 25)
    total, rows = hub.search(principal, text=request.query.get("query", ""), page=page, page_size=page_size)
    results = [{"repo_name": display_name(r["full_name"]), "short_description": r["description"],
                "star_count": r["star_count"], "pull_count": r["pull_count"], "repo_owner": r["namespace"],
                "is_automated": False, "is_official": r["namespace"] == OFFICIAL, "is_private": r["is_private"]}
               for r in rows]
    return _paged(request, total, results, page, page_size)


# ---------- routes ----------
def _routes():
    repo_prefixes = ("/v2/namespaces/{ns}/repositories/{repo}", "/v2/repositories/{ns}/{repo}")
    routes = [
        ("POST", "/v2/users/login", users_login), ("POST", "/v2/auth/token", auth_token),
        ("POST", "/v2/users/signup", users_signup), ("GET", "/v2/user", current_user),
        ("GET", "/v2/users/{name}", user_profile), ("GET", "/v2/users/{name}/repositories/starred", user_starred),
        ("GET", "/v2/namespaces/{ns}/repositories", repo_list),
        ("POST", "/v2/namespaces/{ns}/repositories", repo_create),
        ("GET", "/v2/repositories/{ns}", namespace_repos),
        ("POST", "/v2/webhook_callbacks/{token}", hook_callback),
        ("POST", "/v2/orgs", org_create), ("GET", "/v2/orgs/{org}", org_get), ("DELETE", "/v2/orgs/{org}", org_delete),
        ("GET", "/v2/orgs/{org}/members", org_members),
        ("GET", "/v2/orgs/{org}/groups", groups_list), ("POST", "/v2/orgs/{org}/groups", group_create),
        ("GET", "/v2/orgs/{org}/groups/{group}", group_get), ("PATCH", "/v2/orgs/{org}/groups/{group}", group_patch),
        ("DELETE", "/v2/orgs/{org}/groups/{group}", group_delete),
        ("GET", "/v2/orgs/{org}/groups/{group}/members", group_members),
        ("POST", "/v2/orgs/{org}/groups/{group}/members", group_member_add),
        ("DELETE", "/v2/orgs/{org}/groups/{group}/members/{user}", group_member_delete),
        ("GET", "/v2/access-tokens", tokens_list), ("POST", "/v2/access-tokens", token_create),
        ("GET", "/v2/access-tokens/{uuid}", token_get), ("PATCH", "/v2/access-tokens/{uuid}", token_patch),
        ("DELETE", "/v2/access-tokens/{uuid}", token_delete),
        ("GET", "/v1/search", v1_search), ("GET", "/v2/search/repositories", v2_search),
    ]
    for prefix in repo_prefixes:
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
        ("GET", legacy + "/webhook_pipeline", hooks_list), ("POST", legacy + "/webhook_pipeline", hook_create),
        ("GET", legacy + "/webhook_pipeline/{name}", hook_get),
        ("DELETE", legacy + "/webhook_pipeline/{name}", hook_delete),
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
