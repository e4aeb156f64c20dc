"""The daemon's asyncio handle on a monitor process (see monitor.py for the protocol)."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..blocking import Process, blocking, process_gone, readable, spawn

log = logging.getLogger("dockyard.monitor")

MONITOR_PATH = str(Path(__file__).with_name("monitor.py"))
HEADER = struct.Struct(">BxxxL")
ZYGOTE_JOB_MAX = 4096  # bytes of a job (its args path and number) the zygote reads


@dataclass
class ExitStatus:
    exit_code: int
    finished_at: str
    oom_killed: bool = False
    error: str = ""


class StartError(Exception):
    def __init__(self, message: str, exit_code: int, stage: str = "runtime"):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.stage = stage  # "logger": the log driver could not be opened; "runtime": runc failed


def read_exit(state_dir) -> ExitStatus | None:
    try:
        data = json.loads((Path(state_dir) / "exit.json").read_text())
    except (OSError, ValueError):
        return None
    return ExitStatus(data["exit_code"], data.get("finished_at", ""), bool(data.get("oom_killed")))


class Attachment:
    """One attach connection: read() yields (stream, bytes) frames; write() sends stdin."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def read(self):
        try:
            header = await self.reader.readexactly(HEADER.size)
            stream, size = HEADER.unpack(header)
            return stream, await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close_stdin(self) -> None:
        if self.writer.can_write_eof() and not self.writer.is_closing():
            try:
                self.writer.write_eof()
            except OSError:
                pass

    async def close(self) -> None:
        self.writer.close()


class Monitor:
    def __init__(self, state_dir: Path, proc=None):
        self.state_dir = Path(state_dir)
        self.sock = str(self.state_dir / "m.sock")
        self.proc = proc
        self.pid: int | None = None
        self._deleted: asyncio.Task | None = None  # see wait_exited()
        self._start_sent = False
        self._exit_conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None  # see start(wait=True)

    @classmethod
    async def _spawn(cls, state_dir: Path, args: dict, files: dict[str, str] | None = None,
                     empty_state_dir: bool = False) -> "Monitor":
        """A monitor for `args`, with `files` (name: text) written beside its args in `state_dir` first
        (emptied before, if asked: a previous run's files go in the same thread hop)."""
        state_dir = Path(state_dir)
        args_path = state_dir / "args.json"

        def write_args() -> None:  # off the loop: a burst of starts waited on these writes
            if empty_state_dir:
                shutil.rmtree(state_dir, ignore_errors=True)
            state_dir.mkdir(parents=True, exist_ok=True)
            for name, text in (files or {}).items():
                (state_dir / name).write_text(text)
            args_path.write_text(json.dumps({**args, "state_dir": str(state_dir)}))

        await blocking(write_args)
        try:
            proc, ready_r = await _zygote.fork(str(args_path))
        except OSError as err:  # no zygote (it died, or could not start): a monitor of its own
            log.warning("monitor zygote unavailable (%s): starting a monitor process", err)
            ready_r, ready_w = os.pipe()
            try:
                proc = await _start_monitor([str(args_path), str(ready_w)], (ready_w,))
            finally:
                os.close(ready_w)
        try:
            ready = await asyncio.wait_for(_read_when_ready(ready_r), 10)
        finally:
            os.close(ready_r)
        if not ready.startswith(b"ready"):
            log_path = state_dir / "monitor.log"
            said = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise RuntimeError(f"monitor failed to start: {said}")
        return cls(state_dir, proc)

    @classmethod
    async def spawn(cls, *, runtime, container_id, bundle, state_dir, log: dict | None, tty, open_stdin,
                    stdin_once, console_size=None, empty_state_dir: bool = False) -> "Monitor":
        """`log`: the log drivers' spec (runtime/logdrivers.spec), None to keep no log. `empty_state_dir`: a
        previous run's files there go first."""
        return await cls._spawn(state_dir, {
            "mode": "run", "container_id": container_id, "bundle": str(bundle), "log": log, "tty": tty,
            **_commands(runtime, container_id, state_dir, tty, bundle=str(bundle)),
            "open_stdin": open_stdin, "stdin_once": stdin_once, "console_size": list(console_size or []),
            "memory_cgroup": runtime.memory_cgroup(container_id),
        }, empty_state_dir=empty_state_dir)

    @classmethod
    async def spawn_exec(cls, *, runtime, container_id, exec_id, process: dict, state_dir, tty,
                         open_stdin) -> "Monitor":
        process_path = Path(state_dir) / "process.json"
        return await cls._spawn(state_dir, {
            "mode": "exec", "container_id": container_id, "process_path": str(process_path), "tty": tty,
            "open_stdin": open_stdin, "stdin_once": True,
            **_commands(runtime, container_id, state_dir, tty, process_path=str(process_path)),
        }, files={"process.json": json.dumps(process)})

    @classmethod
    async def connect(cls, state_dir) -> "Monitor":
        m = cls(Path(state_dir))
        try:
            status = await m._request({"op": "status"})
        except (OSError, ConnectionError, ValueError) as err:
            raise LookupError(f"monitor of {state_dir} is gone: {err}") from None
        m.pid = status.get("pid")
        return m

    async def _open(self):
        return await asyncio.open_unix_connection(self.sock, limit=1 << 20)

    async def _request(self, req: dict) -> dict:
        reader, writer = await self._open()
        try:
            writer.write(json.dumps(req).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
        if not line:
            raise ConnectionError("monitor closed the connection")
        return json.loads(line)

    async def attach(self, *, stdin: bool, stdout: bool, stderr: bool) -> Attachment:
        reader, writer = await self._open()
        writer.write(json.dumps({"op": "attach", "stdin": stdin, "stdout": stdout, "stderr": stderr}).encode()
                     + b"\n")
        await writer.drain()
        return Attachment(reader, writer)

    async def start(self, wait: bool = False) -> int:
        """Start the process; its pid. `wait`: the connection stays open for wait_exited(), which then hears of
        an exit that happens at once too (a later connection might only be served after the runtime's delete)."""
        self._start_sent = True
        if wait:
            reader, writer = await self._open()
            try:
                writer.write(json.dumps({"op": "start", "wait": True}).encode() + b"\n")
                await writer.drain()
                line = await reader.readline()
            except BaseException:
                writer.close()
                raise
            if not line:
                writer.close()
                raise ConnectionError("monitor closed the connection")
            reply = json.loads(line)
            if reply.get("ok"):
                self._exit_conn = reader, writer
            else:
                writer.close()
        else:
            reply = await self._request({"op": "start"})
        if not reply.get("ok"):
            if self.proc is not None:
                await self.proc.wait()
            raise StartError(reply.get("error", "start failed"), int(reply.get("exit_code", 125)),
                             reply.get("stage", "runtime"))
        self.pid = reply["pid"]
        return self.pid

    async def wait(self) -> ExitStatus:
        try:
            reply = await self._request({"op": "wait"})
        except (OSError, ConnectionError, ValueError):
            # The monitor finished between our calls: its record is on disk.
            for _ in range(50):
                status = read_exit(self.state_dir)
                if status is not None:
                    return status
                await asyncio.sleep(0.1)
            raise
        return ExitStatus(reply["exit_code"], reply.get("finished_at", ""), bool(reply.get("oom_killed")))

    async def wait_exited(self) -> ExitStatus:
        """The exit, as soon as the process is gone and its output drained, while the runtime may still be
        deleting its container (runc's `delete`: tens of ms on a busy machine). `deleted()` waits for that;
        a container must not start again, nor its removal end, before."""
        if self._exit_conn is not None:  # start(wait=True) asked already
            (reader, writer), self._exit_conn = self._exit_conn, None
            request = b""
        else:
            try:
                reader, writer = await self._open()
            except OSError:
                return await self.wait()  # finished already: its record is on disk
            request = json.dumps({"op": "wait", "early": True}).encode() + b"\n"
        try:
            writer.write(request)
            await writer.drain()
            line = await reader.readline()
        except (OSError, ConnectionError):
            line = b""
        if not line:
            writer.close()
            return await self.wait()
        self._deleted = asyncio.get_running_loop().create_task(_until_deleted(reader, writer))
        reply = json.loads(line)
        return ExitStatus(reply["exit_code"], reply.get("finished_at", ""), bool(reply.get("oom_killed")))

    async def deleted(self) -> None:
        """Once the runtime deleted the container whose exit wait_exited() returned (at once if it did not
        tell the exit early, or the monitor is gone)."""
        if self._deleted is not None:
            await asyncio.shield(self._deleted)

    async def end(self) -> None:
        """A monitor that will not be told to start (the start failed before) goes; one that started or is
        gone already is left as it is."""
        if self._start_sent:
            return
        try:
            await self._request({"op": "end"})
        except (OSError, ConnectionError, ValueError):
            pass
        await self.close()

    async def resize(self, height: int, width: int) -> None:
        await self._request({"op": "resize", "height": height, "width": width})

    async def close(self) -> None:
        """Forget the monitor (it keeps running on its own). A child of ours is reaped when it ends, by a
        task in the background: after an exit the monitor still closes its socket and `wait` answered
        already, so nobody waits for that (waiting here put up to 10 ms on every `run --rm`). A monitor the
        zygote forked is not our child: the kernel reaps it."""
        if isinstance(self.proc, Process) and self.proc.returncode is None:
            task = asyncio.get_running_loop().create_task(self.proc.wait())
            _reapers.add(task)
            task.add_done_callback(_reapers.discard)


_reapers: set[asyncio.Task] = set()  # monitors being reaped (a task nobody holds could be collected)


async def _until_deleted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readline()  # {"deleted": true}; EOF if the monitor died: nothing left to wait for
    except (OSError, ConnectionError):
        pass
    finally:
        writer.close()


def _commands(runtime, container_id: str, state_dir, tty: bool, **what) -> dict:
    """The monitor's command lines, rendered by the Runtime (the monitor knows no runtime CLI itself)."""
    console = str(Path(state_dir) / "console.sock") if tty else None
    return {"commands": runtime.monitor_commands(container_id, state_dir=str(state_dir), console_socket=console,
                                                 **what),
            "console_socket": console}


async def _read_when_ready(fd: int) -> bytes:
    """os.read of a pipe once it has data (or EOF), without a thread blocked in read."""
    await readable(fd)
    return os.read(fd, 16)


async def _start_monitor(argv: list[str], pass_fds: tuple[int, ...]) -> Process:
    # Its own session: the monitor (and so the container) outlives the daemon.
    return await spawn([sys.executable, "-I", "-S", MONITOR_PATH, *argv], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, pass_fds=pass_fds)


class ForkedProcess:
    """A monitor the zygote forked: not our child, so its exit is seen through a pidfd and its status is its
    parent's to reap (the kernel does: the zygote ignores SIGCHLD). returncode is 0 once it is gone."""

    def __init__(self, pid: int):
        self.pid = pid

    @property
    def returncode(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0
        return None

    async def wait(self) -> int:
        await process_gone(self.pid)
        return 0


class _Zygote:
    """The daemon's handle on the monitor zygote (monitor.py serve_as_zygote): started on first use, started
    again if it died, and ended (EOF on its socket) when the daemon stops."""

    def __init__(self):
        self._proc: Process | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._jobs = 0

    def _bind_to_loop(self) -> None:
        if self._loop is not asyncio.get_running_loop():  # first use, or left from another loop (tests)
            self._forget()
            self._loop, self._lock = asyncio.get_running_loop(), asyncio.Lock()

    async def start_ahead(self) -> None:
        """Start the zygote before the first container needs it (its interpreter's start is ~40 ms of CPU)."""
        self._bind_to_loop()
        async with self._lock:
            if self._sock is None:
                await self._start()

    async def fork(self, args_path: str) -> tuple[ForkedProcess, int]:
        """A new monitor for this job, and the fd on which it will say `ready`."""
        self._bind_to_loop()
        async with self._lock:
            for _ in range(2):  # a zygote that died is replaced once
                if self._sock is None:
                    await self._start()
                ready_r, ready_w = os.pipe()
                pid = None
                self._jobs += 1  # the number makes the job unique: a restart forks again for the same args path
                job = f"{args_path}\n{self._jobs}".encode()
                try:
                    socket.send_fds(self._sock, [job], [ready_w])
                    pid = await self._pid_forked_for(job)
                except OSError:
                    pass
                finally:
                    os.close(ready_w)
                    if pid is None:  # the zygote died, or our caller was cancelled
                        os.close(ready_r)
                if pid is not None:
                    return ForkedProcess(pid), ready_r
                self._forget()
        raise OSError("the monitor zygote exited")

    async def _pid_forked_for(self, job: bytes) -> int:
        """The PID of the monitor forked for `job` (the zygote echoes each job with its PID). A caller cancelled
        while waiting (its client went away) left its reply unread: skipped here, not taken for ours."""
        while True:
            reply = await self._loop.sock_recv(self._sock, 4 + ZYGOTE_JOB_MAX)
            if len(reply) < 4:
                raise OSError("the monitor zygote exited")
            if reply[4:] == job:
                return struct.unpack("=i", reply[:4])[0]

    async def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = await _start_monitor(["--zygote", str(theirs.fileno())], (theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours

    def _forget(self) -> None:
        if self._sock is not None:
            self._sock.close()  # EOF: the zygote exits
        self._sock = self._proc = None

    async def close(self) -> None:
        proc = self._proc
        self._forget()
        if proc is not None and self._loop is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except asyncio.TimeoutError:
                proc.kill()


_zygote = _Zygote()


async def start_monitor_zygote() -> None:
    try:
        await _zygote.start_ahead()
    except OSError as err:  # each start will try again, or start a monitor process of its own
        log.warning("monitor zygote did not start: %s", err)


async def close_monitor_zygote() -> None:
    await _zygote.close()


async def settle_monitors(state_dirs: list[Path]) -> dict[Path, int]:
    """At daemon start, before it spawns any: end the monitors in these state dirs whose process was never
    started (their daemon was killed between spawning them and "start": nobody will send it now), and return
    {state dir: pid} of the others, whose process runs, for the daemon to adopt (it may have been killed
    before it recorded the start)."""
    running = {}
    for state_dir in state_dirs:
        if not (state_dir / "m.sock").exists():
            continue
        m = Monitor(state_dir)
        try:
            status = await m._request({"op": "status"})
            if status.get("running"):
                running[state_dir] = status.get("pid") or 0
            elif (await m._request({"op": "end"})).get("ok"):
                log.info("ended the never-started monitor in %s", state_dir)
        except (OSError, ConnectionError, ValueError):
            continue  # nobody listens: a socket left by a monitor that is gone
    return running
