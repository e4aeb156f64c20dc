"""Temp files and dirs of a request (an uploaded tar, a downloaded import, a saved archive, a build
context) under <data-root>/tmp.

Made, closed and removed in the pool: on a busy disk creating a file took 150 ms on the loop thread, and
removing an archive of hundreds of MB frees its blocks there and then. Nothing is left behind when the work
fails or the client hangs up, even while the file is still being made.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, AsyncContextManager, AsyncIterator, Awaitable, Callable, TypeVar

from aiohttp import web

from ..blocking import blocking, bulk
from ..fetch import download
from .context import TEMP_DIR

T = TypeVar("T")


def _discard(f: IO[bytes]) -> None:
    try:
        f.close()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f.name)


def _discard_once_made(making: asyncio.Future, discard: Callable, run: Callable[..., Awaitable]) -> None:
    if not making.cancelled() and making.exception() is None:
        asyncio.ensure_future(run(discard, making.result()))


@contextlib.asynccontextmanager
async def _made_off_the_loop(make: Callable[[], T], discard: Callable[[T], object],
                             run: Callable[..., Awaitable] = blocking) -> AsyncIterator[T]:
    """`make()` in the pool, and `discard(it)` through `run` (blocking or bulk) on the way out."""
    making = asyncio.ensure_future(blocking(make))
    try:
        made = await asyncio.shield(making)
    except asyncio.CancelledError:  # the thread makes it regardless: discard it once it is made
        making.add_done_callback(lambda done: _discard_once_made(done, discard, run))
        raise
    try:
        yield made
    finally:
        await asyncio.shield(run(discard, made))


def temp_file(request: web.Request, prefix: str) -> AsyncContextManager[IO[bytes]]:
    """A new file `<prefix>*` open for writing and reading (its path is `.name`), removed on the way out."""
    return _made_off_the_loop(
        functools.partial(tempfile.NamedTemporaryFile, prefix=prefix, dir=request.app[TEMP_DIR], delete=False),
        _discard)


def temp_dir(request: web.Request, prefix: str) -> AsyncContextManager[Path]:
    """A new directory `<prefix>*`, removed with all it holds on the way out (a build context: in the bulk
    pool)."""
    return _made_off_the_loop(lambda: Path(tempfile.mkdtemp(prefix=prefix, dir=request.app[TEMP_DIR])),
                              functools.partial(shutil.rmtree, ignore_errors=True), bulk)


def rewound(f: IO[bytes]) -> IO[bytes]:
    f.flush()
    f.seek(0)
    return f


@contextlib.asynccontextmanager
async def spooled(request: web.Request) -> AsyncIterator[IO[bytes]]:
    """The request's body in a temp file, rewound, so blocking tar readers can work on it in a thread."""
    async with temp_file(request, "upload-") as f:
        async for chunk in request.content.iter_chunked(1 << 20):
            await blocking(f.write, chunk)  # a disk write can block for long on a busy machine
        yield await blocking(rewound, f)


@contextlib.asynccontextmanager
async def downloaded(request: web.Request, url: str) -> AsyncIterator[IO[bytes]]:
    """`url`'s content in a temp file, rewound (the import source of `docker import URL`)."""
    async with temp_file(request, "upload-") as f:
        await bulk(download, url, f)
        yield await blocking(rewound, f)
