"""The daemon core's pieces for a loop that never waits: SQLite reads beside writes, blocking(), stallwatch."""
from __future__ import annotations

import asyncio
import linecache
import logging
import re
import threading
import time

from dockyard import stallwatch
from dockyard import blocking as blocking_module
from dockyard.blocking import blocking, bulk, computing, spawn
from dockyard.store.metadata import Metadata


def test_a_read_never_waits_for_a_write_transaction_in_another_thread(tmp_path):
    md = Metadata(tmp_path / "db")
    with md.tx() as cur:
        cur.execute("INSERT INTO kv VALUES ('k', 'old')")
    inside, release = threading.Event(), threading.Event()

    def long_write():
        with md.tx() as cur:
            cur.execute("UPDATE kv SET value='new' WHERE key='k'")
            inside.set()
            release.wait(30)

    writer = threading.Thread(target=long_write)
    writer.start()
    assert inside.wait(10)
    try:
        assert md.one("SELECT value FROM kv WHERE key='k'")["value"] == "old"  # the last committed state
    finally:
        release.set()
        writer.join()
    assert md.one("SELECT value FROM kv WHERE key='k'")["value"] == "new"
    md.close()


def test_reads_inside_a_transaction_see_its_own_writes(tmp_path):
    md = Metadata(tmp_path / "db")
    with md.tx() as cur:
        cur.execute("INSERT INTO kv VALUES ('k', 'v')")
        assert md.one("SELECT value FROM kv WHERE key='k'")["value"] == "v"
    md.close()


def test_blocking_runs_off_the_loop_thread_and_spawn_awaits_the_exit():
    async def scenario():
        loop_thread = threading.get_ident()
        assert await blocking(threading.get_ident) != loop_thread
        proc = await spawn(["sh", "-c", "exit 3"])
        return await asyncio.wait_for(proc.wait(), 10)

    assert asyncio.run(scenario()) == 3


def test_a_burst_of_blocking_work_starts_no_thread_on_the_loop():
    # an executor starts its threads inside submit(), on the loop thread, and waits there for each to run
    async def burst():
        blocking_module.pool(), blocking_module.bulk_pool(), blocking_module.compute_pool()  # as install() does
        before = threading.active_count()
        started = threading.Barrier(blocking_module.MAX_WORKERS)  # every pool thread busy at once
        await asyncio.gather(*(blocking(started.wait, 10) for _ in range(blocking_module.MAX_WORKERS)),
                             *(bulk(time.sleep, 0.01) for _ in range(blocking_module.BULK_WORKERS + 2)),
                             *(computing(time.sleep, 0.01) for _ in range(8)))
        return before, threading.active_count()

    before, after = asyncio.run(burst())
    assert before == after


def test_short_work_does_not_wait_for_archive_work_that_fills_its_pool():
    async def scenario():
        release = threading.Event()
        archives = [asyncio.ensure_future(bulk(release.wait, 30)) for _ in range(blocking_module.BULK_WORKERS)]
        try:
            return await asyncio.wait_for(blocking(threading.get_ident), 10)
        finally:
            release.set()
            await asyncio.gather(*archives)

    assert asyncio.run(scenario())


def test_a_stall_is_reported_with_the_stack_that_caused_it(caplog, monkeypatch):
    monkeypatch.setenv("DOCKYARD_STALL_MS", "50")

    def hog_the_loop():
        time.sleep(0.3)  # a blocking call on the loop thread

    async def scenario():
        watch = stallwatch.start("info")
        await asyncio.sleep(0.05)
        hog_the_loop()
        await asyncio.sleep(0.1)  # the loop runs again: the watchdog reports
        watch.stop()

    with caplog.at_level(logging.INFO, logger="dockyard.stall"):
        asyncio.run(scenario())
    reports = [r.getMessage() for r in caplog.records if stallwatch.STALL_MARK in r.getMessage()]
    assert reports and "hog_the_loop" in reports[0]
    assert re.search(r"\(thread state S( \w*sleep\w*)?\)", reports[0])  # the kernel's view: asleep in a syscall


def test_a_stall_report_shows_source_lines_without_keeping_the_files_in_memory(caplog, monkeypatch):
    """linecache keeps every file it reads for the life of the process: a daemon reporting stalls for days grew
    by the source of every module a stall went through (MiBs, round after round of bench/memory.py)."""
    monkeypatch.setenv("DOCKYARD_STALL_MS", "50")
    linecache.cache.pop(__file__, None)

    async def scenario():
        watch = stallwatch.start("info")
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # stalled right here
        await asyncio.sleep(0.1)
        watch.stop()

    with caplog.at_level(logging.INFO, logger="dockyard.stall"):
        asyncio.run(scenario())
    reports = [r.getMessage() for r in caplog.records if stallwatch.STALL_MARK in r.getMessage()]
    assert reports and "time.sleep(0.3)  # stalled right here" in reports[0]
    assert __file__ not in linecache.cache


def test_reads_from_many_threads_share_a_few_connections(tmp_path):
    # one connection per pool thread was a megabyte each: 32 of them took the daemon from 66 to 91 MiB
    md = Metadata(tmp_path / "db")
    with md.tx() as cur:
        cur.execute("INSERT INTO kv VALUES ('k', 'v')")
    for _ in range(32):
        reader = threading.Thread(target=md.query, args=("SELECT value FROM kv",))
        reader.start()
        reader.join()
    assert len(md._readers) == 1  # one at a time: one connection
    assert md.one("SELECT value FROM kv WHERE key='k'")["value"] == "v"
    md.close()
