"""Repository operations shared by the Hub API and the pages: create, change, delete, tags, collaborators, teams,
web hooks, and the JSON shapes Docker Hub answers with. Callers check rights first (Hub.repo_for); these
functions only validate input (RepoError = HTTP 400 with the message) and act.
"""
import re
import time

from dockyard.registry.server import routes_hub
from dockyard.registry.server.names import TAG_RE
from dockyard.hub.rights import OFFICIAL, at_least, split_path

NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")      # Docker Hub's repository name rule
MAX_DESCRIPTION = 100
MAX_FULL_DESCRIPTION = 25000


class RepoError(ValueError):
    """Invalid input; the message is shown to the user (HTTP 400)."""


def check_name(name) -> str:
    if not isinstance(name, str) or not 2 <= len(name) <= 255 or not NAME_RE.match(name):
        raise RepoError("repository name must be 2 to 255 characters: lowercase letters, digits, and . _ - "
                        "between them")
    return name


def check_fields(fields: dict) -> dict:
    """The changeable fields of a repository, validated: description, full_description, is_private."""
    out = {}
    for key, limit in (("description", MAX_DESCRIPTION), ("full_description", MAX_FULL_DESCRIPTION)):
        if key in fields and fields[key] is not None:
            if not isinstance(fields[key], str):
                raise RepoError(f"{key} must be a string")
            if len(fields[key]) > limit:
                raise RepoError(f"{key} must be at most {limit} characters")
            out[key] = fields[key]
    if "is_private" in fields and fields["is_private"] is not None:
        if not isinstance(fields["is_private"], bool):
            raise RepoError("is_private must be true or false")
        out["is_private"] = fields["is_private"]
    return out


def create(hub, namespace: str, name: str, fields: dict) -> dict:
    """Create an (empty) repository; the caller checked hub.rights.can_create. Conflict if it exists."""
    check_name(name)
    fields = check_fields(fields)
    path = name if namespace == OFFICIAL and hub.registry.storage.repo_exists(name) else f"{namespace}/{name}"
    return hub.store.create_repo(namespace, name, path, fields.get("is_private", hub.config.default_private),
                                 fields.get("description", ""), fields.get("full_description", ""))


def update(hub, repo: dict, fields: dict) -> dict:
    hub.store.update_repo(repo["id"], **check_fields(fields))
    return hub.store.get_repo_by_id(repo["id"])


def delete(hub, repo: dict) -> None:
    """The repository's tags and links go from the registry (blobs stay until garbage collection), then its row."""
    hub.registry.storage.delete_repo(repo["path"])
    hub.store.delete_repo(repo["id"])


def _iso(ts) -> str | None:
    return routes_hub.iso_time(ts) if ts else None


def to_json(hub, repo: dict, level: str, viewer: str | None) -> dict:
    """Docker Hub's repository object, as seen by `viewer` with permission `level`."""
    updated = _iso(repo["last_pushed"] or repo["created"])
    return {
        "user": repo["namespace"], "name": repo["name"], "namespace": repo["namespace"],
        "repository_type": "image", "status": 1, "status_description": "active",
        "description": repo["description"], "is_private": repo["is_private"], "is_automated": False,
        "is_official": repo["namespace"] == OFFICIAL, "can_edit": at_least(level, "admin"),
        "star_count": repo["star_count"], "pull_count": repo["pull_count"], "last_updated": updated,
        "last_modified": updated, "date_registered": _iso(repo["created"]), "last_pusher": repo["last_pusher"],
        "collaborator_count": len(hub.store.collaborators(repo["id"])), "affiliation": None,
        "hub_user": repo["namespace"], "has_starred": hub.store.has_starred(repo["id"], viewer),
        "full_description": repo["full_description"],
        "permissions": {"read": at_least(level, "read"), "write": at_least(level, "write"),
                        "admin": at_least(level, "admin")},
        "media_types": [], "content_types": [], "categories": [],
    }


def summary_json(repo: dict) -> dict:
    """A repository in lists and search results."""
    return {"name": repo["name"], "namespace": repo["namespace"], "repo_name": repo["full_name"],
            "description": repo["description"], "is_private": repo["is_private"],
            "is_official": repo["namespace"] == OFFICIAL, "star_count": repo["star_count"],
            "pull_count": repo["pull_count"], "last_updated": _iso(repo["last_pushed"] or repo["created"]),
            "repository_type": "image", "status": 1}


def check_tag(tag: str) -> str:
    if not TAG_RE.match(tag or ""):
        raise RepoError(f"invalid tag name: {tag}")
    return tag


def tag_names(hub, repo: dict, name_filter: str = "", ordering: str = "last_updated") -> list[str]:
    """The repository's tags, newest first (Docker Hub's order) or by name."""
    st = hub.registry.storage
    tags = [t for t in st.list_tags(repo["path"]) if name_filter in t]
    if ordering == "name":
        return sorted(tags)
    mtimes = {t: st.tag_mtime(repo["path"], t) for t in tags}
    return sorted(tags, key=lambda t: (-mtimes[t], t))


def tags_json(hub, repo: dict, tags: list[str]) -> list[dict]:
    """Docker Hub's tag objects: name, digest, full_size, images per platform, last_updated, tag_last_pushed,
    last_updater_username (who pushed it)."""
    pushers = hub.store.tag_pushers(repo["id"], tags) if tags else {}
    out = []
    for tag in tags:
        entry = routes_hub.tag_entry(hub.registry.storage, repo["path"], tag)
        if entry is None:
            continue
        entry["repository"] = repo["id"]
        entry["last_updater_username"] = pushers.get(tag, "")
        entry["v2"] = True
        out.append(entry)
    return out


def delete_tag(hub, repo: dict, tag: str) -> bool:
    return hub.registry.storage.delete_tag(repo["path"], check_tag(tag))


def record_push(hub, path: str, tag: str | None, pusher: str | None, when: float | None = None) -> dict | None:
    """A manifest push (from the registry's push event): the repository's row (created on its first push,
    private or not by `default_private`) and its last push."""
    split = split_path(path)
    if split is None:
        return None
    repo = hub.store.get_repo(*split) or hub.store.ensure_repo(*split, path, hub.config.default_private)
    hub.store.record_push(repo["id"], pusher or "", when or time.time(), tag)
    return hub.store.get_repo_by_id(repo["id"])


# ---- who else has rights on a repository; its web hooks ----
PERMISSIONS = ("read", "write", "admin")


def _check_permission(permission) -> str:
    if permission not in PERMISSIONS:
        raise RepoError("permission must be read, write or admin")
    return permission


def add_collaborator(hub, repo: dict, user, permission) -> None:
    """Give `user` `permission` on a personal repository (or change it)."""
    _check_permission(permission)
    if hub.store.namespace_kind(repo["namespace"]) != "user":
        raise RepoError("organization repositories give rights to teams, not collaborators")
    if not isinstance(user, str) or hub.store.get_user(user) is None:
        raise RepoError(f"user {user} does not exist")
    if user == repo["namespace"]:
        raise RepoError(f"{user} owns {repo['full_name']}")
    hub.store.set_collaborator(repo["id"], user, permission)


def add_team(hub, repo: dict, team_ref, permission) -> dict:
    """Give a team of the repository's organization `permission` on it; `team_ref` is its id or name."""
    _check_permission(permission)
    if hub.store.namespace_kind(repo["namespace"]) != "org":
        raise RepoError("only organization repositories give rights to teams")
    if isinstance(team_ref, int) or (isinstance(team_ref, str) and team_ref.isdigit()):
        team = hub.store.get_team_by_id(int(team_ref))
    elif isinstance(team_ref, str):
        team = hub.store.get_team(repo["namespace"], team_ref)
    else:
        team = None
    if team is None or team["org"] != repo["namespace"]:
        raise RepoError(f"no such team in {repo['namespace']}")
    hub.store.set_team_permission(team["id"], repo["id"], permission)
    return team


def add_hook(hub, repo: dict, name, url, creator: str) -> dict:
    """A web hook on the repository; HookError if the URL is not allowed, Conflict if the name is taken."""
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise RepoError("name is required (at most 100 characters)")
    return hub.store.create_hook(repo["id"], name.strip(), hub.webhooks.check_url(url), creator)
