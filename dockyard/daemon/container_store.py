"""The container records (moby's container.Store, containerd's metadata DB): their SQL, their queries and the
per-container locks. Every service that reads or writes a container record, or must not race a start, stop or
removal of one, takes this store in its constructor; none reaches into another service for it."""
from __future__ import annotations

import asyncio
from typing import NamedTuple

from ..errors import Conflict, InvalidParameter, NotFound
from ..store.metadata import Metadata
from ..store.record_index import AmbiguousPrefix, RecordIndex
from ..store.write_behind import WriteBehind
from ..timefmt import parse_rfc3339
from .container_record import Container


class _Facts(NamedTuple):
    """What other resources ask of a container record, kept apart so no query parses the JSON of thousands."""
    image_id: str
    running: bool
    links: tuple[str, ...]
    labels: dict


def _write_rows(cur, batch: dict) -> None:
    """(In the writer thread) the newest record of each container saved, or its deletion."""
    for cid, row in batch.items():
        if row is None:
            cur.execute("DELETE FROM containers WHERE id=?", (cid,))
        else:
            cur.execute("INSERT OR REPLACE INTO containers(id, name, image_id, data, created) VALUES (?,?,?,?,?)",
                        row)


class ContainerStore:
    """SQLite holds the records; each record's JSON is kept in memory and written behind on every save (see
    store/write_behind.py), so neither lookups nor saves touch the database on the event loop."""

    def __init__(self, md: Metadata):
        self.md = md
        self._locks: dict[str, asyncio.Lock] = {}
        self._records = RecordIndex()  # id, name -> the record as stored
        self._created: dict[str, float] = {}  # id -> creation time, for newest-first listings
        self._facts: dict[str, _Facts] = {}  # id -> what the queries of other resources' users ask
        self._decoded: dict[str, tuple[str, Container]] = {}  # id -> (data, its Container) for listed()
        self._reserved: dict[str, str] = {}  # name -> id of a container being created (moby's reserveName)
        for r in md.query("SELECT id, name, data, created FROM containers"):
            self._remember(Container.from_json(r["data"]), r["data"], r["created"])
        self._writer = WriteBehind(md, _write_rows, "container-records")

    def _remember(self, c: Container, data: str, created: float) -> None:
        self._records.put(c.id, c.name, data)
        self._created[c.id] = created
        self._facts[c.id] = _Facts(c.image_id, bool(c.state.Running or c.state.Restarting),
                                   tuple(c.host_config.get("Links") or ()), dict(c.config.get("Labels") or {}))

    def close(self) -> None:
        """Write what is pending (at daemon shutdown)."""
        self._writer.close()

    # ------------------------------------------------------------ locks
    def lock(self, cid: str) -> asyncio.Lock:
        """The lock a change of this container's state holds (start, stop, removal, network connect...)."""
        return self._locks.setdefault(cid, asyncio.Lock())

    def forget_lock(self, cid: str) -> None:
        self._locks.pop(cid, None)

    # ------------------------------------------------------------ records
    def save(self, c: Container) -> None:
        """The record as it is now: in memory at once, on disk soon (a request's response waits for it)."""
        data, created = c.to_json(), parse_rfc3339(c.created)
        self._remember(c, data, created)
        self._writer.put(c.id, (c.id, c.name, c.image_id, data, created))

    def delete(self, cid: str) -> None:
        self._records.drop(cid)
        self._created.pop(cid, None)
        self._facts.pop(cid, None)
        self._decoded.pop(cid, None)
        self._writer.put(cid, None)

    def get(self, ref: str) -> Container:
        """By full ID, name (with or without its leading /) or unique ID prefix, as docker resolves them."""
        ref = ref.lstrip("/") if ref.startswith("/") else ref
        try:
            cid = self._records.resolve(ref)
        except AmbiguousPrefix:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}") from None
        data = self._records.data(cid)  # None too if removed since the lookup (a pool thread's get)
        if data is None:
            raise NotFound(f"No such container: {ref}")
        return Container.from_json(data)

    def find(self, cid: str) -> Container | None:
        """The container with this full ID, or None."""
        data = self._records.data(cid)
        return Container.from_json(data) if data else None

    def exists(self, cid: str) -> bool:
        return cid in self._records

    def all(self) -> list[Container]:
        """Newest first, as `docker ps` lists them."""
        records, newest_first = self._newest_first()
        return [Container.from_json(records[cid]) for cid in newest_first]

    def _newest_first(self) -> tuple[dict[str, str], list[str]]:
        """The records (id -> data) and their IDs, newest first."""
        # copies first: listings run on pool threads while the loop saves and deletes (a dict copy is atomic)
        records, created = self._records.snapshot(), dict(self._created)
        return records, sorted(records, key=lambda cid: created.get(cid, 0), reverse=True)

    def listed(self) -> list[Container]:
        """all() for readers (lists, counts): each record is decoded once per save, not once per list (decoding
        every record was most of what a hundred clients' `docker ps -a` cost). The objects are shared: never
        change one."""
        records, newest_first = self._newest_first()
        out = []
        for cid in newest_first:
            data, decoded = records[cid], self._decoded.get(cid)
            if decoded is None or decoded[0] is not data:  # saved since (each save stores a new string)
                decoded = self._decoded[cid] = (data, Container.from_json(data))
            out.append(decoded[1])
        if len(self._decoded) > len(records):  # removed containers (a list that raced a delete put one back)
            for cid in set(self._decoded) - set(records):
                self._decoded.pop(cid, None)
        return out

    def ids(self) -> list[str]:
        return self._records.ids()

    def names(self) -> set[str]:
        return self._records.names() | set(self._reserved)

    def id_named(self, name: str) -> str | None:
        return self._records.id_named(name) or self._reserved.get(name)

    def reserve_name(self, name: str, cid: str) -> None:
        """Hold `name` for a container being created (its record is saved later, after awaits): a second create
        of the same name meanwhile gets the Conflict, not a database error. save() or release_name() ends it."""
        other = self.id_named(name)
        if other:
            raise Conflict(f'Conflict. The container name "/{name}" is already in use by container "{other}". '
                           f"You have to remove (or rename) that container to be able to reuse that name.")
        self._reserved[name] = cid

    def release_name(self, name: str) -> None:
        self._reserved.pop(name, None)

    # ------------------------------------------------------------ queries of other resources' users
    def users_of_image(self, image_id: str) -> list[tuple[str, bool]]:
        """(container ID, running) of the containers made from an image."""
        return [(cid, f.running) for cid, f in dict(self._facts).items() if f.image_id == image_id]

    def users_of_volume(self, name: str) -> list[str]:
        return [c.id for c in self.listed() if any(m.get("Name") == name for m in c.mount_points)]

    def link_targets(self) -> set[str]:
        """Names of the containers some container links to."""
        return {entry.partition(":")[0].lstrip("/") for f in dict(self._facts).values() for entry in f.links}

    def ids_linking_to(self, name: str) -> list[str]:
        """IDs of the containers with a link to this one (`/name:/parent/alias`)."""
        return [cid for cid, f in dict(self._facts).items() if any(e.startswith(f"/{name}:/") for e in f.links)]

    def counts(self) -> dict:
        out = {"running": 0, "paused": 0, "stopped": 0}
        for c in self.listed():
            key = "paused" if c.state.Paused else "running" if c.state.Running else "stopped"
            out[key] += 1
        return out

    def labels_of(self, cid: str) -> dict:
        facts = self._facts.get(cid)
        return dict(facts.labels) if facts else {}
