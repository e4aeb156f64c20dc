"""Compose e2e fixtures: a dockyard daemon of these tests' own (compose projects create networks and volumes, and
`down -v` must be seen to leave nothing), with the locally built busybox loaded."""
from __future__ import annotations

import pytest

from ..e2e.daemon_harness import build_busybox_archive, cleanup_daemon, new_daemon


@pytest.fixture(scope="session")
def compose_daemon(tmp_path_factory):
    base = tmp_path_factory.mktemp("compose")
    d = new_daemon(base)
    d.start()
    d.docker("load", "-i", str(build_busybox_archive(base / "busybox.tar")))
    yield d
    cleanup_daemon(d)
