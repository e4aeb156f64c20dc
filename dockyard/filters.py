"""Docker's `filters` query parameter: JSON map of name -> values (list, or the legacy {value: true} map)."""
from __future__ import annotations

import json

from .errors import InvalidParameter


class Filters:
    def __init__(self, values: dict[str, list[str]]):
        self.values = values

    @classmethod
    def parse(cls, raw: str | None) -> "Filters":
        if not raw:
            return cls({})
        try:
            data = json.loads(raw)
        except ValueError:
            raise InvalidParameter(f"invalid filter: {raw}") from None
        if not isinstance(data, dict) or not all(_well_typed(v) for v in data.values()):
            # moby's FromJSON takes map[string]map[string]bool or the legacy map[string][]string, nothing else
            raise InvalidParameter(f"invalid filter: {raw}")
        return cls({k: [x for x, on in v.items() if on] if isinstance(v, dict) else list(v or []) for k, v in data.items()})

    def validate(self, accepted: set[str]) -> None:
        for k in self.values:
            if k not in accepted:
                raise InvalidParameter(f"invalid filter '{k}'")

    def has(self, key: str) -> bool:
        return bool(self.values.get(key))

    def get(self, key: str) -> list[str]:
        return self.values.get(key, [])

    def one(self, key: str) -> str:
        return self.values[key][-1]

    def bool(self, key: str) -> bool:
        v = self.one(key).lower()
        if v in ("true", "1"):
            return True
        if v in ("false", "0"):
            return False
        raise InvalidParameter(f"Invalid filter '{key}={v}'")

    def match_labels(self, labels: dict, key: str = "label") -> bool:
        for want in self.get(key):
            k, eq, v = want.partition("=")
            if k not in labels or (eq and labels[k] != v):
                return False
        for want in self.get(key + "!"):
            k, eq, v = want.partition("=")
            if k in labels and (not eq or labels[k] == v):
                return False
        return True


def _well_typed(values) -> bool:
    if values is None:  # Go decodes null as an empty set
        return True
    if isinstance(values, dict):
        return all(isinstance(on, bool) for on in values.values())
    return isinstance(values, list) and all(isinstance(x, str) for x in values)
