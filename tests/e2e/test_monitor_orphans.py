"""No monitor outlives its purpose: a restarted daemon ends the monitors a killed one spawned but never told
to start, and the monitor of a container removed after the restart goes with it."""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

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
