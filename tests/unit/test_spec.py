"""The OCI spec builder: Docker's defaults and the create options that change them."""
import pytest

from dockyard.errors import InvalidParameter
from dockyard.runtime import spec as S


@pytest.fixture
def rootfs(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
                                             "app:x:1000:1000::/home/app:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\napp:x:1000:\nwheel:x:10:app\n")
    return str(tmp_path)


def build(rootfs, config=None, host_config=None):
    config = {"Cmd": ["sh"], **(config or {})}
    return S.build_spec(image_config={}, config=config, host_config=host_config or {}, rootfs=rootfs,
                        hostname="abc123", container_id="c" * 64)


def test_defaults_match_docker(rootfs):
    spec = build(rootfs)
    p = spec["process"]
    assert p["args"] == ["sh"] and p["cwd"] == "/" and p["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert p["env"][:2] == [f"PATH={S.DEFAULT_PATH}", "HOSTNAME=abc123"]
    assert sorted(p["capabilities"]["bounding"]) == sorted(S.DEFAULT_CAPS)
    assert "rlimits" not in p  # inherit the host's: raising them fails in this sandbox
    kinds = {n["type"] for n in spec["linux"]["namespaces"]}
    assert kinds == {"mount", "pid", "ipc", "uts", "cgroup", "network"}
    assert spec["linux"]["cgroupsPath"] == "/dockyard/" + "c" * 64
    assert "/proc/kcore" in spec["linux"]["maskedPaths"] and "/proc/sys" in spec["linux"]["readonlyPaths"]
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    shm = next(m for m in spec["mounts"] if m["destination"] == "/dev/shm")
    assert "size=67108864" in shm["options"]


def test_entrypoint_env_workdir_tty(rootfs):
    spec = build(rootfs, {"Entrypoint": ["/bin/echo"], "Cmd": ["hi"], "Env": ["PATH=/x", "A=1"], "WorkingDir": "/tmp",
                          "Tty": True})
    p = spec["process"]
    assert p["args"] == ["/bin/echo", "hi"]
    assert "PATH=/x" in p["env"] and f"PATH={S.DEFAULT_PATH}" not in p["env"]
    assert "TERM=xterm" in p["env"] and "A=1" in p["env"]
    assert p["cwd"] == "/tmp" and p["terminal"] is True


@pytest.mark.parametrize("user,expected", [
    ("nobody", {"uid": 65534, "gid": 65534, "additionalGids": [65534]}),
    ("1000", {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}),
    ("app", {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}),
    ("4242", {"uid": 4242, "gid": 0, "additionalGids": [0]}),
    ("app:nogroup", {"uid": 1000, "gid": 65534, "additionalGids": [65534]}),
    ("5:7", {"uid": 5, "gid": 7, "additionalGids": [7]}),
])
def test_user_resolution(rootfs, user, expected):
    assert S.resolve_user(rootfs, user) == expected


def test_unknown_user_and_group_errors(rootfs):
    with pytest.raises(InvalidParameter, match="unable to find user ghost: no matching entries in passwd file"):
        S.resolve_user(rootfs, "ghost")
    with pytest.raises(InvalidParameter, match="unable to find group ghosts: no matching entries in group file"):
        S.resolve_user(rootfs, "app:ghosts")


def test_cap_add_drop_and_privileged(rootfs):
    caps = build(rootfs, host_config={"CapAdd": ["NET_ADMIN"], "CapDrop": ["chown"]})["process"]["capabilities"]
    assert "CAP_NET_ADMIN" in caps["bounding"] and "CAP_CHOWN" not in caps["bounding"]
    none = build(rootfs, host_config={"CapDrop": ["ALL"]})["process"]["capabilities"]["bounding"]
    assert none == []
    priv = build(rootfs, host_config={"Privileged": True})
    assert priv["process"]["capabilities"]["bounding"] == S.bounding_caps()  # exactly what the host allows
    assert "seccomp" not in priv["linux"] and priv["linux"]["maskedPaths"] == []
    with pytest.raises(InvalidParameter, match="invalid capability"):
        build(rootfs, host_config={"CapAdd": ["MAKE_COFFEE"]})


def test_seccomp_follows_capabilities(rootfs):
    def allowed(caps):
        prof = S.seccomp_profile(caps)
        return {n for r in prof["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert "reboot" not in allowed(S.DEFAULT_CAPS)
    assert "reboot" in allowed(S.DEFAULT_CAPS + ["CAP_SYS_BOOT"])
    assert "read" in allowed(S.DEFAULT_CAPS)


def test_host_modes_resources_and_init(rootfs, monkeypatch):
    spec = build(rootfs, host_config={"NetworkMode": "host", "PidMode": "host", "Memory": 1 << 20, "NanoCpus": 5 * 10**8,
                                      "PidsLimit": 10})
    kinds = {n["type"] for n in spec["linux"]["namespaces"]}
    assert "network" not in kinds and "pid" not in kinds and "hostname" not in spec
    res = spec["linux"]["resources"]
    assert res["memory"]["limit"] == 1 << 20 and res["cpu"] == {"period": 100000, "quota": 50000}
    assert res["pids"] == {"limit": 10}
    monkeypatch.setattr(S, "_init_binary", lambda: "/usr/bin/tini-static")
    init = build(rootfs, host_config={"Init": True})
    assert init["process"]["args"] == ["/sbin/docker-init", "--", "sh"]


def test_exec_process_inherits_and_overrides(rootfs):
    bundle = build(rootfs, {"Env": ["A=1"], "WorkingDir": "/srv"})
    proc = S.exec_process(bundle, {"Cmd": ["ps"], "Env": ["B=2"], "User": "nobody", "Tty": True}, rootfs)
    assert proc["args"] == ["ps"] and proc["cwd"] == "/srv"
    assert "A=1" in proc["env"] and "B=2" in proc["env"] and "TERM=xterm" in proc["env"]
    assert proc["user"] == {"uid": 65534, "gid": 65534, "additionalGids": [65534]} and proc["terminal"] is True


def test_ulimits_and_devices(rootfs):
    spec = build(rootfs, host_config={"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
                                      "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                                   "CgroupPermissions": "rw"}]})
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}]
    assert spec["linux"]["devices"] == [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                         "fileMode": 0o666, "uid": 0, "gid": 0}]
    assert spec["linux"]["resources"]["devices"][-1] == {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                         "access": "rw"}
    with pytest.raises(InvalidParameter, match='custom device "/dev/nope": no such file or directory'):
        build(rootfs, host_config={"Devices": [{"PathOnHost": "/dev/nope"}]})
    with pytest.raises(InvalidParameter, match="not a device node"):
        build(rootfs, host_config={"Devices": [{"PathOnHost": "/etc/passwd"}]})
    privileged = build(rootfs, host_config={"Privileged": True})
    assert {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0} \
        in privileged["linux"]["devices"]
