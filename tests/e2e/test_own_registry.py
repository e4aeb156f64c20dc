"""dockyard's own CLI and daemon against dockyard's own registry server (`dockyard registry serve`), with
htpasswd auth, like the notes' private registry on port 5000."""
from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import time

import bcrypt
import httpx
import pytest
import yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(workdir, config: dict) -> tuple[str, subprocess.Popen]:
    """`dockyard registry serve` on a free loopback port; its access log goes to workdir/registry.log."""
    (workdir / "config.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(workdir / "registry.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "registry", "serve", "--listen", f"127.0.0.1:{port}",
                             "--storage", str(workdir / "storage"), "--config", str(workdir / "config.yml")],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    return f"127.0.0.1:{port}", proc


def write_users(path) -> str:
    path.write_text(f"alice:{bcrypt.hashpw(b'alice-pw', bcrypt.gensalt(4)).decode()}\n")
    return str(path)


TEAM_ACCESS = {"default": {"public": True, "pull": ["*"], "push": []},
               "repositories": [{"match": "team/*", "public": True, "pull": ["*"], "push": ["alice"]}]}


@pytest.fixture
def own_registry(tmp_path):
    users = write_users(tmp_path / "users.htpasswd")
    host, proc = start_registry(tmp_path, {"auth": {"htpasswd": {"realm": "dockyard", "path": users}},
                                           "access": TEAM_ACCESS})
    yield host
    proc.terminate()
    proc.wait(10)


def test_login_push_pull_search_logout_with_our_cli(daemon, own_registry, tmp_path):
    env = {"DOCKER_CONFIG": str(tmp_path / "dockercfg")}
    repo = f"{own_registry}/team/box"
    p = daemon.dockyard("push", f"{own_registry}/team/nologin:1", check=False, env=env)
    assert p.returncode != 0  # no such local image, and no login either
    p = daemon.dockyard("login", own_registry, "-u", "alice", "--password-stdin", input="wrong\n", check=False, env=env)
    assert p.returncode == 1
    out = daemon.dockyard("login", own_registry, "-u", "alice", "--password-stdin", input="alice-pw\n", env=env).stdout
    assert "Login Succeeded" in out
    daemon.dockyard("tag", "busybox", f"{repo}:1")
    try:
        pushed = daemon.dockyard("push", f"{repo}:1", env=env).stdout
        assert re.search(r"1: digest: sha256:[0-9a-f]{64} size: \d+", pushed)
        again = daemon.dockyard("push", f"{repo}:1", env=env).stdout
        assert "Layer already exists" in again
        assert pushed.split("digest: ")[1].split()[0] == again.split("digest: ")[1].split()[0]  # stable digest
        daemon.dockyard("rmi", f"{repo}:1")
        pulled = daemon.dockyard("pull", f"{repo}:1", env=env).stdout
        assert "Digest: sha256:" in pulled and f"Status: Downloaded newer image for {repo}:1" in pulled
        assert daemon.dockyard("run", "--rm", f"{repo}:1", "echo", "pulled-and-ran", env=env).stdout == "pulled-and-ran\n"
        found = daemon.dockyard("search", f"{own_registry}/box", env=env).stdout.splitlines()
        assert found[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
        assert any(l.split()[0].endswith("team/box") for l in found[1:])
        # the real docker CLI reads the same ~/.docker/config.json login
        assert "Layer already exists" in daemon.docker("push", f"{repo}:1", env=env).stdout
    finally:
        daemon.dockyard("rmi", f"{repo}:1", check=False)
    out = daemon.dockyard("logout", own_registry, env=env).stdout
    assert f"Removing login credentials for {own_registry}" in out
    p = daemon.dockyard("push", f"{own_registry}/team/box:2", check=False, env=env)
    assert p.returncode != 0





def test_docker_login_to_our_token_service_keeps_an_identity_token(daemon, tmp_path):
    """docker login against our token service stores an identitytoken (a refresh token) instead of the
    password; pushes and pulls then trade it for access tokens with grant_type=refresh_token (OAuth2 POST)."""
    users = write_users(tmp_path / "users.htpasswd")
    host, proc = start_registry(tmp_path, {"auth": {"token": {"service": "own", "htpasswd": users}},
                                           "access": TEAM_ACCESS})
    env = {"DOCKER_CONFIG": str(tmp_path / "dockercfg")}
    ref = f"{host}/team/identity:1"
    try:
        out = daemon.docker("login", host, "-u", "alice", "--password-stdin", input="alice-pw\n", env=env).stdout
        assert "Login Succeeded" in out
        entry = json.loads((tmp_path / "dockercfg" / "config.json").read_text())["auths"][host]
        assert entry["identitytoken"] and base64.b64decode(entry["auth"]) == b"alice:"
        ours = {"DOCKER_CONFIG": str(tmp_path / "dockyardcfg")}
        daemon.dockyard("login", host, "-u", "alice", "--password-stdin", input="alice-pw\n", env=ours)
        our_entry = json.loads((tmp_path / "dockyardcfg" / "config.json").read_text())["auths"][host]
        assert our_entry["identitytoken"] and base64.b64decode(our_entry["auth"]) == b"alice:"  # as docker writes it
        logged_in = len(token_requests(tmp_path))
        daemon.docker("tag", "busybox", ref)
        assert daemon.docker("push", ref, env=env).stdout.splitlines()[-1].startswith("1: digest: sha256:")
        daemon.docker("rmi", ref)
        assert daemon.docker("pull", ref, env=env).stdout.splitlines()[-1] == ref
        since_login = token_requests(tmp_path)[logged_in:]
        assert since_login and {(e["method"], e["status"]) for e in since_login} == {("POST", 200)}
        bad = daemon.docker("login", host, "-u", "alice", "--password-stdin", input="wrong\n", check=False, env=env)
        assert bad.returncode == 1 and "unauthorized: incorrect username or password" in bad.stderr
    finally:
        daemon.docker("rmi", ref, check=False)
        proc.terminate()
        proc.wait(10)


def token_requests(workdir) -> list[dict]:
    entries = [json.loads(l) for l in (workdir / "registry.log").read_text().splitlines() if l.startswith("{")]
    return [e for e in entries if e["route"] == "token"]
