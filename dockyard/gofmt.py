"""Go's fmt verbs where users read dockerd's output: the classic builder's history (`CMD %q`, `VOLUME %v`,
`HEALTHCHECK %q` of a *HealthConfig) and error messages that quote a value with %q."""
from __future__ import annotations

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _escaped(ch: str, quote: str) -> str:
    if ch in (quote, "\\"):
        return "\\" + ch
    if ch.isprintable():  # Go's unicode.IsPrint: like Python's, ASCII space is the only printable space
        return ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    n = ord(ch)
    if n < 0x80:
        return f"\\x{n:02x}"
    return f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def quote(s: str) -> str:
    """strconv.Quote: `"a \\"b\\""`."""
    return '"' + "".join(_escaped(ch, '"') for ch in s) + '"'


def quote_rune(n: int) -> str:
    """%q of an integer: the character it codes, single-quoted (`'\\x03'` for 3)."""
    return "'" + _escaped(chr(n), "'") + "'"


def quoted_list(items) -> str:
    """%q of a []string: `["sh" "-c" "echo hi"]` (no commas, unlike JSON)."""
    return "[" + " ".join(quote(i) for i in items or []) + "]"


def plain_list(items) -> str:
    """%v of a []string: `[/bin/bash -c]`."""
    return "[" + " ".join(items or []) + "]"


def duration(ns: int) -> str:
    """time.Duration.String(): `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 1_000_000_000:
        for unit, size, digits in (("ms", 1_000_000, 6), ("µs", 1_000, 3), ("ns", 1, 0)):
            if ns >= size:
                return sign + _fixed(ns, size, digits) + unit
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + _fixed(rest, 1_000_000_000, 9) + "s"


def _fixed(value: int, size: int, digits: int) -> str:
    whole, frac = divmod(value, size)
    frac_text = f"{frac:0{digits}d}".rstrip("0") if digits else ""
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def healthcheck(hc: dict) -> str:
    """%q of a *container.HealthConfig: `&{["CMD-SHELL" "true"] "5s" "0s" "0s" "0s" '\\x03'}`."""
    durations = " ".join(quote(duration(int(hc.get(k) or 0)))
                         for k in ("Interval", "Timeout", "StartPeriod", "StartInterval"))
    return f"&{{{quoted_list(hc.get('Test'))} {durations} {quote_rune(int(hc.get('Retries') or 0))}}}"
