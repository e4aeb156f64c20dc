"""The gelf driver: each line as a GELF 1.1 message (Graylog), over udp (gzip, zlib or no compression,
chunked above the datagram size) or tcp (null-terminated), with moby's fields, options and errors."""
from __future__ import annotations

import gzip
import json
import os
import socket
import zlib

from .base import DEFAULT_TAG, ContainerInfo, Message, render_tag
from .net import dial, scheme_and_rest, split_host_port

OPTS = ("gelf-address", "tag", "labels", "labels-regex", "env", "env-regex", "gelf-compression-level",
        "gelf-compression-type", "gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay")
LEVEL = {"stdout": 6, "stderr": 3}
CHUNK_SIZE = 1420        # go-gelf's ChunkSize
MAX_CHUNKS = 128


def parse_address(address: str) -> tuple[str, tuple[str, int]]:
    if not address:
        raise ValueError("gelf-address is a required parameter")
    if "://" not in address:
        raise ValueError(f"gelf-address should be in form proto://address, got {address}")
    scheme, rest = scheme_and_rest(address)
    if scheme not in ("udp", "tcp"):
        raise ValueError("gelf: endpoint needs to be TCP or UDP")
    try:
        return scheme, split_host_port(rest)
    except ValueError:
        raise ValueError("gelf: please provide gelf-address as proto://host:port") from None


def validate(opts: dict) -> None:
    scheme, _ = parse_address(opts.get("gelf-address", ""))
    for key, value in opts.items():
        if key in ("gelf-compression-level", "gelf-compression-type"):
            if scheme != "udp":
                raise ValueError("compression is only supported on UDP")
            ok = (value in ("gzip", "zlib", "none") if key == "gelf-compression-type"
                  else value.lstrip("-").isdigit() and -1 <= int(value) <= 9)
            if not ok:
                raise ValueError(f'unknown value "{value}" for log opt "{key}" for gelf log driver')
        elif key in ("gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay"):
            if scheme != "tcp":
                raise ValueError(f'"{key}" is only valid for TCP')
            if not value.isdigit():
                raise ValueError(f'"{key}" must be a positive integer')
        elif key not in OPTS:
            raise ValueError(f'unknown log opt "{key}" for gelf log driver')


class Gelf:
    name = "gelf"

    def __init__(self, opts: dict, info: ContainerInfo):
        self.proto, self.address = parse_address(opts.get("gelf-address", ""))
        self.compression = opts.get("gelf-compression-type", "gzip")
        self.level = int(opts.get("gelf-compression-level", "-1"))
        self.hostname = info.hostname or socket.gethostname()
        extra = {"_container_id": info.id, "_container_name": info.name, "_image_id": info.image_id,
                 "_image_name": info.image_name, "_command": info.command,
                 "_tag": render_tag(opts.get("tag") or DEFAULT_TAG, info), "_created": info.created}
        extra.update({(k if k.startswith("_") else "_" + k): v for k, v in info.attrs.items()})
        self.extra = extra
        try:
            self.sock = dial(self.proto, self.address)
        except OSError as err:
            raise OSError(err.errno, f"gelf: cannot connect to GELF endpoint: {self.address[0]}:{self.address[1]} "
                                     f"{err.strerror}") from None

    def message(self, msg: Message) -> dict:
        return {"version": "1.1", "host": self.hostname, "short_message": msg.line.decode("utf-8", "replace"),
                "timestamp": (msg.time_ns // 1_000_000) / 1000.0, "level": LEVEL[msg.stream], **self.extra}

    def log(self, msg: Message) -> None:
        data = json.dumps(self.message(msg), separators=(",", ":")).encode()
        try:
            if self.proto == "tcp":
                self.sock.sendall(data + b"\0")
            else:
                for datagram in self._datagrams(self._compress(data)):
                    self.sock.send(datagram)
        except OSError:
            pass  # UDP has no peer to lose; a TCP one that went away loses this line, the container goes on

    def _compress(self, data: bytes) -> bytes:
        if self.compression == "none":
            return data
        if self.compression == "zlib":
            return zlib.compress(data, self.level)
        return gzip.compress(data, 6 if self.level < 0 else self.level)

    @staticmethod
    def _datagrams(data: bytes) -> list[bytes]:
        """GELF chunking: magic 0x1e0f, an 8-byte message id, sequence number and count, then the piece."""
        if len(data) <= CHUNK_SIZE:
            return [data]
        pieces = [data[i:i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)][:MAX_CHUNKS]
        msg_id = os.urandom(8)
        return [b"\x1e\x0f" + msg_id + bytes([i, len(pieces)]) + p for i, p in enumerate(pieces)]

    def close(self) -> None:
        self.sock.close()
