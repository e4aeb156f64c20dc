"""Relaying a hijacked client connection to a monitor attachment: stdin in, stdout/stderr out."""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ..stdcopy import frame
from ..errors import InvalidParameter

log = logging.getLogger("dockyard.attach")

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def parse_detach_keys(spec: str | None) -> bytes:
    """docker's --detach-keys: `ctrl-<value>` or single characters, comma separated."""
    spec = DEFAULT_DETACH_KEYS if spec is None else spec
    if spec == "":
        return b""
    out = bytearray()
    for key in spec.split(","):
        key = key.strip()
        if len(key) == 1:
            out.append(ord(key))
        elif key.startswith("ctrl-") and len(key) == 6:
            ch = key[5].lower()
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
            elif ch in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[ch])
            else:
                raise InvalidParameter(f"Invalid escape keys ({spec}) provided")
        else:
            raise InvalidParameter(f"Invalid escape keys ({spec}) provided")
    return bytes(out)


class EscapeProxy:
    """Passes bytes through until the detach sequence is typed; holds back a partial match."""

    def __init__(self, keys: bytes):
        self.keys = keys
        self.matched = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            if b == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    return bytes(out), True
                continue
            if self.matched:
                out += self.keys[: self.matched]
                self.matched = 0
                if b == self.keys[0]:
                    self.matched = 1
                    continue
            out.append(b)
        return bytes(out), False


class AttachSink(Protocol):
    """The client's end of an attach or exec stream (moby's ContainerAttachConfig streams). The route provides
    it (api/streams.Hijacked: the hijacked HTTP connection); the daemon writes the output to it and reads stdin
    from it, and never sees HTTP."""
    reader: asyncio.StreamReader  # the client's stdin; b"" once it is closed

    async def write(self, data: bytes) -> None: ...


async def relay(hijacked: AttachSink, attachment, *, tty: bool, use_stdin: bool, multiplexed: bool,
                detach_keys: bytes) -> None:
    """Copy both ways until the container's output ends, the client leaves, or it types the detach keys."""
    detached = asyncio.Event()

    async def pump_out() -> None:
        while True:
            item = await attachment.read()
            if item is None:
                return
            stream, data = item
            await hijacked.write(frame(stream, data) if multiplexed and not tty else data)

    async def pump_in() -> None:
        proxy = EscapeProxy(detach_keys)
        while True:
            data = await hijacked.reader.read(32768)
            if not data:
                await attachment.close_stdin()
                return
            data, hit = proxy.feed(data)
            if data:
                await attachment.write(data)
            if hit:
                detached.set()
                return

    out_task = asyncio.create_task(pump_out())
    tasks = [out_task]
    if use_stdin:
        in_task = asyncio.create_task(pump_in())
        tasks.append(in_task)
    detach_wait = asyncio.create_task(detached.wait())
    try:
        await asyncio.wait([out_task, detach_wait], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        pass
    finally:
        for t in [*tasks, detach_wait]:
            t.cancel()
        await attachment.close()
        if out_task.done() and not out_task.cancelled() and out_task.exception():
            log.debug("attach output ended: %s", out_task.exception())


class LogFollower:
    """What `relay` reads and writes for an attach that asked for the logs and the live stream of a running
    container: the output is the container's log, read from its start and followed until it stops (so
    nothing printed between reading the log and attaching is lost: the log is the one ordered record of
    both), and stdin, if asked for, goes to the monitor as in a plain attach."""

    def __init__(self, entries, stdin_attachment=None):
        self.entries, self.stdin = entries, stdin_attachment

    async def read(self):
        entry = await anext(self.entries, None)
        if entry is None:
            return None
        return (2 if entry.get("stream") == "stderr" else 1), entry.get("log", "").encode()

    async def write(self, data: bytes) -> None:
        if self.stdin is not None:
            await self.stdin.write(data)

    async def close_stdin(self) -> None:
        if self.stdin is not None:
            await self.stdin.close_stdin()

    async def close(self) -> None:
        await self.entries.aclose()
        if self.stdin is not None:
            await self.stdin.close()
