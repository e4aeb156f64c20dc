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


def test_a_long_log_is_read_in_pieces_while_the_loop_serves_others(tmp_path):
    # 20,000 lines (~2 MB: several BATCH_BYTES), one rotated file, a tail, a line still being written at the end
    def line(i, stream="stdout"):
        return json.dumps({"log": f"line {i}\n", "stream": stream, "time": "2026-11-23T10:00:00Z"}) + "\n"
    (tmp_path / "c-json.log.1").write_text("".join(line(i) for i in range(10_000)))
    (tmp_path / "c-json.log").write_text("".join(line(i, "stderr" if i % 2 else "stdout")
                                                 for i in range(10_000, 20_000)) + '{"log": "part')

    async def read_while_ticking(**kw):
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        ticks = 0
        with opened_log(str(tmp_path / "c-json.log")) as log:
            got = [e["log"] async for e in read_logs(log, **kw)]  # awaits nothing but the reader
        task.cancel()
        return got, ticks

    got, ticks = asyncio.run(read_while_ticking(stdout=True, stderr=True))
    assert got == [f"line {i}\n" for i in range(20_000)]
    assert ticks > 2  # on the old reader, which parsed the whole log on the loop thread: 0
    got, _ = asyncio.run(read_while_ticking(stdout=True, stderr=False, tail=3))
    assert got == ["line 19994\n", "line 19996\n", "line 19998\n"]


def test_a_follower_that_fell_behind_two_rotations_reads_the_file_between(tmp_path):
    def line(i):
        return json.dumps({"log": f"line {i}\n", "stream": "stdout", "time": "2026-11-23T10:00:00Z"}) + "\n"
    path = tmp_path / "c-json.log"
    path.write_text(line(1))

    async def follow():
        with opened_log(str(path)) as log:
            entries = read_logs(log, stdout=True, stderr=True, follow=True, is_running=lambda: True)
            got = [(await anext(entries))["log"]]
            # two rotations with max-file=2 before the follower looks again: the file it reads is deleted,
            # the next one (line 2) is now <log>.1, and line 3 is in the live file
            os.rename(path, f"{path}.1")
            path.write_text(line(2))
            os.unlink(f"{path}.1")
            os.rename(path, f"{path}.1")
            path.write_text(line(3))
            for _ in range(2):  # (the follower polls while the container runs: a missed line is never coming)
                got.append((await asyncio.wait_for(anext(entries), 5))["log"])
            await entries.aclose()
            return got

    assert asyncio.run(follow()) == ["line 1\n", "line 2\n", "line 3\n"]
