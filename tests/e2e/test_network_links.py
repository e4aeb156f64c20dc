"""Legacy links (`--link`) through the real docker CLI: /etc/hosts and the ALIAS_* variables on the default
bridge, HostConfig.Links in inspect, `docker rm --link` (and the dockyard CLI's), and links on a user-defined
network as DNS aliases only the linking container sees."""
from __future__ import annotations

import json
import secrets

import pytest

pytestmark = pytest.mark.timeout(180)


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def inspect(daemon, ref: str) -> dict:
    return json.loads(daemon.docker("inspect", ref).stdout)[0]


def test_default_bridge_link_hosts_env_inspect_and_rm_link(daemon):
    db, web = unique("db-"), unique("web")
    daemon.docker("run", "-d", "--name", db, "-e", "SECRET=s3", "--expose", "5432", "--expose", "5433",
                  "busybox", "sleep", "300")
    daemon.docker("run", "-d", "--name", web, "--link", f"{db}:db", "busybox", "sleep", "300")
    try:
        child = inspect(daemon, db)
        ip, hostname = child["NetworkSettings"]["IPAddress"], child["Config"]["Hostname"]
        assert inspect(daemon, web)["HostConfig"]["Links"] == [f"/{db}:/{web}/db"]
        env = dict(line.split("=", 1) for line in daemon.docker("exec", web, "env").stdout.split())
        assert env["DB_PORT"] == f"tcp://{ip}:5432"
        assert env["DB_PORT_5432_TCP"] == f"tcp://{ip}:5432"
        assert (env["DB_PORT_5433_TCP_ADDR"], env["DB_PORT_5433_TCP_PORT"], env["DB_PORT_5433_TCP_PROTO"]) == \
            (ip, "5433", "tcp")
        assert env["DB_PORT_5432_TCP_START"] == f"tcp://{ip}:5432" and env["DB_PORT_5432_TCP_PORT_END"] == "5433"
        assert env["DB_NAME"] == f"/{web}/db"
        assert env["DB_ENV_SECRET"] == "s3"
        assert "DB_ENV_PATH" not in env
        hosts = daemon.docker("exec", web, "cat", "/etc/hosts").stdout
        assert f"{ip}\tdb {hostname} {db}" in hosts.splitlines()
        daemon.docker("exec", web, "ping", "-c", "1", "-W", "5", "db")
        out = daemon.docker("rm", "--link", f"/{web}/db")
        assert out.stdout.strip() == f"/{web}/db"
        assert not inspect(daemon, web)["HostConfig"]["Links"]
        assert " db " not in daemon.docker("exec", web, "cat", "/etc/hosts").stdout
        assert inspect(daemon, db)["State"]["Running"]  # rm --link removes the link, not the container
    finally:
        daemon.docker("rm", "-f", web, db)


def test_link_errors(daemon):
    p = daemon.docker("run", "--rm", "--link", "dynosuchcontainer:x", "busybox", "true", check=False)
    assert p.returncode == 125
    assert "could not get container for dynosuchcontainer" in p.stderr
    stopped, web = unique("stopped"), unique("web")
    daemon.docker("create", "--name", stopped, "busybox", "true")
    try:
        p = daemon.docker("run", "--name", web, "--link", stopped, "busybox", "true", check=False)
        assert p.returncode != 0
        assert f"Cannot link to a non running container: /{stopped} AS /{web}/{stopped}" in p.stderr
        p = daemon.docker("rm", "--link", f"/{web}/nolink", check=False)
        assert p.returncode == 1
    finally:
        daemon.docker("rm", "-f", stopped, web)


def test_dockyard_cli_rm_link(daemon):
    db, web = unique("db"), unique("web")
    daemon.docker("run", "-d", "--name", db, "busybox", "sleep", "300")
    daemon.docker("run", "-d", "--name", web, "--link", db, "busybox", "sleep", "300")
    try:
        daemon.dockyard("rm", "--link", f"/{web}/{db}")
        assert not inspect(daemon, web)["HostConfig"]["Links"]
        assert inspect(daemon, db)["State"]["Running"]
    finally:
        daemon.docker("rm", "-f", web, db)


def test_links_on_a_user_network_are_aliases_for_the_linking_container_only(daemon):
    net, db, web, other = unique("lnet"), unique("db"), unique("web"), unique("other")
    daemon.docker("network", "create", net)
    try:
        daemon.docker("run", "-d", "--name", db, "--network", net, "busybox", "sleep", "300")
        daemon.docker("run", "-d", "--name", web, "--network", net, "--link", f"{db}:store", "busybox", "sleep", "300")
        daemon.docker("run", "-d", "--name", other, "--network", net, "busybox", "sleep", "300")
        ip = inspect(daemon, db)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert f"Address: {ip}" in daemon.docker("exec", web, "nslookup", "store").stdout
        daemon.docker("exec", web, "ping", "-c", "1", "-W", "5", "store")
        assert daemon.docker("exec", other, "nslookup", "store", check=False).returncode != 0
        web_inspect = inspect(daemon, web)
        assert web_inspect["NetworkSettings"]["Networks"][net]["Links"] == [f"{db}:store"]
        assert web_inspect["HostConfig"]["Links"] is None  # moby's inspect lists legacy links only
    finally:
        daemon.docker("rm", "-f", db, web, other)
        daemon.docker("network", "rm", net)


@pytest.mark.parametrize("restart_daemon", [False, True])
def test_parent_hosts_follow_a_restarted_child(request, restart_daemon):
    daemon = request.getfixturevalue("fresh_daemon" if restart_daemon else "daemon")
    db, web, squatter = unique("db"), unique("web"), unique("sq")
    daemon.docker("run", "-d", "--name", db, "busybox", "sleep", "300")
    daemon.docker("run", "-d", "--name", web, "--link", f"{db}:db", "busybox", "sleep", "300")
    if restart_daemon:  # the daemon finds the links in its records again
        daemon.stop()
        daemon.start()
    try:
        old_ip = inspect(daemon, db)["NetworkSettings"]["IPAddress"]
        daemon.docker("stop", "-t", "0", db)
        daemon.docker("run", "-d", "--name", squatter, "busybox", "sleep", "300")  # takes the freed address
        assert inspect(daemon, squatter)["NetworkSettings"]["IPAddress"] == old_ip
        daemon.docker("start", db)
        new_ip = inspect(daemon, db)["NetworkSettings"]["IPAddress"]
        assert new_ip != old_ip
        hosts = daemon.docker("exec", web, "cat", "/etc/hosts").stdout.splitlines()
        assert any(line.startswith(f"{new_ip}\tdb ") for line in hosts)
        assert not any(line.startswith(f"{old_ip}\tdb ") for line in hosts)
    finally:
        daemon.docker("rm", "-f", web, db, squatter)


def test_docker_py_links_and_remove_link(daemon):
    import docker

    client = docker.DockerClient(base_url=daemon.host, version="1.50")
    db, web = unique("pydb"), unique("pyweb")
    client.containers.run("busybox", ["sleep", "300"], name=db, detach=True, environment={"ROLE": "db"})
    parent = client.containers.run("busybox", ["sleep", "300"], name=web, detach=True, links={db: "store"})
    try:
        assert parent.attrs["HostConfig"]["Links"] == [f"/{db}:/{web}/store"]
        assert "STORE_ENV_ROLE=db" in parent.exec_run("env").output.decode()
        client.api.remove_container(f"/{web}/store", link=True)
        parent.reload()
        assert not parent.attrs["HostConfig"]["Links"]
    finally:
        for name in (web, db):
            client.api.remove_container(name, force=True)
        client.close()
