"""The flags of `run`/`create` beyond the basics, parsed as the docker CLI's container/opts.go parses them,
and where each lands in the create body (Config, HostConfig, the endpoint's settings)."""
from __future__ import annotations

import re

import click

from .flagtypes import GoInt, MemBytes, MemSwapBytes, Validated, parse_int
from .mount_flag import parse_mount
from ..units import ram_in_bytes

ULIMIT_TYPES = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
                "rtprio", "rttime", "sigpending", "stack"}
# namespaced sysctls a container may set (opts.ValidateSysctl)
SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
           "kernel.shmmni", "kernel.shm_rmid_forced"}
SYSCTL_PREFIXES = ("net.", "fs.mqueue.")


class RunError(Exception):
    """A value opts.go refuses after parsing the flags: `docker: <message>` and exit 125."""


def ulimit(value: str) -> dict:
    name, eq, limits = value.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {value}")
    if name not in ULIMIT_TYPES:
        raise ValueError(f"invalid ulimit type: {name}")
    soft_text, colon, hard_text = limits.partition(":")
    soft = parse_int(soft_text)
    hard = parse_int(hard_text) if colon else soft
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def sysctl(value: str) -> str:
    key, eq, _ = value.partition("=")
    if not eq or not (key in SYSCTLS or key.startswith(SYSCTL_PREFIXES)):
        raise ValueError(f"sysctl '{value}' is not allowed")
    return value


def _device_path(value: str) -> tuple[str, str]:
    path, colon, rest = value.partition(":")
    if not colon or not path:
        raise ValueError(f"bad format: {value}")
    if not path.startswith("/dev/"):
        raise ValueError(f"bad format for device path: {value}")
    return path, rest


def weight_device(value: str) -> dict:
    path, weight = _device_path(value)
    try:
        w = parse_int(weight, 16, unsigned=True)
    except ValueError:
        w = -1
    if w < 0 or (w > 0 and not 10 <= w <= 1000):
        raise ValueError(f"invalid weight for device: {value}")
    return {"Path": path, "Weight": w}


def bps_device(value: str) -> dict:
    path, rate = _device_path(value)
    try:
        return {"Path": path, "Rate": ram_in_bytes(rate)}
    except ValueError:
        raise ValueError(f"invalid rate for device: {value}. The correct format is <device-path>:<number>[<unit>]. "
                         "Number must be a positive integer. Unit is optional and can be kb, mb, or gb") from None


def iops_device(value: str) -> dict:
    path, rate = _device_path(value)
    try:
        return {"Path": path, "Rate": parse_int(rate, unsigned=True)}
    except ValueError:
        raise ValueError(f"invalid rate for device: {value}. The correct format is <device-path>:<number>. "
                         "Number must be a positive integer") from None


def link(value: str) -> str:
    if not value:
        raise ValueError("empty string specified for links")
    if value.count(":") > 1:
        raise ValueError(f"bad format for links: {value}")
    return value


def attach_stream(value: str) -> str:
    if value.lower() not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return value.lower()


def cgroup_rule(value: str) -> str:
    if not re.fullmatch(r"[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}", value):
        raise ValueError(f"invalid device cgroup format '{value}'")
    return value


def _device_mode(mode: str) -> bool:
    return bool(mode) and set(mode) <= set("rwm") and len(set(mode)) == len(mode)


def device(value: str) -> dict:
    """--device HOST[:CONTAINER][:PERMISSIONS] (validateDevice, then parseLinuxDevice)."""
    parts = value.split(":")
    if len(parts) > 3 or not parts[0]:
        raise RunError(f"bad format for path: {value}")
    if len(parts) == 3 and not _device_mode(parts[2]):
        raise RunError(f"bad mode specified: {parts[2]}")
    source, target, mode = parts[0], parts[0], "rwm"
    if len(parts) >= 2:
        if _device_mode(parts[1]) and len(parts) == 2:
            mode = parts[1]
        else:
            target = parts[1]
    if len(parts) == 3:
        mode = parts[2]
    if not target.startswith("/"):
        raise RunError(f"{target} is not an absolute path")
    return {"PathOnHost": source, "PathInContainer": target, "CgroupPermissions": mode}


def mac_address(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}", value):
        raise RunError(f"{value} is not a valid mac address")
    return value


def capabilities(values) -> list[str] | None:
    """--cap-add/--cap-drop as the docker CLI sends them: upper case, `CAP_` prefixed (but ALL), sorted, once
    each."""
    caps = {c.upper() if c.upper() == "ALL" or c.upper().startswith("CAP_") else "CAP_" + c.upper()
            for c in values if c}
    return sorted(caps) or None


def key_value_map(values) -> dict:
    """ConvertKVStringsToMap: `k=v`, or a bare `k` with an empty value."""
    return dict((v.split("=", 1) + [""])[:2] for v in values)


def more_create_options() -> list:
    """The click options for opts.go's flags that build_create_body's basics leave out."""
    many = {"multiple": True}
    return [
        click.option("-a", "--attach", type=Validated(attach_stream), **many),
        click.option("--annotation", **many),
        click.option("--blkio-weight", type=GoInt(16, unsigned=True)),
        click.option("--blkio-weight-device", type=Validated(weight_device), **many),
        click.option("--cgroup-parent"), click.option("--cgroupns"), click.option("--cidfile"),
        click.option("--cpu-count", type=GoInt()), click.option("--cpu-percent", type=GoInt()),
        click.option("--cpu-period", type=GoInt()), click.option("--cpu-quota", type=GoInt()),
        click.option("--cpu-rt-period", type=GoInt()), click.option("--cpu-rt-runtime", type=GoInt()),
        click.option("-c", "--cpu-shares", type=GoInt()),
        click.option("--cpuset-cpus"), click.option("--cpuset-mems"),
        click.option("--device", **many), click.option("--device-cgroup-rule", type=Validated(cgroup_rule), **many),
        click.option("--device-read-bps", type=Validated(bps_device), **many),
        click.option("--device-read-iops", type=Validated(iops_device), **many),
        click.option("--device-write-bps", type=Validated(bps_device), **many),
        click.option("--device-write-iops", type=Validated(iops_device), **many),
        click.option("--disable-content-trust", type=bool, default=True),  # no content trust here: accepted
        click.option("--domainname"), click.option("--group-add", **many),
        click.option("--ip6"), click.option("--ipc"), click.option("--isolation"),
        click.option("--kernel-memory", type=MemBytes()), click.option("--label-file", **many),
        click.option("--link", type=Validated(link), **many), click.option("--link-local-ip", **many),
        click.option("--log-driver"), click.option("--log-opt", **many), click.option("--mac-address"),
        click.option("--memory-reservation", type=MemBytes()), click.option("--memory-swap", type=MemSwapBytes()),
        click.option("--memory-swappiness", type=GoInt(), default=-1),
        click.option("--mount", type=Validated(parse_mount), **many),
        click.option("--oom-kill-disable", is_flag=True), click.option("--oom-score-adj", type=GoInt()),
        click.option("--pid"), click.option("-q", "--quiet", is_flag=True),
        click.option("--shm-size", type=MemBytes()), click.option("--storage-opt", **many),
        click.option("--sysctl", type=Validated(sysctl), **many),
        click.option("--ulimit", type=Validated(ulimit), **many),
        click.option("--userns"), click.option("--uts"),
        click.option("--volume-driver"), click.option("--volumes-from", **many),
    ]


HOST_CONFIG_VALUES = (  # flag -> HostConfig field, sent when the flag is given
    ("blkio_weight", "BlkioWeight"), ("cgroup_parent", "CgroupParent"), ("cgroupns", "CgroupnsMode"),
    ("cpu_count", "CpuCount"), ("cpu_percent", "CpuPercent"), ("cpu_period", "CpuPeriod"),
    ("cpu_quota", "CpuQuota"), ("cpu_rt_period", "CpuRealtimePeriod"), ("cpu_rt_runtime", "CpuRealtimeRuntime"),
    ("cpu_shares", "CpuShares"), ("cpuset_cpus", "CpusetCpus"), ("cpuset_mems", "CpusetMems"),
    ("ipc", "IpcMode"), ("isolation", "Isolation"), ("kernel_memory", "KernelMemory"),
    ("memory_reservation", "MemoryReservation"), ("memory_swap", "MemorySwap"), ("oom_score_adj", "OomScoreAdj"),
    ("pid", "PidMode"), ("shm_size", "ShmSize"), ("userns", "UsernsMode"), ("uts", "UTSMode"),
    ("volume_driver", "VolumeDriver"),
)
# lists the docker CLI always sends, empty when not given
ALWAYS_SENT = ("BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteBps",
               "BlkioDeviceWriteIOps", "Devices", "Ulimits")
HOST_CONFIG_LISTS = (
    ("blkio_weight_device", "BlkioWeightDevice"), ("device_read_bps", "BlkioDeviceReadBps"),
    ("device_read_iops", "BlkioDeviceReadIOps"), ("device_write_bps", "BlkioDeviceWriteBps"),
    ("device_write_iops", "BlkioDeviceWriteIOps"), ("device_cgroup_rule", "DeviceCgroupRules"),
    ("group_add", "GroupAdd"), ("link", "Links"), ("ulimit", "Ulimits"), ("volumes_from", "VolumesFrom"),
    ("mount", "Mounts"),
)


def check_namespace_modes(o: dict) -> None:
    """opts.go's checks of --pid, --uts, --userns and --cgroupns (--ipc is left to the daemon, as docker does)."""
    pid = o["pid"] or ""
    if not (pid in ("", "host") or (pid.startswith("container:") and pid != "container:")):
        raise RunError("--pid: invalid PID mode")
    if (o["uts"] or "") not in ("", "host"):
        raise RunError("--uts: invalid UTS mode")
    if (o["userns"] or "") not in ("", "host"):
        raise RunError("--userns: invalid USER mode")
    if (o["cgroupns"] or "") not in ("", "host", "private"):
        raise RunError("--cgroupns: invalid CGROUP mode")


def apply_more_options(o: dict, body: dict, host_config: dict, endpoint: dict) -> None:
    """Put the flags of more_create_options into a create body being built."""
    check_namespace_modes(o)
    if o["memory_swappiness"] != -1 and not 0 <= o["memory_swappiness"] <= 100:
        raise RunError(f"invalid value: {o['memory_swappiness']}. Valid memory swappiness range is 0-100")
    for flag, field in HOST_CONFIG_VALUES:
        if o[flag] is not None:
            host_config[field] = o[flag]
    host_config.update({field: [] for field in ALWAYS_SENT})
    for flag, field in HOST_CONFIG_LISTS:
        if o[flag]:
            host_config[field] = list(o[flag])
    host_config["MemorySwappiness"] = o["memory_swappiness"]
    host_config["OomKillDisable"] = o["oom_kill_disable"]
    if o["device"]:
        host_config["Devices"] = [device(d) for d in o["device"]]
    if o["sysctl"]:
        host_config["Sysctls"] = key_value_map(o["sysctl"])
    if o["annotation"]:
        host_config["Annotations"] = key_value_map(o["annotation"])
    if o["storage_opt"]:
        if any("=" not in s for s in o["storage_opt"]):
            raise RunError("invalid storage option")
        host_config["StorageOpt"] = key_value_map(o["storage_opt"])
    if o["log_driver"] == "none" and o["log_opt"]:
        raise RunError("invalid logging opts for driver none")
    host_config["LogConfig"] = {"Type": o["log_driver"] or "", "Config": key_value_map(o["log_opt"])}
    if o["domainname"]:
        body["Domainname"] = o["domainname"]
    if o["mac_address"]:
        endpoint["MacAddress"] = mac_address(o["mac_address"])
    if o["ip6"]:
        endpoint.setdefault("IPAMConfig", {})["IPv6Address"] = o["ip6"]
    if o["link_local_ip"]:
        endpoint.setdefault("IPAMConfig", {})["LinkLocalIPs"] = list(o["link_local_ip"])


def attach_streams(o: dict, detach: bool) -> dict:
    """AttachStdin/Stdout/Stderr and StdinOnce as opts.go and run.go set them: -a picks the streams (all
    output when not given), -i adds stdin, a detached run attaches nothing."""
    chosen = set(o["attach"])
    streams = {"AttachStdin": o["interactive"] or "stdin" in chosen,
               "AttachStdout": not chosen or "stdout" in chosen,
               "AttachStderr": not chosen or "stderr" in chosen}
    if detach:
        streams = dict.fromkeys(streams, False)
    streams["StdinOnce"] = o["interactive"] and streams["AttachStdin"]
    return streams

