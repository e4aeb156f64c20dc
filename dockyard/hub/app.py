"""Wires the Hub into the registry's aiohttp app: `setup_hub(app, registry, config)` (a registry app extension,
run by `dockyard registry serve --hub` or `hub: {enabled: true}`).

With the Hub on:
  - the registry uses token auth (docker's own flow; anonymous tokens get public pulls) whose credentials are
    the Hub's accounts (password or personal access token, throttled), and its access Policy is
    rights.RegistryPolicy: the token service, v2 API, catalog, /v1/search and /v2/repositories/... all decide
    through rights.Rights;
  - push events create a repository's row on its first push, record who pushed which tag, and call the web
    hooks; manifest GETs count pulls;
  - routes_api.py serves the Hub API; pages.setup(app, hub) the web UI.

The `hub` object (`request.app["hub"]`), for the API and the pages:
  hub.config      HubConfig (signup, default_private, webhook_allowlist, ...; see config.py)
  hub.registry    the registry (storage: tags and blobs of `repo["path"]`; config)
  hub.store       store.Store: users, orgs, teams, repositories, collaborators, stars, tokens, hooks,
                  deliveries, sessions (rows as dicts; Conflict when a name is taken)
  hub.rights      rights.Rights: permission(user, repo, cap) -> none|read|write|admin, can_create(user, ns),
                  can_manage_org / can_see_org(user, org), visible_sql(user) for lists
  hub.accounts    accounts.Accounts: create_user, set_password, change_password, create_token (row, secret)
  hub.sessions    sessions.Sessions: create(user) -> (session_id, csrf), get(id), delete(id),
                  set_cookie(resp, id, request), clear_cookie(resp), issue_jwt(principal)
  hub.webhooks    webhooks.Webhooks: check_url(url) (HookError if not allowed)
  hub.authenticate(username, secret, remote_addr) -> Principal | None   (raises LoginThrottled)
  await hub.authenticate_async(...)                 the same off the event loop (use this in handlers)
  hub.principal(request) -> Principal | None       (Bearer JWT or session cookie; Principal.user, .csrf)
  hub.check_csrf(request, principal, form_token=None)   (403 unless a cookie caller's change carries it)
  hub.repo_for(principal, namespace, name, need="read") -> (repo, level)   (404 if unseen, 401/403 if too low)
  hub.level(principal, repo) -> none|read|write|admin
  hub.search(principal, text="", namespace=None, order="popular", page=1, page_size=25, starred_by=None)
                  -> (total, repos)    (only what the caller may read)
Operations the API and the pages share (they validate input: RepoError / AccountError / HookError = 400,
store.Conflict = 409; check rights before calling them):
  repos.py   create, update, delete, check_name, tag_names, tags_json, delete_tag, add_collaborator,
             add_team, add_hook; JSON shapes to_json, summary_json
  orgs.py    create_org, create_team, update_team, add_member
"""
import asyncio
import logging
import time

from dockyard.registry.server.auth import Authenticator
from dockyard.registry.server.config import AuthConfig
from dockyard.hub import config as hub_config
from dockyard.hub import repos
from dockyard.hub.accounts import Accounts, Principal
from dockyard.hub.errors import hub_error, not_found
from dockyard.hub.rights import RegistryPolicy, Rights, at_least, split_path
from dockyard.hub.sessions import Sessions
from dockyard.hub.store import Store
from dockyard.hub.webhooks import Webhooks

log = logging.getLogger("dockyard.hub")


class Hub:
    def __init__(self, registry, config: hub_config.HubConfig):
        self.registry = registry
        self.config = config
        self.store = Store(config.database)
        self.rights = Rights(self.store, config.admins)
        self.accounts = Accounts(self.store, config)
        self.sessions = Sessions(self.store, self.accounts, config)
        self.webhooks = Webhooks(self.store, config)

    # ---- who ----
    def authenticate(self, username: str, secret: str, remote_addr: str | None = None) -> Principal | None:
        return self.accounts.authenticate(username, secret, remote_addr)

    async def authenticate_async(self, username: str, secret: str, remote_addr: str | None = None):
        """authenticate() off the event loop (bcrypt takes tens of milliseconds): what handlers should call."""
        return await asyncio.get_running_loop().run_in_executor(None, self.authenticate, username, secret,
                                                                remote_addr)

    def principal(self, request) -> Principal | None:
        return self.sessions.principal(request)

    def check_csrf(self, request, principal: Principal | None, form_token: str | None = None) -> None:
        self.sessions.check_csrf(request, principal, form_token)

    # ---- rights ----
    def level(self, principal: Principal | None, repo: dict | None) -> str:
        if principal is None:
            return self.rights.permission(None, repo)
        return self.rights.permission(principal.user, repo, principal.cap)

    def repo_for(self, principal: Principal | None, namespace: str, name: str, need: str = "read"):
        """(repo row, level) if the caller may `need` on it; 404 when they cannot even read it (or it does not
        exist: the same answer), 403 when they can read but not `need`."""
        repo = self.store.get_repo(namespace, name)
        level = self.level(principal, repo)
        if not at_least(level, "read"):
            raise not_found("repository")
        if not at_least(level, need):
            if principal is None:
                raise hub_error(401, "Authentication credentials were not provided.",
                                headers={"WWW-Authenticate": 'Bearer realm="dockyard-hub"'})
            raise hub_error(403, f"you do not have {need} access to {namespace}/{name}")
        return repo, level

    def search(self, principal: Principal | None, text: str = "", namespace: str | None = None,
               order: str = "popular", page: int = 1, page_size: int = 25,
               starred_by: str | None = None) -> tuple[int, list[dict]]:
        """Repositories the caller may read (public ones, and private ones they have rights on); order is
        popular (stars, pulls) | updated | name."""
        visible = self.rights.visible_sql(principal.user if principal else None)
        return self.store.query_repos(visible, text=text, namespace=namespace, starred_by=starred_by, order=order,
                                      limit=page_size, offset=(page - 1) * page_size)

    # ---- registry events ----
    def on_registry_event(self, event: dict) -> None:
        target = event["target"]
        url = target.get("url", "")
        if "/manifests/" not in url:
            return
        path = target["repository"]
        if event["action"] == "pull":
            self.store.add_pulls(path)
        elif event["action"] == "push":
            now = time.time()
            pusher = (event.get("actor") or {}).get("name", "")
            repo = repos.record_push(self, path, target.get("tag"), pusher, now)
            if repo is not None and target.get("tag"):
                self.webhooks.on_push(repo, target["tag"], pusher, now, url.split("/v2/", 1)[0])

    def sync_storage(self) -> None:
        """Rows for repositories the registry already holds (pushed before the Hub was on)."""
        known = self.store.known_paths()
        for path in self.registry.storage.list_repos():
            split = split_path(path)
            if path not in known and split is not None:
                self.store.ensure_repo(*split, path, self.config.default_private)


def setup_hub(app, registry, config) -> Hub:
    """The registry app extension: see the module docstring."""
    from dockyard.hub import pages, routes_api
    hub = Hub(registry, hub_config.load(config))
    if config.auth.kind != "token":
        config.auth = AuthConfig(kind="token")
    registry.policy = RegistryPolicy(hub.rights)
    registry.auth = Authenticator(config.auth, registry.policy, registry.storage.root, accounts=hub.accounts)
    hub.sync_storage()
    registry.notifier.listeners.append(hub.on_registry_event)
    app["hub"] = hub
    routes_api.setup(app, hub)
    pages.setup(app, hub)

    async def stop_webhooks(app):
        await hub.webhooks.stop()

    app.on_shutdown.append(stop_webhooks)
    return hub
