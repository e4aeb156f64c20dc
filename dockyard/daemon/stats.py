"""A container's resource usage read from its cgroup, in the shape of the Engine API's ContainerStatsResponse.

Works on cgroup v1 (one hierarchy per controller, this machine's layout) and v2 (unified). The docker CLI
computes CPU % from two samples (cpu_stats vs precpu_stats) and memory as usage minus inactive file cache.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..timefmt import now_rfc3339

CGROUP_ROOT = Path("/sys/fs/cgroup")
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_ZERO_TIME = "0001-01-01T00:00:00Z"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(path: Path) -> int:
    text = _read(path).strip()
    return int(text) if text.isdigit() else 0


def _kv(path: Path) -> dict[str, int]:
    out = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def system_cpu_ns() -> int:
    """Host CPU time in ns, as Docker's system_cpu_usage: the first 7 fields of /proc/stat's cpu line."""
    fields = _read(Path("/proc/stat")).split("\n", 1)[0].split()[1:8]
    return sum(int(f) for f in fields) * 1_000_000_000 // _CLK_TCK


def host_memory() -> int:
    for line in _read(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


class CgroupReader:
    """Reads one cgroup (its path as given to the runtime, e.g. /dockyard/<id>)."""

    def __init__(self, cgroup_path: str, root: Path = CGROUP_ROOT):
        self.rel = cgroup_path.strip("/")
        self.root = root
        self.v2 = (root / "cgroup.controllers").exists()

    def _dir(self, controller: str) -> Path:
        return self.root / self.rel if self.v2 else self.root / controller / self.rel

    def sample(self) -> dict:
        cpu, memory, pids, blkio = (self._v2() if self.v2 else self._v1())
        return {"read": now_rfc3339(),
                "cpu_stats": {**cpu, "system_cpu_usage": system_cpu_ns(), "online_cpus": os.cpu_count() or 1},
                "memory_stats": memory, "pids_stats": pids, "blkio_stats": blkio}

    def _v1(self):
        acct = self._dir("cpuacct")
        percpu = [int(x) for x in _read(acct / "cpuacct.usage_percpu").split()]
        ticks = _kv(acct / "cpuacct.stat")
        throttled = _kv(self._dir("cpu") / "cpu.stat")
        cpu = {"cpu_usage": {"total_usage": _int(acct / "cpuacct.usage"), "percpu_usage": percpu,
                             "usage_in_kernelmode": ticks.get("system", 0) * 1_000_000_000 // _CLK_TCK,
                             "usage_in_usermode": ticks.get("user", 0) * 1_000_000_000 // _CLK_TCK},
               "throttling_data": {"periods": throttled.get("nr_periods", 0),
                                   "throttled_periods": throttled.get("nr_throttled", 0),
                                   "throttled_time": throttled.get("throttled_time", 0)}}
        mem = self._dir("memory")
        memory = {"usage": _int(mem / "memory.usage_in_bytes"), "max_usage": _int(mem / "memory.max_usage_in_bytes"),
                  "failcnt": _int(mem / "memory.failcnt"), "stats": _kv(mem / "memory.stat"),
                  "limit": _limit(_int(mem / "memory.limit_in_bytes"))}
        pid_dir = self._dir("pids")
        pids = {"current": _int(pid_dir / "pids.current")}
        limit = _read(pid_dir / "pids.max").strip()
        if limit.isdigit():
            pids["limit"] = int(limit)
        blkio = {"io_service_bytes_recursive": _blkio_v1(self._dir("blkio") / "blkio.throttle.io_service_bytes")}
        return cpu, memory, pids, blkio

    def _v2(self):
        d = self._dir("")
        stat = _kv(d / "cpu.stat")
        cpu = {"cpu_usage": {"total_usage": stat.get("usage_usec", 0) * 1000,
                             "usage_in_kernelmode": stat.get("system_usec", 0) * 1000,
                             "usage_in_usermode": stat.get("user_usec", 0) * 1000},
               "throttling_data": {"periods": stat.get("nr_periods", 0),
                                   "throttled_periods": stat.get("nr_throttled", 0),
                                   "throttled_time": stat.get("throttled_usec", 0) * 1000}}
        limit = _read(d / "memory.max").strip()
        memory = {"usage": _int(d / "memory.current"), "stats": _kv(d / "memory.stat"),
                  "limit": _limit(int(limit) if limit.isdigit() else 0)}
        pids = {"current": _int(d / "pids.current")}
        if _read(d / "pids.max").strip().isdigit():
            pids["limit"] = _int(d / "pids.max")
        entries = []
        for line in _read(d / "io.stat").splitlines():
            dev, *pairs = line.split()
            major, _, minor = dev.partition(":")
            values = dict(p.split("=", 1) for p in pairs if "=" in p)
            for op, key in (("read", "rbytes"), ("write", "wbytes")):
                entries.append({"major": int(major), "minor": int(minor), "op": op, "value": int(values.get(key, 0))})
        return cpu, memory, pids, {"io_service_bytes_recursive": entries}


def _limit(cgroup_limit: int) -> int:
    """No limit reads as a huge number in cgroup v1: report the host's memory then, as Docker does."""
    host = host_memory()
    return host if cgroup_limit == 0 or (host and cgroup_limit > host) else cgroup_limit


def _blkio_v1(path: Path) -> list[dict]:
    entries = []
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, minor = parts[0].split(":")
            entries.append({"major": int(major), "minor": int(minor), "op": parts[1].lower(), "value": int(parts[2])})
    return entries


_NET_DEV_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
                   "tx_dropped")


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """Counters per interface from a /proc/<pid>/net/dev, loopback left out (dockerd reports the sandbox's
    endpoint interfaces only)."""
    out = {}
    for line in text.splitlines()[2:]:  # two header lines
        name, sep, rest = line.partition(":")
        values = rest.split()
        if not sep or len(values) < 16 or name.strip() == "lo":
            continue
        # receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop ...
        numbers = [int(v) for v in values[0:4] + values[8:12]]
        out[name.strip()] = dict(zip(_NET_DEV_FIELDS, numbers))
    return out


def network_stats(container, proc: Path = Path("/proc")) -> dict[str, dict[str, int]]:
    """The container's interfaces as seen inside its network namespace, read through its init process.
    Empty for --network host (those are the host's interfaces) and none (only lo): docker omits `networks`."""
    mode = container.host_config.get("NetworkMode") or "bridge"
    pid = container.state.Pid
    if mode == "host" or not pid:
        return {}
    return parse_net_dev(_read(proc / str(pid) / "net" / "dev"))


def zero_cpu_stats() -> dict:
    """CPUStats as Go marshals its zero value: the fields without `omitempty` are there, as zeros."""
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def stats_response(container, sample: dict | None, previous: dict | None) -> dict:
    """One ContainerStatsResponse; a container that is not running reports zeros, as Docker does."""
    empty = {"cpu_stats": zero_cpu_stats(), "memory_stats": {}, "pids_stats": {}, "blkio_stats": {}}
    now = sample or empty
    before = previous or {"cpu_stats": zero_cpu_stats()}
    out = {"name": "/" + container.name, "id": container.id,
           "read": now.get("read", _ZERO_TIME), "preread": before.get("read", _ZERO_TIME),
           "pids_stats": now["pids_stats"], "blkio_stats": now["blkio_stats"], "num_procs": 0,
           "storage_stats": {}, "cpu_stats": now["cpu_stats"], "precpu_stats": before["cpu_stats"],
           "memory_stats": now["memory_stats"]}
    networks = network_stats(container) if sample is not None else {}
    if networks:  # omitempty in dockerd's shape
        out["networks"] = networks
    return out
