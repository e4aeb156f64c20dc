"""Docker's stdcopy framing of a non-TTY container stream, shared by the daemon (writes it) and the client
(reads it), so neither imports the other. A frame is [stream, 0, 0, 0, uint32 big-endian length] + payload."""
from __future__ import annotations

import struct
from typing import Callable, Iterator

STDIN, STDOUT, STDERR, SYSTEM = 0, 1, 2, 3
_HEADER = struct.Struct(">BxxxL")


def frame(stream: int, data: bytes) -> bytes:
    return _HEADER.pack(stream, len(data)) + data


def demux(read: Callable[[int], bytes]) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) of each frame read from a read(n) callable, until it returns b""."""
    buf = b""
    while True:
        while len(buf) < 8:
            chunk = read(65536)
            if not chunk:
                return
            buf += chunk
        stream, size = _HEADER.unpack(buf[:8])
        while len(buf) < 8 + size:
            chunk = read(65536)
            if not chunk:
                return
            buf += chunk
        yield stream, buf[8:8 + size]
        buf = buf[8 + size:]
