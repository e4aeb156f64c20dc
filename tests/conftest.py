"""Shared test configuration: markers and the root-only guard for tests that need real namespaces."""
import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
NEEDS_ROOT = {"e2e", "runtime", "compose"}  # test directories that start daemons or containers


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root (namespaces, overlayfs, runc)")
        for item in items:
            path = Path(str(item.fspath))
            if path.is_relative_to(TESTS) and NEEDS_ROOT & set(path.relative_to(TESTS).parts):
                item.add_marker(skip)
