"""Work done inside a network namespace by a short-lived thread of its own.

unshare(2) and setns(2) move only the calling thread, so the work gets a fresh thread that enters (or
creates) the namespace and ends there: no pool thread is ever left in a container's namespace. What the work
opens or starts belongs to the namespace: a socket is made in it for good, and a process it forks (an
`ip -batch`) runs in it, as do the /proc/sys/net files it writes.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from typing import Callable, TypeVar

from ..store.snapshots.mount import MS_BIND, mount

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

T = TypeVar("T")


def _os_error(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def _enter(netns: str) -> None:
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise _os_error(f"setns {netns}")
    finally:
        os.close(fd)


def _create(netns: str) -> None:
    """A new namespace, bound on the (existing) file `netns` so that it outlives every process in it."""
    if _libc.unshare(CLONE_NEWNET) != 0:
        raise _os_error("unshare")
    mount("/proc/thread-self/ns/net", netns, "", flags=MS_BIND)


def run_in_netns(netns: str, work: Callable[[], T], create: bool = False) -> T:
    """work() run inside the namespace bound at `netns` (created and bound there first if `create`)."""
    result: dict = {}

    def body() -> None:
        try:
            (_create if create else _enter)(netns)
            result["value"] = work()
        except BaseException as err:  # handed to the caller's thread
            result["err"] = err

    thread = threading.Thread(target=body, name="netns")
    thread.start()
    thread.join()
    if "err" in result:
        raise result["err"]
    return result["value"]
