"""rights.py in-process: the per-repository rule (permission) and its SQL form for lists and search (visible_sql)
must agree for every user and repository, whatever the mix of owners, collaborators, teams and visibility."""
import itertools
import random

from dockyard.hub.rights import Rights, at_least
from dockyard.hub.store import Store

USERS = ["ann", "ben", "cat", "dov", "eli"]
ORGS = ["org1", "org2"]


def _world(tmp_path, seed: int):
    rng = random.Random(seed)
    store = Store(str(tmp_path / f"hub{seed}.db"))
    for user in USERS:
        store.create_user(user, "x")
    for org in ORGS:
        store.create_org(org, rng.choice(USERS))
        if rng.random() < 0.5:
            store.add_org_owner(org, rng.choice(USERS))
        for t in range(2):
            team = store.create_team(org, f"team{t}")
            for user in rng.sample(USERS, rng.randint(0, 3)):
                store.add_team_member(team["id"], user)
    for i, ns in enumerate(itertools.islice(itertools.cycle(USERS + ORGS + ["library"]), 30)):
        repo = store.create_repo(ns, f"r{i}", f"{ns}/r{i}", rng.random() < 0.6)
        if ns in USERS:
            for user in rng.sample(USERS, rng.randint(0, 2)):
                if user != ns:
                    store.set_collaborator(repo["id"], user, rng.choice(["read", "write", "admin"]))
        elif ns in ORGS:
            for team in rng.sample(store.list_teams(ns), rng.randint(0, 2)):
                store.set_team_permission(team["id"], repo["id"], rng.choice(["read", "write", "admin"]))
    return store, Rights(store, admins=["eli"])


def test_visible_sql_agrees_with_permission(tmp_path):
    for seed in range(5):
        store, rights = _world(tmp_path, seed)
        _, every = store.query_repos(("1 = 1", {}), limit=1000)
        for user in USERS + [None]:
            _, visible = store.query_repos(rights.visible_sql(user), limit=1000)
            readable = {r["full_name"] for r in every if at_least(rights.permission(user, r), "read")}
            assert {r["full_name"] for r in visible} == readable, (seed, user)
        assert len({r["full_name"] for r in store.query_repos(rights.visible_sql(None), limit=1000)[1]}) < len(every)


def test_levels_and_caps(tmp_path):
    store = Store(str(tmp_path / "hub.db"))
    for user in ("own", "col", "mem", "boss", "out"):
        store.create_user(user, "x")
    repo = store.create_repo("own", "app", "own/app", True)
    store.set_collaborator(repo["id"], "col", "write")
    store.create_org("corp", "boss")
    team = store.create_team("corp", "crew")
    store.add_team_member(team["id"], "mem")
    org_repo = store.create_repo("corp", "svc", "corp/svc", True)
    store.set_team_permission(team["id"], org_repo["id"], "read")
    rights = Rights(store, admins=[])
    assert [rights.permission(u, repo) for u in ("own", "col", "mem", "boss", "out", None)] == \
        ["admin", "write", "none", "none", "none", "none"]
    assert [rights.permission(u, org_repo) for u in ("own", "col", "mem", "boss", "out", None)] == \
        ["none", "none", "read", "admin", "none", "none"]
    assert rights.permission("own", repo, cap="read") == "read"       # a repo:read token
    store.update_repo(repo["id"], is_private=False)
    assert rights.permission(None, store.get_repo("own", "app")) == "read"
    assert rights.registry_actions("own", "own/new") == frozenset({"pull", "push", "delete"})   # first push
    assert rights.registry_actions("mem", "corp/new") == frozenset()
    assert rights.registry_actions("boss", "corp/new") == frozenset({"pull", "push", "delete"})
