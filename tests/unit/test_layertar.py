"""Layer tar writing (deterministic, Docker-shaped) and filesystem change lists."""
import hashlib
import io
import os
import shutil
import stat
import tarfile

import pytest

from dockyard.image.layertar import changes, tree_changes, write_changes_tar, write_dir_tar
from dockyard.image.unpack import apply_layer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, trusted xattrs)")

T0 = 1_600_000_000


def build_tree(root, order=1):
    """The same tree, created in a different order depending on `order`."""
    paths = ["etc/passwd", "bin/busybox", "a-b/x", "a/y", "tmp/"]
    for p in paths[::order]:
        full = os.path.join(root, p)
        if p.endswith("/"):
            os.makedirs(full, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(p)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    os.chmod(os.path.join(root, "bin/busybox"), 0o755)
    os.symlink("busybox", os.path.join(root, "bin/sh"))
    os.link(os.path.join(root, "bin/busybox"), os.path.join(root, "bin/ls"))


def tar_entries(data: bytes):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def write(src, **kw):
    buf = io.BytesIO()
    diff_id, size = write_dir_tar(str(src), buf, **kw)
    return diff_id, size, buf.getvalue()


def test_digest_and_size_describe_the_bytes_written(tmp_path):
    build_tree(tmp_path)
    diff_id, size, data = write(tmp_path, mode="plain")
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert size == len(data)


def test_an_empty_layer_is_dockers_1024_byte_tar(tmp_path):
    diff_id, size, data = write(tmp_path, mode="overlay")
    assert (diff_id, size) == ("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", 1024)
    build_tree(tmp_path)
    data = write(tmp_path, mode="plain")[2]
    assert len(data) % 512 == 0 and data.endswith(b"\0" * 1024)
    assert tarfile.open(fileobj=io.BytesIO(data)).getnames()  # still a valid tar


def test_same_tree_twice_gives_the_same_digest(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    build_tree(a, order=1)
    build_tree(b, order=-1)  # different creation order, different inode numbers and mtimes
    sde = 1_700_000_000
    assert write(a, mode="plain", source_date_epoch=sde)[:2] == write(b, mode="plain", source_date_epoch=sde)[:2]
    # without clamping, different mtimes show
    os.utime(a / "etc/passwd", (T0, T0))
    assert write(a, mode="plain")[0] != write(b, mode="plain")[0]


def test_entries_are_in_tree_order_with_docker_metadata(tmp_path):
    build_tree(tmp_path)
    entries = tar_entries(write(tmp_path, mode="plain")[2])
    assert [m.name for m in entries] == [
        "a", "a/y", "a-b", "a-b/x", "bin", "bin/busybox", "bin/ls", "bin/sh", "etc", "etc/passwd", "tmp"]
    by_name = {m.name: m for m in entries}
    assert by_name["bin/ls"].islnk() and by_name["bin/ls"].linkname == "bin/busybox"
    assert by_name["bin/sh"].issym() and by_name["bin/sh"].linkname == "busybox"
    assert by_name["tmp"].isdir() and by_name["tmp"].mode == 0o1777
    assert all(m.uname == "" and m.gname == "" for m in entries)


def test_source_date_epoch_clamps_newer_mtimes_only(tmp_path):
    (tmp_path / "old").write_text("o")
    (tmp_path / "new").write_text("n")
    os.utime(tmp_path / "old", (T0, T0))
    sde = T0 + 1000
    by_name = {m.name: m for m in tar_entries(write(tmp_path, mode="plain", source_date_epoch=sde)[2])}
    assert by_name["old"].mtime == T0
    assert by_name["new"].mtime == sde


def test_uid_gid_and_capability_xattr_are_kept(tmp_path):
    f = tmp_path / "ping"
    f.write_bytes(b"x")
    os.chown(f, 123, 456)
    cap = b"\x01\x00\x00\x02\x00\x20\x00\x00" + bytes(12)
    os.setxattr(f, "security.capability", cap)
    os.setxattr(f, "user.ignored", b"1")
    m = tar_entries(write(tmp_path, mode="plain")[2])[0]
    assert (m.uid, m.gid) == (123, 456)
    assert m.pax_headers["SCHILY.xattr.security.capability"].encode("utf-8", "surrogateescape") == cap
    assert "SCHILY.xattr.user.ignored" not in m.pax_headers  # Docker only records security.capability


def test_overlay_mode_converts_whiteouts_and_opaque_dirs(tmp_path):
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc/gone", 0o600 | stat.S_IFCHR, 0)
    (upper / "var").mkdir()
    os.setxattr(upper / "var", "trusted.overlay.opaque", b"y")
    (upper / "var/a").write_text("a")
    names = [(m.name, m.type) for m in tar_entries(write(upper, mode="overlay")[2])]
    assert names == [("etc", tarfile.DIRTYPE), ("etc/.wh.gone", tarfile.REGTYPE), ("var", tarfile.DIRTYPE),
                     ("var/.wh..wh..opq", tarfile.REGTYPE), ("var/a", tarfile.REGTYPE)]
    # plain mode keeps the device as it is
    plain = {m.name: m for m in tar_entries(write(upper, mode="plain")[2])}
    assert plain["etc/gone"].ischr()


def test_overlay_tar_round_trips_through_apply_layer(tmp_path):
    """An overlay upper dir, tarred and applied (vfs) on the lower content, gives the merged view."""
    lower, upper, merged = tmp_path / "lower", tmp_path / "upper", tmp_path / "merged"
    for p in ("etc/passwd", "etc/old", "var/cache/x", "keep"):
        (lower / p).parent.mkdir(parents=True, exist_ok=True)
        (lower / p).write_text("lower " + p)
    (upper / "etc").mkdir(parents=True)
    (upper / "etc/passwd").write_text("new passwd")
    os.mknod(upper / "etc/old", 0o600 | stat.S_IFCHR, 0)
    (upper / "var/cache").mkdir(parents=True)
    os.setxattr(upper / "var/cache", "trusted.overlay.opaque", b"y")
    (upper / "var/cache/y").write_text("y")
    buf = io.BytesIO()
    write_dir_tar(str(upper), buf, mode="overlay")
    shutil.copytree(lower, merged, symlinks=True)
    buf.seek(0)
    apply_layer(buf, str(merged), mode="vfs")
    assert sorted(os.listdir(merged / "etc")) == ["passwd"]
    assert (merged / "etc/passwd").read_text() == "new passwd"
    assert sorted(os.listdir(merged / "var/cache")) == ["y"]
    assert (merged / "keep").read_text() == "lower keep"


def make_trees(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for p in ("etc/passwd", "etc/hosts", "usr/bin/tool", "var/log/a", "var/log/b", "same/f"):
        (old / p).parent.mkdir(parents=True, exist_ok=True)
        (old / p).write_text(p)
    shutil.copytree(old, new, symlinks=True, copy_function=shutil.copy2)
    for d in ("etc", "usr", "usr/bin", "var", "var/log", "same"):
        shutil.copystat(old / d, new / d)
    (new / "etc/passwd").write_text("changed")
    (new / "tmp").mkdir()
    (new / "tmp/x").write_text("x")
    shutil.rmtree(new / "usr")
    (new / "var/log/b").unlink()
    shutil.copystat(old / "var/log", new / "var/log")  # same dir metadata: reported only as a parent
    return old, new


def test_tree_changes_like_docker_diff(tmp_path):
    old, new = make_trees(tmp_path)
    assert tree_changes(str(old), str(new)) == [
        {"Path": "/etc", "Kind": 0},
        {"Path": "/etc/passwd", "Kind": 0},
        {"Path": "/tmp", "Kind": 1},
        {"Path": "/tmp/x", "Kind": 1},
        {"Path": "/usr", "Kind": 2},
        {"Path": "/var", "Kind": 0},
        {"Path": "/var/log", "Kind": 0},
        {"Path": "/var/log/b", "Kind": 2},
    ]
    assert changes([str(old)], str(new), mode="vfs") == tree_changes(str(old), str(new))


def test_changes_tar_turns_old_into_new(tmp_path):
    old, new = make_trees(tmp_path)
    buf = io.BytesIO()
    write_changes_tar(str(old), str(new), buf)
    names = [m.name for m in tar_entries(buf.getvalue())]
    assert ".wh.usr" in names and "var/log/.wh.b" in names and "same" not in names
    result = tmp_path / "result"
    shutil.copytree(old, result, symlinks=True)
    buf.seek(0)
    apply_layer(buf, str(result), mode="vfs")
    assert content(result) == content(new)
    assert (result / "etc/passwd").read_text() == "changed"


def content(root):
    """Names, types, modes and file contents (tar keeps whole seconds, so mtimes are left out)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mode, open(p).read() if stat.S_ISREG(st.st_mode) else None)
    return out


def test_changes_tar_without_old_root_is_the_whole_tree(tmp_path):
    (tmp_path / "f").write_text("f")
    buf = io.BytesIO()
    write_changes_tar(None, str(tmp_path), buf)
    assert [m.name for m in tar_entries(buf.getvalue())] == ["f"]


def test_overlay_changes_like_docker_diff(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for p in ("etc/passwd", "tmp/.keep", "var/log/x", "opt/app/old"):
        (lower / p).parent.mkdir(parents=True, exist_ok=True)
        (lower / p).write_text(p)
    for d in ("etc", "tmp", "var", "var/log", "opt"):
        (upper / d).mkdir(parents=True)
    (upper / "etc/passwd").write_text("modified")
    (upper / "tmp/new").write_text("added")
    os.mknod(upper / "var/log/x", 0o600 | stat.S_IFCHR, 0)
    (upper / "opt/app").mkdir()
    os.setxattr(upper / "opt/app", "trusted.overlay.opaque", b"y")
    (upper / "opt/app/fresh").write_text("f")
    for d in ("etc", "tmp", "var", "var/log", "opt"):  # copied up: same metadata as below
        shutil.copystat(lower / d, upper / d)
    assert changes([str(lower)], str(upper)) == [
        {"Path": "/etc/passwd", "Kind": 0},
        {"Path": "/opt/app", "Kind": 0},
        {"Path": "/opt/app/fresh", "Kind": 1},
        {"Path": "/opt/app/old", "Kind": 2},
        {"Path": "/tmp", "Kind": 0},
        {"Path": "/tmp/new", "Kind": 1},
        {"Path": "/var/log", "Kind": 0},
        {"Path": "/var/log/x", "Kind": 2},
    ]


def test_overlay_changes_see_through_several_lowers(tmp_path):
    top, bottom, upper = tmp_path / "top", tmp_path / "bottom", tmp_path / "upper"
    (bottom / "f").parent.mkdir(parents=True)
    (bottom / "f").write_text("bottom")
    top.mkdir()
    os.mknod(top / "f", 0o600 | stat.S_IFCHR, 0)  # deleted by the image's top layer
    upper.mkdir()
    (upper / "f").write_text("again")
    (upper / "g").write_text("g")
    (bottom / "g").write_text("g")
    assert changes([str(top), str(bottom)], str(upper)) == [
        {"Path": "/f", "Kind": 1}, {"Path": "/g", "Kind": 0}]
