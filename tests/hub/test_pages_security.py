"""Hub pages and security: the pages part of the rights matrix, CSRF refusals, sessions' cookie flags, and
script injection attempts through every piece of user text the pages show (seen in a real Chromium)."""
from __future__ import annotations

import pytest

from pathlib import Path

from dockyard.hub.store import Store
from pages_browser import Browser, FormClient

PW = "a-good-password"
ROLES = ["anonymous", "owner", "reader", "writer", "admin", "teammate", "outsider"]


@pytest.fixture(scope="module")
def site(hub):
    """The module's Hub with a signed-in FormClient per role and the repositories of the matrix."""
    server = hub
    clients: dict[str, FormClient] = {}
    try:
        for role in ROLES:
            clients[role] = FormClient(server.url)
            if role != "anonymous":
                clients[role].sign_up(role, PW)
        owner = clients["owner"]
        # A private personal repository with read, write and admin collaborators.
        r = owner.post("/repository/create", {"namespace": "owner", "name": "secret", "visibility": "private",
                                              "description": "top secret"}, owner.token("/repository/create"))
        assert r.status_code == 303 and r.headers["Location"] == "/r/owner/secret"
        for who, perm in (("reader", "read"), ("writer", "write"), ("admin", "admin")):
            r = owner.post("/r/owner/secret/settings/access", {"name": who, "permission": perm},
                           owner.token("/r/owner/secret/settings"))
            assert r.status_code == 303, r.text[:300]
        # An organization (owned by owner) whose team "devs" (teammate) may read its private repository.
        store = Store(str(Path(server.storage) / "hub.db"))
        store.create_org("acme", "owner")
        team = store.create_team("acme", "devs")
        store.add_team_member(team["id"], "teammate")
        store.close()
        r = owner.post("/repository/create", {"namespace": "acme", "name": "tool", "visibility": "private"},
                       owner.token("/repository/create"))
        assert r.status_code == 303, r.text[:300]
        r = owner.post("/r/acme/tool/settings/access", {"name": "devs", "permission": "read"},
                       owner.token("/r/acme/tool/settings"))
        assert r.status_code == 303, r.text[:300]
        yield server, clients
    finally:
        for c in clients.values():
            c.close()


# (role, repository) -> (sees it in the UI, may change its settings)
EXPECTED = {
    ("anonymous", "owner/secret"): (False, False), ("owner", "owner/secret"): (True, True),
    ("reader", "owner/secret"): (True, False), ("writer", "owner/secret"): (True, False),
    ("admin", "owner/secret"): (True, True), ("outsider", "owner/secret"): (False, False),
    ("teammate", "owner/secret"): (False, False),
    ("anonymous", "acme/tool"): (False, False), ("owner", "acme/tool"): (True, True),
    ("teammate", "acme/tool"): (True, False), ("reader", "acme/tool"): (False, False),
    ("outsider", "acme/tool"): (False, False),
}


@pytest.mark.parametrize("role,repo", sorted(EXPECTED))
def test_rights_matrix_in_the_pages(site, role, repo):
    server, clients = site
    c = clients[role]
    sees, changes = EXPECTED[(role, repo)]
    page = c.http.get(f"/r/{repo}")
    tags = c.http.get(f"/r/{repo}/tags")
    assert (page.status_code, tags.status_code) == ((200, 200) if sees else (404, 404))
    if not sees:
        assert "Page not found" in page.text and "top secret" not in page.text
    search = c.http.get("/search", params={"q": repo.split("/")[1]})
    assert (repo in search.text) == sees
    ns_page = c.http.get(f"/{'orgs' if repo.startswith('acme') else 'u'}/{repo.split('/')[0]}")
    assert (f'href="/r/{repo}"' in ns_page.text) == sees
    settings = c.http.get(f"/r/{repo}/settings")
    if role == "anonymous":
        assert settings.status_code == 303 and settings.headers["Location"].startswith("/login")
    else:
        assert settings.status_code == (200 if changes else 403 if sees else 404)
    # Changing the description with the viewer's own valid CSRF token: only admins get through.
    token = c.token("/login" if role == "anonymous" else "/")
    r = c.post(f"/r/{repo}/settings/general", {"description": f"changed by {role}", "full_description": ""}, token)
    after = clients["owner"].http.get(f"/r/{repo}").text
    assert (f"changed by {role}" in after) == changes
    if not changes:
        assert r.status_code in (303, 403, 404) and (r.status_code != 303 or role == "anonymous")


def test_form_posts_without_or_with_a_wrong_csrf_token_change_nothing(site):
    server, clients = site
    owner, outsider = clients["owner"], clients["outsider"]
    path = "/r/owner/secret/settings/visibility"
    for token in (None, "", "not-the-token", outsider.token("/")):   # missing, empty, wrong, another session's
        r = owner.post(path, {"visibility": "public"}, token)
        assert r.status_code == 403 and "CSRF" in r.text
    anon = FormClient(server.url)
    try:
        assert "owner/secret" not in anon.http.get("/search", params={"q": "secret"}).text   # still private
        # Anonymous forms: sign-in without the double-submit cookie's value is refused too.
        r = anon.post("/login", {"username": "owner", "password": PW}, "forged")
        assert r.status_code == 403 and "dockyard_session" not in r.headers.get("set-cookie", "")
    finally:
        anon.close()
    r = owner.post(path, {"visibility": "private"}, owner.token("/r/owner/secret/settings"))
    assert r.status_code == 303
    # Sign-out is a form too: a forged one leaves the session alive.
    assert owner.post("/logout", {}, "forged").status_code == 403
    assert owner.http.get("/r/owner/secret").status_code == 200


def test_sign_in_failures_and_the_session_cookie(site):
    server, _ = site
    c = FormClient(server.url)
    try:
        r = c.post("/login", {"username": "owner", "password": "wrong-password", "next": "/"}, c.token("/login"))
        assert r.status_code == 401 and "Incorrect username or password." in r.text
        r = c.post("/login", {"username": "owner", "password": PW, "next": "https://evil.example/"},
                   c.token("/login"))
        assert r.status_code == 303 and r.headers["Location"] == "/"        # no open redirect
        cookie = r.headers["set-cookie"]
        assert "dockyard_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        r = c.post("/logout", {}, c.token("/"))
        assert r.status_code == 303
        assert c.http.get("/r/owner/secret").status_code == 404          # signed out
    finally:
        c.close()


XSS = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


def test_user_text_is_never_markup(site, tmp_path):
    server, clients = site
    owner = clients["owner"]
    token = owner.token("/repository/create")
    r = owner.post("/repository/create", {"namespace": "owner", "name": "xss", "visibility": "public",
                                          "description": "<script>document.title='pwned'</script>"}, token)
    assert r.status_code == 303
    readme = (f"# Title\n\n{XSS}\n\n[click](javascript:document.title='pwned')\n\n"
              "<a href=\"javascript:document.title='pwned'\">a link</a> <b onmouseover=\"x()\">bold</b>\n\n"
              "<iframe src=\"/\"></iframe><style>body{display:none}</style>")
    r = owner.post("/r/owner/xss/settings/general", {"description": XSS[:99], "full_description": readme},
                   owner.token("/r/owner/xss/settings"))
    assert r.status_code == 303
    r = owner.post("/r/owner/xss/settings/webhooks", {"name": "<b>hook</b>", "url": "http://127.0.0.1:9/<x>"},
                   owner.token("/r/owner/xss/settings"))
    assert r.status_code == 303
    r = owner.post("/settings/security", {"label": "<script>x</script>", "scope": "repo:read"},
                   owner.token("/settings/security"))
    assert r.status_code == 200 and "&lt;script&gt;x&lt;/script&gt;" in r.text

    browser = Browser(server.url, tmp_path, "xss")
    try:
        # Put the owner's session into the browser, then look at every page showing that text.
        browser.open("/")
        browser.driver.add_cookie({"name": "dockyard_session", "value": owner.http.cookies["dockyard_session"],
                                   "path": "/"})
        for path in ("/r/owner/xss", "/search?q=xss", "/u/owner", "/", "/r/owner/xss/settings",
                     "/settings/security", "/search?q=" + "%3Cscript%3Edocument.title%3D'pwned'%3C%2Fscript%3E"):
            browser.open(path)
            assert browser.driver.title != "pwned", path
            found = browser.driver.execute_script(
                "return document.querySelectorAll('main script, main iframe, main style, [onerror], [onmouseover],"
                " a[href^=\"javascript:\"]').length")
            assert found == 0, path
        browser.open("/r/owner/xss")
        text = browser.text()
        assert "<img src=x onerror=" in text                  # the description, shown as the text it is
        assert "a link" in text and "bold" in text and "Title" in text   # README kept its harmless parts
        browser.screenshot("xss-repository")
        browser.open("/r/owner/xss/settings")
        assert "<b>hook</b>" in browser.text()
    finally:
        browser.close()


def test_only_organization_owners_change_teams(site):
    server, clients = site
    for role in ("teammate", "outsider"):
        c = clients[role]
        r = c.post("/orgs/acme/teams", {"name": f"by-{role}", "description": ""}, c.token("/"))
        assert r.status_code == 404
        r = c.post("/orgs/acme/teams/members", {"team": "devs", "member": role}, c.token("/"))
        assert r.status_code == 404
    teams = clients["owner"].http.get("/orgs/acme/teams").text
    assert "by-teammate" not in teams and "by-outsider" not in teams and "outsider" not in teams
    owner = clients["owner"]
    r = owner.post("/orgs/acme/teams", {"name": "ops", "description": "<i>night shift</i>"}, owner.token("/"))
    assert r.status_code == 303
    assert "&lt;i&gt;night shift&lt;/i&gt;" in owner.http.get("/orgs/acme/teams").text
