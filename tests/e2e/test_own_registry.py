"""dockyard's own CLI and daemon against dockyard's own registry server (`dockyard registry serve`), with
htpasswd auth, like the notes' private registry on port 5000."""
from __future__ import annotations

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


@pytest.fixture
def own_registry(tmp_path):
    users = tmp_path / "users.htpasswd"
    users.write_text(f"alice:{bcrypt.hashpw(b'alice-pw', bcrypt.gensalt(4)).decode()}\n")
    config = {"auth": {"htpasswd": {"realm": "dockyard", "path": str(users)}},
              "access": {"default": {"public": True, "pull": ["*"], "push": []},
                         "repositories": [{"match": "team/*", "public": True, "pull": ["*"], "push": ["alice"]}]}}
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "registry.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "registry", "serve", "--listen", f"127.0.0.1:{port}",
                             "--storage", str(tmp_path / "storage"), "--config", str(tmp_path / "config.yml")],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
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



