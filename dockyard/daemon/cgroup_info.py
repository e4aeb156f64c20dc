"""What the host's cgroups offer, for `docker info`, on either layout: v1 (a hierarchy per controller) or v2
(unified, Debian 12's default), as moby's pkg/sysinfo reads them."""
from __future__ import annotations

import os

ROOT = "/sys/fs/cgroup"


def cgroup_version(root: str = ROOT) -> str:
    return "2" if os.path.exists(os.path.join(root, "cgroup.controllers")) else "1"


def swap_limit(root: str = ROOT) -> bool:
    """Whether --memory-swap can be enforced: v1 needs swap accounting (memsw files); on v2 the memory
    controller carries swap (memory.swap.max)."""
    if cgroup_version(root) == "2":
        try:
            with open(os.path.join(root, "cgroup.controllers")) as f:
                return "memory" in f.read().split()
        except OSError:
            return False
    return os.path.exists(os.path.join(root, "memory", "memory.memsw.limit_in_bytes"))
