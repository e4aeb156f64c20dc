"""E2E fixtures: one real daemon per session with busybox loaded; fresh daemons for restart tests."""
from __future__ import annotations

import pytest

from .daemon_harness import (DAEMON_LOGS, Daemon, build_busybox_archive, cleanup_daemon, loop_stalls, new_daemon,
                             object_ids, remove_new_objects)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory):
    return build_busybox_archive(tmp_path_factory.mktemp("images") / "busybox.tar")


@pytest.fixture(scope="session")
def daemon(tmp_path_factory, busybox_tar) -> Daemon:
    d = new_daemon(tmp_path_factory.mktemp("daemon"))
    d.start()
    d.docker("load", "-i", str(busybox_tar))
    yield d
    cleanup_daemon(d)


@pytest.fixture
def fresh_daemon(tmp_path, busybox_tar) -> Daemon:
    """A daemon of the test's own, for tests that kill or restart it."""
    d = new_daemon(tmp_path / "fresh")
    d.start()
    d.docker("load", "-i", str(busybox_tar))
    yield d
    cleanup_daemon(d)


@pytest.fixture
def own_objects(daemon):
    """The containers and images the test makes on the shared daemon are removed after it, and only those."""
    before = object_ids(daemon)
    yield
    remove_new_objects(daemon, before)


def pytest_terminal_summary(terminalreporter):
    """List the event-loop stalls the test daemons reported (DOCKYARD_STALL_MS): a report, not a failure;
    tests/e2e/test_responsiveness.py is the test that fails on a slow answer."""
    stalls = [(path, report) for path in sorted(DAEMON_LOGS) for report in loop_stalls(path)]
    if not stalls:
        return
    terminalreporter.section(f"event-loop stalls over 50 ms: {len(stalls)}")
    for path, report in stalls[:30]:
        terminalreporter.write_line(f"{path}:")
        terminalreporter.write_line(report)
    if len(stalls) > 30:
        terminalreporter.write_line(f"... and {len(stalls) - 30} more")
