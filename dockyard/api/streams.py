"""Streaming responses: JSON-lines progress, stdcopy framing, and the `Upgrade: tcp` connection hijack."""
from __future__ import annotations

import asyncio
import json
from typing import Awaitable

from aiohttp import web

from .middleware import SERVER_HEADERS



async def start_stream(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    """Send the headers of a streamed response. From here on an error can only end the stream, so the
    error middleware must not answer with a response of its own (it would land inside this one)."""
    request["streaming"] = resp  # the middleware hands it back if the client leaves mid-stream
    await resp.prepare(request)
    return resp


class JSONStream:
    """A chunked application/json response of one JSON object per line (pull, push, build, load...)."""

    def __init__(self, request: web.Request, status: int = 200):
        self.request = request
        self.resp = web.StreamResponse(status=status, headers={**SERVER_HEADERS, "Content-Type": "application/json"})
        self.started = False

    async def start(self) -> None:
        if not self.started:
            await start_stream(self.request, self.resp)
            self.started = True

    async def send(self, obj: dict) -> None:
        await self.start()
        await self.resp.write(json.dumps(obj).encode() + b"\r\n")

    async def error(self, message: str) -> None:
        await self.send({"errorDetail": {"message": message}, "error": message})

    async def finish(self) -> web.StreamResponse:
        await self.start()
        await self.resp.write_eof()
        return self.resp

    async def run(self, work: Awaitable) -> web.StreamResponse:
        """Await `work`, which sends its progress here, and finish. An error before anything was sent is the
        request's own (a plain HTTP error); once streaming, errors travel inside the stream, as dockerd's."""
        try:
            await work
        except Exception as err:
            if not self.started:
                raise
            await self.error(str(err))
        return await self.finish()


class _RawParser:
    """Replaces aiohttp's HTTP parser after the upgrade: bytes from the client feed a StreamReader."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader

    def feed_data(self, data: bytes):
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


def _eof_received(self) -> bool | None:
    """aiohttp closes a connection as soon as the client half-closes it. Docker clients half-close a
    hijacked attach to signal stdin EOF and still expect the container's output, so an `Upgrade: tcp`
    connection stays open and the EOF goes to the raw reader (now, or when the hijack installs it).
    Any other request's client is gone: closing cancels its handler (a `wait` left by `run -d`, say)."""
    parser = getattr(self, "_payload_parser", None)
    if not getattr(self, "_upgraded", False) and not isinstance(parser, _RawParser):
        return None
    if self.transport is not None:  # RequestHandler has __slots__; the transport takes the mark
        self.transport._dockyard_eof = True
    if isinstance(parser, _RawParser):
        parser.feed_eof()
    return True


def install_hijack_support() -> None:
    """Half-close (above), and aiohttp's pure-Python request parser: its C parser (3.14) drops client bytes
    that arrive in the same packet as the headers of an `Upgrade: tcp` request, i.e. early stdin."""
    from aiohttp import http_parser, web_protocol

    web_protocol.RequestHandler.eof_received = _eof_received
    web_protocol.HttpRequestParser = http_parser.HttpRequestParserPy


class Hijacked:
    """A hijacked connection: `reader` gets what the client sends (stdin), `write()` sends raw bytes."""

    def __init__(self, request: web.Request, resp: web.StreamResponse, reader: asyncio.StreamReader,
                 upgraded: bool = True):
        self.request, self.resp, self.reader, self.upgraded = request, resp, reader, upgraded

    async def write(self, data: bytes) -> None:
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("client went away")
        await self.resp.write(data)

    def close(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.close()  # flushes what is buffered first

    async def end(self) -> None:
        """The stream is over: a plain (not upgraded) response is complete once the connection closes."""
        if not self.upgraded:
            try:
                await self.resp.write_eof()
            except (ConnectionResetError, RuntimeError):  # the client left, or the response already ended
                pass
        self.close()


async def hijack(request: web.Request, content_type: str) -> Hijacked:
    """Answer 101 UPGRADED (or 200 for clients that did not ask to upgrade) and take over the socket."""
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp"
    headers = {"Content-Type": content_type}
    if upgrade:
        headers.update({"Connection": "Upgrade", "Upgrade": "tcp"})
        resp = web.StreamResponse(status=101, reason="UPGRADED", headers=headers)
    else:
        # moby's answer to a client that did not ask to upgrade: 200, the raw stream, ended by closing the
        # connection (no chunked framing: such clients read the body as the stream itself)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/vnd.docker.raw-stream"})
        resp._length_check = False  # aiohttp's own switch (WebSocketResponse's) for a body without framing
    resp.force_close()
    await start_stream(request, resp)
    reader = asyncio.StreamReader(limit=1 << 20)
    protocol = request.protocol
    if upgrade:
        protocol.set_parser(_RawParser(reader))
    if not upgrade or getattr(request.transport, "_dockyard_eof", False):
        reader.feed_eof()
    return Hijacked(request, resp, reader, upgraded=upgrade)
