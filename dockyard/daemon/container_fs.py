"""A container's filesystem seen from the daemon: cp (archive), export, diff. Paths never escape the root."""
from __future__ import annotations

import os
import stat as statmod
import tarfile
import tempfile
from pathlib import Path
from typing import AsyncIterator

from ..errors import InvalidParameter, NotFound
from ..image.unpack import resolve_in_root

def path_stat(root: str, path: str) -> dict:
    host = resolve_in_root(root, path, follow_last=False)
    try:
        st = os.lstat(host)
    except FileNotFoundError:
        raise NotFound(f"Could not find the file {path} in container") from None
    link = os.readlink(host) if statmod.S_ISLNK(st.st_mode) else ""
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


def write_path_tar(root: str, path: str, out_path: str) -> None:
    """docker cp CONTAINER:path: the entry is named by the path's base name (`/.` copies the contents)."""
    contents_only = path.endswith("/.")
    host = resolve_in_root(root, path.rstrip("/") if not contents_only else path[:-2], follow_last=not contents_only)
    if not os.path.lexists(host):
        raise NotFound(f"Could not find the file {path} in container")
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        if contents_only:
            for name in sorted(os.listdir(host)):
                tar.add(os.path.join(host, name), arcname=name)
        else:
            tar.add(host, arcname=os.path.basename(path.rstrip("/")) or ".")


def extract_into(root: str, path: str, tar_path: str) -> None:
    from ..image.unpack import apply_layer

    dest = resolve_in_root(root, path)
    if not os.path.exists(dest):
        raise NotFound(f"Could not find the file {path} in container")
    if not os.path.isdir(dest):
        raise InvalidParameter("extraction point is not a directory")
    with open(tar_path, "rb") as f:
        apply_layer(f, dest, mode="vfs")


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
