"""Volume service: docker volume create/ls/inspect/rm/prune over the volume store and its drivers."""
from __future__ import annotations

from ..filters import Filters


class VolumeService:
    def __init__(self, store, containers, events):
        self.store = store  # the VolumeStore
        self.containers = containers  # the ContainerStore: who uses a volume
        self.events = events

    def create(self, body: dict) -> dict:
        vol, created = self.store.create(body.get("Name") or "", body.get("Labels"), body.get("DriverOpts"),
                                         body.get("Driver") or "local")
        if created:
            self.events.emit("volume", "create", vol["Name"], {"driver": vol["Driver"]})
        return vol

    def inspect(self, name: str) -> dict:
        return self.store.get(name)

    def list(self, filters: Filters) -> dict:
        filters.validate({"dangling", "driver", "label", "name"})
        out = []
        for vol in self.store.list():
            users = self.containers.users_of_volume(vol["Name"]) if self.containers else []
            if filters.has("dangling") and filters.bool("dangling") != (not users):
                continue
            if filters.has("name") and not any(n in vol["Name"] for n in filters.get("name")):
                continue
            if filters.has("driver") and vol["Driver"] not in filters.get("driver"):
                continue
            if not filters.match_labels(vol["Labels"] or {}):
                continue
            out.append(vol)
        return {"Volumes": out, "Warnings": []}

    def remove(self, name: str, force: bool = False) -> None:
        driver = self.store.get(name)["Driver"] if self.store.exists(name) else None
        users = self.containers.users_of_volume(name) if self.containers else []
        self.store.remove(name, users, force)  # force: a missing volume is no error (moby)
        if driver:  # nothing was destroyed when force skipped a missing volume
            self.events.emit("volume", "destroy", name, {"driver": driver})

    def prune(self, filters: Filters) -> dict:
        filters.validate({"label", "label!", "all"})
        prune_named = filters.has("all") and filters.bool("all")
        deleted, reclaimed = [], 0
        for vol in self.store.list():
            if self.containers.users_of_volume(vol["Name"]):
                continue
            if not prune_named and not self.store.is_anonymous(vol["Name"]):
                continue
            if not filters.match_labels(vol["Labels"] or {}):
                continue
            reclaimed += self.store.size(vol["Name"])
            self.remove(vol["Name"])
            deleted.append(vol["Name"])
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
