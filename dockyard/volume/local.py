"""The `local` volume driver: a directory per volume under <data-root>/volumes/<name>/_data."""
from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

from ..timefmt import now_rfc3339
from ..errors import Conflict, InvalidParameter, NotFound, SystemError_
from ..store.fsutil import dir_size
from ..store.snapshots.mount import is_mountpoint
from ..store.metadata import Metadata
from . import options as mount_options

ANONYMOUS_LABEL = "com.docker.volume.anonymous"
VALID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class LocalVolumes:
    driver = "local"

    def __init__(self, md: Metadata, root: Path):
        self.md = md
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def mountpoint(self, name: str) -> Path:
        return self.root / name / "_data"

    def _shape(self, row) -> dict:
        # keys in the order of moby's volume.Volume struct, as `docker volume inspect` prints them. Labels and
        # Options are what the create request sent: {} from the docker CLI, null when a request had none.
        # CreatedAt is Go's time.RFC3339 (whole seconds), not the nanoseconds of other API times.
        return {"CreatedAt": row["created"][:19] + "Z", "Driver": row["driver"], "Labels": json.loads(row["labels"]),
                "Mountpoint": str(self.mountpoint(row["name"])), "Name": row["name"],
                "Options": json.loads(row["options"]), "Scope": "local"}

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
        """Returns (volume, created_now). Creating an existing name returns it, as Docker does."""
        if driver not in ("", "local"):
            raise NotFound(f"plugin \"{driver}\" not found")
        anonymous = not name
        name = name or secrets.token_hex(32)
        if anonymous:  # moby labels every volume it names itself (and `volume prune` removes only those)
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        if not VALID.match(name):
            raise InvalidParameter(f'create {name}: "{name}" includes invalid characters for a local volume name, '
                                   f'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                                   f"directory, use absolute path")
        if self.exists(name):
            return self.get(name), False
        mount_options.validate(name, options)
        self.mountpoint(name).mkdir(parents=True, exist_ok=True)
        with self.md.tx() as cur:
            cur.execute("INSERT INTO volumes VALUES (?,?,?,?,?,?)",
                        (name, "local", json.dumps(labels), json.dumps(options), int(anonymous),
                         now_rfc3339()))
        return self.get(name), True

    def options(self, name: str) -> dict:
        row = self.md.one("SELECT options FROM volumes WHERE name=?", (name,))
        return (json.loads(row["options"]) if row else None) or {}

    def needs_mount(self, name: str) -> bool:
        """A volume with a device or type option: its _data is a mount while a running container uses it."""
        return mount_options.needs_mount(self.options(name))

    def mount(self, name: str) -> None:
        """Mount the volume's device on its _data (moby's localVolume.Mount), if it has one and is not mounted."""
        opts = self.options(name)
        if not mount_options.needs_mount(opts):
            return
        path = self.mountpoint(name)
        try:
            mount_options.mount_volume(opts, str(path))
        except SystemError_ as err:
            raise SystemError_(f"error while mounting volume '{path}': {err}") from None

    def unmount(self, name: str) -> None:
        if self.needs_mount(name):
            mount_options.unmount_volume(str(self.mountpoint(name)))

    def remove(self, name: str, users: list[str], force: bool = False) -> None:
        if not self.exists(name):
            if force:
                return
            raise NotFound(f"get {name}: no such volume")
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        path = self.mountpoint(name)
        mount_options.unmount_volume(str(path))
        if is_mountpoint(str(path)):  # never delete what a device or a bound host directory holds
            raise SystemError_(f"remove {name}: volume path '{path}' is still mounted")
        with self.md.tx() as cur:
            cur.execute("DELETE FROM volumes WHERE name=?", (name,))
        shutil.rmtree(self.root / name, ignore_errors=True)

    def size(self, name: str) -> int:
        return dir_size(self.mountpoint(name))
