"""The docker flags of cp, start, system df, build, the image commands' --platform and network create/connect, in
`dockyard` beside the docker CLI on the same daemon: same output, same exit code, same effect."""
from __future__ import annotations

import json
import os
import re

import pytest


def _docker_noise(stderr: str) -> str:
    """docker's stderr without what is not the command's answer: the legacy builder's banner, its own logs."""
    stderr = re.sub(r"^DEPRECATED: The legacy builder.*?environment-variable\.\n\n", "", stderr, flags=re.S)
    return "".join(line for line in stderr.splitlines(True) if not line.startswith('time="'))


def same(daemon, *argv, table=False, **kw):
    """Both CLIs' (stdout, stderr, exit code), with our program's name spelled as docker's. table: compare
    stdout without trailing blanks (tabwriter's padding after a last empty cell, which dockyard trims)."""
    theirs = daemon.docker(*argv, check=False, **kw)
    ours = daemon.dockyard(*argv, check=False, **kw)

    def out(p):
        return re.sub(r" +\n", "\n", p.stdout) if table else p.stdout
    assert (out(ours), ours.stderr.replace("dockyard", "docker"), ours.returncode) == \
        (out(theirs), _docker_noise(theirs.stderr), theirs.returncode)
    return ours


@pytest.fixture
def box(daemon):
    """A running container with a file owned by 123:456, a symlink to it, a directory and a link to that."""
    name = "cpflags"
    daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                  "mkdir /d && echo hi > /d/f && chown 123:456 /d/f && ln -s /d/f /lnk && ln -s d /dl && "
                  "mkdir /in && sleep 600")
    yield name
    daemon.docker("rm", "-f", name, check=False)


def _tree(root):
    """Every path under root with its type, owner and content: what a copy left on the host."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            kind = "l" if os.path.islink(p) else "d" if os.path.isdir(p) else "f"
            body = open(p).read() if kind == "f" else os.readlink(p) if kind == "l" else ""
            out[os.path.relpath(p, root)] = (kind, st.st_uid, st.st_gid, body)
    return out


def test_cp_from_a_container_follows_links_and_copies_trees_as_docker(daemon, box, tmp_path):
    for cli, where in ((daemon.docker, tmp_path / "docker"), (daemon.dockyard, tmp_path / "ours")):
        where.mkdir()
        cli("cp", "-L", f"{box}:/lnk", str(where / "followed"))  # -L: the file, under the link's name
        cli("cp", f"{box}:/lnk", str(where / "link"))  # without: the link itself
        cli("cp", "-L", f"{box}:/dl", str(where / "dirlink"))
        cli("cp", f"{box}:/d", str(where / "newdir"))  # a directory to a new name
        cli("cp", "-q", f"{box}:/d/f", str(where))
    ours, theirs = _tree(tmp_path / "ours"), _tree(tmp_path / "docker")
    assert ours == theirs
    assert ours["followed"] == ("f", 0, 0, "hi\n")  # the caller's files, not the container's 123:456
    assert ours["newdir/f"] == ours["dirlink/f"] == ("f", 0, 0, "hi\n") and ours["link"][0] == "l"


def test_cp_to_stdout_is_the_daemons_archive(daemon, box):
    theirs = daemon.docker("cp", f"{box}:/d", "-", input=b"").stdout
    assert daemon.dockyard("cp", f"{box}:/d", "-", input=b"").stdout == theirs and b"d/f" in theirs


def test_cp_into_a_container_as_docker(daemon, box, tmp_path):
    src = tmp_path / "up"
    src.write_text("up\n")
    os.chown(src, 77, 88)
    os.symlink("up", tmp_path / "uplink")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "g").write_text("g\n")
    for cli, into in ((daemon.docker, "/in/docker"), (daemon.dockyard, "/in/ours")):
        daemon.docker("exec", box, "mkdir", into)
        cli("cp", "-a", str(src), f"{box}:{into}/")
        cli("cp", "-L", str(tmp_path / "uplink"), f"{box}:{into}/")
        cli("cp", str(tmp_path / "uplink"), f"{box}:{into}/link")
        cli("cp", str(src), f"{box}:{into}/renamed")  # a new name in an existing directory
        cli("cp", str(tmp_path / "tree"), f"{box}:{into}/newtree")
        cli("cp", "-", f"{box}:{into}/", input=open(_tar_of(tmp_path, "up"), "rb").read())
    listing = {}
    for into in ("docker", "ours"):
        out = daemon.docker("exec", box, "sh", "-c", f"cd /in/{into} && find . | sort | while read p; do "
                            "stat -c '%n %F %u:%g' \"$p\"; done").stdout
        listing[into] = out
    assert listing["ours"] == listing["docker"]
    assert "./renamed regular file 77:88" in listing["ours"] and "./uplink regular file" in listing["ours"]
    assert "./newtree/g regular file" in listing["ours"] and "./link symbolic link" in listing["ours"]


def _tar_of(tmp_path, name):
    import tarfile
    path = tmp_path / f"{name}.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(tmp_path / name, arcname=name)
    return path


def test_cp_refusals_are_dockers(daemon, box, tmp_path):
    same(daemon, "cp", "a", "b")
    same(daemon, "cp", f"{box}:/a", f"{box}:/b")
    same(daemon, "cp", "-", f"{box}:/in/nosuch", input="")
    (tmp_path / "f").write_text("x")
    same(daemon, "cp", str(tmp_path / "f"), f"{box}:/in/nodir/")
    same(daemon, "cp", str(tmp_path), f"{box}:/d/f")


def test_start_attach_takes_detach_keys(daemon):
    for cli in (daemon.docker, daemon.dockyard):
        daemon.docker("create", "--name", "dkeys", "busybox", "echo", "hello")
        try:
            p = cli("start", "-a", "--detach-keys", "ctrl-x,x", "dkeys", check=False)
            assert (p.stdout, p.returncode) == ("hello\n", 0)
        finally:
            daemon.docker("rm", "-f", "dkeys")


@pytest.mark.parametrize("fmt", ["{{json .}}", "json", "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}",
                                 "table", "{{.Type}}={{.Size}} {{.Reclaimable}}"])
def test_system_df_format(daemon, fmt):
    out = same(daemon, "system", "df", "--format", fmt).stdout
    if "json" in fmt:
        assert json.loads(out.splitlines()[0])["Type"] == "Images"


def test_build_passes_run_step_flags(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN grep myhost /etc/hosts && df -k /dev/shm | tail -1 && ulimit -n\n")
    flags = ["--no-cache", "--add-host", "myhost:10.1.2.3", "--shm-size", "8m", "--ulimit", "nofile=512:1024",
             "-m", "64m", "--memory-swap", "-1", "--cpu-shares", "512", "--cpu-period", "100000",
             "--cpu-quota", "50000", "--cgroup-parent", "dockyard-test", "--security-opt", "no-new-privileges",
             "--platform", "linux/amd64", "-t", "flagsbuild"]
    outputs = []
    for cli in (daemon.docker, daemon.dockyard):
        out = cli("build", *flags, str(tmp_path)).stdout
        outputs.append([line for line in out.splitlines() if line and not re.match(r" ---> |Removing|Sending|Successfully built", line)])
    assert outputs[1] == outputs[0]
    text = "\n".join(outputs[1])
    assert "10.1.2.3\tmyhost" in text and re.search(r"shm\s+8192\s", text) and "\n512" in text
    daemon.docker("rmi", "flagsbuild")


def test_build_flag_values_are_checked_as_docker(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    same(daemon, "build", "-m", "1x", str(tmp_path))
    same(daemon, "build", "--ulimit", "bogus=1", str(tmp_path))
    same(daemon, "build", "--cpu-shares", "x", str(tmp_path))


@pytest.mark.parametrize("argv", [["history"], ["image", "inspect", "-f", "{{.Id}}"]])
@pytest.mark.parametrize("platform", ["linux/amd64", "linux", "bogus/x/y/z", "a b"])
def test_platform_of_image_commands(daemon, argv, platform):
    same(daemon, *argv, "--platform", platform, "busybox", table=True)


def test_save_and_load_take_a_platform(daemon, tmp_path):
    same(daemon, "save", "--platform", "a/b/c/d", "-o", str(tmp_path / "x.tar"), "busybox")
    daemon.dockyard("save", "--platform", "linux/amd64", "-o", str(tmp_path / "ours.tar"), "busybox")
    out = daemon.dockyard("load", "--platform", "linux/amd64", "-i", str(tmp_path / "ours.tar")).stdout
    assert out == daemon.docker("load", "--platform", "linux/amd64", "-i", str(tmp_path / "ours.tar")).stdout


def _network_view(daemon, name):
    n = json.loads(daemon.docker("network", "inspect", name).stdout)[0]
    return {k: n[k] for k in ("Scope", "EnableIPv4", "EnableIPv6", "ConfigOnly", "ConfigFrom", "Internal")}


def test_network_create_and_connect_flags(daemon, box):
    views = {}
    for cli, tag in ((daemon.docker, "d"), (daemon.dockyard, "o")):
        # --ip6 needs an IPv6 subnet of the user's (moby's ErrUnsupportedNetworkAndIP otherwise)
        cli("network", "create", "--scope", "local", "--ipv4=true", "--ipv6=true", "--subnet", "fd00:dd:5::/64",
            f"flags{tag}")
        cli("network", "connect", "--ip6", "fd00:dd:5::5", "--link-local-ip", "169.254.1.1", "--gw-priority", "5",
            f"flags{tag}", box)
        endpoint = json.loads(daemon.docker("inspect", box).stdout)[0]["NetworkSettings"]["Networks"][f"flags{tag}"]
        views[tag] = (_network_view(daemon, f"flags{tag}"), endpoint["IPAMConfig"], endpoint["GwPriority"])
        cli("network", "disconnect", f"flags{tag}", box)
        cli("network", "rm", f"flags{tag}")
    assert views["o"] == views["d"]
    assert views["o"][1:] == ({"IPv6Address": "fd00:dd:5::5", "LinkLocalIPs": ["169.254.1.1"]}, 5)
    same(daemon, "network", "connect", "--gw-priority", "x", "bridge", box)
