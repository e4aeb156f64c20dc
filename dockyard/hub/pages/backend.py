"""What the pages need from the Hub, in the shapes the templates use: the adapter between the page handlers
and the Hub's store (dockyard.hub.store), its access policy (dockyard.hub.rights) and the registry storage.

Every method is blocking (SQLite, files): handlers call them through web.blocking(). Rights are always
decided here, on the server, by asking rights.py; a repository the viewer may not read comes back as None,
so the pages answer 404 exactly as for a missing one. Failures a person can fix raise PageError with the
message to show.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time

from dockyard.hub.explorer import Explorer
from dockyard.hub.pages.tags import TagReader

USERNAME_RE = re.compile(r"^[a-z0-9]{4,30}$")          # Docker Hub: 4-30 lowercase letters and digits
REPO_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
PERMISSIONS = ("read", "write", "admin")
LIST_LIMIT = 8


class PageError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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

    # ---- sessions ----
    def session(self, session_id: str) -> tuple[str, str] | None:
        """(user, csrf token) of a live session, or None."""
        row = self.store.get_session(_sha256(session_id))
        return (row["user"], row["csrf"]) if row else None

    def _new_session(self, user: str) -> str:
        session_id = secrets.token_urlsafe(32)
        self.store.create_session(user, _sha256(session_id), secrets.token_urlsafe(32),
                                  time.time() + self.hub.config.session_ttl)
        return session_id

    def sign_in(self, username: str, password: str, remote: str) -> str:
        user = self.hub.authenticate(username, password, remote)
        if not user:
            raise PageError("Incorrect username or password, or too many failed attempts: try again later.", 401)
        return self._new_session(user if isinstance(user, str) else username)

    def sign_out(self, session_id: str) -> None:
        self.store.delete_session(_sha256(session_id))

    def sign_up(self, username: str, email: str, password: str, remote: str) -> str:
        if not USERNAME_RE.match(username):
            raise PageError("Usernames are 4 to 30 lowercase letters and digits.")
        if len(password) < 8:
            raise PageError("Passwords must be at least 8 characters long.")
        try:
            self.hub.create_user(username, password, email=email)
        except self.hub.Conflict:
            raise PageError("This username is already taken.", 409) from None
        return self._new_session(username)

    def change_password(self, user: str, current: str, new: str) -> None:
        if len(new) < 8:
            raise PageError("Passwords must be at least 8 characters long.")
        if not self.hub.check_password(user, current):
            raise PageError("The current password is not correct.", 403)
        self.hub.set_password(user, new)

    # ---- repositories as pages show them ----
    def _view(self, row: dict, user: str | None, host: str, level: str | None = None) -> dict:
        ns, name = row["namespace"], row["name"]
        official = ns == "library"
        level = level if level is not None else self.rights.level(user, row)
        kind = "org" if not official and self.store.namespace_kind(ns) == "org" else "user"
        return {"id": row["id"], "name": f"{ns}/{name}", "storage_name": row["path"], "namespace": ns,
                "display_name": name if official else f"{ns}/{name}",
                "url": f"/_/{name}" if official else f"/r/{ns}/{name}",
                "pull_name": f"{host}/{row['path']}", "description": row["description"],
                "full_description": row["full_description"], "private": row["is_private"], "official": official,
                "stars": row["star_count"], "pulls": row["pull_count"],
                "updated": row["last_pushed"] or row["created"], "last_pusher": row["last_pusher"],
                "can_push": level in ("write", "admin"), "can_admin": level == "admin", "is_org": kind == "org",
                "owner_url": f"/orgs/{ns}" if kind == "org" else f"/u/{ns}"}

    def _row(self, full_name: str) -> dict | None:
        ns, _, name = full_name.partition("/")
        return self.store.get_repo(ns, name)

    def repo(self, user: str | None, full_name: str, host: str) -> dict | None:
        """The repository if `user` may read it; None when it does not exist or is hidden from them."""
        row = self._row(full_name)
        if row is None:
            return None
        level = self.rights.level(user, row)
        if level is None:
            return None
        return self._view(row, user, host, level)

    def _list(self, user, host, **query) -> tuple[list[dict], int]:
        total, rows = self.store.query_repos(self.rights.visible_sql(user), **query)
        return [self._view(r, user, host, level="read") for r in rows], total

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
        info = {"kind": kind, "repos": repos, "teams": [], "members": [], "full_name": ""}
        if kind == "org":
            info["full_name"] = (self.store.get_org(ns) or {}).get("full_name", "")
            # Who is in an organization is for its members (and site admins) to see, as on Docker Hub.
            if user and (any(o["name"] == ns for o in self.store.orgs_of(user)) or self.rights.is_admin(user)):
                info["members"] = [m["name"] for m in self.store.org_members(ns)]
                info["teams"] = [{"name": t["name"], "description": t["description"],
                                  "members": [m["name"] for m in self.store.team_members(t["id"])]}
                                 for t in self.store.list_teams(ns)]
        else:
            info["full_name"] = (self.store.get_user(ns) or {}).get("full_name", "")
        return info

    def namespaces_for(self, user: str) -> list[str]:
        """Namespaces `user` may create repositories in: their own and organizations they own."""
        return [user] + [o["name"] for o in self.store.orgs_of(user) if self.store.is_org_owner(o["name"], user)]

    # ---- tags ----
    def tags_page(self, repo: dict, page: int, per_page: int):
        return self.tags.page(repo["storage_name"], page, per_page)

    def tag_row(self, repo: dict, tag: str):
        return self.tags.row(repo["storage_name"], tag)

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
        if ns not in self.namespaces_for(user):
            raise PageError("You cannot create repositories in this namespace.", 403)
        if not REPO_NAME_RE.match(name) or len(name) > 255:
            raise PageError("Repository names are lowercase letters, digits and . _ - separators.")
        try:
            self.hub.create_repo(ns, name, is_private=private, description=description)
        except self.hub.Conflict:
            raise PageError(f"The repository {ns}/{name} already exists.", 409) from None
        return f"{ns}/{name}"

    def update_repo(self, user: str, full_name: str, **fields) -> None:
        row = self._row(full_name)
        if "private" in fields:
            fields["is_private"] = fields.pop("private")
        self.store.update_repo(row["id"], **fields)

    def grants(self, full_name: str) -> list[dict]:
        row = self._row(full_name)
        if self.store.namespace_kind(row["namespace"]) == "org":
            return [{"name": t["group_name"], "permission": t["permission"]}
                    for t in self.store.team_permissions(row["id"])]
        return [{"name": c["user"], "permission": c["permission"]} for c in self.store.collaborators(row["id"])]

    def grant(self, user: str, full_name: str, who: str, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise PageError("Permission must be read, write or admin.")
        row = self._row(full_name)
        if self.store.namespace_kind(row["namespace"]) == "org":
            team = self.store.get_team(row["namespace"], who)
            if team is None:
                raise PageError(f"There is no team {who} in {row['namespace']}.", 404)
            self.store.set_team_permission(team["id"], row["id"], permission)
        else:
            if self.store.get_user(who) is None:
                raise PageError(f"There is no user {who}.", 404)
            if who == row["namespace"]:
                raise PageError("The owner already has every right.")
            self.store.set_collaborator(row["id"], who, permission)

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
        if not name or not url:
            raise PageError("A web hook needs a name and a URL.")
        row = self._row(full_name)
        try:
            self.hub.check_hook_url(url)
        except ValueError as e:
            raise PageError(str(e)) from None
        try:
            self.store.create_hook(row["id"], name, url, user)
        except self.hub.Conflict:
            raise PageError(f"A web hook named {name} already exists.", 409) from None

    def remove_hook(self, user: str, full_name: str, name: str) -> None:
        self.store.delete_hook(self._row(full_name)["id"], name)

    def delete_repo(self, user: str, full_name: str) -> None:
        self.hub.delete_repo(self._row(full_name))

    # ---- personal access tokens ----
    def tokens(self, user: str) -> list[dict]:
        return [{"id": t["uuid"], "label": t["label"], "scopes": t["scopes"], "created": t["created"],
                 "last_used": t["last_used"]} for t in self.store.list_tokens(user) if t["is_active"]]

    def create_token(self, user: str, label: str, scopes: list[str]) -> str:
        if not label:
            raise PageError("Give the token a description.")
        return self.hub.create_token(user, label, scopes)

    def revoke_token(self, user: str, token_id: str) -> None:
        token = self.store.get_token(token_id)
        if token is not None and token["user"] == user:   # only one's own tokens
            self.store.delete_token(token_id)
