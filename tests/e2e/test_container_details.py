"""Container details the audit found missing or untested, driven by the real docker CLI: --entrypoint "",
cp through volumes and binds, ps filters (health, exited, bad name regexps), exec records and options,
detach keys, TTY resize, start -i, error messages, stop signals and timeouts, env files, labels, log files."""
from __future__ import annotations

import json
import os
import re
import secrets
import time
import urllib.parse

import pytest

from .daemon_harness import DOCKER, wait_for


def inspect(d, name: str) -> dict:
    return json.loads(d.docker("inspect", name).stdout)[0]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def filters_query(filters: dict) -> str:
    return urllib.parse.quote(json.dumps(filters))


# ----------------------------------------------------------------------------- --entrypoint
def test_empty_entrypoint_runs_the_command_alone(daemon):
    assert daemon.docker("run", "--rm", "--entrypoint", "", "busybox", "echo", "hi").stdout == "hi\n"
    cid = daemon.docker("create", "--entrypoint", "", "busybox", "echo", "hi").stdout.strip()
    try:
        c = inspect(daemon, cid)
        assert (c["Path"], c["Args"], c["Config"]["Entrypoint"]) == ("echo", ["hi"], None)
    finally:
        daemon.docker("rm", cid)
    # no entrypoint and no command left: the image's Cmd is not brought back
    p = daemon.docker("run", "--rm", "--entrypoint", "", "busybox", check=False)
    assert p.returncode == 125 and "No command specified" in p.stderr


def test_entrypoint_flag_replaces_the_image_command(daemon):
    assert daemon.docker("run", "--rm", "--entrypoint", "/bin/echo", "busybox", "a", "b").stdout == "a b\n"
    # an entrypoint given without a command drops the image's Cmd (busybox's "sh")
    assert daemon.docker("run", "--rm", "--entrypoint", "echo", "busybox").stdout == "\n"


# ----------------------------------------------------------------------------- cp through mounts
def test_cp_in_and_out_of_a_named_volume_and_a_bind_mount(daemon, tmp_path):
    bind = tmp_path / "bind"
    bind.mkdir()
    (bind / "host.txt").write_text("from the bind\n")
    (tmp_path / "in.txt").write_text("copied in\n")
    volume = unique("cpvol")
    cid = daemon.docker("run", "-d", "-v", f"{volume}:/vol", "-v", f"{bind}:/bind", "busybox", "sh", "-c",
                        "echo in the volume > /vol/v.txt; ln -s /vol /linkvol; sleep 60").stdout.strip()
    try:
        wait_for(lambda: daemon.docker("exec", cid, "cat", "/vol/v.txt", check=False).stdout == "in the volume\n")
        # out of the container
        daemon.docker("cp", f"{cid}:/vol/v.txt", str(tmp_path / "v.txt"))
        assert (tmp_path / "v.txt").read_text() == "in the volume\n"
        daemon.docker("cp", f"{cid}:/bind/host.txt", str(tmp_path / "host.txt"))
        assert (tmp_path / "host.txt").read_text() == "from the bind\n"
        daemon.docker("cp", f"{cid}:/vol", str(tmp_path / "voldir"))
        assert (tmp_path / "voldir" / "v.txt").read_text() == "in the volume\n"
        # into the container: the file lands in the volume / the host directory, and the container sees it
        daemon.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/vol/")
        assert daemon.docker("exec", cid, "cat", "/vol/in.txt").stdout == "copied in\n"
        mountpoint = json.loads(daemon.docker("volume", "inspect", volume).stdout)[0]["Mountpoint"]
        assert open(f"{mountpoint}/in.txt").read() == "copied in\n"
        daemon.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/bind/")
        assert (bind / "in.txt").read_text() == "copied in\n"
        assert daemon.docker("exec", cid, "cat", "/bind/in.txt").stdout == "copied in\n"
        # a symlink in the rootfs that points into the volume is followed into it
        (tmp_path / "via-link.txt").write_text("through a link\n")
        daemon.docker("cp", str(tmp_path / "via-link.txt"), f"{cid}:/linkvol/")
        assert daemon.docker("exec", cid, "cat", "/vol/via-link.txt").stdout == "through a link\n"
        # copying the link out: the link itself, or with -L what it points to
        daemon.docker("cp", f"{cid}:/linkvol", str(tmp_path / "link-out"))
        assert os.readlink(tmp_path / "link-out") == "/vol"
        daemon.docker("cp", "-L", f"{cid}:/linkvol", str(tmp_path / "followed"))
        assert (tmp_path / "followed" / "v.txt").read_text() == "in the volume\n"
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("volume", "rm", volume, check=False)


def test_cp_into_read_only_mounts_and_rootfs(daemon, tmp_path):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (tmp_path / "in.txt").write_text("copied\n")
    cid = daemon.docker("run", "-d", "--read-only", "-v", f"{ro}:/ro:ro", "-v", f"{rw}:/rw", "busybox",
                        "sleep", "60").stdout.strip()
    try:
        p = daemon.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/ro/", check=False)
        assert p.returncode == 1 and "mounted volume is marked read-only" in p.stderr
        assert list(ro.iterdir()) == []
        p = daemon.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/tmp/", check=False)
        assert p.returncode == 1 and "container rootfs is marked read-only" in p.stderr
        # a writable mount of a read-only container takes the copy
        daemon.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/rw/")
        assert (rw / "in.txt").read_text() == "copied\n"
    finally:
        daemon.docker("rm", "-f", cid)


def test_cp_of_a_tree_spanning_mounts_writes_through_them(daemon, tmp_path):
    """A tree copied to a parent of mount points lands in the volume and the bind, as the container sees it;
    a read-only mount anywhere in the tree refuses the whole copy before anything is written."""
    bind = tmp_path / "bind"
    bind.mkdir()
    tree = tmp_path / "tree"
    for rel, text in [("srv/top.txt", "top\n"), ("srv/vol/in-volume.txt", "volume\n"),
                      ("srv/vol/sub/deep.txt", "deep\n"), ("srv/bind/in-bind.txt", "bind\n")]:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    os.symlink("../top.txt", tree / "srv/vol/up-link")  # leaves the volume, not the copy's destination
    volume = unique("spanvol")
    cid = daemon.docker("run", "-d", "-v", f"{volume}:/srv/vol", "-v", f"{bind}:/srv/bind", "busybox",
                        "sleep", "60").stdout.strip()
    try:
        daemon.docker("cp", f"{tree}/.", f"{cid}:/")
        show = "cat /srv/top.txt /srv/vol/in-volume.txt /srv/vol/sub/deep.txt /srv/bind/in-bind.txt /srv/vol/up-link"
        assert daemon.docker("exec", cid, "sh", "-c", show).stdout == "top\nvolume\ndeep\nbind\ntop\n"
        assert (bind / "in-bind.txt").read_text() == "bind\n"
        # the volume keeps it for the next container
        assert daemon.docker("run", "--rm", "-v", f"{volume}:/v", "busybox", "cat", "/v/sub/deep.txt"
                             ).stdout == "deep\n"
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("volume", "rm", volume, check=False)
    ro = tmp_path / "ro"
    ro.mkdir()
    cid = daemon.docker("run", "-d", "-v", f"{ro}:/srv/bind:ro", "busybox", "sleep", "60").stdout.strip()
    try:
        p = daemon.docker("cp", f"{tree}/.", f"{cid}:/", check=False)
        assert p.returncode == 1 and "mounted volume is marked read-only" in p.stderr, p.stderr
        assert list(ro.iterdir()) == []
        assert daemon.docker("exec", cid, "ls", "/srv", check=False).stdout.split() == ["bind"]
    finally:
        daemon.docker("rm", "-f", cid)


def test_cp_into_a_container_keeps_whiteout_named_files(daemon, tmp_path):
    # docker cp is a plain extraction: `.wh.victim` is a file to copy, not an order to delete `victim`
    src = tmp_path / "src"
    src.mkdir()
    (src / ".wh.victim").write_text("just a file\n")
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "mkdir /dst; echo keep > /dst/victim; sleep 60"
                        ).stdout.strip()
    try:
        wait_for(lambda: daemon.docker("exec", cid, "cat", "/dst/victim", check=False).stdout == "keep\n")
        daemon.docker("cp", f"{src}/.", f"{cid}:/dst")
        assert daemon.docker("exec", cid, "cat", "/dst/victim").stdout == "keep\n"
        assert daemon.docker("exec", cid, "cat", "/dst/.wh.victim").stdout == "just a file\n"
    finally:
        daemon.docker("rm", "-f", cid)


# ----------------------------------------------------------------------------- ps filters
def test_ps_filter_health(daemon):
    label = unique("health")
    run = ["run", "-d", "--label", label, "--health-interval", "200ms"]
    healthy = daemon.docker(*run, "--health-cmd", "true", "busybox", "sleep", "60").stdout.strip()
    sick = daemon.docker(*run, "--health-cmd", "false", "--health-retries", "1", "busybox", "sleep", "60"
                         ).stdout.strip()
    plain = daemon.docker("run", "-d", "--label", label, "busybox", "sleep", "60").stdout.strip()

    def ps(health: str) -> list[str]:
        return daemon.docker("ps", "-q", "--filter", f"label={label}", "--filter", f"health={health}").stdout.split()

    try:
        wait_for(lambda: ps("healthy") == [healthy[:12]] and ps("unhealthy") == [sick[:12]])
        assert ps("none") == [plain[:12]]
        assert ps("starting") == []
        p = daemon.docker("ps", "--filter", "health=x", check=False)
        assert p.returncode == 1 and "Unrecognised filter value for health: x" in p.stderr
    finally:
        daemon.docker("rm", "-f", healthy, sick, plain)


def test_ps_filter_exited_applies_with_all_only(daemon):
    label = unique("exited")
    done = daemon.docker("run", "--label", label, "busybox", "sh", "-c", "exit 3", check=False)
    assert done.returncode == 3
    running = daemon.docker("run", "-d", "--label", label, "busybox", "sleep", "60").stdout.strip()
    done_id = daemon.docker("ps", "-aq", "--filter", f"label={label}", "--filter", "status=exited").stdout.strip()
    try:
        def ps(*args) -> list[str]:
            return daemon.docker("ps", "-q", "--filter", f"label={label}", *args).stdout.split()

        assert ps("--filter", "exited=3") == []  # without -a: stopped containers stay hidden
        assert ps("-a", "--filter", "exited=3") == [done_id]
        assert ps("-a", "--filter", "exited=0") == []  # a running container has no exit code
        p = daemon.docker("ps", "-a", "--filter", "exited=abc", check=False)
        assert p.returncode == 1 and "invalid filter 'exited=abc'" in p.stderr
        status, body = daemon.api("GET", f"/containers/json?all=1&filters={filters_query({'exited': ['abc']})}")
        assert status == 400 and "invalid filter 'exited=abc'" in body["message"]
    finally:
        daemon.docker("rm", "-f", running, done_id)


def test_ps_filter_name_with_a_bad_regexp_matches_nothing(daemon):
    cid = daemon.docker("create", "--name", unique("regexp"), "busybox", "true").stdout.strip()
    try:
        p = daemon.docker("ps", "-a", "--filter", "name=[", check=False)
        assert p.returncode == 0 and p.stdout.splitlines()[1:] == []
        status, body = daemon.api("GET", f"/containers/json?all=1&filters={filters_query({'name': ['(x']})}")
        assert (status, body) == (200, [])
        assert daemon.docker("ps", "-aq", "--filter", "name=regexp-.+").stdout.split() == [cid[:12]]
    finally:
        daemon.docker("rm", cid)


# ----------------------------------------------------------------------------- exec
def test_exec_records_end_with_the_container(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        assert inspect(daemon, cid)["ExecIDs"] is None
        daemon.docker("exec", "-d", cid, "sleep", "60")
        daemon.docker("exec", cid, "true")  # finished: not listed
        exec_ids = wait_for(lambda: inspect(daemon, cid)["ExecIDs"])
        assert len(exec_ids) == 1
        status, body = daemon.api("GET", f"/exec/{exec_ids[0]}/json")
        assert status == 200 and body["Running"] is True and body["ContainerID"] == cid
        daemon.docker("stop", "-t", "0", cid)
        assert inspect(daemon, cid)["ExecIDs"] is None
        status, body = daemon.api("GET", f"/exec/{exec_ids[0]}/json")
        assert status == 404 and "No such exec instance" in body["message"]
    finally:
        daemon.docker("rm", "-f", cid)


def test_exec_detached_env_workdir_and_user(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        out = daemon.docker("exec", "-e", "FOO=bar", "-e", "EMPTY=", cid, "sh", "-c", 'echo "$FOO|$EMPTY|"').stdout
        assert out == "bar||\n"
        assert daemon.docker("exec", "-w", "/tmp", cid, "pwd").stdout == "/tmp\n"
        assert daemon.docker("exec", "-u", "nobody", cid, "id", "-un").stdout == "nobody\n"
        assert daemon.docker("exec", "-u", "1234:5678", cid, "sh", "-c", "echo $(id -u):$(id -g)").stdout == \
            "1234:5678\n"
        # -d returns while the command still runs: it cannot finish before /tmp/go exists, made only after.
        p = daemon.docker("exec", "-d", cid, "sh", "-c",
                          "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo done > /tmp/flag")
        assert p.stdout == ""
        assert daemon.docker("exec", cid, "cat", "/tmp/flag", check=False).returncode == 1
        daemon.docker("exec", cid, "touch", "/tmp/go")
        wait_for(lambda: daemon.docker("exec", cid, "cat", "/tmp/flag", check=False).stdout == "done\n")
    finally:
        daemon.docker("rm", "-f", cid)


def test_exec_of_a_missing_or_non_executable_binary(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        p = daemon.docker("exec", cid, "nope-not-here", check=False)
        assert p.returncode == 127
        assert 'exec: "nope-not-here": executable file not found in $PATH' in p.stdout + p.stderr
        p = daemon.docker("exec", cid, "/etc/passwd", check=False)
        assert p.returncode == 126
        assert "permission denied" in p.stdout + p.stderr
        p = daemon.docker("exec", "-d", cid, "nope-not-here", check=False)  # the start request itself fails
        assert p.returncode == 1
        assert 'exec: "nope-not-here": executable file not found in $PATH' in p.stderr
        status, body = daemon.api("POST", f"/containers/{cid}/exec", {"Cmd": ["nope-not-here"]})
        status, body = daemon.api("POST", f"/exec/{body['Id']}/start", {"Detach": True})
        assert status == 400 and "executable file not found" in body["message"]
    finally:
        daemon.docker("rm", "-f", cid)


# ----------------------------------------------------------------------------- terminals
def test_custom_detach_keys_for_run_and_attach(daemon):
    pexpect = pytest.importorskip("pexpect")
    name = unique("detach")
    env = daemon.env()
    child = pexpect.spawn(DOCKER, ["run", "-it", "--detach-keys", "ctrl-a,x", "--name", name, "busybox", "sh"],
                          env=env, timeout=20, encoding="utf-8")
    try:
        child.expect(r"/ # ")
        child.sendcontrol("p")
        child.sendcontrol("q")  # the default keys are just input now
        child.sendcontrol("c")  # drop whatever they did to the line
        child.sendline("echo still-$((2+2))")
        child.expect("still-4")
        child.sendcontrol("a")
        child.send("x")
        child.expect(pexpect.EOF)
        child.close()
        assert inspect(daemon, name)["State"]["Running"]
        att = pexpect.spawn(DOCKER, ["attach", "--detach-keys", "ctrl-b", name], env=env, timeout=20,
                            encoding="utf-8")
        att.sendline("echo back-$((3+3))")
        att.expect("back-6")
        att.sendcontrol("b")
        att.expect(pexpect.EOF)
        att.close()
        assert inspect(daemon, name)["State"]["Running"]
    finally:
        child.close(force=True)
        daemon.docker("rm", "-f", name, check=False)


def test_container_tty_resize(daemon):
    cid = daemon.docker("run", "-dit", "busybox", "sh").stdout.strip()
    try:
        status, _ = daemon.api("POST", f"/containers/{cid}/resize?h=33&w=101")
        assert status == 200
        # the container's terminal is its /dev/console
        assert daemon.docker("exec", cid, "stty", "-F", "/dev/console", "size").stdout == "33 101\n"
        daemon.docker("stop", "-t", "0", cid)
        status, body = daemon.api("POST", f"/containers/{cid}/resize?h=10&w=10")
        assert status == 409 and "is not running" in body["message"]
    finally:
        daemon.docker("rm", "-f", cid)


def test_start_interactive(daemon):
    cid = daemon.docker("create", "-i", "busybox", "sh", "-c", "read line; echo got:$line; exit 4").stdout.strip()
    try:
        p = daemon.docker("start", "-i", cid, input="hello\n", check=False)
        assert p.stdout == "got:hello\n" and p.returncode == 4
        p = daemon.docker("start", "-a", "-i", cid, input="again\n", check=False)
        assert p.stdout == "got:again\n" and p.returncode == 4
    finally:
        daemon.docker("rm", cid)


# ----------------------------------------------------------------------------- names, IDs, wait
def test_ambiguous_id_prefix_is_an_error(daemon):
    created: list[str] = []
    try:
        while True:  # 17 containers always share a first hex digit; a few usually do
            created.append(daemon.docker("create", "busybox", "true").stdout.strip())
            firsts = [c[0] for c in created]
            shared = next((f for f in firsts if firsts.count(f) > 1), None)
            if shared:
                break
        p = daemon.docker("rm", shared, check=False)
        assert p.returncode == 1 and f"multiple IDs found with provided prefix: {shared}" in p.stderr
        status, body = daemon.api("GET", f"/containers/{shared}/json")
        assert status == 400 and body["message"] == f"multiple IDs found with provided prefix: {shared}"
        assert set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split()) >= set(created)  # nothing removed
    finally:
        daemon.docker("rm", *created)


def test_failed_rename(daemon):
    a, b = unique("rename-a"), unique("rename-b")
    daemon.docker("create", "--name", a, "busybox", "true")
    b_id = daemon.docker("create", "--name", b, "busybox", "true").stdout.strip()
    try:
        p = daemon.docker("rename", a, b, check=False)
        assert p.returncode == 1
        assert (f'Error when allocating new name: Conflict. The container name "/{b}" is already in use by '
                f'container "{b_id}". You have to remove (or rename) that container to be able to reuse that name.'
                in p.stderr)
        status, _ = daemon.api("POST", f"/containers/{a}/rename?name={b}")
        assert status == 409
        p = daemon.docker("rename", a, a, check=False)
        assert p.returncode == 1 and "Renaming a container with the same name as its current name" in p.stderr
        p = daemon.docker("rename", a, "bad name!", check=False)
        assert p.returncode == 1 and "Invalid container name (bad name!)" in p.stderr
        assert inspect(daemon, a)["Name"] == f"/{a}"
    finally:
        daemon.docker("rm", a, b)


def test_invalid_wait_condition(daemon):
    cid = daemon.docker("create", "busybox", "true").stdout.strip()
    try:
        status, body = daemon.api("POST", f"/containers/{cid}/wait?condition=bogus")
        assert status == 400 and body["message"] == 'invalid condition: "bogus"'
    finally:
        daemon.docker("rm", cid)


# ----------------------------------------------------------------------------- stopping
TRAP = 'trap "echo got {sig}; exit 0" {sig}; echo ready; while true; do sleep 0.1; done'


def stop_and_read(daemon, cid: str) -> str:
    """Stop once the trap is set; the logs. The trap exits 0: a 0 exit code shows the signal reached it (the
    SIGKILL after the timeout would make it 137)."""
    wait_for(lambda: "ready" in daemon.docker("logs", cid).stdout)
    daemon.docker("stop", cid)
    return daemon.docker("logs", cid).stdout


def test_stop_signal_flag_reaches_the_process(daemon):
    cid = daemon.docker("run", "-d", "--stop-signal", "USR1", "busybox", "sh", "-c", TRAP.format(sig="USR1")
                        ).stdout.strip()
    try:
        logs = stop_and_read(daemon, cid)
        assert "got USR1" in logs
        assert inspect(daemon, cid)["State"]["ExitCode"] == 0
        assert inspect(daemon, cid)["Config"]["StopSignal"] == "USR1"
    finally:
        daemon.docker("rm", "-f", cid)


def test_image_stopsignal_reaches_the_process(daemon):
    base = daemon.docker("create", "busybox", "true").stdout.strip()
    image = unique("stopsig")
    daemon.docker("commit", "--change", "STOPSIGNAL SIGUSR2", base, image)
    cid = daemon.docker("run", "-d", image, "sh", "-c", TRAP.format(sig="USR2")).stdout.strip()
    try:
        logs = stop_and_read(daemon, cid)
        assert "got USR2" in logs
        assert inspect(daemon, cid)["State"]["ExitCode"] == 0
    finally:
        daemon.docker("rm", "-f", cid, base)
        daemon.docker("rmi", image)


def test_stop_timeout_flag(daemon):
    cid = daemon.docker("run", "-d", "--stop-timeout", "1", "busybox", "sleep", "60").stdout.strip()
    try:
        assert inspect(daemon, cid)["Config"]["StopTimeout"] == 1
        daemon.docker("stop", cid)  # sleep as PID 1 ignores SIGTERM: SIGKILL after the container's own 1 s
        assert inspect(daemon, cid)["State"]["ExitCode"] == 137
        # The daemon's own record of the two signals: KILL followed TERM by the container's 1 s, not the
        # default 10 s (what is checked is which timeout applied, not how fast anything is).
        kills = daemon.docker("events", "--since", inspect(daemon, cid)["Created"], "--until",
                              str(int(time.time()) + 1), "--filter", f"container={cid}", "--filter", "event=kill",
                              "--format", "{{.Actor.Attributes.signal}} {{.TimeNano}}").stdout.split("\n")
        (term, t_term), (kill, t_kill) = [line.split() for line in kills if line]
        assert (term, kill) == ("15", "9")
        assert 1e9 <= int(t_kill) - int(t_term) < 10e9
    finally:
        daemon.docker("rm", "-f", cid)


# ----------------------------------------------------------------------------- config and logs
def test_env_file_and_labels(daemon, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("# a comment\nA=1\nB=two words\nFROM_HOST\n\nA_LATER=x\n")
    out = daemon.docker("run", "--rm", "--env-file", str(env_file), "-e", "A=2", "busybox", "sh", "-c",
                        'echo "$A|$B|$FROM_HOST|$A_LATER"', env={"FROM_HOST": "host value"}).stdout
    assert out == "2|two words|host value|x\n"  # -e wins over the file
    label = unique("tier")
    cid = daemon.docker("create", "-l", f"{label}=web", "--label", "flag", "busybox", "true").stdout.strip()
    try:
        assert inspect(daemon, cid)["Config"]["Labels"] == {label: "web", "flag": ""}
        assert daemon.docker("ps", "-aq", "--filter", f"label={label}=web").stdout.split() == [cid[:12]]
    finally:
        daemon.docker("rm", cid)


def test_json_file_log_on_disk(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "echo out; echo err >&2; printf 'no newline'"
                        ).stdout.strip()
    try:
        daemon.docker("wait", cid)
        log_path = daemon.docker("inspect", "-f", "{{.LogPath}}", cid).stdout.strip()
        assert log_path.endswith(f"/{cid}/{cid}-json.log")
        with open(log_path) as f:
            entries = [json.loads(line) for line in f]
        assert all(set(e) == {"log", "stream", "time"} for e in entries)
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", e["time"]) for e in entries)
        by_stream = {(e["stream"], e["log"]) for e in entries}
        assert by_stream == {("stdout", "out\n"), ("stderr", "err\n"), ("stdout", "no newline")}
    finally:
        daemon.docker("rm", cid)


# ----------------------------------------------------------------------------- ps IMAGE column
def test_ps_shows_the_image_id_once_the_name_points_elsewhere(daemon):
    """moby's list keeps the name a container was created from only while it still names that image."""
    tag, name, source = unique("moving") + ":1", unique("mover"), unique("source")
    busybox_id = inspect(daemon, "busybox")["Id"]
    daemon.docker("tag", "busybox", tag)
    daemon.docker("create", "--name", name, tag, "true")
    daemon.docker("run", "--name", source, "busybox", "touch", "/new")
    try:
        def listed(*flags: str) -> str:
            return daemon.docker("ps", "-a", *flags, "--filter", f"name={name}", "--format", "{{.Image}}").stdout.strip()

        assert listed() == tag
        daemon.docker("commit", source, tag)  # the tag moves to another image
        assert listed() == busybox_id.removeprefix("sha256:")[:12]
        assert listed("--no-trunc") == busybox_id
        assert inspect(daemon, name)["Config"]["Image"] == tag  # inspect keeps the name, as docker's does
    finally:
        daemon.docker("rm", "-f", name, source, check=False)
        daemon.docker("rmi", tag, check=False)
