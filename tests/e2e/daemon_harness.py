"""Starting a real dockyard daemon for tests, and running the real docker CLI / dockyard CLI against it."""
from __future__ import annotations

import io
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
DAEMON_LOGS: set[Path] = set()  # every test daemon's log, for the stall summary (conftest.py)
STALL_MARK = "event loop stalled"  # what dockyard/stallwatch.py writes


def loop_stalls(log_path: Path) -> list[str]:
    """The event-loop stall reports (warnings with their stacks) in a daemon log."""
    if not log_path.exists():
        return []
    reports, current = [], None
    for line in log_path.read_text(errors="replace").splitlines():
        if STALL_MARK in line:
            current = None
            if " WARNING " in line:
                current = [line]
                reports.append(current)
        elif current is not None and line.startswith(" "):
            current.append(line)
        else:
            current = None
    return ["\n".join(r) for r in reports]


NO_DOCKER_HUB = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused at once


@dataclass
class Daemon:
    data_root: Path
    exec_root: Path
    socket: Path
    log_path: Path
    proc: subprocess.Popen | None = None
    extra_args: list = field(default_factory=list)
    bridge: str = ""  # each test daemon has its own default bridge and subnet (see new_daemon)
    bip: str = ""
    # Benchmarks run the daemon as `make daemon` and dockerd's service do, in a session of its own: the kernel's
    # autogroup then shares CPU between it and the load generator as between two services.
    own_session: bool = False

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env.update({"DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"})
        env.update(extra)
        return env

    def start(self, timeout: float = 20) -> None:
        args = [sys.executable, "-m", "dockyard.cmd.dockyardd", "-H", self.host, "--data-root", str(self.data_root),
                "--exec-root", str(self.exec_root), "--log-level", "debug", *self.network_args(), *self.extra_args]
        self.log_file = open(self.log_path, "ab")
        # every test daemon reports event-loop stalls over 50 ms to its log; the session lists them at the end
        env = {**os.environ, "DOCKYARD_STALL_MS": os.environ.get("DOCKYARD_STALL_MS", "50")}
        self.proc = subprocess.Popen(args, stdout=self.log_file, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                     start_new_session=self.own_session)
        DAEMON_LOGS.add(self.log_path)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            if self.socket.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(str(self.socket))
                        s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                        if b"OK" in s.recv(4096):
                            return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("daemon did not come up:\n" + self.log_path.read_text()[-3000:])

    def network_args(self) -> list[str]:
        # --dns 127.0.0.1: a container's resolver (and the embedded DNS's upstream) is a loopback address, so
        # no test can ever send a DNS query off this machine. --docker-hub-endpoint: a pull of a docker.io name
        # (busybox missing, a mirror failing) is refused on loopback instead of reaching Docker Hub; tests that
        # pull docker.io names give their own local registry (a later flag wins).
        return ["--bridge", self.bridge, "--bip", self.bip, "--dns", "127.0.0.1",
                "--docker-hub-endpoint", NO_DOCKER_HUB] if self.bridge else []

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log_file.close()
        return rc

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def docker(self, *args, input=None, check=True, timeout=120, env=None) -> subprocess.CompletedProcess:
        return run([DOCKER, *args], self.env(**(env or {})), input, check, timeout)

    def dockyard(self, *args, input=None, check=True, timeout=120, env=None) -> subprocess.CompletedProcess:
        return run([sys.executable, "-m", "dockyard", *args], self.env(**(env or {})), input, check, timeout)

    def api(self, method: str, path: str, body=None):
        """A raw Engine API call over the socket (for shapes the CLIs hide)."""
        import http.client

        class Conn(http.client.HTTPConnection):
            def connect(conn):
                conn.sock = socket.socket(socket.AF_UNIX)
                conn.sock.connect(str(self.socket))

        c = Conn("localhost")
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """An in-memory tar of regular files, in the order given (layers, archives, contexts, cp input)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def wait_for(predicate, timeout: float = 30, interval: float = 0.05, what: str = ""):
    """Poll until predicate() is truthy and return its value; fail (naming `what`) at the timeout. The timeout only
    bounds a hang: tests wait on conditions, never on a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def api_connections(d: Daemon) -> int:
    """Connections the daemon has accepted on its API socket and not closed (/proc/net/unix: state 03, bound to
    the socket's path)."""
    with open("/proc/net/unix") as f:
        return sum(1 for line in f if line.split()[-1] == str(d.socket) and line.split()[5] == "03")


def has_unix_connection(pid: int) -> bool:
    """Whether process `pid` (a client) holds a connected unix socket: its fds' socket inodes in /proc/net/unix."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    with open("/proc/net/unix") as f:
        return any(line.split()[5] == "03" and line.split()[6] in inodes for line in list(f)[1:])


def object_ids(d: Daemon) -> tuple[set[str], set[str]]:
    """The daemon's containers and images now: remove_new_objects takes away what was made after."""
    return (set(d.docker("ps", "-aq", "--no-trunc").stdout.split()),
            set(d.docker("images", "-aq", "--no-trunc").stdout.split()))


def remove_new_objects(d: Daemon, before: tuple[set[str], set[str]]) -> None:
    """Remove the containers and images made since `before`: a test's own clean-up on the shared daemon, where
    a prune would also take what other tests made. Images newest first (children before their parents)."""
    containers, images = before
    made = [c for c in d.docker("ps", "-aq", "--no-trunc").stdout.split() if c not in containers]
    if made:
        d.docker("rm", "-f", *made, check=False)
    for image in dict.fromkeys(d.docker("images", "-aq", "--no-trunc").stdout.split()):
        if image not in images:
            d.docker("rmi", "-f", image, check=False)


def run(argv, env, input, check, timeout) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, env=env, input=input, capture_output=True, timeout=timeout,
                       text=not isinstance(input, bytes))
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def new_daemon(base: Path, **kw) -> Daemon:
    base.mkdir(parents=True, exist_ok=True)
    # Unix socket paths are limited to 108 bytes: keep the exec root short.
    exec_root = Path(tempfile.mkdtemp(prefix="dy", dir="/run"))
    n = free_bridge_index()
    kw.setdefault("bridge", f"dyt{n}")
    kw.setdefault("bip", f"10.209.{n}.1/24")
    return Daemon(data_root=base / "data", exec_root=exec_root, socket=exec_root / "d.sock",
                  log_path=base / "daemon.log", **kw)


def free_bridge_index() -> int:
    """N for a bridge `dytN` on 10.209.N.0/24 that no other daemon on this machine (other test sessions
    included) has: neither the link nor the subnet exists yet. Random, so concurrent sessions rarely race.
    (Outside 10.210.0.0/16, the default bridge of a daemon that may be running here.)"""
    from dockyard.network.bridge import host_networks, link_exists

    used = host_networks()
    free = [n for n in range(1, 255) if not link_exists(f"dyt{n}")
            and not any(ipaddress.IPv4Network(f"10.209.{n}.0/24").overlaps(u) for u in used)]
    return random.choice(free)


def build_busybox_archive(dest: Path) -> Path:
    if not dest.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "mkimage-busybox"), "-o", str(dest)], check=True)
    return dest


def cleanup_daemon(d: Daemon) -> None:
    """Stop the daemon and everything it started: containers, mounts, state dirs."""
    if d.proc is not None:
        try:
            ids = d.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                d.docker("rm", "-f", *ids, check=False)
            nets = d.docker("network", "ls", "-q", "--filter", "type=custom", check=False).stdout.split()
            if nets:
                d.docker("network", "rm", *nets, check=False)
        except Exception:
            pass
        d.stop()
    if d.bridge:  # the default bridge stays after dockerd stops; a test daemon's must not
        from dockyard.network import bridge, iptables

        bridge.delete_link(d.bridge)
        iptables.teardown(d.bridge)
    runc_root = d.exec_root / "runc"
    if runc_root.exists():
        for cid in os.listdir(runc_root):
            subprocess.run(["runc", "--root", str(runc_root), "delete", "-f", cid], capture_output=True)
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for m in reversed(mounts):
        if m.startswith(str(d.data_root)) or m.startswith(str(d.exec_root)):
            subprocess.run(["umount", "-l", m], capture_output=True)
    shutil.rmtree(d.exec_root, ignore_errors=True)
