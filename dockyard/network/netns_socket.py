"""A socket opened inside another network namespace (the embedded DNS of macvlan/ipvlan networks listens on
127.0.0.11 inside each container, as dockerd's does, because those containers cannot reach the host).

A socket belongs to the namespace it was created in, whichever thread later uses it, so it is made by a thread
inside the namespace (netns_thread).
"""
from __future__ import annotations

import socket

from .netns_thread import run_in_netns


def udp_socket_in(netns: str, address: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to address:port inside the namespace bound at `netns`."""

    def bound() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    return run_in_netns(netns, bound)
