"""Mount specs and the one place that mounts them; mount(2)/umount2(2) through libc (a subprocess per mount
would cost milliseconds on every start).

A snapshotter does not mount anything: as containerd's do, it describes its snapshots as `Mount` specs
(an overlay with lowerdir/upperdir/workdir options, a bind of a directory) and `mount_all` makes them real.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
from dataclasses import dataclass

from ..fsutil import escape_mountinfo

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
MNT_DETACH = 2
# mount(2) flags (linux/mount.h)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT = 1, 2, 4, 8, 16, 32
MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 64, 128, 1024, 2048, 4096, 16384
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
MAX_MOUNT_DATA = 3800  # the kernel takes one page of mount options


@dataclass(frozen=True)
class Mount:
    """One mount, as containerd's mount.Mount: `type` "overlay" or "bind", `source`, `options` ("ro",
    "rbind", "lowerdir=a:b", "upperdir=...", "workdir=...")."""
    type: str
    source: str
    options: tuple[str, ...] = ()

    def option(self, key: str) -> str | None:
        prefix = key + "="
        return next((o[len(prefix):] for o in self.options if o.startswith(prefix)), None)


def mount_all(mounts: list[Mount], target: str) -> None:
    """Mount the specs on `target`, in order (a later one stacks on an earlier one)."""
    for m in mounts:
        if m.type == "bind":
            flags = MS_BIND | (MS_REC if "rbind" in m.options else 0)
            mount(m.source, target, "", "", flags)
            if "ro" in m.options:
                mount("", target, "", "", MS_BIND | MS_REMOUNT | MS_RDONLY)
        elif m.type == "overlay":
            data = ",".join(m.options)
            if len(data) <= MAX_MOUNT_DATA:
                mount(m.source, target, "overlay", data)
            else:  # many layers: paths relative to the dir they share (as containerd's compactLowerdirOption)
                base, data = _relative_overlay_options(m.options)
                mount(m.source, target, "overlay", data, cwd=base)
        else:
            raise ValueError(f"unknown mount type {m.type!r}")


def unmount_all(target: str) -> bool:
    """Undo mount_all: every mount stacked on `target`; False if one would not go. Unmounting until the kernel
    says "not mounted" reads no /proc/self/mountinfo, which costs in proportion to the host's mounts."""
    for _ in range(16):  # a bound on stacked mounts: never spin on one that will not go
        if not unmount(target):
            return True
    return not is_mountpoint(target)


def _relative_overlay_options(options: tuple[str, ...]) -> tuple[str, str]:
    paths = [p for o in options if o.split("=", 1)[0] in ("lowerdir", "upperdir", "workdir")
             for p in o.split("=", 1)[1].split(":")]
    base = os.path.commonpath(paths)
    out = []
    for o in options:
        key, sep, value = o.partition("=")
        if key in ("lowerdir", "upperdir", "workdir"):
            value = ":".join(os.path.relpath(p, base) for p in value.split(":"))
        out.append(key + sep + value)
    return base, ",".join(out)


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


def unmount(target: str) -> bool:
    """Detach the top mount on `target`; False if nothing was mounted there."""
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (22, 2):  # EINVAL: not mounted; ENOENT: gone
            raise OSError(err, f"umount {target}: {os.strerror(err)}")
        return False
    return True


def is_mountpoint(path: str) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            text = f.read()
    except OSError:
        return False
    field = escape_mountinfo(path)
    if f" {field} " not in text:  # the usual answer, without splitting the hundreds of lines of a busy host
        return False
    return any(line.split()[4] == field for line in text.splitlines())
