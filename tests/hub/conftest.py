"""Hub fixtures: a `dockyard registry serve --hub` per module (or per test with make_hub), and, for the tests
that use the real docker CLI, `daemon`: a dockyard daemon with busybox loaded (tests/e2e's, needs root)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from hub_helpers import HUB_CONFIG, HubServer  # noqa: E402
from tests.e2e.conftest import busybox_tar, daemon  # noqa: E402,F401  (the e2e harness: a daemon with busybox)


def _config(extra: dict | None) -> dict:
    cfg = {"hub": dict(HUB_CONFIG["hub"])}
    for key, value in (extra or {}).items():
        if key == "hub":
            cfg["hub"].update(value)
        else:
            cfg[key] = value
    return cfg


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A Hub shared by one module's tests (use distinct user and repository names)."""
    root = tmp_path_factory.mktemp("hub")
    server = HubServer(str(root / "storage"), _config(None), workdir=str(root / "run")).start()
    yield server
    server.stop()


@pytest.fixture
def make_hub(tmp_path):
    """Start Hubs with extra config ({"hub": {...}} merges into the defaults); stopped at the end of the test."""
    started = []

    def make(extra: dict | None = None) -> HubServer:
        n = len(started)
        server = HubServer(str(tmp_path / f"storage{n}"), _config(extra), workdir=str(tmp_path / f"run{n}"))
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()
