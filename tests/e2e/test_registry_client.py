"""The real docker CLI against dockyard, pulling from and pushing to Debian's docker-registry on 127.0.0.1:
progress lines, digests, shared layers, platforms, docker login/logout, and failures that leave nothing
half-stored. (The registry client's own tests are in tests/registry_client/.)"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time

import pytest

from tests.registry_client.helpers import (DockerRegistry, Image, ThrottledProxy, busybox_layer, free_port,
                                           oci_layout, sha256, skopeo_copy, tar_layer, write_htpasswd)

from .daemon_harness import DOCKER, cleanup_daemon, new_daemon


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = DockerRegistry(tmp_path_factory.mktemp("e2e-registry")).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def bb(registry, tmp_path_factory) -> Image:
    """A busybox image (two layers) in the registry as library/busybox:latest."""
    img = Image([busybox_layer(), tar_layer({"etc/motd": b"pulled through dockyard\n"})], cmd=["sh"])
    skopeo_copy(oci_layout(tmp_path_factory.mktemp("bb"), "latest", [img]), "latest",
                f"{registry.host}/library/busybox:latest")
    return img


@pytest.fixture
def docker(daemon, tmp_path):
    """The docker CLI with a config dir of its own (logins stay inside the test)."""
    cfg = tmp_path / "docker-config"
    cfg.mkdir()

    def run(*args, check=True, input=None, timeout=180):
        return daemon.docker(*args, check=check, input=input, timeout=timeout, env={"DOCKER_CONFIG": str(cfg)})
    run.config_dir = cfg
    return run


def short(digest: str) -> str:
    return digest.split(":")[1][:12]


def test_pull_progress_digest_status_and_up_to_date(docker, registry, bb):
    ref = f"{registry.host}/library/busybox:latest"
    out = docker("pull", ref).stdout.splitlines()
    assert out[0] == "latest: Pulling from library/busybox"
    for layer in bb.layers:
        assert f"{short(sha256(layer))}: Pulling fs layer" in out
        assert f"{short(sha256(layer))}: Pull complete" in out
    assert out[-3:] == [f"Digest: {bb.digest}", f"Status: Downloaded newer image for {ref}", ref]
    inspect = json.loads(docker("image", "inspect", ref).stdout)[0]
    assert inspect["Id"] == bb.id and inspect["RootFS"]["Layers"] == bb.diff_ids
    assert inspect["RepoDigests"] == [f"{registry.host}/library/busybox@{bb.digest}"]

    again = docker("pull", ref).stdout.splitlines()
    assert [l for l in again if "Already exists" in l] == [f"{short(sha256(l))}: Already exists" for l in bb.layers]
    assert again[-2] == f"Status: Image is up to date for {ref}"

    by_digest = f"{registry.host}/library/busybox@{bb.digest}"
    out = docker("pull", by_digest).stdout.splitlines()
    assert out[0] == f"{bb.digest}: Pulling from library/busybox"
    assert out[-2:] == [f"Status: Image is up to date for {by_digest}", by_digest]
    assert bb.digest in docker("images", "--digests", f"{registry.host}/library/busybox").stdout


def test_pulled_image_runs(docker, registry, bb):
    docker("pull", f"{registry.host}/library/busybox:latest")
    out = docker("run", "--rm", f"{registry.host}/library/busybox:latest", "cat", "/etc/motd").stdout
    assert out == "pulled through dockyard\n"


def test_run_of_a_missing_image_pulls_it_first(docker, registry, tmp_path):
    """docker run: create answers "No such image", the CLI says so, pulls (progress on stderr), runs."""
    motd = tar_layer({"etc/motd": b"run pulled me first\n"})
    img = Image([busybox_layer(), motd], cmd=["sh"])
    skopeo_copy(oci_layout(tmp_path / "r", "v1", [img]), "v1", f"{registry.host}/run/missing:v1")
    ref = f"{registry.host}/run/missing:v1"
    try:
        r = docker("run", "--rm", ref, "cat", "/etc/motd")
        assert r.stdout == "run pulled me first\n"
        err = r.stderr.splitlines()
        assert err[0] == f"Unable to find image '{ref}' locally"
        assert err[1] == "v1: Pulling from run/missing"
        assert f"{short(sha256(img.layers[1]))}: Pull complete" in err   # the busybox layer may already exist
        assert err[-2:] == [f"Digest: {img.digest}", f"Status: Downloaded newer image for {ref}"]
        assert json.loads(docker("image", "inspect", ref).stdout)[0]["Id"] == img.id
    finally:
        docker("rmi", ref, check=False)


def test_pull_by_digest_into_empty_repository(docker, registry, bb, tmp_path):
    img = Image([tar_layer({"only-by-digest": b"x\n"})])
    skopeo_copy(oci_layout(tmp_path / "d", "v1", [img]), "v1", f"{registry.host}/digest/only:v1")
    ref = f"{registry.host}/digest/only@{img.digest}"
    out = docker("pull", ref).stdout.splitlines()
    assert out[-2] == f"Status: Downloaded newer image for {ref}"
    inspect = json.loads(docker("image", "inspect", ref).stdout)[0]
    assert inspect["RepoTags"] == [] and inspect["RepoDigests"] == [ref]


def test_push_twice_same_digest_and_shared_layers(docker, registry):
    """The loaded busybox pushed (gzip on the fly), pushed again (same digest), then into a second
    repository of the same registry (its layers mounted, not uploaded)."""
    base = f"{registry.host}/me/base:1"
    docker("tag", "busybox:latest", base)
    layers = json.loads(docker("image", "inspect", base).stdout)[0]["RootFS"]["Layers"]
    first = docker("push", base).stdout.splitlines()
    assert first[0] == f"The push refers to repository [{registry.host}/me/base]"
    for d in layers:
        assert f"{short(d)}: Preparing" in first and f"{short(d)}: Pushed" in first
    last = first[-1]
    assert last.startswith("1: digest: sha256:") and " size: " in last
    digest = last.split()[2]

    second = docker("push", base).stdout.splitlines()
    assert [f"{short(d)}: Layer already exists" for d in layers] == [l for l in second if "already exists" in l]
    assert second[-1] == last  # same manifest, same digest: compression is deterministic

    app = f"{registry.host}/me/app:1"
    docker("tag", base, app)
    third = docker("push", app).stdout.splitlines()
    assert [l for l in third if "Mounted from" in l] == [f"{short(d)}: Mounted from me/base" for d in layers]
    assert third[-1] == last
    # What the registry holds is what we said: skopeo (an independent client) agrees.
    got = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{app}"], capture_output=True,
                         text=True, check=True)
    assert json.loads(got.stdout)["Digest"] == digest
    assert f"{registry.host}/me/base@{digest}" in json.loads(docker("image", "inspect", base).stdout)[0]["RepoDigests"]


def test_pushed_image_pulls_back_on_a_fresh_daemon(fresh_daemon, registry, tmp_path):
    env = {"DOCKER_CONFIG": str(tmp_path)}
    ref = f"{registry.host}/round/trip:1"
    fresh_daemon.docker("tag", "busybox:latest", ref, env=env)
    fresh_daemon.docker("push", ref, env=env)
    image_id = json.loads(fresh_daemon.docker("image", "inspect", ref, env=env).stdout)[0]["Id"]
    fresh_daemon.docker("rmi", ref, env=env)
    fresh_daemon.docker("pull", ref, env=env)
    assert json.loads(fresh_daemon.docker("image", "inspect", ref, env=env).stdout)[0]["Id"] == image_id


def test_multi_arch_index_picks_host_or_requested_platform(docker, daemon, registry, tmp_path):
    amd = Image([tar_layer({"arch": b"amd64\n"})], arch="amd64")
    arm = Image([tar_layer({"arch": b"arm64\n"})], arch="arm64", variant="v8")
    skopeo_copy(oci_layout(tmp_path / "m", "multi", [amd, arm], as_index=True), "multi",
                f"{registry.host}/multi/arch:latest", all_images=True)
    ref = f"{registry.host}/multi/arch:latest"
    native, foreign, other = (amd, arm, "linux/arm64") if os.uname().machine == "x86_64" else (arm, amd, "linux/amd64")
    docker("pull", ref)
    assert json.loads(docker("image", "inspect", ref).stdout)[0]["Id"] == native.id
    out = docker("pull", "--platform", other, ref).stdout.splitlines()
    assert out[-2] == f"Status: Downloaded newer image for {ref}"
    shown = json.loads(docker("image", "inspect", ref).stdout)[0]
    assert shown["Id"] == foreign.id and shown["Architecture"] == foreign.arch
    bad = docker("pull", "--platform", "linux/s390x", ref, check=False)
    assert bad.returncode != 0
    assert "no matching manifest for linux/s390x in the manifest list entries" in bad.stderr
    status, body = daemon.api("GET", f"/distribution/{ref}/json")
    assert status == 200
    assert body["Descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert {p["architecture"] for p in body["Platforms"]} == {"amd64", "arm64"}


def test_htpasswd_login_pull_push_logout(docker, tmp_path, busybox_tar):
    reg = DockerRegistry(tmp_path / "basic", auth={"htpasswd": {
        "realm": "dockyard-test", "path": str(write_htpasswd(tmp_path / "htpasswd", {"alice": "wonderland"}))}}).start()
    try:
        img = Image([busybox_layer()])
        skopeo_copy(oci_layout(tmp_path / "l", "v1", [img]), "v1", f"{reg.host}/private/bb:v1",
                    creds="alice:wonderland")
        ref = f"{reg.host}/private/bb:v1"
        denied = docker("pull", ref, check=False)
        assert denied.returncode == 1
        assert denied.stderr.strip() == (f'Error response from daemon: Head "http://{reg.host}/v2/private/bb/'
                                         'manifests/v1": no basic auth credentials')
        mine = f"{reg.host}/private/mine:1"
        docker("tag", "busybox:latest", mine)
        anon_push = docker("push", mine, check=False)
        assert anon_push.returncode == 1 and anon_push.stderr.strip() == "no basic auth credentials"

        wrong = docker("login", reg.host, "-u", "alice", "--password-stdin", input="nope\n", check=False)
        assert wrong.returncode == 1
        assert f"login attempt to http://{reg.host}/v2/ failed with status: 401 Unauthorized" in wrong.stderr

        ok = docker("login", reg.host, "-u", "alice", "--password-stdin", input="wonderland\n")
        assert "Login Succeeded" in ok.stdout
        auths = json.loads((docker.config_dir / "config.json").read_text())["auths"]
        assert reg.host in auths
        assert docker("pull", ref).stdout.splitlines()[-2] == f"Status: Downloaded newer image for {ref}"
        assert docker("push", mine).stdout.splitlines()[-1].startswith("1: digest: sha256:")

        out = docker("logout", reg.host)
        assert f"Removing login credentials for {reg.host}" in out.stdout
        assert reg.host not in json.loads((docker.config_dir / "config.json").read_text()).get("auths", {})
        docker("rmi", ref)
        again = docker("pull", ref, check=False)
        assert again.returncode == 1 and "no basic auth credentials" in again.stderr
    finally:
        reg.stop()


def test_unknown_repository_and_tag(docker, registry, bb):
    r = docker("pull", f"{registry.host}/nobody/here", check=False)
    assert r.returncode == 1
    assert (f"Error response from daemon: manifest for {registry.host}/nobody/here:latest not found: "
            "manifest unknown: manifest unknown") in r.stderr
    r = docker("pull", f"{registry.host}/library/busybox:nope", check=False)
    assert (f"manifest for {registry.host}/library/busybox:nope not found: manifest unknown: manifest unknown"
            in r.stderr)
    r = docker("push", f"{registry.host}/never/tagged:1", check=False)
    assert r.returncode == 1
    assert f"An image does not exist locally with the tag: {registry.host}/never/tagged" in r.stderr


def _stored_layers(daemon) -> set[str]:
    import sqlite3

    with sqlite3.connect(daemon.data_root / "dockyard.db") as db:
        return {r[0] for r in db.execute("SELECT diff_id FROM layers")}


def test_corrupted_blob_fails_the_pull_and_stores_nothing_of_it(docker, daemon, tmp_path):
    reg = DockerRegistry(tmp_path / "corrupt").start()
    try:
        img = Image([tar_layer({"corrupt/ok": b"fine\n"}), tar_layer({"corrupt/bad": os.urandom(100_000)})])
        skopeo_copy(oci_layout(tmp_path / "l", "v1", [img]), "v1", f"{reg.host}/bad/blob:v1")
        path = reg.blob_path(sha256(img.layers[1]))
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        r = docker("pull", f"{reg.host}/bad/blob:v1", check=False)
        assert r.returncode == 1
        assert f"filesystem layer verification failed for digest {sha256(img.layers[1])}" in r.stderr
        assert docker("image", "inspect", f"{reg.host}/bad/blob:v1", check=False).returncode == 1
        assert img.diff_ids[1] not in _stored_layers(daemon)
        assert not (daemon.data_root / "content" / "blobs" / "sha256" / sha256(img.layers[1]).split(":")[1]).exists()
        assert not list((daemon.data_root / "content" / "ingest").iterdir())
    finally:
        reg.stop()


def test_registry_down_mid_pull_then_a_repeated_pull_resumes(docker, daemon, tmp_path):
    """The registry (behind a slow link) dies after the first layer is in: a clear error after the retries;
    back up, the same pull keeps the stored layer ("Already exists") and fetches the rest."""
    reg = DockerRegistry(tmp_path / "flaky").start()
    proxy = None
    try:
        img = Image([tar_layer({"flaky/first": os.urandom(100_000)})] +
                    [tar_layer({f"flaky/big{i}": os.urandom(6_000_000)}) for i in range(3)])
        skopeo_copy(oci_layout(tmp_path / "l", "v1", [img]), "v1", f"{reg.host}/flaky/img:v1")
        proxy = ThrottledProxy(reg.port, rate=1_500_000).start()
        ref = f"{proxy.host}/flaky/img:v1"
        p = subprocess.Popen([DOCKER, "pull", ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=daemon.env(DOCKER_CONFIG=str(tmp_path)))
        first_done = f"{short(sha256(img.layers[0]))}: Pull complete"
        seen = []
        for line in p.stdout:
            seen.append(line.rstrip("\n"))
            if seen[-1] == first_done:
                break
        reg.kill()
        proxy.stop()
        rest, err = p.communicate(timeout=120)
        assert p.returncode == 1, seen + rest.splitlines()
        assert f"dial tcp {proxy.host}: connect: connection refused" in err
        assert docker("image", "inspect", ref, check=False).returncode == 1
        assert img.diff_ids[0] in _stored_layers(daemon)
        assert not list((daemon.data_root / "content" / "ingest").iterdir())

        reg.start()
        proxy = ThrottledProxy(reg.port, rate=50_000_000, port=proxy.port).start()
        out = docker("pull", ref).stdout.splitlines()
        assert f"{short(sha256(img.layers[0]))}: Already exists" in out
        for layer in img.layers[1:]:
            assert f"{short(sha256(layer))}: Pull complete" in out
        assert out[-2] == f"Status: Downloaded newer image for {ref}"
    finally:
        if proxy is not None and proxy._loop is not None and not proxy._loop.is_closed():
            proxy.stop()
        reg.stop()


@contextlib.contextmanager
def own_registry(workdir):
    """dockyard's registry server (auth none) on a free loopback port; yields (host, access log path)."""
    port = free_port()
    workdir.mkdir()
    (workdir / "config.yml").write_text("{}\n")
    log_path = workdir / "server.log"
    log = open(log_path, "w")
    server = subprocess.Popen([sys.executable, "-m", "dockyard.registry.server", "serve", "--listen",
                               f"127.0.0.1:{port}", "--storage", str(workdir / "storage"), "--config",
                               str(workdir / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        host = f"127.0.0.1:{port}"
        for _ in range(200):
            if subprocess.run(["curl", "-sf", f"http://{host}/v2/"], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        yield host, log_path
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_search_through_dockyard_registry(docker, tmp_path):
    """docker-registry has no /v1/search; dockyard's own registry server does (as Docker Hub)."""
    with own_registry(tmp_path / "srv") as (host, _):
        layout = oci_layout(tmp_path / "l", "v1", [Image([tar_layer({"x": b"x"})])])
        for name in ("library/busybox", "tools/busybox-extras", "tools/other"):
            skopeo_copy(layout, "v1", f"{host}/{name}:v1")
        out = docker("search", "--limit", "5", f"{host}/busy").stdout.splitlines()
        assert out[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
        names = [l.split()[0] for l in out[1:]]
        assert sorted(names) == ["busybox", "tools/busybox-extras"]
        official = docker("search", "--filter", "is-official=true", f"{host}/busy").stdout.splitlines()
        assert [l.split()[0] for l in official[1:]] == ["busybox"]
        # One star (the server's Hub-style stars API; with auth "none" the caller stars as "anonymous").
        star = subprocess.run(["curl", "-sf", "-X", "POST", f"http://{host}/v2/repositories/tools/busybox-extras/stars/"],
                              capture_output=True, text=True)
        assert json.loads(star.stdout) == {"star_count": 1}
        starred = docker("search", "--filter", "stars=1", f"{host}/busy").stdout.splitlines()
        assert [l.split()[0] for l in starred[1:]] == ["tools/busybox-extras"]
        assert starred[1].split()[-1] == "1"      # the STARS column (no description, not official)
        assert docker("search", "--filter", "stars=2", f"{host}/busy").stdout.splitlines()[1:] == []
        bad = docker("search", "--filter", "stars=many", f"{host}/busy", check=False)
        assert bad.returncode == 1 and "invalid filter 'stars=many'" in bad.stderr
        bad = docker("search", "--limit", "101", f"{host}/busy", check=False)
        assert bad.returncode == 1 and "limit 101 is outside the range of [1, 100]" in bad.stderr


def served(access_log) -> set[tuple[str, str, int]]:
    """(method, path, status) of every request a registry server logged."""
    lines = [line for line in access_log.read_text().splitlines() if line.startswith("{")]
    return {(e["method"], e["path"], e["status"]) for e in map(json.loads, lines) if "path" in e}


def test_registry_mirror_serves_docker_hub_names(tmp_path):
    """A daemon started with --registry-mirror pulls `busybox` (docker.io/library/busybox) from the mirror:
    our registry server holding library/busybox, on loopback. Its Docker Hub endpoint is another local registry
    (--docker-hub-endpoint), so a fallback could never reach the internet: it is never asked."""
    img = Image([busybox_layer(), tar_layer({"etc/motd": b"served by the mirror\n"})], cmd=["sh"])
    with own_registry(tmp_path / "mirror") as (host, access_log), own_registry(tmp_path / "hub") as (hub, hub_log):
        skopeo_copy(oci_layout(tmp_path / "l", "latest", [img]), "latest", f"{host}/library/busybox:latest")
        d = new_daemon(tmp_path / "mirrored", extra_args=["--registry-mirror", f"http://{host}",
                                                           "--docker-hub-endpoint", f"http://{hub}"])
        try:
            d.start()
            out = d.docker("pull", "busybox").stdout.splitlines()
            assert out[:2] == ["Using default tag: latest", "latest: Pulling from library/busybox"]
            assert out[-3:] == [f"Digest: {img.digest}", "Status: Downloaded newer image for busybox:latest",
                                "docker.io/library/busybox:latest"]
            shown = json.loads(d.docker("image", "inspect", "busybox").stdout)[0]
            assert shown["Id"] == img.id and shown["RepoDigests"] == [f"busybox@{img.digest}"]
            assert d.docker("run", "--rm", "busybox", "cat", "/etc/motd").stdout == "served by the mirror\n"
        finally:
            cleanup_daemon(d)
        assert ("GET", "/v2/library/busybox/manifests/latest", 200) in served(access_log)
        assert not [path for _, path, _ in served(hub_log) if "library/busybox" in path]


def test_docker_hub_endpoint_serves_what_the_mirror_lacks(tmp_path):
    """The mirror answers 404 for library/rare: the pull falls back to the Docker Hub endpoint, which is the
    setting's local registry (as at an air-gapped site), never registry-1.docker.io."""
    img = Image([busybox_layer(), tar_layer({"etc/motd": b"served by the hub endpoint\n"})], cmd=["sh"])
    with own_registry(tmp_path / "mirror") as (mirror, mirror_log), own_registry(tmp_path / "hub") as (hub, hub_log):
        skopeo_copy(oci_layout(tmp_path / "l", "latest", [img]), "latest", f"{hub}/library/rare:latest")
        d = new_daemon(tmp_path / "d", extra_args=["--registry-mirror", f"http://{mirror}",
                                                    "--docker-hub-endpoint", f"http://{hub}"])
        try:
            d.start()
            assert d.docker("pull", "rare").stdout.splitlines()[-1] == "docker.io/library/rare:latest"
            assert d.docker("run", "--rm", "rare", "cat", "/etc/motd").stdout == "served by the hub endpoint\n"
        finally:
            cleanup_daemon(d)
        asked = {(path, status) for _, path, status in served(mirror_log)}
        assert ("/v2/library/rare/manifests/latest", 404) in asked  # the mirror was asked first
        assert ("GET", "/v2/library/rare/manifests/latest", 200) in served(hub_log)


def test_token_auth_login_keeps_an_identity_token(docker, tmp_path):
    """Bearer-token registry: docker login gets a refresh token (IdentityToken), the CLI stores it, and
    later pulls/pushes trade it for access tokens (OAuth2 POST) without the password."""
    from tests.registry_client.helpers import TokenServer

    tokens = TokenServer(tmp_path, {"alice": "wonderland"}).start()
    reg = DockerRegistry(tmp_path / "token", auth=tokens.registry_auth()).start()
    try:
        ok = docker("login", reg.host, "-u", "alice", "--password-stdin", input="wonderland\n")
        assert "Login Succeeded" in ok.stdout
        entry = json.loads((docker.config_dir / "config.json").read_text())["auths"][reg.host]
        assert entry.get("identitytoken")
        assert base64.b64decode(entry["auth"]) == b"alice:"  # the password is not kept
        ref = f"{reg.host}/team/app:1"
        docker("tag", "busybox:latest", ref)
        tokens.requests.clear()
        assert docker("push", ref).stdout.splitlines()[-1].startswith("1: digest: sha256:")
        assert {m for m, _, _ in tokens.requests} == {"POST"}
        assert all(q["grant_type"] == ["refresh_token"] for _, q, _ in tokens.requests)
        docker("rmi", ref)
        assert docker("pull", ref).stdout.splitlines()[-1] == ref
        bad = docker("login", reg.host, "-u", "alice", "--password-stdin", input="wrong\n", check=False)
        assert bad.returncode == 1 and "incorrect username or password" in bad.stderr
    finally:
        reg.stop()
        tokens.stop()
