"""Reading json-file logs: a handle opened when the request arrives keeps the lines of a log removed later."""
from __future__ import annotations

import asyncio
import json
import os

from dockyard.daemon.logs import opened_log, read_logs


def _collect(log, **kw) -> list[str]:
    async def go():
        return [e["log"] async for e in read_logs(log, stdout=True, stderr=True, **kw)]
    return asyncio.run(go())


def test_lines_stay_readable_after_the_log_is_removed(tmp_path):
    path = tmp_path / "c-json.log"
    path.write_text("".join(json.dumps({"log": f"line {i}\n", "stream": "stdout", "time": "2026-11-23T10:00:00Z"})
                            + "\n" for i in range(3)))
    with opened_log(str(path)) as log:
        os.unlink(path)  # `docker rm` between the request and the reading, as docker-py's run(remove=True)
        assert _collect(log, follow=True) == ["line 0\n", "line 1\n", "line 2\n"]


def test_a_container_that_never_ran_has_no_log_to_read_or_follow(tmp_path):
    with opened_log(str(tmp_path / "missing.log")) as log:
        assert log is None
        assert _collect(log, follow=True, is_running=lambda: True) == []
