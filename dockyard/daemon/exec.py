"""docker exec: extra processes in a running container, each run by its own monitor in exec mode."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
from dataclasses import dataclass, field

from ..errors import Conflict, InvalidParameter, NotFound
from ..runtime.monitor_client import Monitor, StartError
from .attach import parse_detach_keys, relay

log = logging.getLogger("dockyard.exec")


@dataclass
class ExecRecord:
    id: str
    container_id: str
    config: dict
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    started: bool = False
    monitor: Monitor | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ExecService:
    def __init__(self, containers, events):
        self.containers = containers
        self.events = events
        self._execs: dict[str, ExecRecord] = {}

    def get(self, exec_id: str) -> ExecRecord:
        rec = self._execs.get(exec_id)
        if rec is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return rec

    def create(self, container_ref: str, body: dict) -> dict:
        c = self.containers.get(container_ref)
        if not c.state.Running:
            raise Conflict(f"container {c.id} is not running")
        if c.state.Paused:
            raise Conflict(f"container {c.id} is paused, unpause the container before exec")
        if not body.get("Cmd"):
            raise InvalidParameter("No exec command specified")
        exec_id = secrets.token_hex(32)
        self._execs[exec_id] = ExecRecord(exec_id, c.id, body)
        self.events.emit("container", f"exec_create: {' '.join(body['Cmd'])}", c.id,
                         {"image": self.containers.image_name(c), "name": c.name, "execID": exec_id})
        return {"Id": exec_id}

    def _process(self, rec: ExecRecord, c) -> dict:
        """The exec'd process: the container's own process spec with the exec's command and settings."""
        from ..runtime.spec import exec_process

        bundle = json.loads((self.containers.state_dir(c.id) / "config.json").read_text())
        return exec_process(bundle, rec.config, rootfs=bundle["root"]["path"])

    async def start(self, exec_id: str, hijacked=None, tty: bool | None = None) -> None:
        rec = self.get(exec_id)
        if rec.started:
            raise Conflict(f"Error: Exec command {exec_id} has already run")
        c = self.containers.get(rec.container_id)
        if not c.state.Running:
            raise Conflict(f"container {c.id} is not running")
        rec.started = True
        cfg = rec.config
        tty = bool(cfg.get("Tty")) if tty is None else tty
        state_dir = self.containers.config.exec_root / "x" / exec_id[:24]
        state_dir.mkdir(parents=True, exist_ok=True)
        use_stdin = bool(cfg.get("AttachStdin")) and hijacked is not None
        monitor = await Monitor.spawn_exec(runtime=self.containers.runtime_for(c), container_id=c.id,
                                           exec_id=exec_id, process=self._process(rec, c), state_dir=state_dir,
                                           tty=tty, open_stdin=use_stdin)
        rec.monitor = monitor
        attachment = None
        if hijacked is not None:
            attachment = await monitor.attach(stdin=use_stdin, stdout=bool(cfg.get("AttachStdout", True)),
                                              stderr=bool(cfg.get("AttachStderr", True)))
        try:
            rec.pid = await monitor.start()
        except StartError as err:
            rec.exit_code = err.exit_code
            rec.done.set()
            await monitor.close()
            shutil.rmtree(state_dir, ignore_errors=True)
            message = f"OCI runtime exec failed: exec failed: {err.message}: unknown"
            if hijacked is None:
                raise Conflict(message) from None
            from ..api.streams import frame
            data = (message + "\r\n").encode()
            await hijacked.write(data if tty else frame(1, data))
            return
        rec.running = True
        self.events.emit("container", f"exec_start: {' '.join(cfg['Cmd'])}", c.id,
                         {"image": self.containers.image_name(c), "name": c.name, "execID": exec_id})
        waiter = asyncio.create_task(self._wait(rec, c, state_dir))
        if attachment is not None:
            await relay(hijacked, attachment, tty=tty, use_stdin=use_stdin, multiplexed=True,
                        detach_keys=parse_detach_keys(cfg.get("DetachKeys")))
            await asyncio.wait([waiter], timeout=5)  # so an inspect right after sees the exit code

    async def _wait(self, rec: ExecRecord, c, state_dir) -> None:
        try:
            status = await rec.monitor.wait()
            rec.exit_code = status.exit_code
        except Exception as err:
            log.warning("exec %s lost: %s", rec.id[:12], err)
            rec.exit_code = 126 if rec.exit_code is None else rec.exit_code
        rec.running = False
        rec.done.set()
        await rec.monitor.close()
        shutil.rmtree(state_dir, ignore_errors=True)
        self.events.emit("container", "exec_die", c.id, {"image": self.containers.image_name(c), "name": c.name,
                                                          "execID": rec.id, "exitCode": str(rec.exit_code)})

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        rec = self.get(exec_id)
        if rec.monitor is None:
            raise Conflict(f"Exec {exec_id} is not running")
        await rec.monitor.resize(height, width)

    def inspect(self, exec_id: str) -> dict:
        rec = self.get(exec_id)
        cfg = rec.config
        cmd = cfg.get("Cmd") or []
        return {
            "CanRemove": False, "ContainerID": rec.container_id, "DetachKeys": cfg.get("DetachKeys", ""),
            "ExitCode": rec.exit_code, "ID": rec.id, "OpenStderr": bool(cfg.get("AttachStderr")),
            "OpenStdin": bool(cfg.get("AttachStdin")), "OpenStdout": bool(cfg.get("AttachStdout")),
            "ProcessConfig": {"arguments": cmd[1:], "entrypoint": cmd[0] if cmd else "",
                              "privileged": bool(cfg.get("Privileged")), "tty": bool(cfg.get("Tty")),
                              "user": cfg.get("User", "")},
            "Running": rec.running, "Pid": rec.pid,
        }
