"""Image distribution as a Docker user meets it: the real docker CLI, a dockyard daemon and dockyard's own
registry, with what dockerd and registry:2 print for the same steps."""
from __future__ import annotations

import pytest

from .test_own_registry import start_registry

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
