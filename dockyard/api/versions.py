"""API versions: every route is served unversioned and under /v1.24 ... /v1.50."""
import functools

from ..apiversion import MAX_API_VERSION, MIN_API_VERSION  # noqa: F401 (the API layer's names for them)


@functools.lru_cache(maxsize=64)  # called per listed object; a few dozen versions exist
def as_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))
