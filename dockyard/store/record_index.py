"""The rows (id, name, data) of a metadata table kept in memory by the store that owns the table (containers,
networks; it writes them to SQLite), so that resolving a reference, which nearly every request does, reads no
database on the event loop. Single-statement dict operations only: pool threads may read while the loop writes."""
from __future__ import annotations


def is_id_prefix(ref: str) -> bool:
    """A non-empty lower-case hex string: an ID prefix (no case folding, as dockerd)."""
    return bool(ref) and all(c in "0123456789abcdef" for c in ref)


class AmbiguousPrefix(Exception):
    def __init__(self, matches: int):
        super().__init__(f"{matches} IDs start with the prefix")
        self.matches = matches


class RecordIndex:
    def __init__(self):
        self._data: dict[str, str] = {}  # id -> the row's data as stored
        self._by_name: dict[str, str] = {}  # name -> id
        self._name_of: dict[str, str] = {}  # id -> name

    def put(self, record_id: str, name: str, data: str) -> None:
        old_name = self._name_of.get(record_id)
        if old_name is not None and old_name != name:  # a rename
            self._by_name.pop(old_name, None)
        self._data[record_id], self._by_name[name], self._name_of[record_id] = data, record_id, name

    def drop(self, record_id: str) -> None:
        self._by_name.pop(self._name_of.pop(record_id, None), None)
        self._data.pop(record_id, None)

    def resolve(self, ref: str) -> str | None:
        """The ID `ref` names, as dockerd resolves references: a full ID, else a name, else a unique hex prefix of
        an ID (AmbiguousPrefix when several IDs start with it); None when nothing matches."""
        if ref in self._data:
            return ref
        named = self._by_name.get(ref)  # one lookup: the loop may drop the name between two
        if named is not None or not is_id_prefix(ref):
            return named
        matches = [i for i in list(self._data) if i.startswith(ref)]
        if len(matches) > 1:
            raise AmbiguousPrefix(len(matches))
        return matches[0] if matches else None

    def data(self, record_id: str | None) -> str | None:
        return self._data.get(record_id) if record_id else None

    def snapshot(self) -> dict[str, str]:
        """id -> data, copied (a dict copy is atomic: safe on a pool thread while the loop writes)."""
        return dict(self._data)

    def ids(self) -> list[str]:
        return list(self._data)

    def names(self) -> set[str]:
        return set(self._by_name)

    def id_named(self, name: str) -> str | None:
        return self._by_name.get(name)

    def __contains__(self, record_id: str) -> bool:
        return record_id in self._data
