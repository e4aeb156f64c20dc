"""Our `dockyard` CLI beside the real docker CLI: same daemon, same answers, same exit codes."""
from __future__ import annotations

import json
import re


def test_run_and_exit_codes_match_docker(daemon):
    ours = daemon.dockyard("run", "--rm", "busybox", "echo", "Hello, World!")
    assert ours.stdout == "Hello, World!\n"
    for argv, code in ((["sh", "-c", "exit 3"], 3), (["nope-cmd"], 127), (["/etc/passwd"], 126)):
        assert daemon.dockyard("run", "--rm", "busybox", *argv, check=False).returncode == code
        assert daemon.docker("run", "--rm", "busybox", *argv, check=False).returncode == code
    p = daemon.dockyard("run", "--rm", "busybox", "nope-cmd", check=False)
    assert "executable file not found in $PATH" in p.stderr


def test_stdin_and_streams(daemon):
    p = daemon.dockyard("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo err >&2", input="piped\n")
    assert p.stdout == "piped\n" and p.stderr == "err\n"


def test_ps_logs_exec_stop_rm(daemon):
    cid = daemon.dockyard("run", "-d", "--name", "ours1", "busybox", "sh", "-c",
                          "echo hello; sleep 60").stdout.strip()
    try:
        assert re.fullmatch(r"[0-9a-f]{64}", cid)
        ours = daemon.dockyard("ps", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Names}}").stdout
        theirs = daemon.docker("ps", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Names}}").stdout
        assert ours == theirs and cid[:12] in ours
        header = daemon.dockyard("ps").stdout.splitlines()[0]
        assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        import time
        for _ in range(50):
            if daemon.dockyard("logs", "ours1").stdout == "hello\n":
                break
            time.sleep(0.1)
        assert daemon.dockyard("logs", "ours1").stdout == "hello\n"
        p = daemon.dockyard("exec", "ours1", "sh", "-c", "echo in-exec; exit 5", check=False)
        assert p.stdout == "in-exec\n" and p.returncode == 5
        assert daemon.dockyard("stop", "-t", "1", "ours1").stdout.strip() == "ours1"
        assert daemon.dockyard("inspect", "-f", "{{.State.ExitCode}}", "ours1").stdout.strip() == "137"
    finally:
        daemon.dockyard("rm", "-f", "ours1", check=False)
    p = daemon.dockyard("rm", "ours1", check=False)
    assert p.returncode == 1 and "No such container: ours1" in p.stderr


def test_image_commands_match_docker(daemon, tmp_path):
    assert daemon.dockyard("tag", "busybox", "ours/box:1").returncode == 0
    try:
        _image_commands(daemon, tmp_path)
    finally:
        daemon.dockyard("rmi", "ours/box:1", check=False)


def _image_commands(daemon, tmp_path):
    ours = daemon.dockyard("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.split("\n")
    theirs = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.split("\n")
    assert sorted(ours) == sorted(theirs)
    assert json.loads(daemon.dockyard("image", "inspect", "ours/box:1").stdout)[0]["RepoTags"]
    hist = daemon.dockyard("history", "busybox").stdout.splitlines()
    assert hist[0].split()[:4] == ["IMAGE", "CREATED", "CREATED", "BY"]
    daemon.dockyard("save", "-o", str(tmp_path / "b.tar"), "ours/box:1")
    assert daemon.dockyard("rmi", "ours/box:1").stdout.strip() == "Untagged: ours/box:1"
    out = daemon.dockyard("load", "-i", str(tmp_path / "b.tar")).stdout
    assert out.strip() == "Loaded image: ours/box:1"
    p = daemon.dockyard("rmi", "nosuch:9", check=False)
    assert p.returncode == 1 and "No such image: nosuch:9" in p.stderr


def test_version_info_df(daemon):
    assert "Server: Dockyard" in daemon.dockyard("version").stdout
    assert "Storage Driver: overlay2" in daemon.dockyard("info").stdout
    df = daemon.dockyard("system", "df").stdout.splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]


def test_cannot_connect_message(daemon, tmp_path):
    p = daemon.dockyard("-H", f"unix://{tmp_path}/nothing.sock", "ps", check=False)
    assert p.returncode == 1
    assert "Cannot connect to the Docker daemon" in p.stderr


def test_stats_matches_docker(daemon):
    cid = daemon.docker("run", "-d", "--name", "busy", "-m", "32m", "busybox", "sh", "-c", "while :; do :; done"
                        ).stdout.strip()
    try:
        ours = daemon.dockyard("stats", "--no-stream", "busy").stdout.splitlines()
        theirs = daemon.docker("stats", "--no-stream", "busy").stdout.splitlines()
        assert ours[0] == theirs[0]  # the same header
        for out in (ours[1], theirs[1]):
            cols = re.split(r"\s{2,}", out)
            assert cols[0] == cid[:12] and cols[1] == "busy"
            assert float(cols[2].rstrip("%")) > 50  # a busy loop on one CPU
            assert cols[3].endswith(" / 32MiB") and cols[-1] == "1"
        fmt = "{{.Name}}: {{.MemUsage}}"
        assert daemon.dockyard("stats", "--no-stream", "--format", fmt, cid).stdout.startswith("busy: ")
        missing = daemon.dockyard("stats", "--no-stream", "nope", check=False)
        assert missing.returncode == 1 and "No such container: nope" in missing.stderr
    finally:
        daemon.docker("rm", "-f", cid)
