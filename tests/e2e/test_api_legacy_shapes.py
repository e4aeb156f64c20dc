"""Issue 14, API shapes: a client on /v1.41 sees what dockerd 20.10 sent; image inspect keeps `Container` and
`ContainerConfig` on every version so Debian's docker-compose 1.29 recreates services (`up --build`)."""
from __future__ import annotations

import http.client
import shutil
import socket
import subprocess

import docker
import pytest

from .test_build import write


def head(daemon, path: str) -> http.client.HTTPResponse:
    class Conn(http.client.HTTPConnection):
        def connect(conn):
            conn.sock = socket.socket(socket.AF_UNIX)
            conn.sock.connect(str(daemon.socket))

    c = Conn("localhost")
    c.request("HEAD", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r


def test_v141_image_container_and_system_shapes(daemon):
    status, image = daemon.api("GET", "/v1.41/images/busybox/json")
    assert status == 200 and image["Container"] == ""
    assert image["ContainerConfig"]["Cmd"] == image["Config"]["Cmd"] and image["ContainerConfig"]["Hostname"] == ""
    status, usage = daemon.api("GET", "/v1.41/system/df")
    assert status == 200 and usage["BuilderSize"] == 0 and usage["BuildCache"] is None
    status, newest = daemon.api("GET", "/system/df")
    assert "BuilderSize" not in newest
    status, info = daemon.api("GET", "/v1.41/info")
    assert info["KernelMemory"] is False and info["KernelMemoryTCP"] is False
    assert isinstance(info["BridgeNfIptables"], bool) and isinstance(info["BridgeNfIp6tables"], bool)
    for key in ("ContainerdCommit", "RuncCommit", "InitCommit"):
        assert info[key]["Expected"] == info[key]["ID"]
    status, info = daemon.api("GET", "/info")
    assert "KernelMemory" not in info and "BridgeNfIptables" not in info and "Expected" not in info["RuncCommit"]
    status, version = daemon.api("GET", "/v1.41/version")
    assert version["BuildTime"] and version["BuildTime"] == version["Components"][0]["Details"]["BuildTime"]
    for path in ("/_ping", "/v1.41/_ping"):
        assert head(daemon, path).getheader("Content-Type") == "text/plain; charset=utf-8"


def test_v141_container_inspect_and_stats_shapes(daemon):
    client = docker.APIClient(base_url=daemon.host, version="1.41")
    cid = client.create_container("busybox", "sleep 60")["Id"]
    try:
        host_config = client.inspect_container(cid)["HostConfig"]
        assert host_config["KernelMemory"] == 0 and host_config["KernelMemoryTCP"] == 0
        assert "KernelMemory" not in daemon.api("GET", f"/containers/{cid}/json")[1]["HostConfig"]
        client.start(cid)
        blkio = client.stats(cid, stream=False, one_shot=True)["blkio_stats"]
        for key in ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                    "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                    "io_time_recursive", "sectors_recursive"):
            assert isinstance(blkio[key], list), key
    finally:
        client.remove_container(cid, force=True)
        client.close()


COMPOSE_1 = shutil.which("docker-compose", path="/usr/bin")


@pytest.mark.skipif(COMPOSE_1 is None, reason="Debian's docker-compose (1.x) is not installed")
def test_docker_compose_1_up_build_after_a_change_recreates_keeping_volumes(daemon, tmp_path):
    """compose 1.x reads image['ContainerConfig']['Volumes'] to carry a recreated container's anonymous
    volumes over: KeyError: 'ContainerConfig' without the key (as on Docker 25+)."""
    project = write(tmp_path / "c1", {
        "Dockerfile": 'FROM busybox\nVOLUME /data\nCMD ["sleep", "1000"]\n',
        "docker-compose.yml": 'version: "2.4"\nservices:\n  app:\n    build: .\n'})
    env = daemon.env(COMPOSE_DOCKER_CLI_BUILD="0")

    def compose(*args):
        return subprocess.run([COMPOSE_1, "-p", "dyc1", *args], cwd=project, env=env, capture_output=True,
                              text=True, timeout=300)

    try:
        first = compose("up", "-d", "--build")
        assert first.returncode == 0, first.stderr
        daemon.docker("exec", "dyc1_app_1", "sh", "-c", "echo kept > /data/f")
        (project / "Dockerfile").write_text('FROM busybox\nVOLUME /data\nENV CHANGED=1\nCMD ["sleep", "1000"]\n')
        second = compose("up", "-d", "--build")
        assert second.returncode == 0, second.stderr
        assert "Recreating dyc1_app_1" in second.stderr and "KeyError" not in second.stderr
        assert daemon.docker("exec", "dyc1_app_1", "sh", "-c", "echo $CHANGED; cat /data/f").stdout == "1\nkept\n"
    finally:
        compose("down", "-v", "--rmi", "local")


def test_container_and_container_config_are_the_only_undocumented_image_keys(daemon):
    from . import swagger_check as sw

    status, image = daemon.api("GET", "/images/busybox/json")
    assert status == 200
    schema = sw.response_schema("/images/{name}/json")
    assert sw.check(schema, image) == []
    assert sw.undocumented(schema, image) == sw.DELIBERATE_EXTRAS["/images/{name}/json"]


def test_aliases_before_1_45_include_the_short_id_on_user_defined_networks(daemon):
    daemon.docker("network", "create", "legacy-aliases")
    cid = daemon.docker("run", "-d", "--network", "legacy-aliases", "--network-alias", "web", "busybox",
                        "sleep", "60").stdout.strip()
    try:
        old = daemon.api("GET", f"/v1.41/containers/{cid}/json")[1]["NetworkSettings"]["Networks"]
        assert old["legacy-aliases"]["Aliases"] == ["web", cid[:12]]
        new = daemon.api("GET", f"/containers/{cid}/json")[1]["NetworkSettings"]["Networks"]
        assert new["legacy-aliases"]["Aliases"] == ["web"]
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("network", "rm", "legacy-aliases")
