"""Signal names as docker accepts them: SIGTERM, TERM, 15."""
from __future__ import annotations

import signal as _signal

from .errors import InvalidParameter


def parse_signal(value) -> int:
    if isinstance(value, int):
        return value
    s = str(value).strip().upper()
    if s.isdigit():
        n = int(s)
        if 0 < n < 65:
            return n
        raise InvalidParameter(f"invalid signal: {value}")
    if not s.startswith("SIG"):
        s = "SIG" + s
    try:
        return int(getattr(_signal, s))
    except AttributeError:
        rt = {f"SIGRTMIN+{i}": int(_signal.SIGRTMIN) + i for i in range(16)}
        if s in rt:
            return rt[s]
        raise InvalidParameter(f"invalid signal: {value}") from None
