"""The one way the daemon runs blocking work: `await blocking(fn, *args)` on a bounded thread pool.

SQLite queries, filesystem walks, tar/gzip/zstd, hashing and process waits of a request go through it, so
the event loop keeps answering every other client meanwhile. Three bounded pools, by the kind of work:
- `blocking()`: short work (a record, a container's files, a mount). Also the loop's default executor
  (`asyncio.to_thread` and `run_in_executor(None, ...)` land in it), so a burst of requests queues for threads
  instead of spawning hundreds of them.
- `bulk()`: work on a whole layer or archive (tar, compress, hash, a download), seconds long, in a pool of
  its own so that it never holds up the short work.
- `computing()`: Python that only computes (rendering a list as JSON), one thread per core but the loop's.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

CORES = os.cpu_count() or 2
# Few threads for the short work: each one running Python wants the GIL, and every thread waiting for the GIL
# wakes each switch interval to ask for it, so the loop thread waited behind them (and for a core). With 32,
# a hundred clients' first requests kept a /_ping waiting 100-160 ms; with 6 (on 2 cores), 57-149 ms, the
# slowest in the first second's burst of creates and starts; with 4, 46-95 ms over 15 runs, none in the burst.
# A GIL holder that the kernel preempts keeps every other thread, the loop's included, waiting until it runs
# again.
# Beyond a thread per core for Python, the rest cover waits in the kernel (a mount, an fsync).
MAX_WORKERS = min(CORES + 2, 32)
# Python that only computes: the loop thread is the other one that wants the GIL.
COMPUTE_WORKERS = max(1, CORES - 1)
# Whole layers and archives: enough that a compose pull or a few builds do not queue behind one another.
BULK_WORKERS = 16

_pools: dict[str, ThreadPoolExecutor] = {}


def _started(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool with all its threads already running: an executor starts a thread on demand, inside submit(),
    and waits there until it runs, which on the loop thread of a busy daemon took 130 ms (the new thread
    wanting the GIL and a core like everyone else)."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    everyone = threading.Barrier(workers + 1)  # each task holds its thread until all are started
    for _ in range(workers):
        executor.submit(everyone.wait)
    everyone.wait()
    return executor


def _named(name: str, workers: int) -> ThreadPoolExecutor:
    """The pool `name`, its threads started on first use."""
    if name not in _pools:
        _pools[name] = _started(workers, name)
    return _pools[name]


def pool() -> ThreadPoolExecutor:
    return _named("blocking", MAX_WORKERS)


def bulk_pool() -> ThreadPoolExecutor:
    return _named("bulk", BULK_WORKERS)


def compute_pool() -> ThreadPoolExecutor:
    return _named("compute", COMPUTE_WORKERS)


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Make the bounded pool the loop's default executor, and start every pool's threads (call once, at daemon
    start)."""
    loop.set_default_executor(pool())
    bulk_pool()
    compute_pool()


# The loop thread reads every client's next request; the pools' threads do work some client already waits for.
# The kernel schedules the threads of a process as peers, so on a busy machine the loop thread waited for a core
# behind them: runnable, not running, for 70-140 ms under 100 clients (bench/load.py's slowest pings). Linux
# gives each thread a niceness of its own: at -10 the loop thread weighs ~9 times a pool thread.
LOOP_NICENESS = -10


def prioritize_loop_thread() -> None:
    """Run the calling thread, the loop's, at LOOP_NICENESS. Called once the pools' and other long-lived threads
    are started, since a thread or process inherits its creator's niceness: nothing else is to run ahead, and no
    process is started from the loop thread (spawn() and run() start theirs in the pool)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOOP_NICENESS)
    except OSError as err:  # without CAP_SYS_NICE the loop thread stays a peer of the others
        log.info("event loop thread keeps the default priority: %s", err)


async def _run_in(executor: ThreadPoolExecutor, fn: Callable[..., T], args, kwargs) -> T:
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)  # context variables go along
    return await asyncio.get_running_loop().run_in_executor(executor, call)


async def blocking(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """Run the short `fn(*args, **kwargs)` in the pool and await its result."""
    return await _run_in(pool(), fn, args, kwargs)


async def bulk(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """Run `fn(*args, **kwargs)`, work on a whole layer or archive, in the bulk pool."""
    return await _run_in(bulk_pool(), fn, args, kwargs)


async def finished_or_undone(fn: Callable[[], T], undo: Callable[[], object]) -> T:
    """`fn()` in the pool, for work that makes things nobody may be left with: awaited to its end even when the
    request awaiting it is cancelled (the thread goes on regardless), and if it failed or the request was
    cancelled, `undo()` runs (in the pool, to its end) before the error goes on."""
    work = asyncio.ensure_future(blocking(fn))
    try:
        return await asyncio.shield(work)
    except BaseException:
        await asyncio.wait([work])
        await asyncio.shield(blocking(undo))
        raise


# Python work that only computes (rendering a list or an inspect as JSON) holds the GIL all along: more threads
# than cores cannot run it any faster, and each extra one that wants the GIL lowers the loop thread's odds of
# getting it at each switch (a hundred clients' lists in the 32-thread pool kept the loop waiting 100+ ms).
async def computing(fn: Callable[..., T], /, *args) -> T:
    """Run the GIL-bound `fn(*args)` off the loop, at most COMPUTE_WORKERS at a time."""
    return await _run_in(compute_pool(), fn, args, {})


class Process:
    """A child started off the loop by `spawn()`: the loop learns of its exit from a pidfd, no thread waits."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def send_signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def kill(self) -> None:
        self.popen.kill()

    async def wait(self) -> int:
        if self.popen.poll() is not None:
            return self.popen.returncode
        await process_gone(self.pid)
        return self.popen.wait()


async def readable(fd: int) -> None:
    """Until `fd` is readable (data, EOF, or a pidfd's process gone), with no thread blocked on it."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def process_gone(pid: int) -> None:
    """Until process `pid` has exited (ours or not: a pidfd tells of any process's end)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # gone, and reaped already
        return
    try:
        await readable(fd)
    finally:
        os.close(fd)


async def spawn(argv: list[str], **popen_kwargs) -> Process:
    """subprocess.Popen in the pool: fork and exec (tens of ms on a busy machine) never stall the loop."""
    return Process(await blocking(subprocess.Popen, argv, **popen_kwargs))


async def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run in the pool, for short commands (runc kill, pause, delete ...)."""
    return await blocking(subprocess.run, argv, **kwargs)
