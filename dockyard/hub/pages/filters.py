"""Jinja2 filters: sizes, counts, relative times and short digests as Docker Hub shows them."""
from __future__ import annotations

import datetime
import time


def bytes_fmt(n) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"


def count_fmt(n) -> str:
    n = int(n or 0)
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}K"
    return str(n)


def _epoch(ts) -> float | None:
    if ts is None or ts == "":
        return None
    if isinstance(ts, (int, float)):
        return float(ts)
    try:
        return datetime.datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ago(ts) -> str:
    """'3 minutes ago' for epoch seconds or an ISO 8601 time."""
    t = _epoch(ts)
    if t is None:
        return "never"
    s = max(0, int(time.time() - t))
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if s >= size:
            k = s // size
            return f"{k} {unit}{'s' if k != 1 else ''} ago"
    return "less than a minute ago"


def short_digest(d) -> str:
    d = str(d or "")
    return d.split(":", 1)[1][:12] if ":" in d else d[:12]


FILTERS = {"bytes_fmt": bytes_fmt, "count_fmt": count_fmt, "ago": ago, "short_digest": short_digest}
