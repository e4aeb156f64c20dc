"""What this host's cgroups let a container have (moby's pkg/sysinfo): read from the cgroup v1 controllers'
files, or from cgroup v2's controller list, so create can warn about (and drop) what the kernel would ignore,
and runc is only given what it can apply."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

CGROUP_ROOT = "/sys/fs/cgroup"


@dataclass(frozen=True)
class SysInfo:
    cgroup2: bool
    oom_kill_disable: bool
    blkio_weight: bool
    blkio_weight_device: bool
    blkio_read_bps_device: bool
    blkio_write_bps_device: bool
    blkio_read_iops_device: bool
    blkio_write_iops_device: bool
    cpu_realtime: bool


def is_cgroup2(root: str = CGROUP_ROOT) -> bool:
    """The unified hierarchy is mounted at the root (Debian 12's default), not v1 controllers."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def _v2_controllers(root: str) -> set[str]:
    try:
        with open(os.path.join(root, "cgroup.controllers")) as f:
            return set(f.read().split())
    except OSError:
        return set()


def probe(root: str = CGROUP_ROOT) -> SysInfo:
    if is_cgroup2(root):
        # cgroup v2: the io controller carries weight and throttling alike; there is no OOM-killer switch
        # (memory.oom.group is another thing) and no real-time group scheduling, as moby's sysinfo says.
        io = "io" in _v2_controllers(root)
        return SysInfo(cgroup2=True, oom_kill_disable=False, blkio_weight=io, blkio_weight_device=io,
                       blkio_read_bps_device=io, blkio_write_bps_device=io, blkio_read_iops_device=io,
                       blkio_write_iops_device=io, cpu_realtime=False)

    def has(controller: str, name: str) -> bool:
        return os.path.exists(os.path.join(root, controller, name))

    # blkio.weight exists only with an I/O scheduler that honours it (CFQ; BFQ names it blkio.bfq.weight)
    return SysInfo(cgroup2=False,
                   oom_kill_disable=has("memory", "memory.oom_control"),
                   blkio_weight=has("blkio", "blkio.weight") or has("blkio", "blkio.bfq.weight"),
                   blkio_weight_device=has("blkio", "blkio.weight_device") or has("blkio", "blkio.bfq.weight_device"),
                   blkio_read_bps_device=has("blkio", "blkio.throttle.read_bps_device"),
                   blkio_write_bps_device=has("blkio", "blkio.throttle.write_bps_device"),
                   blkio_read_iops_device=has("blkio", "blkio.throttle.read_iops_device"),
                   blkio_write_iops_device=has("blkio", "blkio.throttle.write_iops_device"),
                   cpu_realtime=has("cpu", "cpu.rt_runtime_us") and has("cpu", "cpu.rt_period_us"))


@functools.lru_cache(maxsize=1)
def host() -> SysInfo:
    """This host's, probed once (the kernel's cgroup support does not change while the daemon runs)."""
    return probe()


def init_rt_parent(parent: str, runtime: int, period: int, root: str = CGROUP_ROOT) -> None:
    """moby's initCPURtController: give the cgroup v1 parent of the containers (and its own parents) the
    real-time budget the daemon was configured with (--cpu-rt-runtime/--cpu-rt-period), since a child can
    never have more than its parent and a new cgroup starts with none."""
    path = root.rstrip("/") + "/cpu"
    for part in [p for p in parent.split("/") if p]:
        path = os.path.join(path, part)
        os.makedirs(path, exist_ok=True)
        for value, name in ((period, "cpu.rt_period_us"), (runtime, "cpu.rt_runtime_us")):
            if value:
                with open(os.path.join(path, name), "w") as f:
                    f.write(str(value))


def info_warnings(info: SysInfo) -> list[str]:
    """What `docker info` warns about the block I/O and OOM features this host lacks, in moby's words (its
    fillPlatformInfo: a missing blkio weight is only worth a warning on cgroup v2, where io.weight could be
    enabled; v1 kernels dropped it with CFQ)."""
    out = []
    if not info.cgroup2 and not info.oom_kill_disable:
        out.append("WARNING: No oom kill disable support")
    if info.cgroup2:
        if not info.blkio_weight:
            out.append("WARNING: No io.weight support")
        if not info.blkio_weight_device:
            out.append("WARNING: No io.weight (per device) support")
    for have, v2, v1 in ((info.blkio_read_bps_device, "rbps", "read_bps_device"),
                         (info.blkio_write_bps_device, "wbps", "write_bps_device"),
                         (info.blkio_read_iops_device, "riops", "read_iops_device"),
                         (info.blkio_write_iops_device, "wiops", "write_iops_device")):
        if not have:
            out.append(f"WARNING: No io.max ({v2}) support" if info.cgroup2
                       else f"WARNING: No blkio throttle.{v1} support")
    return out
