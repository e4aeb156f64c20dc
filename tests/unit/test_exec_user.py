"""`docker exec -u` with a user the image does not have: moby's message, exit code 126, never a traceback."""
import asyncio
import json
from types import SimpleNamespace

import pytest

from dockyard.daemon.exec import ExecService
from dockyard.daemon.exec_store import ExecStore
from dockyard.errors import InvalidParameter

MESSAGE = "unable to find user nosuchuser: no matching entries in passwd file"


class OneContainer:
    """Just what ExecService asks of the container service: a running container with a bundle."""

    def __init__(self, tmp_path):
        self.container = SimpleNamespace(id="c" * 64, name="/fake", image_ref="busybox", state=SimpleNamespace(
            Running=True, Restarting=False, Paused=False))
        self.config = SimpleNamespace(exec_root=tmp_path / "exec")
        rootfs = tmp_path / "rootfs"
        (rootfs / "etc").mkdir(parents=True)
        (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (rootfs / "etc" / "group").write_text("root:x:0:\n")
        self.state = tmp_path / "state"
        self.state.mkdir()
        (self.state / "config.json").write_text(json.dumps({
            "root": {"path": str(rootfs)},
            "process": {"args": ["sh"], "env": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}}))

    def get(self, ref):
        return self.container

    def state_dir(self, container_id):
        return self.state

    def runtime_for(self, c):
        raise AssertionError("no monitor may be spawned for an exec that cannot be set up")


class Hijacked:
    def __init__(self):
        self.data = b""

    async def write(self, data: bytes) -> None:
        self.data += data


@pytest.fixture
def service(tmp_path):
    fake = OneContainer(tmp_path)  # the container store and the container service in one
    return ExecService(fake, fake, SimpleNamespace(emit=lambda *a, **k: None), ExecStore())


def test_attached_exec_as_unknown_user_prints_moby_message_and_exits_126(service, tmp_path):
    exec_id = service.create("fake", {"Cmd": ["echo", "hi"], "User": "nosuchuser", "Tty": True})["Id"]
    out = Hijacked()
    asyncio.run(service.start(exec_id, hijacked=out))
    assert out.data == (MESSAGE + "\r\n").encode()
    info = service.inspect(exec_id)
    assert info["ExitCode"] == 126 and info["Running"] is False
    assert list((tmp_path / "exec" / "x").iterdir()) == []  # its state dir is gone


def test_detached_exec_as_unknown_user_is_an_error_response(service):
    exec_id = service.create("fake", {"Cmd": ["echo", "hi"], "User": "nosuchuser"})["Id"]
    with pytest.raises(InvalidParameter) as info:
        asyncio.run(service.start(exec_id))
    assert str(info.value) == MESSAGE
    assert service.inspect(exec_id)["ExitCode"] == 126


