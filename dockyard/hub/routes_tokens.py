"""Hub API: personal access tokens (GET|POST /v2/access-tokens, GET|PATCH|DELETE /v2/access-tokens/{uuid}). The
secret is answered once, at creation, as `token`. Managed with a password sign-in or the web session only."""
import json

from aiohttp import web

from dockyard.hub.api_common import field, hub_of, input_errors, iso, paging, paged, read_body, signed_in
from dockyard.hub.errors import hub_error, not_found


def _token_json(token: dict, secret: str = "") -> dict:
    return {"uuid": token["uuid"], "client_id": "dockyard", "creator_ip": token["creator_ip"],
            "creator_ua": token["creator_ua"], "created_at": iso(token["created"]),
            "last_used": iso(token["last_used"]), "generated_by": "manual", "is_active": token["is_active"],
            "token": secret, "token_label": token["label"], "scopes": token["scopes"]}


def _token_owner(request):
    """Access tokens are managed with a password sign-in or the web session, never with an access token."""
    principal = signed_in(request)
    if principal.via == "token":
        raise hub_error(403, "access tokens cannot manage access tokens; sign in with your password")
    return hub_of(request), principal


def _own_token(request):
    hub, principal = _token_owner(request)
    token = hub.store.get_token(request.match_info["uuid"])
    if token is None or token["user"] != principal.user:
        raise not_found("access token")
    return hub, principal, token


async def tokens_list(request):
    hub, principal = _token_owner(request)
    page, page_size = paging(request)
    rows = hub.store.list_tokens(principal.user)
    body = [_token_json(t) for t in rows[(page - 1) * page_size: page * page_size]]
    resp = paged(request, len(rows), body, page, page_size)
    data = json.loads(resp.body)
    data["active_count"] = sum(1 for t in rows if t["is_active"])
    return web.json_response(data)


@input_errors
async def token_create(request):
    hub, principal = _token_owner(request)
    body = await read_body(request)
    scopes = body.get("scopes", ["repo:admin"])
    row, secret = hub.accounts.create_token(principal.user, field(body, "token_label"), scopes,
                                            request.remote or "", request.headers.get("User-Agent", ""))
    return web.json_response(_token_json(row, secret), status=201)


async def token_get(request):
    hub, principal, token = _own_token(request)
    return web.json_response(_token_json(token))


async def token_patch(request):
    hub, principal, token = _own_token(request)
    body = await read_body(request)
    fields = {}
    if "is_active" in body:
        if not isinstance(body["is_active"], bool):
            raise hub_error(400, "is_active must be true or false", field="is_active")
        fields["is_active"] = body["is_active"]
    if "token_label" in body:
        label = field(body, "token_label").strip()
        if not label or len(label) > 100:
            raise hub_error(400, "token_label must be 1 to 100 characters", field="token_label")
        fields["label"] = label
    hub.store.update_token(token["uuid"], **fields)
    return web.json_response(_token_json(hub.store.get_token(token["uuid"])))


async def token_delete(request):
    hub, principal, token = _own_token(request)
    hub.store.delete_token(token["uuid"])
    return web.Response(status=204)
