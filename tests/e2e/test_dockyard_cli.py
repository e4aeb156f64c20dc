"""Our `dockyard` CLI beside the real docker CLI: same daemon, same answers, same exit codes."""
from __future__ import annotations

import json
import os
import re
import time


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


def _without_times(text: str) -> str:
    """Relative times may tick between two commands, and move the tabwriter padding with them."""
    text = re.sub(r"(Less than a second|About a minute|About an hour|\d+ \w+)( ago)?", "T", text)
    return "\n".join(re.sub(r" {2,}", "  ", line.rstrip()) for line in text.splitlines())


def test_system_df_matches_docker(daemon):
    """Our `system df` (and -v) prints what docker prints for the same daemon: counts, the active ones
    (running containers, volumes in use), reclaimable sizes with their share."""
    daemon.docker("volume", "create", "dfkept")
    daemon.docker("volume", "create", "dfspare")
    daemon.docker("create", "--name", "dfcreated", "busybox", "true")
    daemon.docker("run", "-d", "--name", "dfrunning", "-v", "dfkept:/data", "busybox", "sh", "-c",
                  "echo hi > /data/f; dd if=/dev/zero of=/big bs=1k count=300 2>/dev/null; sleep 600")
    try:
        for args in (["system", "df"], ["system", "df", "-v"]):
            ours = daemon.dockyard(*args).stdout
            assert _without_times(ours) == _without_times(daemon.docker(*args).stdout)
        summary = daemon.dockyard("system", "df").stdout
        assert re.search(r"^Local Volumes\s+\d+\s+\d+\s+\S+\s+\S+ \(\d+%\)$", summary, re.M)
        assert "dfrunning" in daemon.dockyard("system", "df", "-v").stdout
    finally:
        daemon.docker("rm", "-f", "dfcreated", "dfrunning")
        daemon.docker("volume", "rm", "dfkept", "dfspare")


def test_top_start_rename_match_docker(daemon):
    """top's wide columns and ps options, and the closing error lines docker prints for start and rename."""
    daemon.docker("run", "-d", "--name", "topper", "busybox", "sleep", "600")
    try:
        # (ps's C column moves between two samples: compare the default table's header only)
        assert daemon.dockyard("top", "topper").stdout.splitlines()[0] == \
            daemon.docker("top", "topper").stdout.splitlines()[0]
        args = ["top", "topper", "-o", "pid,args"]
        assert daemon.dockyard(*args).stdout == daemon.docker(*args).stdout
        assert "sleep 600" in daemon.dockyard("top", "topper", "-o", "pid,args").stdout
        for args in (["start", "nosuch1", "nosuch2"], ["rename", "nosuch1", "x"]):
            ours, theirs = daemon.dockyard(*args, check=False), daemon.docker(*args, check=False)
            assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
        assert daemon.dockyard("start", "nosuch1", "nosuch2", check=False).stderr.endswith(
            "Error: failed to start containers: nosuch1, nosuch2\n")
    finally:
        daemon.docker("rm", "-f", "topper")


def test_list_formats_match_docker(daemon):
    """`--format json`, `{{json .}}`, bare `table` and fields the daemon must be asked for (.Size) give what
    docker prints: each row's display fields, not the API object."""
    daemon.docker("volume", "create", "fmtvol")
    daemon.docker("network", "create", "fmtnet")
    daemon.docker("run", "-d", "--name", "fmtrun", "-v", "fmtvol:/data", "busybox", "sh", "-c",
                  "echo '<&>' > /data/f; sleep 600")
    try:
        for args in (["ps", "--format", "json"], ["ps", "-a", "--format", "{{json .}}"],
                     ["ps", "--format", "{{.Names}} {{.Size}} {{.Mounts}} {{.LocalVolumes}}"],
                     ["ps", "--format", "table"], ["images", "--format", "json"], ["images", "--format", "table"],
                     ["volume", "ls", "--format", "json"], ["network", "ls", "--format", "json"],
                     ["history", "--format", "json", "busybox"], ["history", "-H=false", "busybox"]):
            assert _without_times(daemon.dockyard(*args).stdout) == _without_times(daemon.docker(*args).stdout)
        row = json.loads(daemon.dockyard("ps", "--format", "json", "--filter", "name=fmtrun").stdout)
        assert row["Names"] == "fmtrun" and row["Mounts"] == "fmtvol" and row["LocalVolumes"] == "1"
        assert re.fullmatch(r"\S+ \(virtual \S+\)", daemon.dockyard("ps", "--format", "{{.Size}}", "--filter",
                                                                   "name=fmtrun").stdout.strip())
        # Go's boolean flag spellings: -d=false runs in the foreground, the command keeps its own -e=x
        assert daemon.dockyard("run", "-d=false", "--rm", "busybox", "echo", "-e=x").stdout == "-e=x\n"
    finally:
        daemon.docker("rm", "-f", "fmtrun")
        daemon.docker("network", "rm", "fmtnet")
        daemon.docker("volume", "rm", "fmtvol")


def test_failures_match_docker(daemon, tmp_path):
    """What goes wrong prints docker's lines (ours say dockyard where docker says docker) and exit codes, and a
    missing file is an error line, not a traceback."""
    missing = str(tmp_path / "missing")
    for args in (["image", "inspect", "nosuch"], ["container", "inspect", "nosuch"],
                 ["inspect", "--type", "volume", "nosuch"], ["inspect", "nosuch", "busybox"],
                 ["save", "-o", f"{missing}/x.tar", "busybox"], ["load", "-i", missing], ["import", missing],
                 ["run", "--env-file", missing, "busybox", "true"], ["run", "--rm", "busybox", "nosuchbin"],
                 ["login", "--password-stdin", "127.0.0.1:1"], ["login", "-u", "me", "127.0.0.1:1"]):
        ours = daemon.dockyard(*args, check=False, input="")
        theirs = daemon.docker(*args, check=False, input="")
        assert "Traceback" not in ours.stderr
        assert (ours.returncode, ours.stdout, ours.stderr.replace("dockyard", "docker")) == \
            (theirs.returncode, theirs.stdout, theirs.stderr), args


def test_env_files_and_event_json_match_docker(daemon, tmp_path):
    """--env-file for exec as for run (docker's parsing: untrimmed values, pass-through names, bad names
    refused), and `events --format json` objects key for key."""
    good, bad = tmp_path / "good.env", tmp_path / "bad.env"
    good.write_text("A=1 \n  B=x=y\n# comment\n\nHOME\nNOT_SET_ANYWHERE\n")
    bad.write_text("A B=1\n")
    daemon.docker("run", "-d", "--name", "envs", "busybox", "sleep", "600")
    try:
        for args in (["exec", "--env-file", str(good), "-e", "C=3", "envs", "env"],
                     ["exec", "--env-file", str(bad), "envs", "env"],
                     ["run", "--rm", "--env-file", str(bad), "busybox", "true"]):
            ours, theirs = daemon.dockyard(*args, check=False), daemon.docker(*args, check=False)
            assert (ours.returncode, ours.stdout, ours.stderr.replace("dockyard", "docker")) == \
                (theirs.returncode, theirs.stdout, theirs.stderr), args
        env = daemon.dockyard("exec", "--env-file", str(good), "envs", "env").stdout.splitlines()
        assert "A=1 " in env and "B=x=y" in env and "NOT_SET_ANYWHERE" not in "".join(env)
        time.sleep(1)  # --until is whole seconds on the CLI's clock
        args = ["events", "--since", "1m", "--until", "0s", "--format", "json", "--filter", "container=envs"]
        ours = daemon.dockyard(*args).stdout
        assert ours == daemon.docker(*args).stdout and '"Action":"exec_die"' in ours
    finally:
        daemon.docker("rm", "-f", "envs")


def _build_lines(text: str) -> list[str]:
    """A classic build's output without what differs run to run (container IDs) or is the docker CLI's own
    (the legacy-builder banner, progress carriage returns)."""
    banner = ("DEPRECATED:", "Install the buildx", "https://docs.docker.com/go/buildx", "BuildKit is currently",
              "environment-variable")
    lines = [line.replace("\r", "").rstrip() for line in text.splitlines()]
    return [line for line in lines if line and not line.lstrip().startswith(banner)
            and not line.startswith((" ---> Running in", "Removing intermediate"))]


def test_build_output_matches_docker(own_objects, daemon, tmp_path):
    """The context line (the same tar size), a missing Dockerfile, a refused request, and -q's held-back
    steps on stderr when a step fails."""
    (tmp_path / "f").write_text("hi\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY f /f\n")
    (tmp_path / "bad.Dockerfile").write_text("FROM busybox\nRUN echo out; exit 3\n")
    try:
        for args in (["build", "--no-cache", "-t", "ctxsize", str(tmp_path)],
                     ["build", "-f", str(tmp_path / "nosuch"), str(tmp_path)],
                     ["build", "--target", "nosuch", str(tmp_path)],
                     ["build", "-q", "-f", str(tmp_path / "bad.Dockerfile"), str(tmp_path)]):
            ours, theirs = daemon.dockyard(*args, check=False), daemon.docker(*args, check=False)
            assert ours.returncode == theirs.returncode, args
            for mine, reference in ((ours.stdout, theirs.stdout), (ours.stderr, theirs.stderr)):
                mine, reference = re.sub(r"[0-9a-f]{12}", "ID", mine), re.sub(r"[0-9a-f]{12}", "ID", reference)
                assert _build_lines(mine.replace("dockyard", "docker")) == _build_lines(reference), args
        sending = daemon.dockyard("build", "-t", "ctxsize", str(tmp_path)).stdout.splitlines()[0]
        assert sending == "Sending build context to Docker daemon  4.096kB"  # 3 files of a block each + end
    finally:  # the daemon is shared: leave its images as they were
        daemon.docker("rmi", "-f", "ctxsize", check=False)


def test_volume_and_network_lists_in_dockers_natural_order(daemon):
    names = ["nat10", "nat9", "nat1", "nat09"]
    for name in names:
        daemon.docker("volume", "create", name)
        daemon.docker("network", "create", name)
    try:
        for kind in ("volume", "network"):
            args = [kind, "ls", "-q" if kind == "volume" else "--format={{.Name}}", "--filter", "name=nat"]
            ours = daemon.dockyard(*args).stdout
            assert ours == daemon.docker(*args).stdout == "nat1\nnat9\nnat09\nnat10\n"
    finally:
        daemon.docker("volume", "rm", *names)
        daemon.docker("network", "rm", *names)


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
        # the same header (its padding follows the values, which move between the two samples)
        assert re.split(r"\s{2,}", ours[0]) == re.split(r"\s{2,}", theirs[0])
        for out in (ours[1], theirs[1]):
            cols = re.split(r"\s{2,}", out)
            assert cols[0] == cid[:12] and cols[1] == "busy"
            # a busy loop uses CPU: how much depends on the machine's load, so only that it shows (at most every CPU)
            assert 0 < float(cols[2].rstrip("%")) <= 100 * (os.cpu_count() or 1)
            assert cols[3].endswith(" / 32MiB") and cols[-1] == "1"
        fmt = "{{.Name}}: {{.MemUsage}}"
        assert daemon.dockyard("stats", "--no-stream", "--format", fmt, cid).stdout.startswith("busy: ")
        missing = daemon.dockyard("stats", "--no-stream", "nope", check=False)
        assert missing.returncode == 1 and "No such container: nope" in missing.stderr
    finally:
        daemon.docker("rm", "-f", cid)


def test_volume_commands_match_docker(daemon):
    assert daemon.dockyard("volume", "create", "--label", "team=a", "clivol").stdout == "clivol\n"
    try:
        ours = daemon.dockyard("volume", "ls", "--filter", "label=team=a").stdout
        theirs = daemon.docker("volume", "ls", "--filter", "label=team=a").stdout
        assert ours == theirs and "clivol" in ours
        ours = daemon.dockyard("volume", "inspect", "clivol").stdout
        assert ours == daemon.docker("volume", "inspect", "clivol").stdout  # same keys, in the same order
        info = json.loads(ours)[0]
        assert info["Labels"] == {"team": "a"} and info["Driver"] == "local"
        assert daemon.dockyard("volume", "inspect", "-f", "{{.Name}}", "clivol").stdout == "clivol\n"
        missing = daemon.dockyard("volume", "inspect", "nope", check=False)
        reference = daemon.docker("volume", "inspect", "nope", check=False)
        assert (missing.returncode, missing.stdout, missing.stderr) == \
            (reference.returncode, reference.stdout, reference.stderr) == (1, "[]\n", reference.stderr)
        assert "no such volume" in missing.stderr
        cid = daemon.docker("create", "-v", "clivol:/data", "busybox", "true").stdout.strip()
        busy = daemon.dockyard("volume", "rm", "clivol", check=False)
        assert busy.returncode == 1 and "volume is in use" in busy.stderr
        daemon.docker("rm", cid)
    finally:
        daemon.dockyard("volume", "rm", "clivol", check=False)
    assert "clivol" not in daemon.docker("volume", "ls", "-q").stdout.split()
    label = f"prune-test={os.getpid()}"  # scoped: other tests' volumes on the shared daemon stay
    anon = daemon.docker("volume", "create", "--label", label).stdout.strip()
    out = daemon.dockyard("volume", "prune", "-f", "--filter", f"label={label}").stdout
    assert out.startswith(f"Deleted Volumes:\n{anon}\n\n") and "Total reclaimed space:" in out


def test_update_and_system_prune(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        assert daemon.dockyard("update", "-m", "40m", "--memory-swap", "40m", "--restart", "on-failure:2",
                               cid[:12]).stdout == cid[:12] + "\n"
        hc = json.loads(daemon.docker("inspect", cid).stdout)[0]["HostConfig"]
        assert hc["Memory"] == 40 * 1024 * 1024
        assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        assert daemon.dockyard("update", cid, check=False).returncode == 1  # no flags: refused, as docker does
    finally:
        daemon.docker("rm", "-f", cid)
    label = f"prune-test={os.getpid()}"  # scoped: other tests' objects on the shared daemon stay
    stopped = daemon.docker("create", "--label", label, "busybox", "true").stdout.strip()
    dangling = daemon.docker("import", "--change", f"LABEL {label}", "-", input=_rootfs_tar()).stdout.decode().strip()
    out = daemon.dockyard("system", "prune", "-f", "--filter", f"label={label}").stdout
    assert f"Deleted Containers:\n{stopped}\n\n" in out
    assert f"deleted: {dangling}" in out and out.rstrip().splitlines()[-1].startswith("Total reclaimed space:")
    assert stopped[:12] not in daemon.docker("ps", "-aq").stdout


def _rootfs_tar() -> bytes:
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        data = b"a dangling image's only file\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
