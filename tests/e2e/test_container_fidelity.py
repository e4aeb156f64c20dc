"""Containers as real clients see them side by side with dockerd (issue 14): kill that waits for the exit,
anonymous volumes that go with their container, resource flags applied or refused in moby's words, the
events dockerd emits, cp of a stream that is no tar, plain (not upgraded) exec and attach streams, attach
racing a start, detach keys from the client's config file, commit of a container that has just exited."""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from dockyard.runtime import sysinfo

from .daemon_harness import DOCKER, cleanup_daemon, new_daemon, tar_bytes

docker = pytest.importorskip("docker")


@pytest.fixture
def client(daemon):
    c = docker.APIClient(base_url=daemon.host, version="1.50")
    yield c
    c.close()


def inspect(d, ref: str) -> dict:
    return json.loads(d.docker("inspect", ref).stdout)[0]


def events(d, since: str, *filters: str) -> list[dict]:
    args = [a for f in filters for a in ("--filter", f)]
    out = d.docker("events", "--since", since, "--until", str(time.time() + 1), *args, "--format",
                   "{{json .}}").stdout
    return [json.loads(line) for line in out.splitlines() if line]


# ---------------------------------------------------------------- kill
def test_kill_returns_once_the_container_is_dead(daemon, client):
    """moby's Kill of SIGKILL waits for the exit: inspect right after sees it stopped, rm right after works
    (docker-py's KillTest)."""
    for _ in range(3):
        cid = client.create_container("busybox", ["sleep", "300"])["Id"]
        client.start(cid)
        client.kill(cid)
        state = client.inspect_container(cid)["State"]
        try:
            assert (state["Running"], state["Status"], state["ExitCode"]) == (False, "exited", 137)
        finally:
            client.remove_container(cid, force=True)
    cid = daemon.docker("run", "-d", "busybox", "sleep", "300").stdout.strip()
    daemon.docker("kill", cid)
    daemon.docker("rm", cid)  # not a 409: the container is down when kill returns


# ---------------------------------------------------------------- anonymous volumes
def volume_count(d) -> int:
    rows = [json.loads(line) for line in d.docker("system", "df", "--format", "{{json .}}").stdout.splitlines()]
    return int(next(r for r in rows if r["Type"] == "Local Volumes")["TotalCount"])


def test_anonymous_volumes_go_with_their_container(fresh_daemon, tmp_path):
    d = fresh_daemon  # its own: `system df` counts every volume of the daemon
    d.docker("run", "--rm", "-v", "/data", "busybox", "sh", "-c", "echo x > /data/f")
    assert volume_count(d) == 0
    # the image's VOLUME too, and `rm -v`; a named volume stays
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nVOLUME /cache\nRUN echo a > /cache/a\nRUN echo b > /b\n"
                                    "COPY f /f\n")
    (ctx / "f").write_text("f\n")
    # a legacy build's intermediate containers leave no volume behind
    d.docker("build", "-t", "vol:1", str(ctx), env={"DOCKER_BUILDKIT": "0"})
    assert volume_count(d) == 0
    d.docker("run", "--rm", "vol:1", "true")
    assert volume_count(d) == 0
    d.docker("volume", "create", "keep")
    cid = d.docker("create", "-v", "keep:/keep", "-v", "/anon", "vol:1", "true").stdout.strip()
    assert volume_count(d) == 3  # keep, /anon and the image's /cache
    since = str(time.time())
    d.docker("rm", "-v", cid)
    assert d.docker("volume", "ls", "-q").stdout.split() == ["keep"]
    destroyed = [e for e in events(d, since, "type=volume") if e["Action"] == "destroy"]
    assert len(destroyed) == 2
    d.docker("volume", "rm", "keep")
    assert volume_count(d) == 0


# ---------------------------------------------------------------- resource flags
def cgroup_file(controller: str, cid: str, name: str) -> str:
    base = "/sys/fs/cgroup" if sysinfo.host().cgroup2 else f"/sys/fs/cgroup/{controller}"
    return Path(f"{base}/dockyard/{cid}/{name}").read_text()


def block_device() -> tuple[str, str]:
    """A block device of this machine and its major:minor."""
    for name in sorted(os.listdir("/sys/block")):
        dev = Path(f"/dev/{name}")
        if dev.exists() and not name.startswith(("loop", "ram")):
            return str(dev), Path(f"/sys/block/{name}/dev").read_text().strip()
    pytest.skip("no block device")


def test_oom_kill_disable_is_applied_or_refused_with_mobys_warning(daemon):
    info = sysinfo.host()
    p = daemon.docker("run", "-d", "-m", "64m", "--oom-kill-disable", "busybox", "sleep", "60")
    cid = p.stdout.strip()
    try:
        hc = inspect(daemon, cid)["HostConfig"]
        if info.oom_kill_disable:
            assert "WARNING" not in p.stderr and hc["OomKillDisable"] is True
            assert "oom_kill_disable 1" in cgroup_file("memory", cid, "memory.oom_control")
        else:
            assert "WARNING: Your kernel does not support OomKillDisable. OomKillDisable discarded." in p.stderr
            assert hc["OomKillDisable"] is False
    finally:
        daemon.docker("rm", "-f", cid)
    if info.oom_kill_disable:  # moby also warns when nothing bounds the memory the killer would have freed
        p = daemon.docker("create", "--oom-kill-disable", "busybox", "true")
        daemon.docker("rm", p.stdout.strip())
        assert ("WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result "
                "in the system running out of resources.") in p.stderr


def test_blkio_settings_are_applied_or_discarded_with_mobys_warnings(daemon):
    info = sysinfo.host()
    dev, majmin = block_device()
    p = daemon.docker("run", "-d", "--blkio-weight", "300", "--blkio-weight-device", f"{dev}:200",
                      "--device-read-bps", f"{dev}:1mb", "--device-write-bps", f"{dev}:2mb",
                      "--device-read-iops", f"{dev}:100", "--device-write-iops", f"{dev}:200",
                      "busybox", "sleep", "60")
    cid = p.stdout.strip()
    try:
        hc = inspect(daemon, cid)["HostConfig"]
        if info.blkio_weight:
            assert hc["BlkioWeight"] == 300
        else:
            assert ("WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                    "Weight discarded.") in p.stderr
            assert hc["BlkioWeight"] == 0
        if not info.blkio_weight_device:
            assert ("WARNING: Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                    "Weight-device discarded.") in p.stderr
            assert hc["BlkioWeightDevice"] == []
        if info.cgroup2:
            io_max = cgroup_file("io", cid, "io.max")
            assert f"{majmin} rbps=1048576 wbps=2097152 riops=100 wiops=200" in io_max
        else:
            for name, value in (("read_bps_device", 1048576), ("write_bps_device", 2097152),
                                ("read_iops_device", 100), ("write_iops_device", 200)):
                assert cgroup_file("blkio", cid, f"blkio.throttle.{name}").split() == [majmin, str(value)]
            if info.blkio_weight:
                assert cgroup_file("blkio", cid, "blkio.weight").strip() == "300"
    finally:
        daemon.docker("rm", "-f", cid)


def test_cpu_realtime_needs_the_daemons_budget_and_is_refused_where_the_kernel_lacks_it(daemon, tmp_path,
                                                                                     busybox_tar):
    bad = daemon.docker("run", "--rm", "--cpu-rt-runtime", "10000", "--cpu-rt-period", "5000", "busybox", "true",
                        check=False)
    if not sysinfo.host().cpu_realtime:  # cgroup v2, or a kernel without RT group scheduling
        assert "Error response from daemon: kernel does not support CPU real-time scheduler" in bad.stderr
        return
    assert ("Error response from daemon: cpu real-time runtime cannot be higher than cpu real-time period"
            in bad.stderr)
    # as dockerd: the containers' parent cgroup gets the daemon's --cpu-rt-runtime, a container a share of it
    d = new_daemon(tmp_path / "rt", extra_args=["--cpu-rt-runtime", "95000"])
    d.start()
    try:
        d.docker("load", "-i", str(busybox_tar))
        cid = d.docker("run", "-d", "--cpu-rt-runtime", "10000", "busybox", "sleep", "60").stdout.strip()
        assert cgroup_file("cpu", cid, "cpu.rt_runtime_us").strip() == "10000"
        assert inspect(d, cid)["HostConfig"]["CpuRealtimeRuntime"] == 10000
        d.docker("rm", "-f", cid)
        # and `docker update` changes it on a running container, as moby's UpdateResources does
        cid = d.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
        d.docker("update", "--cpu-rt-runtime", "20000", cid)
        assert cgroup_file("cpu", cid, "cpu.rt_runtime_us").strip() == "20000"
        assert inspect(d, cid)["HostConfig"]["CpuRealtimeRuntime"] == 20000
        d.docker("rm", "-f", cid)
    finally:
        cleanup_daemon(d)


def test_storage_opt_size_is_refused_in_the_drivers_words(daemon):
    p = daemon.docker("run", "--rm", "--storage-opt", "size=1G", "busybox", "true", check=False)
    assert p.returncode == 125
    driver = daemon.docker("info", "--format", "{{.Driver}}").stdout.strip()
    expected = ("Filesystem does not support, or has not enabled quotas" if driver == "vfs" else
                "--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
    if driver != "vfs" and _xfs_pquota(daemon):
        expected = "--storage-opt size is not supported by dockyard's overlay2 driver yet"
    assert f"Error response from daemon: {expected}" in p.stderr
    ours = daemon.dockyard("run", "--rm", "--storage-opt", "size=1G", "busybox", "true", check=False)
    # the dockyard CLI sends it as docker's does
    assert (ours.returncode, ours.stderr) == (p.returncode, p.stderr.replace("docker", "dockyard"))
    p = daemon.docker("create", "--storage-opt", "foo=bar", "busybox", "true", check=False)
    assert "Error response from daemon: " + ("Storage opt foo not supported" if driver == "vfs"
                                             else "Unknown option foo") in p.stderr


def _xfs_pquota(daemon) -> bool:
    from dockyard.daemon.storage_opts import has_project_quota
    return has_project_quota(daemon.data_root)


# ---------------------------------------------------------------- events
def test_top_and_attach_events_and_the_order_of_an_exit(daemon):
    since = str(time.time())
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        daemon.docker("top", cid)
        daemon.docker("kill", cid)
        got = [(e["Type"], e["Action"]) for e in events(daemon, since, f"container={cid}")]
        assert ("container", "top") in got
        top = next(e for e in events(daemon, since, f"container={cid}", "event=top"))
        assert top["Actor"]["Attributes"]["name"] and top["Actor"]["Attributes"]["image"] == "busybox"
        # Docker 23+ (moby#41698) releases the network before it reports the exit: disconnect, then die
        exit_events = [(e["Type"], e["Action"]) for e in events(daemon, since)
                       if e["Actor"]["ID"] == cid or e["Actor"]["Attributes"].get("container") == cid]
        assert exit_events.index(("network", "disconnect")) < exit_events.index(("container", "die"))
        # `attach` (even one that only replays the logs) is an event of its own, after the replay
        since = str(time.time())
        daemon.api("POST", f"/containers/{cid}/attach?logs=1&stdout=1")
        assert [e["Action"] for e in events(daemon, since, f"container={cid}")] == ["attach"]
    finally:
        daemon.docker("rm", "-f", cid)


# ---------------------------------------------------------------- cp
def test_cp_of_a_stream_that_is_no_tar_answers_in_gos_words(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        for data, message in ((b"hello, not a tar\n", "unexpected EOF"),
                              (bytes(range(256)) * 8, "archive/tar: invalid tar header"),
                              (tar_bytes({"big": b"x" * 4096})[:1500], "unexpected EOF")):
            p = daemon.docker("cp", "-", f"{cid}:/tmp", input=data, check=False)
            assert p.returncode == 1
            assert p.stderr.decode().strip() == f"Error response from daemon: {message}"
        assert daemon.docker("cp", "-", f"{cid}:/tmp", input=b"").returncode == 0  # empty: nothing to copy
        daemon.docker("cp", "-", f"{cid}:/tmp", input=tar_bytes({"ok.txt": b"fine\n"}))
        assert daemon.docker("exec", cid, "cat", "/tmp/ok.txt").stdout == "fine\n"
        assert daemon.docker("exec", cid, "ls", "/tmp").stdout.split() == ["ok.txt"]  # the bad ones wrote nothing
    finally:
        daemon.docker("rm", "-f", cid)


# ---------------------------------------------------------------- plain streams
def curl(daemon, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--unix-socket", str(daemon.socket), *args], capture_output=True,
                          timeout=60)


def test_exec_start_without_upgrade_streams_and_ends_cleanly(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        status, body = daemon.api("POST", f"/containers/{cid}/exec",
                                  {"Cmd": ["sh", "-c", "echo out; echo err >&2"], "AttachStdout": True,
                                   "AttachStderr": True})
        p = curl(daemon, "-i", "-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Tty": true}',
                 f"http://localhost/v1.50/exec/{body['Id']}/start")
        assert p.returncode == 0, p.stderr  # curl 18 ("transfer closed with outstanding read data") before
        head, _, payload = p.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert b"content-type: application/vnd.docker.raw-stream" in head.lower()
        assert sorted(payload.split()) == [b"err", b"out"]
    finally:
        daemon.docker("rm", "-f", cid)
    # an attach without Upgrade too: the raw stream, then the end of the connection
    cid = daemon.docker("run", "-d", "busybox", "echo", "logged").stdout.strip()
    try:
        daemon.docker("wait", cid)
        p = curl(daemon, "-X", "POST", f"http://localhost/v1.50/containers/{cid}/attach?logs=1&stdout=1")
        assert (p.returncode, p.stdout) == (0, b"\x01\0\0\0\0\0\0\x07logged\n"), p.stderr
    finally:
        daemon.docker("rm", "-f", cid)


def test_attach_socket_over_http_sees_output_of_a_start_that_races_it(daemon, client):
    """docker-py's test_run_container_reading_socket_http: attach (logs+stream) to a created container, start
    it at once; the output comes as one stdout frame."""
    line = "hi there and stuff and things, words!"
    for _ in range(3):
        cid = client.create_container("busybox", f"printf '{line}'", detach=True, tty=False)["Id"]
        try:
            sock = client.attach_socket(cid, {"stdout": 1, "stream": 1, "logs": 1})
            client.start(cid)
            raw = sock._sock
            raw.settimeout(20)
            header = _read_exactly(raw, 8)
            stream, size = struct.unpack(">BxxxL", header)
            assert (stream, size) == (1, len(line))
            assert _read_exactly(raw, size).decode() == line
            sock.close()
        finally:
            client.remove_container(cid, force=True)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_detach_keys_from_the_clients_config_file(daemon, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    config = tmp_path / "dockercfg"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"detachKeys": "ctrl-a,x"}))
    env = daemon.env(DOCKER_CONFIG=str(config))
    name = f"dkcfg{os.getpid()}"

    def detach(child) -> None:
        child.sendcontrol("a")
        child.send("x")
        child.expect(pexpect.EOF)
        child.close()

    run = pexpect.spawn(DOCKER, ["run", "-it", "--name", name, "busybox", "sh"], env=env, timeout=20,
                        encoding="utf-8")
    try:
        run.expect(r"/ # ")
        detach(run)
        assert inspect(daemon, name)["State"]["Running"]
        att = pexpect.spawn(DOCKER, ["attach", name], env=env, timeout=20, encoding="utf-8")
        att.sendline("echo att-$((1+1))")
        att.expect("att-2")
        detach(att)
        ex = pexpect.spawn(DOCKER, ["exec", "-it", name, "sh"], env=env, timeout=20, encoding="utf-8")
        ex.expect(r"/ # ")
        ex.sendline("echo ex-$((2+2))")
        ex.expect("ex-4")
        detach(ex)
        assert inspect(daemon, name)["State"]["Running"]
        daemon.docker("kill", name)
        start = pexpect.spawn(DOCKER, ["start", "-ai", name], env=env, timeout=20, encoding="utf-8")
        start.sendline("echo st-$((3+3))")
        start.expect("st-6")
        detach(start)
        assert inspect(daemon, name)["State"]["Running"]
    finally:
        run.close(force=True)
        daemon.docker("rm", "-f", name, check=False)


# ---------------------------------------------------------------- commit
def test_commit_with_pause_of_a_container_that_has_just_exited(daemon):
    """The container's process is gone but the daemon has not seen the exit yet (its monitor is held
    stopped): commit's pause fails, and commit goes on, as moby's does."""
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "echo x > /made; echo ready; sleep 300").stdout.strip()
    while "ready" not in daemon.docker("logs", cid).stdout:  # /made is written
        time.sleep(0.05)
    state_dir = daemon.exec_root / "c" / cid
    monitor = int((state_dir / "monitor.pid").read_text())
    os.kill(monitor, signal.SIGSTOP)
    try:
        subprocess.run(["runc", "--root", str(daemon.exec_root / "runc"), "kill", cid, "KILL"], check=True)
        while json.loads(subprocess.run(["runc", "--root", str(daemon.exec_root / "runc"), "state", cid],
                                        capture_output=True, check=True).stdout)["status"] != "stopped":
            time.sleep(0.05)
        assert inspect(daemon, cid)["State"]["Running"]  # the daemon has not seen it yet
        image = daemon.docker("commit", cid, "justexited:1").stdout.strip()
        assert image.startswith("sha256:")
    finally:
        os.kill(monitor, signal.SIGCONT)
    try:
        assert daemon.docker("run", "--rm", "justexited:1", "cat", "/made").stdout == "x\n"
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("rmi", "justexited:1")
