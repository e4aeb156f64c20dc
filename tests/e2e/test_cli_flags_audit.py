"""`dockyard` beside the docker CLI on the same daemon: the same flags give the same container, and bad flags or
arguments fail with the same words and exit codes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from dockyard.runtime import sysinfo

from .daemon_harness import ROOT


def ours_as_docker(p):
    return p.stderr.replace("dockyard", "docker"), p.returncode


@pytest.mark.parametrize("argv", [
    ["exec", "c1"], ["run"], ["rm"], ["logs"], ["rename", "a"], ["ps", "extra"], ["commit"], ["port"],
    ["network", "create"], ["run", "--bogus", "busybox"], ["stop", "--bogus", "c1"], ["ps", "-az"],
    ["container", "ps", "--bogus"], ["volume", "ls", "--bogus"], ["stop", "-t", "x", "c1"], ["stop", "-t"],
    ["ps", "-n", "x"], ["ps", "--filter"], ["run", "-e"], ["run", "--rm=x", "busybox"], ["--bogus", "ps"],
    ["bogus"], ["network", "bogus"], ["run", "-m", "1x", "busybox"], ["run", "--cpus", "x", "busybox"],
    ["create", "--health-interval", "5", "busybox"], ["create", "--ulimit", "nofile=2:1", "busybox"],
    ["create", "--ulimit", "bogus=1", "busybox"], ["create", "--mount", "type=bind", "busybox"],
    ["create", "--mount", "type=volume,target=/x,foo=bar", "busybox"], ["create", "--sysctl", "foo", "busybox"],
    ["create", "--blkio-weight", "70000", "busybox"], ["create", "--device-read-iops", "/dev/sda:x", "busybox"],
    ["create", "--link", "a:b:c", "busybox"], ["create", "--cpus", "1/3", "busybox"],
    ["run", "-a", "foo", "busybox"], ["create", "--pid", "bogus", "busybox"],
    ["create", "--device", "/dev/null:/dev/x:zz", "busybox"], ["create", "--mac-address", "xx", "busybox"],
    ["create", "--memory-swappiness", "101", "busybox"], ["run", "--rm", "--restart", "always", "busybox"],
    ["run", "-d", "-a", "stdout", "busybox"], ["create", "--log-driver", "none", "--log-opt", "a=b", "busybox"],
    ["update", "c1"],
])
def test_usage_errors_are_dockers(daemon, argv):
    theirs = daemon.docker(*argv, check=False)
    ours = daemon.dockyard(*argv, check=False)
    assert ours_as_docker(ours) == (theirs.stderr, theirs.returncode)


def test_too_many_arguments_is_dockers_error(daemon):
    theirs = daemon.docker("volume", "create", "a", "b", check=False)
    ours = daemon.dockyard("volume", "create", "a", "b", check=False)
    # docker 28 prints "SRun" on this one line, a typo of its own
    assert ours_as_docker(ours) == (theirs.stderr.replace("SRun", "Run"), theirs.returncode) and ours.returncode == 1


def test_a_group_alone_prints_its_help_on_stdout(daemon):
    p = daemon.dockyard("network", check=False)
    assert p.returncode == daemon.docker("network", check=False).returncode == 0
    assert "Manage networks" in p.stdout and "create" in p.stdout


def _created(daemon, cli, flags):
    cid = cli("create", *flags, "busybox", "true").stdout.strip()
    try:
        return json.loads(daemon.docker("inspect", cid).stdout)[0]
    finally:
        daemon.docker("rm", "-f", "-v", cid)


@pytest.mark.parametrize("flags", [
    [],
    ["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=100", "--device", "/dev/null:/dev/xnull:r",
     "--sysctl", "net.ipv4.ip_forward=1", "--log-driver", "json-file", "--log-opt", "max-size=1m",
     "--annotation", "a=b", "--cgroupns", "private", "--cpu-shares", "512", "--cpu-period", "100000",
     "--cpu-quota", "50000", "--cpuset-cpus", "0", "-m", "64m", "--memory-reservation", "32m",
     "--memory-swap", "128m", "--memory-swappiness", "10", "--oom-score-adj", "100", "--shm-size", "16m",
     "--group-add", "123", "--domainname", "example.org", "--pids-limit", "50", "--blkio-weight", "300",
     "--device-read-bps", "/dev/null:1m", "--device-write-iops", "/dev/null:100", "--device-cgroup-rule",
     "c 1:3 rwm", "--oom-kill-disable", "--ipc", "private", "--pid", "host",
     "--uts", "host", "--cgroup-parent", "foo.slice", "--stop-timeout", "5", "--health-cmd", "true",
     "--health-interval", "5s", "--health-retries", "2"],
    ["--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "--mount", "type=volume,source=auditv1,target=/v,volume-nocopy",
     "--mount", "type=bind,src=/tmp,dst=/b,ro,bind-propagation=rslave", "-v", "/anon", "-v", "/tmp:/h:ro",
     "-a", "stdout", "--label-file", "/dev/null", "-l", "x=y", "--cap-add", "net_admin", "--cap-add", "chown",
     "--cap-drop", "mknod", "--mac-address", "02:42:ac:11:00:99"],
    # a link needs an existing container; --ip6 an IPv6 network (tests/e2e/test_cli_flags_more.py has it)
    ["-i", "-t", "--rm", "--link", "flagsdonor:bar", "--volumes-from", "flagsdonor:ro", "--userns", "host",
     "--volume-driver", "local", "--restart", "no", "--cpus", "1.5"],
])
def test_create_flags_make_the_container_docker_makes(daemon, flags):
    daemon.docker("create", "--name", "flagsdonor", "-v", "/donated", "busybox", "true")  # for --volumes-from
    try:
        theirs = _created(daemon, daemon.docker, flags)
        ours = _created(daemon, daemon.dockyard, flags)
    finally:
        daemon.docker("volume", "rm", "-f", "auditv1", check=False)
        daemon.docker("rm", "-v", "flagsdonor")
    theirs["Config"].pop("Hostname"), ours["Config"].pop("Hostname")
    for c in (theirs, ours):  # a legacy link is named after its container: /child:/<name>/alias
        c["HostConfig"]["Links"] = [link.replace(c["Name"] + "/", "/<name>/") for link in c["HostConfig"]["Links"]
                                    or []]
    assert ours["HostConfig"] == theirs["HostConfig"]
    assert ours["Config"] == theirs["Config"]
    endpoint = ("MacAddress", "IPAMConfig", "Aliases")
    assert ({n: [e.get(k) for k in endpoint] for n, e in ours["NetworkSettings"]["Networks"].items()} ==
            {n: [e.get(k) for k in endpoint] for n, e in theirs["NetworkSettings"]["Networks"].items()})


def test_relative_bind_source_is_made_absolute(daemon, tmp_path):
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "f").write_text("from the host\n")
    p = subprocess.run([sys.executable, "-m", "dockyard", "run", "--rm", "-v", "./rel:/r", "busybox", "cat", "/r/f"],
                       env={**daemon.env(), "PYTHONPATH": str(ROOT)}, cwd=tmp_path, capture_output=True, text=True)
    assert (p.stdout, p.returncode) == ("from the host\n", 0)


def test_cidfile_is_written_and_never_overwritten(daemon, tmp_path):
    cidfile = tmp_path / "cid"
    cid = daemon.dockyard("create", "--cidfile", str(cidfile), "busybox", "true").stdout.strip()
    try:
        assert cidfile.read_text() == cid
        for command in ("create", "run"):
            theirs = daemon.docker(command, "--cidfile", str(cidfile), "busybox", "true", check=False)
            ours = daemon.dockyard(command, "--cidfile", str(cidfile), "busybox", "true", check=False)
            assert ours_as_docker(ours) == (theirs.stderr, theirs.returncode)
        assert cidfile.read_text() == cid
    finally:
        daemon.docker("rm", "-f", cid)


def test_attach_picks_the_streams_shown(daemon):
    script = "echo out; echo err >&2"
    for stream in ("stdout", "stderr"):
        theirs = daemon.docker("run", "--rm", "-a", stream, "busybox", "sh", "-c", script)
        ours = daemon.dockyard("run", "--rm", "-a", stream, "busybox", "sh", "-c", script)
        assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
        assert (ours.stdout + ours.stderr).strip() == stream[3:]


def test_signals_are_proxied_to_the_container(daemon):
    script = "trap 'echo got TERM; exit 3' TERM; echo ready; while true; do sleep 0.1; done"
    p = subprocess.Popen([sys.executable, "-m", "dockyard", "run", "--rm", "busybox", "sh", "-c", script],
                         env=daemon.env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"  # the trap is set
        os.kill(p.pid, signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
        assert (out, p.returncode) == ("got TERM\n", 3)
    finally:
        p.kill()


def test_update_takes_dockers_flags(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        daemon.dockyard("update", "--cpuset-mems", "0", "--blkio-weight", "200", "--cpus", "1/2", cid)
        hc = json.loads(daemon.docker("inspect", cid).stdout)[0]["HostConfig"]
        weight = 200 if sysinfo.host().blkio_weight else 0  # dropped, with moby's warning, where the kernel lacks it
        assert (hc["CpusetMems"], hc["BlkioWeight"], hc["NanoCpus"]) == ("0", weight, 500_000_000)
    finally:
        daemon.docker("rm", "-f", cid)
