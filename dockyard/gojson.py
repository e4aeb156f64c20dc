"""Request bodies checked as Go's encoding/json decodes them into moby's structs, in one place for every route
(context.json_body calls `check`): a value of the wrong JSON type is a 400 in the decoder's words
(`json: cannot unmarshal array into Go struct field CreateOptions.Name of type string`), never a value a
service stores and trips over later. As in Go, null is every type's zero value, unknown fields are ignored
and field names match case-insensitively.

A type is "string", "bool", "int" (int64), "goint" (Go's int), "uint", "any", Slice(t), Map(t) (string keys)
or a Struct."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InvalidParameter

INT64 = (-(1 << 63), (1 << 63) - 1)
UINT64 = (0, (1 << 64) - 1)


@dataclass(frozen=True)
class Slice:
    item: object
    go: str = ""  # the Go type's name when it is not []<item>, e.g. strslice.StrSlice

    def name(self) -> str:
        return self.go or "[]" + go_name(self.item)


@dataclass(frozen=True)
class Map:
    value: object
    go: str = ""  # the Go type's name when it is not map[string]<value>, e.g. map[string]*string

    def name(self) -> str:
        return self.go or "map[string]" + go_name(self.value)


@dataclass
class Struct:
    go: str                      # package-qualified name, e.g. "volume.CreateOptions"
    fields: dict = field(default_factory=dict)

    def name(self) -> str:
        return self.go

    def lookup(self, key: str):
        """The field a JSON key fills: an exact match, else Go's case-insensitive one."""
        if key in self.fields:
            return key
        return next((f for f in self.fields if f.lower() == key.lower()), None)


@dataclass(frozen=True)
class StrSlice:
    """moby's strslice.StrSlice: a list of strings, or one string."""

    def name(self) -> str:
        return "[]string"


GO_SCALARS = {"string": "string", "bool": "bool", "int": "int64", "goint": "int", "uint": "uint64", "any": ""}


def go_name(t) -> str:
    return GO_SCALARS[t] if isinstance(t, str) else t.name()


def json_kind(value) -> str:
    """How Go's decoder names a JSON value in an UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Mismatch(Exception):
    def __init__(self, value: str, go_type: str):
        self.value, self.go_type = value, go_type


def check(body, t, prefix: str = "") -> None:
    """InvalidParameter (`prefix` + Go's message) unless `body` decodes into `t` (a Struct or any type)."""
    path: list[str] = []
    owner: list[Struct] = []
    try:
        _value(body, t, path, owner)
    except _Mismatch as err:
        if path:
            where = f"Go struct field {owner[-1].go.rsplit('.', 1)[-1]}.{'.'.join(path)}"
        else:
            where = "Go value"
        raise InvalidParameter(f"{prefix}json: cannot unmarshal {err.value} into {where} of type "
                               f"{err.go_type}") from None


def _value(value, t, path: list, owner: list) -> None:
    if value is None or t == "any":
        return
    if isinstance(t, str):
        _scalar(value, t)
    elif isinstance(t, StrSlice):
        if not isinstance(value, str):
            _items(value, Slice("string"), path, owner)
    elif isinstance(t, Slice):
        _items(value, t, path, owner)
    elif isinstance(t, Map):
        if not isinstance(value, dict):
            raise _Mismatch(json_kind(value), t.name())
        for item in value.values():
            _value(item, t.value, path, owner)
    else:
        _struct(value, t, path, owner)


def _scalar(value, t: str) -> None:
    kind = json_kind(value)
    if t == "string" and kind != "string" or t == "bool" and kind != "bool":
        raise _Mismatch(kind, GO_SCALARS[t])
    if t in ("int", "goint", "uint"):
        if kind != "number":
            raise _Mismatch(kind, GO_SCALARS[t])
        low, high = UINT64 if t == "uint" else INT64
        if isinstance(value, float) or not low <= value <= high:
            raise _Mismatch(f"number {value}", GO_SCALARS[t])


def _items(value, t: Slice, path: list, owner: list) -> None:
    if not isinstance(value, list):
        raise _Mismatch(json_kind(value), t.name())
    for item in value:
        _value(item, t.item, path, owner)


def _struct(value, t: Struct, path: list, owner: list) -> None:
    if not isinstance(value, dict):
        raise _Mismatch(json_kind(value), t.name())
    for key, item in value.items():
        name = t.lookup(key)
        if name is None:
            continue  # Go ignores fields it does not know
        path.append(name)
        owner.append(t)
        _value(item, t.fields[name], path, owner)
        owner.pop()
        path.pop()


def depth(value, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` arrays/objects (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            if d > limit:
                return True
            stack.extend((child, d + 1) for child in (v.values() if isinstance(v, dict) else v))
    return False
