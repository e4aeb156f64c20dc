"""Volumes (the local driver's options, --mount volume options) and `docker update`'s checks, as a Docker user
meets them with the real docker CLI: what is mounted, what is refused (in moby's words) and what is left."""
from __future__ import annotations

import json
import os
import subprocess

from dockyard.daemon.platform_checks import _available_cpus, parse_uint_list
from dockyard.runtime import sysinfo
from .daemon_harness import tar_bytes


def inspect(d, ref: str) -> dict:
    return json.loads(d.docker("inspect", ref).stdout)[0]


# ---------------------------------------------------------------- docker update
def test_update_runs_the_create_checks_and_changes_nothing_when_one_fails(daemon):
    cpus = _available_cpus()
    missing_cpu = max(parse_uint_list(cpus)) + 1
    cid = daemon.docker("run", "-d", "--name", "audit-upd", "--cpuset-cpus", "0", "--blkio-weight", "300",
                        "busybox", "sleep", "300").stdout.strip()
    try:
        cases = [
            (["--cpuset-cpus", str(missing_cpu)],
             f"Requested CPUs are not available - requested {missing_cpu}, available: {cpus}"),
            (["--cpuset-cpus", "1-0"], "Invalid value 1-0 for cpuset cpus: invalid format: 1-0"),
            (["--cpuset-mems", "63"], "Requested memory nodes are not available - requested 63, available: "),
            (["--cpu-shares", "-5"], "invalid CPU shares (-5): value must be a positive integer"),
        ]
        if sysinfo.host().blkio_weight:  # else moby drops any weight with a warning before checking its range
            cases.append((["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"))
        for flags, message in cases:
            bad = daemon.docker("update", *flags, "audit-upd", check=False)
            assert bad.returncode == 1, (flags, bad.stderr)
            assert f"Error response from daemon: {message}" in bad.stderr, (flags, bad.stderr)
        hc = inspect(daemon, cid)["HostConfig"]
        kept = 300 if sysinfo.host().blkio_weight else 0  # a kernel without blkio.weight: discarded at create
        assert (hc["CpusetCpus"], hc["CpusetMems"], hc["BlkioWeight"], hc["CpuShares"]) == ("0", "", kept, 0)
        assert inspect(daemon, cid)["State"]["Running"]
        out = daemon.docker("update", "--blkio-weight", "400", "audit-upd").stdout.splitlines()
        assert out[0] == "audit-upd"
        if not kept:  # the CLI prints the daemon's warnings after the name
            assert out[1:] == ["Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                               "Weight discarded."]
        assert inspect(daemon, cid)["HostConfig"]["BlkioWeight"] == (400 if kept else 0)
    finally:
        daemon.docker("rm", "-f", cid, check=False)


# ---------------------------------------------------------------- local driver options
def mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def volume_names(d) -> set[str]:
    return set(d.docker("volume", "ls", "-q").stdout.split())


def test_volume_create_refuses_unknown_and_incomplete_options_in_mobys_words(daemon):
    cases = [
        (["-o", "foo=bar"], 'invalid option: "foo"'),
        (["-o", "type=tmpfs"], 'missing required option: "device"'),
        (["-o", "device=tmpfs"], 'missing required option: "type"'),
        (["-o", "o=size=1m", "-o", "device=tmpfs"], 'missing required option: "type"'),
        (["-o", "size=10m"], "quota size requested but no quota support"),
        (["-o", "size=lots"], "invalid size: 'lots'"),
        (["-o", "type=nfs", "-o", "device=:/export", "-o", "o=addr=127.0.0.1"], 'volume type "nfs" is not supported'),
    ]
    for i, (opts, message) in enumerate(cases):
        bad = daemon.docker("volume", "create", *opts, f"audit-badopt{i}", check=False)
        assert bad.returncode == 1, (opts, bad.stderr)
        assert f"Error response from daemon: create audit-badopt{i}: {message}" in bad.stderr, (opts, bad.stderr)
    assert not any(n.startswith("audit-badopt") for n in volume_names(daemon))  # nothing was created


def test_tmpfs_volume_is_mounted_while_used_and_its_files_go_with_the_last_user(daemon):
    daemon.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=10m,uid=1000",
                  "audit-tmpfsvol")
    vol = json.loads(daemon.docker("volume", "inspect", "audit-tmpfsvol").stdout)[0]
    data = vol["Mountpoint"]
    assert vol["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=10m,uid=1000"}
    try:
        one = daemon.docker("run", "-d", "-v", "audit-tmpfsvol:/data", "busybox", "sh", "-c",
                            "echo kept > /data/f; sleep 300").stdout.strip()
        two = daemon.docker("run", "-d", "--mount", "type=volume,src=audit-tmpfsvol,dst=/data", "busybox",
                            "sleep", "300").stdout.strip()
        line = daemon.docker("exec", two, "grep", " /data ", "/proc/mounts").stdout
        assert line.startswith("tmpfs /data tmpfs ") and "size=10240k" in line and "uid=1000" in line, line
        assert mounted(data)
        assert daemon.docker("exec", two, "cat", "/data/f").stdout == "kept\n"  # one tmpfs, shared
        daemon.docker("rm", "-f", one)
        assert mounted(data)  # the other container still uses it
        assert daemon.docker("exec", two, "cat", "/data/f").stdout == "kept\n"
        daemon.docker("rm", "-f", two)
        assert not mounted(data)
        out = daemon.docker("run", "--rm", "-v", "audit-tmpfsvol:/data", "busybox", "ls", "-A", "/data").stdout
        assert out == ""  # a new tmpfs: the files went with the last user, as in Docker
        assert not mounted(data)
    finally:
        daemon.docker("volume", "rm", "-f", "audit-tmpfsvol", check=False)
    assert not mounted(data)
    assert "audit-tmpfsvol" not in volume_names(daemon)


def test_bind_volume_shows_the_host_directory_and_removing_it_keeps_the_files(daemon, tmp_path):
    host = tmp_path / "shared"
    host.mkdir()
    (host / "from-host").write_text("hello\n")
    daemon.docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={host}", "audit-bindvol")
    data = json.loads(daemon.docker("volume", "inspect", "audit-bindvol").stdout)[0]["Mountpoint"]
    try:
        out = daemon.docker("run", "--rm", "-v", "audit-bindvol:/data", "busybox", "sh", "-c",
                            "cat /data/from-host; echo back > /data/from-container").stdout
        assert out == "hello\n"
        assert (host / "from-container").read_text() == "back\n"
        assert not mounted(data)
    finally:
        daemon.docker("volume", "rm", "audit-bindvol", check=False)
    assert sorted(os.listdir(host)) == ["from-container", "from-host"]  # the host's files stay
    assert not mounted(data)


def test_a_volume_whose_device_cannot_be_mounted_fails_the_start_in_mobys_words(daemon, tmp_path):
    missing = tmp_path / "not-there"
    daemon.docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={missing}", "audit-novol")
    data = json.loads(daemon.docker("volume", "inspect", "audit-novol").stdout)[0]["Mountpoint"]
    try:
        bad = daemon.docker("run", "--name", "audit-novol-c", "-v", "audit-novol:/data", "busybox", "true",
                            check=False)
        assert bad.returncode == 127, bad.stderr  # the docker CLI's code for "no such file or directory"
        assert (f"Error response from daemon: error while mounting volume '{data}': failed to mount local volume: "
                f"mount {missing}:{data}, flags: 0x1000: no such file or directory") in bad.stderr
        assert not mounted(data)
    finally:
        daemon.docker("rm", "-f", "audit-novol-c", check=False)
        daemon.docker("volume", "rm", "audit-novol", check=False)


# ---------------------------------------------------------------- --mount volume options
def test_mount_volume_opts_create_a_tmpfs_volume_on_the_fly(daemon):
    try:
        out = daemon.docker("run", "--rm", "--mount", "type=volume,src=audit-mountopt,dst=/data,"
                            "volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=5m",
                            "busybox", "grep", " /data ", "/proc/mounts").stdout
        assert out.startswith("tmpfs /data tmpfs ") and "size=5120k" in out, out
        vol = json.loads(daemon.docker("volume", "inspect", "audit-mountopt").stdout)[0]
        assert vol["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=5m"}
        assert not mounted(vol["Mountpoint"])
        bad = daemon.docker("run", "--rm", "--mount", "type=volume,src=audit-mountbad,dst=/data,volume-opt=foo=1",
                            "busybox", "true", check=False)
        assert bad.returncode == 125
        assert 'Error response from daemon: create audit-mountbad: invalid option: "foo"' in bad.stderr
    finally:
        daemon.docker("volume", "rm", "audit-mountopt", check=False)
    assert "audit-mountbad" not in volume_names(daemon)


def test_mount_volume_subpath_mounts_a_directory_of_the_volume(daemon):
    daemon.docker("run", "--rm", "-v", "audit-subvol:/v", "busybox", "sh", "-c",
                  "mkdir -p /v/sub/deeper && echo inner > /v/sub/deeper/f && echo outer > /v/top")
    data = json.loads(daemon.docker("volume", "inspect", "audit-subvol").stdout)[0]["Mountpoint"]
    try:
        out = daemon.docker("run", "--rm", "--mount", "type=volume,src=audit-subvol,dst=/data,volume-subpath=sub",
                            "busybox", "sh", "-c", "ls /data; cat /data/deeper/f").stdout
        assert out == "deeper\ninner\n"
        cid = daemon.docker("create", "--mount", "type=volume,src=audit-subvol,dst=/data,volume-subpath=sub",
                            "busybox", "true").stdout.strip()
        daemon.docker("cp", "-", f"{cid}:/data", input=tar_bytes({"copied": b"in sub\n"}))
        assert daemon.docker("cp", f"{cid}:/data/deeper/f", "-").returncode == 0  # cp sees the subdirectory
        daemon.docker("rm", cid)
        out = daemon.docker("run", "--rm", "-v", "audit-subvol:/v", "busybox", "cat", "/v/sub/copied").stdout
        assert out == "in sub\n"
        missing = daemon.docker("run", "--rm", "--mount",
                                "type=volume,src=audit-subvol,dst=/data,volume-subpath=nope", "busybox", "true",
                                check=False)
        assert missing.returncode == 127, missing.stderr
        assert f"Error response from daemon: cannot access path {data}/nope: no such file or directory" \
            in missing.stderr
        daemon.docker("run", "--rm", "-v", "audit-subvol:/v", "busybox", "ln", "-s", "/etc", "/v/link")
        link = daemon.docker("run", "--rm", "--mount",
                             "type=volume,src=audit-subvol,dst=/data,volume-subpath=link", "busybox", "true",
                             check=False)
        assert f"Error response from daemon: cannot access path {data}/link: too many levels of symbolic links" \
            in link.stderr  # a symlink could lead out of the volume: refused, as moby's safepath does
    finally:
        daemon.docker("volume", "rm", "audit-subvol", check=False)


def test_volume_nocopy_leaves_a_new_volume_empty(daemon):
    try:
        copied = daemon.docker("run", "--rm", "--mount", "type=volume,src=audit-copy,dst=/etc", "busybox",
                               "ls", "/etc").stdout.split()
        assert "passwd" in copied  # a new volume starts with the image's files...
        for mount in (["--mount", "type=volume,src=audit-nocopy1,dst=/etc,volume-nocopy"],
                      ["-v", "audit-nocopy2:/etc:nocopy"]):
            out = daemon.docker("run", "--rm", *mount, "busybox", "ls", "-A", "/etc").stdout
            assert out == "", (mount, out)  # ...unless told not to copy them
    finally:
        daemon.docker("volume", "rm", "audit-copy", "audit-nocopy1", "audit-nocopy2", check=False)


def test_mount_checks_of_volume_options_refuse_at_create_in_mobys_words(daemon):
    prefix = 'Error response from daemon: invalid mount config for type "volume": '
    cases = [
        ("type=volume,src=audit-chk,dst=/data,volume-subpath=sub/../..",
         "subpath must be a relative path within the volume"),
        ("type=volume,src=audit-chk,dst=/data,volume-subpath=/abs", "subpath must be a relative path within the volume"),
        ("type=volume,dst=/data,volume-subpath=sub", "must not set Subpath when using anonymous volumes"),
        ("type=volume,dst=/data,readonly", "must not set ReadOnly mode when using anonymous volumes"),
    ]
    for spec, message in cases:
        bad = daemon.docker("create", "--name", "audit-chk-c", "--mount", spec, "busybox", "true", check=False)
        assert bad.returncode == 1, (spec, bad.stderr)
        assert prefix + message in bad.stderr, (spec, bad.stderr)
    status, reply = daemon.api("POST", "/containers/create?name=audit-chk-c", {
        "Image": "busybox", "Cmd": ["true"], "HostConfig": {"Mounts": [
            {"Type": "volume", "Source": "audit-chk", "Target": "/data", "BindOptions": {"Propagation": "shared"}}]}})
    assert (status, reply["message"]) == (400, 'invalid mount config for type "volume": field BindOptions must '
                                                'not be specified')
    status, reply = daemon.api("POST", "/containers/create?name=audit-chk-c", {
        "Image": "busybox", "Cmd": ["true"], "HostConfig": {"Mounts": [
            {"Type": "volume", "Source": "audit-chk", "Target": "/"}]}})
    assert (status, reply["message"]) == (400, 'invalid mount config for type "volume": invalid specification: '
                                                "destination can't be '/'")
    assert daemon.docker("ps", "-a", "-q", "--filter", "name=audit-chk-c").stdout == ""
    assert "audit-chk" not in volume_names(daemon)


# ---------------------------------------------------------------- bind propagation
def host_propagation(path) -> tuple[str, str]:
    target, propagation = subprocess.run(["findmnt", "-n", "-o", "TARGET,PROPAGATION", "--target", str(path)],
                                         capture_output=True, text=True, check=True).stdout.split()
    return target, propagation


def test_bind_propagation_is_what_was_asked_and_checked_against_the_host_mount(daemon, tmp_path):
    src = tmp_path / "prop"
    src.mkdir()
    cid = daemon.docker("create", "--mount", f"type=bind,src={src},dst=/h,bind-propagation=private",
                        "-v", f"{src}:/v:ro,rprivate", "busybox", "true").stdout.strip()
    points = {m["Destination"]: m for m in inspect(daemon, cid)["Mounts"]}
    assert (points["/h"]["Propagation"], points["/v"]["Propagation"], points["/v"]["Mode"]) == \
        ("private", "rprivate", "ro,rprivate")
    assert daemon.docker("start", "-a", cid).returncode == 0
    daemon.docker("rm", cid)
    bad = daemon.docker("create", "--mount", f"type=bind,src={src},dst=/h,bind-propagation=bogus", "busybox",
                        "true", check=False)
    assert 'invalid mount config for type "bind": invalid propagation mode: bogus' in bad.stderr, bad.stderr
    target, propagation = host_propagation(src)
    run = daemon.docker("run", "--rm", "-v", f"{src}:/s:rslave", "busybox", "grep", " /s ", "/proc/self/mountinfo",
                        check=False)
    if "shared" in propagation or "slave" in propagation:
        assert run.returncode == 0 and "master:" in run.stdout, run
    else:  # moby refuses what cannot propagate rather than quietly making it private
        assert run.returncode == 125, run.stderr
        assert (f"Error response from daemon: path {src} is mounted on {target} but it is not a shared or slave "
                f"mount") in run.stderr
