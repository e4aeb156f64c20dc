"""Attached streams: the local terminal in raw mode, stdin pumping, stdcopy demultiplexing, resizes."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import termios
import threading
import tty as ttymod
from contextlib import contextmanager

from ..stdcopy import demux


def terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((0, 0))
    return size.lines, size.columns


@contextmanager
def raw_terminal(enabled: bool):
    """Put the local terminal in raw mode for a -t session, and always restore it."""
    if not enabled or not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    ttymod.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def on_resize(resize) -> None:
    """Call resize(h, w) now and on every SIGWINCH."""
    if not sys.stdout.isatty():
        return

    def handler(*_):
        h, w = terminal_size()
        if h and w:
            try:
                resize(h, w)
            except Exception:
                pass

    signal.signal(signal.SIGWINCH, handler)
    handler()


def pump_stdin(sock) -> threading.Thread:
    """Copy our stdin to the container; our EOF becomes a half-close (the daemon closes its stdin)."""

    def run():
        fd = sys.stdin.fileno()
        try:
            while True:
                data = os.read(fd, 32768)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            return
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def copy_output(sock, tty: bool) -> None:
    """Container output to our stdout/stderr until the daemon closes the stream."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    if tty:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            out.write(data)
            out.flush()
    for stream, data in demux(lambda n: _recv(sock, n)):
        target = err if stream == 2 else out
        target.write(data)
        target.flush()


def _recv(sock, n: int) -> bytes:
    try:
        return sock.recv(n)
    except OSError:
        return b""


# what the docker CLI never forwards (ForwardAllSignals): job control noise and what it needs itself
UNFORWARDED = {signal.SIGCHLD, signal.SIGPIPE, signal.SIGURG, signal.SIGWINCH, signal.SIGKILL, signal.SIGSTOP}


def proxy_signals(client, container_id: str) -> None:
    """--sig-proxy: signals this process receives go to the container (POST /kill), as `docker run` does."""
    from ..client import DockerClient

    def forward(signum, _frame):
        try:
            DockerClient(client.host).request("POST", f"/containers/{container_id}/kill",
                                              params={"signal": str(signum)})
        except Exception:
            pass  # the container may be gone already

    for sig in signal.valid_signals():
        if sig not in UNFORWARDED and sig < signal.SIGRTMIN:
            try:
                signal.signal(sig, forward)
            except (OSError, ValueError):
                pass
