"""Docker's JSON progress messages for pull and push, formatted exactly as dockerd formats them.

`progress` strings mirror moby's jsonmessage.JSONProgress.String() with the daemon-side width (200):
`[=====>      ]  1.234MB/5.678MB 2s` (bar, go-units HumanSize with 4 significant digits, time left).
"""
from __future__ import annotations

import time


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, `%.4g`: 527B, 1.234kB, 12.35MB."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.4g}{units[i]}"


def go_duration(seconds: int) -> str:
    """time.Duration.String() for whole seconds: 0s, 45s, 2m5s, 1h0m3s."""
    if seconds <= 0:
        return "0s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def progress_text(current: int, total: int, start: float | None = None, now: float | None = None) -> str:
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = "[" + "=" * percentage + ">" + " " * max(50 - percentage, 0) + "] "
    numbers = f"{human_size(current):>8}/{human_size(total)}"
    if current > total:
        numbers = f"{human_size(current):>8}"
    left = ""
    if current > 0 and start and percentage < 50:
        elapsed = (now or time.time()) - int(start)
        remaining = int((total - current) * (elapsed / current))
        left = " " + go_duration(remaining)
    return bar + numbers + left


def status(id_: str, text: str) -> dict:
    """A per-layer status line: `{"status":"Pull complete","progressDetail":{},"id":"<12 hex>"}`."""
    return {"status": text, "progressDetail": {}, "id": id_}


def progress(id_: str, text: str, current: int, total: int, start: float | None = None) -> dict:
    detail = {"current": current, "total": total} if total > 0 else {"current": current}
    return {"status": text, "progressDetail": detail, "progress": progress_text(current, total, start),
            "id": id_}


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class Throttle:
    """Lets a progress update through at most every `interval` seconds (the last one always goes)."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self._last = 0.0

    def ready(self, final: bool = False) -> bool:
        now = time.monotonic()
        if final or now - self._last >= self.interval:
            self._last = now
            return True
        return False
