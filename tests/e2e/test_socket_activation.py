"""`dockyardd -H fd://` as systemd's dockyard.socket starts it: the socket is opened by someone else and handed
over as fd 3 with LISTEN_PID/LISTEN_FDS; the daemon serves the real docker CLI on it and leaves it in place."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .daemon_harness import ROOT, cleanup_daemon, new_daemon, wait_for

ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"


def start_activated(d, *host_args):
    """The daemon as systemd's dockyard.socket starts it: systemd's own socket-activation tool listens on the
    socket and hands it over as fd 3 (LISTEN_FDS=1, LISTEN_PID)."""
    d.log_file = open(d.log_path, "ab")
    argv = [sys.executable, "-m", "dockyard.cmd.dockyardd", *host_args, "--data-root", str(d.data_root),
            "--exec-root", str(d.exec_root), *d.network_args()]
    passed = [f"--setenv={k}" for k in ("PATH", "PYTHONPATH") if k in os.environ]
    d.proc = subprocess.Popen([ACTIVATE, "--listen", str(d.socket), *passed, *argv], env=d.env(),
                              stdout=d.log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    wait_for(d.socket.exists, what="the socket (systemd's part: it listens before any client comes)")
    return d


def test_daemon_serves_the_socket_systemd_passed(tmp_path):
    d = start_activated(new_daemon(tmp_path / "d"), "-H", "fd://")
    try:
        # The first connection starts the daemon (as with dockyard.socket); the CLI's request waits in the backlog.
        out = d.docker("version", "--format", "{{.Server.Os}}", timeout=60).stdout
        assert out.strip() == "linux"
        assert d.docker("info", "--format", "{{.Containers}}").stdout.strip() == "0"
        assert d.stop() == 0
        assert d.socket.exists()  # systemd's socket: the daemon does not remove it
    finally:
        cleanup_daemon(d)


def test_fd_host_without_activation_exits_with_dockerds_message(tmp_path):
    d = new_daemon(tmp_path / "d")
    p = subprocess.run([sys.executable, "-m", "dockyard.cmd.dockyardd", "-H", "fd://", "--data-root", str(d.data_root),
                        "--exec-root", str(d.exec_root), *d.network_args()], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    try:
        assert p.returncode == 1
        assert ("no sockets found via socket activation: make sure the service was started by systemd"
                in p.stderr)
    finally:
        cleanup_daemon(d)
