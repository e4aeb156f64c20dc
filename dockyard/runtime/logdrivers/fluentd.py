"""The fluentd driver: each line as a record `{container_id, container_name, source, log, ...}` in the
forward protocol's Message mode (`[tag, time, record, option]`, MessagePack) over tcp or a unix socket,
with moby's options, defaults (tcp 127.0.0.1:24224, tag {{.ID}}) and errors."""
from __future__ import annotations

import socket

from .base import DEFAULT_TAG, ContainerInfo, Message, render_tag
from .msgpack import EventTime, packb
from .net import dial, split_host_port

OPTS = ("env", "env-regex", "labels", "labels-regex", "tag", "fluentd-address", "fluentd-async",
        "fluentd-async-connect", "fluentd-async-reconnect-interval", "fluentd-buffer-limit",
        "fluentd-max-retries", "fluentd-request-ack", "fluentd-retry-wait", "fluentd-sub-second-precision",
        "fluentd-write-timeout", "fluentd-read-timeout")
BOOL_OPTS = ("fluentd-async", "fluentd-async-connect", "fluentd-request-ack", "fluentd-sub-second-precision")


def parse_address(address: str) -> tuple[str, object]:
    """(proto, (host, port) or path), as moby's fluentd parseAddress, its errors wrapped as dockerd does."""
    if not address:
        return "tcp", ("127.0.0.1", 24224)
    url = address if "://" in address else "tcp://" + address
    scheme, _, rest = url.partition("://")
    try:
        if scheme == "unix":
            if not rest.strip("/"):
                raise ValueError("path is empty")
            return "unix", rest
        if scheme not in ("tcp", "tls"):
            raise ValueError(f"unsupported scheme: '{scheme}'")
        if scheme == "tls":
            raise ValueError("tls is not supported by dockyard")
        host, slash, path = rest.partition("/")
        if slash:
            raise ValueError("should not contain a path element")
        host, port = split_host_port(host, 24224) if host else ("127.0.0.1", 24224)
        return "tcp", (host or "127.0.0.1", port)
    except ValueError as err:
        raise ValueError(f"invalid fluentd-address ({address}): {err}") from None


def _bool(opts: dict, key: str) -> bool:
    value = opts.get(key, "")
    if value == "":
        return False
    if value.lower() in ("1", "t", "true"):
        return True
    if value.lower() in ("0", "f", "false"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def validate(opts: dict) -> None:
    for key in opts:
        if key not in OPTS:
            raise ValueError(f"unknown log opt '{key}' for fluentd log driver")
    parse_address(opts.get("fluentd-address", ""))
    for key in BOOL_OPTS:
        _bool(opts, key)
    if opts.get("fluentd-async") and opts.get("fluentd-async-connect"):
        raise ValueError("conflicting options: cannot specify both 'fluentd-async' and 'fluentd-async-connect")


class Fluentd:
    name = "fluentd"

    def __init__(self, opts: dict, info: ContainerInfo):
        self.proto, self.address = parse_address(opts.get("fluentd-address", ""))
        self.tag = render_tag(opts.get("tag") or DEFAULT_TAG, info)
        self.sub_second = _bool(opts, "fluentd-sub-second-precision")
        self.base = {"container_id": info.id, "container_name": "/" + info.name, **info.attrs}
        self.sock: socket.socket | None = None
        if not (_bool(opts, "fluentd-async") or _bool(opts, "fluentd-async-connect")):
            self.sock = dial(self.proto, self.address)  # moby fails the start when fluentd is unreachable

    def record(self, msg: Message) -> list:
        rec = {**self.base, "source": msg.stream, "log": msg.line.decode("utf-8", "replace")}
        if msg.partial:
            rec["partial_message"] = "true"
        when = EventTime(msg.time_ns) if self.sub_second else msg.time_ns // 1_000_000_000
        return [self.tag, when, rec, None]

    def log(self, msg: Message) -> None:
        data = packb(self.record(msg))
        for _ in range(2):  # one reconnect, as the Go logger retries a broken connection
            try:
                if self.sock is None:
                    self.sock = dial(self.proto, self.address)
                self.sock.sendall(data)
                return
            except OSError:
                if self.sock is not None:
                    self.sock.close()
                self.sock = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
