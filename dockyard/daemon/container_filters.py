"""`docker ps --filter`: ancestor, status, name, id, label, exited, before, since, volume, network, ..."""
from __future__ import annotations

import json
import re

from ..errors import InvalidParameter, NotFound
from .container_record import Container
from ..filters import Filters

ACCEPTED = {"ancestor", "status", "name", "id", "label", "label!", "exited", "before", "since", "volume", "network",
            "health", "is-task", "publish", "expose"}
STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}
HEALTH_STATES = {"starting", "healthy", "unhealthy", "none"}  # none: no health check
_GO_ATOI = re.compile(r"[+-]?[0-9]+")


class ContainerFilter:
    def __init__(self, filters: Filters, service):
        filters.validate(ACCEPTED)
        self.f = filters
        self.svc = service
        for s in filters.get("status"):
            if s not in STATUSES:
                raise InvalidParameter(f"invalid filter 'status={s}'")
        self.exit_codes = self._exit_codes()
        self._validate_health()
        self.ancestors = self._ancestor_ids()
        self.before = self._created_of("before")
        self.since = self._created_of("since")

    def _exit_codes(self) -> set[int]:
        codes = set()
        for value in self.f.get("exited"):
            if not _GO_ATOI.fullmatch(value):
                raise InvalidParameter(f"invalid filter 'exited={value}': strconv.Atoi: parsing "
                                       f"{json.dumps(value)}: invalid syntax")
            codes.add(int(value))
        return codes

    def _validate_health(self) -> None:
        for value in self.f.get("health"):
            if value not in HEALTH_STATES:
                raise InvalidParameter(f"Unrecognised filter value for health: {value}")

    def _ancestor_ids(self) -> set[str] | None:
        if not self.f.has("ancestor"):
            return None
        ids: set[str] = set()
        for name in self.f.get("ancestor"):
            try:
                ids.add(self.svc.images.resolve(name)[0])
            except (NotFound, InvalidParameter):
                continue
        return ids

    def _created_of(self, key: str) -> str | None:
        if not self.f.has(key):
            return None
        return self.svc.store.get(self.f.one(key)).created

    def _descends_from(self, image_id: str) -> bool:
        """The container's image is an ancestor image or was built on one."""
        seen = set()
        while image_id and image_id not in seen:
            if image_id in self.ancestors:
                return True
            seen.add(image_id)
            try:
                image_id = self.svc.images.get(image_id).parent
            except NotFound:
                return False
        return False

    def match(self, c: Container) -> bool:
        f = self.f
        if f.has("id") and not any(c.id.startswith(v) for v in f.get("id")):
            return False
        if f.has("name") and not any(_name_matches(v, c.name) for v in f.get("name")):
            return False
        if f.has("status") and c.state.Status not in f.get("status"):
            return False
        # moby: only containers that stopped (a restarting one counts as running) with one of those codes
        if self.exit_codes and (c.state.Running or c.state.Restarting or not c.has_been_started
                                or c.state.ExitCode not in self.exit_codes):
            return False
        if f.has("health") and health_of(c) not in f.get("health"):
            return False
        if not f.match_labels(c.config.get("Labels") or {}):
            return False
        if self.ancestors is not None and not self._descends_from(c.image_id):
            return False
        if self.before is not None and c.created >= self.before:
            return False
        if self.since is not None and c.created <= self.since:
            return False
        if f.has("volume"):
            known = {m.get(k) for m in c.mount_points for k in ("Name", "Source", "Destination")}
            if not any(v in known for v in f.get("volume")):
                return False
        if f.has("network"):
            mode = c.host_config.get("NetworkMode") or "bridge"
            nets = c.network_settings.get("Networks") or {}
            ids = [s.get("NetworkID") or "" for s in nets.values()]
            if not any(v in (mode, *nets) or any(i.startswith(v) for i in ids if i) for v in f.get("network")):
                return False
        if f.has("publish"):  # host ports of running containers: `8080`, `8080/udp`
            published = {f"{b['HostPort']}/{key.partition('/')[2] or 'tcp'}"
                         for key, bs in (c.network_settings.get("Ports") or {}).items() for b in bs or []}
            if not any((p if "/" in p else p + "/tcp") in published for p in f.get("publish")):
                return False
        if f.has("expose") and not any(p in (c.config.get("ExposedPorts") or {}) or f"{p}/tcp" in
                                       (c.config.get("ExposedPorts") or {}) for p in f.get("expose")):
            return False
        if f.has("is-task") and f.bool("is-task"):
            return False
        return True


def health_of(c: Container) -> str:
    """The health the `health` filter compares: `none` for a container without a health check."""
    return (c.state.Health or {}).get("Status") or "none"


def _name_matches(pattern: str, name: str) -> bool:
    """moby's filters.Match on the name with and without its slash: an exact name, or a regexp search;
    a pattern that does not compile matches nothing rather than failing the whole list."""
    candidates = (name, "/" + name)
    if pattern in candidates:
        return True
    try:
        regexp = re.compile(pattern)
    except re.error:
        return False
    return any(regexp.search(c) for c in candidates)
