"""The syslog driver: each line as one syslog message (stdout at severity info, stderr at err), over udp,
tcp, a unix socket, or the local syslog (/dev/log) when no address is given; formats and options as moby's
(daemon/logger/syslog with srslog's formatters)."""
from __future__ import annotations

import os
import socket
import time

from .base import DEFAULT_TAG, ContainerInfo, Message, render_tag
from .net import dial, scheme_and_rest, split_host_port

OPTS = ("env", "env-regex", "labels", "labels-regex", "syslog-address", "syslog-facility", "syslog-tls-ca-cert",
        "syslog-tls-cert", "syslog-tls-key", "syslog-tls-skip-verify", "tag", "syslog-format")
FACILITIES = {name: i for i, name in enumerate(
    ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"))}
FACILITIES.update({f"local{i}": 16 + i for i in range(8)})
LOCAL_SOCKETS = ("/dev/log", "/var/run/syslog", "/var/run/log")
SEVERITY = {"stdout": 6, "stderr": 3}  # LOG_INFO, LOG_ERR
FORMATS = ("", "rfc3164", "rfc5424", "rfc5424micro")


def parse_address(address: str) -> tuple[str, object]:
    """("", None) for the local syslog, else (proto, path or (host, port))."""
    if not address:
        return "", None
    scheme, rest = scheme_and_rest(address)
    if scheme in ("unix", "unixgram"):
        os.stat(rest)  # moby checks the socket exists: "stat PATH: no such file or directory"
        return scheme, rest
    if scheme == "tcp+tls":
        raise ValueError("syslog-address: tcp+tls is not supported by dockyard")
    if scheme not in ("udp", "tcp"):
        raise ValueError(f"unsupported scheme: '{scheme}'")
    return scheme, split_host_port(rest, 514)


def parse_facility(value: str) -> int:
    if not value:
        return FACILITIES["daemon"]
    if value in FACILITIES:
        return FACILITIES[value]
    if value.isdigit() and 0 <= int(value) <= 23:
        return int(value)
    raise ValueError("invalid syslog facility")


def validate(opts: dict) -> None:
    for key in opts:
        if key not in OPTS:
            raise ValueError(f"unknown log opt '{key}' for syslog log driver")
    try:
        parse_address(opts.get("syslog-address", ""))
    except FileNotFoundError as err:
        raise ValueError(f"stat {err.filename}: no such file or directory") from None
    parse_facility(opts.get("syslog-facility", ""))
    if opts.get("syslog-format", "") not in FORMATS:
        raise ValueError("invalid syslog format")


class Syslog:
    name = "syslog"

    def __init__(self, opts: dict, info: ContainerInfo):
        self.proto, self.address = parse_address(opts.get("syslog-address", ""))
        self.facility = parse_facility(opts.get("syslog-facility", ""))
        self.format = opts.get("syslog-format", "")
        self.tag = render_tag(opts.get("tag") or DEFAULT_TAG, info)
        self.hostname = info.hostname or socket.gethostname()
        self.sock = self._connect()

    def _connect(self) -> socket.socket:
        if self.proto:
            return dial(self.proto, self.address)
        for path in LOCAL_SOCKETS:  # srslog's unixSyslog: datagram, then stream
            for proto in ("unixgram", "unix"):
                try:
                    return dial(proto, path)
                except OSError:
                    continue
        raise OSError("Unix syslog delivery error")

    def format_message(self, msg: Message) -> bytes:
        pri = self.facility * 8 + SEVERITY[msg.stream]
        content = msg.line.decode("utf-8", "replace")
        pid = os.getpid()
        secs = msg.time_ns / 1e9
        if self.format.startswith("rfc5424"):
            stamp = _rfc3339(secs, micro=self.format == "rfc5424micro")
            text = f"<{pri}>1 {stamp} {self.hostname} {self.tag} {pid} {self.tag} - {content}"
        elif self.format == "rfc3164":
            text = f"<{pri}>{_stamp(secs)} {self.hostname} {self.tag}[{pid}]: {content}"
        else:  # srslog's UnixFormatter, moby's default
            text = f"<{pri}>{_stamp(secs)} {self.tag}[{pid}]: {content}"
        return (text if text.endswith("\n") else text + "\n").encode()

    def log(self, msg: Message) -> None:
        if not msg.line:
            return
        data = self.format_message(msg)
        try:
            self.sock.sendall(data)
        except OSError:  # the collector went away: reconnect once, as srslog's writeAndRetry
            try:
                self.sock.close()
                self.sock = self._connect()
                self.sock.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def _stamp(secs: float) -> str:
    """Go's time.Stamp, "Jan _2 15:04:05", in local time as srslog writes it."""
    t = time.localtime(secs)
    return time.strftime("%b ", t) + f"{t.tm_mday:>2}" + time.strftime(" %H:%M:%S", t)


def _rfc3339(secs: float, micro: bool) -> str:
    t = time.localtime(secs)
    off = t.tm_gmtoff
    zone = "Z" if off == 0 else f"{'+' if off > 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
    frac = f".{int(secs * 1e6) % 1_000_000:06d}" if micro else ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + frac + zone
