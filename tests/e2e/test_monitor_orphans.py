"""No monitor outlives its purpose: a restarted daemon ends the monitors a killed one spawned but never told
to start, and the monitor of a container removed after the restart goes with it. No container outlives its
record: a restarted daemon ends the runtime's containers whose record a killed `rm` had already deleted."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from dockyard.runtime import monitor_client
from dockyard.runtime.monitor_client import Monitor
from dockyard.runtime.oci import OCIRuntime

from .daemon_harness import DOCKER


def monitors_under(root: Path) -> list[int]:
    """PIDs of monitor processes whose log (their stderr, in their state dir) is under `root`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"monitor.py" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            if os.readlink(f"/proc/{pid}/fd/2").startswith(str(root)):
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def wait_until(condition, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_restart_ends_a_monitor_the_killed_daemon_never_started(fresh_daemon, monkeypatch):
    d = fresh_daemon
    monkeypatch.setattr(monitor_client, "_zygote", monitor_client._Zygote())  # the test's own, ended below
    cid = d.docker("create", "busybox", "true").stdout.strip()
    d.kill()
    # What a daemon killed between spawning a container's monitor and sending it "start" leaves behind.
    state_dir = d.exec_root / "c" / cid

    async def spawn():
        runtime = OCIRuntime("runc", "runc", str(d.exec_root / "runc"))
        m = await Monitor.spawn(runtime=runtime, container_id=cid, bundle=state_dir, state_dir=state_dir, log=None,
                                tty=False, open_stdin=False, stdin_once=False)
        await monitor_client.close_monitor_zygote()
        return m

    asyncio.run(spawn())
    wait_until(lambda: monitors_under(state_dir), 10, "the monitor to run")
    d.start()
    wait_until(lambda: not monitors_under(state_dir), 60, "the restarted daemon to end the monitor")
    assert d.docker("start", "-a", cid).returncode == 0  # the container itself is fine: it starts afresh


def test_sigkill_mid_build_then_rm_leaves_no_monitor(fresh_daemon, tmp_path):
    d = fresh_daemon
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN sleep 600\n")
    build = subprocess.Popen([DOCKER, "build", str(tmp_path)], env=d.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        for line in build.stdout:
            if "Running in" in line:
                break
        wait_until(lambda: monitors_under(d.exec_root / "c"), 30, "the RUN step's monitor")
        d.kill()
    finally:
        build.kill()
        build.wait()
    d.start()
    leftovers = d.docker("ps", "-aq").stdout.split()
    assert leftovers  # the interrupted step's container, adopted
    d.docker("rm", "-f", *leftovers)
    wait_until(lambda: not monitors_under(d.exec_root), 60, "every monitor to exit")


def runc_ids(d) -> list[str]:
    out = subprocess.run(["runc", "--root", str(d.exec_root / "runc"), "list", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return [c["id"] for c in json.loads(out or "null") or []]


def process_runs(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("monitor_left", [True, False], ids=["monitor-alive", "monitor-gone"])
def test_restart_ends_a_container_whose_record_a_killed_rm_deleted(fresh_daemon, monitor_left):
    d = fresh_daemon
    cid = d.docker("run", "-d", "busybox", "sleep", "600").stdout.strip()
    pid = int(d.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    d.kill()
    # What a daemon killed between deleting a container's record and deleting the runtime's container leaves.
    with sqlite3.connect(d.data_root / "dockyard.db") as db:
        db.execute("DELETE FROM containers WHERE id=?", (cid,))
    state_dir = d.exec_root / "c" / cid
    if not monitor_left:  # its state dir removed and its monitor gone too: only the runtime knows it now
        for monitor in monitors_under(state_dir):
            os.kill(monitor, signal.SIGKILL)
        shutil.rmtree(state_dir)
    assert runc_ids(d) == [cid] and process_runs(pid)
    d.start()
    assert runc_ids(d) == []  # ended before the daemon answered anything
    wait_until(lambda: not process_runs(pid), 30, "the container's process to be reaped")
    assert not monitors_under(state_dir) and not state_dir.exists()
    assert d.docker("ps", "-aq").stdout.split() == []
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0  # its address and names are free again
