"""Apply a layer tar to a directory, safely, the way Docker's UnpackLayer does inside its chroot.

Three modes:
  vfs      dest_dir already holds the lower layers' content; whiteouts delete from it.
  overlay  dest_dir is this layer's own (empty) diff dir; whiteouts become overlayfs markers
           (char device 0/0, `trusted.overlay.opaque=y`).
  plain    not a layer but a user's tar (docker cp): `.wh.*` entries are ordinary files, as in
           Docker's Untar; the same safety rules apply.

Security rules (Docker runs this in a chroot; we resolve paths as a chroot would instead):
  * entry names are cleaned; a leading `/` is dropped (Docker joins names onto the root), and a name
    that still climbs out with `..` is refused;
  * every path component is resolved inside dest_dir: an absolute symlink target is taken relative to
    dest_dir and `..` stops at dest_dir, so writing through any symlink never leaves the root;
  * a relative symlink whose target climbs out of the root is refused when it is created (Docker's
    "invalid symlink" check), so is a hardlink whose target lies outside the root;
  * char/block devices are refused (Docker would mknod them; we never want a layer to carry a device
    node), except char 0/0 in overlay mode, which is an overlay whiteout. FIFOs are created as Docker
    does (mkfifo). Sockets cannot appear in a tar.
Every refusal raises InvalidParameter naming the entry; nothing is ever created outside dest_dir.
"""
from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from typing import BinaryIO, Callable

from ..errors import InvalidParameter
from .zstd_stream import ZstdStreamError, open_zstd

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
PAX_XATTR_PREFIX = "SCHILY.xattr."
MAX_SYMLINK_HOPS = 40  # Linux's ELOOP limit

_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# ----------------------------------------------------------------------------- decompression
def compression_of(head: bytes) -> str:
    """'gzip', 'bzip2', 'xz', 'zstd' or 'none' from the first bytes of a stream."""
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return "none"


def open_decompressed(fileobj: BinaryIO) -> BinaryIO:
    """A reader of the uncompressed bytes of `fileobj`, whatever its (supported) compression."""
    buffered = fileobj if hasattr(fileobj, "peek") else io.BufferedReader(RawReader(fileobj), 1 << 16)
    kind = compression_of(buffered.peek(6)[:6])
    if kind == "gzip":
        return gzip.GzipFile(fileobj=buffered, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(buffered, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(buffered, mode="rb")
    if kind == "zstd":
        return open_zstd(buffered)
    return buffered


class RawReader(io.RawIOBase):
    """Lets io.BufferedReader wrap any object with a read() method (sockets, HTTP bodies, ...)."""

    def __init__(self, f):
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._f.read(len(b))
        b[:len(data)] = data
        return len(data)


# ----------------------------------------------------------------------------- safe paths
def clean_entry_name(name: str) -> str:
    """Docker's filepath.Clean + Join(root, name): '' for the root itself; refuses escapes."""
    cleaned = posixpath.normpath(name).lstrip("/") or "."
    if cleaned == ".":
        return ""
    if cleaned == ".." or cleaned.startswith("../"):
        raise InvalidParameter(f"refusing layer entry {name!r}: path escapes the root directory")
    return cleaned


def resolve_in_root(root: str, rel: str, follow_last: bool = True) -> str:
    """Resolve `rel` under `root` as if `root` were `/` (chroot semantics); returns a real path.

    Symlinks met on the way are followed with their targets interpreted inside `root` (absolute
    targets restart from `root`, `..` never goes above it). Missing components are kept literally.
    With follow_last=False the final component is not followed (lstat semantics).
    """
    pending = [p for p in rel.split("/") if p not in ("", ".")]
    pending.reverse()  # a stack: next component at the end
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        if part == "." or part == "":
            continue
        candidate = os.path.join(root, *resolved, part)
        if not pending and not follow_last:
            resolved.append(part)
            break
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(part)
            continue
        if not stat.S_ISLNK(st.st_mode):
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_SYMLINK_HOPS:
            raise InvalidParameter(f"too many levels of symbolic links resolving {rel!r}")
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
    return os.path.join(root, *resolved)


# ----------------------------------------------------------------------------- applying
def apply_layer(fileobj: BinaryIO, dest_dir: str, mode: str = "overlay") -> int:
    """Extract the layer tar read from `fileobj` into `dest_dir`; returns the bytes of file content written."""
    if mode not in ("overlay", "vfs", "plain"):
        raise ValueError(f"unknown apply mode {mode!r}")
    applier = _Applier(os.path.realpath(dest_dir), mode)
    _apply_members(fileobj, lambda member: applier)
    return applier.written


def extract_routed(fileobj: BinaryIO, route: Callable[[tarfile.TarInfo], str | None]) -> None:
    """A plain tar (no whiteouts) extracted into several roots: `route` names the host directory each member
    goes into, having made its name (and a hardlink's target) relative to it, or None to skip the member.
    `docker cp` writes a tree spanning a container's mounts this way."""
    appliers: dict[str, _Applier] = {}

    def pick(member: tarfile.TarInfo) -> _Applier | None:
        refuse_climbing_symlink(member)  # against the destination, before the name is made mount-relative
        root = route(member)
        if root is None:
            return None
        if root not in appliers:
            appliers[root] = _Applier(os.path.realpath(root), "plain", check_links=False)
        return appliers[root]

    _apply_members(fileobj, pick)


def _apply_members(fileobj: BinaryIO, pick: Callable[[tarfile.TarInfo], "_Applier | None"]) -> None:
    used: dict[int, _Applier] = {}
    try:
        stream = open_decompressed(fileobj)
        if not stream.peek(1):
            return  # an empty stream is an empty layer (Go's tar reader sees EOF at once, as in Docker)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                applier = pick(member)
                if applier is not None:
                    used[id(applier)] = applier
                    applier.apply(member, tar)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, ZstdStreamError) as e:
        raise InvalidParameter(f"invalid or truncated layer tar: {e}") from e
    except OSError as e:
        if e.errno is not None:
            raise  # a real filesystem error (ENOSPC, EACCES...), not bad input
        raise InvalidParameter(f"invalid or truncated layer tar: {e}") from e  # gzip/bz2 data errors
    for applier in used.values():
        applier.finish()


class _Applier:
    def __init__(self, root: str, mode: str, check_links: bool = True):
        self.root = root
        self.mode = mode
        self.check_links = check_links  # False: the caller checked symlinks against the real root
        self.written = 0
        self.unpacked: set[str] = set()  # real paths created by this layer (vfs opaque dirs keep them)
        self.dirs: list[tuple[str, tarfile.TarInfo]] = []  # dir times are set last
        # Resolved parent dirs by entry dir; every cached path is a real directory, so only a removal
        # (which may delete one or replace it) can make an entry stale.
        self._parents: dict[str, str] = {}

    # --- per entry
    def apply(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        rel = clean_entry_name(member.name)
        layer = self.mode != "plain"  # only a layer has whiteouts and AUFS metadata
        if layer and rel.startswith(WHITEOUT_META_PREFIX) and rel != WHITEOUT_OPAQUE:
            return  # AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not content
        self._check_type(member)  # before anything, even a parent dir, is created
        base = posixpath.basename(rel)
        parent = self._parent_dir(rel, member.name)
        if layer and base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parent, base, member)
            return
        if not rel and not member.isdir():
            raise InvalidParameter(f"refusing layer entry {member.name!r}: the root must be a directory")
        path = os.path.join(parent, base) if rel else self.root
        self._clear_for(path, member)
        self._create(path, member, tar)
        self._set_metadata(path, member)
        self.unpacked.add(path)

    def _parent_dir(self, rel: str, name: str) -> str:
        """The real directory the entry goes into, created (0755, like Docker's MkdirAll) if missing."""
        rel_dir = posixpath.dirname(rel)
        parent = self._parents.get(rel_dir)
        if parent is not None:
            return parent
        parent = resolve_in_root(self.root, rel_dir, follow_last=True)
        missing = []
        probe = parent
        while not os.path.lexists(probe):
            missing.append(probe)
            probe = os.path.dirname(probe)
        try:
            os.makedirs(parent, 0o755, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidParameter(f"refusing layer entry {name!r}: a parent path is not a directory") from None
        self.unpacked.update(missing)  # created by this layer: an opaque marker must not remove them
        self._parents[rel_dir] = parent
        return parent

    def _remove(self, path: str, st: os.stat_result) -> None:
        _remove(path, st)
        self._parents.clear()

    def _check_type(self, m: tarfile.TarInfo) -> None:
        if m.ischr() or m.isblk():
            if self.mode == "overlay" and m.ischr() and m.devmajor == 0 and m.devminor == 0:
                return  # an overlay whiteout carried as such
            kind = "character" if m.ischr() else "block"
            raise InvalidParameter(f"refusing layer entry {m.name!r}: {kind} device nodes are not allowed")
        if not (m.isreg() or m.isdir() or m.issym() or m.islnk() or m.isfifo()):
            raise InvalidParameter(f"refusing layer entry {m.name!r}: unsupported tar entry type {m.type!r}")
        if self.check_links:
            refuse_climbing_symlink(m)
        if m.islnk():
            link = posixpath.normpath(m.linkname.lstrip("/") or ".")
            if link == ".." or link.startswith("../") or link == ".":
                raise InvalidParameter(
                    f"refusing layer entry {m.name!r}: hardlink target {m.linkname!r} is outside the root")

    def _clear_for(self, path: str, m: tarfile.TarInfo) -> None:
        """Docker replaces whatever is at `path`, except that a directory onto a directory merges."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode) and m.isdir():
            return
        self._remove(path, st)

    def _create(self, path: str, m: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        if m.isdir():
            if path != self.root and not os.path.isdir(path):
                os.mkdir(path, 0o755)
            self.dirs.append((path, m))
        elif m.isreg():
            self._write_file(path, tar.extractfile(m))
        elif m.issym():
            os.symlink(m.linkname, path)
        elif m.islnk():
            self._hardlink(path, m)
        elif m.isfifo():
            os.mkfifo(path, 0o600)
        elif m.ischr():
            os.mknod(path, 0o600 | stat.S_IFCHR, 0)

    def _write_file(self, path: str, src) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                self.written += len(chunk)

    def _hardlink(self, path: str, m: tarfile.TarInfo) -> None:
        link_rel = clean_entry_name(m.linkname)
        target_parent = resolve_in_root(self.root, posixpath.dirname(link_rel), follow_last=True)
        target = os.path.join(target_parent, posixpath.basename(link_rel))
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise InvalidParameter(
                f"refusing layer entry {m.name!r}: hardlink target {m.linkname!r} does not exist") from None
        if stat.S_ISDIR(st.st_mode):
            raise InvalidParameter(f"refusing layer entry {m.name!r}: hardlink to a directory")
        os.link(target, path, follow_symlinks=False)

    def _set_metadata(self, path: str, m: tarfile.TarInfo) -> None:
        if m.islnk():
            return  # a hardlink shares the target's inode and metadata
        os.lchown(path, m.uid, m.gid)
        if not m.issym():
            os.chmod(path, m.mode & 0o7777)  # after chown, which clears setuid bits
        self._set_xattrs(path, m)
        if not m.isdir():
            os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)

    def _set_xattrs(self, path: str, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith(PAX_XATTR_PREFIX):
                continue
            name = key[len(PAX_XATTR_PREFIX):]
            if name.startswith("trusted.overlay."):
                continue  # overlayfs' own bookkeeping; a layer must not steer the storage driver
            try:
                os.setxattr(path, name, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EPERM):  # Docker ignores these two as well
                    raise

    # --- whiteouts
    def _whiteout(self, parent: str, base: str, m: tarfile.TarInfo) -> None:
        if base == WHITEOUT_OPAQUE:
            self._opaque(parent)
            return
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", ".."):
            raise InvalidParameter(f"refusing layer entry {m.name!r}: invalid whiteout name")
        victim = os.path.join(parent, name)
        if os.path.lexists(victim):
            self._remove(victim, os.lstat(victim))
        if self.mode == "overlay":
            os.mknod(victim, 0o600 | stat.S_IFCHR, 0)
            os.lchown(victim, m.uid, m.gid)

    def _opaque(self, directory: str) -> None:
        if self.mode == "overlay":
            os.setxattr(directory, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        # vfs: drop everything below `directory` that this layer did not itself unpack (keeping the
        # directories that lead to what it did unpack).
        prefix = directory.rstrip("/") + "/"
        keep = set()
        for p in self.unpacked:
            while p.startswith(prefix) and p not in keep:
                keep.add(p)
                p = os.path.dirname(p)
        for dirpath, dirnames, filenames in os.walk(directory):
            for name in list(dirnames) + filenames:
                p = os.path.join(dirpath, name)
                if p not in keep:
                    self._remove(p, os.lstat(p))
                    if name in dirnames:
                        dirnames.remove(name)

    def finish(self) -> None:
        # Children were created after their directory; restore directory times deepest first.
        for path, m in reversed(self.dirs):
            os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)


def refuse_climbing_symlink(m: tarfile.TarInfo) -> None:
    """Docker: Join(Dir(path), linkname) must stay inside the extraction root; absolute targets always do."""
    if m.issym() and not m.linkname.startswith("/") \
            and _climbs_out(posixpath.dirname(clean_entry_name(m.name)), m.linkname):
        raise InvalidParameter(
            f"refusing layer entry {m.name!r}: symlink target {m.linkname!r} points outside the root")


def _climbs_out(entry_dir: str, linkname: str) -> bool:
    """Does linkname, relative to entry_dir (both inside the root), lexically leave the root?"""
    depth = len([p for p in entry_dir.split("/") if p])
    for part in linkname.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            return True
    return False


def _remove(path: str, st: os.stat_result) -> None:
    """Remove a file, link or whole directory tree without following symlinks."""
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)
