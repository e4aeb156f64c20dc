"""User-journey discrepancies with Docker 28, driven by the real docker CLI: restarting containers, cp of the
/etc files the daemon mounts, the events of start and stop, and docker's exact error messages."""
from __future__ import annotations

import json
import subprocess
import time

from .daemon_harness import DOCKER, has_unix_connection
from .test_containers import inspect, wait_for


def restarting(d, name: str, min_restarts: int) -> bool:
    """In its back-off, after enough restarts that the back-off (doubling from 100 ms) leaves time to look."""
    data = inspect(d, name)
    return data["State"]["Restarting"] and data["RestartCount"] >= min_restarts


def events_between(d, since: float, until: float) -> list[dict]:
    out = d.docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--format", "{{json .}}").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------- 1. restarting containers
def test_a_restarting_container_is_listed_and_inspected_as_restarting(daemon):
    name = "journey-restarting"
    daemon.docker("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0")
    try:
        wait_for(lambda: restarting(daemon, name, 5), timeout=30, interval=0.05)  # a back-off of 1.6 s
        rows = daemon.docker("ps", "--filter", f"name={name}", "--format", "{{.Status}}").stdout.splitlines()
        assert len(rows) == 1 and rows[0].startswith("Restarting (0) ")
        state = inspect(daemon, name)["State"]
        assert (state["Status"], state["Running"], state["Restarting"], state["Pid"]) == ("restarting", True, True, 0)
        exited = daemon.docker("ps", "-aq", "--filter", f"name={name}", "--filter", "exited=0").stdout
        assert exited == ""  # moby counts a restarting container as running, not exited
        refused = daemon.docker("rm", name, check=False)
        assert refused.returncode == 1
        assert (f'cannot remove container "/{name}": container is restarting: stop the container before removing '
                "or force remove") in refused.stderr
        waiter = subprocess.Popen([DOCKER, "wait", name], env=daemon.env(), stdout=subprocess.PIPE, text=True)
        wait_for(lambda: has_unix_connection(waiter.pid))  # the wait is in, while the container restarts
        daemon.docker("stop", name)  # cancels the pending restart
        assert waiter.communicate(timeout=10)[0].strip() == "0"
        state = inspect(daemon, name)["State"]
        assert (state["Status"], state["Running"], state["Restarting"]) == ("exited", False, False)
        time.sleep(2)  # longer than the back-off it was in: the restart stays cancelled
        assert inspect(daemon, name)["State"]["Status"] == "exited"
        assert daemon.docker("ps", "-q", "--filter", f"name={name}").stdout.strip() == ""
        assert daemon.docker("ps", "-a", "--filter", f"name={name}", "--format", "{{.Status}}").stdout.startswith(
            "Exited (0) ")
    finally:
        daemon.docker("rm", "-f", name, check=False)


def test_kill_and_rm_f_of_a_restarting_container(daemon):
    names = ["journey-restart-kill", "journey-restart-rm"]
    for name in names:
        daemon.docker("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 3")
    try:
        wait_for(lambda: restarting(daemon, names[0], 3), timeout=30, interval=0.05)
        daemon.docker("kill", names[0])
        time.sleep(1)
        state = inspect(daemon, names[0])["State"]
        assert (state["Status"], state["Running"], state["Restarting"]) == ("exited", False, False)
        wait_for(lambda: restarting(daemon, names[1], 3), timeout=30, interval=0.05)
        daemon.docker("rm", "-f", names[1])
        assert daemon.docker("ps", "-aq", "--filter", f"name={names[1]}").stdout.strip() == ""
    finally:
        daemon.docker("rm", "-f", *names, check=False)


# ---------------------------------------------------------------- 2. cp of the mounted /etc files
def test_cp_reads_and_writes_the_etc_files_the_daemon_mounts(daemon, tmp_path):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        for path in ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf"):
            local = tmp_path / path.rsplit("/", 1)[1]
            daemon.docker("cp", f"{cid}:{path}", str(local))
            inside = daemon.docker("exec", cid, "cat", path).stdout
            assert inside and local.read_text() == inside
        (tmp_path / "hostname").write_text("renamed-by-cp\n")
        daemon.docker("cp", str(tmp_path / "hostname"), f"{cid}:/etc/hostname")
        assert daemon.docker("exec", cid, "cat", "/etc/hostname").stdout == "renamed-by-cp\n"
        assert "/etc/hostname" not in daemon.docker("diff", cid).stdout  # the mounted file, not the rootfs
    finally:
        daemon.docker("rm", "-f", cid)


# ---------------------------------------------------------------- 3. events
def test_start_and_stop_events_in_moby_order(daemon):
    volume = "journey-events-vol"
    since = time.time()
    cid = daemon.docker("run", "-d", "-v", f"{volume}:/data", "busybox", "sh", "-c",
                        "trap '' TERM; sleep 60").stdout.strip()
    time.sleep(1.2)  # so die's execDuration is at least 1
    daemon.docker("stop", "-t", "1", cid)  # TERM is ignored: stop escalates to KILL
    try:
        events = events_between(daemon, since, time.time() + 0.5)
        mine = [e for e in events if e["Actor"]["ID"] == cid or e["Actor"]["Attributes"].get("container") == cid]
        assert [(e["Type"], e["Action"]) for e in mine] == [
            ("container", "create"), ("network", "connect"), ("volume", "mount"), ("container", "start"),
            ("container", "kill"), ("container", "kill"), ("network", "disconnect"), ("volume", "unmount"),
            ("container", "die"), ("container", "stop")]
        bridge = json.loads(daemon.docker("network", "inspect", "bridge").stdout)[0]
        connect, mount = mine[1], mine[2]
        assert connect["Actor"] == {"ID": bridge["Id"], "Attributes": {"container": cid, "name": "bridge",
                                                                       "type": "bridge"}}
        assert mine[6]["Actor"] == connect["Actor"]
        assert mount["Actor"] == {"ID": volume, "Attributes": {
            "container": cid, "destination": "/data", "driver": "local", "propagation": "", "read/write": "true"}}
        assert mine[7]["Actor"] == {"ID": volume, "Attributes": {"container": cid, "driver": "local"}}
        assert [e["Actor"]["Attributes"]["signal"] for e in mine[4:6]] == ["15", "9"]
        die = mine[8]["Actor"]["Attributes"]
        assert die["exitCode"] == "137" and int(die["execDuration"]) >= 1
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("volume", "rm", volume, check=False)


# ---------------------------------------------------------------- 4, 5. docker's exact messages
def test_exec_of_a_missing_command_says_it_once(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        p = daemon.docker("exec", cid, "nonexist", check=False)
        assert p.returncode == 127
        # moby writes the error into the hijacked stream, on stdout, once the exec has failed
        assert p.stdout.strip() == ('OCI runtime exec failed: exec failed: unable to start container process: '
                                    'exec: "nonexist": executable file not found in $PATH: unknown')
    finally:
        daemon.docker("rm", "-f", cid)


def test_restart_policy_errors_are_mobys(daemon):
    cases = {
        "bogus": "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', "
                 "or 'unless-stopped'",
        "always:3": "invalid restart policy: maximum retry count can only be used with 'on-failure'",
        "on-failure:-1": "invalid restart policy: maximum retry count cannot be negative",
    }
    for policy, message in cases.items():
        p = daemon.docker("create", "--restart", policy, "busybox", "true", check=False)
        assert p.returncode != 0
        assert f"Error response from daemon: {message}" in p.stderr, policy


def test_cp_of_a_missing_path_names_the_container(daemon, tmp_path):
    name = "journey-cp-missing"
    daemon.docker("create", "--name", name, "busybox", "true")
    try:
        p = subprocess.run([DOCKER, "cp", f"{name}:/nonexist", str(tmp_path)], env=daemon.env(),
                           capture_output=True, text=True)
        assert p.returncode == 1
        assert p.stderr.strip().endswith(f"Error response from daemon: Could not find the file /nonexist in "
                                         f"container {name}")
    finally:
        daemon.docker("rm", name)
