"""Container safety from the audit: cp never writes through a file named as a directory, concurrent start and
rm -f leave nothing running, rejected creates leave nothing behind, a stopped container's rootfs is unmounted,
wrong JSON types in a create are a 400, bad -v modes and --mount fields are refused in moby's words."""
from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from .daemon_harness import DOCKER, wait_for


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def overlay_mounts(d) -> list[str]:
    """Mounts under the data root, but the trash's: a removed container's root goes there still mounted and
    is unmounted in the background (tests/store/test_snapshotter_contract.py shows that it is)."""
    trash = f"{d.data_root}/trash/"
    with open("/proc/mounts") as f:
        return [p for p in (line.split()[1] for line in f) if p.startswith(str(d.data_root)) and not p.startswith(trash)]


def cid_of(d, name: str) -> str:
    return d.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()


def data_dirs(d) -> set[str]:
    out = set()
    for sub in ("containers", "overlay2", "vfs"):
        base = d.data_root / sub
        if base.is_dir():
            out.update(f"{sub}/{n}" for n in os.listdir(base))
    return out


# ----------------------------------------------------------------------------- 1. cp into a file with /
def test_cp_to_file_with_trailing_slash_writes_nothing(daemon, tmp_path):
    name = unique("cpslash")
    daemon.docker("create", "--name", name, "busybox", "true")
    try:
        before = daemon.docker("cp", f"{name}:/etc/passwd", "-").stdout
        src = tmp_path / "text.txt"
        src.write_text("overwritten\n")
        p = daemon.docker("cp", str(src), f"{name}:/etc/passwd/", check=False)
        assert p.returncode != 0
        assert "directory" in p.stderr.lower()
        assert daemon.docker("cp", f"{name}:/etc/passwd", "-").stdout == before
        status, _ = daemon.api("HEAD", f"/containers/{name}/archive?path=/etc/passwd/")
        assert status == 404
        p = daemon.docker("cp", f"{name}:/etc/passwd/x", str(tmp_path / "out"), check=False)
        assert p.returncode != 0
        assert "NotADirectoryError" not in p.stderr and str(daemon.data_root) not in p.stderr
        assert "Could not find the file /etc/passwd/x" in p.stderr
    finally:
        daemon.docker("rm", "-f", name, check=False)


# ----------------------------------------------------------------------------- 2. start racing rm -f
def test_concurrent_start_and_force_remove_leave_nothing_running(daemon):
    env = daemon.env()
    ids = []
    for _ in range(6):
        name = unique("race")
        ids.append(cid_of(daemon, daemon.docker("create", "--name", name, "busybox", "sleep", "300").stdout.strip()))
        start = subprocess.Popen([DOCKER, "start", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rm = subprocess.Popen([DOCKER, "rm", "-f", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start.wait(60)
        rm.wait(60)
        p = daemon.docker("inspect", name, check=False)
        if p.returncode == 0:  # rm -f ran first and start found it... then remove now
            daemon.docker("rm", "-f", name)
    all_ids = daemon.docker("ps", "-aq", "--no-trunc").stdout.split()
    assert not set(ids) & set(all_ids)
    runc = subprocess.run(["runc", "--root", str(daemon.exec_root / "runc"), "list", "-q"],
                          capture_output=True, text=True)
    assert not set(ids) & set(runc.stdout.split()), runc.stdout
    mounts = overlay_mounts(daemon)
    assert not [m for m in mounts if any(i in m for i in ids)], mounts


def test_concurrent_creates_of_one_name_make_one_container_and_conflicts(daemon):
    """The name is held from the create's checks to its saved record (moby's reserveName): the others get
    Docker's Conflict, not a database error, and leave no files behind."""
    name = unique("same-name")
    env = daemon.env()
    creates = [subprocess.Popen([DOCKER, "create", "--name", name, "busybox", "true"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
    results = [(p.wait(60), *p.communicate()) for p in creates]
    made = [out.strip() for code, out, _ in results if code == 0]
    assert len(made) == 1, results
    for code, _, err in results:
        if code:
            assert code == 1 and (f'Conflict. The container name "/{name}" is already in use by container '
                                    f'"{made[0]}"') in err, err
    try:
        assert daemon.docker("ps", "-aq", "--no-trunc", "--filter", f"name=^{name}$").stdout.split() == made
        listed = daemon.docker("ps", "-aq", "--no-trunc").stdout.split()
        assert [d for d in os.listdir(daemon.data_root / "containers") if d not in listed] == []
    finally:
        daemon.docker("rm", made[0])


def test_a_second_force_remove_while_the_first_runs_is_a_conflict(daemon):
    """moby: "removal of container X is already in progress" (409), not a wait ending in No such container."""
    import threading
    answers = []
    for _ in range(5):
        name = unique("rmrace")
        daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "300")
        gate = threading.Barrier(2)

        def remove():
            gate.wait()
            answers.append(daemon.api("DELETE", f"/containers/{name}?force=1"))

        threads = [threading.Thread(target=remove) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert daemon.docker("inspect", name, check=False).returncode != 0
    assert sorted({status for status, _ in answers}) in ([204, 409], [204, 404], [204, 404, 409]), answers
    conflicts = [body["message"] for status, body in answers if status == 409]
    assert conflicts, answers
    assert all(m.startswith("removal of container rmrace-") and m.endswith(" is already in progress")
               for m in conflicts), conflicts


# ----------------------------------------------------------------------------- 3. rejected creates
def test_rejected_mounts_leave_nothing_behind(daemon, tmp_path):
    cases = [
        (["--mount", "type=bind,src=/nodir-" + secrets.token_hex(4) + ",dst=/y"], "bind source path does not exist"),
        (["-v", "bad$vol:/y"], "includes invalid characters for a local volume name"),
        (["-v", "/x:relative"], "must be absolute"),
        (["--mount", "type=bogus,dst=/y"], "mount type unknown"),
        (["-v", f"{tmp_path}:/y:zz"], "invalid mode: zz"),
        (["--mount", "type=bind,dst=/y"], "field Source must not be empty"),
    ]
    for args, message in cases:
        dirs, mounts = data_dirs(daemon), overlay_mounts(daemon)
        for verb in ("create", "run"):
            p = daemon.docker(verb, *args, "busybox", "true", check=False)
            assert p.returncode != 0, args
            assert message in p.stderr, (args, p.stderr)
        assert data_dirs(daemon) == dirs, args
        assert overlay_mounts(daemon) == mounts, args


# ----------------------------------------------------------------------------- 4. unmounted when stopped
def test_stopped_container_rootfs_is_unmounted_and_still_usable(daemon, tmp_path):
    if daemon.docker("info", "-f", "{{.Driver}}").stdout.strip() != "overlay2":
        pytest.skip("the rootfs is an overlay mount only with the overlay2 storage driver")
    name = unique("unmount")
    # The first run waits (its rootfs seen mounted); a second start finds /once and exits at once.
    daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                  "echo hi >> /made; test -e /once || { touch /once; exec sleep 60; }")
    try:
        cid = cid_of(daemon, name)

        def mounted() -> bool:
            return any(cid in m for m in overlay_mounts(daemon))

        assert mounted()  # running: its rootfs is mounted
        daemon.docker("stop", "-t", "0", name)
        wait_for(lambda: not mounted(), what="the stopped container's rootfs to be unmounted")
        assert daemon.docker("cp", f"{name}:/made", "-").returncode == 0
        src = tmp_path / "in.txt"
        src.write_text("in\n")
        daemon.docker("cp", str(src), f"{name}:/in.txt")
        assert "/in.txt" in daemon.docker("diff", name).stdout
        daemon.docker("export", "-o", str(tmp_path / "out.tar"), name)
        assert (tmp_path / "out.tar").stat().st_size > 0
        daemon.docker("commit", name, f"{name}:img")
        assert not mounted()
        daemon.docker("rmi", f"{name}:img")
        daemon.docker("start", "-a", name)  # ran (mounted) and exited
        assert daemon.docker("exec", name, "true", check=False).returncode != 0
        wait_for(lambda: not mounted(), what="the rootfs to be unmounted after the second run")
        assert daemon.docker("cp", f"{name}:/made", "-").stdout.count("hi") == 2
    finally:
        daemon.docker("rm", "-f", name, check=False)


# ----------------------------------------------------------------------------- 5. wrong JSON types
def test_wrong_create_types_are_400_and_not_stored(daemon):
    bad = [
        {"Image": "busybox", "Cmd": [1, 2]},
        {"Image": "busybox", "Cmd": ["true"], "Env": "A=1"},
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Memory": "lots"}},
        [1, 2],
        {"Image": 123, "Cmd": ["true"]},
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": "x"},
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"RestartPolicy": {"Name": "on-failure",
                                                                                "MaximumRetryCount": "abc"}}},
    ]
    before = daemon.docker("ps", "-aq").stdout
    for body in bad:
        status, reply = daemon.api("POST", "/containers/create", body)
        assert status == 400, (body, status, reply)
        assert "json: cannot unmarshal" in reply["message"], reply
    status, reply = daemon.api("POST", "/containers/create", {"Image": "busybox", "Cmd": [1, 2]})
    assert reply["message"] == ("json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd "
                                "of type string")
    assert daemon.docker("ps", "-aq").stdout == before
    # a StrSlice may be a single string, as in Go
    status, reply = daemon.api("POST", "/containers/create", {"Image": "busybox", "Cmd": "true"})
    assert status == 201
    assert json.loads(daemon.docker("inspect", reply["Id"]).stdout)[0]["Config"]["Cmd"] == ["true"]
    daemon.docker("rm", reply["Id"])


def test_wrong_update_types_are_400_and_change_nothing(daemon):
    name = unique("upd")
    daemon.docker("run", "-d", "--name", name, "-m", "64m", "busybox", "sleep", "300")
    try:
        for body, message in [
            ({"Memory": "lots"}, "json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64"),
            ({"CpusetCpus": 1}, "json: cannot unmarshal number into Go struct field UpdateConfig.CpusetCpus of type string"),
            ({"RestartPolicy": "always"}, "json: cannot unmarshal string into Go struct field "
                                          "UpdateConfig.RestartPolicy of type object"),
            ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": "3"}},
             "json: cannot unmarshal string into Go struct field UpdateConfig.RestartPolicy.MaximumRetryCount of type int64"),
            ([1], "json: cannot unmarshal array into Go value of type container.UpdateConfig"),
        ]:
            status, reply = daemon.api("POST", f"/containers/{name}/update", body)
            assert (status, reply["message"]) == (400, message), body
        hc = json.loads(daemon.docker("inspect", name).stdout)[0]["HostConfig"]
        assert hc["Memory"] == 64 * 1024 * 1024 and hc["RestartPolicy"]["Name"] == "no"
        assert daemon.docker("update", "--memory", "32m", name).returncode == 0
    finally:
        daemon.docker("rm", "-f", name)


def test_logs_bad_tail_means_all(daemon):
    name = unique("tail")
    daemon.docker("run", "--name", name, "busybox", "sh", "-c", "echo a; echo b")
    try:
        status, _ = daemon.api("GET", f"/containers/{name}/logs?stdout=1&tail=abc")
        assert status == 200
        assert daemon.docker("logs", "--tail", "abc", name).stdout == "a\nb\n"
    finally:
        daemon.docker("rm", name)
