"""`dockyardd -H fd://` as systemd's dockyard.socket starts it: the socket is opened by someone else and handed
over as fd 3 with LISTEN_PID/LISTEN_FDS; the daemon serves the real docker CLI on it and leaves it in place."""
from __future__ import annotations

import socket
import subprocess
import sys

from .daemon_harness import ROOT, cleanup_daemon, new_daemon

# What systemd does before exec: the listening socket at fd 3, LISTEN_PID naming the daemon's own pid.
ACTIVATE = 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@" 3<&"$SOCKET_FD"'


def start_activated(d, *host_args):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d.socket))
    sock.listen(16)
    d.log_file = open(d.log_path, "ab")
    argv = [sys.executable, "-m", "dockyard.daemon", *host_args, "--data-root", str(d.data_root),
            "--exec-root", str(d.exec_root), *d.network_args()]
    d.proc = subprocess.Popen(["bash", "-c", ACTIVATE, "activate", *argv], env=d.env(SOCKET_FD=str(sock.fileno())),
                              pass_fds=(sock.fileno(),), stdout=d.log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    sock.close()  # the daemon holds it now, as systemd would keep holding its copy
    return d


def test_daemon_serves_the_socket_systemd_passed(tmp_path):
    d = start_activated(new_daemon(tmp_path / "d"), "-H", "fd://")
    try:
        # The socket accepted connections before the daemon was ready (the backlog): version waits for it.
        out = d.docker("version", "--format", "{{.Server.Os}}", timeout=60).stdout
        assert out.strip() == "linux"
        assert d.docker("info", "--format", "{{.Containers}}").stdout.strip() == "0"
        assert d.stop() == 0
        assert d.socket.exists()  # systemd's socket: the daemon does not remove it
    finally:
        cleanup_daemon(d)


def test_fd_host_without_activation_exits_with_dockerds_message(tmp_path):
    d = new_daemon(tmp_path / "d")
    p = subprocess.run([sys.executable, "-m", "dockyard.daemon", "-H", "fd://", "--data-root", str(d.data_root),
                        "--exec-root", str(d.exec_root), *d.network_args()], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    try:
        assert p.returncode == 1
        assert ("no sockets found via socket activation: make sure the service was started by systemd"
                in p.stderr)
    finally:
        cleanup_daemon(d)
