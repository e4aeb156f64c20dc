"""THE access policy of a Hub: the v2 registry API (through RegistryPolicy and the token service), the Hub API
and the pages all ask it.

Permission of a user (None = anonymous) on a repository is one of LEVELS, the best of:
  - admin  for site admins (hub.admins / access.admins), the owner of a personal namespace, the owners of an
           organization (every repository in it);
  - the permission given to the user as a collaborator, and to each team of theirs on an organization's
    repository (read | write | admin);
  - read   for everyone (anonymous too) on a public repository;
then capped by the credential (a personal access token with scope repo:read caps at read).

read = pull and see; write = also push and delete tags; admin = also settings, collaborators, hooks, deleting
the repository. A private repository is "none" for everyone else, and the Hub answers exactly as for a
repository that does not exist (404 / absent from search and counts), as Docker Hub hides it.

A repository that does not exist yet may be created (by the API, the pages or its first push) by whoever may
create in its namespace: the user in their own namespace, an organization's owners in the organization's,
site admins anywhere (only they in `library`, the official images).
"""
from dockyard.registry.server.access import ALL, NOTHING

LEVELS = ("none", "read", "write", "admin")
ACTIONS = {"none": NOTHING, "read": frozenset({"pull"}), "write": frozenset({"pull", "push", "delete"}),
           "admin": ALL}
OFFICIAL = "library"


def rank(level: str) -> int:
    return LEVELS.index(level)


def at_least(level: str, wanted: str) -> bool:
    return rank(level) >= rank(wanted)


def split_path(path: str) -> tuple[str, str] | None:
    """Registry repository name -> (namespace, name): "alice/app" -> (alice, app), "x" -> (library, x).
    None for names a Hub cannot hold (more than two components)."""
    parts = path.split("/")
    if len(parts) == 1:
        return OFFICIAL, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


class Rights:
    def __init__(self, store, admins: list[str]):
        self.store = store
        self.admins = set(admins)

    def is_admin(self, user: str | None) -> bool:
        return user is not None and user in self.admins

    # ---- repositories ----
    def repo_for_path(self, path: str) -> dict | None:
        split = split_path(path)
        return self.store.get_repo(*split) if split else None

    def permission(self, user: str | None, repo: dict | None, cap: str = "admin") -> str:
        """Level of `user` on `repo` (a store row; None = no such repository -> none), at most `cap`."""
        if repo is None:
            return "none"
        level = "read" if not repo["is_private"] else "none"
        if user is not None:
            if self.is_admin(user) or self._owns_namespace(user, repo["namespace"]):
                level = "admin"
            else:
                for granted in self.store.grants(repo["id"], user):
                    if rank(granted) > rank(level):
                        level = granted
        return level if rank(level) <= rank(cap) else cap

    def can_create(self, user: str | None, namespace: str) -> bool:
        if user is None:
            return False
        if self.is_admin(user):
            return True
        return namespace != OFFICIAL and self._owns_namespace(user, namespace)

    def _owns_namespace(self, user: str, namespace: str) -> bool:
        if namespace == user:
            return self.store.namespace_kind(namespace) == "user"
        return self.store.is_org_owner(namespace, user)

    # ---- organizations ----
    def can_manage_org(self, user: str | None, org: str) -> bool:
        return user is not None and (self.is_admin(user) or self.store.is_org_owner(org, user))

    def can_see_org(self, user: str | None, org: str) -> bool:
        """Teams and members are shown to the organization's members (owners and team members) only."""
        if self.can_manage_org(user, org):
            return True
        return user is not None and any(o["name"] == org for o in self.store.orgs_of(user))

    # ---- the registry's view ----
    def registry_actions(self, user: str | None, path: str) -> frozenset:
        """Registry actions (pull, push, delete) on a registry repository name; a repository not created yet
        may be pushed by whoever may create it (the first push creates it)."""
        split = split_path(path)
        if split is None:
            return NOTHING
        repo = self.store.get_repo(*split)
        if repo is None:
            return ALL if self.can_create(user, split[0]) else NOTHING
        return ACTIONS[self.permission(user, repo)]

    # ---- lists, search, counts ----
    def visible_paths(self, user: str | None) -> set[str]:
        """Registry names of every repository `user` may read."""
        clause, params = self.visible_sql(user)
        return {r["path"] for r in self.store.all(f"SELECT r.path FROM repositories r WHERE {clause}", params)}

    def visible_sql(self, user: str | None) -> tuple[str, dict]:
        """An SQL condition on repositories `r`: those `user` may read (the same rule as permission())."""
        if self.is_admin(user):
            return "1 = 1", {}
        if user is None:
            return "r.is_private = 0", {}
        return ("r.is_private = 0"
                " OR (r.namespace = :viewer AND EXISTS (SELECT 1 FROM users WHERE name = :viewer))"
                " OR r.namespace IN (SELECT o.name FROM orgs o JOIN org_owners oo ON oo.org_id = o.id"
                "   JOIN users u ON u.id = oo.user_id WHERE u.name = :viewer)"
                " OR r.id IN (SELECT c.repo_id FROM collaborators c JOIN users u ON u.id = c.user_id"
                "   WHERE u.name = :viewer)"
                " OR r.id IN (SELECT tr.repo_id FROM team_repos tr JOIN team_members tm ON tm.team_id = tr.team_id"
                "   JOIN users u ON u.id = tm.user_id WHERE u.name = :viewer)", {"viewer": user})


class RegistryPolicy:
    """The registry server's access Policy interface (actions / can_pull / is_public), answered by Rights: with
    the Hub on, the token service, the v2 API, the catalog and /v2/repositories/... all decide through it."""
    enforce = True

    def __init__(self, rights: Rights):
        self.rights = rights

    def actions(self, user: str | None, repo: str) -> frozenset:
        return self.rights.registry_actions(user, repo)

    def can_pull(self, user: str | None, repo: str) -> bool:
        return "pull" in self.actions(user, repo)

    def pullable(self, user: str | None, repos: list[str]) -> list[str]:
        """The catalog's filter in one query (the same rule as visible_sql) instead of a check per repository."""
        visible = self.rights.visible_paths(user)
        return [r for r in repos if r in visible]

    def is_public(self, repo: str) -> bool:
        row = self.rights.repo_for_path(repo)
        return row is not None and not row["is_private"]
