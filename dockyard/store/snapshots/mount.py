"""mount(2)/umount2(2) through libc: a subprocess per mount would cost milliseconds on every start."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
MNT_DETACH = 2
# mount(2) flags (linux/mount.h)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT = 1, 2, 4, 8, 16, 32
MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 64, 128, 1024, 2048, 4096, 16384
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24


def mount(source: str, target: str, fstype: str, options: str = "", flags: int = 0, cwd: str | None = None) -> None:
    if cwd is not None:
        # Relative lowerdir paths are resolved against the caller's cwd; the daemon's cwd is shared
        # by all its threads, so let a child process do it.
        subprocess.run(["mount", "-t", fstype, "-o", options, source, target], cwd=cwd, check=True,
                       capture_output=True)
        return
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} on {target}: {os.strerror(err)}")


def unmount(target: str) -> None:
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (22, 2):  # EINVAL: not mounted; ENOENT: gone
            raise OSError(err, f"umount {target}: {os.strerror(err)}")


def is_mountpoint(path: str) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == path for line in f)
    except OSError:
        return False
