"""Debug aid: find what grows in the daemon's memory.

`DOCKYARD_TRACEMALLOC=/some/dir` makes the daemon start tracemalloc (10 frames) and, on each SIGUSR2, write
`/some/dir/memtrace-N.txt`: the Python heap tracemalloc sees, the lines that allocated the most since the
previous dump, and the object counts per type that changed (gc.get_objects()), so two dumps taken after two
identical workloads name what the second one left behind. bench/memory.py uses it with --trace.
Costs CPU and memory while on; off (and free) by default.
"""
from __future__ import annotations

import collections
import ctypes
import gc
import linecache
import logging
import os
import signal
import tracemalloc
from pathlib import Path

log = logging.getLogger("dockyard.memtrace")

ENV = "DOCKYARD_TRACEMALLOC"
FRAMES = 10
TOP = 25


class MemTrace:
    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.previous: tracemalloc.Snapshot | None = None
        self.previous_types: collections.Counter = collections.Counter()

    def dump(self) -> Path:
        gc.collect()
        snapshot = tracemalloc.take_snapshot()  # unfiltered: filter_traces takes seconds on a daemon's heap
        types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        current, peak = tracemalloc.get_traced_memory()
        lines = [f"traced {current / 2**20:.2f} MiB (peak {peak / 2**20:.2f} MiB), "
                 f"{sum(types.values())} gc objects; tracemalloc's own "
                 f"{tracemalloc.get_tracemalloc_memory() / 2**20:.1f} MiB", native_memory()]
        if self.previous is not None:
            lines.append(f"\n# top {TOP} growth by line since dump {self.count - 1}")
            for stat in snapshot.compare_to(self.previous, "lineno")[:TOP]:
                lines.append(str(stat))
            grown = sorted(((n - self.previous_types[t], t) for t, n in types.items()), reverse=True)
            lines.append("\n# object counts that grew")
            lines += [f"{d:+7d} {t} (now {types[t]})" for d, t in grown if d > 0][:TOP]
            lines.append(f"\n# top {TOP} growth by traceback")
            for stat in snapshot.compare_to(self.previous, "traceback")[:5]:
                lines.append(f"{stat.size_diff / 1024:+.1f} KiB, {stat.count_diff:+d} blocks:")
                lines += ["    " + line for line in stat.traceback.format()]
        lines.append(f"\n# top {TOP} by line")
        lines += [str(stat) for stat in snapshot.statistics("lineno")[:TOP]]
        path = self.directory / f"memtrace-{self.count}.txt"
        path.write_text("\n".join(lines) + "\n")
        self.previous, self.previous_types = snapshot, types
        linecache.clearcache()  # formatting tracebacks filled it: not the daemon's growth, so not in the next dump
        self.count += 1
        log.info("memtrace: wrote %s", path)
        return path


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def native_memory() -> str:
    """What tracemalloc cannot see: the process's resident pages by kind, and glibc malloc's heap (in use vs
    free but kept), so growth in RSS with a flat Python heap points at native allocations or fragmentation."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    rss = ", ".join(f"{key} {int(status[key].split()[0]) / 1024:.1f}" for key in ("VmRSS", "RssAnon", "RssFile")
                    if key in status)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return f"MiB: {rss}"
    heap = info.arena + info.hblkhd
    return (f"MiB: {rss}; malloc: {heap / 2**20:.1f} from the system, {info.uordblks / 2**20:.1f} in use, "
            f"{info.fordblks / 2**20:.1f} free in the heap")


def start(loop) -> MemTrace | None:
    """Trace allocations and dump on SIGUSR2 if DOCKYARD_TRACEMALLOC names a directory; else nothing."""
    directory = os.environ.get(ENV)
    if not directory:
        return None
    Path(directory).mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    trace = MemTrace(Path(directory))
    loop.add_signal_handler(signal.SIGUSR2, trace.dump)
    log.info("tracing allocations: SIGUSR2 writes %s/memtrace-N.txt", directory)
    return trace
