"""The one way the daemon runs blocking work: `await blocking(fn, *args)` on a bounded thread pool.

SQLite queries, filesystem walks, tar/gzip/zstd, hashing and process waits of a request go through it, so
the event loop keeps answering every other client meanwhile. One pool, bounded, shared: it is also the loop's
default executor (`asyncio.to_thread` and `run_in_executor(None, ...)` land in it too), so a burst of requests
queues for threads instead of spawning hundreds of them.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

# Enough threads that slow waits (a runc call, a registry stream fed by the loop) do not starve the quick
# SQLite lookups; the GIL makes more of them useless for CPU work.
MAX_WORKERS = 32

_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="blocking")
    return _pool


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Make the bounded pool the loop's default executor (call once, at daemon start)."""
    loop.set_default_executor(pool())


async def blocking(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """Run `fn(*args, **kwargs)` in the pool and await its result (context variables go along)."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(pool(), call)
