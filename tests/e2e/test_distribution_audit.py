"""Image distribution as a Docker user meets it: the real docker CLI, a dockyard daemon and dockyard's own
registry, with what dockerd and registry:2 print for the same steps."""
from __future__ import annotations

import pytest

from .test_own_registry import start_registry, write_users

PRIVATE_ACCESS = {"default": {"public": False, "pull": ["*"], "push": []},
                  "repositories": [{"match": "team/*", "public": True, "pull": ["*"], "push": ["alice"]},
                                   {"match": "priv/*", "public": False, "pull": ["*"], "push": ["alice"]}]}


@pytest.fixture
def registry_of(tmp_path):
    """Start `dockyard registry serve` with a config (each in its own directory); all stopped at the end."""
    procs = []

    def start(config: dict) -> str:
        workdir = tmp_path / f"reg{len(procs)}"
        workdir.mkdir()
        host, proc = start_registry(workdir, config)
        procs.append(proc)
        return host

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_push_of_a_missing_tag_names_the_repository_then_refuses(daemon, registry_of):
    """dockerd prints "The push refers to repository" first; then a repository without any local tag is
    named without a tag, and a missing tag of a repository that has others is "tag does not exist"."""
    host = registry_of({})
    p = daemon.docker("push", f"{host}/audit/none:1", check=False)
    assert p.returncode == 1
    assert p.stdout.splitlines() == [f"The push refers to repository [{host}/audit/none]"]
    assert p.stderr.strip() == f"An image does not exist locally with the tag: {host}/audit/none"
    daemon.docker("tag", "busybox", f"{host}/audit/box:1")
    try:
        p = daemon.docker("push", f"{host}/audit/box:2", check=False)
        assert p.returncode == 1 and p.stderr.strip() == f"tag does not exist: {host}/audit/box:2"
        p = daemon.docker("push", f"{host}/audit/box", check=False)  # the CLI adds :latest
        assert p.returncode == 1 and p.stderr.strip() == f"tag does not exist: {host}/audit/box:latest"
        assert daemon.docker("push", "--all-tags", f"{host}/audit/box").stdout.splitlines()[-1].startswith(
            "1: digest: sha256:")
    finally:
        daemon.docker("rmi", f"{host}/audit/box:1", check=False)


def test_pull_of_an_unknown_repository_or_tag_from_our_registry(daemon, registry_of):
    """registry:2 answers MANIFEST_UNKNOWN "manifest unknown" for both, and docker says so."""
    host = registry_of({})
    for ref in (f"{host}/audit/nothing", f"{host}/audit/nothing:v9"):
        p = daemon.docker("pull", ref, check=False)
        shown = ref if ref.endswith(":v9") else f"{ref}:latest"
        assert p.returncode == 1
        assert p.stderr.strip().splitlines()[-1] == (f"Error response from daemon: manifest for {shown} not found: "
                                                     "manifest unknown: manifest unknown")


def test_without_login_a_basic_auth_registry_says_no_basic_auth_credentials(daemon, registry_of, tmp_path):
    users = write_users(tmp_path / "users.htpasswd")
    host = registry_of({"auth": {"htpasswd": {"realm": "dockyard", "path": users}}, "access": PRIVATE_ACCESS})
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    ref = f"{host}/priv/box:1"
    daemon.docker("tag", "busybox", ref)
    try:
        p = daemon.docker("push", ref, check=False, env=env)
        assert p.returncode == 1 and p.stderr.strip() == "no basic auth credentials"
        daemon.docker("login", host, "-u", "alice", "--password-stdin", input="alice-pw\n", env=env)
        daemon.docker("push", ref, env=env)
        daemon.docker("logout", host, env=env)
        daemon.docker("rmi", ref)
        p = daemon.docker("pull", ref, check=False, env=env)
        assert p.returncode == 1
        assert p.stderr.strip() == (f'Error response from daemon: Head "http://{host}/v2/priv/box/manifests/1": '
                                    "no basic auth credentials")
    finally:
        daemon.docker("rmi", ref, check=False)


def test_token_registry_refusals_of_anonymous_callers_read_as_denials(daemon, registry_of, tmp_path):
    """A token without the scope is insufficient_scope (registry:2), which docker reports as a denial."""
    users = write_users(tmp_path / "users.htpasswd")
    host = registry_of({"auth": {"token": {"service": "own", "htpasswd": users}}, "access": PRIVATE_ACCESS})
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    ref = f"{host}/team/box:1"
    daemon.docker("tag", "busybox", ref)
    try:
        p = daemon.docker("push", ref, check=False, env=env)
        assert p.returncode == 1 and p.stderr.strip() == "denied: requested access to the resource is denied"
        p = daemon.docker("pull", f"{host}/priv/box:1", check=False, env=env)
        assert p.returncode == 1
        assert p.stderr.strip() == (f"Error response from daemon: pull access denied for {host}/priv/box, "
                                    "repository does not exist or may require 'docker login': "
                                    "denied: requested access to the resource is denied")
    finally:
        daemon.docker("rmi", ref, check=False)


# ------------------------------------------------------------------------------------------ archives
def test_import_without_a_message_says_imported_from_in_the_image_too(daemon, tmp_path):
    """dockerd writes "Imported from <src>" as the image's Comment as well as its history's."""
    from .test_engine_images import _busybox_rootfs_tar

    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(_busybox_rootfs_tar())
    try:
        daemon.docker("import", str(rootfs), "audit/imp:file")  # the CLI sends a file as fromSrc=-
        daemon.docker("import", "-", "audit/imp:stdin", input=rootfs.read_bytes())
        for ref in ("audit/imp:file", "audit/imp:stdin"):
            assert daemon.docker("image", "inspect", "-f", "{{.Comment}}", ref).stdout.strip() == "Imported from -"
    finally:
        daemon.docker("rmi", "audit/imp:file", "audit/imp:stdin", check=False)


def test_load_over_a_tag_of_another_image_says_it_renames_the_old_one(daemon, tmp_path):
    from .test_engine_images import _busybox_rootfs_tar

    rootfs = _busybox_rootfs_tar()
    saved = daemon.docker("import", "-m", "saved", "-", "audit/load:1", input=rootfs).stdout.decode().strip()
    archive = tmp_path / "load.tar"
    daemon.docker("save", "-o", str(archive), "audit/load:1")
    newer = daemon.docker("import", "-m", "newer", "-", "audit/load:1", input=rootfs).stdout.decode().strip()
    try:
        out = daemon.docker("load", "-i", str(archive)).stdout.splitlines()
        assert out == [f"The image audit/load:1 already exists, renaming the old one with ID {newer} to empty string",
                       "Loaded image: audit/load:1"]
        assert daemon.docker("image", "inspect", "-f", "{{.Id}}", "audit/load:1").stdout.strip() == saved
        assert daemon.docker("load", "-i", str(archive)).stdout.splitlines() == ["Loaded image: audit/load:1"]
    finally:
        daemon.docker("rmi", "audit/load:1", newer, check=False)


def test_prune_all_until_untags_an_old_base_that_a_kept_image_is_built_on(fresh_daemon, tmp_path):
    """dockerd's prune -a deletes each reference of every image older than `until`; a base image with a
    (newer, kept) child loses its tags and stays, as the child's parent."""
    d = fresh_daemon
    busybox_id = d.docker("image", "inspect", "-f", "{{.Id}}", "busybox").stdout.strip()  # created in 2024
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo hi > /hi\n")
    d.docker("build", "-q", "-t", "audit/app:1", str(ctx))
    out = d.docker("image", "prune", "-a", "-f", "--filter", "until=24h").stdout.splitlines()
    assert out[:2] == ["Deleted Images:", "untagged: busybox:latest"]
    assert not any(line.startswith("deleted:") for line in out)
    assert d.docker("image", "inspect", "busybox", check=False).returncode == 1
    assert d.docker("image", "inspect", "-f", "{{.Id}}", busybox_id).stdout.strip() == busybox_id
    assert d.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split() == ["audit/app:1"]
    assert d.docker("run", "--rm", "audit/app:1", "cat", "/hi").stdout == "hi\n"


def test_save_of_a_repository_takes_all_its_tags_without_needing_latest(daemon, tmp_path):
    """`docker save repo` is every image of the repository (dockerd's ReferencesByName), latest or not."""
    import json
    import tarfile

    daemon.docker("tag", "busybox", "audit/save:1")
    daemon.docker("tag", "busybox", "audit/save:2")
    try:
        out = tmp_path / "repo.tar"
        daemon.docker("save", "-o", str(out), "audit/save")
        with tarfile.open(out) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
        assert [m["RepoTags"] for m in manifest] == [["audit/save:1", "audit/save:2"]]
        p = daemon.docker("save", "-o", str(tmp_path / "none.tar"), "audit/nothing", check=False)
        assert p.returncode == 1 and p.stderr.strip() == "Error response from daemon: No such image: audit/nothing"
    finally:
        daemon.docker("rmi", "audit/save:1", "audit/save:2", check=False)


def test_pull_of_a_single_platform_image_for_another_platform_warns_and_pulls(daemon, registry_of):
    host = registry_of({})
    ref = f"{host}/audit/plat:1"
    daemon.docker("tag", "busybox", ref)
    try:
        daemon.docker("push", ref)
        daemon.docker("rmi", ref)
        p = daemon.docker("pull", "--platform", "linux/s390x", ref)
        assert p.stdout.splitlines()[-3:] == [
            f"Status: Downloaded newer image for {ref}",
            f"WARNING: image with reference {ref} was found but does not match the specified platform: "
            "wanted linux/s390x, actual: linux/amd64",
            ref]
    finally:
        daemon.docker("rmi", ref, check=False)


def test_a_registry_that_is_not_running_fails_at_once_on_its_v2_ping(daemon):
    """dockerd pings /v2/ before a pull or push (no retries): a registry not started yet is reported there, at
    once, after "The push refers to repository" and before any layer."""
    import time

    from .test_own_registry import free_port

    host = f"127.0.0.1:{free_port()}"
    refused = f'Get "http://{host}/v2/": dial tcp {host}: connect: connection refused'
    daemon.docker("tag", "busybox", f"{host}/audit/down:1")
    try:
        start = time.monotonic()
        p = daemon.docker("push", f"{host}/audit/down:1", check=False)
        assert p.returncode == 1
        assert p.stdout.splitlines() == [f"The push refers to repository [{host}/audit/down]"]
        assert p.stderr.strip() == refused
        p = daemon.docker("pull", f"{host}/audit/down:2", check=False)
        assert p.returncode == 1 and p.stderr.strip() == f"Error response from daemon: {refused}"
        assert time.monotonic() - start < 5  # no back-off retries on the ping
    finally:
        daemon.docker("rmi", f"{host}/audit/down:1", check=False)


def test_import_errors_are_daemon_errors_and_a_url_import_says_where_from(daemon, tmp_path):
    """From stdin nothing is sent before the import fails, so it is a plain API error (docker prints "Error
    response from daemon: ..."); a URL import first says "Downloading from <url>", as dockerd does."""
    import functools
    import http.server
    import threading

    from .test_engine_images import _busybox_rootfs_tar

    rootfs = _busybox_rootfs_tar()
    p = daemon.docker("import", "-c", "BOGUS x", "-", "audit/imp:bad", input=rootfs, check=False)
    assert p.returncode == 1
    err = p.stderr.decode().strip()
    assert err.startswith("Error response from daemon: ") and err.endswith("is not a valid change command")
    (tmp_path / "rootfs.tar").write_bytes(rootfs)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/rootfs.tar"
    try:
        out = daemon.docker("import", url, "audit/imp:url").stdout.splitlines()
        assert out[0] == f"Downloading from {url}" and out[-1].startswith("sha256:")
    finally:
        server.shutdown()
        daemon.docker("rmi", "audit/imp:url", check=False)


def test_search_on_a_registry_without_search_says_what_dockerd_says(daemon, tmp_path):
    from tests.registry_client.helpers import DockerRegistry

    reg = DockerRegistry(tmp_path / "reg2").start()  # registry:2 has no /v1/search
    try:
        p = daemon.docker("search", f"{reg.host}/box", check=False)
        assert p.returncode == 1 and p.stderr.strip() == "Error response from daemon: Unexpected status code 404"
    finally:
        reg.stop()
