"""What the pages need from the Hub, in the shapes the templates use: the adapter between the page handlers and
the Hub object (dockyard/hub/app.py: hub.store, hub.rights, hub.accounts, hub.sessions, hub.webhooks and the
repository operations of dockyard/hub/repos.py), plus the registry storage for tags and the layer explorer.

Every method is blocking (SQLite, files): handlers call them through web.blocking(). Rights are always decided
on the server by hub.rights (the one policy); a repository the viewer may not read comes back as None, so the
pages answer 404 exactly as for a missing one. Failures a person can fix raise PageError with the message.
"""
from __future__ import annotations

from dockyard.hub import orgs, repos
from dockyard.hub.accounts import AccountError, LoginThrottled
from dockyard.hub.explorer import Explorer
from dockyard.hub.pages.tags import TagReader
from dockyard.hub.rights import OFFICIAL, at_least
from dockyard.hub.store import Conflict
from dockyard.hub.webhooks import HookError

LIST_LIMIT = 8


def _sentence(error: Exception) -> str:
    """The Hub's error text ("user x does not exist") as a sentence for a page."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _named(create, args: tuple, what: str, taken: str) -> None:
    """Create an organization or team; its name follows the username rule, so say which name was wrong."""
    try:
        create(*args)
    except AccountError as e:
        raise PageError(_sentence(e).replace("Username", what)) from None
    except Conflict:
        raise PageError(taken, 409) from None


class PageError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class PagesBackend:
    def __init__(self, hub, registry):
        self.hub = hub
        self.store = hub.store
        self.rights = hub.rights
        self.storage = registry.storage
        self.tags = TagReader(self.storage)
        self.explorer = Explorer(self.storage, f"{self.storage.root}/dockyard/explorer")

    # ---- configuration ----
    def signup_enabled(self) -> bool:
        return bool(self.hub.config.signup)

    # ---- accounts and sessions ----
    def principal(self, request):
        """The signed-in Principal (session cookie or Bearer JWT), or None."""
        return self.hub.principal(request)

    def sign_in(self, username: str, password: str, remote: str) -> str:
        """A new session id for the right user name and password (or access token), else PageError."""
        try:
            principal = self.hub.authenticate(username, password, remote)
        except LoginThrottled as e:
            raise PageError(f"Too many failed sign-in attempts. Try again in {e.retry_after} seconds.", 429) from None
        if principal is None:
            raise PageError("Incorrect username or password.", 401)
        return self.hub.sessions.create(principal.user)[0]

    def sign_out(self, session_id: str) -> None:
        self.hub.sessions.delete(session_id)

    def sign_up(self, username: str, email: str, password: str, remote: str) -> str:
        try:
            self.hub.accounts.create_user(username, password, email=email)
        except AccountError as e:
            raise PageError(_sentence(e)) from None
        except Conflict:
            raise PageError("This username is already taken.", 409) from None
        return self.hub.sessions.create(username)[0]

    def change_password(self, user: str, current: str, new: str, remote: str) -> str:
        """Change it and return a new session id: the change ends every session of the user, this one too."""
        try:
            self.hub.accounts.change_password(user, current, new, remote)
        except LoginThrottled as e:
            raise PageError(f"Too many failed attempts. Try again in {e.retry_after} seconds.", 429) from None
        except AccountError as e:
            raise PageError(_sentence(e), 403 if "incorrect" in str(e) else 400) from None
        return self.hub.sessions.create(user)[0]

    # ---- repositories as pages show them ----
    def _view(self, row: dict, user: str | None, host: str, level: str | None = None) -> dict:
        ns, name = row["namespace"], row["name"]
        official = ns == OFFICIAL
        level = level if level is not None else self.rights.permission(user, row)
        kind = "org" if not official and self.store.namespace_kind(ns) == "org" else "user"
        return {"id": row["id"], "name": f"{ns}/{name}", "storage_name": row["path"], "namespace": ns,
                "display_name": name if official else f"{ns}/{name}",
                "url": f"/_/{name}" if official else f"/r/{ns}/{name}",
                "pull_name": f"{host}/{row['path']}", "description": row["description"],
                "full_description": row["full_description"], "private": row["is_private"], "official": official,
                "stars": row["star_count"], "pulls": row["pull_count"],
                "updated": row["last_pushed"] or row["created"], "last_pusher": row["last_pusher"],
                "can_push": at_least(level, "write"), "can_admin": at_least(level, "admin"), "is_org": kind == "org",
                "owner_url": f"/orgs/{ns}" if kind == "org" else f"/u/{ns}"}

    def _row(self, full_name: str) -> dict | None:
        ns, _, name = full_name.partition("/")
        return self.store.get_repo(ns, name)

    def repo(self, user: str | None, full_name: str, host: str) -> dict | None:
        """The repository if `user` may read it; None when it does not exist or is hidden from them."""
        level = self.rights.permission(user, row := self._row(full_name))
        return self._view(row, user, host, level) if at_least(level, "read") else None

    def _list(self, user, host, **query) -> tuple[list[dict], int]:
        total, rows = self.store.query_repos(self.rights.visible_sql(user), **query)
        return [self._view(r, user, host, level="read") for r in rows], total   # visible_sql: all readable

    def home_lists(self, user: str | None, host: str) -> tuple[list, list]:
        official, _ = self._list(user, host, namespace="library", order="popular", limit=LIST_LIMIT)
        popular, _ = self._list(user, host, order="popular", limit=LIST_LIMIT)
        return official, popular

    def search(self, user: str | None, text: str, offset: int, limit: int, host: str) -> tuple[list, int]:
        return self._list(user, host, text=text, order="popular", limit=limit, offset=offset)

    def namespace(self, user: str | None, ns: str, host: str) -> dict | None:
        kind = self.store.namespace_kind(ns)
        if kind is None:
            return None
        repos, _ = self._list(user, host, namespace=ns, order="updated", limit=100)
        info = {"kind": kind, "repos": repos, "teams": [], "members": [], "full_name": "",
                "can_manage": kind == "org" and self.rights.can_manage_org(user, ns)}
        if kind == "org":
            info["full_name"] = (self.store.get_org(ns) or {}).get("full_name", "")
            # Who is in an organization is for its members (and site admins) to see, as on Docker Hub.
            if self.rights.can_see_org(user, ns):
                info["members"] = [m["name"] for m in self.store.org_members(ns)]
                info["teams"] = [{"name": t["name"], "description": t["description"],
                                  "members": [m["name"] for m in self.store.team_members(t["id"])]}
                                 for t in self.store.list_teams(ns)]
        else:
            info["full_name"] = (self.store.get_user(ns) or {}).get("full_name", "")
        return info

    # ---- organizations and teams (callers of the team methods checked can_manage_org) ----
    def can_manage_org(self, user: str | None, org: str) -> bool:
        return self.store.namespace_kind(org) == "org" and self.rights.can_manage_org(user, org)

    def create_org(self, user: str, name: str, full_name: str) -> None:
        _named(orgs.create_org, (self.hub, user, name, full_name), "Organization name",
               f"The name {name} is already taken.")

    def create_team(self, org: str, name: str, description: str) -> None:
        _named(orgs.create_team, (self.hub, org, name, description), "Team name",
               f"There is already a team {name} in {org}.")

    def add_member(self, org: str, team: str, member: str) -> None:
        row = self.store.get_team(org, team)
        if row is None:
            raise PageError(f"There is no team {team}.", 404)
        try:
            orgs.add_member(self.hub, row, member)
        except AccountError as e:
            raise PageError(_sentence(e)) from None

    def remove_member(self, org: str, team: str, member: str) -> None:
        row = self.store.get_team(org, team)
        if row is not None:
            self.store.remove_team_member(row["id"], member)

    def namespaces_for(self, user: str) -> list[str]:
        """Namespaces `user` may create repositories in: their own and organizations they own."""
        return [user] + [o["name"] for o in self.store.orgs_of(user) if self.rights.can_create(user, o["name"])]

    # ---- tags ----
    def tags_page(self, repo: dict, page: int, per_page: int):
        rows, total = self.tags.page(repo["storage_name"], page, per_page)
        pushers = self.store.tag_pushers(repo["id"], [r.name for r in rows]) if rows else {}
        for r in rows:
            r.pusher = pushers.get(r.name, "")
        return rows, total

    def tag_row(self, repo: dict, tag: str):
        row = self.tags.row(repo["storage_name"], tag)
        if row is not None:
            row.pusher = self.store.tag_pushers(repo["id"], [tag]).get(tag, "")
        return row

    # ---- stars ----
    def is_starred(self, user: str, full_name: str) -> bool:
        row = self._row(full_name)
        return bool(row) and self.store.has_starred(row["id"], user)

    def set_star(self, user: str, full_name: str, on: bool) -> None:
        row = self._row(full_name)
        if row is not None:
            self.store.set_star(row["id"], user, on)

    # ---- changes (callers have checked the viewer administers the repository) ----
    def create_repo(self, user: str, ns: str, name: str, description: str, private: bool) -> str:
        if not self.rights.can_create(user, ns):
            raise PageError("You cannot create repositories in this namespace.", 403)
        try:
            repos.create(self.hub, ns, name, {"description": description, "is_private": private})
        except repos.RepoError as e:
            raise PageError(_sentence(e)) from None
        except Conflict:
            raise PageError(f"The repository {ns}/{name} already exists.", 409) from None
        return f"{ns}/{name}"

    def update_repo(self, user: str, full_name: str, **fields) -> None:
        if "private" in fields:
            fields["is_private"] = fields.pop("private")
        try:
            repos.update(self.hub, self._row(full_name), fields)
        except repos.RepoError as e:
            raise PageError(_sentence(e)) from None

    def grants(self, full_name: str) -> list[dict]:
        row = self._row(full_name)
        if self.store.namespace_kind(row["namespace"]) == "org":
            return [{"name": t["group_name"], "permission": t["permission"]}
                    for t in self.store.team_permissions(row["id"])]
        return [{"name": c["user"], "permission": c["permission"]} for c in self.store.collaborators(row["id"])]

    def grant(self, user: str, full_name: str, who: str, permission: str) -> None:
        """A collaborator (personal repository) or a team (organization repository) gets `permission`."""
        row = self._row(full_name)
        try:
            if self.store.namespace_kind(row["namespace"]) == "org":
                repos.add_team(self.hub, row, who, permission)
            else:
                repos.add_collaborator(self.hub, row, who, permission)
        except repos.RepoError as e:
            raise PageError(_sentence(e)) from None

    def revoke(self, user: str, full_name: str, who: str) -> None:
        row = self._row(full_name)
        if self.store.namespace_kind(row["namespace"]) == "org":
            team = self.store.get_team(row["namespace"], who)
            if team is not None:
                self.store.remove_team_permission(team["id"], row["id"])
        else:
            self.store.remove_collaborator(row["id"], who)

    def hooks(self, full_name: str) -> list[dict]:
        row = self._row(full_name)
        return [{"name": h["name"], "url": h["hook_url"],
                 "deliveries": [{"time": d["created"], "tag": d["tag"], "status": d["status"],
                                 "code": d["response_code"]} for d in self.store.deliveries(h["id"])]}
                for h in self.store.hooks(row["id"])]

    def add_hook(self, user: str, full_name: str, name: str, url: str) -> None:
        try:
            repos.add_hook(self.hub, self._row(full_name), name, url, user)
        except (repos.RepoError, HookError) as e:
            raise PageError(_sentence(e)) from None
        except Conflict:
            raise PageError(f"A web hook named {name} already exists.", 409) from None

    def remove_hook(self, user: str, full_name: str, name: str) -> None:
        self.store.delete_hook(self._row(full_name)["id"], name)

    def delete_repo(self, user: str, full_name: str) -> None:
        repos.delete(self.hub, self._row(full_name))

    # ---- personal access tokens ----
    def tokens(self, user: str) -> list[dict]:
        return [{"id": t["uuid"], "label": t["label"], "scopes": t["scopes"], "created": t["created"],
                 "last_used": t["last_used"]} for t in self.store.list_tokens(user) if t["is_active"]]

    def create_token(self, user: str, label: str, scopes: list[str], remote: str, agent: str) -> str:
        """The new token's secret (shown once; only its hash is stored)."""
        if not label:
            raise PageError("Give the token a description.")
        try:
            return self.hub.accounts.create_token(user, label, scopes, remote, agent)[1]
        except AccountError as e:
            raise PageError(_sentence(e)) from None

    def revoke_token(self, user: str, token_id: str) -> None:
        token = self.store.get_token(token_id)
        if token is not None and token["user"] == user:   # only one's own tokens
            self.store.delete_token(token_id)
