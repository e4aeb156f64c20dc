"""A request's temp files and dirs (api/spool.py): made, filled and removed off the loop thread, and never left
behind, whether the work ends, fails, or the client hangs up while the file is still being made."""
from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dockyard.api.context import TEMP_DIR
from dockyard.api.spool import spooled, temp_dir, temp_file
from dockyard.blocking import blocking


def _threads_touching(monkeypatch, where) -> list[tuple[str, int]]:
    """(call, thread) of every os.open and os.unlink of a path under `where` from now on."""
    seen = []
    for name in ("open", "unlink"):
        real = getattr(os, name)

        def spy(path, *args, _real=real, _name=name, **kwargs):
            if str(path).startswith(str(where)):
                seen.append((_name, threading.get_ident()))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    return seen


def _wait_empty(where, timeout=5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := os.listdir(where)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def test_an_upload_is_spooled_rewound_and_removed_and_its_file_made_and_removed_off_the_loop(tmp_path, monkeypatch):
    seen = _threads_touching(monkeypatch, tmp_path)
    got = {}

    async def upload(request):
        got["loop"] = threading.get_ident()
        async with spooled(request) as f:
            got["body"], got["name"] = await blocking(f.read), f.name
            got["there"] = os.path.exists(f.name)
        return web.Response(text="ok")

    async def main():
        app = web.Application()
        app[TEMP_DIR] = tmp_path
        app.router.add_put("/upload", upload)
        async with TestServer(app) as server:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            body = b"x" * (3 << 20)
            writer.write(b"PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            status = await reader.readline()
            writer.close()
            return status

    assert asyncio.run(main()).startswith(b"HTTP/1.1 200")
    assert got["body"] == b"x" * (3 << 20) and got["there"]
    assert os.path.basename(got["name"]).startswith("upload-")
    assert os.listdir(tmp_path) == []
    assert {call for call, _ in seen} == {"open", "unlink"}
    assert all(thread != got["loop"] for _, thread in seen), seen


def test_a_client_hanging_up_mid_upload_leaves_no_file(tmp_path):
    started = threading.Event()

    async def upload(request):
        started.set()
        async with spooled(request) as f:
            await blocking(f.read)
        return web.Response(text="never")

    async def main():
        app = web.Application()
        app[TEMP_DIR] = tmp_path
        app.router.add_put("/upload", upload)
        async with TestServer(app, handler_cancellation=True) as server:
            s = socket.create_connection((server.host, server.port))
            s.sendall(b"PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n" + b"y" * 65536)
            while not os.listdir(tmp_path):  # the spool file is there, part of the body in it
                await asyncio.sleep(0.01)
            s.close()
            return await asyncio.to_thread(_wait_empty, tmp_path)

    assert asyncio.run(main()) == []
    assert started.is_set()


def test_a_file_still_being_made_when_its_request_is_cancelled_is_removed_once_made(tmp_path, monkeypatch):
    real = tempfile.NamedTemporaryFile
    making = threading.Event()

    def slow(*args, **kwargs):
        making.set()
        time.sleep(0.3)  # a create waiting on a busy disk
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", slow)
    request = SimpleNamespace(app={TEMP_DIR: tmp_path})

    async def use():
        async with temp_file(request, "upload-"):
            pytest.fail("the request was cancelled before its file was made")

    async def main():
        task = asyncio.ensure_future(use())
        await asyncio.to_thread(making.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)  # the create finishes; its removal follows in the pool
        return os.listdir(tmp_path)

    assert asyncio.run(main()) == []


def test_a_temp_dir_goes_with_all_it_holds_when_the_work_fails(tmp_path):
    request = SimpleNamespace(app={TEMP_DIR: tmp_path})

    async def main():
        async with temp_dir(request, "context-") as work:
            assert work.name.startswith("context-") and work.is_dir()
            (work / "sub").mkdir()
            (work / "sub" / "Dockerfile").write_text("FROM scratch\n")
            raise ValueError("a bad context")

    with pytest.raises(ValueError, match="a bad context"):
        asyncio.run(main())
    assert os.listdir(tmp_path) == []
