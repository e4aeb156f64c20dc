"""A three-service Compose project driven, as a user would, by `dockyard compose` (Compose v2), `docker compose`
(the same binary as the docker CLI's plugin) and Debian's `docker-compose` 1.29, each against a dockyard daemon.

db: busybox with a healthcheck that passes only a moment after start, writing to a named volume, on `back` with
the alias `database`. web: built from a Dockerfile FROM the loaded busybox, starts once db is healthy, on `front`
and `back`, linked to db as `legacydb`. worker: busybox on `back`, with an anonymous volume, scaled. All run
with `init: true`, so stopping them needs no SIGKILL after a timeout. Nothing is pulled: `pull_policy: never`, and the harness sets DOCKER_BUILDKIT=0 (the classic builder; without it
compose v2 boots BuildKit, which pulls moby/buildkit from Docker Hub).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..e2e.daemon_harness import DOCKER, Daemon, run

COMPOSE_FILE = """\
services:
  db:
    image: busybox
    pull_policy: never
    init: true
    command: ["sh", "-c", "sleep 1; echo kept > /data/marker; exec sleep 3600"]
    volumes:
      - dbdata:/data
    networks:
      back:
        aliases: [database]
    healthcheck:
      test: ["CMD", "test", "-f", "/data/marker"]
      interval: 500ms
      timeout: 5s
      retries: 60
  web:
    build: ./web
    image: {project}-web:latest
    pull_policy: never
    init: true
    depends_on:
      db:
        condition: service_healthy
    links:
      - db:legacydb
    networks: [front, back]
  worker:
    image: busybox
    pull_policy: never
    init: true
    command: ["sleep", "3600"]
    volumes:
      - /cache
    networks: [back]
volumes:
  dbdata:
networks:
  front:
  back:
"""

DOCKERFILE = """\
FROM busybox
RUN echo {version} > /version
CMD ["sleep", "3600"]
"""

# How each client is run: the command line before compose's own arguments.
CLIENTS = {
    "dockyard-compose": [sys.executable, "-m", "dockyard", "compose"],
    "docker-compose-plugin": [DOCKER, "compose"],
    "docker-compose-1.29": ["/usr/bin/docker-compose"],
}


@dataclass
class Project:
    daemon: Daemon
    client: str
    name: str
    directory: Path

    def compose(self, *args, check=True, timeout=180) -> subprocess.CompletedProcess:
        argv = [*CLIENTS[self.client], "-p", self.name, "-f", str(self.directory / "compose.yaml"), *args]
        return run(argv, self.daemon.env(), None, check, timeout)

    def containers(self, service: str, *, all: bool = False) -> list[dict]:
        ids = self.daemon.docker("ps", *(["-a"] if all else []), "-q",
                                 "--filter", f"label=com.docker.compose.project={self.name}",
                                 "--filter", f"label=com.docker.compose.service={service}").stdout.split()
        return json.loads(self.daemon.docker("inspect", *ids).stdout) if ids else []

    def one(self, service: str) -> dict:
        found = self.containers(service)
        assert len(found) == 1, f"{service}: {[c['Name'] for c in found]}"
        return found[0]

    def exec(self, service: str, *cmd, check=True) -> subprocess.CompletedProcess:
        return self.daemon.docker("exec", self.one(service)["Id"], *cmd, check=check)

    def write_web(self, version: str) -> None:
        (self.directory / "web").mkdir(exist_ok=True)
        (self.directory / "web" / "Dockerfile").write_text(DOCKERFILE.format(version=version))

    def labelled(self, kind: str) -> list[str]:
        return self.daemon.docker(kind, "ls", "-q", "--filter",
                                  f"label=com.docker.compose.project={self.name}").stdout.split()


def new_project(daemon: Daemon, client: str, directory: Path, name: str) -> Project:
    directory.mkdir(parents=True, exist_ok=True)
    project = Project(daemon, client, name, directory)
    (directory / "compose.yaml").write_text(COMPOSE_FILE.format(project=name))
    project.write_web("v1")
    return project


def remove_project(project: Project) -> None:
    project.compose("down", "-v", "--remove-orphans", check=False)
    leftovers = project.daemon.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project.name}",
                                      check=False).stdout.split()
    if leftovers:
        project.daemon.docker("rm", "-fv", *leftovers, check=False)
    project.daemon.docker("rmi", "-f", f"{project.name}-web:latest", check=False)


@pytest.fixture(scope="class", params=list(CLIENTS))
def project(request, compose_daemon, tmp_path_factory):
    """The project brought up with `up -d --build` by one client; `down -v` (and a forced clean-up) after."""
    client = request.param
    name = "dyc" + client.replace("-", "").replace(".", "")[:12]
    p = new_project(compose_daemon, client, tmp_path_factory.mktemp(client), name)
    p.up = p.compose("up", "-d", "--build")
    yield p
    remove_project(p)


def resolved_ip(ping_output: str) -> str:
    """The address busybox ping resolved a name to: `PING name (10.0.0.2): 56 data bytes`."""
    return ping_output.split("(", 1)[1].split(")", 1)[0]


def back_ip(project: Project, container: dict) -> str:
    return container["NetworkSettings"]["Networks"][f"{project.name}_back"]["IPAddress"]


class TestComposeProject:
    def test_up_builds_web_from_its_dockerfile(self, project):
        assert project.exec("web", "cat", "/version").stdout.strip() == "v1"
        image = project.one("web")["Config"]["Image"]
        assert image == f"{project.name}-web:latest"
        assert all(c["State"]["Running"] for s in ("db", "web", "worker") for c in project.containers(s))

    def test_web_starts_only_after_db_is_healthy(self, project):
        """depends_on condition service_healthy: db's health_status: healthy event comes before web's start."""
        db, web = project.one("db"), project.one("web")
        assert db["State"]["Health"]["Status"] == "healthy"
        events = project.daemon.docker("events", "--since", db["Created"], "--until", str(int(time.time()) + 1),
                                       "--filter", "type=container", "--format", "{{json .}}").stdout.splitlines()
        seen = [(e["timeNano"], e["Action"], e["id"]) for e in map(json.loads, events)]
        healthy = min(t for t, action, cid in seen if cid == db["Id"] and action == "health_status: healthy")
        started = [t for t, action, cid in seen if cid == web["Id"] and action == "start"]
        assert started and min(started) > healthy

    def test_named_volume_keeps_db_data(self, project):
        [volume] = project.labelled("volume")
        assert volume == f"{project.name}_dbdata"
        out = project.daemon.docker("run", "--rm", "-v", f"{volume}:/d", "busybox", "cat", "/d/marker").stdout
        assert out.strip() == "kept"

    def test_web_is_on_both_networks_and_db_alias_resolves(self, project):
        web = project.one("web")
        assert set(web["NetworkSettings"]["Networks"]) == {f"{project.name}_front", f"{project.name}_back"}
        db_ip = back_ip(project, project.one("db"))
        for service in ("web", "worker"):
            assert resolved_ip(project.exec(service, "ping", "-c1", "-W2", "database").stdout) == db_ip

    def test_links_alias_resolves_in_web(self, project):
        db_ip = back_ip(project, project.one("db"))
        assert resolved_ip(project.exec("web", "ping", "-c1", "-W2", "legacydb").stdout) == db_ip

    def test_scale_worker(self, project):
        project.compose("up", "-d", "--no-recreate", "--scale", "worker=3")
        workers = project.containers("worker")
        assert len(workers) == 3 and all(w["State"]["Running"] for w in workers)
        assert sorted(w["Config"]["Labels"]["com.docker.compose.container-number"] for w in workers) == ["1", "2", "3"]
        project.compose("up", "-d", "--no-recreate", "--scale", "worker=1")
        assert len(project.containers("worker", all=True)) == 1

    def test_run_passes_the_exit_code_back(self, project):
        p = project.compose("run", "--rm", "-T", "worker", "sh", "-c", "echo out; exit 3", check=False)
        assert p.returncode == 3 and "out" in p.stdout, p.stderr
        assert len(project.containers("worker", all=True)) == 1  # the one-off container went with --rm

    def test_up_build_after_change_recreates_web(self, project):
        old = project.one("web")["Id"]
        project.write_web("v2")
        project.compose("up", "-d", "--build")
        web = project.one("web")
        assert web["Id"] != old
        assert project.exec("web", "cat", "/version").stdout.strip() == "v2"


@pytest.mark.parametrize("client", list(CLIENTS))
def test_down_v_leaves_nothing(compose_daemon, client, tmp_path):
    """`down -v`: no container, network or volume of the project is left, the anonymous one of worker included."""
    name = "dycdown" + client.replace("-", "").replace(".", "")[:12]
    project = new_project(compose_daemon, client, tmp_path / "project", name)
    try:
        project.compose("up", "-d", "--build", "--scale", "worker=2")
        anonymous = [m["Name"] for w in project.containers("worker") for m in w["Mounts"]
                     if m["Type"] == "volume" and m["Destination"] == "/cache"]
        assert len(anonymous) == 2 and project.labelled("network") and project.labelled("volume")
        project.compose("down", "-v")
        assert project.containers("db", all=True) + project.containers("web", all=True) == []
        assert project.containers("worker", all=True) == []
        assert project.labelled("network") == [] and project.labelled("volume") == []
        left = compose_daemon.docker("volume", "ls", "-q").stdout.split()
        assert not set(anonymous) & set(left)
    finally:
        remove_project(project)
