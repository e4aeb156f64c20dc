"""The Hub API against a real `dockyard registry serve --hub`: every route, Docker Hub's shapes, bad input."""
import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import httpx

from dockyard.hub import config as hub_config
from dockyard.hub.accounts import Accounts
from dockyard.hub.sessions import Sessions
from dockyard.hub.store import Store
from hub_helpers import TOKEN_RE, Image, message, password


# ---------- accounts ----------
def test_login_and_auth_token_give_jwts_and_wrong_credentials_are_401(hub):
    hub.add_user("lena")
    r = httpx.post(f"{hub.url}/v2/users/login", json={"username": "lena", "password": password("lena")})
    assert r.status_code == 200 and r.json()["token"].count(".") == 2
    with hub.api() as c:
        r = c.get("/v2/user/", headers={"Authorization": f"Bearer {r.json()['token']}"})
        assert r.status_code == 200 and r.json()["username"] == "lena"
        r = c.post("/v2/auth/token", json={"identifier": "lena", "secret": password("lena")})
        assert r.status_code == 200
        assert c.get("/v2/user/", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()["username"] == "lena"
        r = c.post("/v2/users/login", json={"username": "lena", "password": "wrong-password"})
        assert r.status_code == 401 and r.json()["detail"] == "Incorrect authentication credentials"
        r = c.get("/v2/user/")
        assert r.status_code == 401
        r = c.get("/v2/user/", headers={"Authorization": "Bearer not.a.jwt"})
        assert r.status_code == 401


def test_bad_input_is_400_with_a_clear_message(hub):
    with hub.api() as c:
        r = c.post("/v2/users/login", content=b"{not json")
        assert r.status_code == 400 and message(r) == "request body must be a JSON object"
        r = c.post("/v2/users/login", json=["a"])
        assert r.status_code == 400
        r = c.post("/v2/users/login", json={"username": "x"})
        assert r.status_code == 400 and message(r) == "password is required"
        r = c.post("/v2/users/login", json={"username": 5, "password": "p"})
        assert r.status_code == 400 and message(r) == "username must be a string"
    hub.add_user("badin")
    with hub.api("badin") as c:
        r = c.post("/v2/namespaces/badin/repositories", json={"name": "Bad Name"})
        assert r.status_code == 400 and "repository name must be" in message(r)
        r = c.post("/v2/namespaces/badin/repositories", json={"name": "ok", "is_private": "yes"})
        assert r.status_code == 400 and message(r) == "is_private must be true or false"
        r = c.post("/v2/namespaces/badin/repositories", json={"name": "ok", "description": "x" * 101})
        assert r.status_code == 400 and message(r) == "description must be at most 100 characters"
        assert c.get("/v2/namespaces/badin/repositories/ok/").status_code == 404     # nothing left behind
        r = c.get("/v2/namespaces/badin/repositories?page=0")
        assert r.status_code == 400 and message(r) == "page must be a positive integer"


def test_signup_creates_an_account_unless_turned_off(hub, make_hub):
    with hub.api() as c:
        r = c.post("/v2/users/signup", json={"username": "newbie", "password": "long-enough", "email": "n@example.com"})
        assert r.status_code == 201 and r.json()["username"] == "newbie"
        assert c.post("/v2/users/signup", json={"username": "newbie", "password": "long-enough"}).status_code == 409
        r = c.post("/v2/users/signup", json={"username": "shortpw", "password": "short"})
        assert r.status_code == 400 and message(r) == "password must be at least 8 characters"
        r = c.post("/v2/users/signup", json={"username": "Upper Case", "password": "long-enough"})
        assert r.status_code == 400 and message(r).startswith("username must be")
        r = c.post("/v2/users/signup", json={"username": "repositories", "password": "long-enough"})
        assert r.status_code == 400 and message(r) == "repositories is a reserved name"    # an API path word
    assert hub.jwt("newbie", "long-enough")
    closed = make_hub({"hub": {"signup": False}})
    with closed.api() as c:
        r = c.post("/v2/users/signup", json={"username": "newbie", "password": "long-enough"})
        assert r.status_code == 403 and message(r) == "sign-up is disabled on this registry"


def test_login_is_throttled_after_repeated_failures_in_api_and_token_service(make_hub):
    srv = make_hub({"hub": {"login_max_failures": 3, "login_lockout": "1h"}})
    srv.add_user("tina")
    with srv.api() as c:
        codes = [c.post("/v2/users/login", json={"username": "tina", "password": f"wrong-{i}"}).status_code
                 for i in range(3)]
        assert codes == [401, 401, 429]
        r = c.post("/v2/users/login", json={"username": "tina", "password": password("tina")})
        assert r.status_code == 429 and "too many failed login attempts" in message(r)
        assert int(r.headers["Retry-After"]) > 0
    # the token service (docker login) asks the same place
    creds = base64.b64encode(f"tina:{password('tina')}".encode()).decode()
    r = httpx.get(f"{srv.url}/token", params={"service": "dockyard-registry"}, headers={"Authorization": f"Basic {creds}"})
    assert r.status_code == 429 and r.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    # another user is not locked out
    srv.add_user("uma")
    assert srv.jwt("uma")


def test_user_cli_works_while_the_server_runs(hub):
    hub.add_user("cliuser")
    assert "cliuser" in hub.user_cli("ls").stdout.split()
    old_jwt = hub.jwt("cliuser")
    hub.user_cli("passwd", "cliuser", "--password-stdin", input="brand-new-password\n")
    assert httpx.post(f"{hub.url}/v2/users/login",
                      json={"username": "cliuser", "password": password("cliuser")}).status_code == 401
    assert hub.jwt("cliuser", "brand-new-password")
    # the JWT signed in with the old password is revoked with it
    assert httpx.get(f"{hub.url}/v2/user/", headers={"Authorization": f"Bearer {old_jwt}"}).status_code == 401
    p = hub.user_cli("add", "cliuser", "--password-stdin", input="another-password\n", check=False)
    assert p.returncode == 1 and "cliuser already exists" in p.stderr
    p = hub.user_cli("add", "x2", "--password-stdin", input="short\n", check=False)
    assert p.returncode == 1 and "password must be at least 8 characters" in p.stderr
    hub.user_cli("rm", "cliuser")
    assert "cliuser" not in hub.user_cli("ls").stdout.split()
    assert httpx.post(f"{hub.url}/v2/users/login",
                      json={"username": "cliuser", "password": "brand-new-password"}).status_code == 401
    assert hub.user_cli("rm", "cliuser", check=False).returncode == 1


# ---------- repositories and tags ----------
def test_repository_create_get_patch_delete(hub):
    hub.add_user("rita")
    hub.add_user("sam")
    with hub.api("rita") as c:
        r = c.post("/v2/namespaces/rita/repositories",
                   json={"name": "web", "namespace": "rita", "description": "the web app", "is_private": True})
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["namespace"], body["name"], body["is_private"], body["description"]) == ("rita", "web", True, "the web app")
        assert body["permissions"] == {"read": True, "write": True, "admin": True}
        assert c.post("/v2/namespaces/rita/repositories", json={"name": "web"}).status_code == 409
        for prefix in ("/v2/namespaces/rita/repositories/web", "/v2/repositories/rita/web/"):
            r = c.get(prefix)
            assert r.status_code == 200 and r.json()["is_private"] is True and r.json()["pull_count"] == 0
        assert c.head("/v2/namespaces/rita/repositories/web").status_code == 200
        r = c.patch("/v2/namespaces/rita/repositories/web", json={"full_description": "# Web\nREADME", "is_private": False})
        assert r.status_code == 200 and r.json()["full_description"] == "# Web\nREADME" and r.json()["is_private"] is False
        assert c.get("/v2/namespaces/rita/repositories?ordering=name").json()["results"][0]["name"] == "web"
        assert c.get("/v2/repositories/rita/").json()["results"][0]["repo_name"] == "rita/web"
    with hub.api("sam") as c:
        r = c.post("/v2/namespaces/rita/repositories", json={"name": "other"})
        assert r.status_code == 403 and message(r) == "you cannot create repositories in rita"
        assert c.post("/v2/namespaces/nobody/repositories", json={"name": "x1"}).status_code == 404
        r = c.patch("/v2/namespaces/rita/repositories/web", json={"description": "mine now"})
        assert r.status_code == 403
        assert c.delete("/v2/namespaces/rita/repositories/web").status_code == 403
    with hub.api("rita") as c:
        assert c.delete("/v2/namespaces/rita/repositories/web").status_code == 202
        assert c.get("/v2/namespaces/rita/repositories/web").status_code == 404


def test_push_creates_the_repository_and_the_tags_api_lists_it(hub):
    hub.add_user("tom")
    img = hub.push("tom", "tom/tool", "1.0")
    hub.push("tom", "tom/tool", "latest", img)
    with hub.api() as c:
        r = c.get("/v2/namespaces/tom/repositories/tool")
        assert r.status_code == 200 and r.json()["is_private"] is False and r.json()["last_pusher"] == "tom"
        r = c.get("/v2/namespaces/tom/repositories/tool/tags", params={"page_size": 1})
        body = r.json()
        assert body["count"] == 2 and body["next"] and body["previous"] is None and len(body["results"]) == 1
        tag = body["results"][0]
        assert tag["name"] == "latest" and tag["digest"] == img.digest
        assert tag["full_size"] == sum(len(layer) for layer in img.layers)
        assert tag["images"][0]["architecture"] == "amd64" and tag["images"][0]["os"] == "linux"
        assert tag["last_updater_username"] == "tom" and tag["tag_last_pushed"]
        assert c.get("/v2/repositories/tom/tool/tags/1.0/").json()["digest"] == img.digest
        assert c.get("/v2/namespaces/tom/repositories/tool/tags/nope").status_code == 404
        assert c.get("/v2/namespaces/tom/repositories/tool/tags?ordering=size").status_code == 400
        assert c.delete("/v2/namespaces/tom/repositories/tool/tags/1.0").status_code == 401
    with hub.api("tom") as c:
        assert c.delete("/v2/namespaces/tom/repositories/tool/tags/1.0").status_code == 204
        assert [t["name"] for t in c.get("/v2/namespaces/tom/repositories/tool/tags").json()["results"]] == ["latest"]
    with hub.v2(None, "tom/tool") as v2:
        assert v2.get("/v2/tom/tool/tags/list").json()["tags"] == ["latest"]


def test_pull_counts_count_manifest_gets(hub):
    hub.add_user("paula")
    hub.push("paula", "paula/counted", "1")
    with hub.v2(None, "paula/counted") as v2:
        for _ in range(3):
            assert v2.get("/v2/paula/counted/manifests/1", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).status_code == 200
        v2.head("/v2/paula/counted/manifests/1")    # a HEAD is not a pull
    with hub.api() as c:
        assert c.get("/v2/namespaces/paula/repositories/counted").json()["pull_count"] == 3
        found = c.get("/v1/search", params={"q": "paula/counted"}).json()["results"]
        assert found[0]["pull_count"] == 3


def test_stars(hub):
    hub.add_user("stella")
    hub.add_user("stan")
    hub.push("stella", "stella/shiny", "1")
    with hub.api("stan") as c:
        r = c.post("/v2/repositories/stella/shiny/stars/")
        assert r.status_code == 201 and r.json()["star_count"] == 1
        assert c.post("/v2/repositories/stella/shiny/stars/").json()["star_count"] == 1    # once per user
        assert c.get("/v2/repositories/stella/shiny/").json()["has_starred"] is True
        assert c.get("/v2/repositories/stella/shiny/stars/").json() == {"star_count": 1, "has_starred": True}
        assert [r["repo_name"] for r in c.get("/v2/users/stan/repositories/starred/").json()["results"]] == ["stella/shiny"]
    with hub.api() as c:
        assert c.post("/v2/repositories/stella/shiny/stars/").status_code == 401
        assert c.get("/v1/search", params={"q": "shiny"}).json()["results"][0]["star_count"] == 1
    with hub.api("stan") as c:
        assert c.delete("/v2/repositories/stella/shiny/stars/").json()["star_count"] == 0


def test_search_v1_and_v2(hub):
    hub.add_user("seeker")
    with hub.api("seeker") as c:
        for name, desc in (("findme-one", "first thing"), ("other", "also findme in the text"), ("hidden", "findme")):
            assert c.post("/v2/namespaces/seeker/repositories",
                          json={"name": name, "description": desc, "is_private": name == "hidden"}).status_code == 201
        mine = c.get("/v1/search", params={"q": "findme"}).json()
        assert {r["name"] for r in mine["results"]} == {"seeker/findme-one", "seeker/other", "seeker/hidden"}
    with hub.api() as c:
        body = c.get("/v1/search", params={"q": "findme"}).json()
        assert body["num_results"] == 2 and {r["name"] for r in body["results"]} == {"seeker/findme-one", "seeker/other"}
        body = c.get("/v2/search/repositories/", params={"query": "findme", "page_size": 1}).json()
        assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
        assert c.get("/v1/search", params={"q": "100%_"}).json()["num_results"] == 0    # LIKE wildcards are literal


# ---------- collaborators, organizations, teams ----------
def test_collaborators_add_list_remove(hub):
    for u in ("cora", "carl"):
        hub.add_user(u)
    with hub.api("cora") as c:
        c.post("/v2/namespaces/cora/repositories", json={"name": "box", "is_private": True})
        r = c.post("/v2/repositories/cora/box/collaborators/", json={"user": "carl", "permission": "read"})
        assert r.status_code == 201 and r.json() == {"user": "carl", "permission": "read"}
        assert c.get("/v2/repositories/cora/box/collaborators/").json()["results"][0]["user"] == "carl"
        assert c.get("/v2/repositories/cora/box/collaborators/carl/").json()["permission"] == "read"
        r = c.post("/v2/repositories/cora/box/collaborators/", json={"user": "carl", "permission": "owner"})
        assert r.status_code == 400 and message(r) == "permission must be read, write or admin"
        r = c.post("/v2/repositories/cora/box/collaborators/", json={"user": "ghost", "permission": "read"})
        assert r.status_code == 400 and message(r) == "user ghost does not exist"
    with hub.api("carl") as c:
        assert c.get("/v2/repositories/cora/box/").status_code == 200           # can see it now
        assert c.get("/v2/repositories/cora/box/collaborators/").status_code == 403  # but not manage it
    with hub.api("cora") as c:
        assert c.delete("/v2/repositories/cora/box/collaborators/carl/").status_code == 204
        assert c.delete("/v2/repositories/cora/box/collaborators/carl/").status_code == 404
    with hub.api("carl") as c:
        assert c.get("/v2/repositories/cora/box/").status_code == 404


def test_organizations_teams_members_and_team_permissions(hub):
    for u in ("olga", "otto", "oscar"):
        hub.add_user(u)
    with hub.api("olga") as c:
        r = c.post("/v2/orgs/", json={"orgname": "acme", "full_name": "Acme Inc"})
        assert r.status_code == 201 and r.json()["orgname"] == "acme" and r.json()["is_owner"] is True
        assert c.post("/v2/orgs/", json={"orgname": "olga"}).status_code == 409   # names are shared with users
        r = c.post("/v2/orgs/acme/groups", json={"name": "devs", "description": "developers"})
        assert r.status_code == 201 and r.json()["name"] == "devs" and r.json()["member_count"] == 0
        team_id = r.json()["id"]
        r = c.post("/v2/orgs/acme/groups/devs/members", json={"member": "otto"})
        assert r.status_code == 201
        assert c.post("/v2/orgs/acme/groups/devs/members", json={"member": "ghost"}).status_code == 400
        assert [m["username"] for m in c.get("/v2/orgs/acme/groups/devs/members").json()["results"]] == ["otto"]
        assert c.get("/v2/orgs/acme/groups").json()["results"][0]["member_count"] == 1
        members = {m["username"]: m["role"] for m in c.get("/v2/orgs/acme/members").json()["results"]}
        assert members == {"olga": "owner", "otto": "member"}
        assert c.post("/v2/namespaces/acme/repositories", json={"name": "api", "is_private": True}).status_code == 201
        r = c.post("/v2/repositories/acme/api/groups/", json={"group_id": team_id, "permission": "write"})
        assert r.status_code == 201 and r.json() == {"group_id": team_id, "group_name": "devs", "permission": "write"}
        assert c.get("/v2/repositories/acme/api/groups/").json()["results"][0]["permission"] == "write"
        r = c.post("/v2/repositories/acme/api/collaborators/", json={"user": "otto", "permission": "read"})
        assert r.status_code == 400     # organizations use teams
        assert c.patch("/v2/orgs/acme/groups/devs", json={"description": "the devs"}).json()["description"] == "the devs"
    with hub.api("otto") as c:
        assert c.get("/v2/repositories/acme/api/").json()["permissions"] == {"read": True, "write": True, "admin": False}
        assert c.post("/v2/orgs/acme/groups", json={"name": "mine"}).status_code == 403      # not an owner
        assert c.get("/v2/orgs/acme/groups").status_code == 200                             # a member sees teams
    assert hub.registry_token("otto", "repository:acme/api:pull,push")[1] == ["pull", "push"]
    with hub.api("oscar") as c:
        assert c.get("/v2/orgs/acme/").status_code == 200            # the organization is public
        assert c.get("/v2/orgs/acme/groups").status_code == 404      # its teams are not
        assert c.get("/v2/repositories/acme/api/").status_code == 404
    with hub.api("olga") as c:
        assert c.delete("/v2/orgs/acme/groups/devs/members/otto").status_code == 204
    assert hub.registry_token("otto", "repository:acme/api:pull,push")[1] == []
    with hub.api("olga") as c:
        assert c.delete(f"/v2/repositories/acme/api/groups/{team_id}/").status_code == 204
        assert c.delete("/v2/orgs/acme/groups/devs").status_code == 204
        r = c.delete("/v2/orgs/acme/")
        assert r.status_code == 400 and "still has repositories" in message(r)


# ---------- personal access tokens ----------
def test_access_tokens_create_list_deactivate_delete(hub):
    hub.add_user("ada")
    with hub.api("ada") as c:
        r = c.post("/v2/access-tokens", json={"token_label": "ci", "scopes": ["repo:read"]})
        assert r.status_code == 201
        created = r.json()
        assert TOKEN_RE.match(created["token"]) and created["scopes"] == ["repo:read"] and created["is_active"]
        listed = c.get("/v2/access-tokens").json()
        assert listed["count"] == 1 and listed["active_count"] == 1 and listed["results"][0]["token"] == ""
        assert listed["results"][0]["last_used"] is None
        r = c.post("/v2/access-tokens", json={"token_label": "x", "scopes": ["repo:everything"]})
        assert r.status_code == 400 and "scopes must be a list of" in message(r)
        assert c.post("/v2/access-tokens", json={"scopes": ["repo:read"]}).status_code == 400
    secret, uuid = created["token"], created["uuid"]
    # the token is a password for the token service and the API, capped at its scope
    assert hub.registry_token("ada", "repository:ada/x:pull,push", secret=secret)[1] == ["pull"]
    assert hub.registry_token("ada", "repository:ada/x:pull,push")[1] == ["pull", "push"]
    with hub.api("ada", secret) as c:
        assert c.get("/v2/user/").json()["username"] == "ada"
        r = c.post("/v2/namespaces/ada/repositories", json={"name": "nope"})
        assert r.status_code == 403                                   # repo:read cannot create
        assert c.get("/v2/access-tokens").status_code == 403          # tokens cannot manage tokens
    with hub.api("ada") as c:
        assert c.get(f"/v2/access-tokens/{uuid}").json()["last_used"] is not None
        r = c.patch(f"/v2/access-tokens/{uuid}", json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert c.patch(f"/v2/access-tokens/{uuid}", json={"is_active": "no"}).status_code == 400
    assert hub.registry_token("ada", "repository:ada/x:pull", secret=secret)[0] == 401
    with hub.api("ada") as c:
        assert c.delete(f"/v2/access-tokens/{uuid}").status_code == 204
        assert c.get(f"/v2/access-tokens/{uuid}").status_code == 404
    hub.add_user("eve")
    with hub.api("eve") as c:
        assert c.get(f"/v2/access-tokens/{uuid}").status_code == 404   # never someone else's


def test_refresh_tokens_from_an_access_token_die_with_it(hub):
    """docker login keeps a refresh token (its IdentityToken); revoking the access token it came from, or changing
    the password it came from, revokes it."""
    hub.add_user("rene")
    with hub.api("rene") as c:
        created = c.post("/v2/access-tokens", json={"token_label": "laptop", "scopes": ["repo:write"]}).json()

    def oauth(**form):
        return httpx.post(f"{hub.url}/token", data={"service": "dockyard-registry", "client_id": "docker", **form})

    from_token = oauth(grant_type="password", username="rene", password=created["token"], access_type="offline",
                       scope="repository:rene/app:pull,push").json()
    from_password = oauth(grant_type="password", username="rene", password=password("rene"),
                          access_type="offline").json()
    r = oauth(grant_type="refresh_token", refresh_token=from_token["refresh_token"], scope="repository:rene/app:push")
    assert r.status_code == 200 and r.json()["scope"] == "repository:rene/app:push"
    with hub.api("rene") as c:
        c.patch(f"/v2/access-tokens/{created['uuid']}", json={"is_active": False})
    assert oauth(grant_type="refresh_token", refresh_token=from_token["refresh_token"]).status_code == 401
    assert oauth(grant_type="refresh_token", refresh_token=from_password["refresh_token"]).status_code == 200
    hub.user_cli("passwd", "rene", "--password-stdin", input="rene-new-password\n")
    assert oauth(grant_type="refresh_token", refresh_token=from_password["refresh_token"]).status_code == 401


def test_only_a_hash_of_secrets_is_stored(hub):
    hub.add_user("hashy")
    with hub.api("hashy") as c:
        secret = c.post("/v2/access-tokens", json={"token_label": "t"}).json()["token"]
    assert os.stat(f"{hub.storage}/hub.db").st_mode & 0o077 == 0          # owner-only
    dump = "\n".join(sqlite3.connect(f"{hub.storage}/hub.db").iterdump())
    assert secret not in dump and password("hashy") not in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump


# ---------- CSRF on the session cookie ----------
def test_cookie_changes_need_the_csrf_token(hub):
    """The web UI's session cookie authenticates API calls; a change without the session's CSRF token is 403."""
    hub.add_user("cookie")
    # the session the sign-in page would make, made by the same code in this process (the database is shared)
    config = hub_config.HubConfig(bcrypt_rounds=4)
    store = Store(f"{hub.storage}/hub.db")
    session_id, csrf = Sessions(store, Accounts(store, config), config).create("cookie")
    with httpx.Client(base_url=hub.url, cookies={"dockyard_session": session_id}) as c:
        assert c.get("/v2/user/").json()["username"] == "cookie"
        r = c.post("/v2/namespaces/cookie/repositories", json={"name": "csrf-less"})
        assert r.status_code == 403 and "CSRF" in message(r)
        r = c.post("/v2/namespaces/cookie/repositories", json={"name": "csrf-less"}, headers={"X-CSRFToken": "wrong"})
        assert r.status_code == 403
        r = c.post("/v2/namespaces/cookie/repositories", json={"name": "with-csrf"}, headers={"X-CSRFToken": csrf})
        assert r.status_code == 201
    assert json.loads(httpx.get(f"{hub.url}/v2/namespaces/cookie/repositories").text)["count"] == 1
    # a password change ends the user's sessions
    hub.user_cli("passwd", "cookie", "--password-stdin", input="changed-password\n")
    with httpx.Client(base_url=hub.url, cookies={"dockyard_session": session_id}) as c:
        assert c.get("/v2/user/").status_code == 401


# ---------- registry routes that were there before the Hub ----------
def test_old_hub_routes_still_answer(hub):
    hub.add_user("olduser")
    img = Image([b"old routes"])
    hub.push("olduser", "olduser/legacy", "v1", img)
    with hub.api("olduser") as c:
        r = c.patch("/v2/repositories/olduser/legacy/", json={"description": "short"})
        assert r.status_code == 200 and r.json()["description"] == "short"
        assert c.get("/v2/repositories/olduser/legacy/tags/").json()["results"][0]["digest"] == img.digest


def test_official_images_are_pushed_by_admins_and_shown_as_library(make_hub):
    srv = make_hub({"hub": {"admins": ["root"]}})
    srv.add_user("root")
    srv.add_user("joe")
    assert srv.registry_token("joe", "repository:busybox:pull,push")[1] == []
    img = srv.push("root", "busybox", "1")
    with srv.api() as c:
        r = c.get("/v2/repositories/library/busybox/")
        assert r.status_code == 200 and r.json()["is_official"] is True and r.json()["namespace"] == "library"
        assert c.get("/v2/repositories/library/busybox/tags/1/").json()["digest"] == img.digest
        assert c.get("/v2/repositories/busybox/").status_code == 200        # the registry's older top-level form
        found = c.get("/v1/search", params={"q": "busybox"}).json()["results"]
        assert found == [{"name": "busybox", "description": "", "star_count": 0, "pull_count": 0,
                          "is_official": True, "is_automated": False, "is_trusted": False}]
    assert srv.registry_token("joe", "repository:busybox:pull,push")[1] == ["pull"]


def test_bad_hub_configuration_is_refused_with_its_key(tmp_path):
    for section, words in (({"webhook_retries": "lots"}, "hub.webhook_retries must be a whole number, not 'lots'"),
                           ({"login_lockout": "soon"}, "hub.login_lockout must be a duration like 5s, 10m or 14d"),
                           ({"bcrypt_rounds": 2}, "hub.bcrypt_rounds must be between 4 and 31")):
        (tmp_path / "config.yml").write_text(json.dumps({"hub": section}))
        p = subprocess.run([sys.executable, "-m", "dockyard", "registry", "serve", "--hub", "--listen", "127.0.0.1:1",
                            "--storage", str(tmp_path / "st"), "--config", str(tmp_path / "config.yml")],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 1 and f"Error: invalid hub configuration: {words}" in p.stderr, p.stderr


def test_deleting_a_repository_removes_its_tags_from_the_registry(hub):
    hub.add_user("dana")
    img = hub.push("dana", "dana/gone", "1")
    with hub.api("dana") as c:
        assert c.get("/v2/namespaces/dana/repositories/gone/tags", params={"name": "1"}).json()["count"] == 1
        assert c.delete("/v2/repositories/dana/gone/").status_code == 202
        assert c.get("/v1/search", params={"q": "dana/gone"}).json()["num_results"] == 0
    with hub.v2("dana", "dana/gone") as v2:
        r = v2.get("/v2/dana/gone/manifests/1")
        assert r.status_code == 404 and r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    hub.push("dana", "dana/gone", "2", img)            # the owner may push it again: a new repository
    with hub.api() as c:
        r = c.get("/v2/repositories/dana/gone/tags/")
        assert [t["name"] for t in r.json()["results"]] == ["2"] and r.json()["results"][0]["digest"] == img.digest
