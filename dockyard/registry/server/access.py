"""Per-repository access rules: which actions (pull, push, delete) a user has on a repository.

Order of precedence: admins get everything; with user_namespaces, "alice" owns "alice/*"; otherwise the
first `repositories` rule whose glob matches, else `default`. Anonymous users (None) can only pull public
repositories. Push implies delete (as collaborators on Docker Hub can delete tags).
"""
from fnmatch import fnmatchcase

from dockyard.registry.server.config import AccessConfig, Rule

ALL = frozenset({"pull", "push", "delete"})
NOTHING: frozenset = frozenset()


class Policy:
    def __init__(self, cfg: AccessConfig, enforce: bool = True):
        self.cfg = cfg
        self.enforce = enforce       # False with auth "none": everyone may do everything

    def rule_for(self, repo: str) -> Rule:
        for rule in self.cfg.repositories:
            if fnmatchcase(repo, rule.match):
                return rule
        return self.cfg.default

    def is_public(self, repo: str) -> bool:
        return not self.enforce or self.rule_for(repo).public

    def actions(self, user: str | None, repo: str) -> frozenset:
        if not self.enforce:
            return ALL
        if user is not None and user in self.cfg.admins:
            return ALL
        if user is not None and self.cfg.user_namespaces and repo.startswith(user + "/"):
            return ALL
        rule = self.rule_for(repo)
        granted = set()
        if rule.public or (user is not None and _listed(user, rule.pull)) or (user is not None and _listed(user, rule.push)):
            granted.add("pull")
        if user is not None and _listed(user, rule.push):
            granted |= {"push", "delete"}
        return frozenset(granted)

    def can_pull(self, user: str | None, repo: str) -> bool:
        return "pull" in self.actions(user, repo)

    def pullable(self, user: str | None, repos: list[str]) -> list[str]:
        """The repositories of `repos` the user may pull (the catalog's filter), in order."""
        return [r for r in repos if self.can_pull(user, r)]


def _listed(user: str, users: list[str]) -> bool:
    return "*" in users or user in users
