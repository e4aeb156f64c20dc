"""The daemon's event-loop thread runs ahead of its other threads (a niceness of its own), and nothing it starts
inherits that: pool threads, monitors, a port's proxy and the containers' processes run at the default 0."""
from __future__ import annotations

import os
from pathlib import Path


def _niceness(stat: str) -> int:
    return int(stat.rpartition(")")[2].split()[16])  # field 19 of /proc/<pid>/stat


def _processes_whose_command_has(word: str) -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if word.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_the_loop_thread_runs_ahead_and_nothing_the_daemon_starts_inherits_it(daemon):
    pid = daemon.proc.pid
    cid = daemon.docker("run", "-d", "-p", "127.0.0.1::80", "busybox", "sleep", "60").stdout.strip()
    try:
        # a container's own process, its monitor, its port's proxy
        inside = daemon.docker("exec", cid, "cat", "/proc/1/stat").stdout
        assert _niceness(inside) == 0
        helpers = _processes_whose_command_has("monitor.py") + _processes_whose_command_has(cid)
        helpers = [p for p in helpers if p != pid and os.path.exists(f"/proc/{p}")]
        assert any(b"proxy" in Path(f"/proc/{p}/cmdline").read_bytes() for p in helpers), helpers
        assert {p: _niceness(Path(f"/proc/{p}/stat").read_text()) for p in helpers} == {p: 0 for p in helpers}
        # the daemon's own threads: the loop's (the main thread) at -10, every other at 0
        threads = {int(t): _niceness(Path(f"/proc/{pid}/task/{t}/stat").read_text())
                   for t in os.listdir(f"/proc/{pid}/task")}
        assert threads.pop(pid) == -10
        assert len(threads) > 5 and set(threads.values()) == {0}, threads
    finally:
        daemon.docker("rm", "-f", cid)
