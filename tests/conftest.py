"""Shared test configuration: markers and the root-only guard for tests that need real namespaces."""
import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root (namespaces, overlayfs, runc)")
        for item in items:
            if "e2e" in str(item.fspath) or "runtime" in str(item.fspath):
                item.add_marker(skip)
