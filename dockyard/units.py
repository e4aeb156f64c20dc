"""go-units, as docker formats durations and sizes; shared by the daemon (ps Status) and the CLI."""
from __future__ import annotations


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
