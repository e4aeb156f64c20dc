"""The trash: a removed tree disappears at once (a rename) and is deleted in the background."""
from __future__ import annotations

import os

import pytest

from dockyard.store.trash import Trash, remove_tree


def make_tree(path):
    (path / "diff" / "etc").mkdir(parents=True)
    (path / "diff" / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    os.symlink("passwd", path / "diff" / "etc" / "link")


def test_a_discarded_tree_is_gone_at_once_and_deleted_after(tmp_path):
    trash = Trash(tmp_path / "trash")
    make_tree(tmp_path / "layer")
    trash.discard(tmp_path / "layer")
    assert not (tmp_path / "layer").exists()
    trash.drain()
    assert list((tmp_path / "trash").iterdir()) == []


def test_a_discarded_file_and_a_missing_path(tmp_path):
    trash = Trash(tmp_path / "trash")
    (tmp_path / "f").write_text("x")
    trash.discard(tmp_path / "f")
    trash.discard(tmp_path / "never-was")
    assert not (tmp_path / "f").exists()
    trash.drain()
    assert list((tmp_path / "trash").iterdir()) == []


def test_empty_deletes_what_a_previous_daemon_left(tmp_path):
    make_tree(tmp_path / "trash" / "left-by-a-crash")
    (tmp_path / "trash" / "file").write_text("x")
    trash = Trash(tmp_path / "trash")
    trash.empty()
    assert list((tmp_path / "trash").iterdir()) == []


def test_a_tree_on_another_filesystem_is_deleted_in_place(tmp_path):
    # /dev/shm is a tmpfs: a rename from there into the trash fails (EXDEV), so it is removed where it is
    other = os.path.join("/dev/shm", f"trash-test-{os.getpid()}")
    os.makedirs(os.path.join(other, "diff"))
    trash = Trash(tmp_path / "trash")
    if os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        os.rmdir(os.path.join(other, "diff"))
        os.rmdir(other)
        pytest.skip("/dev/shm is on the same filesystem as the test's tmp dir")
    trash.discard(other)
    assert not os.path.exists(other)
    assert list((tmp_path / "trash").iterdir()) == []


def test_remove_tree_without_a_trash_deletes_in_place(tmp_path):
    make_tree(tmp_path / "layer")
    remove_tree(tmp_path / "layer", None)
    assert not (tmp_path / "layer").exists()
