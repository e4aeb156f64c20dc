"""`docker run`/`docker create` flags as a Docker user meets them, with the real docker CLI: what runs, what is
refused (in moby's words, with docker's exit codes) and when."""
from __future__ import annotations

import os

from .test_containers import inspect


def names(d) -> set[str]:
    return set(d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split())


# ---------------------------------------------------------------- --security-opt
def test_no_new_privileges_takes_a_boolean_value(daemon):
    def nnp(*opts):
        args = [a for o in opts for a in ("--security-opt", o)]
        out = daemon.docker("run", "--rm", *args, "busybox", "grep", "NoNewPrivs", "/proc/self/status").stdout
        return out.split()[-1]

    assert nnp("no-new-privileges") == "1"
    assert nnp("no-new-privileges=true") == "1"  # what compose and many how-tos write
    assert nnp("no-new-privileges:true") == "1"  # the deprecated separator still works in moby
    assert nnp("no-new-privileges=false") == "0"
    assert nnp("no-new-privileges", "no-new-privileges=false") == "0"  # the last one wins
    bad = daemon.docker("run", "--rm", "--name", "audit-nnp-bad", "--security-opt", "no-new-privileges=maybe",
                        "busybox", "true", check=False)
    assert bad.returncode == 125
    assert 'Error response from daemon: invalid --security-opt 2: "no-new-privileges=maybe"' in bad.stderr
    unknown = daemon.docker("create", "--security-opt", "foo=bar", "busybox", "true", check=False)
    assert unknown.returncode == 1
    assert 'Error response from daemon: invalid --security-opt 2: "foo=bar"' in unknown.stderr
    assert "audit-nnp-bad" not in names(daemon)  # refused at create: nothing is left behind


# ---------------------------------------------------------------- create-time checks
def test_bad_settings_are_refused_at_create_in_mobys_words(daemon):
    cases = [
        (["--cap-add", "BOGUS"], 'invalid CapAdd: unknown capability: "CAP_BOGUS"'),
        (["--cap-drop", "cap_nope"], 'invalid CapDrop: unknown capability: "CAP_NOPE"'),
        (["--stop-signal", "BOGUS"], "invalid signal: BOGUS"),
        (["-w", "relative/dir"], "the working directory 'relative/dir' is invalid, it needs to be an absolute path"),
        (["--health-cmd", "true", "--health-interval", "500us"], "Interval in Healthcheck cannot be less than 1ms"),
        (["--health-cmd", "true", "--health-timeout", "10us"], "Timeout in Healthcheck cannot be less than 1ms"),
        (["--log-opt", "max-sise=1m"], "unknown log opt 'max-sise' for json-file log driver"),
        (["--uts", "host", "--hostname", "box"], "conflicting options: hostname and the UTS mode"),
    ]
    for i, (flags, message) in enumerate(cases):
        name = f"audit-bad-{i}"
        p = daemon.docker("create", "--name", name, *flags, "busybox", "true", check=False)
        assert (p.returncode, p.stderr.strip()) == (1, f"Error response from daemon: {message}"), flags
        r = daemon.docker("run", "--rm", "--name", name, *flags, "busybox", "true", check=False)
        assert r.returncode == 125 and f"docker: Error response from daemon: {message}" in r.stderr, flags
    assert not {n for n in names(daemon) if n.startswith("audit-bad-")}


def test_valid_settings_still_create_and_workdir_is_cleaned(daemon):
    cid = daemon.docker("create", "--cap-add", "all", "--cap-drop", "chown", "--cap-add", "cap_net_admin",
                        "--stop-signal", "SIGRTMIN+3", "--security-opt", "label=disable", "-w", "/srv/../data/./x/",
                        "--log-opt", "max-size=10m", "--log-opt", "max-file=3", "--add-host", "gw:host-gateway",
                        "busybox", "pwd").stdout.strip()
    try:
        assert inspect(daemon, cid)["Config"]["WorkingDir"] == "/data/x"  # moby stores it cleaned
        daemon.docker("start", cid)
        assert daemon.docker("wait", cid).stdout.strip() == "0"
        assert daemon.docker("logs", cid).stdout == "/data/x\n"
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_api_create_checks_env_and_extra_hosts(daemon):
    for body, message in [
        ({"Env": ["=foo"]}, "invalid environment variable: =foo"),
        ({"HostConfig": {"ExtraHosts": ["nocolon"]}}, 'bad format for add-host: "nocolon"'),
        ({"HostConfig": {"ExtraHosts": ["db:not-an-ip"]}}, 'invalid IP address in add-host: "not-an-ip"'),
        ({"Healthcheck": {"Test": ["CMD", "true"], "Retries": -1}}, "Retries in Healthcheck cannot be negative"),
    ]:
        status, reply = daemon.api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], **body})
        assert (status, reply["message"]) == (400, message)
    status, reply = daemon.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["true"], "HostConfig": {"ExtraHosts": ["v6:[2001:db8::1]", "v4:10.1.2.3"]}})
    assert status == 201
    daemon.docker("rm", reply["Id"])


# ---------------------------------------------------------------- --log-opt max-size / max-file
LINES = "for i in $(seq 1 {n}); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; {pause} done"


def test_log_opt_max_size_rotates_and_logs_keeps_the_newest(daemon):
    cid = daemon.docker("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
                        LINES.format(n=300, pause="")).stdout.strip()
    try:
        assert daemon.docker("wait", cid).stdout.strip() == "0"
        log_path = inspect(daemon, cid)["LogPath"]
        files = sorted(f for f in os.listdir(os.path.dirname(log_path)) if f.startswith(os.path.basename(log_path)))
        assert [f[len(os.path.basename(log_path)):] for f in files] == ["", ".1", ".2"]
        assert all(os.path.getsize(os.path.join(os.path.dirname(log_path), f)) < 1200 for f in files)
        lines = daemon.docker("logs", cid).stdout.splitlines()
        assert 20 < len(lines) < 60  # three files of about 1 kB: the oldest lines are gone
        numbers = [int(line.split("-")[1]) for line in lines]
        assert numbers == list(range(numbers[0], 301))  # in order across the files, none lost between them
        assert daemon.docker("logs", "--tail", "2", cid).stdout.splitlines() == lines[-2:]
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_logs_follow_goes_on_across_a_rotation(daemon):
    cid = daemon.docker("run", "-d", "--log-opt", "max-size=300", "--log-opt", "max-file=2", "busybox", "sh", "-c",
                        LINES.format(n=40, pause="sleep 0.05;")).stdout.strip()
    try:
        lines = daemon.docker("logs", "-f", cid, timeout=30).stdout.splitlines()
        assert [int(line.split("-")[1]) for line in lines] == list(range(1, 41))
        assert os.path.exists(inspect(daemon, cid)["LogPath"] + ".1")  # it did rotate under the follower
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_bad_log_rotation_values_fail_the_start_as_in_moby(daemon):
    for value, message in [(["max-size=bogus"], "invalid size: 'bogus'"),
                           (["max-size=0"], "max-size must be a positive number"),
                           (["max-size=1m", "max-file=0"], "max-file cannot be less than 1")]:
        flags = [a for v in value for a in ("--log-opt", v)]
        p = daemon.docker("run", "--rm", *flags, "busybox", "true", check=False)
        assert p.returncode == 125
        assert ("docker: Error response from daemon: failed to create task for container: failed to initialize "
                f"logging driver: {message}") in p.stderr


# ---------------------------------------------------------------- --pid / --ipc
def test_pid_and_ipc_of_another_container_are_joined(daemon):
    donor = "audit-ipc-donor"
    daemon.docker("run", "-d", "--name", donor, "--ipc", "shareable", "busybox", "sleep", "300")
    try:
        daemon.docker("exec", donor, "sh", "-c", "echo shared > /dev/shm/marker")
        donor_ipc = daemon.docker("exec", donor, "readlink", "/proc/self/ns/ipc").stdout
        out = daemon.docker("run", "--rm", "--ipc", f"container:{donor}", "busybox", "sh", "-c",
                            "cat /dev/shm/marker; readlink /proc/self/ns/ipc").stdout
        assert out == "shared\n" + donor_ipc
        ps = daemon.docker("run", "--rm", "--pid", f"container:{donor}", "busybox", "ps", "-o", "pid,args").stdout
        assert "1 sleep 300" in " ".join(ps.split())  # the donor's process is PID 1 of the shared namespace
        assert daemon.docker("run", "--rm", "--ipc", "none", "busybox", "ls", "/dev/shm", check=False).returncode == 1
        host_shm = daemon.docker("run", "--rm", "--ipc", "host", "busybox", "readlink", "/proc/self/ns/ipc").stdout
        assert host_shm.strip() == os.readlink("/proc/self/ns/ipc")
    finally:
        daemon.docker("rm", "-f", donor, check=False)


def test_joining_a_missing_stopped_or_private_container_fails_in_mobys_words(daemon):
    daemon.docker("run", "-d", "--name", "audit-ipc-private", "busybox", "sleep", "300")
    stopped = daemon.docker("create", "--name", "audit-ipc-stopped", "busybox", "true").stdout.strip()
    try:
        # a missing PID donor is refused at create (a 400: the CLI must not go and pull the image)...
        p = daemon.docker("run", "--rm", "--pid", "container:audit-nosuch", "busybox", "true", check=False)
        assert (p.returncode, p.stderr) == (125, "docker: Error response from daemon: No such container: "
                                                 "audit-nosuch\n\nRun 'docker run --help' for more information\n")
        # ... and the mode is kept by ID, as moby does
        cid = daemon.docker("create", "--pid", "container:audit-ipc-stopped", "busybox", "true").stdout.strip()
        assert inspect(daemon, cid)["HostConfig"]["PidMode"] == f"container:{stopped}"
        daemon.docker("rm", cid)
        for flags, message in [
            (["--pid", "container:audit-ipc-stopped"], f"failed to join PID namespace: container {stopped} is not "
                                                        "running"),
            (["--ipc", "container:audit-nosuch"], "failed to join IPC namespace: No such container: audit-nosuch"),
            (["--ipc", "container:audit-ipc-stopped"], "failed to join IPC namespace: container audit-ipc-stopped "
                                                        "is not running"),
            (["--ipc", "container:audit-ipc-private"], "failed to join IPC namespace: container audit-ipc-private: "
                                                        "non-shareable IPC (hint: use IpcMode:shareable for the "
                                                        "donor container)"),
            (["--ipc", "bogus"], "invalid IPC mode: bogus"),
        ]:
            p = daemon.docker("run", "--rm", *flags, "busybox", "true", check=False)
            assert p.returncode == 125 and f"docker: Error response from daemon: {message}\n" in p.stderr, flags
    finally:
        daemon.docker("rm", "-f", "audit-ipc-private", "audit-ipc-stopped", check=False)


# ---------------------------------------------------------------- --user
def test_the_primary_group_is_a_supplementary_group_too(daemon):
    def user_id(*flags):
        return daemon.docker("run", "--rm", *flags, "busybox", "id").stdout.strip()

    assert user_id() == "uid=0(root) gid=0(root) groups=0(root)"
    assert user_id("-u", "1000:1000") == "uid=1000 gid=1000 groups=1000"
    assert user_id("-u", "1000") == "uid=1000 gid=0(root) groups=0(root)"
    assert user_id("-u", "nobody", "--group-add", "1234") == \
        "uid=65534(nobody) gid=65534(nobody) groups=1234,65534(nobody)"  # the kernel keeps them sorted
    cid = daemon.docker("run", "-d", "busybox", "sleep", "300").stdout.strip()
    try:
        assert daemon.docker("exec", "-u", "nobody", cid, "id").stdout.strip() == \
            "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)"
    finally:
        daemon.docker("rm", "-f", cid, check=False)


# ---------------------------------------------------------------- -e VAR
def test_e_var_that_the_client_does_not_have_unsets_it(daemon):
    env = {"AUDIT_SET": "from-client"}  # AUDIT_UNSET is in no environment: the CLI sends it without "="
    script = 'echo "${AUDIT_SET}|${AUDIT_UNSET-unset}|${HOSTNAME:+hostname}|${PATH-nopath}"'
    out = daemon.docker("run", "--rm", "-e", "AUDIT_SET", "-e", "AUDIT_UNSET", "busybox", "sh", "-c", script,
                        env=env).stdout
    assert out == "from-client|unset|hostname|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    cid = daemon.docker("run", "-d", "busybox", "sleep", "300").stdout.strip()
    try:
        names = [line.split("=")[0] for line in
                 daemon.docker("exec", "-e", "AUDIT_UNSET", "-e", "HOSTNAME", cid, "env").stdout.splitlines()]
        assert "AUDIT_UNSET" not in names and "HOSTNAME" not in names and "PATH" in names  # (sh would set one)
    finally:
        daemon.docker("rm", "-f", cid, check=False)


# ---------------------------------------------------------------- --mount type=tmpfs
def test_mount_tmpfs_options_are_applied(daemon):
    def tmpfs(spec):
        return daemon.docker("run", "--rm", "--mount", spec, "busybox", "sh", "-c",
                             'mount | grep " /x "; stat -c %a /x; touch /x/f 2>&1 || true').stdout.splitlines()

    line, mode, *rest = tmpfs("type=tmpfs,destination=/x,tmpfs-size=1m,tmpfs-mode=0700")
    options = line.split("(")[1].rstrip(")").split(",")
    assert {"rw", "noexec", "nosuid", "nodev", "size=1024k", "mode=700"} <= set(options)
    assert (mode, rest) == ("700", [])
    line, mode, *rest = tmpfs("type=tmpfs,destination=/x,readonly")
    assert line.split("(")[1].startswith("ro,") and "noexec" in line and mode == "1777"
    assert rest == ["touch: /x/f: Read-only file system"]
