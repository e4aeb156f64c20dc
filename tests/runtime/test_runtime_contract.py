"""The Runtime contract, run against every OCI runtime CLI this machine can run containers with.

Each case drives a real container from a busybox-static bundle (our own config.json, runtime/spec.py) the
way the daemon does: a monitor (runtime/monitor.py) started with the command lines the Runtime renders
creates and starts it, execs into it and deletes it; the daemon-side calls (state, ps, pause/resume, kill,
update) go through the same Runtime object.
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.runtime import monitor_client
from dockyard.runtime.monitor_client import Monitor, _Zygote
from dockyard.runtime.oci import OCIRuntime, Runtime
from dockyard.runtime.spec import build_spec, exec_process

BUSYBOX = "/bin/busybox"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(BUSYBOX),
                                reason="needs root and busybox-static")


def make_bundle(path: Path, cid: str, cmd: list[str], tty: bool = False) -> dict:
    rootfs = path / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    for applet in ("sh", "sleep", "echo", "cat", "true"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    spec = build_spec(image_config={}, config={"Cmd": cmd, "Tty": tty}, host_config={}, rootfs=str(rootfs),
                      hostname=cid[:12], container_id=cid)
    (path / "config.json").write_text(json.dumps(spec))
    return spec


@functools.cache
def _crun_problem(tmp: Path) -> str | None:
    """Why crun cannot run containers here (crun 1.8 fails on hybrid cgroup hosts), or None if it can."""
    if not shutil.which("crun"):
        return "crun is not installed"
    cid = "probe-" + secrets.token_hex(4)
    make_bundle(tmp, cid, ["true"])
    proc = subprocess.run(["crun", "--root", str(tmp / "root"), "run", "--bundle", str(tmp), cid],
                          capture_output=True, text=True, timeout=60)
    subprocess.run(["crun", "--root", str(tmp / "root"), "delete", "-f", cid], capture_output=True)
    return f"crun cannot run a container here: {proc.stderr.strip()[-300:]}" if proc.returncode else None


@pytest.fixture(params=["runc", "crun"])
def runtime(request, tmp_path_factory) -> Runtime:
    name = request.param
    if name == "runc" and not shutil.which("runc"):
        pytest.skip("runc is not installed")
    if name == "crun":
        problem = _crun_problem(tmp_path_factory.getbasetemp() / "crun-probe")
        if problem:
            pytest.skip(problem)
    return OCIRuntime(name=name, binary=shutil.which(name), root=str(tmp_path_factory.mktemp(f"{name}-root")))


@pytest.fixture(autouse=True)
def own_zygote(monkeypatch):
    zygote = _Zygote()
    monkeypatch.setattr(monitor_client, "_zygote", zygote)
    yield
    zygote._forget()  # EOF: it exits


class Container:
    def __init__(self, runtime: Runtime, path: Path, cmd: list[str], tty: bool = False):
        self.runtime, self.path, self.tty = runtime, path, tty
        self.id = secrets.token_hex(32)
        self.spec = make_bundle(path, self.id, cmd, tty)

    async def spawn(self) -> Monitor:
        return await Monitor.spawn(runtime=self.runtime, container_id=self.id, bundle=self.path,
                                   state_dir=self.path, log=None, tty=self.tty, open_stdin=False,
                                   stdin_once=False)

    async def start_looping(self):
        """Spawn the monitor, attach, start the LOOP command and wait until it says it is ready."""
        m = await self.spawn()
        out = await m.attach(stdin=False, stdout=True, stderr=True)
        pid = await m.start()
        await read_until(out, b"ready\n")
        return m, pid

    async def cleanup(self) -> None:
        try:
            await self.runtime.delete(self.id, force=True)
        except Exception:
            pass


async def read_all(attachment) -> bytes:
    out = b""
    while (frame := await attachment.read()) is not None:
        out += frame[1]
    return out


async def read_until(attachment, text: bytes) -> bytes:
    out = b""
    while text not in out:
        frame = await attachment.read()
        assert frame is not None, f"output ended before {text!r}: {out!r}"
        out += frame[1]
    return out


LOOP = 'trap "exit 3" TERM; echo ready; while :; do sleep 0.1; done'


def test_a_container_runs_is_inspected_paused_signalled_and_deleted(runtime, tmp_path):
    c = Container(runtime, tmp_path / "c", ["sh", "-c", LOOP])

    async def scenario():
        try:
            m, pid = await c.start_looping()
            state = await runtime.state(c.id)
            assert state["status"] == "running" and state["pid"] == pid
            assert await runtime.list() == [c.id]
            assert pid in await runtime.ps(c.id)
            await runtime.pause(c.id)
            assert (await runtime.state(c.id))["status"] == "paused"
            await runtime.resume(c.id)
            assert (await runtime.state(c.id))["status"] == "running"
            await runtime.update(c.id, {"PidsLimit": 50})
            await runtime.kill(c.id, 15)  # the trap turns SIGTERM into exit 3
            status = await m.wait()
            assert status.exit_code == 3
            # the monitor deleted the container with the Runtime's delete command
            assert await runtime.state(c.id) is None and await runtime.list() == []
        finally:
            await c.cleanup()

    asyncio.run(scenario())


def test_the_monitor_execs_and_kills_through_the_runtime(runtime, tmp_path):
    c = Container(runtime, tmp_path / "c", ["sh", "-c", LOOP])

    async def scenario():
        try:
            m, _ = await c.start_looping()
            process = exec_process(c.spec, {"Cmd": ["sh", "-c", "echo exec-out; echo exec-err >&2; exit 7"]},
                                   c.spec["root"]["path"])
            e = await Monitor.spawn_exec(runtime=runtime, container_id=c.id, exec_id="e1", process=process,
                                         state_dir=tmp_path / "exec", tty=False, open_stdin=False)
            e_out = await e.attach(stdin=False, stdout=True, stderr=True)
            assert await e.start() > 0
            assert sorted((await read_all(e_out)).split()) == [b"exec-err", b"exec-out"]
            assert (await e.wait()).exit_code == 7
            assert await m._request({"op": "kill", "signal": 9}) == {"ok": True}
            assert (await m.wait()).exit_code == 137
            assert await runtime.state(c.id) is None
        finally:
            await c.cleanup()

    asyncio.run(scenario())


def test_a_tty_container_gets_its_console_from_the_runtime(runtime, tmp_path):
    c = Container(runtime, tmp_path / "c", ["sh", "-c", "echo on-a-tty; [ -t 1 ] && exit 0 || exit 1"], tty=True)

    async def scenario():
        m = await c.spawn()
        out = await m.attach(stdin=False, stdout=True, stderr=True)
        try:
            await m.start()
            assert b"on-a-tty" in await read_all(out)
            assert (await m.wait()).exit_code == 0
        finally:
            await c.cleanup()

    asyncio.run(scenario())


def test_a_command_that_cannot_start_reports_the_runtimes_error(runtime, tmp_path):
    c = Container(runtime, tmp_path / "c", ["no-such-command"])

    async def scenario():
        m = await c.spawn()
        try:
            with pytest.raises(monitor_client.StartError) as err:
                await m.start()
            assert err.value.exit_code == 127 and "no-such-command" in err.value.message
            assert await runtime.state(c.id) is None or (await runtime.state(c.id))["status"] == "stopped"
        finally:
            await c.cleanup()

    asyncio.run(scenario())


def test_the_monitor_runs_whatever_cli_the_runtime_is_configured_with(tmp_path):
    """A runtime added by path (daemon.json `runtimes`, `--add-runtime`) is the CLI the monitor runs."""
    real = shutil.which("runc")
    if real is None:
        pytest.skip("runc is not installed")
    calls = tmp_path / "calls"
    wrapper = tmp_path / "my-runtime"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    runtime = OCIRuntime(name="my-runtime", binary=str(wrapper), root=str(tmp_path / "root"))
    c = Container(runtime, tmp_path / "c", ["sh", "-c", "echo hello"])

    async def scenario():
        m = await c.spawn()
        out = await m.attach(stdin=False, stdout=True, stderr=True)
        try:
            await m.start()
            assert await read_all(out) == b"hello\n"
            assert (await m.wait()).exit_code == 0
        finally:
            await c.cleanup()

    asyncio.run(scenario())
    commands = calls.read_text()
    assert f"run -d --pid-file {c.path}/pid --bundle {c.path} {c.id}" in commands
    assert f"delete -f {c.id}" in commands


def test_the_exit_is_told_early_while_the_runtime_still_deletes(tmp_path):
    """wait_exited() answers once the process exited and its output is drained, before the runtime's delete
    (which the daemon's clean-up overlaps); deleted() answers once that delete is done. start(wait=True)
    makes the start's connection the waiter, so a process that ends at once is no exception."""
    real = shutil.which("runc")
    if real is None:
        pytest.skip("runc is not installed")
    gate = tmp_path / "gate"
    wrapper = tmp_path / "gated-runtime"  # its delete waits until the test opens the gate
    # (the wait gives up after a minute: a test run killed before it opened the gate leaves no loop behind)
    wrapper.write_text(f'#!/bin/sh\ncase " $* " in *" delete "*) i=0; while [ ! -e {gate} ] && [ $i -lt 6000 ]; '
                       f'do sleep 0.01; i=$((i+1)); done;; esac\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    runtime = OCIRuntime(name="gated", binary=str(wrapper), root=str(tmp_path / "root"))
    c = Container(runtime, tmp_path / "c", ["sh", "-c", "echo bye; exit 5"])

    async def scenario():
        m = await c.spawn()  # (its wait_exited() times out below if the exit is only told after the delete)
        out = await m.attach(stdin=False, stdout=True, stderr=True)
        try:
            await m.start(wait=True)
            status = await asyncio.wait_for(m.wait_exited(), 60)
            assert status.exit_code == 5
            assert await read_all(out) == b"bye\n"  # the attached client has all the output and is let go
            assert (await runtime.state(c.id))["status"] == "stopped"  # not deleted yet
            deleted = asyncio.ensure_future(m.deleted())
            await asyncio.sleep(0)
            assert not deleted.done()
            gate.touch()
            await deleted
            assert await runtime.state(c.id) is None
        finally:
            gate.touch()
            await c.cleanup()

    asyncio.run(scenario())
