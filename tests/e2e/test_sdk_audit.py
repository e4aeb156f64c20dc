"""docker-py 7.1 driving dockyard as Python users do: moby's create-time checks (a 400 from `create`, no
container left behind), `volumes_from`, a container sharing another's network, shapes of older API versions
for clients that pin one, and the docker CLI's `events --since/--until` check."""
from __future__ import annotations

import io
import time

import pytest

from dockyard.runtime import sysinfo

docker = pytest.importorskip("docker")


def client_for(daemon, version: str = "1.50"):
    return docker.DockerClient(base_url=daemon.host, version=version)


@pytest.fixture
def client(daemon):
    c = client_for(daemon)
    yield c
    c.close()


@pytest.fixture
def made(client):
    """Containers and volumes a test made, removed whatever happens."""
    things = {"containers": [], "volumes": []}
    yield things
    for ref in things["containers"]:
        try:
            client.api.remove_container(ref, force=True, v=True)
        except docker.errors.NotFound:
            pass
    for name in things["volumes"]:
        try:
            client.api.remove_volume(name)
        except docker.errors.NotFound:
            pass


def container_names(client) -> set[str]:
    return {c.name for c in client.containers.list(all=True)}


# ---------------------------------------------------------------- moby's create-time checks
BAD_SETTINGS = [
    ({"oom_score_adj": 5000}, "Invalid value 5000, range for oom score adj is [-1000, 1000]"),
    ({"cpu_shares": -5}, "invalid CPU shares (-5): value must be a positive integer"),
    ({"mem_swappiness": 200}, "Invalid value: 200, valid memory swappiness range is 0-100"),
    ({"cpuset_cpus": "4096"}, "Requested CPUs are not available - requested 4096, available: "),
    ({"isolation": "hyperv"}, "Invalid isolation: \"hyperv\" - linux only supports 'default'"),
    ({"cgroupns": "bogus"}, "invalid cgroup namespace mode: bogus"),
    ({"tmpfs": {"scratch": ""}}, "invalid mount path: 'scratch' mount path must be absolute"),
    ({"shm_size": -1}, "SHM size can not be less than 0"),
    ({"ipc_mode": "bogus"}, "invalid IPC mode: bogus"),
    ({"pid_mode": "bogus"}, "invalid PID mode: bogus"),
    ({"volumes_from": ["sdk-audit-nosuch"]}, "No such container: sdk-audit-nosuch"),
]
if sysinfo.host().blkio_weight:  # else moby drops any weight with a warning before checking its range
    BAD_SETTINGS.append(({"blkio_weight": 5}, "Range of blkio weight is from 10 to 1000"))


@pytest.mark.parametrize("settings,message", BAD_SETTINGS, ids=[next(iter(s)) for s, _ in BAD_SETTINGS])
def test_run_with_a_bad_setting_fails_at_create_and_leaves_nothing(client, settings, message):
    # before: runc refused them at start (a 500 in runc's words, or nothing at all), and run() left the
    # created container behind
    before = container_names(client)
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.run("busybox", "true", remove=True, **settings)
    assert err.value.status_code == 400
    assert err.value.explanation.startswith(message)
    assert "/create" in str(err.value)
    assert container_names(client) == before


@pytest.mark.parametrize("settings,message", [
    ({"hostname": "mine"}, "conflicting options: hostname and the network mode"),
    ({"dns": ["127.0.0.1"]}, "conflicting options: dns and the network mode"),
    ({"extra_hosts": {"db": "127.0.0.1"}}, "conflicting options: custom host-to-IP mapping and the network mode"),
], ids=["hostname", "dns", "extra_hosts"])
def test_network_of_another_container_conflicts_with_own_names(client, made, settings, message):
    owner = client.containers.run("busybox", "sleep 60", detach=True)
    made["containers"].append(owner.id)
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.create("busybox", "true", network_mode=f"container:{owner.id}", **settings)
    assert (err.value.status_code, err.value.explanation) == (400, message)


# ---------------------------------------------------------------- volumes_from
def test_volumes_from_shares_the_other_containers_volumes_and_binds(client, made, tmp_path):
    (tmp_path / "host.txt").write_text("from the host\n")
    source = client.containers.run("busybox", ["sh", "-c", "echo kept > /data/f"], detach=True,
                                   volumes=["sdk-audit-shared:/data", f"{tmp_path}:/host"])
    made["containers"].append(source.id)
    made["volumes"].append("sdk-audit-shared")
    source.wait()
    out = client.containers.run("busybox", ["sh", "-c", "cat /data/f /host/host.txt; echo more >> /data/f"],
                                volumes_from=[source.id], remove=True)
    assert out == b"kept\nfrom the host\n"
    reader = client.containers.create("busybox", ["sh", "-c", "cat /data/f; touch /data/g"],
                                      volumes_from=[f"{source.name}:ro"])
    made["containers"].append(reader.id)
    mounts = {m["Destination"]: m for m in reader.attrs["Mounts"]}
    assert set(mounts) == {"/data", "/host"}
    assert mounts["/data"]["Name"] == "sdk-audit-shared" and mounts["/data"]["RW"] is False
    assert mounts["/host"]["Source"] == str(tmp_path) and mounts["/host"]["RW"] is False
    reader.start()
    assert reader.wait()["StatusCode"] == 1
    assert reader.logs() == b"kept\nmore\ntouch: /data/g: Read-only file system\n"
    # the volume is in use by both
    with pytest.raises(docker.errors.APIError) as err:
        client.volumes.get("sdk-audit-shared").remove()
    assert err.value.status_code == 409 and reader.id in err.value.explanation


def test_docker_cli_volumes_from(daemon, made):
    made["volumes"].append("sdk-audit-cli-vf")
    daemon.docker("run", "--name", "sdk-audit-vf-src", "-v", "sdk-audit-cli-vf:/v", "busybox",
                  "sh", "-c", "echo shared > /v/f")
    made["containers"].append("sdk-audit-vf-src")
    out = daemon.docker("run", "--rm", "--volumes-from", "sdk-audit-vf-src", "busybox", "cat", "/v/f")
    assert out.stdout == "shared\n"


# ---------------------------------------------------------------- network_mode="container:..."
def test_container_sharing_a_network_takes_the_owners_host_name(client, made):
    owner = client.containers.run("busybox", "sleep 60", detach=True)
    made["containers"].append(owner.id)
    # before: the joiner kept its own name, which the shared /etc/hosts does not know (`hostname -i` failed)
    out = client.containers.run("busybox", ["sh", "-c", "hostname; hostname -i"],
                                network_mode=f"container:{owner.id}", remove=True)
    owner.reload()
    ip = owner.attrs["NetworkSettings"]["IPAddress"]
    assert out.decode().split() == [owner.id[:12], ip]


# ---------------------------------------------------------------- shapes of older API versions
def test_volume_prune_before_api_1_42_takes_named_volumes_too(daemon, made):
    old, new = client_for(daemon, "1.41"), client_for(daemon, "1.42")
    try:
        new.volumes.create("sdk-audit-named")
        made["volumes"].append("sdk-audit-named")
        assert "sdk-audit-named" not in (new.volumes.prune()["VolumesDeleted"] or [])
        assert "sdk-audit-named" in (old.volumes.prune()["VolumesDeleted"] or [])
        with pytest.raises(docker.errors.NotFound):
            new.volumes.get("sdk-audit-named")
    finally:
        old.close()
        new.close()


def test_virtual_size_only_before_api_1_44(daemon):
    for version, has_it in (("1.43", True), ("1.44", False), ("1.50", False)):
        c = client_for(daemon, version)
        try:
            listed = [i for i in c.api.images() if "busybox:latest" in (i["RepoTags"] or [])][0]
            inspected = c.api.inspect_image("busybox")
            df_images = [i for i in c.df()["Images"] if "busybox:latest" in (i["RepoTags"] or [])]
        finally:
            c.close()
        for shape in (listed, inspected, df_images[0]):
            assert ("VirtualSize" in shape) is has_it, (version, shape)
            if has_it:
                assert shape["VirtualSize"] == shape["Size"]


def test_untagged_images_list_as_none_before_api_1_43(daemon, client):
    image, _ = client.images.build(fileobj=io.BytesIO(b"FROM busybox\nLABEL sdk-audit=untagged\n"))
    try:
        for version, tags, digests in (("1.42", ["<none>:<none>"], ["<none>@<none>"]), ("1.43", [], [])):
            c = client_for(daemon, version)
            try:
                entry = [i for i in c.api.images(filters={"label": "sdk-audit=untagged"})][0]
            finally:
                c.close()
            assert (entry["RepoTags"], entry["RepoDigests"]) == (tags, digests)
        assert client.images.get(image.id).tags == []
    finally:
        client.images.remove(image.id, force=True)


def test_image_config_has_container_fields_before_api_1_50(daemon):
    legacy = {"Hostname", "Domainname", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
              "StdinOnce", "Image"}
    for version, present in (("1.49", True), ("1.50", False)):
        c = client_for(daemon, version)
        try:
            config = c.images.get("busybox").attrs["Config"]
        finally:
            c.close()
        assert (legacy <= set(config)) is present and (not legacy & set(config)) is not present
        if present:
            assert config["Hostname"] == "" and config["Tty"] is False and config["Image"] == ""
        assert config["Cmd"] == ["sh"]


# ---------------------------------------------------------------- events
def test_events_since_after_until_is_refused(daemon):
    p = daemon.docker("events", "--since", "10", "--until", "3", check=False, timeout=20)
    assert p.returncode == 1
    assert p.stderr.strip() == "Error response from daemon: `since` time (10) cannot be after `until` time (3)"
    now = int(time.time())
    ok = daemon.docker("events", "--since", str(now - 1), "--until", str(now), timeout=20)
    assert ok.returncode == 0


# ---------------------------------------------------------------- build's RUN containers
RUN_SEES = (b"FROM busybox\nRUN grep -E '[[:space:]](foo|bar)$' /etc/hosts && df -k /dev/shm | tail -1 | awk '{print $2}' "
            b"&& cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; true\n")


def run_step_output(logs) -> list[str]:
    lines = "".join(entry.get("stream", "") for entry in logs).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(" ---> Running in "))
    return lines[start + 1:start + 5]


def test_build_runs_steps_with_extra_hosts_shm_size_and_memory(client):
    # before: extrahosts, shmsize and container_limits were ignored (RUN saw none of them)
    image, logs = client.images.build(fileobj=io.BytesIO(RUN_SEES), nocache=True, extra_hosts={"foo": "1.2.3.4"},
                                      shmsize=16 << 20, container_limits={"memory": 64 << 20, "memswap": -1})
    try:
        out = run_step_output(logs)
        assert out[:2] == ["1.2.3.4\tfoo", "16384"]
        assert str(64 << 20) in out[2:]
    finally:
        client.images.remove(image.id, force=True)


def test_docker_cli_build_add_host(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_bytes(RUN_SEES)
    p = daemon.docker("build", "--no-cache", "-t", "sdk-audit-add-host", "--add-host", "foo:1.2.3.4",
                      "--add-host", "bar:5.6.7.8", str(tmp_path))
    daemon.docker("rmi", "sdk-audit-add-host")
    assert "1.2.3.4\tfoo\n5.6.7.8\tbar\n" in p.stdout


# ---------------------------------------------------------------- stats
ZERO_CPU = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def test_first_streamed_stats_have_zero_precpu_fields_and_stopped_ones_zero_cpu(client, made):
    # before: {"cpu_usage": {"total_usage": 0}, "throttling_data": {}}, a KeyError for usage_in_usermode
    running = client.containers.run("busybox", "sleep 60", detach=True)
    made["containers"].append(running.id)
    first = next(running.stats(decode=True))
    assert first["precpu_stats"] == ZERO_CPU
    assert first["preread"] == "0001-01-01T00:00:00Z"
    stopped = client.containers.create("busybox", "true")
    made["containers"].append(stopped.id)
    once = stopped.stats(stream=False)
    assert once["cpu_stats"] == ZERO_CPU and once["precpu_stats"] == ZERO_CPU


def test_attach_with_logs_and_stream_loses_nothing_of_a_running_container(client, made):
    """attach(logs=True, stream=True) while the container prints: every line once, in order (the output
    between reading the log and attaching to the live stream used to be in neither)."""
    script = "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done"
    for _ in range(3):
        c = client.containers.run("busybox", ["sh", "-c", script], detach=True)
        made["containers"].append(c.id)
        out = b"".join(client.api.attach(c.id, stdout=True, stderr=True, stream=True, logs=True))
        lines = out.decode().split()
        assert lines == [f"line{i}" for i in range(20000)]


def test_attach_with_logs_only_returns_the_whole_log(client, made):
    c = client.containers.run("busybox", ["sh", "-c", "seq 1 500"], detach=True)
    made["containers"].append(c.id)
    assert c.wait()["StatusCode"] == 0
    for _ in range(10):
        out = client.api.attach(c.id, stdout=True, stderr=True, stream=False, logs=True)
        assert out.decode().split() == [str(i) for i in range(1, 501)]
