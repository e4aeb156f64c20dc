"""`--storage-opt` at create, as moby's storage drivers check it: `size` needs a project quota (overlay2 only
over xfs mounted with `pquota`), and it is refused in the driver's words where there is none, never dropped."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidParameter
from ..units import ram_in_bytes

OVERLAY_NEEDS_PQUOTA = "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
VFS_NO_QUOTA = "Filesystem does not support, or has not enabled quotas"


def check_storage_opts(opts: dict, driver: str, data_root: Path) -> None:
    """The drivers' CreateReadWrite checks, in their order. A size would need xfs project quotas on the data
    root; even there dockyard does not set them (yet), so a size is refused rather than left unenforced."""
    if not opts:
        return
    if driver == "vfs":
        for key in opts:
            if key != "size":
                raise InvalidParameter(f"Storage opt {key} not supported")
        raise InvalidParameter(VFS_NO_QUOTA)
    if "size" in opts and not has_project_quota(data_root):
        raise InvalidParameter(OVERLAY_NEEDS_PQUOTA)
    for key, value in opts.items():  # overlay2's parseStorageOpt
        if key.lower() != "size":
            raise InvalidParameter(f"Unknown option {key.lower()}")
        try:
            ram_in_bytes(value)
        except ValueError as err:
            raise InvalidParameter(str(err)) from None
    raise InvalidParameter("--storage-opt size is not supported by dockyard's overlay2 driver yet")


def has_project_quota(path: Path) -> bool:
    """Whether the filesystem holding `path` is xfs mounted with project quotas (moby's quota.NewControl)."""
    best, fstype, options = "", "", ""
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 4:
                    continue
                mnt = fields[1]
                if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fstype, options = mnt, fields[2], fields[3]
    except OSError:
        return False
    return fstype == "xfs" and any(o in ("pquota", "prjquota") for o in options.split(","))
