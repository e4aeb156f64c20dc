"""The per-container monitor: one small process per container (or exec) that outlives the daemon.

Forked by the monitor zygote (`monitor.py --zygote CONTROL_FD`, see serve_as_zygote; in the zygote's session,
a process group of its own) or started by the daemon as `python3 -I -S monitor.py <state_dir>/args.json
READY_FD` (in its own session). Standard library only. It

- runs the command lines it is given in its args (`commands`: start, delete, kill), which the daemon's
  Runtime (runtime/oci.py) renders for the configured OCI runtime CLI; it builds none itself;
- becomes a child subreaper, so the container's init (started by the runtime's `run -d`) is reparented to it
  and its exact exit status can be reaped;
- holds the container's stdio: pipes, or a pty master received from runc over a console socket;
- copies output to every attached client and, for containers, to its log driver (runtime/logdrivers: the
  json-file log, and syslog/journald/fluentd/gelf, connected at start);
- writes `exit.json` atomically when the process exits, runs the delete command, then tells clients and exits.

Protocol on `<state_dir>/m.sock` (unix stream). Each connection sends one JSON line first:
  {"op": "start"}                        -> {"ok": true, "pid": N} | {"ok": false, "error": "...", "exit_code": 127}
  {"op": "start", "wait": true}          -> the same; once started, the connection goes on as an early wait (below),
                                            so a process that exits at once cannot end before its waiter is known
  {"op": "wait"}                         -> {"exit_code": N, "finished_at": "...", "oom_killed": false} once exited
                                            and the runtime deleted its container
  {"op": "wait", "early": true}          -> the same line as soon as the process exited (output drained, exit.json
                                            written), then {"deleted": true} once the runtime deleted its container
  {"op": "resize", "height": H, "width": W} -> {"ok": true}
  {"op": "status"}                       -> {"pid": N, "running": bool}
  {"op": "kill", "signal": N}            -> {"ok": true} | {"ok": false, "error": "..."} (the kill command)
  {"op": "attach", "stdin": b, "stdout": b, "stderr": b}
      then monitor -> client: Docker stdcopy frames, 8-byte header [stream, 0, 0, 0, uint32 BE length] + data
      (stream 1 stdout, 2 stderr; a tty's output is stream 1); client -> monitor: raw stdin bytes;
      the client half-closing (SHUT_WR) is stdin EOF. The monitor closes the connection after the exit.
The daemon connects clients before sending "start", so nothing the process prints is lost.
"""
from __future__ import annotations

import array
import ctypes
import errno
import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import traceback

# The log drivers live beside this file's package; -I leaves the package root off sys.path.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from dockyard.runtime.logdrivers import Pipeline  # noqa: E402  (standard library only, as this file)

PR_SET_CHILD_SUBREAPER = 36
# The daemon sends "start" right after it has attached its clients; a monitor still waiting after this long
# lost its daemon in between (SIGKILL) and would otherwise wait for ever.
START_DEADLINE = 120.0


def now_rfc3339() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def classify_start_error(message: str, command: str) -> int:
    """Docker's exit codes for a process that cannot start (moby's translateContainerdStartErr): 127 when
    the message names the command as not found, 126 not executable, 125 anything else (a missing -w
    directory of an exec is not a missing command)."""
    lower = message.lower()
    if "not a directory" in lower:
        return 127
    if "permission denied" in lower:
        return 126
    if command.lower() in lower and ("executable file not found" in lower or "no such file or directory" in lower):
        return 127
    return 125


def runtime_error(log_path: str, fallback: str) -> str:
    """The last error the runtime logged (runc's json log format, which crun and youki share)."""
    message = ""
    try:
        with open(log_path) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("level") in ("error", "fatal") and entry.get("msg"):
                    message = entry["msg"]
    except OSError:
        pass
    return message or fallback.strip() or "runtime failed to start the process"


class Client:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.kind = None  # None until the first line: "attach", "wait", ...
        self.stdin = self.stdout = self.stderr = False


def oom_kills(cgroup: str) -> int:
    """The OOM kills a memory cgroup counted: the `oom_kill N` line of memory.oom_control (cgroup v1) or
    memory.events (v2)."""
    for name in ("memory.oom_control", "memory.events"):
        try:
            with open(os.path.join(cgroup, name)) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        return sum(int(line.split()[1]) for line in lines if line.startswith("oom_kill "))
    return 0


class Monitor:
    def __init__(self, args: dict):
        self.args = args
        self.commands = args["commands"]  # from the daemon's Runtime: start, delete, kill argv; the error log
        self.state_dir = args["state_dir"]
        self.mode = args.get("mode", "run")
        self.tty = bool(args.get("tty"))
        self.open_stdin = bool(args.get("open_stdin"))
        self.stdin_once = bool(args.get("stdin_once"))
        self.sel = selectors.DefaultSelector()
        self.clients: set[Client] = set()
        self.waiters: list[Client] = []
        self.log = Pipeline(args.get("log") if self.mode == "run" else None)
        self.pid = 0
        self.started = False
        self.exit_status: dict | None = None
        self.stdin_w: int | None = None  # where client stdin goes (pipe or pty master)
        self.outputs: dict[int, str] = {}  # fd -> "stdout"/"stderr"
        self.master: int | None = None
        self.done = False
        # stdin that attached clients send before the process runs, applied once it does
        self.early_stdin = bytearray()
        self.early_eof = False
        self.deleter: subprocess.Popen | None = None  # the runtime's delete, started at the exit

    # ---------------------------------------------------------------- setup
    def listen(self) -> None:
        path = os.path.join(self.state_dir, "m.sock")
        if os.path.exists(path):
            os.unlink(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(64)
        self.server.setblocking(False)
        self.sel.register(self.server, selectors.EVENT_READ, self.on_accept)
        self.sigr, sigw = os.pipe()
        os.set_blocking(sigw, False)
        os.set_blocking(self.sigr, False)
        signal.set_wakeup_fd(sigw)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        self.sel.register(self.sigr, selectors.EVENT_READ, self.on_sigchld)
        with open(os.path.join(self.state_dir, "monitor.pid"), "w") as f:
            f.write(str(os.getpid()))

    # ---------------------------------------------------------------- starting the process
    def command(self) -> str:
        """The program the process runs (args[0] of the exec's process or of the bundle's)."""
        try:
            if self.mode == "run":
                with open(os.path.join(self.args["bundle"], "config.json")) as f:
                    return json.load(f)["process"]["args"][0]
            with open(self.args["process_path"]) as f:
                return json.load(f)["args"][0]
        except (OSError, ValueError, KeyError, IndexError):
            return ""

    def start(self) -> dict:
        if self.started:
            return {"ok": True, "pid": self.pid}
        self.started = True
        try:
            self.log.open()
        except (OSError, ValueError) as err:  # moby creates the logger before the task: nothing runs
            self.finish_without_start()
            return {"ok": False, "error": f"failed to initialize logging driver: {getattr(err, 'strerror', None) or err}",
                    "exit_code": 128, "stage": "logger"}
        try:
            open(self.commands["log"], "w").close()
            if self.tty:
                pid = self._start_tty()
            else:
                pid = self._start_pipes()
        except StartFailure as err:
            self.finish_without_start()
            return {"ok": False, "error": err.message,
                    "exit_code": classify_start_error(err.message, self.command())}
        self.pid = pid
        if self.early_stdin and self.stdin_w is not None:
            self.write_stdin(bytes(self.early_stdin))
        if self.early_eof:
            self.close_stdin_if_once()
        self.reap()  # it may already have exited
        return {"ok": True, "pid": pid}

    def _run_runtime(self, argv, stdin, stdout, stderr) -> int:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, close_fds=True)
        while True:  # the runtime is our child; reap only it here (the container init is reaped by reap())
            try:
                _, status = os.waitpid(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                return proc.returncode
            except ChildProcessError:
                return 0
            except InterruptedError:
                continue

    def _read_pid(self) -> int:
        with open(os.path.join(self.state_dir, "pid")) as f:
            return int(f.read().strip())

    def _start_pipes(self) -> int:
        in_r, in_w = os.pipe() if self.open_stdin else (os.open(os.devnull, os.O_RDONLY), None)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            code = self._run_runtime(self.commands["start"], in_r, out_w, err_w)
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        if code != 0:
            # What runc printed went to the pipes the process would have used: it is runc's, not the app's.
            os.set_blocking(err_r, False)
            try:
                printed = os.read(err_r, 65536).decode("utf-8", "replace")
            except OSError:
                printed = ""
            for fd in (out_r, err_r) + ((in_w,) if in_w is not None else ()):
                os.close(fd)
            raise StartFailure(runtime_error(self.commands["log"], printed))
        self.stdin_w = in_w
        for fd, name in ((out_r, "stdout"), (err_r, "stderr")):
            os.set_blocking(fd, False)
            self.outputs[fd] = name
            self.sel.register(fd, selectors.EVENT_READ, self.on_output)
        return self._read_pid()

    def _start_tty(self) -> int:
        path = self.args["console_socket"]  # named in the start command
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        err_path = os.path.join(self.state_dir, "runc.stderr")
        with open(os.devnull, "rb") as devnull, open(err_path, "wb") as err:
            proc = subprocess.Popen(self.commands["start"], stdin=devnull, stdout=err, stderr=err, close_fds=True)
        listener.settimeout(0.05)
        master = None
        while master is None:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                if proc.poll() is not None:
                    break
                continue
            with conn:
                master = recv_fd(conn)
        code = proc.wait()
        listener.close()
        os.unlink(path)
        if code != 0 or master is None:
            if master is not None:
                os.close(master)
            with open(err_path, errors="replace") as f:
                printed = f.read()
            raise StartFailure(runtime_error(self.commands["log"], printed))
        size = self.args.get("console_size")
        if size and size[0] and size[1]:
            set_winsize(master, size[0], size[1])
        os.set_blocking(master, False)
        self.master = master
        self.stdin_w = master if self.open_stdin else None
        self.outputs[master] = "stdout"
        self.sel.register(master, selectors.EVENT_READ, self.on_output)
        return self._read_pid()

    # ---------------------------------------------------------------- events
    def on_accept(self, _key) -> None:
        try:
            sock, _ = self.server.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        client = Client(sock)
        self.clients.add(client)
        self.sel.register(sock, selectors.EVENT_READ, lambda key, c=client: self.on_client(c))

    def on_client(self, c: Client) -> None:
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if c.kind == "attach":
            if not data:
                self.sel.unregister(c.sock)  # stdin EOF; output keeps flowing until exit
                if c.stdin:
                    self.close_stdin_if_once()
                return
            if c.stdin:
                self.write_stdin(data)
            return
        if not data:
            self.drop(c)
            return
        c.buf += data
        if b"\n" not in c.buf:
            return
        line, _, rest = c.buf.partition(b"\n")
        c.buf = b""
        try:
            req = json.loads(line)
        except ValueError:
            self.drop(c)
            return
        self.handle(c, req, rest)

    def handle(self, c: Client, req: dict, rest: bytes) -> None:
        op = req.get("op")
        if op == "attach":
            c.kind = "attach"
            c.stdin, c.stdout, c.stderr = bool(req.get("stdin")), bool(req.get("stdout")), bool(req.get("stderr"))
            if self.exit_status is not None:
                self.drop(c)
                return
            if rest and c.stdin:
                self.write_stdin(rest)
        elif op == "start":
            reply = self.start()
            if req.get("wait") and reply.get("ok"):
                self.reply(c, reply, close=False)
                self.handle(c, {"op": "wait", "early": True}, b"")
            else:
                self.reply(c, reply)
        elif op == "wait":
            c.kind = "early-wait" if req.get("early") else "wait"
            if c.kind == "early-wait" and self.done:
                self.reply(c, self.exit_status, close=False)
                self.reply(c, {"deleted": True})
            elif c.kind == "wait" and self.exit_status is not None:
                self.reply(c, self.exit_status)
            else:  # an early waiter hears of the exit when finish() tells them all
                self.waiters.append(c)
        elif op == "resize":
            size = [int(req.get("height", 0)), int(req.get("width", 0))]
            if self.master is not None:
                set_winsize(self.master, *size)
            else:  # the pty does not exist yet: it gets this size when it does
                self.args["console_size"] = size
            self.reply(c, {"ok": True})
        elif op == "kill":
            self.reply(c, self.kill(int(req.get("signal", signal.SIGKILL))))
        elif op == "status":
            self.reply(c, {"pid": self.pid, "running": self.started and self.exit_status is None})
        elif op == "end":  # a restarted daemon found us never started: nobody will send "start" any more
            if self.started:
                self.reply(c, {"ok": False, "error": "the process is started"})
            else:
                self.reply(c, {"ok": True})
                self.finish_without_start()
        else:
            self.reply(c, {"ok": False, "error": f"unknown op {op!r}"})

    def reply(self, c: Client, obj: dict, close: bool = True) -> None:
        try:
            c.sock.setblocking(True)
            c.sock.sendall(json.dumps(obj).encode() + b"\n")
        except OSError:
            pass
        if close:
            self.drop(c)

    def drop(self, c: Client) -> None:
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        self.clients.discard(c)

    def write_stdin(self, data: bytes) -> None:
        if not self.pid and self.open_stdin:
            self.early_stdin += data
            return
        if self.stdin_w is None:
            return
        try:
            os.set_blocking(self.stdin_w, True)
            os.write(self.stdin_w, data)
        except OSError:
            pass
        finally:
            if self.stdin_w is not None and self.stdin_w == self.master:
                os.set_blocking(self.master, False)

    def close_stdin_if_once(self) -> None:
        if not self.pid:
            self.early_eof = True
            return
        # A tty's stdin stays open when a client leaves (moby closes stdin only for non-tty streams).
        if not self.stdin_once or self.stdin_w is None or self.tty:
            return
        os.close(self.stdin_w)
        self.stdin_w = None

    def on_output(self, key) -> None:
        fd = key.fd
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as err:  # EIO on a pty master once the slave side is gone
            if err.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            os.close(fd)
            del self.outputs[fd]
            if fd == self.master:
                self.master = None
                self.stdin_w = None
            self.maybe_finish()
            return
        stream = self.outputs[fd]
        self.log.write(stream, data)
        frame = struct.pack(">BxxxL", 1 if stream == "stdout" else 2, len(data)) + data
        for c in list(self.clients):
            if c.kind == "attach" and (c.stdout if stream == "stdout" else c.stderr):
                try:
                    c.sock.setblocking(True)
                    c.sock.settimeout(30)
                    c.sock.sendall(frame)
                    c.sock.setblocking(False)
                except OSError:
                    self.drop(c)

    def on_sigchld(self, _key) -> None:
        try:
            while os.read(self.sigr, 512):
                pass
        except BlockingIOError:
            pass
        self.reap()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.deleter is not None and pid == self.deleter.pid:
                self.deleter.returncode = os.waitstatus_to_exitcode(status)
            if pid == self.pid and self.exit_status is None:
                code = os.waitstatus_to_exitcode(status)
                self.exit_status = {"exit_code": 128 - code if code < 0 else code,
                                    "finished_at": now_rfc3339(), "oom_killed": self.oom_killed()}
                self.exited_at = time.monotonic()
                self.start_delete()
                self.maybe_finish()

    def start_delete(self) -> None:
        """The runtime deletes the stopped container (~6 ms of a Go program's start and a cgroup removal) while
        the output drains and the exit is recorded and told: a `run --rm` waits for the delete."""
        if self.mode == "run":
            self.deleter = subprocess.Popen(self.commands["delete"], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)

    def wait_deleted(self) -> None:
        if self.deleter is None or self.deleter.returncode is not None:
            return
        try:
            _, status = os.waitpid(self.deleter.pid, 0)
            self.deleter.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reap() took it
            self.deleter.returncode = 0

    def oom_killed(self) -> bool:
        cgroup = self.args.get("memory_cgroup")
        if not cgroup:
            return False
        return oom_kills(cgroup) > 0

    def kill(self, sig: int) -> dict:
        """Signal the container's processes through the runtime (its kill command, the signal appended)."""
        if self.mode != "run" or not self.pid or self.exit_status is not None:
            return {"ok": False, "error": "container not running"}
        proc = subprocess.run(self.commands["kill"] + [str(sig)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        if proc.returncode != 0:
            return {"ok": False, "error": proc.stderr.decode("utf-8", "replace").strip()}
        return {"ok": True}

    # ---------------------------------------------------------------- the end
    def maybe_finish(self) -> None:
        """Finish once the process exited and its output is drained (or after a grace period)."""
        if self.exit_status is None:
            return
        if self.outputs and time.monotonic() - self.exited_at < 2:
            return  # a grandchild may still hold the pipes; the loop's timeout calls us again
        for fd in list(self.outputs):
            self.sel.unregister(fd)
            os.close(fd)
        self.outputs.clear()
        self.log.flush()
        self.log.close()
        # Attached clients have all the output and early waiters learn of the exit now: the daemon's
        # clean-up (network, rootfs, removal) runs while the exit is recorded for a daemon that restarts
        # (exit.json) and the runtime deletes its container.
        for c in list(self.clients):
            if c.kind == "attach":
                self.drop(c)
        for c in self.waiters:
            if c.kind == "early-wait":
                self.reply(c, self.exit_status, close=False)
        write_atomic(os.path.join(self.state_dir, "exit.json"), json.dumps(self.exit_status).encode())
        self.wait_deleted()
        for c in self.waiters:
            self.reply(c, {"deleted": True} if c.kind == "early-wait" else self.exit_status)
        self.waiters.clear()
        self.done = True

    def finish_without_start(self) -> None:
        """runc could not start the process: nothing ran, so there is no exit record; end the monitor."""
        for c in list(self.clients):
            if c.kind == "attach":
                self.drop(c)
        self.exit_status = None
        self.done_after_reply = True

    def run(self) -> None:
        self.listen()
        ready_fd = self.args.get("ready_fd")
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        waiting_since = time.monotonic()
        while not self.done:
            if not self.started and time.monotonic() - waiting_since > self.args.get("start_deadline", START_DEADLINE):
                break
            for key, _ in self.sel.select(timeout=0.5):
                key.data(key)
                if self.done:
                    break
            if getattr(self, "done_after_reply", False):
                break
            if self.exit_status is not None and not self.done:
                self.maybe_finish()
        for c in list(self.clients):
            self.drop(c)
        self.server.close()
        try:
            os.unlink(os.path.join(self.state_dir, "m.sock"))
        except OSError:
            pass


class StartFailure(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def recv_fd(conn: socket.socket) -> int:
    fds = array.array("i")
    _, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
            return fds[0]
    raise OSError("runc sent no console fd")


def set_winsize(fd: int, height: int, width: int) -> None:
    if height > 0 and width > 0:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def serve_as_zygote(control: socket.socket) -> None:
    """`monitor.py --zygote CONTROL_FD`: started once, ahead of need, this process forks a monitor per job.
    Each job is one message on CONTROL_FD (a SOCK_SEQPACKET socket): the path of its args and, on a second line,
    the job's number, with the fd on which the monitor says `ready`; the reply is the new monitor's PID followed
    by the job (so a reply its waiter was cancelled before reading is never taken for a later job's). A fork of
    an interpreter whose imports are done costs about a millisecond; a fresh `python3 monitor.py` ~40 ms of CPU,
    which a hundred clients' starts paid over and over. The zygote exits on EOF (its daemon went away); the
    monitors it forked live on, and the kernel reaps them (SIGCHLD ignored).

    The monitors stay in the zygote's session, each in a process group of its own (signals to the daemon's or
    the zygote's group never reach them), as containerd's shims stay in containerd's session. A session of
    each made the kernel's autogroup scheduler give every monitor, with the runtime it runs, as much CPU as
    the whole daemon: a hundred clients starting containers at once starved the daemon's API for 100+ ms."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 4096, 1)
        except OSError:
            return
        if not message or len(fds) != 1:
            return
        pid = os.fork()
        if pid == 0:
            control.close()
            os.setpgid(0, 0)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os._exit(run_forked(message.decode().split("\n", 1)[0], fds[0]))
        os.close(fds[0])
        control.send(struct.pack("=i", pid) + message)


def run_forked(args_path: str, ready_fd: int) -> int:
    """The exit status of a monitor the zygote forked (os._exit follows: nothing of the zygote's may run)."""
    code = 0
    try:
        run_job(args_path, ready_fd)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
    return code


def run_job(args_path: str, ready_fd: int) -> None:
    with open(args_path) as f:
        args = json.load(f)
    args["ready_fd"] = ready_fd
    log = os.open(os.path.join(args["state_dir"], "monitor.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 2)
    os.close(log)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    Monitor(args).run()


def main() -> None:
    if sys.argv[1] == "--zygote":  # monitor.py --zygote CONTROL_FD
        serve_as_zygote(socket.socket(fileno=int(sys.argv[2])))
    else:  # monitor.py ARGS_PATH READY_FD
        run_job(sys.argv[1], int(sys.argv[2]))


if __name__ == "__main__":
    main()
