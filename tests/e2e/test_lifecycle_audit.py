"""Container life-cycle commands other than `run` flags (logs, exec, top, prune, ...) as a Docker user meets
them through the real docker CLI: output, moby's messages and docker's exit codes."""
from __future__ import annotations

from .test_containers import inspect, wait_for


def ps_names(d) -> set[str]:
    return set(d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split())


# ---------------------------------------------------------------- logs --details
def test_logs_details_shows_log_opt_attributes_then_a_space(daemon):
    daemon.docker("run", "--name", "audit-details", "-l", "app=web", "-l", "team=a b", "-l", "other=x",
                  "-e", "REGION=eu", "--log-opt", "labels=app,team", "--log-opt", "env=REGION",
                  "busybox", "echo", "hello")
    daemon.docker("run", "--name", "audit-details-plain", "busybox", "echo", "plain")
    try:
        # moby: attributes sorted by key, query-escaped, comma-joined; then one space and the line
        assert daemon.docker("logs", "--details", "audit-details").stdout == "REGION=eu,app=web,team=a+b hello\n"
        assert daemon.docker("logs", "audit-details").stdout == "hello\n"  # only --details shows them
        stamped = daemon.docker("logs", "--details", "-t", "audit-details").stdout
        assert stamped.split(" ", 1)[1] == "REGION=eu,app=web,team=a+b hello\n"
        # no attributes: the space is still there, as with dockerd
        assert daemon.docker("logs", "--details", "audit-details-plain").stdout == " plain\n"
    finally:
        daemon.docker("rm", "audit-details", "audit-details-plain", check=False)


def test_a_bad_log_opt_regex_fails_the_start_not_the_daemon(daemon):
    p = daemon.docker("run", "--rm", "--log-opt", "labels-regex=[", "busybox", "true", check=False)
    assert p.returncode == 125
    assert "failed to initialize logging driver: error parsing regexp" in p.stderr


# ---------------------------------------------------------------- exec refusals
def test_exec_and_top_on_a_stopped_or_paused_container_in_mobys_words(daemon):
    stopped = daemon.docker("create", "--name", "audit-exec-stopped", "busybox", "true").stdout.strip()
    daemon.docker("run", "-d", "--name", "audit-exec-paused", "busybox", "sleep", "60")
    try:
        p = daemon.docker("exec", "audit-exec-stopped", "true", check=False)
        assert (p.returncode, p.stderr.strip()) == (1, f"Error response from daemon: Container {stopped} is not running")
        p = daemon.docker("top", "audit-exec-stopped", check=False)
        assert (p.returncode, p.stderr.strip()) == (1, f"Error response from daemon: Container {stopped} is not running")
        daemon.docker("pause", "audit-exec-paused")
        # moby's errExecPaused names the container as the user did (the reference's own example)
        p = daemon.docker("exec", "audit-exec-paused", "true", check=False)
        assert (p.returncode, p.stderr.strip()) == (
            1, "Error response from daemon: Container audit-exec-paused is paused, unpause the container before exec")
    finally:
        daemon.docker("rm", "-f", "audit-exec-stopped", "audit-exec-paused", check=False)


def test_exec_that_cannot_start_exits_126_unless_the_command_is_missing(daemon):
    daemon.docker("run", "-d", "--name", "audit-exec-codes", "busybox", "sleep", "60")
    try:
        missing = daemon.docker("exec", "audit-exec-codes", "nosuchcmd", check=False)
        assert missing.returncode == 127
        assert 'exec: "nosuchcmd": executable file not found in $PATH' in missing.stdout
        not_exec = daemon.docker("exec", "audit-exec-codes", "/etc", check=False)
        assert not_exec.returncode == 126
        # a missing working directory is "no such file or directory" too, but not about the command: moby's
        # translateContainerdStartErr leaves it to the exec default, 126
        no_dir = daemon.docker("exec", "-w", "/nonexistent", "audit-exec-codes", "pwd", check=False)
        assert no_dir.returncode == 126
        assert 'chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory' in no_dir.stdout
        assert daemon.docker("exec", "audit-exec-codes", "sh", "-c", "exit 7", check=False).returncode == 7
    finally:
        daemon.docker("rm", "-f", "audit-exec-codes", check=False)


# ---------------------------------------------------------------- prune --filter until
def test_prune_with_an_unparsable_until_is_refused_and_removes_nothing(daemon):
    cid = daemon.docker("create", "--name", "audit-prune-keep", "busybox", "true").stdout.strip()
    try:
        for what in ("container", "image", "network"):
            p = daemon.docker(what, "prune", "-f", "--filter", "until=bogus", check=False)
            assert (p.returncode, p.stderr.strip()) == (
                1, 'Error response from daemon: failed to parse value as time or duration: "bogus"'), what
        assert "audit-prune-keep" in ps_names(daemon)
        status, body = daemon.api("POST", '/containers/prune?filters={"until":["2024-13-45"]}')
        assert status == 400 and body["message"] == 'failed to parse value as time or duration: "2024-13-45"'
        assert inspect(daemon, cid)["Name"] == "/audit-prune-keep"
        # a good value still works: nothing this young goes
        daemon.docker("container", "prune", "-f", "--filter", "until=1h")
        assert "audit-prune-keep" in ps_names(daemon)
    finally:
        daemon.docker("rm", "-f", "audit-prune-keep", check=False)


# ---------------------------------------------------------------- restart policies and the daemon's own restart
def test_stopped_containers_come_back_with_the_daemon_by_their_policy(fresh_daemon):
    """moby's restore: a user's `docker stop` keeps only `unless-stopped` (and `no`) down; `always` starts again
    ("if it is manually stopped, it is restarted only when Docker daemon restarts"), and so does `on-failure`
    whose last exit (a stop's 137) was non-zero with retries left. One that used its retries stays down."""
    d = fresh_daemon
    for name, policy in (("always", "always"), ("unless", "unless-stopped"), ("onfail", "on-failure"),
                         ("never", "no")):
        d.docker("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "300")
    d.docker("run", "-d", "--name", "spent", "--restart", "on-failure:1", "busybox", "sh", "-c", "exit 3")
    d.docker("create", "--name", "created", "--restart", "always", "busybox", "sleep", "300")
    wait_for(lambda: inspect(d, "spent")["RestartCount"] == 1 and not inspect(d, "spent")["State"]["Restarting"]
             and not inspect(d, "spent")["State"]["Running"], timeout=15)
    d.docker("stop", "-t", "0", "always", "unless", "onfail", "never")
    d.stop()
    d.start()

    def status(name):
        return inspect(d, name)["State"]["Status"]

    wait_for(lambda: status("always") == "running" and status("onfail") == "running", timeout=15)
    assert inspect(d, "always")["RestartCount"] == 0  # a fresh start, not a policy restart
    assert (status("unless"), status("never"), status("spent"), status("created")) == \
        ("exited", "exited", "exited", "created")
    # it came back as if started by hand: a later user stop keeps it down again
    d.docker("stop", "-t", "0", "always")
    assert status("always") == "exited"


# ---------------------------------------------------------------- kill / rm -f of a paused container
def test_kill_then_rm_f_of_a_paused_container_is_clean(daemon):
    """The kill ends a paused container while the daemon still has it paused; an `rm -f` right after must not
    fail on a resume of a container that is gone (runc's "container not paused" / "does not exist")."""
    for i in range(6):
        name = f"audit-paused-kill-{i}"
        cid = daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "300").stdout.strip()
        daemon.docker("pause", name)
        assert daemon.docker("kill", name).stdout.strip() == name
        p = daemon.docker("rm", "-f", name, check=False)
        assert (p.returncode, p.stdout.strip(), p.stderr) == (0, name, ""), i
        assert daemon.api("GET", f"/containers/{cid}/json")[0] == 404


def test_a_signal_to_a_paused_container_without_stop_signal_resumes_it(daemon):
    daemon.docker("run", "-d", "--name", "audit-paused-hup", "busybox", "sh", "-c",
                  'trap "echo got HUP" HUP; while true; do sleep 0.1; done')
    try:
        daemon.docker("pause", "audit-paused-hup")
        daemon.docker("kill", "-s", "HUP", "audit-paused-hup")
        wait_for(lambda: "got HUP" in daemon.docker("logs", "audit-paused-hup").stdout, timeout=5)
        state = inspect(daemon, "audit-paused-hup")["State"]
        assert (state["Status"], state["Paused"]) == ("running", False)
    finally:
        daemon.docker("rm", "-f", "audit-paused-hup", check=False)


# ---------------------------------------------------------------- top
def test_top_with_bad_ps_options_shows_the_first_line_of_ps_complaint(daemon):
    daemon.docker("run", "-d", "--name", "audit-top", "busybox", "sleep", "60")
    try:
        rows = daemon.docker("top", "audit-top", "-o", "pid,comm").stdout.splitlines()
        assert rows[0].split() == ["PID", "COMMAND"] and rows[1].split()[1] == "sleep"
        p = daemon.docker("top", "audit-top", "-o", "bogus", check=False)
        # moby wraps the first line of ps's stderr as "ps: ..." (not the whole usage text)
        assert (p.returncode, p.stderr.strip()) == (
            1, 'Error response from daemon: ps: error: unknown user-defined format specifier "bogus"')
    finally:
        daemon.docker("rm", "-f", "audit-top", check=False)


def test_a_bad_signal_is_refused_first_in_moby_sys_signal_words(daemon):
    """moby's kill route parses the signal before it looks the container up (moby/sys/signal: lowercase)."""
    cid = daemon.docker("create", "busybox", "true").stdout.strip()
    try:
        for target in (cid, "no-such-container"):
            p = daemon.docker("kill", "-s", "FOO", target, check=False)
            assert p.returncode == 1 and "Error response from daemon: invalid signal: FOO" in p.stderr
        p = daemon.docker("kill", "-s", "0", cid, check=False)
        assert "invalid signal: 0" in p.stderr
    finally:
        daemon.docker("rm", cid)
