"""The container records (moby's container.Store, containerd's metadata DB): their SQL, their queries and the
per-container locks. Every service that reads or writes a container record, or must not race a start, stop or
removal of one, takes this store in its constructor; none reaches into another service for it."""
from __future__ import annotations

import asyncio
import json

from ..errors import InvalidParameter, NotFound
from ..store.metadata import Metadata
from ..timefmt import parse_rfc3339
from .container_record import Container


class ContainerStore:
    def __init__(self, md: Metadata):
        self.md = md
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------ locks
    def lock(self, cid: str) -> asyncio.Lock:
        """The lock a change of this container's state holds (start, stop, removal, network connect...)."""
        return self._locks.setdefault(cid, asyncio.Lock())

    def forget_lock(self, cid: str) -> None:
        self._locks.pop(cid, None)

    # ------------------------------------------------------------ records
    def save(self, c: Container) -> None:
        with self.md.tx() as cur:
            cur.execute("INSERT OR REPLACE INTO containers(id, name, image_id, data, created) VALUES (?,?,?,?,?)",
                        (c.id, c.name, c.image_id, c.to_json(), parse_rfc3339(c.created)))

    def delete(self, cid: str) -> None:
        with self.md.tx() as cur:
            cur.execute("DELETE FROM containers WHERE id=?", (cid,))

    def get(self, ref: str) -> Container:
        """By full ID, name (with or without its leading /) or unique ID prefix, as docker resolves them."""
        ref = ref.lstrip("/") if ref.startswith("/") else ref
        return Container.from_json(self.md.data_by_ref(
            "containers", ref, missing=lambda: NotFound(f"No such container: {ref}"),
            ambiguous=lambda _: InvalidParameter(f"multiple IDs found with provided prefix: {ref}")))

    def find(self, cid: str) -> Container | None:
        """The container with this full ID, or None."""
        row = self.md.one("SELECT data FROM containers WHERE id=?", (cid,)) if cid else None
        return Container.from_json(row["data"]) if row else None

    def exists(self, cid: str) -> bool:
        return self.md.one("SELECT id FROM containers WHERE id=?", (cid,)) is not None

    def all(self) -> list[Container]:
        """Newest first, as `docker ps` lists them."""
        return [Container.from_json(r["data"]) for r in self.md.query("SELECT data FROM containers ORDER BY created DESC")]

    def ids(self) -> list[str]:
        return [r["id"] for r in self.md.query("SELECT id FROM containers")]

    def names(self) -> set[str]:
        return {r["name"] for r in self.md.query("SELECT name FROM containers")}

    def id_named(self, name: str) -> str | None:
        row = self.md.one("SELECT id FROM containers WHERE name=?", (name,))
        return row["id"] if row else None

    # ------------------------------------------------------------ queries of other resources' users
    def users_of_image(self, image_id: str) -> list[tuple[str, bool]]:
        """(container ID, running) of the containers made from an image."""
        # State.reported_running read by SQLite: no record is parsed (an image can have thousands of users)
        rows = self.md.query("SELECT id, json_extract(data, '$.state.Running') OR json_extract(data, '$.state.Restarting') "
                             "AS running FROM containers WHERE image_id=?", (image_id,))
        return [(r["id"], bool(r["running"])) for r in rows]

    def users_of_volume(self, name: str) -> list[str]:
        return [c.id for c in self.all() if any(m.get("Name") == name for m in c.mount_points)]

    def link_targets(self) -> set[str]:
        """Names of containers some container links to (a superset: a LIKE narrows the records parsed)."""
        rows = self.md.query("SELECT data FROM containers WHERE data LIKE ?", ('%"Links": ["/%',))
        return {entry.partition(":")[0].lstrip("/") for r in rows
                for entry in json.loads(r["data"]).get("host_config", {}).get("Links") or []}

    def ids_linking_to(self, name: str) -> list[str]:
        """IDs of the records that may link to this container (a LIKE on `"/name:/parent/alias"`)."""
        return [r["id"] for r in self.md.query("SELECT id FROM containers WHERE data LIKE ?", (f'%"/{name}:/%',))]

    def counts(self) -> dict:
        out = {"running": 0, "paused": 0, "stopped": 0}
        for c in self.all():
            key = "paused" if c.state.Paused else "running" if c.state.Running else "stopped"
            out[key] += 1
        return out

    def labels_of(self, cid: str) -> dict:
        c = self.find(cid)
        return (c.config.get("Labels") or {}) if c else {}
