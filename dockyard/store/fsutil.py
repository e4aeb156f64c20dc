"""Small filesystem helpers shared by the stores."""
from __future__ import annotations

import os


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
