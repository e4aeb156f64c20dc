"""docker exec: extra processes in a running container, each run by its own monitor in exec mode."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import signal
from dataclasses import dataclass, field

from ..errors import Conflict, InvalidParameter, NotFound, SystemError_
from ..stdcopy import frame
from ..runtime.monitor_client import Monitor, StartError
from .attach import AttachSink, parse_detach_keys, relay
from .exec_store import ExecStore

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


class ExecSetupError(StartError):
    """The exec's process could not be set up (an unknown -u user or group): moby fails these itself,
    before any runtime call, so the message goes out as is and the exit code is 126."""

    def __init__(self, message: str):
        super().__init__(message, 126)


class ExecService:
    def __init__(self, store, containers, events, records: ExecStore):
        self.store = store  # the ContainerStore
        self.containers = containers  # the ContainerService: a container's runtime and bundle
        self.events = events
        self.records = records  # shared with the ContainerService, which drops a container's on its exit

    def get(self, exec_id: str) -> ExecRecord:
        rec = self.records.find(exec_id)
        if rec is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return rec

    def create(self, container_ref: str, body: dict) -> dict:
        c = self.store.get(container_ref)
        if c.state.Restarting:
            raise Conflict(f"Container {c.id} is restarting, wait until the container is running")
        if not c.state.Running:
            raise Conflict(f"Container {c.id} is not running")
        if c.state.Paused:  # moby's errExecPaused names the container as the user did
            raise Conflict(f"Container {container_ref} is paused, unpause the container before exec")
        if not body.get("Cmd"):
            raise InvalidParameter("No exec command specified")
        exec_id = secrets.token_hex(32)
        self.records.add(ExecRecord(exec_id, c.id, body))
        self.events.emit("container", f"exec_create: {' '.join(body['Cmd'])}", c.id,
                         {"image": c.image_ref, "name": c.name, "execID": exec_id})
        return {"Id": exec_id}

    def _process(self, rec: ExecRecord, c) -> dict:
        """The exec'd process: the container's own process spec with the exec's command and settings."""
        from ..runtime.spec import exec_process

        bundle = json.loads((self.containers.state_dir(c.id) / "config.json").read_text())
        try:
            return exec_process(bundle, rec.config, rootfs=bundle["root"]["path"])
        except InvalidParameter as err:
            raise ExecSetupError(str(err)) from None

    def _begin(self, exec_id: str):
        rec = self.get(exec_id)
        if rec.started:
            raise Conflict(f"Error: Exec command {exec_id} has already run")
        c = self.store.get(rec.container_id)
        if not c.state.Running:
            raise Conflict(f"Container {c.id} is not running")
        rec.started = True
        state_dir = self.containers.config.exec_root / "x" / exec_id[:24]
        state_dir.mkdir(parents=True, exist_ok=True)
        return rec, c, state_dir

    async def _spawn(self, rec: ExecRecord, c, state_dir, tty: bool, use_stdin: bool) -> Monitor:
        process = self._process(rec, c)  # first: a bad -u fails before any monitor exists
        rec.monitor = await Monitor.spawn_exec(runtime=self.containers.runtime_for(c), container_id=c.id,
                                               exec_id=rec.id, process=process,
                                               state_dir=state_dir, tty=tty, open_stdin=use_stdin)
        return rec.monitor

    def _started(self, rec: ExecRecord, c, state_dir) -> asyncio.Task:
        rec.running = True
        self.events.emit("container", f"exec_start: {' '.join(rec.config['Cmd'])}", c.id,
                         {"image": c.image_ref, "name": c.name, "execID": rec.id})
        return asyncio.create_task(self._wait(rec, c, state_dir))

    async def _failed(self, rec: ExecRecord, state_dir, err: StartError) -> str:
        # moby: an exec that fails to start without a more telling code (127 not found) exits 126
        rec.exit_code = 126 if err.exit_code == 125 else err.exit_code
        rec.done.set()
        if rec.monitor is not None:
            await rec.monitor.close()
        shutil.rmtree(state_dir, ignore_errors=True)
        if isinstance(err, ExecSetupError):
            return err.message
        return f"OCI runtime exec failed: {err.message}: unknown"  # runc's message starts "exec failed: "

    async def start(self, exec_id: str, hijacked: AttachSink | None = None, raw_stream: bool | None = None) -> None:
        """Run the exec: detached (hijacked None; its monitor holds the stdio, a pty too) or attached.
        The pty comes from the create config's Tty; raw_stream (the start request's Tty) only decides
        whether the attached stream is raw or stdcopy-framed."""
        rec, c, state_dir = self._begin(exec_id)
        cfg = rec.config
        tty = bool(cfg.get("Tty"))
        raw_stream = tty if raw_stream is None else raw_stream
        use_stdin = bool(cfg.get("AttachStdin")) and hijacked is not None
        streams = None
        if hijacked is not None:
            streams = {"stdin": use_stdin, "stdout": bool(cfg.get("AttachStdout", True)),
                       "stderr": bool(cfg.get("AttachStderr", True))}
        try:
            attachment = await self._launch(rec, c, state_dir, tty, streams)
        except StartError as err:
            message = await self._failed(rec, state_dir, err)
            if hijacked is None:  # detached: the error is the response, 400 for a bad command as in moby
                raise (InvalidParameter if err.exit_code in (126, 127) else SystemError_)(message) from None
            data = (message + "\r\n").encode()
            await hijacked.write(data if raw_stream else frame(1, data))
            return
        waiter = self._started(rec, c, state_dir)
        if attachment is not None:
            await relay(hijacked, attachment, tty=raw_stream, use_stdin=use_stdin, multiplexed=True,
                        detach_keys=parse_detach_keys(cfg.get("DetachKeys")))
            await asyncio.wait([waiter], timeout=5)  # so an inspect right after sees the exit code

    async def _launch(self, rec: ExecRecord, c, state_dir, tty: bool, streams: dict | None):
        """Spawn the exec's monitor, attach `streams` (None: detached) and start the process.
        Any failure is a StartError: a monitor or socket that went away must not surface as a Python
        exception in an API answer."""
        attachment = None
        try:
            monitor = await self._spawn(rec, c, state_dir, tty, bool(streams and streams["stdin"]))
            if streams is not None:
                attachment = await monitor.attach(**streams)
            rec.pid = await monitor.start()
        except StartError:
            raise
        except (OSError, ValueError, RuntimeError) as err:
            log.warning("exec %s failed to start: %s", rec.id[:12], err)
            if attachment is not None:
                await attachment.close()
            raise StartError("exec failed: the exec's monitor stopped unexpectedly", 125) from None
        return attachment

    async def run_captured(self, container_ref: str, cmd: list[str], timeout: float,
                           max_output: int) -> tuple[int | None, str]:
        """Run `cmd` in the container, stdout and stderr captured (up to max_output bytes): health checks.
        Returns (exit code, output); the exit code is None when the command outlived `timeout` (it is killed)."""
        exec_id = self.create(container_ref, {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True})["Id"]
        rec, c, state_dir = self._begin(exec_id)
        try:
            monitor = await self._spawn(rec, c, state_dir, tty=False, use_stdin=False)
        except StartError as err:
            self.records.discard(exec_id)
            return err.exit_code, await self._failed(rec, state_dir, err)
        attachment = await monitor.attach(stdin=False, stdout=True, stderr=True)
        try:
            rec.pid = await monitor.start()
        except StartError as err:
            await attachment.close()
            return err.exit_code, await self._failed(rec, state_dir, err)
        waiter = self._started(rec, c, state_dir)
        output = bytearray()

        async def collect() -> None:
            while (item := await attachment.read()) is not None:
                output.extend(item[1][:max_output - len(output)])
            await asyncio.shield(waiter)  # a timeout must not cancel the cleanup in _wait

        try:
            await asyncio.wait_for(collect(), timeout)
        except asyncio.TimeoutError:
            try:
                os.kill(rec.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await asyncio.wait([waiter], timeout=5)
            return None, output.decode("utf-8", "replace")
        finally:
            await attachment.close()
            self.records.discard(exec_id)  # nobody inspects a probe; do not keep one record per probe
        return rec.exit_code, output.decode("utf-8", "replace")

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
        self.events.emit("container", "exec_die", c.id, {"image": c.image_ref, "name": c.name,
                                                          "execID": rec.id, "exitCode": str(rec.exit_code)})

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        rec = self.get(exec_id)
        c = self.store.get(rec.container_id)
        if not c.state.Running:
            raise Conflict(f"Container {c.id} is not running")
        if not rec.running:
            raise Conflict(f"Exec {exec_id} is not running")
        try:
            await rec.monitor.resize(height, width)
        except (OSError, ValueError):
            # The exec ended between the check and the call: its monitor and socket are gone.
            raise Conflict(f"Exec {exec_id} is not running") from None

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
