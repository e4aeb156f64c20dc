"""Real clients against a Hub: the docker CLI (through a dockyard daemon) with passwords and access tokens and
the rights of owner / collaborator / outsider / anonymous; skopeo and podman with a personal access token."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from hub_helpers import Image, oci_layout, password, skopeo, tar_layer


def _env(tmp_path, who: str) -> dict:
    return {"DOCKER_CONFIG": str(tmp_path / f"docker-{who}")}


def _login(daemon, host, user, secret, tmp_path, who=None):
    return daemon.docker("login", host, "-u", user, "--password-stdin", input=secret + "\n",
                         env=_env(tmp_path, who or user), check=False)


def _token(hub, user, scopes) -> str:
    with hub.api(user) as c:
        r = c.post("/v2/access-tokens", json={"token_label": f"{user} {scopes}", "scopes": scopes})
        assert r.status_code == 201
        return r.json()["token"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a dockyard daemon)")
def test_docker_cli_login_push_pull_with_hub_rights(daemon, hub, tmp_path):
    for user in ("dora", "dan", "dirk", "wes", "tess"):
        hub.add_user(user)
    ref = f"{hub.host}/dora/app:1"
    try:
        bad = _login(daemon, hub.host, "dora", "wrong-password", tmp_path)
        assert bad.returncode == 1 and "unauthorized: incorrect username or password" in bad.stderr
        assert "Login Succeeded" in _login(daemon, hub.host, "dora", password("dora"), tmp_path).stdout
        daemon.docker("tag", "busybox", ref)
        out = daemon.docker("push", ref, env=_env(tmp_path, "dora")).stdout
        assert out.splitlines()[-1].startswith("1: digest: sha256:")
        with hub.api("dora") as c:      # the push created it (public, Docker Hub's default); make it private
            assert c.get("/v2/repositories/dora/app/").json()["last_pusher"] == "dora"
            c.patch("/v2/repositories/dora/app/", json={"is_private": True})
            c.post("/v2/repositories/dora/app/collaborators/", json={"user": "dan", "permission": "read"})
        daemon.docker("rmi", ref)

        # dan (read): pulls, cannot push
        assert _login(daemon, hub.host, "dan", password("dan"), tmp_path).returncode == 0
        pulled = daemon.docker("pull", ref, env=_env(tmp_path, "dan")).stdout
        assert pulled.splitlines()[-1] == ref
        denied = daemon.docker("push", ref, env=_env(tmp_path, "dan"), check=False)
        assert denied.returncode == 1 and "denied: requested access to the resource is denied" in denied.stderr
        daemon.docker("rmi", ref)

        # dirk (outsider) and anonymous: exactly what a repository that does not exist answers
        assert _login(daemon, hub.host, "dirk", password("dirk"), tmp_path).returncode == 0
        for who in ("dirk", "anonymous"):
            real = daemon.docker("pull", ref, env=_env(tmp_path, who), check=False)
            ghost = daemon.docker("pull", f"{hub.host}/dora/ghost:1", env=_env(tmp_path, who), check=False)
            assert real.returncode == ghost.returncode == 1
            assert real.stderr.replace("dora/app", "dora/ghost") == ghost.stderr, (real.stderr, ghost.stderr)
            assert "app" not in ghost.stderr

        # wes (collaborator, write) and tess (team member with write on an organization's repository) push
        with hub.api("dora") as c:
            c.post("/v2/repositories/dora/app/collaborators/", json={"user": "wes", "permission": "write"})
            c.post("/v2/orgs/", json={"orgname": "dorg"})
            team = c.post("/v2/orgs/dorg/groups", json={"name": "pushers"}).json()
            c.post("/v2/orgs/dorg/groups/pushers/members", json={"member": "tess"})
            c.post("/v2/namespaces/dorg/repositories", json={"name": "svc", "is_private": True})
            c.post("/v2/repositories/dorg/svc/groups/", json={"group_id": team["id"], "permission": "write"})
        for who, target in (("wes", f"{hub.host}/dora/app:wes"), ("tess", f"{hub.host}/dorg/svc:tess")):
            assert _login(daemon, hub.host, who, password(who), tmp_path).returncode == 0
            daemon.docker("tag", "busybox", target)
            pushed = daemon.docker("push", target, env=_env(tmp_path, who))
            assert pushed.stdout.splitlines()[-1].startswith(f"{target.rsplit(':', 1)[1]}: digest: sha256:")
            daemon.docker("rmi", target)
        denied = daemon.docker("pull", f"{hub.host}/dorg/svc:tess", env=_env(tmp_path, "wes"), check=False)
        assert denied.returncode == 1 and "denied: requested access to the resource is denied" in denied.stderr

        # an access token is a password for docker login; a repo:write token pushes
        token = _token(hub, "dora", ["repo:write"])
        assert "Login Succeeded" in _login(daemon, hub.host, "dora", token, tmp_path, who="dora-pat").stdout
        daemon.docker("tag", "busybox", f"{hub.host}/dora/app:2")
        assert daemon.docker("push", f"{hub.host}/dora/app:2", env=_env(tmp_path, "dora-pat")).returncode == 0
        with hub.api() as c:
            assert c.get("/v2/repositories/dora/app/tags/").status_code == 404          # still private
        with hub.api("dan") as c:
            tags = {t["name"]: t for t in c.get("/v2/repositories/dora/app/tags/").json()["results"]}
            assert set(tags) == {"1", "2", "wes"} and tags["2"]["last_updater_username"] == "dora"
            assert tags["wes"]["last_updater_username"] == "wes"
    finally:
        for r in (ref, f"{hub.host}/dora/app:2", f"{hub.host}/dora/app:wes", f"{hub.host}/dorg/svc:tess"):
            daemon.docker("rmi", r, check=False)


@pytest.fixture
def layout(tmp_path):
    return oci_layout(str(tmp_path / "layout"), {"1": Image([tar_layer({"hello.txt": b"pushed with a token\n"})])})


def test_skopeo_push_and_pull_with_an_access_token(hub, layout, tmp_path):
    hub.add_user("skip")
    write, read = _token(hub, "skip", ["repo:write"]), _token(hub, "skip", ["repo:read"])
    dest = f"docker://{hub.host}/skip/tool:1"
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"skip:{write}", f"oci:{layout}:1", dest)
    with hub.api("skip") as c:
        c.patch("/v2/repositories/skip/tool/", json={"is_private": True})
    skopeo("copy", "--src-tls-verify=false", "--src-creds", f"skip:{read}", dest, f"oci:{tmp_path}/out:1")
    assert json.loads((tmp_path / "out" / "index.json").read_text())["manifests"]
    p = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"skip:{read}", f"oci:{layout}:1",
               f"docker://{hub.host}/skip/tool:2", check=False)
    assert p.returncode != 0 and ("denied" in p.stderr or "unauthorized" in p.stderr), p.stderr
    p = skopeo("copy", "--src-tls-verify=false", dest, f"oci:{tmp_path}/anon:1", check=False)
    assert p.returncode != 0


def test_podman_login_push_pull_with_an_access_token(hub, layout, tmp_path):
    hub.add_user("pod")
    token = _token(hub, "pod", ["repo:admin"])
    runroot = tempfile.mkdtemp(prefix="pd", dir="/run")      # podman wants a run root under 50 characters
    store = ["--root", str(tmp_path / "root"), "--runroot", runroot, "--storage-driver", "vfs"]
    env = {"REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "HOME": str(tmp_path)}

    def podman(*args, input=None, check=True):
        p = subprocess.run(["podman", *store, *args], input=input, capture_output=True, text=True, env=env,
                           timeout=180)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed:\n{p.stderr}")
        return p

    try:
        out = podman("login", "--tls-verify=false", "-u", "pod", "--password-stdin", hub.host, input=token + "\n")
        assert "Login Succeeded" in out.stdout
        podman("pull", "--tls-verify=false", f"oci:{layout}:1")
        podman("tag", podman("images", "-q").stdout.split()[0], f"{hub.host}/pod/app:1")
        podman("push", "--tls-verify=false", f"{hub.host}/pod/app:1")
        with hub.api("pod") as c:
            c.patch("/v2/repositories/pod/app/", json={"is_private": True})
        podman("rmi", "-a", "-f")
        podman("pull", "--tls-verify=false", f"{hub.host}/pod/app:1")
        assert f"{hub.host}/pod/app" in podman("images", "--format", "{{.Repository}}").stdout
        podman("logout", hub.host)
        podman("rmi", "-a", "-f")
        assert podman("pull", "--tls-verify=false", f"{hub.host}/pod/app:1", check=False).returncode != 0
    finally:
        podman("rmi", "-a", "-f", check=False)
        shutil.rmtree(runroot, ignore_errors=True)
