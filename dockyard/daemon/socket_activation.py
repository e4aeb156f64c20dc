"""Sockets handed over by systemd (socket activation), for `-H fd://` and `-H fd://N` as dockerd takes them.

systemd passes LISTEN_FDS sockets starting at fd 3, with LISTEN_PID naming the process they are for (sd_listen_fds).
`fd://` means all of them, `fd://N` the one with descriptor N.
"""
from __future__ import annotations

import os

from ..errors import DockyardError

FIRST_FD = 3  # SD_LISTEN_FDS_START
ENV_KEYS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def listen_fds(environ: dict, pid: int) -> list[int]:
    """The descriptors systemd passed to this process; none when the variables are absent or meant for another
    process (a child that inherited them)."""
    try:
        if int(environ.get("LISTEN_PID", "")) != pid:
            return []
        count = int(environ.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    return list(range(FIRST_FD, FIRST_FD + max(count, 0)))


def fds_for_host(host: str, fds: list[int]) -> list[int]:
    """The descriptors an `fd://` host names, with dockerd's errors when systemd passed none or not that one."""
    spec = host[len("fd://"):]
    if not fds:
        raise DockyardError("no sockets found via socket activation: make sure the service was started by systemd")
    if spec in ("", "*"):
        return fds
    try:
        fd = int(spec)
    except ValueError:
        raise DockyardError(f"failed to parse systemd fd address: should be a number: {spec}")
    if fd not in fds:
        raise DockyardError("too few socket activated files passed in by systemd")
    return [fd]


def take_listen_fds() -> list[int]:
    """This process's activated sockets, made close-on-exec and with the variables removed, so that runc, the
    monitors and other children neither inherit the sockets nor believe they were meant for them."""
    fds = listen_fds(dict(os.environ), os.getpid())
    for key in ENV_KEYS:
        os.environ.pop(key, None)
    for fd in fds:
        os.set_inheritable(fd, False)
    return fds
