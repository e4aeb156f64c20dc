"""Sockets to a log destination, as Go's net.Dial reports failures ("dial tcp 127.0.0.1:514: connect:
connection refused"), so start errors read as dockerd's."""
from __future__ import annotations

import errno
import os
import socket
from urllib.parse import urlsplit

TIMEOUT = 5.0

_GO_ERRNO = {errno.ECONNREFUSED: "connection refused", errno.ENOENT: "no such file or directory",
             errno.ETIMEDOUT: "connection timed out", errno.EHOSTUNREACH: "no route to host",
             errno.ENETUNREACH: "network is unreachable", errno.EACCES: "permission denied",
             errno.EPROTOTYPE: "protocol wrong type for socket"}


def split_host_port(hostport: str, default_port: int | None = None) -> tuple[str, int]:
    """Go's net.SplitHostPort, with the default port where moby allows a missing one (ValueError otherwise)."""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif hostport.count(":") > 1:
        raise ValueError(f"address {hostport}: too many colons in address")
    else:
        host, _, port = hostport.partition(":")
    if not port:
        if default_port is None:
            raise ValueError(f"address {hostport}: missing port in address")
        return host, default_port
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"address {hostport}: invalid port")
    return host, int(port)


def scheme_and_rest(address: str) -> tuple[str, str]:
    parts = urlsplit(address)
    if parts.scheme in ("unix", "unixgram"):
        return parts.scheme, parts.path
    return parts.scheme, parts.netloc


def dial(proto: str, address) -> socket.socket:
    """A connected socket: proto tcp, udp, unix (stream) or unixgram; address (host, port) or a path."""
    family = socket.AF_UNIX if proto.startswith("unix") else socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    kind = socket.SOCK_STREAM if proto in ("tcp", "unix") else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect(address)
    except OSError as err:
        sock.close()
        where = address if isinstance(address, str) else f"{address[0]}:{address[1]}"
        reason = _GO_ERRNO.get(err.errno, os.strerror(err.errno) if err.errno else str(err))
        raise OSError(err.errno, f"dial {proto} {where}: connect: {reason}") from None
    return sock
