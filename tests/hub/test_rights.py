"""The rights matrix: (anonymous, owner, collaborator read, collaborator write, team member, outsider) x (pull,
push, delete, see in search, change settings), each through the v2 registry API (tokens from the token
service, as docker gets them) and the Hub API; and a private repository leaking nowhere."""
import base64

import httpx
import pytest

from hub_helpers import OCI_MANIFEST, Image, push_blob


ROLES = {
    # role: (user, repository it is checked on)
    "anonymous": (None, "alice/secret"),
    "owner": ("alice", "alice/secret"),
    "collaborator-read": ("reader", "alice/secret"),
    "collaborator-write": ("writer", "alice/secret"),
    "team-member": ("member", "corp/app"),
    "outsider": ("outsider", "alice/secret"),
}
EXPECTED = {                # pull, push, delete, search, settings
    "anonymous":          (False, False, False, False, False),
    "owner":              (True, True, True, True, True),
    "collaborator-read":  (True, False, False, True, False),
    "collaborator-write": (True, True, True, True, False),
    "team-member":        (True, True, True, True, False),
    "outsider":           (False, False, False, False, False),
}


@pytest.fixture(scope="module")
def world(hub):
    """alice's private alice/secret (reader: read, writer: write); corp's private corp/app (team crew: write)."""
    for user in ("alice", "reader", "writer", "member", "outsider", "boss"):
        hub.add_user(user)
    hub.push("alice", "alice/secret", "1")
    with hub.api("alice") as c:
        assert c.patch("/v2/repositories/alice/secret/", json={"is_private": True}).status_code == 200
        for user, perm in (("reader", "read"), ("writer", "write")):
            assert c.post("/v2/repositories/alice/secret/collaborators/",
                          json={"user": user, "permission": perm}).status_code == 201
    with hub.api("boss") as c:
        assert c.post("/v2/orgs/", json={"orgname": "corp"}).status_code == 201
        team = c.post("/v2/orgs/corp/groups", json={"name": "crew"}).json()
        c.post("/v2/orgs/corp/groups/crew/members", json={"member": "member"})
        assert c.post("/v2/namespaces/corp/repositories", json={"name": "app", "is_private": True}).status_code == 201
        c.post("/v2/repositories/corp/app/groups/", json={"group_id": team["id"], "permission": "write"})
    hub.push("boss", "corp/app", "1")
    return hub


def _can_pull(hub, user, repo) -> bool:
    status, granted = hub.registry_token(user, f"repository:{repo}:pull")
    with hub.v2(user, repo, "pull") as v2:
        r = v2.get(f"/v2/{repo}/manifests/1", headers={"Accept": OCI_MANIFEST})
    assert (r.status_code == 200) == ("pull" in granted)
    return r.status_code == 200


def _can_push(hub, user, repo, tag) -> bool:
    with hub.v2(user, repo, "pull,push") as v2:
        r = v2.post(f"/v2/{repo}/blobs/uploads/")
        if r.status_code != 202:
            assert r.status_code in (401, 403)
            return False
        img = Image([f"pushed by {user}".encode()])
        for blob in img.blobs():
            push_blob(v2, repo, blob)
        r = v2.put(f"/v2/{repo}/manifests/{tag}", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, r.text
        return True


def _can_delete(hub, user, repo, tag) -> bool:
    with hub.v2(user, repo, "delete") as v2:
        r = v2.delete(f"/v2/{repo}/manifests/{tag}")
    assert r.status_code in (202, 401, 403), r.text
    return r.status_code == 202


def _sees_in_search(hub, user, repo) -> bool:
    with hub.api(user) as c:
        v1 = [r["name"] for r in c.get("/v1/search", params={"q": repo}).json()["results"]]
        v2 = [r["repo_name"] for r in c.get("/v2/search/repositories/", params={"query": repo}).json()["results"]]
        listed = [r["repo_name"] for r in c.get(f"/v2/namespaces/{repo.split('/')[0]}/repositories").json()["results"]]
        hub_get = c.get(f"/v2/repositories/{repo}/").status_code
    seen = {repo in v1, repo in v2, repo in listed, hub_get == 200}
    assert len(seen) == 1, (v1, v2, listed, hub_get)       # every view agrees
    return seen.pop()


def _can_change_settings(hub, user, repo) -> bool:
    with hub.api(user) as c:
        r = c.patch(f"/v2/namespaces/{repo.split('/')[0]}/repositories/{repo.split('/')[1]}",
                    json={"description": f"set by {user}"})
        hooks = c.get(f"/v2/repositories/{repo}/collaborators/").status_code
    assert r.status_code in (200, 401, 403, 404)
    assert (hooks == 200) == (r.status_code == 200)
    return r.status_code == 200


@pytest.mark.parametrize("role", list(ROLES))
def test_rights_matrix(world, role):
    hub = world
    user, repo = ROLES[role]
    tag = f"t-{role}"
    hub.push("alice" if repo.startswith("alice/") else "boss", repo, tag)       # a tag to try deleting
    got = (_can_pull(hub, user, repo), _can_push(hub, user, repo, f"p-{role}"), _can_delete(hub, user, repo, tag),
           _sees_in_search(hub, user, repo), _can_change_settings(hub, user, repo))
    assert got == EXPECTED[role], dict(zip(("pull", "push", "delete", "search", "settings"), got))


def test_a_private_repository_leaks_nowhere(world):
    """For an outsider and an anonymous caller a private repository answers exactly like one that does not exist,
    and no list, count or search shows it."""
    hub = world
    for user in ("outsider", None):
        with hub.api(user) as c:
            for suffix in ("/", "/tags/", "/tags/1/", "/collaborators/", "/groups/", "/webhook_pipeline/"):
                real = c.get(f"/v2/repositories/alice/secret{suffix}")
                ghost = c.get(f"/v2/repositories/alice/ghost{suffix}")
                assert real.status_code == ghost.status_code == 404, suffix
                assert real.json() == ghost.json() and "secret" not in real.text
            assert c.get("/v2/namespaces/alice/repositories/secret/tags").status_code == 404
            assert c.post("/v2/repositories/alice/secret/stars/").status_code == 404
            listing = c.get("/v2/namespaces/alice/repositories").json()
            assert listing["count"] == 0 and listing["results"] == []
            search = c.get("/v1/search", params={"q": "secret"}).json()
            assert search["num_results"] == 0 and search["results"] == []
            assert c.get("/v2/search/repositories/", params={"query": "alice"}).json()["count"] == 0
        # the registry: token service grants nothing, and the refusal is the one for a missing repository
        assert hub.registry_token(user, "repository:alice/secret:pull")[1] == []
        with hub.v2(user, "alice/secret") as v2, hub.v2(user, "alice/ghost") as v2ghost:
            for path in ("/manifests/1", "/tags/list"):
                real, ghost = v2.get(f"/v2/alice/secret{path}"), v2ghost.get(f"/v2/alice/ghost{path}")
                assert real.status_code == ghost.status_code and real.status_code in (401, 403)
                assert real.json()["errors"][0]["code"] == ghost.json()["errors"][0]["code"]
    # the catalog lists what the caller can pull
    for user in ("outsider", "reader"):
        creds = base64.b64encode(f"{user}:{user}-password".encode()).decode()
        tok = httpx.get(f"{hub.url}/token", params={"service": "dockyard-registry", "scope": "registry:catalog:*"},
                        headers={"Authorization": f"Basic {creds}"}).json()["token"]
        repos = httpx.get(f"{hub.url}/v2/_catalog", headers={"Authorization": f"Bearer {tok}"}).json()["repositories"]
        assert ("alice/secret" in repos) == (user == "reader")
        assert "corp/app" not in repos


def test_making_a_repository_public_opens_it_to_everyone(world):
    hub = world
    hub.push("alice", "alice/flip", "1")
    with hub.api("alice") as c:
        c.patch("/v2/repositories/alice/flip/", json={"is_private": True})
    assert hub.registry_token(None, "repository:alice/flip:pull")[1] == []
    with hub.api("alice") as c:
        c.patch("/v2/repositories/alice/flip/", json={"is_private": False})
    assert hub.registry_token(None, "repository:alice/flip:pull")[1] == ["pull"]
    assert hub.registry_token("outsider", "repository:alice/flip:pull,push")[1] == ["pull"]


def test_first_push_creates_only_in_namespaces_the_pusher_may_create_in(world):
    hub = world
    assert hub.registry_token("outsider", "repository:alice/newrepo:pull,push")[1] == []
    assert hub.registry_token("member", "repository:corp/newrepo:pull,push")[1] == []     # members are not owners
    assert hub.registry_token("boss", "repository:corp/newrepo:pull,push")[1] == ["pull", "push"]
    assert hub.registry_token("alice", "repository:library/official:pull,push")[1] == []  # library: admins only
    assert hub.registry_token("alice", "repository:a/b/c:pull,push")[1] == []             # two levels at most
    hub.push("outsider", "outsider/mine", "1")
    with hub.api() as c:
        r = c.get("/v2/repositories/outsider/mine/")
        assert r.status_code == 200 and r.json()["is_private"] is False       # Docker Hub's default: public


def test_default_private_makes_first_pushes_private(make_hub):
    srv = make_hub({"hub": {"default_private": True}})
    srv.add_user("quiet")
    srv.push("quiet", "quiet/app", "1")
    with srv.api() as c:
        assert c.get("/v2/repositories/quiet/app/").status_code == 404
    with srv.api("quiet") as c:
        assert c.get("/v2/repositories/quiet/app/").json()["is_private"] is True
