"""The rest of moby's create-time checks of a HostConfig (runconfig's validateResources and validateIsolation,
verifyPlatformContainerResources and verifyPlatformContainerSettings), in its words. Without them a bad value
reached runc at start: a 500 in runc's words, and a created container left behind (docker-py's
`containers.run()` creates, then starts)."""
from __future__ import annotations

import os
import posixpath

from ..errors import InvalidParameter
from ..runtime import sysinfo
from ..runtime.sysinfo import SysInfo

SHM_MODES = ("", "none", "private", "host", "shareable")
CGROUPNS_MODES = ("", "host", "private")


def validate_platform_settings(hc: dict, info: SysInfo | None = None) -> list[str]:
    """Raises for what moby refuses; returns the warnings of what this kernel cannot apply (dropped from `hc`,
    so inspect shows what the container really gets)."""
    _validate_isolation(hc.get("Isolation") or "")
    warnings = validate_platform_resources(hc, info)
    _validate_modes(hc)
    oom = int(hc.get("OomScoreAdj") or 0)
    if not -1000 <= oom <= 1000:
        raise InvalidParameter(f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    for dest in hc.get("Tmpfs") or {}:
        _validate_tmpfs_destination(dest)
    cgroupns = hc.get("CgroupnsMode") or ""
    if cgroupns not in CGROUPNS_MODES:
        raise InvalidParameter(f"invalid cgroup namespace mode: {cgroupns}")
    return warnings


def validate_platform_resources(hc: dict, info: SysInfo | None = None) -> list[str]:
    """The Resources part of the checks: moby runs it on `docker update` too, before anything changes.
    Returns the warnings of the settings this kernel cannot apply, which are dropped from `hc`."""
    info = info or sysinfo.host()
    _validate_realtime(hc, info)
    warnings = _discard_unsupported(hc, info)
    shares = int(hc.get("CpuShares") or 0)
    if shares < 0:
        raise InvalidParameter(f"invalid CPU shares ({shares}): value must be a positive integer")
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:  # the CLI sends -1: unset
        raise InvalidParameter(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    _validate_cpuset(hc.get("CpusetCpus") or "", "cpus", "CPUs", _available_cpus)
    _validate_cpuset(hc.get("CpusetMems") or "", "mems", "memory nodes", _available_mems)
    weight = int(hc.get("BlkioWeight") or 0)
    if weight > 0 and not 10 <= weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")
    return warnings


def _validate_realtime(hc: dict, info: SysInfo) -> None:
    """runconfig's validateResources: real-time settings the kernel cannot schedule are refused, not dropped."""
    period, runtime = int(hc.get("CpuRealtimePeriod") or 0), int(hc.get("CpuRealtimeRuntime") or 0)
    if (period or runtime) and not info.cpu_realtime:
        raise InvalidParameter("kernel does not support CPU real-time scheduler")
    if period and runtime and runtime > period:
        raise InvalidParameter("cpu real-time runtime cannot be higher than cpu real-time period")


# HostConfig key, SysInfo field, moby's warning when the kernel lacks it (verifyPlatformContainerResources)
BLKIO_DEVICE_SETTINGS = (
    ("BlkioWeightDevice", "blkio_weight_device",
     "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded."),
    ("BlkioDeviceReadBps", "blkio_read_bps_device",
     "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. "
     "Block I/O BPS read limit discarded."),
    ("BlkioDeviceWriteBps", "blkio_write_bps_device",
     "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. "
     "Block I/O BPS write limit discarded."),
    ("BlkioDeviceReadIOps", "blkio_read_iops_device",
     "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. "
     "Block I/O IOPS read limit discarded."),
    ("BlkioDeviceWriteIOps", "blkio_write_iops_device",
     "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. "
     "Block I/O IOPS write limit discarded."),
)


def _discard_unsupported(hc: dict, info: SysInfo) -> list[str]:
    """moby's warnings for what the kernel would not apply; the setting is dropped, never passed on silently."""
    warnings = []
    if hc.get("OomKillDisable") and not info.oom_kill_disable:
        warnings.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        hc["OomKillDisable"] = False
    if hc.get("OomKillDisable") and not int(hc.get("Memory") or 0):
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result "
                        "in the system running out of resources.")
    if int(hc.get("BlkioWeight") or 0) > 0 and not info.blkio_weight:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                        "Weight discarded.")
        hc["BlkioWeight"] = 0
    for key, field_name, warning in BLKIO_DEVICE_SETTINGS:
        if hc.get(key) and not getattr(info, field_name):
            warnings.append(warning)
            hc[key] = []
    return warnings


def _validate_isolation(isolation: str) -> None:
    if isolation.lower() not in ("", "default"):  # Linux has only the default isolation
        raise InvalidParameter(f'Invalid isolation: "{isolation}" - linux only supports \'default\'')


def _validate_modes(hc: dict) -> None:
    """IpcMode, PidMode and UTSMode .Valid(); a joined container is looked up later (at start)."""
    ipc, pid, uts = hc.get("IpcMode") or "", hc.get("PidMode") or "", hc.get("UTSMode") or ""
    if ipc not in SHM_MODES and not _joins_container(ipc):
        raise InvalidParameter(f"invalid IPC mode: {ipc}")
    if pid not in ("", "host") and not _joins_container(pid):
        raise InvalidParameter(f"invalid PID mode: {pid}")
    if int(hc.get("ShmSize") or 0) < 0:
        raise InvalidParameter("SHM size can not be less than 0")
    if uts not in ("", "host"):
        raise InvalidParameter(f"invalid UTS mode: {uts}")


def _joins_container(mode: str) -> bool:
    kind, sep, ref = mode.partition(":")
    return kind == "container" and bool(sep) and bool(ref)


def _validate_tmpfs_destination(dest: str) -> None:
    """The volume parser's ValidateTmpfsMountDestination: not `/`, and absolute."""
    if posixpath.normpath(dest.replace("\\", "/")) == "/":
        raise InvalidParameter("invalid specification: destination can't be '/'")
    if not dest.replace("\\", "/").startswith("/"):
        raise InvalidParameter(f"invalid mount path: '{dest}' mount path must be absolute")


def _validate_cpuset(spec: str, name: str, things: str, available) -> None:
    """sysinfo.IsCpusetCpusAvailable / IsCpusetMemsAvailable: every CPU (memory node) named must be one this
    host has; `available()` reads the host's list only when something is asked for."""
    if not spec:
        return
    try:
        wanted = parse_uint_list(spec)
    except ValueError as err:
        raise InvalidParameter(f"Invalid value {spec} for cpuset {name}: {err}") from None
    have = available()
    if not wanted <= parse_uint_list(have):
        raise InvalidParameter(f"Requested {things} are not available - requested {spec}, available: {have}")


def parse_uint_list(text: str, maximum: int = 8192) -> set[int]:
    """moby's parseUintList: `7`, `1-6`, `0,3-4,7`."""
    numbers: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"invalid format: {text}")
        start, end = int(low), int(high) if dash else int(low)
        if max(start, end) > maximum:
            raise ValueError(f"value of out range, maximum is {maximum}")
        if end < start:
            raise ValueError(f"invalid format: {text}")
        numbers.update(range(start, end + 1))
    return numbers


def _available_cpus() -> str:
    """The CPUs the daemon's cpuset allows (cgroup v1, then v2), else the online ones."""
    return _first_line(("/sys/fs/cgroup/cpuset/cpuset.cpus", "/sys/fs/cgroup/cpuset.cpus.effective",
                        "/sys/devices/system/cpu/online")) or f"0-{(os.cpu_count() or 1) - 1}"


def _available_mems() -> str:
    """The memory nodes the daemon's cpuset allows (cgroup v1, then v2), else the online ones."""
    return _first_line(("/sys/fs/cgroup/cpuset/cpuset.mems", "/sys/fs/cgroup/cpuset.mems.effective",
                        "/sys/devices/system/node/online")) or "0"


def _first_line(paths) -> str:
    """The content of the first of these files that exists and is not empty."""
    for path in paths:
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text:
            return text
    return ""
