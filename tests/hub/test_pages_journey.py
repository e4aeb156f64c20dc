"""The Hub in a real headless Chromium, end to end, as the issue tells it: alice signs up and creates a private
repository, pushes to it with the real docker CLI (through a dockyard daemon), sees the tag and its layers;
bob becomes a collaborator and pulls; carol and anonymous visitors get "not found"; stars, search, and a web
hook delivered to a receiver on 127.0.0.1 that shows up in the delivery history.

Screenshots of the main pages are saved under the test's temp dir (`shots/`)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from hub_helpers import Receiver
from pages_browser import Browser

PASSWORD = {"alice": "alice-secret-1", "bob": "bob-secret-22", "carol": "carol-secret-333"}


@pytest.fixture(scope="module")
def world(hub, daemon, tmp_path_factory):
    """The module's Hub, the session's dockyard daemon, browsers (one per person) and a web hook receiver."""
    base = tmp_path_factory.mktemp("hubweb")
    shots = base / "shots"
    shots.mkdir()
    browsers: list[Browser] = []
    receiver = Receiver()

    def browser(name: str) -> Browser:
        b = Browser(hub.url, shots, name)
        browsers.append(b)
        return b

    try:
        yield {"hub": hub, "daemon": daemon, "browser": browser, "shots": shots, "receiver": receiver, "base": base}
    finally:
        for b in browsers:
            b.close()
        receiver.close()
        print(f"screenshots: {shots}")


def docker_as(world, user: str):
    """The docker CLI with `user`'s own credential store (DOCKER_CONFIG)."""
    cfg = world["base"] / f"docker-{user}"
    cfg.mkdir(exist_ok=True)

    def run(*args, check=True, input=None):
        return world["daemon"].docker(*args, check=check, input=input, env={"DOCKER_CONFIG": str(cfg)})
    return run


def build_image(world, tag: str) -> None:
    """An image with layers worth exploring: a file changed and one deleted by later steps, a hostile label."""
    ctx = world["base"] / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(
        "FROM busybox\n"
        "RUN mkdir /data && echo one > /data/a && head -c 5000 /dev/zero > /data/big\n"
        "RUN echo changed > /data/a && rm /data/big\n"
        'LABEL org.example.note="<img src=x onerror=document.title=\'pwned\'>"\n')
    world["daemon"].docker("build", "-q", "-t", tag, str(ctx))   # the classic builder (DOCKER_BUILDKIT=0)


def test_private_repository_journey(world):
    hub, receiver = world["hub"], world["receiver"]
    host = hub.host
    alice = world["browser"]("alice")

    # Anonymous home page: search box, sign in.
    alice.open("/")
    assert "Find, share and run container images" in alice.text()
    assert "Sign in" in alice.links() and "Sign up" in alice.links()
    alice.screenshot("home-anonymous")

    # alice signs up (lands on her page, signed in) and creates a private repository.
    alice.sign_up("alice", PASSWORD["alice"])
    assert alice.path == "/u/alice" and alice.heading() == "alice"
    cookie = alice.cookie("dockyard_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    alice.follow("Create repository")
    alice.fill("Repository name", "app").fill("Short description", "Alice's app").choose("Private")
    alice.screenshot("create-repository")
    alice.press("Create")
    assert alice.path == "/r/alice/app"
    page = alice.text()
    assert "alice/app" in alice.heading() and "Private" in page
    assert f"docker push {host}/alice/app:tagname" in page          # push instructions after creating
    assert "No tags pushed yet." in page

    # bob and carol have accounts too.
    bob, carol, anon = world["browser"]("bob"), world["browser"]("carol"), world["browser"]("anonymous")
    bob.sign_up("bob", PASSWORD["bob"])
    carol.sign_up("carol", PASSWORD["carol"])

    # alice pushes with the real docker CLI (token auth against her Hub account).
    as_alice = docker_as(world, "alice")
    out = as_alice("login", host, "-u", "alice", "--password-stdin", input=PASSWORD["alice"] + "\n").stdout
    assert "Login Succeeded" in out
    build_image(world, f"{host}/alice/app:1")
    pushed = as_alice("push", f"{host}/alice/app:1").stdout
    digest = pushed.split("digest: ")[1].split()[0]

    # The tags page and the tag's layer explorer.
    alice.open("/r/alice/app/tags")
    tags_text = alice.text()
    assert "1 tag" in tags_text and "linux/amd64" in tags_text and digest.split(":")[1][:12] in tags_text
    assert "by alice" in tags_text
    alice.screenshot("tags")
    alice.follow("1")
    assert alice.path == "/r/alice/app/tags/1"
    text = alice.text()
    assert f"docker pull {host}/alice/app:1" in text and "Image layers (linux/amd64)" in text
    assert "Copy" in [b.text for b in alice.driver.find_elements("tag name", "button")]   # hub.js ran (CSP allows it)
    assert "RUN /bin/sh -c mkdir /data" in text and "RUN /bin/sh -c echo changed > /data/a && rm /data/big" in text
    assert "Wasted space by file" in text and "data/big" in text
    alice.driver.find_element("xpath", "//summary[contains(., 'echo changed')]").click()   # open that layer
    opened = alice.text()
    assert "Changed: 1 file" in opened and "Removed: 1 file, 5.00 KB" in opened
    assert "<img src=x onerror=document.title='pwned'>" in opened    # the label, shown as text
    assert alice.driver.title != "pwned"
    alice.screenshot("tag-layers")
    alice.phone()
    alice.open("/r/alice/app/tags/1")
    alice.screenshot("tag-layers-phone")
    alice.desktop()

    # Outsiders: the private repository does not exist for carol nor for anonymous visitors.
    for person in (carol, anon):
        for path in ("/r/alice/app", "/r/alice/app/tags", "/r/alice/app/tags/1", "/r/alice/app/settings"):
            person.open(path)
            assert person.heading() in ("Page not found", "Sign in"), (person.name, path)
            assert "Alice's app" not in person.text()
        person.open("/search?q=app")
        assert "alice/app" not in person.text() and "No repositories match" in person.text()
    carol.open("/r/alice/app")
    carol.screenshot("private-repo-outsider")
    as_carol = docker_as(world, "carol")
    as_carol("login", host, "-u", "carol", "--password-stdin", input=PASSWORD["carol"] + "\n")
    refused = as_carol("pull", f"{host}/alice/app:1", check=False)
    assert refused.returncode != 0

    # alice adds bob as a read collaborator in the settings page; bob pulls but cannot push.
    alice.open("/r/alice/app")
    alice.follow("Settings")
    alice.fill("Username", "bob").fill("Permission", "Read").press("Add collaborator")
    assert "bob" in alice.text() and "read" in alice.text()
    bob.open("/r/alice/app")
    assert "Alice's app" in bob.text() and "Settings" not in bob.links()
    as_bob = docker_as(world, "bob")
    as_bob("login", host, "-u", "bob", "--password-stdin", input=PASSWORD["bob"] + "\n")
    world["daemon"].docker("rmi", f"{host}/alice/app:1")
    pulled = as_bob("pull", f"{host}/alice/app:1").stdout
    assert f"Digest: {digest}" in pulled
    as_bob("tag", f"{host}/alice/app:1", f"{host}/alice/app:bob")
    assert as_bob("push", f"{host}/alice/app:bob", check=False).returncode != 0
    bob.open("/r/alice/app/settings")
    assert bob.heading() == "Permission denied"

    # bob stars it; search shows it to bob (with the star and the pulls), never to carol.
    bob.open("/r/alice/app")
    bob.press("Star (0)")
    assert "Unstar (1)" in [b.text for b in bob.driver.find_elements("tag name", "button")]
    bob.open("/")
    bob.fill("Search for images", "app").press("Search")
    assert bob.heading() == "Results for “app”"
    results = bob.text()
    assert "alice/app" in results and "1 star" in results and "Alice's app" in results
    assert re.search(r"\b[1-9]\d* pulls?\b", results)      # bob's pull was counted
    bob.screenshot("search")

    # A web hook: alice adds it; a push calls the receiver with Docker Hub's payload; the history shows it.
    alice.open("/r/alice/app/settings")
    alice.fill("Webhook name", "ci").fill("Webhook URL", receiver.url).press("Create webhook")
    assert receiver.url in alice.text() and "No deliveries yet." in alice.text()
    as_alice("tag", f"{host}/alice/app:1", f"{host}/alice/app:2")
    as_alice("push", f"{host}/alice/app:2")
    body = receiver.wait(1)[0]                  # the hook exists since this push only
    assert body["push_data"]["pusher"] == "alice" and body["repository"]["repo_name"] == "alice/app"

    def delivered(_):
        alice.driver.refresh()
        return "success" in alice.driver.find_element("css selector", '[aria-label="Webhook ci"]').text
    WebDriverWait(alice.driver, 30, poll_frequency=0.3).until(delivered)
    history = alice.driver.find_element("css selector", '[aria-label="Webhook ci"]').text
    assert "Delivery history" in history and "200" in history
    alice.screenshot("settings")

    # The overview page with a README set in the settings page.
    alice.fill("Overview (Markdown)", "# Alice's app\n\nRun it with `docker run app`.\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    alice.press("Save")
    alice.open("/r/alice/app")
    assert "Run it with docker run app." in alice.text()
    alice.screenshot("repository")
    shots = sorted(p.name for p in Path(world["shots"]).glob("*.png"))
    assert "alice-tag-layers.png" in shots and "bob-search.png" in shots
