"""Account pages in a real Chromium: access tokens (secret shown once, works as the registry password, revocable),
password change, sign out/in, organization pages (teams and members for members only), pages at phone width."""
from __future__ import annotations

import httpx
import pytest

from pages_browser import Browser


@pytest.fixture(scope="module")
def site(hub, tmp_path_factory):
    """The module's Hub and a maker of browsers (each a person with their own profile)."""
    server, base = hub, tmp_path_factory.mktemp("shots")
    browsers = []

    def browser(name):
        b = Browser(server.url, base, name)
        browsers.append(b)
        return b
    try:
        yield server, browser, base
    finally:
        for b in browsers:
            b.close()


def registry_login(server, user: str, secret: str) -> int:
    """What `docker login` does: the token service with Basic credentials."""
    r = httpx.get(f"{server.url}/token", params={"account": user}, auth=(user, secret))
    return r.status_code


def test_access_token_is_shown_once_works_for_login_and_can_be_revoked(site):
    server, browser, _ = site
    dora = browser("dora")
    dora.sign_up("dora", "dora-password-1")
    dora.follow("Access tokens")
    assert dora.heading() == "Personal access tokens" and "No tokens yet." in dora.text()
    dora.fill("Description", "laptop").choose("Read & Write").press("Generate")
    text = dora.text()
    assert "Copy your token now: it will not be shown again." in text
    secret = dora.driver.find_element("id", "new-token").text
    assert secret.startswith("dckr_pat_")
    assert f"docker login {server.host} -u dora" in text
    dora.screenshot("token-created")
    assert registry_login(server, "dora", secret) == 200
    dora.open("/settings/security")
    text = dora.text()
    assert secret not in text and "laptop" in text and "repo:write" in text
    dora.press("Revoke laptop")
    assert "No tokens yet." in dora.text()
    assert registry_login(server, "dora", secret) == 401


def test_password_change_keeps_you_signed_in_and_the_old_password_stops_working(site):
    server, browser, _ = site
    eve = browser("eve")
    eve.sign_up("evelyn", "first-password")
    eve.follow("Password")
    eve.fill("Current password", "not-it-at-all").fill("New password", "second-password").press("Change password")
    assert "Current password is incorrect." in eve.text()
    eve.fill("Current password", "first-password").fill("New password", "second-password").press("Change password")
    assert "Your password was changed." in eve.text()
    assert "Sign out" in [b.text for b in eve.driver.find_elements("tag name", "button")]   # still signed in
    eve.press("Sign out")
    assert "Sign in" in eve.links()
    eve.sign_in("evelyn", "first-password")
    assert "Incorrect username or password." in eve.text()
    eve.sign_in("evelyn", "second-password")
    assert eve.path == "/" and "evelyn" in eve.links()


def test_organizations_teams_and_members_in_the_pages(site):
    server, browser, _ = site
    owner, member, stranger = browser("orgowner"), browser("orgmember"), browser("stranger")
    owner.sign_up("oscar", "oscar-password")
    member.sign_up("mia", "mia-password-1")
    stranger.sign_up("sam", "sam-password-1")
    # oscar creates the organization, a team, and puts mia in it.
    owner.open("/u/oscar")
    owner.follow("Create organization")
    owner.fill("Organization name", "initech").fill("Full name", "Initech Inc.").press("Create")
    assert owner.path == "/orgs/initech/teams" and "No teams to show." in owner.text()
    owner.fill("Team name", "printers").fill("Team description", "Fixes the printers").press("Create team")
    owner.fill("Add a member to printers", "nobody-here").press("Add member to printers")
    assert "User nobody-here does not exist." in owner.text()
    owner.fill("Add a member to printers", "mia").press("Add member to printers")
    assert "mia" in owner.driver.find_element("css selector", '[aria-label="Team printers"]').text
    owner.screenshot("org-teams")
    # A private organization repository that the team may read.
    owner.open("/repository/create")
    owner.fill("Namespace", "initech").fill("Repository name", "tps").choose("Public").press("Create")
    assert owner.path == "/r/initech/tps"
    owner.open("/repository/create")
    owner.fill("Namespace", "initech").fill("Repository name", "reports").choose("Private").press("Create")
    owner.follow("Settings")
    owner.fill("Team name", "printers").fill("Permission", "Read").press("Add team")
    assert "printers" in owner.text()
    member.open("/r/initech/reports")
    assert "initech/reports" in member.heading() and "Settings" not in member.links()
    stranger.open("/r/initech/reports")
    assert stranger.heading() == "Page not found"
    # Members see teams and members; others see neither, and cannot change them.
    for person in (owner, member):
        person.open("/orgs/initech/teams")
        assert "printers" in person.text() and "Fixes the printers" in person.text() and "mia" in person.text()
        person.open("/orgs/initech/members")
        assert "oscar" in person.text() and "mia" in person.text()
    member.open("/orgs/initech/teams")
    assert "Create team" not in member.text()                 # a member is not an owner
    stranger.open("/orgs/initech")
    assert "initech/tps" in stranger.text() and "initech/reports" not in stranger.text()
    stranger.open("/orgs/initech/teams")
    assert "No teams to show." in stranger.text() and "printers" not in stranger.text()
    stranger.open("/orgs/initech/members")
    assert "No members to show." in stranger.text() and "mia" not in stranger.text()
    stranger.open("/u/initech")
    assert stranger.heading() == "Page not found"
    stranger.open("/repository/create")
    assert "initech" not in [o.text for o in stranger.field("Namespace").find_elements("tag name", "option")]
    # mia, removed from the team, loses the private repository.
    owner.open("/orgs/initech/teams")
    owner.press("Remove mia from printers")
    member.open("/r/initech/reports")
    assert member.heading() == "Page not found"


def test_pages_fit_a_phone_screen(site):
    server, browser, base = site
    phone = browser("phone")
    phone.phone()
    for path in ("/", "/search?q=tps", "/r/initech/tps", "/r/initech/tps/tags", "/login", "/signup"):
        phone.open(path)
        assert phone.heading() and phone.heading() != "Page not found", path
        fits = phone.driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, path
    phone.screenshot("repository-phone")


def test_official_images_live_at_underscore_urls(make_hub, tmp_path):
    """An image a site admin pushes as `busybox` is library/busybox: official, at /_/busybox, on the home page."""
    server = make_hub({"hub": {"admins": ["root"]}})
    server.add_user("root")
    server.push("root", "busybox", "1.36")
    person = Browser(server.url, tmp_path, "visitor")
    try:
        person.open("/")
        official = person.driver.find_element("xpath", "//h2[.='Official images']/following-sibling::ul[1]").text
        assert "busybox" in official and "Docker Official Image" in official
        person.follow("busybox")
        assert person.path == "/_/busybox" and "Docker Official Image" in person.text()
        assert f"docker pull {server.host}/busybox" in person.text()
        person.follow("Tags")
        assert person.path == "/_/busybox/tags" and "1.36" in person.text()
        person.open("/search?q=busy")
        assert "busybox" in person.text() and "Docker Official Image" in person.text()
        person.open("/r/library/busybox/tags")
        assert person.path == "/_/busybox/tags"          # official images have one address, /_/
    finally:
        person.close()
