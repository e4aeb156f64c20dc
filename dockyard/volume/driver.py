"""The VolumeDriver interface: what stores a volume's data. `local` (directories under the data root) and
plugins speaking Docker's volume plugin protocol (volume/plugin.py) implement it; the volume catalogue
(names, labels, options, which driver) is the daemon's own, in SQLite (volume/store.py), as in moby."""
from __future__ import annotations

from typing import Protocol


class VolumeDriver(Protocol):
    name: str
    scope: str  # "local" or "global", as `docker volume inspect` shows

    def create(self, name: str, options: dict) -> None:
        """Make the volume's storage; raises InvalidParameter/SystemError_ in the driver's words."""

    def remove(self, name: str) -> None: ...

    def mount(self, name: str, mount_id: str) -> str:
        """Make the volume usable by one container (mount_id = its ID) and return the host path to bind."""

    def unmount(self, name: str, mount_id: str) -> None: ...

    def path(self, name: str) -> str:
        """The host path of the volume's data ("" when the driver has none until it is mounted)."""
