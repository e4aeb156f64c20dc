"""The monitor zygote: one interpreter, started ahead of need, forks a monitor per job; the monitors outlive it,
it never outlives the daemon, and one that died is replaced."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal

import pytest

from dockyard.runtime import monitor_client
from dockyard.runtime.monitor_client import Monitor, _Zygote
from dockyard.runtime.oci import OCIRuntime

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runc"), reason="needs root and runc")


@pytest.fixture
def zygote(monkeypatch):
    z = _Zygote()
    monkeypatch.setattr(monitor_client, "_zygote", z)
    yield z
    z._forget()


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def run_args(tmp_path, name: str, **extra) -> dict:
    """A run-mode monitor's args for a container `name` whose state dir is tmp_path/name."""
    state = tmp_path / name
    commands = monitor_client._commands(OCIRuntime(root=str(tmp_path / "r")), name, state, False, bundle=str(state))
    return {"mode": "run", "container_id": name, "bundle": str(state), "log_path": None, **commands, **extra}


async def spawn(tmp_path, name: str, **extra) -> Monitor:
    return await Monitor._spawn(tmp_path / name, run_args(tmp_path, name, **extra))


def test_one_zygote_forks_every_monitor_and_they_outlive_it(tmp_path, zygote):
    async def scenario():
        first, second = await spawn(tmp_path, "one"), await spawn(tmp_path, "two")
        zygote_pid = zygote._proc.pid
        assert parent_of(first.proc.pid) == parent_of(second.proc.pid) == zygote_pid  # forked, not started
        # one scheduling group (the zygote's session, as containerd's shims share containerd's), and each in a
        # process group of its own: signals to the daemon's or the zygote's group never reach a monitor
        assert os.getsid(first.proc.pid) == os.getsid(second.proc.pid) == zygote_pid != os.getsid(0)
        assert os.getpgid(first.proc.pid) == first.proc.pid and os.getpgid(second.proc.pid) == second.proc.pid
        assert await first._request({"op": "status"}) == {"pid": 0, "running": False}
        await zygote.close()  # the daemon stops: the zygote goes ...
        assert not os.path.exists(f"/proc/{zygote_pid}") or parent_of(zygote_pid) != os.getpid()
        assert await second._request({"op": "status"}) == {"pid": 0, "running": False}  # ... its monitors stay
        for m in (first, second):
            assert (await m._request({"op": "end"})).get("ok")
            assert await asyncio.wait_for(m.proc.wait(), 10) == 0

    asyncio.run(scenario())
    assert json.loads((tmp_path / "one" / "args.json").read_text())["container_id"] == "one"


def test_a_zygote_that_died_is_replaced(tmp_path, zygote):
    async def scenario():
        m = await spawn(tmp_path, "before")
        dead = zygote._proc
        dead.send_signal(signal.SIGKILL)
        await dead.wait()
        after = await spawn(tmp_path, "after")
        assert zygote._proc.pid != dead.pid and parent_of(after.proc.pid) == zygote._proc.pid
        for mon in (m, after):
            await mon._request({"op": "end"})
            await asyncio.wait_for(mon.proc.wait(), 10)

    asyncio.run(scenario())


def test_a_monitor_never_told_to_start_goes_away(tmp_path, zygote):
    """Its daemon died between spawning it and sending "start" (a SIGKILL): it must not wait for ever."""
    async def scenario():
        m = await spawn(tmp_path, "never-started", start_deadline=1)
        await asyncio.wait_for(m.proc.wait(), 10)
        assert m.proc.returncode == 0

    asyncio.run(scenario())
    assert not (tmp_path / "never-started" / "m.sock").exists()


def test_a_fork_whose_caller_was_cancelled_does_not_shift_the_next_ones_pid(tmp_path, zygote):
    """A request cancelled while the zygote was forking for it (its client went away) leaves the zygote's reply
    unread: the next forks must not take that reply's PID for their monitor's (it then waited on another
    monitor's end: a failed `docker exec` hung until the container exited, and its record went with it), not
    even a fork for the same args path (the same container started again)."""
    async def scenario():
        await spawn(tmp_path, "warm-up")  # the zygote runs: the fork below waits for its reply only
        for attempt in range(20):
            state = tmp_path / f"again-{attempt}"
            state.mkdir()
            args = run_args(tmp_path, state.name, start_deadline=1)
            (state / "args.json").write_text(json.dumps({**args, "state_dir": str(state)}))
            fork = asyncio.ensure_future(zygote.fork(str(state / "args.json")))
            await asyncio.sleep(0)  # sent, and waiting for the reply
            fork.cancel()
            try:
                _, ready = await fork
            except asyncio.CancelledError:
                break
            os.close(ready)  # the reply came before the cancel (a busy machine): again, in a fresh dir
        else:
            pytest.fail("every fork was answered before it could be cancelled")
        for _ in range(100):  # the abandoned monitor is up (it wrote its pid), then forget its pid file
            if (state / "monitor.pid").exists():
                break
            await asyncio.sleep(0.05)
        (state / "monitor.pid").unlink()
        again = await Monitor._spawn(state, args)  # the same args path
        assert again.proc.pid == int((state / "monitor.pid").read_text())
        other = await spawn(tmp_path, "other")
        assert other.proc.pid == int((tmp_path / "other" / "monitor.pid").read_text())
        for m in (again, other):
            await m._request({"op": "end"})
            await asyncio.wait_for(m.proc.wait(), 10)

    asyncio.run(scenario())


def test_the_zygote_can_be_started_ahead_of_the_first_monitor(tmp_path, zygote):
    """The daemon starts it at start-up (start_monitor_zygote), so the first container start, often one of a
    burst, does not also pay for an interpreter's start."""
    async def scenario():
        await monitor_client.start_monitor_zygote()
        started = zygote._proc
        assert started is not None and started.returncode is None
        m = await spawn(tmp_path, "first")
        assert zygote._proc is started and parent_of(m.proc.pid) == started.pid
        await m._request({"op": "end"})
        await asyncio.wait_for(m.proc.wait(), 10)

    asyncio.run(scenario())


def test_without_a_zygote_a_monitor_process_of_its_own_starts(tmp_path, zygote, monkeypatch):
    async def no_zygote(_args_path):
        raise OSError("the monitor zygote exited")

    async def scenario():
        monkeypatch.setattr(zygote, "fork", no_zygote)
        m = await spawn(tmp_path, "alone")
        assert parent_of(m.proc.pid) == os.getpid()  # started, not forked
        assert await m._request({"op": "status"}) == {"pid": 0, "running": False}
        assert (await m._request({"op": "end"})).get("ok")
        assert await asyncio.wait_for(m.proc.wait(), 10) == 0

    asyncio.run(scenario())


def test_a_spawn_asked_to_empty_the_state_dir_does_so_first(tmp_path, zygote):
    async def scenario():
        state = tmp_path / "again"
        state.mkdir()
        (state / "exit.json").write_text("{}")  # a previous run's
        m = await Monitor._spawn(state, run_args(tmp_path, "again"), empty_state_dir=True)
        assert not (state / "exit.json").exists() and (state / "args.json").exists()
        assert (await m._request({"op": "end"})).get("ok")

    asyncio.run(scenario())
