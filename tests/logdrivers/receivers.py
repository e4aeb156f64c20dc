"""Log collectors on 127.0.0.1 (or a unix socket in the test's tmp dir) that decode what a driver sent into
(stream, text) pairs, each by the protocol's own rules: syslog priorities, the journal's native fields,
fluentd's MessagePack (decoded by PyPI's msgpack, not our encoder) and GELF's JSON (gzip/zlib, chunks)."""
from __future__ import annotations

import gzip
import json
import os
import re
import socket
import struct
import threading
import time
import zlib

import msgpack


class Receiver:
    """Listens on a socket, collects raw messages in a thread; `decoded()` gives what a person would read."""

    def __init__(self, proto: str, path: str | None = None):
        self.proto = proto
        self.raw: list[bytes] = []
        self.streams: list[bytes] = []  # stream connections' bytes, one item per connection
        family = socket.AF_UNIX if proto.startswith("unix") else socket.AF_INET
        kind = socket.SOCK_STREAM if proto in ("tcp", "unix") else socket.SOCK_DGRAM
        self.sock = socket.socket(family, kind)
        if family == socket.AF_UNIX:
            self.sock.bind(path)
            self.address = path
        else:
            self.sock.bind(("127.0.0.1", 0))
            self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        if kind == socket.SOCK_STREAM:
            self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def url(self, scheme: str | None = None) -> str:
        return f"{scheme or self.proto}://{self.address}"

    def _run(self):
        conns = []
        while not self.stopped:
            try:
                if self.sock.type == socket.SOCK_STREAM:
                    conn, _ = self.sock.accept()
                    conn.settimeout(0.2)
                    conns.append(conn)
                    self.streams.append(b"")
                else:
                    self.raw.append(self.sock.recv(65536))
            except (socket.timeout, OSError):
                pass
            for i, conn in enumerate(conns):
                try:
                    data = conn.recv(65536)
                    if data:
                        self.streams[i] += data
                except (socket.timeout, OSError):
                    pass

    def wait_for(self, decode, count: int, timeout: float = 20) -> list:
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = decode(self)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return decode(self)

    def close(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()
        if self.proto.startswith("unix"):
            os.unlink(self.address)


SYSLOG_RE = re.compile(rb"<(\d+)>(?:1 \S+ \S+ (\S+) \d+ \S+ - |\w{3} [ \d]\d \d\d:\d\d:\d\d (?:\S+ )?(\S+)\[\d+\]: )(.*)")


def syslog_messages(r: Receiver) -> list[tuple]:
    """(stream, text, facility, tag): severity 6 is stdout, 3 stderr."""
    frames = r.raw + [line + b"\n" for s in r.streams for line in s.split(b"\n") if line]
    out = []
    for f in frames:
        m = SYSLOG_RE.match(f.rstrip(b"\n"))
        assert m, f"not a syslog message: {f!r}"
        pri = int(m.group(1))
        out.append(({6: "stdout", 3: "stderr"}[pri % 8], m.group(4).decode(), pri // 8,
                    (m.group(2) or m.group(3)).decode()))
    return out


def journal_entries(r: Receiver) -> list[dict]:
    entries = []
    for dgram in r.raw:
        fields, i = {}, 0
        while i < len(dgram):
            nl = dgram.index(b"\n", i)
            line = dgram[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1)
                fields[k.decode()] = v.decode()
                i = nl + 1
            else:
                (n,) = struct.unpack("<Q", dgram[nl + 1:nl + 9])
                fields[line.decode()] = dgram[nl + 9:nl + 9 + n].decode()
                i = nl + 9 + n + 1
        entries.append(fields)
    return entries


def journal_messages(r: Receiver) -> list[tuple]:
    return [({"6": "stdout", "3": "stderr"}[e["PRIORITY"]], e["MESSAGE"], e) for e in journal_entries(r)]


def fluentd_messages(r: Receiver) -> list[tuple]:
    out = []
    for data in r.streams:
        unpacker = msgpack.Unpacker(raw=False, ext_hook=lambda code, data: (code, data))
        unpacker.feed(data)
        for tag, when, record, *_ in unpacker:
            out.append((record["source"], record["log"], tag, record, when))
    return out


def _gelf_json(payload: bytes) -> dict:
    if payload[:2] == b"\x1f\x8b":
        payload = gzip.decompress(payload)
    elif payload[:1] == b"\x78":
        payload = zlib.decompress(payload)
    return json.loads(payload)


def gelf_messages(r: Receiver) -> list[tuple]:
    payloads, chunks = [], {}
    for d in r.raw:
        if d[:2] == b"\x1e\x0f":
            msg_id, seq, total = d[2:10], d[10], d[11]
            chunks.setdefault(msg_id, {})[seq] = d[12:]
            if len(chunks[msg_id]) == total:
                payloads.append(b"".join(chunks[msg_id][i] for i in range(total)))
        else:
            payloads.append(d)
    for s in r.streams:
        payloads += [p for p in s.split(b"\0") if p]
    out = []
    for p in payloads:
        m = _gelf_json(p)
        out.append(({6: "stdout", 3: "stderr"}[m["level"]], m["short_message"], m))
    return out
