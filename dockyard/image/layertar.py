"""Writing layer tars and computing filesystem changes, deterministically.

    write_dir_tar       a whole directory (an overlay upper dir, or a rootfs for import/export)
    write_changes_tar   the difference between two full trees (the vfs driver's commit)
    changes             Docker's `/containers/{id}/changes` list

Tars are PAX, entries in tree order (a directory, then its children sorted by name), numeric
uid/gid only (no uname/gname, as Docker writes them), whole-second mtimes clamped to
SOURCE_DATE_EPOCH when given, and only the `security.capability` xattr (what Docker records).
"""
from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from typing import BinaryIO, Iterator

from .unpack import OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX

CHANGE_MODIFY, CHANGE_ADD, CHANGE_DELETE = 0, 1, 2
_CAPABILITY_XATTR = "security.capability"


# ----------------------------------------------------------------------------- tar writing
class _HashingWriter:
    """Passes bytes to `out` while hashing and counting them (the diff ID is the tar's sha256)."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.hash.update(data)
        self.size += len(data)
        return len(data)


class _GoTarFile(tarfile.TarFile):
    """Ends the archive as Go's archive/tar does: two zero blocks, no padding to 10 KiB records. An empty
    layer is then Docker's well-known 1024-byte one (sha256:5f70bf18...), and digests match Go tools'."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.fileobj.write(tarfile.NUL * (tarfile.BLOCKSIZE * 2))
            self.offset += tarfile.BLOCKSIZE * 2
        finally:
            if not self._extfileobj:
                self.fileobj.close()


class LayerTarWriter:
    """Adds filesystem entries to a layer tar; tracks hardlinks so each inode's data is stored once."""

    def __init__(self, out: BinaryIO, source_date_epoch: int | None = None, overlay: bool = False):
        self._sink = _HashingWriter(out)
        self._tar = _GoTarFile.open(fileobj=self._sink, mode="w|", format=tarfile.PAX_FORMAT)
        self._sde = source_date_epoch
        self._overlay = overlay
        self._inodes: dict[tuple[int, int], str] = {}

    def add(self, path: str, name: str, st: os.stat_result | None = None) -> None:
        """Add the file at `path` as entry `name` (relative, no leading slash); not recursive."""
        st = st or os.lstat(path)
        if stat.S_ISSOCK(st.st_mode):
            return  # sockets cannot be stored in a tar; Docker skips them too
        if self._overlay and _is_overlay_whiteout(st):
            self.add_whiteout(name, st.st_uid, st.st_gid, int(st.st_mtime))
            return
        info = self._tarinfo(name, st)
        if not stat.S_ISLNK(st.st_mode):
            _add_pax_xattrs(info, path)
        key = (st.st_dev, st.st_ino)
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            if key in self._inodes:
                info.type, info.linkname, info.size = tarfile.LNKTYPE, self._inodes[key], 0
                self._tar.addfile(info)
                return
            self._inodes[key] = name
        if stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
        if stat.S_ISREG(st.st_mode):
            info.size = st.st_size
            with open(path, "rb") as f:
                self._tar.addfile(info, f)
        else:
            self._tar.addfile(info)
        if self._overlay and stat.S_ISDIR(st.st_mode) and _xattr(path, OVERLAY_OPAQUE_XATTR) == b"y":
            # Docker writes the opaque marker right after its directory, before the children.
            marker = self._blank(f"{name}/{WHITEOUT_OPAQUE}", st.st_uid, st.st_gid, info.mtime)
            marker.mode = st.st_mode & 0o777
            self._tar.addfile(marker)

    def add_whiteout(self, name: str, uid: int = 0, gid: int = 0, mtime: int = 0) -> None:
        """A `.wh.<base>` entry deleting `name`."""
        parent, _, base = name.rpartition("/")
        wh = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base
        self._tar.addfile(self._blank(wh, uid, gid, self._clamp(mtime)))

    def close(self) -> tuple[str, int]:
        """Finish the tar; returns (diff_id, size)."""
        self._tar.close()
        return "sha256:" + self._sink.hash.hexdigest(), self._sink.size

    def _tarinfo(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mode = st.st_mode & 0o7777
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = self._clamp(int(st.st_mtime))
        return info

    def _blank(self, name: str, uid: int, gid: int, mtime: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mode, info.uid, info.gid, info.mtime = 0o600, uid, gid, mtime
        info.uname = info.gname = ""
        return info

    def _clamp(self, mtime: int) -> int:
        return min(mtime, self._sde) if self._sde is not None else mtime


def _add_pax_xattrs(info: tarfile.TarInfo, path: str) -> None:
    cap = _xattr(path, _CAPABILITY_XATTR)
    if cap is not None:
        info.pax_headers["SCHILY.xattr." + _CAPABILITY_XATTR] = cap.decode("utf-8", "surrogateescape")


def _xattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _is_overlay_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def walk_tree(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(absolute path, relative name, lstat) for everything under root, depth first, names sorted:
    each directory comes right before its own children (the order filepath.Walk gives Docker)."""
    stack = [iter(_sorted_children(root, ""))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path, rel, st = entry
        yield entry
        if stat.S_ISDIR(st.st_mode):
            stack.append(iter(_sorted_children(path, rel + "/")))


def _sorted_children(directory: str, prefix: str) -> list[tuple[str, str, os.stat_result]]:
    with os.scandir(directory) as it:
        names = sorted(e.name for e in it)
    return [(os.path.join(directory, n), prefix + n, os.lstat(os.path.join(directory, n))) for n in names]


def write_dir_tar(src_dir: str, out_fileobj: BinaryIO, mode: str = "overlay",
                  source_date_epoch: int | None = None) -> tuple[str, int]:
    """Tar everything below src_dir (not the root entry itself); returns (diff_id, size).

    mode="overlay": src_dir is an overlay upper dir; char 0/0 whiteouts become `.wh.<name>` entries
    and opaque directories get a `<dir>/.wh..wh..opq` entry. mode="plain": files as they are.
    Walk order is depth-first with sorted names, which keeps each directory after its parent.
    """
    if mode not in ("overlay", "plain"):
        raise ValueError(f"unknown tar mode {mode!r}")
    writer = LayerTarWriter(out_fileobj, source_date_epoch, overlay=(mode == "overlay"))
    for path, rel, st in walk_tree(src_dir):
        writer.add(path, rel, st)
    return writer.close()


def write_changes_tar(old_root: str | None, new_root: str, out_fileobj: BinaryIO,
                      source_date_epoch: int | None = None) -> tuple[str, int]:
    """A layer tar turning old_root into new_root: changed/added entries plus `.wh.` deletions."""
    writer = LayerTarWriter(out_fileobj, source_date_epoch)
    for change in tree_changes(old_root, new_root):
        rel = change["Path"].lstrip("/")
        if change["Kind"] == CHANGE_DELETE:
            writer.add_whiteout(rel, mtime=source_date_epoch or 0)
        else:
            writer.add(os.path.join(new_root, rel), rel)
    return writer.close()


# ----------------------------------------------------------------------------- changes
def changes(lower_dirs: list[str], upper_dir: str, mode: str = "overlay") -> list[dict]:
    """Docker's `docker diff` list for a container: [{"Path": "/tmp/x", "Kind": 0|1|2}], sorted by path.

    overlay: upper_dir is the container's upper dir, lower_dirs the image layers' diff dirs, top first.
    vfs: upper_dir is the container's full root and lower_dirs[0] the image's full root.
    Kind: 0 = modified, 1 = added, 2 = deleted.
    """
    if mode == "vfs":
        return tree_changes(lower_dirs[0] if lower_dirs else None, upper_dir)
    return _overlay_changes(lower_dirs, upper_dir)


def tree_changes(old_root: str | None, new_root: str) -> list[dict]:
    """Compare two full trees like Docker's ChangesDirs; a directory is reported modified when
    something inside it changed, so its permissions travel with the change."""
    out: list[tuple[str, int]] = []
    _dir_changes(old_root, new_root, "", False, out)
    return [{"Path": p, "Kind": k} for p, k in sorted(out)]


def _dir_changes(old_dir: str | None, new_dir: str, rel: str, added: bool, out: list) -> None:
    size_at_entry = len(out)
    old_names = set(_listdir(old_dir)) if old_dir and os.path.isdir(old_dir) and \
        not os.path.islink(old_dir) else set()
    for name in sorted(_listdir(new_dir)):
        child_rel, new_path = f"{rel}/{name}", os.path.join(new_dir, name)
        nst = os.lstat(new_path)
        if name in old_names:
            old_names.discard(name)
            old_path = os.path.join(old_dir, name)
            child_changed = _stat_different(os.lstat(old_path), nst) or \
                _xattr(old_path, _CAPABILITY_XATTR) != _xattr(new_path, _CAPABILITY_XATTR)
            if child_changed:
                out.append((child_rel, CHANGE_MODIFY))
            if stat.S_ISDIR(nst.st_mode):
                _dir_changes(old_path, new_path, child_rel, child_changed, out)
        else:
            out.append((child_rel, CHANGE_ADD))
            if stat.S_ISDIR(nst.st_mode):
                _dir_changes(None, new_path, child_rel, True, out)
    for name in old_names:
        out.append((f"{rel}/{name}", CHANGE_DELETE))
    if len(out) > size_at_entry and not added and rel:
        out.insert(size_at_entry, (rel, CHANGE_MODIFY))


def _stat_different(a: os.stat_result, b: os.stat_result) -> bool:
    """Docker's statDifferent: type/mode, owner and device always; size and mtime except for dirs."""
    if (a.st_mode, a.st_uid, a.st_gid, a.st_rdev) != (b.st_mode, b.st_uid, b.st_gid, b.st_rdev):
        return True
    if stat.S_ISDIR(a.st_mode):
        return False
    return a.st_mtime_ns != b.st_mtime_ns or a.st_size != b.st_size


def _overlay_changes(lower_dirs: list[str], upper_dir: str) -> list[dict]:
    """Docker's overlay changes: walk the upper dir; char 0/0 = deleted; present in a lower = modified,
    except directories identical to their lower copy (only copied up as parents); parents of added or
    deleted entries are reported modified."""
    found: dict[str, int] = {}
    for path, rel, st in walk_tree(upper_dir):
        p = "/" + rel
        if _is_overlay_whiteout(st):
            kind = CHANGE_DELETE
        else:
            lower = _lower_lstat(lower_dirs, rel)
            if lower is None:
                kind = CHANGE_ADD
            elif stat.S_ISDIR(lower.st_mode) and stat.S_ISDIR(st.st_mode) and not _dir_differs(lower, st):
                kind = None
            else:
                kind = CHANGE_MODIFY
            if stat.S_ISDIR(st.st_mode) and lower is not None and _xattr(path, OVERLAY_OPAQUE_XATTR) == b"y":
                kind = CHANGE_MODIFY
                for gone in _hidden_by_opaque(lower_dirs, rel, path):
                    found["/" + gone] = CHANGE_DELETE
        if kind is None:
            continue
        found[p] = kind
        if kind in (CHANGE_ADD, CHANGE_DELETE):
            parent = os.path.dirname(p)
            if parent != "/" and parent not in found:
                found[parent] = CHANGE_MODIFY
    return [{"Path": p, "Kind": k} for p, k in sorted(found.items())]


def _dir_differs(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_mode != b.st_mode or a.st_size != b.st_size or not _same_fs_time(a.st_mtime_ns, b.st_mtime_ns)


def _same_fs_time(a: int, b: int) -> bool:
    """Docker's sameFsTime: equal, or equal seconds when one side lost its nanoseconds (tar copies)."""
    return a == b or (a // 10**9 == b // 10**9 and (a % 10**9 == 0 or b % 10**9 == 0))


def _lower_lstat(lower_dirs: list[str], rel: str) -> os.stat_result | None:
    """The entry as the image shows it: the topmost lower that has it, unless that one is a whiteout."""
    for lower in lower_dirs:
        try:
            st = os.lstat(os.path.join(lower, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        return None if _is_overlay_whiteout(st) else st
    return None


def _hidden_by_opaque(lower_dirs: list[str], rel: str, upper_path: str) -> list[str]:
    """Lower entries directly inside an opaque directory that the upper dir does not have."""
    present = set(_listdir(upper_path))
    names: set[str] = set()
    for lower in lower_dirs:
        names.update(_listdir(os.path.join(lower, rel)))
    return [f"{rel}/{n}" for n in sorted(names - present) if _lower_lstat(lower_dirs, f"{rel}/{n}")]


def _listdir(path: str | None) -> list[str]:
    if not path:
        return []
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
