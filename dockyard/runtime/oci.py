"""The Runtime interface: how the daemon and the container monitors drive an OCI runtime.

Two sides use it. The daemon calls the async methods (`kill`, `pause`, `state`, `ps`, `update`, ...). The
per-container monitor (runtime/monitor.py, standard library only, outliving the daemon) cannot import a
driver, so the daemon-side Runtime renders the command lines the monitor runs (`monitor_commands`): start
(`run -d` of a bundle, or `exec -d` of a process), delete and kill. Whatever CLI daemon.json `runtimes` /
`--add-runtime` names works through this one seam; `OCIRuntime` is the implementation for runc-compatible
CLIs (runc, crun, youki). One contract suite, tests/runtime/test_runtime_contract.py, runs against each.
"""
from __future__ import annotations

import functools
import json
import os
from typing import Protocol

from ..blocking import run
from ..errors import Conflict, NotFound, SystemError_

CGROUP_PARENT = "/dockyard"  # every container's cgroup is <controller>/dockyard/<id>


def cgroup_path(container_id: str) -> str:
    return f"{CGROUP_PARENT}/{container_id}"


class Runtime(Protocol):
    name: str  # the name containers ask for (`--runtime NAME`)

    # --- command lines, for the monitor: lists of strings it runs as they are ---
    def monitor_commands(self, container_id: str, *, state_dir: str, bundle: str | None = None,
                         process_path: str | None = None, console_socket: str | None = None) -> dict:
        """{"start": argv, "delete": argv, "kill": argv (the signal number is appended), "log": path}.
        `start` creates and starts the bundle's container detached (or, given `process_path`, execs that
        process in it), writes the process's pid to `<state_dir>/pid`, logs errors as JSON lines to `log`,
        and with `console_socket` sends the pty master there."""
        ...

    # --- operations, for the daemon ---
    async def kill(self, container_id: str, sig: int) -> None: ...
    async def pause(self, container_id: str) -> None: ...
    async def resume(self, container_id: str) -> None: ...
    async def delete(self, container_id: str, force: bool = False) -> None: ...
    async def state(self, container_id: str) -> dict | None: ...
    async def list(self) -> list[str]: ...  # the IDs of every container under its root
    async def ps(self, container_id: str) -> list[int]: ...
    async def update(self, container_id: str, resources: dict) -> None: ...
    def memory_cgroup(self, container_id: str) -> str | None: ...


class OCIRuntime:
    """Any runtime that speaks runc's CLI (runc, crun, youki)."""

    def __init__(self, name: str = "runc", binary: str = "runc", root: str = "/run/dockyard/runc"):
        self.name, self.binary, self.root = name, binary, root

    def _argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    def monitor_commands(self, container_id: str, *, state_dir: str, bundle: str | None = None,
                         process_path: str | None = None, console_socket: str | None = None) -> dict:
        log = os.path.join(state_dir, "runc.log")
        pid_file = os.path.join(state_dir, "pid")
        start = self._argv("--log", log, "--log-format", "json")
        if process_path is None:
            start += ["run", "-d", "--pid-file", pid_file, "--bundle", str(bundle)]
        else:
            start += ["exec", "-d", "--pid-file", pid_file, "--process", str(process_path)]
        if console_socket:
            start += ["--console-socket", console_socket]
        return {"start": start + [container_id], "log": log,
                "delete": self._argv("delete", "-f", container_id),
                "kill": self._argv("kill", container_id)}

    async def _run(self, *args: str) -> bytes:
        proc = await run(self._argv(*args), capture_output=True)
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

    async def list(self) -> list[str]:
        return [c["id"] for c in json.loads(await self._run("list", "--format", "json") or b"null") or []]

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
        hierarchy = _memory_hierarchy(root)
        return f"{hierarchy}{cgroup_path(container_id)}" if hierarchy is not None else None


@functools.lru_cache(maxsize=None)
def _memory_hierarchy(root: str) -> str | None:
    """Where the memory controller is mounted (the host's, read once: every container start asks)."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return root
    if os.path.isdir(os.path.join(root, "memory")):
        return f"{root}/memory"
    return None
