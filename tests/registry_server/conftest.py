import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from regsrv_helpers import Server  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registry with auth "none", shared by the tests of one module (use distinct repository names)."""
    root = tmp_path_factory.mktemp("registry")
    server = Server(str(root / "storage")).start()
    yield server
    server.stop()


@pytest.fixture
def make_server(tmp_path):
    """Start registries with a given config; all stopped at the end of the test."""
    started = []

    def make(config: dict | None = None, storage: str | None = None, tls: bool = False) -> Server:
        storage = storage or str(tmp_path / f"storage{len(started)}")
        server = Server(storage, config, workdir=str(tmp_path / f"run{len(started)}"), tls=tls)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()
