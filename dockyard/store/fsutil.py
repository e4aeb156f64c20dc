"""Small filesystem helpers shared by the stores."""
from __future__ import annotations

import contextlib
import os
import re
import shutil


def dir_size(root) -> int:
    """Bytes in the regular files under `root` (symlinks not followed; unreadable entries skipped)."""
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def mounts_under(root, points: list[str] | None = None) -> list[str]:
    """Mount points strictly below `root`, deepest first (so they can be unmounted in that order); from
    `points` (mount_points()) when a caller asks for several roots at once."""
    prefix = os.path.realpath(root) + os.sep
    inside = {p for p in (mount_points() if points is None else points) if p.startswith(prefix)}
    return sorted(inside, key=len, reverse=True)


def mount_points() -> list[str]:
    """Every mount point of this process's mount namespace (/proc/self/mountinfo: hundreds of lines on a
    busy host, read once per question)."""
    try:
        with open("/proc/self/mountinfo") as f:
            return [_unescape_mountinfo(line.split(maxsplit=5)[4]) for line in f]
    except OSError:
        return []


def escape_mountinfo(path: str) -> str:
    """`path` as mountinfo writes it: space, tab, newline and backslash as octal escapes (\\040 ...)."""
    return "".join(f"\\{ord(ch):03o}" if ch in " \t\n\\" else ch for ch in path)


def _unescape_mountinfo(field: str) -> str:
    if "\\" not in field:
        return field
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def wipe_dir(root) -> None:
    """Empty `root` (creating it if missing). Anything still mounted inside is detached first, so the
    removal never reaches into a mount's source."""
    from .snapshots.mount import unmount

    os.makedirs(root, exist_ok=True)
    prefix = os.path.realpath(root)
    stuck = set()  # top-level entries holding a mount that would not go: left alone
    for point in mounts_under(root):
        try:
            unmount(point)
        except OSError:
            stuck.add(os.path.relpath(point, prefix).split(os.sep)[0])
    for entry in os.scandir(root):
        if entry.name in stuck:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
