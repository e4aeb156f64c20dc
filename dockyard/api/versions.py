"""API versions: every route is served unversioned and under /v1.24 ... /v1.50 (the bounds: dockyard/apiversion.py)."""
import functools


@functools.lru_cache(maxsize=64)  # called per listed object; a few dozen versions exist
def as_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))
