"""apply_layer(mode="plain"), what docker cp extracts with: whiteout names are ordinary files, and the
layer modes' safety rules (no escape from the root, no device nodes) still hold."""
import os

import pytest

from dockyard.image.unpack import apply_layer

from . import test_unpack
from .test_unpack import dev, make_tar, reg, rejected, sym

env = test_unpack.env  # the same root-next-to-an-untouched-outside fixture

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown)")


def test_whiteout_names_are_plain_files(env):
    os.makedirs(os.path.join(env.root, "dir"))
    open(os.path.join(env.root, "victim"), "w").write("keep")
    open(os.path.join(env.root, "dir", "inside"), "w").write("keep too")
    apply_layer(make_tar(reg(".wh.victim", b"a"), reg("dir/.wh..wh..opq", b"b"), reg(".wh..wh.plnk", b"c")),
                env.root, mode="plain")
    assert open(os.path.join(env.root, "victim")).read() == "keep"
    assert open(os.path.join(env.root, "dir", "inside")).read() == "keep too"
    assert open(os.path.join(env.root, ".wh.victim")).read() == "a"
    assert open(os.path.join(env.root, "dir", ".wh..wh..opq")).read() == "b"
    assert open(os.path.join(env.root, ".wh..wh.plnk")).read() == "c"


def test_the_same_layer_in_vfs_mode_deletes(env):
    open(os.path.join(env.root, "victim"), "w").write("gone")
    apply_layer(make_tar(reg(".wh.victim", b"")), env.root, mode="vfs")
    assert os.listdir(env.root) == []


@pytest.mark.parametrize("entries, match", [
    ((reg("../escape", b"x"),), "path escapes the root"),
    ((sym("link", "../../outside"),), "points outside the root"),
    ((dev(".wh.null", major=0, minor=0),), "device nodes are not allowed"),
])
def test_plain_mode_keeps_the_safety_rules(env, entries, match):
    rejected(env, make_tar(*entries), mode="plain", match=match)


def test_writes_through_an_absolute_symlink_stay_inside(env):
    apply_layer(make_tar(sym("etc", "/"), reg("etc/passwd", b"inside")), env.root, mode="plain")
    assert open(os.path.join(env.root, "passwd")).read() == "inside"
