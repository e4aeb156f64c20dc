"""Kubernetes quantities and durations <-> the Engine API's integers (bytes, NanoCPUs, nanoseconds)."""
from __future__ import annotations

import math
import re

from ..errors import InvalidParameter

BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
DECIMAL = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)$")
NANO = 10**9


def memory_quantity(n_bytes: int) -> str:
    """Bytes as the shortest exact binary quantity: 268435456 -> "256Mi"; 1000 -> "1000"."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if n_bytes % BINARY[suffix] == 0:
            return f"{n_bytes // BINARY[suffix]}{suffix}"
    return str(n_bytes)


def cpu_quantity(nano_cpus: int) -> str:
    """NanoCPUs as cores ("2") or millicores ("500m"), rounded up to a millicore (Kubernetes' precision)."""
    milli = -(-nano_cpus // 10**6)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def parse_quantity(value, field: str) -> float:
    """A quantity ("256Mi", "0.5", "500m", 2) as a number of base units; errors name the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidParameter(f"{field}: quantity must be a string or number, not {type(value).__name__}")
    m = QUANTITY.match(str(value).strip())
    if not m:
        raise InvalidParameter(f"{field}: invalid quantity {value!r}")
    number, suffix = float(m.group(1)), m.group(2)
    if suffix == "m":
        return number / 1000
    return number * BINARY.get(suffix, DECIMAL.get(suffix, 1))


def memory_bytes(value, field: str) -> int:
    return int(math.ceil(parse_quantity(value, field)))


def nano_cpus(value, field: str) -> int:
    return int(round(parse_quantity(value, field) * NANO))


def seconds(nanoseconds: int | None, default: int) -> int:
    """A Docker duration (ns) as whole seconds for a probe field, at least 1."""
    if not nanoseconds:
        return default
    return max(1, -(-int(nanoseconds) // NANO))


DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": NANO, "m": 60 * NANO, "h": 3600 * NANO}


def parse_duration(value, field: str) -> int:
    """A compose/Go duration ("1m30s", "10s", "500ms") in nanoseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value * NANO)
    text = str(value).strip()
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidParameter(f"{field}: invalid duration {value!r}")
    return int(sum(float(n) * UNIT_NS[u] for n, u in parts))
