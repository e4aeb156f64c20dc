"""Exec failures that race with the exec's monitor answer in Docker's terms, never with a Python exception."""
import asyncio
from types import SimpleNamespace

import pytest

from dockyard.daemon.exec import ExecService
from dockyard.daemon.exec_store import ExecStore
from dockyard.errors import Conflict, SystemError_


class FakeContainers:
    """Just what ExecService asks of the container service, for one running container."""

    def __init__(self, tmp_path):
        self.container = SimpleNamespace(id="c" * 64, name="/fake", image_ref="busybox", state=SimpleNamespace(
            Running=True, Restarting=False, Paused=False))
        self.config = SimpleNamespace(exec_root=tmp_path / "exec")
        self.tmp_path = tmp_path

    def get(self, ref):
        return self.container

    def state_dir(self, container_id):
        return self.tmp_path / "gone"  # no config.json: the container's state went away

    def runtime_for(self, c):
        return SimpleNamespace(binary="runc", root=str(self.tmp_path / "runc"))


class GoneMonitor:
    async def resize(self, height, width):
        raise FileNotFoundError(2, "No such file or directory")


@pytest.fixture
def service(tmp_path):
    fake = FakeContainers(tmp_path)  # the container store and the container service in one
    return ExecService(fake, fake, SimpleNamespace(emit=lambda *a, **k: None), ExecStore())


def test_resize_racing_the_exit_is_a_conflict(service):
    exec_id = service.create("fake", {"Cmd": ["sleep", "1"], "Tty": True})["Id"]
    rec = service.get(exec_id)
    rec.running, rec.monitor = True, GoneMonitor()  # it ended after the running check
    with pytest.raises(Conflict) as info:
        asyncio.run(service.resize(exec_id, 10, 40))
    assert str(info.value) == f"Exec {exec_id} is not running"


def test_detached_start_without_container_state_is_a_clean_error(service):
    exec_id = service.create("fake", {"Cmd": ["true"]})["Id"]
    with pytest.raises(SystemError_) as info:
        asyncio.run(service.start(exec_id))
    message = str(info.value)
    assert message.startswith("OCI runtime exec failed: ") and "Errno" not in message
    # moby: an exec that fails to start without a more telling code exits 126
    assert service.inspect(exec_id)["ExitCode"] == 126 and service.inspect(exec_id)["Running"] is False
