"""The spare monitor: started ahead of need, it runs the next job it is handed and never outlives the daemon."""
from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from dockyard.runtime import monitor_client
from dockyard.runtime.monitor_client import Monitor, _SparePool
from dockyard.runtime.oci import OCIRuntime

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runc"), reason="needs root and runc")


def run_commands(tmp_path, container_id, bundle) -> dict:
    return monitor_client._commands(OCIRuntime(root=str(tmp_path / "r")), container_id, bundle, False,
                                    bundle=str(bundle))


def test_a_spare_runs_the_next_job_and_a_new_spare_replaces_it(tmp_path, monkeypatch):
    pool = _SparePool()
    monkeypatch.setattr(monitor_client, "_spares", pool)

    async def scenario():
        pool.take()  # the first job starts a fresh monitor; a spare starts behind it
        spare = await pool._task
        bundle = tmp_path / "state"
        m = await Monitor._spawn(bundle, {"mode": "run", "container_id": "spare-test", "bundle": str(bundle),
                                          "log_path": None, **run_commands(tmp_path, "spare-test", bundle)})
        assert m.proc is spare.proc  # the job went to the spare
        assert (await m._request({"op": "status"})) == {"pid": 0, "running": False}
        assert pool._task is not None  # and another spare is on its way
        replacement = await pool._task
        await pool.close()
        assert await asyncio.wait_for(replacement.proc.wait(), 5) == 0  # EOF on its pipe: it exits
        spare.proc.kill()
        await spare.proc.wait()

    asyncio.run(scenario())
    assert json.loads((tmp_path / "state" / "args.json").read_text())["container_id"] == "spare-test"


def test_a_monitor_never_told_to_start_goes_away(tmp_path, monkeypatch):
    """Its daemon died between spawning it and sending "start" (a SIGKILL): it must not wait for ever."""
    monkeypatch.setattr(monitor_client, "_spares", _SparePool())

    async def scenario():
        bundle = tmp_path / "state"
        m = await Monitor._spawn(bundle, {"mode": "run", "container_id": "never-started", "bundle": str(bundle),
                                          "log_path": None, "start_deadline": 1,
                                          **run_commands(tmp_path, "never-started", bundle)})
        assert await asyncio.wait_for(m.proc.wait(), 10) == 0
        await monitor_client._spares.close()

    asyncio.run(scenario())
    assert not (tmp_path / "state" / "m.sock").exists()
