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


def test_pull_of_an_unknown_repository_or_tag_from_our_registry(daemon, registry_of):
    """registry:2 answers MANIFEST_UNKNOWN "manifest unknown" for both, and docker says so."""
    host = registry_of({})
    for ref in (f"{host}/audit/nothing", f"{host}/audit/nothing:v9"):
        p = daemon.docker("pull", ref, check=False)
        shown = ref if ref.endswith(":v9") else f"{ref}:latest"
        assert p.returncode == 1
        assert p.stderr.strip().splitlines()[-1] == (f"Error response from daemon: manifest for {shown} not found: "
                                                     "manifest unknown: manifest unknown")
