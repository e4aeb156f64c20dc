"""What docker-py reads and sends, shaped as Docker does: full HostConfig in inspect, labels in events,
create's platform, and moby's validation of limits and ports."""
from __future__ import annotations

import time

import pytest

docker = pytest.importorskip("docker")

# HostConfig fields Go always marshals (no `omitempty`), which SDK users index without a check.
ALWAYS_THERE = ("Memory", "MemorySwap", "MemoryReservation", "CpuShares", "NanoCpus", "CpuQuota", "CpuPeriod",
                "PidsLimit", "OomKillDisable", "OomScoreAdj", "Dns", "DnsSearch", "DnsOptions", "ExtraHosts",
                "Devices", "Ulimits", "IpcMode", "PidMode", "CgroupnsMode", "SecurityOpt", "MaskedPaths",
                "ReadonlyPaths", "ConsoleSize", "Links", "VolumesFrom", "BlkioWeight", "CpusetCpus",
                "MemorySwappiness", "GroupAdd", "UTSMode", "UsernsMode", "Isolation", "ContainerIDFile")


@pytest.fixture
def client(daemon):
    c = docker.DockerClient(base_url=daemon.host, version="1.50")
    yield c
    c.close()


@pytest.fixture
def cleanup(client):
    """Containers and images a test made, removed whatever happens."""
    made = {"containers": [], "images": []}
    yield made
    for cid in made["containers"]:
        try:
            client.api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass
    for image in made["images"]:
        client.api.remove_image(image, force=True)


def run_sleeper(client, cleanup, **kwargs):
    c = client.containers.run("busybox", ["sleep", "60"], detach=True, **kwargs)
    cleanup["containers"].append(c.id)
    return c


# ---------------------------------------------------------------- inspect shapes
def test_inspect_host_config_has_every_field_with_zero_values(client, cleanup):
    c = run_sleeper(client, cleanup)
    hc = c.attrs["HostConfig"]
    missing = [k for k in ALWAYS_THERE if k not in hc]
    assert missing == []
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["CpuQuota"], hc["OomScoreAdj"]) == (0, 0, 0, 0, 0)
    assert hc["PidsLimit"] is None and hc["OomKillDisable"] is False
    assert hc["IpcMode"] == "private" and hc["PidMode"] == "" and hc["ConsoleSize"] == [0, 0]
    assert "Init" not in hc  # unset: omitted, never null


def test_inspect_masked_paths_are_the_ones_applied(client, cleanup):
    c = run_sleeper(client, cleanup)
    masked, readonly = c.attrs["HostConfig"]["MaskedPaths"], c.attrs["HostConfig"]["ReadonlyPaths"]
    assert masked and readonly
    # a masked file reads as /dev/null; a read-only path refuses writes
    files = [p for p in masked if p.startswith("/proc/") and p.count("/") == 2]
    code, out = c.exec_run(["sh", "-c", f"cat {files[0]} 2>/dev/null | wc -c"])
    assert out.strip() == b"0"
    code, _ = c.exec_run(["sh", "-c", f"touch {readonly[0]}/x"])
    assert code != 0
    privileged = run_sleeper(client, cleanup, privileged=True)
    assert privileged.attrs["HostConfig"]["MaskedPaths"] is None


def test_memory_limit_gets_twice_the_swap_as_docker(client, cleanup):
    c = run_sleeper(client, cleanup, mem_limit="32m")
    hc = c.attrs["HostConfig"]
    assert hc["MemorySwap"] == 2 * hc["Memory"] == 2 * 32 * 1024 * 1024
    # cgroup v1 limits memory+swap together (memsw); v2 limits swap alone (memory.swap.max = the rest).
    code, out = c.exec_run(["cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"])
    if code == 0:
        assert int(out) == hc["MemorySwap"]
        return
    code, out = c.exec_run(["cat", "/sys/fs/cgroup/memory.swap.max"])
    if code != 0:
        pytest.skip("no swap accounting on this host (cgroup v1 without memsw, or v2 without memory.swap.max)")
    assert int(out) == hc["MemorySwap"] - hc["Memory"]


def test_config_has_no_nulls_for_unset_healthcheck_fields(client, cleanup):
    c = client.containers.create("busybox", ["sleep", "60"], healthcheck={"test": ["CMD", "true"]})
    cleanup["containers"].append(c.id)
    health = c.attrs["Config"]["Healthcheck"]
    assert health == {"Test": ["CMD", "true"]}
    assert None not in (c.attrs["Config"].get(k, "absent") for k in ("StopTimeout", "StopSignal", "MacAddress"))


# ---------------------------------------------------------------- events carry labels
def test_container_events_carry_labels_and_match_the_label_filter(client, cleanup):
    since = time.time() - 1
    labelled = run_sleeper(client, cleanup, labels={"e": "1"})
    other = run_sleeper(client, cleanup, labels={"e": "2"})
    labelled.exec_run(["true"])
    for c in (labelled, other):
        c.remove(force=True)
    events = list(client.events(since=since, until=time.time() + 1, decode=True,
                                filters={"label": "e=1", "type": "container"}))
    assert {e["Actor"]["ID"] for e in events} == {labelled.id}
    actions = {e["Action"].split(":")[0] for e in events}
    assert {"create", "start", "exec_create", "exec_die", "kill", "die", "destroy"} <= actions
    assert all(e["Actor"]["Attributes"]["e"] == "1" for e in events)


def test_image_events_carry_the_image_labels(client, cleanup):
    since = time.time() - 1
    c = run_sleeper(client, cleanup, labels={"img": "yes"})
    image = c.commit(repository="sdk-shapes-labelled", tag="1")
    cleanup["images"].append(image.id)
    events = list(client.events(since=since, until=time.time() + 1, decode=True,
                                filters={"type": "image", "label": "img=yes"}))
    assert [e["Action"] for e in events] == ["tag"]
    assert events[0]["Actor"]["Attributes"]["name"] == "sdk-shapes-labelled:1"


# ---------------------------------------------------------------- create's platform
def other_platform(client) -> tuple[str, str]:
    arch = client.images.get("busybox").attrs["Architecture"]
    return f"linux/{arch}", "linux/arm64" if arch != "arm64" else "linux/amd64"


def test_create_with_another_platform_is_not_found(client, cleanup):
    own, other = other_platform(client)
    # a 404 in moby 28's words (docker-py 7.1 knows only the older wording as ImageNotFound)
    with pytest.raises(docker.errors.NotFound) as err:
        client.api.create_container("busybox", ["true"], platform=other)
    assert err.value.explanation == (f"image with reference busybox was found but its platform ({own}) does not "
                                     f"match the specified platform ({other})")
    ok = client.api.create_container("busybox", ["true"], platform=own)
    cleanup["containers"].append(ok["Id"])


def test_create_with_a_malformed_platform_is_a_bad_request(client):
    with pytest.raises(docker.errors.APIError) as err:
        client.api.create_container("busybox", ["true"], platform="linux/amd64/v2/extra")
    assert err.value.status_code == 400 and "cannot parse platform specifier" in err.value.explanation


# ---------------------------------------------------------------- moby's validation
def create_error(client, **kwargs) -> docker.errors.APIError:
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.create("busybox", ["true"], **kwargs)
    return err.value


def test_create_refuses_memory_under_6mb_and_cpu_conflicts(client):
    err = create_error(client, mem_limit="4m")
    assert (err.status_code, err.explanation) == (400, "Minimum memory limit allowed is 6MB")
    err = create_error(client, nano_cpus=500_000_000, cpu_period=100000)
    assert (err.status_code, err.explanation) == (400, "Conflicting options: Nano CPUs and CPU Period cannot both be set")
    err = create_error(client, nano_cpus=500_000_000, cpu_quota=50000)
    assert (err.status_code, err.explanation) == (400, "Conflicting options: Nano CPUs and CPU Quota cannot both be set")


def test_create_refuses_invalid_port_specifications(client):
    with pytest.raises(docker.errors.APIError) as err:
        client.api.create_container("busybox", ["true"], ports=["abc"])
    assert (err.value.status_code, err.value.explanation) == (400, 'invalid port specification: "abc"')
    err = create_error(client, ports={"abc/tcp": 8080})
    assert (err.status_code, err.explanation) == (400, 'invalid port specification: "abc"')
    err = create_error(client, ports={"80/tcp": "http"})
    assert (err.status_code, err.explanation) == (400, 'invalid port specification: "http"')


def test_update_refuses_too_little_memory_and_keeps_the_limits(client, cleanup):
    c = run_sleeper(client, cleanup, mem_limit="32m")
    with pytest.raises(docker.errors.APIError) as err:
        c.update(mem_limit="4m", memswap_limit="4m")
    assert (err.value.status_code, err.value.explanation) == (400, "Minimum memory limit allowed is 6MB")
    # more memory than the swap limit already set, without a new one: moby's conflict
    with pytest.raises(docker.errors.APIError) as err:
        c.update(mem_limit="128m")
    assert err.value.status_code == 409
    assert err.value.explanation.endswith("Memory limit should be smaller than already set memoryswap limit, "
                                          "update the memoryswap at the same time")
    c.reload()
    assert c.attrs["HostConfig"]["Memory"] == 32 * 1024 * 1024
