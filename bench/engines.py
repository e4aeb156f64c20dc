"""The engines the benchmarks compare: a dockyard daemon and, where Debian's docker.io is installed, a dockerd,
each on its own temp data root and unix socket, both driven by the same docker CLI (/usr/local/bin/docker).

dockerd runs by hand, never as the system service: its own --data-root/--exec-root/-H, --iptables=false and its
default bridge on 10.208.0.1/24 (a subnet nothing else here uses), and is stopped afterwards.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.daemon_harness import DOCKER, build_busybox_archive, cleanup_daemon, new_daemon  # noqa: E402

DOCKERD = shutil.which("dockerd")


@dataclass
class Engine:
    name: str
    socket: str
    pid: int
    stop: Callable[[], None]

    def env(self) -> dict:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "0",
                "DOCKER_CLI_HINTS": "false"}

    def docker(self, *args, check=True, input=None, timeout=3600) -> subprocess.CompletedProcess:
        p = subprocess.run([DOCKER, *args], env=self.env(), capture_output=True, input=input, timeout=timeout)
        if check and p.returncode:
            raise RuntimeError(f"docker {' '.join(args[:4])} ... exited {p.returncode}: {p.stderr[-2000:]!r}")
        return p


def busybox_tar(work: Path) -> Path:
    return build_busybox_archive(work / "busybox.tar")


KEPT_LOG = Path(tempfile.gettempdir()) / "dockyard-bench-daemon.log"  # the last dockyard run's log (stalls)


def start_dockyard(work: Path, extra_env: dict | None = None) -> Engine:
    d = new_daemon(work / "dockyard")
    d.own_session = True  # as dockerd below and `make daemon`: not in the load generator's session
    extra_env = {"DOCKYARD_STALL_MS": "50", **(extra_env or {})}
    old = dict(os.environ)
    os.environ.update(extra_env or {})
    try:
        d.start(timeout=60)
    finally:
        os.environ.clear()
        os.environ.update(old)
    def stop() -> None:
        cleanup_daemon(d)
        shutil.copy(d.log_path, KEPT_LOG)

    e = Engine("dockyard", str(d.socket), d.proc.pid, stop)
    e.log_path = d.log_path
    return e


def start_dockerd(work: Path) -> Engine | None:
    if DOCKERD is None:
        return None
    exec_root = Path(tempfile.mkdtemp(prefix="dyd", dir="/run"))
    data_root = work / "dockerd"
    sock = exec_root / "docker.sock"
    log = open(work / "dockerd.log", "ab")
    proc = subprocess.Popen([DOCKERD, "--data-root", str(data_root), "--exec-root", str(exec_root),
                             "-H", f"unix://{sock}", "--pidfile", str(exec_root / "docker.pid"),
                             "--iptables=false", "--ip6tables=false", "--bip", "10.208.0.1/24",
                             "--storage-driver", "overlay2"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        e.docker("rm", "-f", *e.docker("ps", "-aq", check=False).stdout.decode().split(), check=False)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run(["ip", "link", "del", "docker0"], capture_output=True)
        for line in reversed(Path("/proc/self/mountinfo").read_text().splitlines()):
            m = line.split()[4]
            if m.startswith((str(data_root), str(exec_root))):
                subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(exec_root, ignore_errors=True)
        shutil.rmtree(data_root, ignore_errors=True)

    e = Engine("dockerd", str(sock), proc.pid, stop)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited: {(work / 'dockerd.log').read_text()[-2000:]}")
        if sock.exists() and e.docker("version", check=False).returncode == 0:
            return e
        time.sleep(0.2)
    stop()
    raise RuntimeError("dockerd did not come up")


def each_engine(which: str, prefix: str) -> Iterator[tuple[Engine, Path]]:
    """The engines named in `which` ("dockyard", "dockerd" or "both"), one at a time, each started on a fresh
    temp dir and stopped when the caller moves on; dockerd is skipped where it is not installed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    starters = {"dockyard": start_dockyard, "dockerd": start_dockerd}
    try:
        for name in (("dockyard", "dockerd") if which == "both" else (which,)):
            engine = starters[name](work)
            if engine is None:
                continue
            try:
                yield engine, work
            finally:
                engine.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
