"""Layer unpacking: content and metadata, whiteouts in both modes, and hostile tars.

Every hostile tar is applied to `root` next to an `outside` directory; the tests assert the
error names the entry and that `outside` (and the rest of the filesystem) is left exactly as it was.
"""
import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile

import pytest

from dockyard.errors import InvalidParameter
from dockyard.image.unpack import apply_layer, resolve_in_root

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, trusted xattrs)")


# ----------------------------------------------------------------------------- tar building
def reg(name, data=b"", mode=0o644, uid=0, gid=0, mtime=1_600_000_000, xattrs=None):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, mtime
    if xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    return info, data


def dir_(name, mode=0o755, mtime=1_600_000_000, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.uid, info.gid = tarfile.DIRTYPE, mode, mtime, uid, gid
    return info, None


def sym(name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 1_600_000_000
    return info, None


def hard(name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info, None


def dev(name, kind=tarfile.CHRTYPE, major=1, minor=3):
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor, info.mode = kind, major, minor, 0o666
    return info, None


def make_tar(*entries, compress=None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    if compress:
        raw = compress(raw)
    return io.BytesIO(raw)


def snapshot(path):
    """Everything observable about a tree: names, types, modes, sizes, mtimes, link targets, content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames + ["."]:
            p = os.path.normpath(os.path.join(dirpath, name))
            st = os.lstat(p)
            content = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            out[os.path.relpath(p, path)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink, link, content)
    return out


@pytest.fixture
def env(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("do not touch")
    (outside / "sub").mkdir()
    before = snapshot(outside)

    class Env:
        pass

    e = Env()
    e.root, e.outside, e.tmp = str(root), str(outside), tmp_path
    yield e
    assert snapshot(outside) == before, "something outside the root was changed"
    assert sorted(os.listdir(tmp_path)) == ["outside", "root"], "something was created next to the root"


def rejected(env, tar, mode="vfs", match=None):
    with pytest.raises(InvalidParameter) as e:
        apply_layer(tar, env.root, mode=mode)
    if match:
        assert match in str(e.value)
    return str(e.value)


# ----------------------------------------------------------------------------- content and metadata
def test_regular_files_dirs_links_and_metadata(env):
    tar = make_tar(
        dir_("etc/", mode=0o750, mtime=1_500_000_000, uid=5, gid=6),
        reg("etc/passwd", b"root:x:0:0\n", mode=0o640, uid=1000, gid=1001, mtime=1_400_000_000),
        reg("bin/suid", b"x", mode=0o4755),
        sym("bin/sh", "busybox"),
        reg("bin/busybox", b"BB" * 1000, mode=0o755),
        hard("bin/ls", "bin/busybox"),
    )
    written = apply_layer(tar, env.root, mode="vfs")
    assert written == len(b"root:x:0:0\n") + 1 + 2000
    st = os.stat(os.path.join(env.root, "etc/passwd"))
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o640, 1000, 1001, 1_400_000_000)
    assert open(os.path.join(env.root, "etc/passwd"), "rb").read() == b"root:x:0:0\n"
    d = os.stat(os.path.join(env.root, "etc"))  # set last, after its children were created
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid, int(d.st_mtime)) == (0o750, 5, 6, 1_500_000_000)
    assert stat.S_IMODE(os.stat(os.path.join(env.root, "bin/suid")).st_mode) == 0o4755
    assert os.readlink(os.path.join(env.root, "bin/sh")) == "busybox"
    assert os.path.samefile(os.path.join(env.root, "bin/ls"), os.path.join(env.root, "bin/busybox"))
    # a parent that had no entry of its own is created 0755, like Docker's MkdirAll
    assert stat.S_IMODE(os.stat(os.path.join(env.root, "bin")).st_mode) == 0o755


def test_xattrs_from_pax_headers(env):
    tar = make_tar(reg("f", b"x", xattrs={"user.color": "blue", "trusted.overlay.redirect": "/evil"}))
    apply_layer(tar, env.root, mode="overlay")
    f = os.path.join(env.root, "f")
    assert os.getxattr(f, "user.color") == b"blue"
    # overlayfs' own xattrs are not taken from a layer: they would steer the storage driver
    assert "trusted.overlay.redirect" not in os.listxattr(f)


@pytest.mark.parametrize("compress", [None, gzip.compress, bz2.compress, lzma.compress],
                         ids=["plain", "gzip", "bzip2", "xz"])
def test_compressed_layers_are_detected_by_magic(env, compress):
    apply_layer(make_tar(reg("hello", b"world"), compress=compress), env.root)
    assert open(os.path.join(env.root, "hello"), "rb").read() == b"world"


def test_zstd_layers(env):
    import zstandard

    raw = make_tar(reg("hello", b"world")).getvalue()
    apply_layer(io.BytesIO(zstandard.ZstdCompressor().compress(raw)), env.root)
    assert open(os.path.join(env.root, "hello"), "rb").read() == b"world"


def test_fifos_are_created_like_docker(env):
    fifo = tarfile.TarInfo("run/pipe")
    fifo.type, fifo.mode = tarfile.FIFOTYPE, 0o620
    apply_layer(make_tar((fifo, None)), env.root)
    st = os.lstat(os.path.join(env.root, "run/pipe"))
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o620


def test_absolute_names_are_taken_relative_to_the_root(env):
    apply_layer(make_tar(reg("/etc/hostname", b"box"), reg("//x/../y", b"y")), env.root)
    assert open(os.path.join(env.root, "etc/hostname")).read() == "box"
    assert os.path.exists(os.path.join(env.root, "y"))


def test_entry_replaces_existing_file_and_dir_merges(env):
    os.makedirs(os.path.join(env.root, "d"))
    open(os.path.join(env.root, "d/keep"), "w").write("lower")
    open(os.path.join(env.root, "f"), "w").write("lower")
    apply_layer(make_tar(dir_("d/", mode=0o700), reg("f", b"upper")), env.root)
    assert open(os.path.join(env.root, "d/keep")).read() == "lower"
    assert stat.S_IMODE(os.stat(os.path.join(env.root, "d")).st_mode) == 0o700
    assert open(os.path.join(env.root, "f")).read() == "upper"
    # a file entry replaces a directory
    apply_layer(make_tar(reg("d", b"now a file")), env.root)
    assert open(os.path.join(env.root, "d")).read() == "now a file"


def test_writing_through_a_symlink_inside_the_root(env):
    """Merged-/usr images (`lib -> usr/lib`): a later layer's `lib/x` lands in usr/lib/x."""
    apply_layer(make_tar(dir_("usr/lib/"), sym("lib", "usr/lib"), sym("var/run", "/run")), env.root)
    apply_layer(make_tar(reg("lib/libc.so", b"c"), reg("var/run/pid", b"1")), env.root)
    assert open(os.path.join(env.root, "usr/lib/libc.so")).read() == "c"
    assert open(os.path.join(env.root, "run/pid")).read() == "1"


# ----------------------------------------------------------------------------- whiteouts
def lower_tree(root):
    for p in ("a/file", "a/other", "b", "d/old1", "d/sub/old2", "keep"):
        os.makedirs(os.path.dirname(os.path.join(root, p)) or root, exist_ok=True)
        open(os.path.join(root, p), "w").write(p)


def test_whiteouts_in_vfs_mode_delete_from_the_lower_content(env):
    lower_tree(env.root)
    apply_layer(make_tar(reg("a/.wh.file"), reg(".wh.b"), reg(".wh.d")), env.root, mode="vfs")
    assert sorted(os.listdir(env.root)) == ["a", "keep"]
    assert os.listdir(os.path.join(env.root, "a")) == ["other"]


def test_whiteouts_in_overlay_mode_become_char_devices(env):
    apply_layer(make_tar(reg("a/.wh.file", b""), reg(".wh.b")), env.root, mode="overlay")
    for p in ("a/file", "b"):
        st = os.lstat(os.path.join(env.root, p))
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert not os.path.lexists(os.path.join(env.root, ".wh.b"))


def test_opaque_dir_vfs_keeps_only_this_layers_entries(env):
    lower_tree(env.root)
    tar = make_tar(dir_("d/"), reg("d/early", b"1"), reg("d/.wh..wh..opq"), reg("d/late", b"2"))
    apply_layer(tar, env.root, mode="vfs")
    assert sorted(os.listdir(os.path.join(env.root, "d"))) == ["early", "late"]
    assert sorted(os.listdir(env.root)) == ["a", "b", "d", "keep"]


def test_opaque_marker_after_children_keeps_their_implicit_parents(env):
    lower_tree(env.root)  # d/old1, d/sub/old2
    apply_layer(make_tar(reg("d/sub/new", b"n"), reg("d/fresh/x", b"x"), reg("d/.wh..wh..opq")), env.root, mode="vfs")
    assert sorted(os.listdir(os.path.join(env.root, "d"))) == ["fresh", "sub"]
    assert os.listdir(os.path.join(env.root, "d/sub")) == ["new"]


def test_opaque_dir_overlay_sets_the_xattr(env):
    apply_layer(make_tar(dir_("d/"), reg("d/.wh..wh..opq"), reg("d/new", b"n")), env.root, mode="overlay")
    d = os.path.join(env.root, "d")
    assert os.getxattr(d, "trusted.overlay.opaque") == b"y"
    assert os.listdir(d) == ["new"]


def test_overlay_whiteout_char_device_in_the_tar_is_accepted_in_overlay_mode(env):
    apply_layer(make_tar(dev("gone", major=0, minor=0)), env.root, mode="overlay")
    assert os.lstat(os.path.join(env.root, "gone")).st_rdev == 0


def test_aufs_metadata_is_skipped(env):
    apply_layer(make_tar(dir_(".wh..wh.plnk/"), reg(".wh..wh.aufs", b"")), env.root)
    assert os.listdir(env.root) == []


# ----------------------------------------------------------------------------- hostile tars
@pytest.mark.parametrize("name", ["../outside/pwned", "a/../../outside/pwned", "..", "./../x"])
def test_path_traversal_is_refused(env, name):
    msg = rejected(env, make_tar(reg(name, b"evil")))
    assert repr(name) in msg and "escapes" in msg


def test_relative_symlink_climbing_out_is_refused(env):
    msg = rejected(env, make_tar(dir_("a/"), sym("a/link", "../../outside"), reg("a/link/pwned", b"x")))
    assert "'a/link'" in msg and "outside the root" in msg


def test_absolute_symlink_target_is_resolved_inside_the_root_on_write(env):
    """A chroot would follow `evil -> /abs/outside` to <root>/abs/outside: so do we, never to the host."""
    tar = make_tar(sym("evil", env.outside), reg("evil/secret", b"overwritten?"), reg("evil/sub/new", b"x"))
    apply_layer(tar, env.root, mode="vfs")
    inside = os.path.join(env.root, env.outside.lstrip("/"))
    assert open(os.path.join(inside, "secret")).read() == "overwritten?"
    assert os.path.exists(os.path.join(inside, "sub/new"))


def test_symlink_chains_and_dotdot_stop_at_the_root(env):
    # a -> /, c -> a/.. : on the host c/x would be /x; in the root it is <root>/x
    apply_layer(make_tar(sym("a", "/"), sym("c", "a/.."), reg("c/x", b"x"), sym("r", "/../../"),
                         reg("r/y", b"y")), env.root)
    assert open(os.path.join(env.root, "x")).read() == "x"
    assert open(os.path.join(env.root, "y")).read() == "y"


def test_existing_symlink_is_replaced_not_written_through(env):
    os.symlink(os.path.join(env.outside, "secret"), os.path.join(env.root, "f"))
    os.symlink(env.outside, os.path.join(env.root, "d"))
    apply_layer(make_tar(reg("f", b"new"), dir_("d/"), reg("d/g", b"g")), env.root)
    assert not os.path.islink(os.path.join(env.root, "f"))
    assert open(os.path.join(env.root, "f")).read() == "new"
    assert os.path.isdir(os.path.join(env.root, "d")) and not os.path.islink(os.path.join(env.root, "d"))


def test_whiteout_through_a_symlink_does_not_delete_outside(env):
    apply_layer(make_tar(sym("l", env.outside), reg("l/.wh.secret"), reg("l/.wh.sub")), env.root)


def test_opaque_marker_through_a_symlink_does_not_empty_outside(env):
    apply_layer(make_tar(sym("l", env.outside), reg("l/.wh..wh..opq")), env.root, mode="vfs")


@pytest.mark.parametrize("target", ["../outside/secret", "a/../../outside/secret"])
def test_hardlink_outside_the_root_is_refused(env, target):
    msg = rejected(env, make_tar(hard("h", target)))
    assert "'h'" in msg and "hardlink" in msg


def test_hardlink_through_a_symlink_cannot_reach_outside(env):
    msg = rejected(env, make_tar(sym("d", env.outside), hard("h", "d/secret")))
    assert "does not exist" in msg
    assert os.stat(os.path.join(env.outside, "secret")).st_nlink == 1


def test_absolute_hardlink_target_is_inside_the_root(env):
    apply_layer(make_tar(reg("etc/passwd", b"p"), hard("h", "/etc/passwd")), env.root)
    assert os.path.samefile(os.path.join(env.root, "h"), os.path.join(env.root, "etc/passwd"))


@pytest.mark.parametrize("mode", ["vfs", "overlay"])
@pytest.mark.parametrize("entry", [dev("dev/null", major=1, minor=3),
                                   dev("dev/sda", kind=tarfile.BLKTYPE, major=8, minor=0)], ids=["char", "block"])
def test_device_nodes_are_refused(env, mode, entry):
    msg = rejected(env, make_tar(entry), mode=mode)
    assert "device nodes are not allowed" in msg and entry[0].name in msg
    assert os.listdir(env.root) == []  # refused before even its parent dir was made


def test_whiteout_char_device_is_refused_in_vfs_mode(env):
    rejected(env, make_tar(dev("x", major=0, minor=0)), mode="vfs", match="device")


def test_root_entry_must_be_a_directory(env):
    rejected(env, make_tar(sym(".", "/outside")), match="root must be a directory")


def test_truncated_tar_is_refused(env):
    raw = make_tar(reg("big", b"x" * 100_000)).getvalue()
    rejected(env, io.BytesIO(raw[:30_000]), match="invalid or truncated layer tar")


def test_corrupt_gzip_is_refused(env):
    raw = gzip.compress(make_tar(reg("f", b"x" * 10_000)).getvalue())
    rejected(env, io.BytesIO(raw[:20] + b"\xff" * 40 + raw[60:]), match="invalid or truncated layer tar")


def test_file_under_a_regular_file_is_refused(env):
    rejected(env, make_tar(reg("f", b"x"), reg("f/g", b"y")), match="not a directory")


# ----------------------------------------------------------------------------- resolver
def test_resolve_in_root(tmp_path):
    root = str(tmp_path)
    os.makedirs(tmp_path / "usr/lib")
    os.symlink("usr/lib", tmp_path / "lib")
    os.symlink("/", tmp_path / "up")
    os.symlink("loop", tmp_path / "loop")
    assert resolve_in_root(root, "lib/x") == str(tmp_path / "usr/lib/x")
    assert resolve_in_root(root, "up/../../etc") == str(tmp_path / "etc")
    assert resolve_in_root(root, "lib", follow_last=False) == str(tmp_path / "lib")
    with pytest.raises(InvalidParameter, match="too many levels"):
        resolve_in_root(root, "loop/x")


def test_large_layer_streams(tmp_path):
    """A layer bigger than any buffer unpacks without reading it whole into memory first."""
    size = 64 << 20

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    header = tarfile.TarInfo("big")
    header.size = size
    head = header.tobuf(format=tarfile.PAX_FORMAT)
    tail = bytes(-size % 512) + bytes(1024)

    class Stream(io.RawIOBase):
        def __init__(self):
            self.parts = [io.BytesIO(head), Zeros(size), io.BytesIO(tail)]

        def readable(self):
            return True

        def readinto(self, b):
            while self.parts:
                n = self.parts[0].readinto(b)
                if n:
                    return n
                self.parts.pop(0)
            return 0

    assert apply_layer(io.BufferedReader(Stream()), str(tmp_path), mode="vfs") == size
    assert os.path.getsize(tmp_path / "big") == size


@pytest.mark.parametrize("data", [b"", gzip.compress(b""), bytes(1024)], ids=["empty", "empty-gzip", "end-blocks"])
def test_empty_layers_apply_nothing(env, data):
    assert apply_layer(io.BytesIO(data), env.root) == 0
    assert os.listdir(env.root) == []
