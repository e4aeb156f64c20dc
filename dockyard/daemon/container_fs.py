"""A container's filesystem seen from the daemon: cp (archive), export, diff. Paths never escape the root."""
from __future__ import annotations

import contextlib
import errno
import lzma
import os
import shutil
import stat as statmod
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import AsyncIterator

from ..errors import DockyardError, Forbidden, InvalidParameter, NotFound
from ..image.unpack import MAX_SYMLINK_HOPS, clean_entry_name, extract_routed, open_decompressed


class ContainerView:
    """A container's filesystem as its processes see it: the rootfs, with its volumes and bind mounts over
    it. Paths are resolved as in a chroot of that view (symlinks are followed inside it, `..` stops at `/`),
    so no path ever leads outside the rootfs or a mount's source."""

    def __init__(self, root: str, mount_points: list[dict], name: str = ""):
        self.root = root
        self.name = name  # the container as the client named it, for moby's "not found" message
        # tmpfs mounts have no host source: only the container's own mount namespace sees them
        mounts = [(_parts(mp["Destination"]), os.path.realpath(mp["Source"]), mp)
                  for mp in mount_points if mp.get("Source")]
        self.mounts = sorted(mounts, key=lambda m: len(m[0]), reverse=True)  # the longest prefix wins

    def mount_of(self, parts: list[str]) -> dict | None:
        """The mount point holding a container path, None for the rootfs."""
        for dest, _source, mp in self.mounts:
            if parts[:len(dest)] == dest:
                return mp
        return None

    def host_of(self, parts: list[str]) -> str:
        """The host path of an already resolved container path."""
        for dest, source, _mp in self.mounts:
            if parts[:len(dest)] == dest:
                return os.path.join(source, *parts[len(dest):])
        return os.path.join(self.root, *parts)

    def resolve(self, path: str, follow_last: bool = True) -> list[str]:
        """The components of `path` with every symlink on the way resolved inside the view (the last one
        only if follow_last). Missing components are kept literally."""
        pending = list(reversed(_parts(path)))
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part == "..":
                resolved = resolved[:-1]
                continue
            if not pending and not follow_last:
                resolved.append(part)
                break
            target = self._link_target(resolved + [part])
            if target is None:
                resolved.append(part)
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise InvalidParameter(f"too many levels of symbolic links resolving {path!r}")
            if target.startswith("/"):
                resolved = []
            pending.extend(reversed(_parts(target)))
        return resolved

    def not_found(self, path: str) -> NotFound:
        return NotFound(f"Could not find the file {path} in container {self.name}")

    def _link_target(self, parts: list[str]) -> str | None:
        try:
            return os.readlink(self.host_of(parts))
        except OSError:
            return None  # not a symlink, or not there


@contextlib.contextmanager
def os_errors(view: ContainerView, path: str):
    """OSErrors of a cp in Docker's words and about the container path, never naming a host path or
    Python's exception class: a missing path (or one going through a file) is moby's not-found."""
    try:
        yield
    except DockyardError:
        raise
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            raise view.not_found(path) from None
        if err.errno == errno.EROFS:
            raise Forbidden("container rootfs is marked read-only") from None
        if err.errno in (errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY):
            raise InvalidParameter(f"cannot overwrite {path}: {os.strerror(err.errno).lower()}") from None
        raise InvalidParameter(f"{path}: {os.strerror(err.errno).lower() if err.errno else 'failed'}") from None


def _dir_asserted(path: str) -> bool:
    """A path ending in / or /. names a directory (Go's archive.assertsDirectory)."""
    return path.endswith("/") or path.endswith("/.")


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def path_stat(view: ContainerView, path: str) -> dict:
    """docker cp's stat header; a symlink's linkTarget is its fully resolved path in the container."""
    with os_errors(view, path):
        host = view.host_of(view.resolve(path, follow_last=False))
        st = os.lstat(host)
        if _dir_asserted(path) and path.strip("/") and not os.path.isdir(view.host_of(view.resolve(path))):
            # `/etc/passwd/`: no such directory (Docker's lstat fails with ENOTDIR); never the file
            raise view.not_found(path)
        link = "/" + "/".join(view.resolve(path)) if statmod.S_ISLNK(st.st_mode) else ""
    return {"name": os.path.basename(path.rstrip("/")) or "/", "size": st.st_size,
            "mode": _go_mode(st.st_mode), "mtime": _go_time(st.st_mtime), "linkTarget": link}


def _go_mode(mode: int) -> int:
    """Go's os.FileMode bits, which docker cp's stat header uses."""
    perm = statmod.S_IMODE(mode) & 0o777
    if statmod.S_ISDIR(mode):
        perm |= 1 << 31
    elif statmod.S_ISLNK(mode):
        perm |= 1 << 27
    if mode & statmod.S_ISUID:
        perm |= 1 << 23
    if mode & statmod.S_ISGID:
        perm |= 1 << 22
    if mode & statmod.S_ISVTX:
        perm |= 1 << 20
    return perm


def _go_time(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def write_path_tar(view: ContainerView, path: str, out_path: str) -> None:
    """docker cp CONTAINER:path: the entry is named by the path's base name (`/.` copies the contents).
    Volumes and binds below the path are walked into, as the container sees them."""
    with os_errors(view, path):
        _write_path_tar(view, path, out_path)


def _write_path_tar(view: ContainerView, path: str, out_path: str) -> None:
    contents_only = path.endswith("/.")
    parts = view.resolve(path[:-2] if contents_only else path.rstrip("/"), follow_last=contents_only)
    if not os.path.lexists(view.host_of(parts)):
        raise view.not_found(path)
    if _dir_asserted(path) and path.strip("/.") and not os.path.isdir(view.host_of(view.resolve(path))):
        raise view.not_found(path)
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        if contents_only:
            for name in _children(view, parts):
                _add_tree(tar, view, parts + [name], name)
        else:
            _add_tree(tar, view, parts, os.path.basename(path.rstrip("/")) or ".")


def _add_tree(tar: tarfile.TarFile, view: ContainerView, parts: list[str], arcname: str) -> None:
    host = view.host_of(parts)
    tar.add(host, arcname=arcname, recursive=False)
    if os.path.isdir(host) and not os.path.islink(host):
        for name in _children(view, parts):
            _add_tree(tar, view, parts + [name], f"{arcname}/{name}")


def _children(view: ContainerView, parts: list[str]) -> list[str]:
    """A directory's entries, with the mount points right below it even if the rootfs lacks their dir."""
    names = set(os.listdir(view.host_of(parts)))
    names.update(dest[len(parts)] for dest, _source, _mp in view.mounts
                 if len(dest) == len(parts) + 1 and dest[:len(parts)] == parts)
    return sorted(names)


def extract_into(view: ContainerView, path: str, tar_path: str, readonly_rootfs: bool) -> None:
    """docker cp SRC CONTAINER:path: a plain extraction (a `.wh.*` file is just a file here), into the
    rootfs or the volume or bind holding the destination."""
    with os_errors(view, path):
        _extract_into(view, path, tar_path, readonly_rootfs)


def _extract_into(view: ContainerView, path: str, tar_path: str, readonly_rootfs: bool) -> None:
    parts = view.resolve(path)
    _check_writable(view.mount_of(parts), readonly_rootfs)
    dest = view.host_of(parts)
    if not os.path.lexists(dest) or (not os.path.isdir(dest) and _dir_asserted(path)):
        raise view.not_found(path)
    if not os.path.isdir(dest):  # moby's words; nothing is written
        raise InvalidParameter("extraction point is not a directory")
    if not _holds_tar(tar_path):
        return  # an empty stream: Go's tar reader sees EOF at once and moby copies nothing
    mounted_files = _check_targets(view, parts, tar_path, readonly_rootfs)
    _write_mounted_files(view, parts, tar_path, mounted_files)

    def route(member: tarfile.TarInfo) -> str | None:
        """Each member goes into the rootfs or the mount holding it, as if written through the container's
        view (a tree copied to / lands in the volumes it spans)."""
        if member.name in mounted_files:
            return None
        mount, root, rel = _place(view, parts + _parts(clean_entry_name(member.name)))
        member.name = "/".join(rel) or "."
        if member.islnk():
            link_mount, _root, link_rel = _place(view, parts + _parts(clean_entry_name(member.linkname)))
            if link_mount is not mount:
                raise InvalidParameter(f"cannot copy {member.name}: a hard link cannot cross a mount point")
            member.linkname = "/".join(link_rel)
        return root

    with open(tar_path, "rb") as f:
        extract_routed(f, route)


def _holds_tar(tar_path: str) -> bool:
    """Read the uploaded stream through once before anything is written: False if it is empty; a stream that
    is not a whole tar is refused in the words of Go's archive/tar, which moby untars it with."""
    with open(tar_path, "rb") as f:
        try:
            stream = open_decompressed(f)
            if not stream.peek(1):
                return False
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for _member in tar:
                    pass
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as err:
            raise InvalidParameter(_go_tar_error(err)) from None
        except OSError as err:
            if err.errno is not None:
                raise
            raise InvalidParameter(_go_tar_error(err)) from None  # gzip/bz2 data errors
    return True


def _go_tar_error(err: Exception) -> str:
    """Go's archive/tar: input that ends early is io.ErrUnexpectedEOF; a block that is no header, ErrHeader."""
    text = str(err)
    if isinstance(err, EOFError) or "truncated" in text or "end of data" in text or "end-of-stream" in text:
        return "unexpected EOF"
    return "archive/tar: invalid tar header"


def _place(view: ContainerView, target: list[str]) -> tuple[dict | None, str, list[str]]:
    """The mount holding a container path (None for the rootfs), the host dir of its root, and the path's
    components inside it."""
    for dest, source, mp in view.mounts:
        if target[:len(dest)] == dest:
            return mp, source, target[len(dest):]
    return None, view.root, target


def _check_targets(view: ContainerView, parts: list[str], tar_path: str, readonly_rootfs: bool) -> set[str]:
    """Before anything is written: every member's mount must be writable. Returns the members that land
    exactly on a file mounted into the container (its /etc/hostname, hosts, resolv.conf, or a file bind)."""
    mounted_files = set()
    with tarfile.open(tar_path) as tar:
        for member in tar:
            mount, root, rel = _place(view, parts + _parts(clean_entry_name(member.name)))
            _check_writable(mount, readonly_rootfs)
            if mount is not None and not rel and not os.path.isdir(root):
                if not member.isfile():
                    raise InvalidParameter(f"cannot overwrite non-directory {mount['Destination']} with "
                                           f"{member.name}: it is a mounted file")
                mounted_files.add(member.name)
    return mounted_files


def _write_mounted_files(view: ContainerView, parts: list[str], tar_path: str, names: set[str]) -> None:
    """Those members are written into the mounted file in place, so the bind mount keeps it, as a write
    from inside the container would."""
    if not names:
        return
    with tarfile.open(tar_path) as tar:
        for member in tar:
            if member.name in names:
                with tar.extractfile(member) as src, open(view.host_of(parts + _parts(member.name)), "wb") as dst:
                    shutil.copyfileobj(src, dst)


def _check_writable(mount: dict | None, readonly_rootfs: bool) -> None:
    """moby: a read-only mount refuses writes; a read-only rootfs only refuses those outside mounts."""
    if mount is not None and not mount.get("RW", True):
        raise InvalidParameter("mounted volume is marked read-only")
    if mount is None and readonly_rootfs:
        raise Forbidden("container rootfs is marked read-only")


async def file_chunks(path: str, remove: bool = True) -> AsyncIterator[bytes]:
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
    finally:
        if remove:
            os.unlink(path)


def temp_tar(tmp_dir: Path) -> str:
    fd, path = tempfile.mkstemp(prefix="tar-", dir=tmp_dir)
    os.close(fd)
    return path
