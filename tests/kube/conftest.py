"""Fixtures of the kube tests: a real dockyard daemon with busybox loaded (tests/e2e/daemon_harness.py), and
helpers to run `dockyard kube` against it and to wait for what it started."""
from __future__ import annotations

import json
import random
import socket
import time

import pytest
import yaml

from tests.e2e.daemon_harness import build_busybox_archive, cleanup_daemon, new_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = new_daemon(tmp_path_factory.mktemp("kube-daemon"))
    d.start()
    d.docker("load", "-i", str(build_busybox_archive(tmp_path_factory.mktemp("images") / "busybox.tar")))
    yield d
    cleanup_daemon(d)


def free_port(candidates: range | None = None) -> int:
    """A port free on 127.0.0.1: any, or one of candidates (e.g. Kubernetes' NodePort range)."""
    for port in random.sample(candidates, len(candidates)) if candidates else [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise AssertionError(f"no free port in {candidates}")


def kube(d, *args, check=True):
    return d.dockyard("kube", *args, check=check)


def docs_of(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def wait_for(condition, what: str, timeout: float = 60):
    """Poll until condition() returns something truthy (the containers and servers we wait on have no event
    to wait for from here); fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def leftovers(d) -> dict:
    """What kube play could have left on the daemon: its containers, networks and volumes."""
    return {"containers": d.docker("ps", "-aq", "--filter", "label=io.dockyard.kube.workload").stdout.split(),
            "networks": [n for n in d.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
                         if n.startswith("kube-")],
            "volumes": d.docker("volume", "ls", "-q", "--filter", "label=io.dockyard.kube.managed").stdout.split()}


# A ConfigMap and a Secret the manifests of both the unit and the e2e tests use (env, envFrom, files).
CONFIG_AND_SECRET = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {GREETING: hello, app.conf: "color=blue\\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: czNjcjN0}
"""

NOTHING = {"containers": [], "networks": [], "volumes": []}


def inspect(d, ref: str) -> dict:
    return json.loads(d.docker("inspect", ref).stdout)[0]


def pod_container(d, pod: str, container: str) -> str:
    """The ID of a played container, found as a user would: by kubelet's labels."""
    out = d.docker("ps", "-aq", "--filter", f"label=io.kubernetes.pod.name={pod}",
                   "--filter", f"label=io.kubernetes.container.name={container}").stdout.split()
    assert len(out) == 1, (pod, container, out)
    return out[0]
