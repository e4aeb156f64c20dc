"""The few MessagePack encodings fluentd's forward protocol needs (nil, bool, int, float, str, bytes,
arrays, maps, and fluentd's EventTime extension), so the monitor stays standard library only."""
from __future__ import annotations

import struct


class EventTime:
    """Fluentd's EventTime: extension type 0, seconds and nanoseconds as two big-endian uint32."""

    def __init__(self, time_ns: int):
        self.secs, self.nanos = divmod(time_ns, 1_000_000_000)


def packb(obj) -> bytes:
    out = bytearray()
    _pack(obj, out)
    return bytes(out)


def _pack(obj, out: bytearray) -> None:
    if obj is None:
        out.append(0xC0)
    elif obj is True or obj is False:
        out.append(0xC3 if obj else 0xC2)
    elif isinstance(obj, int):
        _pack_int(obj, out)
    elif isinstance(obj, float):
        out += b"\xcb" + struct.pack(">d", obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8", "surrogateescape")
        n = len(data)
        out += (bytes([0xA0 | n]) if n < 32 else b"\xd9" + bytes([n]) if n < 256
                else b"\xda" + struct.pack(">H", n) if n < 65536 else b"\xdb" + struct.pack(">I", n)) + data
    elif isinstance(obj, (bytes, bytearray)):
        n = len(obj)
        out += (b"\xc4" + bytes([n]) if n < 256 else b"\xc5" + struct.pack(">H", n) if n < 65536
                else b"\xc6" + struct.pack(">I", n)) + obj
    elif isinstance(obj, (list, tuple)):
        n = len(obj)
        out += bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n) if n < 65536 else b"\xdd" + struct.pack(">I", n)
        for item in obj:
            _pack(item, out)
    elif isinstance(obj, dict):
        n = len(obj)
        out += bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n) if n < 65536 else b"\xdf" + struct.pack(">I", n)
        for k, v in obj.items():
            _pack(k, out)
            _pack(v, out)
    elif isinstance(obj, EventTime):
        out += b"\xd7\x00" + struct.pack(">II", obj.secs, obj.nanos)  # fixext 8, type 0
    else:
        raise TypeError(f"cannot pack {type(obj).__name__}")


def _pack_int(n: int, out: bytearray) -> None:
    if 0 <= n < 128:
        out.append(n)
    elif -32 <= n < 0:
        out += struct.pack("b", n)
    elif n >= 0:
        for code, fmt, limit in ((0xCC, ">B", 1 << 8), (0xCD, ">H", 1 << 16), (0xCE, ">I", 1 << 32), (0xCF, ">Q", 1 << 64)):
            if n < limit:
                out += bytes([code]) + struct.pack(fmt, n)
                return
        raise OverflowError(n)
    else:
        for code, fmt, limit in ((0xD0, ">b", 1 << 7), (0xD1, ">h", 1 << 15), (0xD2, ">i", 1 << 31), (0xD3, ">q", 1 << 63)):
            if -limit <= n:
                out += bytes([code]) + struct.pack(fmt, n)
                return
        raise OverflowError(n)
