"""Hub API: web hooks in Docker Hub's legacy shape (GET|POST /v2/repositories/{ns}/{repo}/webhook_pipeline/,
GET|DELETE .../webhook_pipeline/{name}/) with their recent deliveries, and the receivers' callback
(POST /v2/webhook_callbacks/{token}/). Managing hooks needs admin on the repository."""
from aiohttp import web

from dockyard.hub import repos
from dockyard.hub.api_common import (field, hub_of, input_errors, iso, read_body, removed_or_404, repo_of, row_where,
                                     whole_list)
from dockyard.hub.errors import hub_error, not_found


def _pipeline_json(hub, hook: dict) -> dict:
    deliveries = [{"created": iso(d["created"]), "updated": iso(d["updated"]), "status": d["status"],
                   "response_code": d["response_code"], "attempts": d["attempts"], "message": d["message"],
                   "tag": d["tag"], "callback_state": d["callback_state"],
                   "callback_description": d["callback_description"]} for d in hub.store.deliveries(hook["id"])]
    return {"name": hook["name"], "slug": hook["name"], "expect_final_callback": False,
            "webhooks": [{"name": hook["name"], "hook_url": hook["hook_url"]}], "creator": hook["creator"],
            "created": iso(hook["created"]), "deliveries": deliveries}


async def hooks_list(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    return whole_list([_pipeline_json(hub, h) for h in hub.store.hooks(repo["id"])])


@input_errors
async def hook_create(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    body = await read_body(request)
    hooks = body.get("webhooks")
    if not isinstance(hooks, list) or len(hooks) != 1 or not isinstance(hooks[0], dict):
        raise hub_error(400, "webhooks must be a list of one {name, hook_url}", field="webhooks")
    hook = repos.add_hook(hub, repo, field(body, "name"), hooks[0].get("hook_url"), principal.user)
    return web.json_response(_pipeline_json(hub, hook), status=201)


async def hook_get(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    hook = row_where(hub.store.hooks(repo["id"]), "name", request.match_info["name"], "webhook")
    return web.json_response(_pipeline_json(hub, hook))


async def hook_delete(request):
    hub, principal, repo, _ = repo_of(request, "admin")
    return removed_or_404(hub.store.delete_hook(repo["id"], request.match_info["name"]), "webhook")


async def hook_callback(request):
    """A receiver reports its outcome (Docker Hub's callback_url): {"state": success|failure|error, ...}."""
    body = await read_body(request)
    state = body.get("state")
    if state not in ("success", "failure", "error"):
        raise hub_error(400, "state must be success, failure or error", field="state")
    description = body.get("description") if isinstance(body.get("description"), str) else ""
    if not hub_of(request).store.set_callback_state(request.match_info["token"], state, description):
        raise not_found("callback")
    return web.json_response({"state": state})
