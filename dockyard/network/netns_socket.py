"""A socket opened inside another network namespace (the embedded DNS of macvlan/ipvlan networks listens on
127.0.0.11 inside each container, as dockerd's does, because those containers cannot reach the host).

A socket belongs to the namespace it was created in, whichever thread later uses it, so a short-lived thread
enters the namespace (setns affects only the calling thread), makes and binds the socket, and ends.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def udp_socket_in(netns: str, address: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to address:port inside the namespace bound at `netns`."""
    result: dict = {}

    def work() -> None:
        try:
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((address, port))
            except OSError:
                sock.close()
                raise
            sock.setblocking(False)
            result["sock"] = sock
        except BaseException as err:  # handed to the caller's thread
            result["err"] = err

    t = threading.Thread(target=work, name="netns-socket")
    t.start()
    t.join()
    if "err" in result:
        raise result["err"]
    return result["sock"]
