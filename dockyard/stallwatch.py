"""Debug aid: report every event-loop stall longer than a threshold, with the stack that caused it.

A heartbeat callback on the loop stamps the time every few milliseconds; a watchdog thread checks the stamp.
When the stamp is older than the threshold, the loop thread is stuck in something (a blocking call, a long
computation): the watchdog samples that thread's stack with sys._current_frames() while it is still stuck and
logs it once the loop runs again, with how long the stall lasted. Enabled by `DOCKYARD_STALL_MS=50` or a
daemon started with `--log-level debug`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback

log = logging.getLogger("dockyard.stall")

DEFAULT_MS = 50
BEAT = 0.01  # heartbeat period, seconds
FRAMES = 12  # innermost frames a report shows
STALL_MARK = "event loop stalled"  # tests/e2e/conftest.py looks for this in daemon logs


def threshold_ms(log_level: str) -> float | None:
    """The stall threshold to watch for, or None: DOCKYARD_STALL_MS wins, debug logging implies the default."""
    env = os.environ.get("DOCKYARD_STALL_MS")
    if env:
        return float(env) if float(env) > 0 else None
    return DEFAULT_MS if log_level == "debug" else None


class StallWatch:
    def __init__(self, loop: asyncio.AbstractEventLoop, threshold_ms: float):
        self.loop = loop
        self.threshold = threshold_ms / 1000
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._loop_tid = threading.get_native_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stallwatch", daemon=True)
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._heartbeat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()

    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        self._handle = self.loop.call_later(BEAT, self._heartbeat)

    def _watch(self) -> None:
        sample, since = None, None
        while not self._stop.wait(BEAT / 2):
            beat = self._beat
            late = time.monotonic() - beat - BEAT
            if late > self.threshold and since != beat:
                frame = sys._current_frames().get(self._loop_thread)
                sample, since = (format_stack(frame) if frame else []), beat
                kernel = self._kernel_state()
            elif sample is not None and beat != since:  # the loop ran again: report the whole stall
                self._report(beat - since - BEAT, sample, kernel)
                sample = since = None

    def _kernel_state(self) -> str:
        """What the kernel says the loop thread is doing: R (runnable: waiting for a CPU), S in futex_wait
        (waiting for the GIL or a lock), D or S elsewhere (a syscall waiting in the kernel)."""
        task = f"/proc/self/task/{self._loop_tid}"
        try:
            with open(f"{task}/stat") as f:
                state = f.read().rpartition(")")[2].split()[0]
            with open(f"{task}/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            return "?"
        return f"{state} {wchan}" if wchan not in ("", "0") else state

    def _report(self, seconds: float, stack: list[str], kernel: str = "?") -> None:
        idle = bool(stack) and "select" in stack[-1]
        # The loop waiting in select() while late means the process was not scheduled (a busy machine),
        # not that anything blocked it: worth knowing, not worth a warning.
        level = logging.INFO if idle else logging.WARNING
        log.log(level, "%s for %.0f ms%s (thread state %s); loop thread was at:\n%s", STALL_MARK, seconds * 1000,
                " (idle in select: the process was not scheduled)" if idle else "", kernel, "".join(stack).rstrip())


def format_stack(frame, limit: int = FRAMES) -> list[str]:
    """The innermost frames as traceback.format_stack shows them, with their source lines read afresh:
    traceback reads them through linecache, which keeps every file it ever read for the life of the process,
    so a watch reporting stalls for days came to hold the source of every module a stall passed through."""
    summary = traceback.StackSummary.extract(traceback.walk_stack(frame), limit=limit, lookup_lines=False)
    summary.reverse()
    return [f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' + (f"    {line}\n" if line else "")
            for f in summary for line in [source_line(f.filename, f.lineno)]]


def source_line(filename: str, lineno: int) -> str:
    try:
        with open(filename, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                if n == lineno:
                    return line.strip()
    except OSError:
        pass
    return ""


def start(log_level: str) -> StallWatch | None:
    ms = threshold_ms(log_level)
    if ms is None:
        return None
    watch = StallWatch(asyncio.get_running_loop(), ms)
    watch.start()
    log.info("reporting event-loop stalls over %.0f ms", ms)
    return watch
