"""The volume catalogue: every volume's name, driver, labels and options in SQLite, whatever driver holds its
data (volume/driver.py: `local`, or a plugin found by name). `docker volume` and container mounts go
through here; the driver is asked only for what it owns (storage, mount, path)."""
from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from ..errors import Conflict, DockyardError, InvalidParameter, NotFound
from ..store.fsutil import dir_size
from ..store.metadata import Metadata
from ..timefmt import now_rfc3339
from .driver import VolumeDriver
from .local import LocalDriver
from .plugin import PLUGIN_DIRS, PluginDriver

ANONYMOUS_LABEL = "com.docker.volume.anonymous"
VALID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class VolumeStore:
    def __init__(self, md: Metadata, root: Path, plugin_dirs=PLUGIN_DIRS):
        self.md = md
        self.local = LocalDriver(root, self.options)
        self.plugin_dirs = plugin_dirs
        self._plugins: dict[str, PluginDriver] = {}

    def driver(self, name: str) -> VolumeDriver:
        """The driver called `name`: local, or a plugin (activated once, then kept)."""
        if name in ("", "local"):
            return self.local
        if name not in self._plugins:
            self._plugins[name] = PluginDriver.lookup(name, self.plugin_dirs)
        return self._plugins[name]

    def driver_of(self, volume: str) -> VolumeDriver:
        row = self.md.one("SELECT driver FROM volumes WHERE name=?", (volume,))
        if row is None:
            raise NotFound(f"get {volume}: no such volume")
        return self.driver(row["driver"])

    def _shape(self, row) -> dict:
        # keys in the order of moby's volume.Volume struct, as `docker volume inspect` prints them. Labels and
        # Options are what the create request sent: {} from the docker CLI, null when a request had none.
        # CreatedAt is Go's time.RFC3339 (whole seconds), not the nanoseconds of other API times.
        try:
            driver = self.driver(row["driver"])
            mountpoint, scope = driver.path(row["name"]), driver.scope
        except DockyardError:  # a plugin that is gone: the volume is still listed, as by dockerd
            mountpoint, scope = "", "local"
        return {"CreatedAt": row["created"][:19] + "Z", "Driver": row["driver"], "Labels": json.loads(row["labels"]),
                "Mountpoint": mountpoint, "Name": row["name"], "Options": json.loads(row["options"]), "Scope": scope}

    def get(self, name: str) -> dict:
        row = self.md.one("SELECT * FROM volumes WHERE name=?", (name,))
        if row is None:
            raise NotFound(f"get {name}: no such volume")
        return self._shape(row)

    def exists(self, name: str) -> bool:
        return self.md.one("SELECT 1 FROM volumes WHERE name=?", (name,)) is not None

    def is_anonymous(self, name: str) -> bool:
        row = self.md.one("SELECT anonymous FROM volumes WHERE name=?", (name,))
        return bool(row and row["anonymous"])

    def list(self) -> list[dict]:
        return [self._shape(r) for r in self.md.query("SELECT * FROM volumes ORDER BY name")]

    def create(self, name: str = "", labels: dict | None = None, options: dict | None = None,
               driver: str = "local") -> tuple[dict, bool]:
        """Returns (volume, created_now). Creating an existing name returns it, as Docker does, unless another
        driver was asked for by name (a mount that names none takes the volume whatever its driver)."""
        asked, driver = driver, driver or "local"
        anonymous = not name
        name = name or secrets.token_hex(32)
        if anonymous:  # moby labels every volume it names itself (and `volume prune` removes only those)
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        if driver == "local" and not VALID.match(name):
            raise InvalidParameter(f'create {name}: "{name}" includes invalid characters for a local volume name, '
                                   f'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                                   f"directory, use absolute path")
        if self.exists(name):
            existing = self.get(name)
            if asked and existing["Driver"] != asked:
                raise Conflict(f"create {name}: volume name must be unique")
            return existing, False
        try:
            self.driver(driver).create(name, options or {})
        except DockyardError as err:
            if driver == "local":  # the local driver's messages name the volume already
                raise
            raise type(err)(f"create {name}: {err}") from None
        with self.md.tx() as cur:
            cur.execute("INSERT INTO volumes VALUES (?,?,?,?,?,?)",
                        (name, driver, json.dumps(labels), json.dumps(options), int(anonymous), now_rfc3339()))
        return self.get(name), True

    def options(self, name: str) -> dict:
        row = self.md.one("SELECT options FROM volumes WHERE name=?", (name,))
        return (json.loads(row["options"]) if row else None) or {}

    def needs_mount(self, name: str) -> bool:
        """Whether starting a container must ask the driver first: a plugin volume, or a local one with a device."""
        driver = self.driver_of(name)
        return driver is not self.local or self.local.needs_mount(name)

    def is_local(self, name: str) -> bool:
        return self.driver_of(name) is self.local

    def mount(self, name: str, mount_id: str) -> str:
        """The host path a container `mount_id` binds for this volume, after the driver made it ready."""
        return self.driver_of(name).mount(name, mount_id)

    def unmount(self, name: str, mount_id: str, last_user: bool) -> None:
        """A plugin hears of every container's unmount (it counts them); the local driver unmounts a device
        only when the last running user stops (a tmpfs volume's files go with it, as in moby)."""
        driver = self.driver_of(name)
        if driver is not self.local or last_user:
            driver.unmount(name, mount_id)

    def remove(self, name: str, users: list[str], force: bool = False) -> None:
        if not self.exists(name):
            if force:
                return
            raise NotFound(f"get {name}: no such volume")
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        driver = self.driver_of(name)
        try:
            driver.remove(name)
        except DockyardError as err:
            if driver is self.local:
                raise
            if not force:  # rm -f forgets a volume its plugin cannot remove, as dockerd's purge
                raise type(err)(f"remove {name}: {err}") from None
        with self.md.tx() as cur:
            cur.execute("DELETE FROM volumes WHERE name=?", (name,))

    def size(self, name: str) -> int:
        path = self.driver_of(name).path(name)
        return dir_size(Path(path)) if path else -1
