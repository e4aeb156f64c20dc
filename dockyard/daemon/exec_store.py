"""The exec instances, by ID (in memory, as moby's exec.Store). The exec service adds and ends them; the
container service drops a container's when it exits or goes away, and lists the running ones in inspect.
Both get this one object from the composition root, so neither holds the other."""
from __future__ import annotations


class ExecStore:
    def __init__(self):
        self._records: dict = {}  # exec ID -> exec.ExecRecord

    def add(self, rec) -> None:
        self._records[rec.id] = rec

    def find(self, exec_id: str):
        return self._records.get(exec_id)

    def discard(self, exec_id: str) -> None:
        self._records.pop(exec_id, None)

    def forget_container(self, container_id: str) -> None:
        """Drop every exec record of a container that stopped or went away."""
        for exec_id in [r.id for r in self._records.values() if r.container_id == container_id]:
            del self._records[exec_id]

    def running_ids(self, container_id: str) -> list[str]:
        return [r.id for r in self._records.values() if r.container_id == container_id and r.running]
