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


def mounts_under(root) -> list[str]:
    """Mount points strictly below `root`, deepest first (so they can be unmounted in that order)."""
    prefix = os.path.realpath(root)
    try:
        with open("/proc/self/mountinfo") as f:
            points = [_unescape_mountinfo(line.split()[4]) for line in f]
    except OSError:
        return []
    inside = [p for p in points if p.startswith(prefix + os.sep)]
    return sorted(set(inside), key=len, reverse=True)


def _unescape_mountinfo(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...)
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
