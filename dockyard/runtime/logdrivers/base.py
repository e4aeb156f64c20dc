"""What every log driver shares: the message a driver receives, the line splitting in front of all drivers,
the container facts a driver may quote (moby's logger.Info) and the `tag` template.

Standard library only: the monitor (runtime/monitor.py) imports this package.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Protocol

LINE_MAX = 16 * 1024  # docker splits longer lines into several entries, the first ones partial


@dataclass
class Message:
    stream: str            # "stdout" or "stderr"
    line: bytes            # without its newline
    time_ns: int
    partial: bool = False  # a piece of a longer line, or output that ended without a newline


class LogDriver(Protocol):
    """A destination of container output. `log` must not raise for a delivery failure after the driver was
    opened (the container keeps running, as with moby's non-fatal driver errors); opening raises OSError or
    ValueError when the destination cannot be reached, which fails the container's start."""
    name: str

    def log(self, msg: Message) -> None: ...

    def close(self) -> None: ...


@dataclass
class ContainerInfo:
    """moby's logger.Info: what `tag` templates and drivers' extra fields show."""
    id: str = ""
    name: str = ""             # without the leading "/"
    image_id: str = ""         # sha256:<hex>
    image_name: str = ""
    command: str = ""
    created: str = ""          # RFC 3339
    hostname: str = ""         # the host's name (GELF's host, syslog's HOSTNAME)
    attrs: dict = field(default_factory=dict)  # --log-opt labels/env/...-regex picks

    @classmethod
    def from_dict(cls, d: dict) -> "ContainerInfo":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


DEFAULT_TAG = "{{.ID}}"
_TAG_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def render_tag(template: str, info: ContainerInfo) -> str:
    """The `tag` log option: moby's loggerutils.ParseLogTag over the fields a tag template may name."""
    fields = {
        "ID": info.id[:12], "FullID": info.id, "Name": info.name,
        "ImageID": info.image_id.removeprefix("sha256:")[:12], "ImageFullID": info.image_id,
        "ImageName": info.image_name, "DaemonName": "docker", "Command": info.command,
    }

    def field_value(m: re.Match) -> str:
        if m.group(1) not in fields:
            raise ValueError(f'template: log-tag:1:{m.start() + 3}: executing "log-tag" at <.{m.group(1)}>: '
                             f"can't evaluate field {m.group(1)} in type *logger.Info")
        return fields[m.group(1)]

    return _TAG_FIELD.sub(field_value, template)


def now_ns() -> int:
    return time.time_ns()


class LineSplitter:
    """Turns a stream's output into messages, one per line (split at LINE_MAX), as moby's copier does;
    a trailing piece without newline waits for more output and is sent as partial on flush."""

    def __init__(self):
        self.pending = {"stdout": b"", "stderr": b""}

    def feed(self, stream: str, data: bytes) -> list[Message]:
        buf = self.pending[stream] + data
        out = []
        t = now_ns()
        while True:
            nl = buf.find(b"\n", 0, LINE_MAX + 1)
            if nl >= 0:
                out.append(Message(stream, buf[:nl], t))
                buf = buf[nl + 1:]
            elif len(buf) >= LINE_MAX:
                out.append(Message(stream, buf[:LINE_MAX], t, partial=True))
                buf = buf[LINE_MAX:]
            else:
                break
        self.pending[stream] = buf
        return out

    def flush(self) -> list[Message]:
        out = [Message(s, b, now_ns(), partial=True) for s, b in self.pending.items() if b]
        self.pending = {"stdout": b"", "stderr": b""}
        return out
