"""go-units, as docker formats durations and sizes; shared by the daemon (ps Status) and the CLI."""
from __future__ import annotations

import re


def human_duration(seconds: float) -> str:
    """HumanDuration: "Less than a second", "About a minute", "3 hours", ..."""
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(hours / 24 / 365)} years"


def _scaled(size: float, base: int, units: list[str], precision: int) -> str:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{size:.{precision}g}{units[i]}"


def human_size(size: float, precision: int = 3) -> str:
    """HumanSizeWithPrecision: decimal units (kB, MB, GB)."""
    return _scaled(size, 1000, ["B", "kB", "MB", "GB", "TB", "PB"], precision)


def bytes_size(size: float) -> str:
    """BytesSize: binary units, 4 significant digits (20.71MiB)."""
    return _scaled(size, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)


def from_human_size(text: str) -> int:
    """FromHumanSize: a size in decimal units ("10m" = 10 * 1000**2; "1.5k", "2 MB", "3KiB" too), with
    go-units' messages."""
    return _parse_size(text, 1000)


def ram_in_bytes(text: str) -> int:
    """RAMInBytes: the same syntax in binary units ("10m" = 10 * 1024**2), as `-m`/`--shm-size` take it."""
    return _parse_size(text, 1024)


def _parse_size(text: str, base: int) -> int:
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise ValueError(f"invalid size: '{text}'")
    num, suffix = (text[:sep + 1], text[sep + 1:]) if text[sep] != " " else (text[:sep], text[sep + 1:])
    try:
        size = float(num)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{num}": invalid syntax') from None
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    sfx = suffix.lower()
    if not sfx or sfx == "b":
        return int(size)
    power = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}.get(sfx[0])
    if len(sfx) > 3 or power is None or (len(sfx) == 2 and sfx[1] != "b") or (len(sfx) == 3 and sfx[1:] != "ib"):
        raise ValueError(f"invalid suffix: '{sfx}'")
    return int(size * base ** power)


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration ("1m30s", "500ms", "2h"), in seconds; "0" alone needs no unit."""
    s = text.strip()
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    if s == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total
