"""The leak-hunting hook (DOCKYARD_TRACEMALLOC): a second dump names what was allocated and kept since the first."""
import sys
import tracemalloc

from dockyard.memtrace import MemTrace


class Kept:
    pass


def test_a_dump_names_the_line_and_the_type_that_grew(tmp_path):
    tracemalloc.start(10)
    try:
        trace = MemTrace(tmp_path)
        first = trace.dump().read_text()
        line = sys._getframe().f_lineno + 1
        kept = [Kept() for _ in range(5000)]  # what a leak looks like: allocated here, never let go
        second = trace.dump().read_text()
    finally:
        tracemalloc.stop()
    assert first.startswith("traced ") and "malloc:" in first.splitlines()[1]
    growth = second.split("# top 25 growth by line")[1].split("\n\n")[0]
    assert f"{__file__}:{line}" in growth.splitlines()[1]  # the biggest growth: the line that kept them
    assert "+5000 Kept" in second
    assert len(kept) == 5000
