"""Docker's json-file log: one `{"log", "stream", ["attrs",] "time"}` object per line. It is also the file
`docker logs` reads for every other driver but `none` (moby's dual logging cache), so `local` writes it too.

With a max size, an entry that finds the file at or over it first rotates the log as moby's LogFile does:
<log>.1 ... <log>.<max_file - 1> keep the older ones (renamed down), or, with max_file 1, it is emptied.
"""
from __future__ import annotations

import contextlib
import json
import os
import time

from dockyard.units import from_human_size

from .base import Message

OPTS = ("max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag")
LOCAL_OPTS = ("max-file", "max-size", "compress")


def rfc3339_nano(t_ns: int) -> str:
    secs, nanos = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}Z"


class JsonFile:
    name = "json-file"

    def __init__(self, path: str, max_size: int = -1, max_file: int = 1, attrs: dict | None = None):
        self.path, self.max_size, self.max_file = path, max_size, max_file
        self.attrs = attrs or {}  # --log-opt labels/env/tag: in every entry, as moby's "attrs"
        self.file = open(path, "ab", buffering=0)
        self.size = os.fstat(self.file.fileno()).st_size

    def log(self, msg: Message) -> None:
        self.log_many([msg])

    def log_many(self, msgs: list[Message]) -> None:
        entries = [self._entry(m) for m in msgs]
        if self.max_size <= 0:
            self.file.write(b"".join(entries))
            return
        for entry in entries:
            if self.size >= self.max_size:
                self._rotate()
            self.file.write(entry)
            self.size += len(entry)

    def _entry(self, m: Message) -> bytes:
        text = (m.line if m.partial else m.line + b"\n").decode("utf-8", "replace")
        extra = {"attrs": self.attrs} if self.attrs else {}
        return json.dumps({"log": text, "stream": m.stream, **extra, "time": rfc3339_nano(m.time_ns)}).encode() + b"\n"

    def _rotate(self) -> None:
        if self.max_file < 2:
            os.ftruncate(self.file.fileno(), 0)  # O_APPEND: the next write lands at the new end
        else:
            for i in range(self.max_file - 1, 1, -1):
                with contextlib.suppress(FileNotFoundError):
                    os.rename(f"{self.path}.{i - 1}", f"{self.path}.{i}")
            os.rename(self.path, f"{self.path}.1")
            self.file.close()
            self.file = open(self.path, "ab", buffering=0)
        self.size = 0

    def close(self) -> None:
        self.file.close()


def validate(opts: dict, driver: str = "json-file") -> None:
    allowed = OPTS if driver == "json-file" else LOCAL_OPTS
    for key in opts:
        if key not in allowed:
            raise ValueError(f"unknown log opt '{key}' for {driver} log driver")
    rotation(opts, driver)


def rotation(opts: dict, driver: str = "json-file", size_key="max-size", file_key="max-file") -> tuple[int, int]:
    """(max size in bytes or -1, number of files), parsed as moby's json-file driver does (its messages in the
    ValueError). The local driver and the dual-logging cache rotate by default (20MB, 5 files) as moby's."""
    rotates = driver != "json-file"
    max_size, max_file = -1, 5 if rotates else 1
    if size_key in opts or rotates:
        max_size = from_human_size(opts.get(size_key, "20m"))
        if max_size <= 0:
            raise ValueError(f"{size_key} must be a positive number")
    if file_key in opts:
        value = opts[file_key]
        if not value.lstrip("+-").isdigit():
            raise ValueError(f'strconv.Atoi: parsing "{value}": invalid syntax')
        max_file = int(value)
        if max_file < 1:
            raise ValueError(f"{file_key} cannot be less than 1")
    return max_size, max_file
