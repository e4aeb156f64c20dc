"""OCI runtime driver: the runc command line (crun and other runc-compatible CLIs plug in by name/path)."""
from __future__ import annotations

import json
import os
from typing import Protocol

from ..blocking import run
from ..errors import Conflict, NotFound, SystemError_

CGROUP_PARENT = "/dockyard"  # every container's cgroup is <controller>/dockyard/<id>


def cgroup_path(container_id: str) -> str:
    return f"{CGROUP_PARENT}/{container_id}"


class Runtime(Protocol):
    name: str
    binary: str
    root: str

    async def kill(self, container_id: str, sig: int) -> None: ...
    async def pause(self, container_id: str) -> None: ...
    async def resume(self, container_id: str) -> None: ...
    async def delete(self, container_id: str, force: bool = False) -> None: ...
    async def state(self, container_id: str) -> dict | None: ...
    async def ps(self, container_id: str) -> list[int]: ...


class OCIRuntime:
    """Any runtime that speaks runc's CLI (runc, crun, youki)."""

    def __init__(self, name: str = "runc", binary: str = "runc", root: str = "/run/dockyard/runc"):
        self.name, self.binary, self.root = name, binary, root

    async def _run(self, *args: str) -> bytes:
        proc = await run([self.binary, "--root", self.root, *args], capture_output=True)
        out, err = proc.stdout, proc.stderr
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip()
            if "does not exist" in message or "not exist" in message:
                raise NotFound(message)
            if "not running" in message or "container not running" in message:
                raise Conflict(message)
            raise SystemError_(f"{self.name} {args[0]} failed: {message}")
        return out

    async def kill(self, container_id: str, sig: int) -> None:
        await self._run("kill", container_id, str(sig))

    async def pause(self, container_id: str) -> None:
        await self._run("pause", container_id)

    async def resume(self, container_id: str) -> None:
        await self._run("resume", container_id)

    async def delete(self, container_id: str, force: bool = False) -> None:
        await self._run("delete", *(["-f"] if force else []), container_id)

    async def state(self, container_id: str) -> dict | None:
        try:
            return json.loads(await self._run("state", container_id))
        except NotFound:
            return None

    async def ps(self, container_id: str) -> list[int]:
        return json.loads(await self._run("ps", "--format", "json", container_id) or b"[]") or []

    async def update(self, container_id: str, resources: dict) -> None:
        args = []
        if resources.get("Memory"):
            args += ["--memory", str(resources["Memory"])]
        if resources.get("MemorySwap"):
            args += ["--memory-swap", str(resources["MemorySwap"])]
        if resources.get("CpuShares"):
            args += ["--cpu-share", str(resources["CpuShares"])]
        if resources.get("CpuQuota"):
            args += ["--cpu-quota", str(resources["CpuQuota"])]
        if resources.get("CpuPeriod"):
            args += ["--cpu-period", str(resources["CpuPeriod"])]
        if resources.get("NanoCpus"):
            args += ["--cpu-period", "100000", "--cpu-quota", str(resources["NanoCpus"] * 100000 // 10**9)]
        if resources.get("PidsLimit"):
            args += ["--pids-limit", str(resources["PidsLimit"])]
        if resources.get("CpusetCpus"):
            args += ["--cpuset-cpus", resources["CpusetCpus"]]
        if resources.get("CpuRealtimePeriod"):
            args += ["--cpu-rt-period", str(resources["CpuRealtimePeriod"])]
        if resources.get("CpuRealtimeRuntime"):
            args += ["--cpu-rt-runtime", str(resources["CpuRealtimeRuntime"])]
        if resources.get("BlkioWeight"):  # 0 where update dropped it: this kernel has no blkio weight
            args += ["--blkio-weight", str(resources["BlkioWeight"])]
        if args:
            await self._run("update", *args, container_id)

    def memory_cgroup(self, container_id: str, root: str = "/sys/fs/cgroup") -> str | None:
        """The cgroup dir whose memory files tell of a container's OOM kills: on cgroup v2 (unified) its own
        cgroup, on v1 the memory controller's; None if neither is mounted."""
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return f"{root}{cgroup_path(container_id)}"
        if os.path.isdir(os.path.join(root, "memory")):
            return f"{root}/memory{cgroup_path(container_id)}"
        return None
