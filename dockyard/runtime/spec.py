"""Building the OCI runtime config.json for a container, with Docker's defaults (moby's oci_linux.go).

Pure functions: the container's (already image-merged) config and HostConfig in, a spec dict out.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import platform
import shutil
import stat
from pathlib import Path

from ..errors import InvalidParameter
from .oci import cgroup_path

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                "CAP_KILL", "CAP_AUDIT_WRITE"]

# Capability numbers (linux/capability.h), to read the bounding set for --privileged.
CAP_NAMES = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
             "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
             "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
             "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
             "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
             "CHECKPOINT_RESTORE"]

MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

DEFAULT_DEVICE_RULES = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},    # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},    # zero
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},    # full
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},    # random
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},    # urandom
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},    # tty
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},    # console
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},    # ptmx
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},              # pts
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},  # tun
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},  # fuse stays off
]

INIT_CANDIDATES = ["/usr/bin/docker-init", "/usr/bin/tini-static", "/usr/bin/tini"]


def bounding_caps() -> list[str]:
    """The capabilities this host lets anyone have: --privileged gets exactly these."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
                return [f"CAP_{n}" for i, n in enumerate(CAP_NAMES) if mask >> i & 1]
    return list(DEFAULT_CAPS)


def _cap_name(c: str) -> str:
    c = c.upper()
    return c if c.startswith("CAP_") else f"CAP_{c}"


def capabilities(host_config: dict) -> list[str]:
    if host_config.get("Privileged"):
        return bounding_caps()
    caps = list(DEFAULT_CAPS)
    add = [_cap_name(c) for c in host_config.get("CapAdd") or []]
    drop = [_cap_name(c) for c in host_config.get("CapDrop") or []]
    if "CAP_ALL" in drop:
        caps = []
    if "CAP_ALL" in add:
        caps = bounding_caps()
    for c in add:
        if c != "CAP_ALL" and c not in caps:
            if c[4:] not in CAP_NAMES:
                raise InvalidParameter(f"invalid capability: {c}")
            caps.append(c)
    allowed = set(bounding_caps())
    return [c for c in caps if c not in drop and c in allowed]


# Go's strconv.ParseBool, which moby uses for the values of boolean security options
_GO_BOOLS = {**dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
             **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False)}


def security_options(opts: list[str]) -> dict:
    """HostConfig.SecurityOpt read as moby's parseSecurityOpt does, with its messages: `no-new-privileges` alone
    or `no-new-privileges=<bool>` (`=true` must turn it on too), `label`, `apparmor`, `seccomp`, the deprecated
    `key:value` form; anything else is refused at create."""
    out = {"no-new-privileges": False, "seccomp": None}
    for opt in opts:
        if opt in ("no-new-privileges", "disable"):
            out["no-new-privileges"] |= opt == "no-new-privileges"
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else None
        if sep is None:
            raise InvalidParameter(f"invalid --security-opt 1: {json.dumps(opt)}")
        key, _, value = opt.partition(sep)
        if key in ("no-new-privileges", "writable-cgroups"):
            if value not in _GO_BOOLS:
                raise InvalidParameter(f"invalid --security-opt 2: {json.dumps(opt)}")
            if key == "no-new-privileges":
                out["no-new-privileges"] = _GO_BOOLS[value]
        elif key == "seccomp":
            out["seccomp"] = value
        elif key not in ("label", "apparmor"):
            raise InvalidParameter(f"invalid --security-opt 2: {json.dumps(opt)}")
    return out


# ---------------------------------------------------------------- users
def _read_db(path: Path) -> list[list[str]]:
    try:
        return [l.split(":") for l in path.read_text().splitlines() if l and not l.startswith("#")]
    except OSError:
        return []


def resolve_user(rootfs: str, user: str, group_add=()) -> dict:
    """`-u` as runc wants it: uid, gid and additional gids, resolved in the image's /etc/passwd and group."""
    passwd = _read_db(Path(rootfs) / "etc" / "passwd")
    groups = _read_db(Path(rootfs) / "etc" / "group")
    name, _, group = (user or "").partition(":")
    uid, gid, username = 0, 0, "root"
    if name:
        entry = next((p for p in passwd if len(p) > 3 and (p[0] == name or (name.isdigit() and p[2] == name))), None)
        if entry is not None:
            username, uid, gid = entry[0], int(entry[2]), int(entry[3])
        elif name.isdigit():
            uid, username = int(name), ""
        else:
            raise InvalidParameter(f"unable to find user {name}: no matching entries in passwd file")
    if group:
        g = next((e for e in groups if len(e) > 2 and (e[0] == group or (group.isdigit() and e[2] == group))), None)
        if g is not None:
            gid = int(g[2])
        elif group.isdigit():
            gid = int(group)
        else:
            raise InvalidParameter(f"unable to find group {group}: no matching entries in group file")
    extra = []
    if username and not group:
        extra = [int(e[2]) for e in groups if len(e) > 3 and username in e[3].split(",") and int(e[2]) != gid]
    for g in group_add:
        found = next((e for e in groups if e[0] == str(g) or (len(e) > 2 and e[2] == str(g))), None)
        if found is None and not str(g).isdigit():
            raise InvalidParameter(f"unable to find group {g}: no matching entries in group file")
        extra.append(int(found[2]) if found else int(g))
    # moby (since containerd's CVE-2023-25173 fix) lists the primary group among the
    # supplementary ones, so `id` shows it in groups= and a process keeps it after a setgid
    return {"uid": uid, "gid": gid, "additionalGids": [gid, *sorted(set(extra) - {gid})]}


def merge_env(base: list[str], extra: list[str]) -> list[str]:
    """moby's ReplaceOrAppendEnvValues: an entry without "=" (`-e VAR` for a VAR the client's environment does
    not have) unsets VAR rather than reaching the runtime, which refuses it."""
    env = list(base)
    for e in extra:
        key = e.split("=", 1)[0]
        env = [x for x in env if x.split("=", 1)[0] != key] + ([e] if "=" in e else [])
    return env


# ---------------------------------------------------------------- seccomp
@functools.lru_cache(maxsize=1)
def _docker_profile() -> dict:
    return json.loads(Path(__file__).with_name("seccomp_default.json").read_text())


def _go_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def seccomp_profile(caps: list[str]) -> dict:
    """Docker's default profile resolved for this architecture and the container's capabilities."""
    profile = _docker_profile()
    arch = _go_arch()
    archs = []
    for entry in profile.get("archMap") or []:
        if entry["architecture"] == {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64"}.get(arch):
            archs = [entry["architecture"], *entry.get("subArchitectures", [])]
    rules = []
    for s in profile["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if exc.get("arches") and arch in exc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        rule = {"names": s["names"], "action": s["action"]}
        if s.get("args"):
            rule["args"] = s["args"]
        if s.get("errnoRet") is not None:
            rule["errnoRet"] = s["errnoRet"]
        rules.append(rule)
    out = {"defaultAction": profile["defaultAction"], "architectures": archs, "syscalls": rules}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return out


# ---------------------------------------------------------------- mounts and resources
def default_mounts(host_config: dict) -> list[dict]:
    privileged = bool(host_config.get("Privileged"))
    shm = int(host_config.get("ShmSize") or 67108864)
    ro = [] if privileged else ["ro"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", *ro]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", *ro]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm}"]},
    ]


def resources(host_config: dict) -> dict:
    res: dict = {"devices": [{"allow": True, "access": "rwm"}] if host_config.get("Privileged")
                 else copy.deepcopy(DEFAULT_DEVICE_RULES)}
    memory = {}
    if host_config.get("Memory"):
        memory["limit"] = int(host_config["Memory"])
        swap = host_config.get("MemorySwap")
        if swap not in (None, 0):
            memory["swap"] = int(swap)
    if host_config.get("MemoryReservation"):
        memory["reservation"] = int(host_config["MemoryReservation"])
    if host_config.get("OomKillDisable"):  # create dropped it (with moby's warning) where the kernel lacks it
        memory["disableOOMKiller"] = True
    if memory:
        res["memory"] = memory
    cpu = {}
    if host_config.get("CpuShares"):
        cpu["shares"] = int(host_config["CpuShares"])
    if host_config.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = int(host_config["NanoCpus"]) * 100000 // 1_000_000_000
    if host_config.get("CpuQuota"):
        cpu["quota"] = int(host_config["CpuQuota"])
    if host_config.get("CpuPeriod"):
        cpu["period"] = int(host_config["CpuPeriod"])
    if host_config.get("CpusetCpus"):
        cpu["cpus"] = host_config["CpusetCpus"]
    if host_config.get("CpusetMems"):
        cpu["mems"] = host_config["CpusetMems"]
    if host_config.get("CpuRealtimeRuntime"):
        cpu["realtimeRuntime"] = int(host_config["CpuRealtimeRuntime"])
    if host_config.get("CpuRealtimePeriod"):
        cpu["realtimePeriod"] = int(host_config["CpuRealtimePeriod"])
    if cpu:
        res["cpu"] = cpu
    if host_config.get("PidsLimit"):
        res["pids"] = {"limit": int(host_config["PidsLimit"])}
    block_io = _block_io(host_config)
    if block_io:
        res["blockIO"] = block_io
    return res


# HostConfig key -> linux.resources.blockIO key, for the per-device throttles (bytes or operations per second)
THROTTLES = (("BlkioDeviceReadBps", "throttleReadBpsDevice"), ("BlkioDeviceWriteBps", "throttleWriteBpsDevice"),
             ("BlkioDeviceReadIOps", "throttleReadIOPSDevice"), ("BlkioDeviceWriteIOps", "throttleWriteIOPSDevice"))


def _block_io(host_config: dict) -> dict:
    """--blkio-weight, --blkio-weight-device and the --device-{read,write}-{bps,iops} throttles, each device
    named by its major:minor as the cgroup files want (moby's getBlkio*Devices)."""
    out: dict = {}
    if host_config.get("BlkioWeight"):
        out["weight"] = int(host_config["BlkioWeight"])
    weights = [{**_block_device(d["Path"]), "weight": int(d["Weight"])}
               for d in host_config.get("BlkioWeightDevice") or []]
    if weights:
        out["weightDevice"] = weights
    for key, oci_key in THROTTLES:
        rates = [{**_block_device(d["Path"]), "rate": int(d["Rate"])} for d in host_config.get(key) or []]
        if rates:
            out[oci_key] = rates
    return out


def _block_device(path: str) -> dict:
    try:
        st = os.stat(path)
    except OSError as err:
        raise InvalidParameter(f"stat {path}: {(err.strerror or 'failed').lower()}") from None
    return {"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev)}


def _device(path_on_host: str, path_in_container: str, permissions: str) -> tuple[dict, dict]:
    """A host device node for linux.devices, and the cgroup rule that lets the container use it."""
    try:
        st = os.stat(path_on_host)
    except OSError as err:
        raise InvalidParameter(f'error gathering device information while adding custom device '
                               f'"{path_on_host}": {err.strerror.lower()}') from None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise InvalidParameter(f'error gathering device information while adding custom device '
                               f'"{path_on_host}": not a device node')
    kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    node = {"path": path_in_container, "type": kind, "major": major, "minor": minor,
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
    return node, {"allow": True, "type": kind, "major": major, "minor": minor, "access": permissions or "rwm"}


def _host_devices() -> list[dict]:
    """Every device node of the host, for --privileged (as dockerd gives them)."""
    nodes = []
    for dirpath, dirnames, filenames in os.walk("/dev"):
        dirnames[:] = [d for d in dirnames if d not in ("pts", "shm", "mqueue", "fd")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) and path != "/dev/console":
                nodes.append(_device(path, path, "rwm")[0])
    return nodes


def devices(host_config: dict) -> tuple[list[dict], list[dict]]:
    """--device PATH[:PATH_IN_CONTAINER[:PERMISSIONS]] nodes and their cgroup rules; all of them if privileged."""
    if host_config.get("Privileged"):
        return _host_devices(), []
    nodes, rules = [], []
    for d in host_config.get("Devices") or []:
        node, rule = _device(d["PathOnHost"], d.get("PathInContainer") or d["PathOnHost"],
                             d.get("CgroupPermissions") or "rwm")
        nodes.append(node)
        rules.append(rule)
    return nodes, rules


def rlimits(host_config: dict) -> list[dict]:
    """--ulimit: only what is asked for; everything else is inherited from the host (see module doc)."""
    return [{"type": f"RLIMIT_{u['Name'].upper()}", "soft": int(u["Soft"]), "hard": int(u["Hard"])}
            for u in host_config.get("Ulimits") or []]


def _namespaces(host_config: dict, netns_path: str | None, joined: dict) -> list[dict]:
    ns = [{"type": "mount"}]
    for kind, mode_key in (("pid", "PidMode"), ("ipc", "IpcMode")):
        if kind in joined:
            ns.append({"type": kind, "path": joined[kind]})
        elif host_config.get(mode_key) != "host":
            ns.append({"type": kind})
    if host_config.get("UTSMode") != "host":
        ns.append({"type": "uts"})
    if host_config.get("CgroupnsMode", "private") != "host":
        ns.append({"type": "cgroup"})
    mode = host_config.get("NetworkMode") or "bridge"
    if netns_path:
        ns.append({"type": "network", "path": netns_path})
    elif mode != "host":
        ns.append({"type": "network"})
    return ns


def _init_binary() -> str | None:
    for path in INIT_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("tini-static") or shutil.which("tini")


def build_spec(*, image_config: dict, config: dict, host_config: dict, rootfs: str, hostname: str,
               container_id: str, etc_hosts: str | None = None,
               etc_hostname: str | None = None, resolv_conf: str | None = None, extra_mounts=(),
               netns_path: str | None = None, joined_ns: dict | None = None, shm_source: str | None = None) -> dict:
    """The config.json of a container. `config` is the container's config, already merged with the image's.
    `joined_ns` maps "pid"/"ipc" to the namespace of another container to join (--pid/--ipc container:<x>);
    `shm_source` is a host directory to bind as /dev/shm in place of a tmpfs of its own (shared IPC)."""
    tty = bool(config.get("Tty"))
    args = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not args:
        args = list(image_config.get("Entrypoint") or []) + list(image_config.get("Cmd") or [])
    if not args:
        raise InvalidParameter("no command specified")
    env = merge_env([f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}", *(["TERM=xterm"] if tty else [])],
                    config.get("Env") or [])
    caps = capabilities(host_config)
    mounts = default_mounts(host_config)
    if host_config.get("IpcMode") == "none":  # moby leaves /dev/shm out altogether
        mounts = [m for m in mounts if m["destination"] != "/dev/shm"]
    elif shm_source:
        mounts = [m if m["destination"] != "/dev/shm" else
                  {"destination": "/dev/shm", "type": "bind", "source": shm_source,
                   "options": ["rbind", "nosuid", "noexec", "nodev"]} for m in mounts]
    for path, src in (("/etc/resolv.conf", resolv_conf), ("/etc/hostname", etc_hostname), ("/etc/hosts", etc_hosts)):
        if src:
            mounts.append({"destination": path, "type": "bind", "source": src, "options": ["rbind", "rprivate"]})
    for path, opts in (host_config.get("Tmpfs") or {}).items():
        mounts.append({"destination": path, "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "noexec", *[o for o in opts.split(",") if o]]})
    mounts.extend(extra_mounts)
    if host_config.get("Init"):
        init = _init_binary()
        if init is None:
            raise InvalidParameter("--init needs tini: install Debian's tini package")
        mounts.append({"destination": "/sbin/docker-init", "type": "bind", "source": init,
                       "options": ["rbind", "ro", "rprivate"]})
        args = ["/sbin/docker-init", "--", *args]
    process = {
        "terminal": tty,
        "user": resolve_user(rootfs, config.get("User") or "", host_config.get("GroupAdd") or []),
        "args": args,
        "env": env,
        "cwd": config.get("WorkingDir") or "/",
        "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": security_options(host_config.get("SecurityOpt") or [])["no-new-privileges"],
    }
    size = host_config.get("ConsoleSize") or [0, 0]
    if tty and size and size[0] and size[1]:
        process["consoleSize"] = {"height": int(size[0]), "width": int(size[1])}
    if host_config.get("OomScoreAdj"):
        process["oomScoreAdj"] = int(host_config["OomScoreAdj"])
    if rlimits(host_config):
        process["rlimits"] = rlimits(host_config)
    privileged = bool(host_config.get("Privileged"))
    device_nodes, device_rules = devices(host_config)
    res = resources(host_config)
    res["devices"] += device_rules
    linux = {
        "namespaces": _namespaces(host_config, netns_path, joined_ns or {}),
        "devices": device_nodes,
        "resources": res,
        "cgroupsPath": cgroup_path(container_id),
        "maskedPaths": [] if privileged else list(MASKED_PATHS),
        "readonlyPaths": [] if privileged else list(READONLY_PATHS),
    }
    if host_config.get("Sysctls"):
        linux["sysctl"] = dict(host_config["Sysctls"])
    rootfs_propagation = _rootfs_propagation(extra_mounts)
    if rootfs_propagation:
        linux["rootfsPropagation"] = rootfs_propagation
    if not privileged and security_options(host_config.get("SecurityOpt") or [])["seccomp"] != "unconfined":
        linux["seccomp"] = seccomp_profile(caps)
    spec = {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": rootfs, "readonly": bool(host_config.get("ReadonlyRootfs"))},
        "hostname": hostname,
        "mounts": mounts,
        "linux": linux,
    }
    if host_config.get("NetworkMode") == "host" or host_config.get("UTSMode") == "host":
        spec.pop("hostname")
    return spec


def exec_process(bundle: dict, exec_config: dict, rootfs: str) -> dict:
    """The process of a `docker exec`: the container's process spec with the exec's command and options."""
    base = bundle["process"]
    proc = copy.deepcopy(base)
    proc["args"] = list(exec_config["Cmd"])
    proc["terminal"] = bool(exec_config.get("Tty"))
    proc.pop("consoleSize", None)
    env = [e for e in base.get("env", []) if not e.startswith("TERM=")]
    if proc["terminal"]:
        env.append("TERM=xterm")
    proc["env"] = merge_env(env, exec_config.get("Env") or [])
    if exec_config.get("WorkingDir"):
        proc["cwd"] = exec_config["WorkingDir"]
    if exec_config.get("User"):
        proc["user"] = resolve_user(rootfs, exec_config["User"])
    if exec_config.get("Privileged"):
        caps = bounding_caps()
        proc["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    return proc


def _rootfs_propagation(mounts) -> str:
    """moby's WithMounts: a shared bind needs a shared rootfs, a slave one at least an rslave rootfs (else
    the events the mount should receive stop at the container's root)."""
    words = {word for m in mounts for word in m.get("options", ())}
    if words & {"shared", "rshared"}:
        return "shared"
    if words & {"slave", "rslave"}:
        return "rslave"
    return ""
