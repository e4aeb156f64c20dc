"""The local driver's options (`docker volume create -o type=tmpfs -o device=tmpfs -o o=size=10m`): moby's checks
at create (volume/local validateOpts), and the mount(2) of the volume's _data directory while a container uses it
(moby's localVolume.mount, with moby/sys/mount's parsing of `o=` into flags and data)."""
from __future__ import annotations

import os

from ..errors import InvalidParameter, SystemError_
from ..store.snapshots.mount import (MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME,
                                     MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT,
                                     MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
                                     is_mountpoint, mount, unmount)
from ..units import ram_in_bytes

VALID_KEYS = ("type", "o", "device", "size")
REQUIRED_WITH = (("device", ("type",)), ("type", ("device",)), ("o", ("device", "type")))
# Mounting these would send traffic off this machine (and resolve outside names): refused at create.
NETWORK_TYPES = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.sshfs", "sshfs"}

PROPAGATION = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED

# moby/sys/mount's flag words: (clear the flag instead of setting it, flag)
_FLAGS = {
    "defaults": (False, 0), "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "suid": (True, MS_NOSUID), "nosuid": (False, MS_NOSUID), "dev": (True, MS_NODEV), "nodev": (False, MS_NODEV),
    "exec": (True, MS_NOEXEC), "noexec": (False, MS_NOEXEC), "sync": (False, MS_SYNCHRONOUS),
    "async": (True, MS_SYNCHRONOUS), "dirsync": (False, MS_DIRSYNC), "remount": (False, MS_REMOUNT),
    "mand": (False, MS_MANDLOCK), "nomand": (True, MS_MANDLOCK), "atime": (True, MS_NOATIME),
    "noatime": (False, MS_NOATIME), "diratime": (True, MS_NODIRATIME), "nodiratime": (False, MS_NODIRATIME),
    "bind": (False, MS_BIND), "rbind": (False, MS_BIND | MS_REC),
    "unbindable": (False, MS_UNBINDABLE), "runbindable": (False, MS_UNBINDABLE | MS_REC),
    "private": (False, MS_PRIVATE), "rprivate": (False, MS_PRIVATE | MS_REC),
    "shared": (False, MS_SHARED), "rshared": (False, MS_SHARED | MS_REC),
    "slave": (False, MS_SLAVE), "rslave": (False, MS_SLAVE | MS_REC),
    "relatime": (False, MS_RELATIME), "norelatime": (True, MS_RELATIME),
    "strictatime": (False, MS_STRICTATIME), "nostrictatime": (True, MS_STRICTATIME),
}

def validate(name: str, opts: dict | None) -> None:
    """What `docker volume create -o` may say, in moby's words (its volume store prefixes `create NAME: `)."""
    if not opts:
        return
    for key in sorted(opts):
        if key not in VALID_KEYS:
            raise InvalidParameter(f'create {name}: invalid option: "{key}"')
    if "size" in opts:
        try:
            size = ram_in_bytes(str(opts["size"]))
        except ValueError as err:
            raise InvalidParameter(f"create {name}: {err}") from None
        if size > 0:  # a quota needs xfs project quotas on the data root: not supported here
            raise InvalidParameter(f"create {name}: quota size requested but no quota support")
    for key, needed in REQUIRED_WITH:
        for other in needed if key in opts else ():
            if other not in opts:
                raise InvalidParameter(f'create {name}: missing required option: "{other}"')
    if str(opts.get("type", "")).lower() in NETWORK_TYPES:
        raise InvalidParameter(f'create {name}: volume type "{opts["type"]}" is not supported: this daemon mounts '
                               f"no network filesystems")


def needs_mount(opts: dict | None) -> bool:
    return bool(opts and (opts.get("device") or opts.get("type")))


def parse_mount_options(text: str) -> tuple[int, str]:
    """moby/sys/mount parseOptions: `o=` words that are mount flags become flags; the rest is the data."""
    flags, data = 0, []
    for word in text.split(",") if text else ():
        if word in _FLAGS:
            clear, flag = _FLAGS[word]
            flags = flags & ~flag if clear else flags | flag
        elif word:
            data.append(word)
    return flags, ",".join(data)


def mount_volume(opts: dict, target: str) -> None:
    """Mount the volume's device on its _data directory (unless it is already), with moby's error message."""
    if is_mountpoint(target):
        return
    device, fstype = str(opts.get("device") or ""), str(opts.get("type") or "")
    if not device:
        raise SystemError_("missing device in volume options")
    flags, data = parse_mount_options(str(opts.get("o") or ""))
    plain = flags & ~PROPAGATION
    _mount(device, target, fstype, plain, data)
    if flags & PROPAGATION:
        _mount("", target, "", flags & (PROPAGATION | MS_REC), "")
    if plain & (MS_BIND | MS_RDONLY) == MS_BIND | MS_RDONLY:  # a bind ignores ro until it is remounted
        _mount("", target, "", plain | MS_REMOUNT, "")


def _mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    try:
        mount(source, target, fstype, data, flags)
    except OSError as err:
        text = f"mount {source}:{target}"  # moby/sys/mount's mountError
        if flags:
            text += f", flags: {flags:#x}"
        if data:
            text += f", data: {data}"
        raise SystemError_(f"failed to mount local volume: {text}: {os.strerror(err.errno).lower()}") from None


def unmount_volume(target: str) -> None:
    if is_mountpoint(target):
        unmount(target)
