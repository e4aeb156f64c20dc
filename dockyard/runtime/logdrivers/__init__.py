"""Log drivers: where a container's output goes besides attached clients.

Every driver is a `LogDriver` (base.py) with a `validate(opts)` of its --log-opt keys in moby's words.
`json-file` and `local` write the json-file log that `docker logs` reads; `syslog`, `journald`, `fluentd` and
`gelf` send each line elsewhere and, as dockerd's dual logging does, also keep that json-file log as a local
cache (unless `cache-disabled=true`), so `docker logs` works for them too; `none` keeps nothing.

The daemon validates options at create (`validate`) and hands the monitor a spec (`spec(...)`); the monitor
(runtime/monitor.py, standard library only) runs a `Pipeline` over it. Opening a remote driver happens at
start, in the monitor: an unreachable destination fails the start as moby's logger creation does.
"""
from __future__ import annotations

from dockyard.units import ram_in_bytes

from . import fluentd, gelf, journald, jsonfile, syslog
from .base import ContainerInfo, LineSplitter, LogDriver, Message, render_tag

REMOTE = {
    "fluentd": (fluentd.Fluentd, fluentd.validate),
    "gelf": (gelf.Gelf, gelf.validate),
    "journald": (journald.Journald, journald.validate),
    "syslog": (syslog.Syslog, syslog.validate),
}
FILE_DRIVERS = ("json-file", "local")
NAMES = sorted([*FILE_DRIVERS, *REMOTE])  # what `docker info` lists under Plugins.Log
BUILTIN_OPTS = ("mode", "max-buffer-size")  # moby's options of every driver
CACHE_OPTS = ("cache-disabled", "cache-max-size", "cache-max-file", "cache-compress")

__all__ = ["NAMES", "ContainerInfo", "LogDriver", "Message", "Pipeline", "reads_locally", "spec", "validate"]


def validate(driver: str, opts: dict) -> None:
    """moby's logger.ValidateLogOpts at create: ValueError with its message."""
    if driver == "none":
        return
    mode = opts.get("mode", "")
    if mode not in ("", "blocking", "non-blocking"):
        raise ValueError(f"logger: logging mode not supported: {mode}")
    if "max-buffer-size" in opts:
        if mode != "non-blocking":
            raise ValueError("logger: max-buffer-size option is only supported with 'mode=non-blocking'")
        try:
            ram_in_bytes(opts["max-buffer-size"])
        except ValueError as err:
            raise ValueError(f"error parsing option max-buffer-size: {err}") from None
    if driver not in NAMES:
        raise ValueError(f"logger: no log driver named '{driver}' is registered")
    if opts.get("cache-disabled", "false") not in ("true", "false"):
        raise ValueError(f'strconv.ParseBool: parsing "{opts["cache-disabled"]}": invalid syntax')
    jsonfile.rotation(opts, "cache", "cache-max-size", "cache-max-file")
    own = {k: v for k, v in opts.items() if k not in BUILTIN_OPTS + CACHE_OPTS}
    if driver in FILE_DRIVERS:
        for key in own:  # values are parsed at start, as moby's json-file New() does
            if key not in (jsonfile.OPTS if driver == "json-file" else jsonfile.LOCAL_OPTS):
                raise ValueError(f"unknown log opt '{key}' for {driver} log driver")
    else:
        REMOTE[driver][1](own)


def reads_locally(driver: str, opts: dict) -> bool:
    """Whether `docker logs` has a file to read: every driver but none, unless its cache is disabled."""
    if driver == "none":
        return False
    return driver in FILE_DRIVERS or opts.get("cache-disabled") != "true"


def spec(driver: str, opts: dict, info: ContainerInfo, log_path: str | None) -> dict:
    """What the monitor needs to log (JSON-able). Raises ValueError for option values that fail the start."""
    if driver in FILE_DRIVERS:
        max_size, max_file = jsonfile.rotation(opts, driver)
    else:
        max_size, max_file = jsonfile.rotation(opts, "cache", "cache-max-size", "cache-max-file")
    attrs = {}  # entries of json-file alone carry attributes (`docker logs --details`), as moby's
    if driver == "json-file":
        attrs = dict(info.attrs)
        if opts.get("tag"):  # a tag only when one is asked for
            attrs["tag"] = render_tag(opts["tag"], info)
    return {"driver": driver, "opts": opts, "info": vars(info),
            "path": log_path if reads_locally(driver, opts) else None,
            "max_size": max_size, "max_file": max_file, "attrs": attrs}


class Pipeline:
    """Splits output into lines and hands each to the json-file log (or cache) and the remote driver."""

    def __init__(self, log_spec: dict | None):
        self.spec = log_spec or {}
        self.splitter = LineSplitter()
        path = self.spec.get("path")
        self.file = (jsonfile.JsonFile(path, self.spec.get("max_size", -1), self.spec.get("max_file", 1),
                                       self.spec.get("attrs")) if path else None)
        self.remote: LogDriver | None = None
        # an exec's output, or a container logging to `none` with no cache, is not split into lines at all
        self.active = self.file is not None or self.spec.get("driver") in REMOTE

    def open(self) -> None:
        """Connects the remote driver; OSError/ValueError when it cannot (the start fails with it)."""
        driver = self.spec.get("driver")
        if driver in REMOTE:
            self.remote = REMOTE[driver][0](self.spec.get("opts") or {}, ContainerInfo.from_dict(self.spec["info"]))

    def write(self, stream: str, data: bytes) -> None:
        if self.active:
            self._send(self.splitter.feed(stream, data))

    def flush(self) -> None:
        self._send(self.splitter.flush())

    def _send(self, msgs: list[Message]) -> None:
        if not msgs:
            return
        if self.file is not None:
            self.file.log_many(msgs)
        if self.remote is not None:
            for m in msgs:
                self.remote.log(m)

    def close(self) -> None:
        for sink in (self.file, self.remote):
            if sink is not None:
                sink.close()
