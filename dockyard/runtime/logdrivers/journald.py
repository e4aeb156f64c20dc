"""The journald driver: each line as a journal entry over the journal's native protocol (a datagram of
FIELD=value lines on /run/systemd/journal/socket), with the fields moby's journald driver sets."""
from __future__ import annotations

import os
import socket
import struct

from .base import DEFAULT_TAG, ContainerInfo, Message, render_tag

OPTS = ("tag", "labels", "labels-regex", "env", "env-regex")
PRIORITY = {"stdout": b"6", "stderr": b"3"}


def journal_socket() -> str:
    # A journal elsewhere than systemd's path (a test's own collector) is named by the daemon's environment.
    return os.environ.get("DOCKYARD_JOURNAL_SOCKET", "/run/systemd/journal/socket")


def validate(opts: dict) -> None:
    for key in opts:
        if key not in OPTS:
            raise ValueError(f"unknown log opt '{key}' for journald log driver")


def _field(name: str, value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    if b"\n" in data:  # the protocol's binary form: name, newline, little-endian 64-bit length, value
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def _field_name(key: str) -> str:
    """Journal field names are upper case letters, digits and underscores, not starting with one."""
    name = "".join(c if c.isalnum() else "_" for c in key.upper()).lstrip("_")
    return name or "FIELD"


class Journald:
    name = "journald"

    def __init__(self, opts: dict, info: ContainerInfo):
        path = journal_socket()
        if not os.path.exists(path):
            raise OSError("journald is not enabled on this host")
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        tag = render_tag(opts.get("tag") or DEFAULT_TAG, info)
        fields = {"CONTAINER_ID": info.id[:12], "CONTAINER_ID_FULL": info.id, "CONTAINER_NAME": info.name,
                  "CONTAINER_TAG": tag, "IMAGE_NAME": info.image_name, "SYSLOG_IDENTIFIER": tag}
        fields.update({_field_name(k): v for k, v in info.attrs.items()})
        self.common = b"".join(_field(k, v) for k, v in fields.items())

    def log(self, msg: Message) -> None:
        entry = _field("MESSAGE", msg.line) + _field("PRIORITY", PRIORITY[msg.stream]) + self.common
        if msg.partial:
            entry += _field("CONTAINER_PARTIAL_MESSAGE", "true")
        try:
            self.sock.sendto(entry, self.path)
        except OSError:
            pass  # the journal is gone or full: the container goes on, as with moby

    def close(self) -> None:
        self.sock.close()
