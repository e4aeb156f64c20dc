"""Network failures in Go's words (what dockerd and the docker CLI print), for every part that dials out."""
from __future__ import annotations

import socket


def lookup_error(host: str, err: socket.gaierror, resolv_conf: str = "/etc/resolv.conf") -> str:
    """A failed name lookup in Go's words (net.DNSError), which is what docker prints.

    An unknown name reads as Go's own resolver says it (`lookup H on 10.0.0.2:53: no such host`); other
    failures carry getaddrinfo's text as Go's cgo resolver does (`lookup H: Temporary failure in name
    resolution`). Python's gaierror codes are negative EAI_* values, meaningless to os.strerror.
    """
    if err.errno in _EAI_NOT_FOUND:
        server = _first_nameserver(resolv_conf)
        return f"lookup {host}" + (f" on {server}" if server else "") + ": no such host"
    return f"lookup {host}: {err.strerror or 'unknown error'}"


# EAI_NODATA only exists in glibc's socket module
_EAI_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _first_nameserver(resolv_conf: str) -> str:
    """host:port of the first resolver, as Go's DNSError.Server names it ("" when there is none)."""
    try:
        lines = open(resolv_conf).read().splitlines()
    except OSError:
        return ""
    for line in lines:
        words = line.split()
        if len(words) > 1 and words[0] == "nameserver":
            return f"[{words[1]}]:53" if ":" in words[1] else f"{words[1]}:53"
    return ""
