"""API versions: every route is served unversioned and under /v1.24 ... /v1.50."""
MIN_API_VERSION = "1.24"
MAX_API_VERSION = "1.50"


def as_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))
