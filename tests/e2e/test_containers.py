"""Issue 3 end to end: container life cycle on runc, driven by the real docker CLI."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from .daemon_harness import DOCKER, api_connections, wait_for


def inspect(d, name: str) -> dict:
    return json.loads(d.docker("inspect", name).stdout)[0]


def test_run_rm_prints_and_leaves_nothing(daemon):
    before = daemon.docker("ps", "-aq").stdout
    p = daemon.docker("run", "--rm", "busybox", "echo", "Hello, World!")
    assert p.stdout == "Hello, World!\n"
    assert daemon.docker("ps", "-aq").stdout == before


def test_exit_codes_follow_docker(daemon):
    assert daemon.docker("run", "--rm", "busybox", "sh", "-c", "exit 3", check=False).returncode == 3
    p = daemon.docker("run", "--rm", "busybox", "nope-not-here", check=False)
    assert p.returncode == 127
    assert 'exec: "nope-not-here": executable file not found in $PATH' in p.stderr
    p = daemon.docker("run", "--rm", "busybox", "/etc/passwd", check=False)
    assert p.returncode == 126
    assert "permission denied" in p.stderr
    # a missing image is pulled first; a loopback registry that is not there (never an outside host)
    p = daemon.docker("run", "--rm", "127.0.0.1:9/nosuchimage-here", check=False)
    assert p.returncode == 125
    assert "Unable to find image '127.0.0.1:9/nosuchimage-here:latest' locally" in p.stderr


def test_stdout_and_stderr_are_separate_streams(daemon):
    p = daemon.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert p.stdout == "out\n"
    assert p.stderr == "err\n"


def test_stdin_is_forwarded_and_closed(daemon):
    p = daemon.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", input="hello\nworld\n")
    assert p.stdout == "hello\nworld\ndone\n"


def test_environment_workdir_user_hostname(daemon):
    out = daemon.docker("run", "--rm", "-e", "GREETING=hi", "-w", "/tmp", "-u", "nobody", "--hostname", "box1",
                        "busybox", "sh", "-c", 'echo $GREETING $(pwd) $(id -un) $(hostname)').stdout
    assert out.split() == ["hi", "/tmp", "nobody", "box1"]


def test_isolation_pid_mount_and_hostname(daemon, tmp_path):
    host_only = tmp_path / "host-only-mount"
    host_only.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(host_only)], check=True)
    try:
        cid = daemon.docker("run", "-d", "busybox", "sh", "-c",
                            "ps -o pid,comm; hostname; echo MOUNTS; cut -d' ' -f2 /proc/mounts; sleep 30").stdout.strip()
        logs = wait_for(lambda: (lambda o: o if "/dev/shm" in o else None)(daemon.docker("logs", cid).stdout))
        pids = re.findall(r"^\s*(\d+)\s", logs, re.M)
        assert pids[0] == "1" and len(pids) <= 3  # only the container's own processes
        assert cid[:12] in logs.split()  # hostname = short ID
        mountpoints = logs.split("MOUNTS\n", 1)[1].split()
        assert mountpoints[0] == "/" and "/proc" in mountpoints
        assert str(host_only) not in mountpoints  # the host's mounts are not the container's
        host_pids = {p for p in os.listdir("/proc") if p.isdigit()}
        assert len(host_pids) > 10  # ... while the host has many processes the container cannot see
    finally:
        subprocess.run(["umount", str(host_only)], check=False)
        daemon.docker("rm", "-f", cid)


def test_detached_lifecycle_ps_logs_exec_stop_rm(daemon):
    cid = daemon.docker("run", "-d", "--name", "web", "busybox", "sh", "-c",
                        "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    try:
        ps = daemon.docker("ps").stdout.splitlines()
        assert ps[0].split()[:2] == ["CONTAINER", "ID"]
        row = next(l for l in ps if l.startswith(cid[:12]))
        assert "busybox" in row and "web" in row and re.search(r"Up (Less than a second|\d+ seconds?)", row)
        assert daemon.docker("ps", "--filter", "ancestor=busybox", "-q").stdout.split() == [cid[:12]]
        assert daemon.docker("ps", "--filter", "name=web", "-q", "--no-trunc").stdout.strip() == cid
        wait_for(lambda: "line 3" in daemon.docker("logs", "web").stdout)
        tail = daemon.docker("logs", "--tail", "1", "web").stdout.splitlines()
        assert len(tail) == 1 and tail[0].startswith("line ")
        stamped = daemon.docker("logs", "-t", "--tail", "1", "web").stdout
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+", stamped)
        follow = subprocess.Popen([DOCKER, "logs", "-f", "--tail", "0", "web"], env=daemon.env(),
                                  stdout=subprocess.PIPE, text=True)
        first = follow.stdout.readline()
        assert first.startswith("line ")
        follow.kill()
        follow.wait()
        exec_out = daemon.docker("exec", "web", "ps").stdout
        assert "sleep" in exec_out or "sh" in exec_out
        assert daemon.docker("exec", "web", "sh", "-c", "exit 4", check=False).returncode == 4
        top = daemon.docker("top", "web").stdout.splitlines()
        assert "PID" in top[0] and len(top) >= 2
        daemon.docker("stop", "-t", "1", "web")
        state = inspect(daemon, "web")["State"]
        assert state["Running"] is False and state["ExitCode"] == 137  # sh as PID 1 ignores SIGTERM
        row = next(l for l in daemon.docker("ps", "-a").stdout.splitlines() if l.startswith(cid[:12]))
        assert re.search(r"Exited \(137\) (Less than a second|\d+ seconds?) ago", row)
        assert cid[:12] not in daemon.docker("ps", "-q").stdout
        assert daemon.docker("ps", "-a", "--filter", "status=exited", "-q").stdout.count(cid[:12]) == 1
    finally:
        daemon.docker("rm", "-f", "web", check=False)
    assert cid[:12] not in daemon.docker("ps", "-aq").stdout


def test_create_start_attach_wait(daemon):
    cid = daemon.docker("create", "--name", "created1", "busybox", "sh", "-c", "echo started; exit 5").stdout.strip()
    try:
        row = next(l for l in daemon.docker("ps", "-a").stdout.splitlines() if l.startswith(cid[:12]))
        assert "Created" in row
        p = daemon.docker("start", "-a", "created1", check=False)
        assert p.stdout == "started\n" and p.returncode == 5
        assert daemon.docker("wait", "created1").stdout.strip() == "5"
    finally:
        daemon.docker("rm", "created1")


def test_names_ids_and_prefixes(daemon):
    a = daemon.docker("create", "busybox", "true").stdout.strip()
    try:
        name = inspect(daemon, a)["Name"]
        assert re.fullmatch(r"/[a-z]+_[a-z]+\d?", name)
        assert inspect(daemon, a[:5])["Id"] == a
        p = daemon.docker("create", "--name", name.lstrip("/"), "busybox", "true", check=False)
        assert p.returncode == 1 and "is already in use by container" in p.stderr
        p = daemon.docker("inspect", "nosuchcontainer", check=False)
        assert p.returncode == 1 and "No such object: nosuchcontainer" in p.stderr
        daemon.docker("rename", a, "renamed1")
        assert inspect(daemon, "renamed1")["Id"] == a
    finally:
        daemon.docker("rm", a)


def test_rm_running_needs_force(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "30").stdout.strip()
    p = daemon.docker("rm", cid, check=False)
    assert p.returncode == 1
    assert "container is running: stop the container before removing or force remove" in p.stderr
    daemon.docker("rm", "-f", cid)
    assert cid[:12] not in daemon.docker("ps", "-aq").stdout


def test_kill_pause_unpause_restart(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        daemon.docker("pause", cid)
        row = next(l for l in daemon.docker("ps").stdout.splitlines() if l.startswith(cid[:12]))
        assert "(Paused)" in row
        assert inspect(daemon, cid)["State"]["Status"] == "paused"
        daemon.docker("unpause", cid)
        assert inspect(daemon, cid)["State"]["Status"] == "running"
        pid1 = inspect(daemon, cid)["State"]["Pid"]
        daemon.docker("restart", "-t", "1", cid)
        st = inspect(daemon, cid)["State"]
        assert st["Running"] and st["Pid"] != pid1
        # sleep as PID 1 has no TERM handler: the kernel discards the signal when it is sent (a namespace's init
        # gets only signals it handles), so once kill has returned the container is known to live on.
        daemon.docker("kill", "-s", "TERM", cid)
        assert inspect(daemon, cid)["State"]["Running"]
        daemon.docker("kill", cid)
        wait_for(lambda: not inspect(daemon, cid)["State"]["Running"])
        assert inspect(daemon, cid)["State"]["ExitCode"] == 137
        p = daemon.docker("kill", cid, check=False)
        assert p.returncode == 1 and "is not running" in p.stderr
    finally:
        daemon.docker("rm", "-f", cid)


def test_restart_policy_on_failure(daemon):
    cid = daemon.docker("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1").stdout.strip()
    try:
        # Settled: neither running nor restarting (a restart the policy still wanted would show as Restarting
        # from the moment of the exit), after exactly two restarts.
        wait_for(lambda: inspect(daemon, cid)["RestartCount"] == 2 and not inspect(daemon, cid)["State"]["Running"]
                 and not inspect(daemon, cid)["State"]["Restarting"], timeout=20)
        starts = daemon.docker("events", "--since", inspect(daemon, cid)["Created"],
                               "--until", str(int(time.time()) + 1), "--filter", f"container={cid}",
                               "--filter", "event=start", "--format", "x").stdout
        assert starts.split() == ["x"] * 3  # the first run and two restarts
        assert inspect(daemon, cid)["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    finally:
        daemon.docker("rm", "-f", cid)


def test_cp_diff_export_commit(daemon, tmp_path):
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "echo data > /tmp/made; rm /bin/ls; sleep 60"
                        ).stdout.strip()
    try:
        wait_for(lambda: "D /bin/ls" in daemon.docker("diff", cid).stdout)  # the script's last change is done
        diff = daemon.docker("diff", cid).stdout.splitlines()
        assert "A /tmp/made" in diff and "D /bin/ls" in diff and "C /tmp" in diff
        daemon.docker("cp", f"{cid}:/tmp/made", str(tmp_path / "made"))
        assert (tmp_path / "made").read_text() == "data\n"
        (tmp_path / "in.txt").write_text("from host\n")
        daemon.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/root/")
        assert daemon.docker("exec", cid, "cat", "/root/in.txt").stdout == "from host\n"
        daemon.docker("export", "-o", str(tmp_path / "fs.tar"), cid)
        import tarfile
        with tarfile.open(tmp_path / "fs.tar") as tar:
            names = set(tar.getnames())
        assert {"bin/busybox", "tmp/made", "root/in.txt"} <= {n.lstrip("./") for n in names}
        new_id = daemon.docker("commit", "-a", "me", "-m", "my first commit", cid, "commit_test:first").stdout.strip()
        img = json.loads(daemon.docker("image", "inspect", "commit_test:first").stdout)[0]
        assert img["Id"] == new_id and img["Author"] == "me" and img["Comment"] == "my first commit"
        assert len(img["RootFS"]["Layers"]) == 2
        out = daemon.docker("run", "--rm", "commit_test:first", "sh", "-c", "cat /tmp/made; ls /bin/ls || echo gone"
                            ).stdout
        assert out.split() == ["data", "gone"]
        hist = daemon.docker("history", "commit_test:first").stdout.splitlines()
        assert hist[1].startswith(new_id[7:19]) and "my first commit" in hist[1]
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("rmi", "commit_test:first", check=False)


def test_container_prune(daemon):
    # Scoped by a label: the daemon is shared, and other tests' stopped containers are not this test's to prune.
    label = f"prune-test={os.getpid()}"
    cid = daemon.docker("create", "--label", label, "busybox", "true").stdout.strip()
    other = daemon.docker("create", "busybox", "true").stdout.strip()
    try:
        out = daemon.docker("container", "prune", "-f", "--filter", f"label={label}").stdout
        assert out.startswith(f"Deleted Containers:\n{cid}\n")
        assert cid[:12] not in daemon.docker("ps", "-aq").stdout
        assert other[:12] in daemon.docker("ps", "-aq").stdout
    finally:
        daemon.docker("rm", "-f", other)


def test_docker_py_run_and_inspect(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="1.50")
    out = client.containers.run("busybox", ["echo", "from docker-py"], remove=True)
    assert out == b"from docker-py\n"
    c = client.containers.run("busybox", ["sleep", "30"], detach=True, labels={"team": "a"})
    try:
        c.reload()
        assert c.status == "running"
        assert c.attrs["State"]["Pid"] > 0
        assert c.attrs["Config"]["Labels"]["team"] == "a"
        assert c.attrs["HostConfig"]["RestartPolicy"]["Name"] == "no"
        assert c.attrs["Config"]["Hostname"] == c.id[:12]
        assert [x.id for x in client.containers.list(filters={"label": "team=a"})] == [c.id]
        code, output = c.exec_run(["sh", "-c", "echo hi; exit 2"])
        assert code == 2 and output == b"hi\n"
    finally:
        c.remove(force=True)
        client.close()


def test_interactive_run_and_exec_with_a_tty(daemon):
    pexpect = pytest.importorskip("pexpect")
    env = daemon.env()
    child = pexpect.spawn(DOCKER, ["run", "-it", "--name", "itty", "busybox", "sh"], env=env, timeout=20,
                          encoding="utf-8")
    try:
        child.expect(r"/ # ")
        child.sendline("echo $((6*7))")
        child.expect("42")
        child.expect(r"/ # ")
        ex = pexpect.spawn(DOCKER, ["exec", "-it", "itty", "sh"], env=env, timeout=20, encoding="utf-8")
        ex.expect(r"/ # ")
        ex.sendline("stty size; tty")
        ex.expect("24 80")  # the CLI's terminal size reached the exec's pty
        ex.expect(r"/dev/pts/\d+")
        ex.setwinsize(40, 100)  # SIGWINCH -> docker CLI -> POST /exec/{id}/resize
        for _ in range(100):  # until the resize has reached the pty (it travels through the CLI and the daemon)
            ex.sendline("stty size")
            if ex.expect(["40 100", "24 80"]) == 0:
                break
        ex.sendline("exit 3")
        ex.expect(pexpect.EOF)
        ex.close()
        assert ex.exitstatus == 3
        child.sendcontrol("p")
        child.sendcontrol("q")  # detach: the container keeps running
        child.expect(pexpect.EOF)
        assert inspect(daemon, "itty")["State"]["Running"]
        child.close()
        att = pexpect.spawn(DOCKER, ["attach", "itty"], env=env, timeout=20, encoding="utf-8")
        att.sendline("echo back-$((1+1))")
        att.expect("back-2")
        att.sendline("exit 7")
        att.expect(pexpect.EOF)
        att.close()
        wait_for(lambda: not inspect(daemon, "itty")["State"]["Running"])
        assert inspect(daemon, "itty")["State"]["ExitCode"] == 7
    finally:
        child.close(force=True)
        daemon.docker("rm", "-f", "itty", check=False)


def test_daemon_sigkill_keeps_containers_running(fresh_daemon):
    d = fresh_daemon
    cid = d.docker("run", "-d", "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"
                   ).stdout.strip()
    wait_for(lambda: "tick 2" in d.docker("logs", cid).stdout)
    pid = inspect(d, cid)["State"]["Pid"]
    log_path = inspect(d, cid)["LogPath"]
    d.kill()
    # Still alive with no daemon: its monitor keeps logging new ticks.
    with open(log_path) as f:
        ticks_at_kill = f.read().count("tick ")
    wait_for(lambda: open(log_path).read().count("tick ") >= ticks_at_kill + 3)
    os.kill(pid, 0)
    d.start()
    st = inspect(d, cid)["State"]
    assert st["Running"] and st["Pid"] == pid
    logs = d.docker("logs", cid).stdout.split("\n")
    ticks = [int(l.split()[1]) for l in logs if l.startswith("tick ")]
    assert ticks == list(range(1, len(ticks) + 1))  # complete: nothing lost while the daemon was away
    assert len(ticks) >= 5
    d.docker("stop", "-t", "1", cid)
    assert inspect(d, cid)["State"]["ExitCode"] == 137
    assert d.docker("wait", cid).stdout.strip() == "137"


def test_restart_always_survives_a_daemon_restart(fresh_daemon):
    d = fresh_daemon
    cid = d.docker("run", "-d", "--restart", "always", "busybox", "sleep", "300").stdout.strip()
    first_pid = inspect(d, cid)["State"]["Pid"]
    d.kill()
    os.kill(first_pid, 9)  # the container dies while no daemon is watching
    wait_for(lambda: not os.path.exists(f"/proc/{first_pid}"))  # reaped by its monitor
    d.start()
    wait_for(lambda: inspect(d, cid)["State"]["Running"] and inspect(d, cid)["State"]["Pid"] != first_pid, timeout=15)
    assert inspect(d, cid)["RestartCount"] >= 1
    d.docker("stop", "-t", "1", cid)
    state = inspect(d, cid)["State"]  # stop returned: the daemon has handled the exit, and scheduled no restart
    assert not state["Running"] and not state["Restarting"]  # a user stop is not undone by the policy


def test_init_reaps_and_forwards_signals(daemon):
    out = daemon.docker("run", "--rm", "--init", "busybox", "sh", "-c", "ps -o pid,comm").stdout
    rows = [l.split() for l in out.splitlines()[1:]]
    assert rows[0] == ["1", "docker-init"] or rows[0][0] == "1" and "init" in rows[0][1]
    cid = daemon.docker("run", "-d", "--init", "busybox", "sleep", "60").stdout.strip()
    daemon.docker("stop", cid)  # tini forwards SIGTERM to sleep, which dies of it: 143, not SIGKILL's 137
    assert inspect(daemon, cid)["State"]["ExitCode"] == 143
    daemon.docker("rm", cid)


def test_container_events(daemon):
    since = str(time.time() - 0.5)
    daemon.docker("run", "--rm", "--name", "evented", "busybox", "true")
    until = str(time.time() + 0.5)
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "container=evented",
                        "--format", "{{.Action}}").stdout.split()
    assert out[:1] == ["create"] and "start" in out and "die" in out and out[-1] == "destroy"


def test_ps_options_and_filters(daemon, tmp_path):
    a = daemon.docker("run", "-d", "--label", "tier=web", "-v", f"{tmp_path}:/data", "busybox", "sleep", "60"
                      ).stdout.strip()
    b = daemon.docker("create", "--label", "tier=db", "busybox", "true").stdout.strip()
    try:
        assert daemon.docker("ps", "-lq").stdout.strip() == b[:12]  # latest, any state
        assert daemon.docker("ps", "-n", "2", "-q").stdout.split() == [b[:12], a[:12]]
        assert daemon.docker("ps", "-q", "--filter", "label=tier=web").stdout.split() == [a[:12]]
        # other tests' containers may be on the shared daemon too: count only this test's (labelled tier)
        assert daemon.docker("ps", "-aq", "--filter", "status=created", "--filter", "label=tier").stdout.split() == [b[:12]]
        assert daemon.docker("ps", "-aq", "--filter", f"before={b}").stdout.split()[0] == a[:12]
        assert daemon.docker("ps", "-aq", "--filter", f"since={a}").stdout.split() == [b[:12]]
        assert daemon.docker("ps", "-q", "--filter", "volume=/data", "--filter", "label=tier").stdout.split() == [a[:12]]
        out = daemon.docker("ps", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Label \"tier\"}}",
                            "--filter", f"id={a}").stdout.strip()
        assert out == f'{a[:12]} busybox "sleep 60" web'
        sized = daemon.docker("ps", "-s", "--filter", f"id={a}").stdout.splitlines()
        assert sized[0].split()[-1] == "SIZE" and "virtual" in sized[1]
        p = daemon.docker("ps", "--filter", "status=sleeping", check=False)
        assert p.returncode == 1 and "invalid filter 'status=sleeping'" in p.stderr
        mounts = inspect(daemon, a)["Mounts"]
        assert mounts == [{"Type": "bind", "Source": str(tmp_path), "Destination": "/data", "Mode": "",
                           "RW": True, "Propagation": "rprivate"}]
    finally:
        daemon.docker("rm", "-f", a, b)


def test_logs_since_until_and_stderr(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "echo early; sleep 1.5; echo late >&2; sleep 30"
                        ).stdout.strip()
    try:
        wait_for(lambda: "late" in daemon.docker("logs", cid).stderr, timeout=10)
        lines = daemon.docker("logs", "-t", cid)
        t_late = lines.stderr.split()[0]
        p = daemon.docker("logs", "--since", t_late, cid)
        assert p.stdout == "" and p.stderr == "late\n"
        p = daemon.docker("logs", "--until", t_late, cid)
        assert p.stdout == "early\n"
    finally:
        daemon.docker("rm", "-f", cid)


def test_named_volume_outlives_container_and_rm_v(daemon):
    daemon.docker("run", "--rm", "-v", "keepme:/data", "busybox", "sh", "-c", "echo saved > /data/f")
    out = daemon.docker("run", "--rm", "-v", "keepme:/data", "busybox", "cat", "/data/f").stdout
    assert out == "saved\n"
    cid = daemon.docker("create", "-v", "/anon", "busybox", "true").stdout.strip()
    anon = inspect(daemon, cid)["Mounts"][0]["Name"]
    assert anon in daemon.docker("volume", "ls", "-q").stdout
    p = daemon.docker("volume", "rm", anon, check=False)
    assert p.returncode == 1 and "volume is in use" in p.stderr
    daemon.docker("rm", "-v", cid)
    vols = daemon.docker("volume", "ls", "-q").stdout.split()
    assert anon not in vols and "keepme" in vols
    daemon.docker("volume", "rm", "keepme")


def test_pluggable_runtime_add_runtime_and_unknown_name(tmp_path, busybox_tar):
    from .daemon_harness import cleanup_daemon, new_daemon
    calls = tmp_path / "calls.log"
    wrapper = tmp_path / "runc-logged"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec runc "$@"\n')
    wrapper.chmod(0o755)
    d = new_daemon(tmp_path / "d", extra_args=["--add-runtime", f"logged={wrapper}"])
    d.start()
    try:
        d.docker("load", "-i", str(busybox_tar))
        runtimes = json.loads(d.docker("info", "--format", "{{json .Runtimes}}").stdout)
        assert set(runtimes) == {"runc", "logged"}
        out = d.docker("run", "--rm", "--runtime", "logged", "busybox", "echo", "via wrapper")
        assert out.stdout == "via wrapper\n"
        runs = [line for line in calls.read_text().splitlines() if " run " in line]
        assert len(runs) == 1 and runs[0].startswith(f"--root {d.exec_root}/logged ")
        bad = d.docker("run", "--rm", "--runtime", "nope", "busybox", "true", check=False)
        assert bad.returncode == 125
        assert "unknown or invalid runtime name: nope" in bad.stderr
    finally:
        cleanup_daemon(d)


def test_daemon_refuses_a_missing_default_runtime(tmp_path):
    import sys
    out = subprocess.run([sys.executable, "-m", "dockyard.cmd.dockyardd", "--data-root", str(tmp_path / "d"),
                          "--exec-root", str(tmp_path / "x"), "-H", f"unix://{tmp_path}/s.sock",
                          "--default-runtime", "crun-missing"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "default runtime crun-missing does not exist" in out.stderr


def test_runtime_mount_points_are_not_changes(daemon):
    # /etc/hosts & co. come from the init layer below the container's own: a fresh container changed nothing
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        assert daemon.docker("diff", cid).stdout == ""
        assert daemon.docker("exec", cid, "ls", "/.dockerenv").stdout == "/.dockerenv\n"
        new_id = daemon.docker("commit", cid, "unchanged:1").stdout.strip()
        # nothing changed: as moby, the commit adds a history entry and no layer (not even an empty tar)
        layers = json.loads(daemon.docker("image", "inspect", new_id).stdout)[0]["RootFS"]["Layers"]
        base = json.loads(daemon.docker("image", "inspect", "busybox").stdout)[0]["RootFS"]["Layers"]
        assert layers == base
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("rmi", "unchanged:1", check=False)


def test_commit_of_a_replaced_directory_hides_the_old_contents(daemon):
    # rm -rf + mkdir makes an opaque directory in the overlay upper layer: the committed layer must say so
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c",
                        "rm -rf /usr && mkdir /usr && echo fresh > /usr/only; sleep 60").stdout.strip()
    try:
        wait_for(lambda: "/usr/only" in daemon.docker("diff", cid).stdout)
        diff = daemon.docker("diff", cid).stdout.splitlines()
        assert "A /usr/only" in diff and "D /usr/bin" in diff
        daemon.docker("commit", cid, "opaque:1")
        assert daemon.docker("run", "--rm", "opaque:1", "ls", "-A", "/usr").stdout.split() == ["only"]
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("rmi", "opaque:1", check=False)


# A container's memory limit, CPU quota and pids limit as it sees them in its own cgroup (its cgroup namespace):
# cgroup v2's unified files (Debian 12's default), else v1's per-controller ones. The same numbers either way.
CGROUP_LIMITS = ("if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cd /sys/fs/cgroup; "
                 "cat memory.max; cut -d' ' -f1 cpu.max; cat pids.max; else "
                 "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                 "/sys/fs/cgroup/pids/pids.max; fi")


def test_cgroup_limits_update_oom_and_stats(daemon):
    cid = daemon.docker("run", "-d", "--name", "limited", "-m", "64m", "--cpus", "0.5", "--pids-limit", "20",
                        "busybox", "sleep", "60").stdout.strip()
    try:
        read = ["sh", "-c", CGROUP_LIMITS]
        assert daemon.docker("exec", cid, *read).stdout.split() == ["67108864", "50000", "20"]
        row = daemon.docker("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.PIDs}}", cid).stdout
        name, mem, pids = row.strip().split("|")
        assert name == "limited" and mem.endswith(" / 64MiB") and pids == "1"
        daemon.docker("update", "-m", "48m", "--memory-swap", "48m", "--pids-limit", "7", cid)
        assert daemon.docker("exec", cid, *read).stdout.split() == ["50331648", "50000", "7"]
        docker = pytest.importorskip("docker")
        client = docker.DockerClient(base_url=daemon.host, version="1.50")
        s = client.containers.get(cid).stats(stream=False)
        client.close()
        assert s["memory_stats"]["limit"] == 48 * 1024 * 1024 and s["pids_stats"] == {"current": 1, "limit": 7}
        assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and s["precpu_stats"]["system_cpu_usage"] > 0
    finally:
        daemon.docker("rm", "-f", cid)
    oom = daemon.docker("run", "--name", "oom", "-m", "16m", "--memory-swap", "16m", "busybox", "sh", "-c",
                        "x=$(head -c 100000000 /dev/zero | tr '\\0' a)", check=False)
    assert oom.returncode == 137
    assert inspect(daemon, "oom")["State"]["OOMKilled"] is True
    daemon.docker("rm", "oom")


def test_attach_keeps_stdin_sent_with_the_request_headers(daemon):
    # A client may write stdin in the same packet as the upgrade request; none of it may be lost.
    import socket
    cid = daemon.docker("create", "-i", "busybox", "cat").stdout.strip()
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(daemon.socket))
        s.sendall(f"POST /v1.50/containers/{cid}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly bytes\n".encode())
        s.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 UPGRADED")
        daemon.docker("start", cid)
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < 8 + len(b"early bytes\n"):
            body += s.recv(4096)
        assert body == b"\x01\x00\x00\x00\x00\x00\x00\x0cearly bytes\n"
        s.close()
    finally:
        daemon.docker("rm", "-f", cid)


def test_health_checks_from_flags_and_image(daemon, tmp_path):
    def health(name):
        return inspect(daemon, name)["State"].get("Health")

    since = str(time.time())
    cid = daemon.docker("run", "-d", "--name", "probed", "--health-cmd", "test -f /tmp/ok && echo fine",
                        "--health-interval", "300ms", "--health-retries", "2", "busybox", "sleep", "60").stdout.strip()
    try:
        assert "(health: starting)" in daemon.docker("ps", "--filter", "name=probed", "--format", "{{.Status}}").stdout
        wait_for(lambda: (health("probed") or {}).get("Status") == "unhealthy")
        assert health("probed")["FailingStreak"] >= 2
        daemon.docker("exec", cid, "touch", "/tmp/ok")
        wait_for(lambda: health("probed")["Status"] == "healthy")
        h = health("probed")
        assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0 and h["Log"][-1]["Output"] == "fine\n"
        assert len(h["Log"]) <= 5
        assert daemon.docker("ps", "--filter", "name=probed", "--format", "{{.Status}}").stdout.strip().endswith(
            "(healthy)")
        events = daemon.docker("events", "--since", since, "--until", str(time.time()), "--filter",
                               f"container={cid}", "--format", "{{.Action}}").stdout.split("\n")
        assert "health_status: unhealthy" in events and "health_status: healthy" in events
        daemon.docker("stop", "-t", "1", cid)
        assert health("probed")["Status"] == "unhealthy"  # a stopped container is not healthy
    finally:
        daemon.docker("rm", "-f", cid)
    # a probe that outlives its timeout is killed and counts as a failure
    cid = daemon.dockyard("run", "-d", "--health-cmd", "sleep 10", "--health-interval", "200ms",
                          "--health-timeout", "300ms", "--health-retries", "1", "busybox", "sleep", "60").stdout.strip()
    try:
        wait_for(lambda: (health(cid) or {}).get("Status") == "unhealthy")
        assert health(cid)["Log"][0] == {**health(cid)["Log"][0], "ExitCode": -1,
                                         "Output": "Health check exceeded timeout (300ms)"}
    finally:
        daemon.docker("rm", "-f", cid)
    # HEALTHCHECK from the image, and --no-healthcheck turning it off
    ctx = tmp_path / "hc"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nHEALTHCHECK --interval=200ms CMD true\nCMD sleep 60\n")
    daemon.docker("build", "-t", "hc:1", str(ctx))
    cid = daemon.docker("run", "-d", "hc:1").stdout.strip()
    off = daemon.docker("run", "-d", "--no-healthcheck", "hc:1").stdout.strip()
    try:
        wait_for(lambda: (health(cid) or {}).get("Status") == "healthy")
        assert health(off) is None
    finally:
        daemon.docker("rm", "-f", cid, off)
        daemon.docker("rmi", "hc:1")


def test_ulimit_device_and_privileged_devices(daemon):
    out = daemon.docker("run", "--rm", "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert out.stdout.split() == ["1024", "2048"]
    out = daemon.docker("run", "--rm", "--device", "/dev/null:/dev/other-null:rw", "busybox", "sh", "-c",
                        "echo gone > /dev/other-null && ls -l /dev/other-null")
    assert out.stdout.startswith("crw-rw-rw-") and "1,   3" in out.stdout
    assert "other-null" not in daemon.docker("run", "--rm", "busybox", "ls", "/dev").stdout
    missing = daemon.docker("run", "--rm", "--device", "/dev/nope", "busybox", "true", check=False)
    assert missing.returncode != 0 and 'custom device "/dev/nope": no such file or directory' in missing.stderr
    # --privileged gets the host's device nodes
    host = {n for n in os.listdir("/dev") if n.startswith("loop") and n[4:].isdigit()}
    inside = set(daemon.docker("run", "--rm", "--privileged", "busybox", "ls", "/dev").stdout.split())
    assert host and host <= inside


def test_log_driver_none_and_unknown_drivers(daemon):
    cid = daemon.docker("run", "-d", "--log-driver", "none", "busybox", "echo", "unlogged").stdout.strip()
    try:
        daemon.docker("wait", cid)
        out = daemon.docker("logs", cid, check=False)
        assert out.returncode == 1 and "configured logging driver does not support reading" in out.stderr
        log_path = inspect(daemon, cid)["LogPath"]
        assert not os.path.exists(log_path) or os.path.getsize(log_path) == 0
        # attached output does not need the log
        assert daemon.docker("run", "--rm", "--log-driver", "none", "busybox", "echo", "live").stdout == "live\n"
    finally:
        daemon.docker("rm", "-f", cid)
    bad = daemon.docker("run", "--rm", "--log-driver", "carrier-pigeon", "busybox", "true", check=False)
    assert bad.returncode == 125 and "logger: no log driver named 'carrier-pigeon' is registered" in bad.stderr


def test_clients_that_leave_leave_no_connection_behind(fresh_daemon):
    # `docker run -d` opens a wait it never reads; once the CLI exits, the daemon must drop that connection
    d = fresh_daemon
    # The count sees a client's connection: one that a killed `docker events` leaves, until the daemon drops it.
    events = subprocess.Popen([DOCKER, "events"], env=d.env(), stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: api_connections(d) >= 1)
    finally:
        events.kill()
        events.wait()
    ids = [d.docker("run", "-d", "busybox", "sleep", "60").stdout.strip() for _ in range(5)]
    try:
        wait_for(lambda: api_connections(d) == 0)
    finally:
        d.docker("rm", "-f", *ids)
