"""docker's output formats: tabwriter tables, go-units sizes and durations, a Go-template subset."""
from __future__ import annotations

import datetime as dt
import json
import re
import time

from ..timefmt import parse_rfc3339
from ..units import human_duration


def ago(unix_seconds: float) -> str:
    return human_duration(time.time() - unix_seconds) + " ago"


def table(rows: list[list[str]], out, min_width: int = 10) -> None:
    """text/tabwriter as docker configures it: min width 10 (20 for `top`), padding 3, last column unpadded."""
    if not rows:
        return
    widths = [0] * max(len(r) for r in rows)
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))
    for r in rows:
        cells = [cell.ljust(max(widths[i] + 3, min_width)) for i, cell in enumerate(r[:-1])]
        out.write("".join(cells) + (r[-1] if r else "") + "\n")  # an empty last column keeps the padding, as tabwriter


# ---------------------------------------------------------------- Go templates (the subset docker users type)
ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")


def _lookup(obj, path: str):
    for part in [p for p in path.split(".") if p]:
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            obj = getattr(obj, part, None)
            if callable(obj):
                obj = obj()
    return obj


def _go_str(v) -> str:
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_str(x)}" for k, x in sorted(v.items())) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_str(x) for x in v) + "]"
    return str(v)


def _tokens(expr: str) -> list[str]:
    return re.findall(r'"[^"]*"|\S+', expr)


def _eval(expr: str, ctx):
    toks = _tokens(expr)
    if not toks:
        return ""
    fn, args = toks[0], toks[1:]
    if fn == "json":
        return go_json(_eval(" ".join(args), ctx))
    if fn == "index":
        base = _eval(args[0], ctx)
        key = args[1].strip('"')
        return (base or {}).get(key) if isinstance(base, dict) else None
    if fn in ("upper", "lower", "title"):
        v = _go_str(_eval(" ".join(args), ctx))
        return getattr(v, fn)()
    if fn == "join":
        return args[1].strip('"').join(_eval(args[0], ctx) or [])
    if fn.startswith('"'):
        return fn.strip('"')
    if fn.startswith("."):
        if args and hasattr(ctx, "call"):  # `.Label "key"`
            return ctx.call(fn[1:], [a.strip('"') for a in args])
        return ctx if fn == "." else _lookup(ctx, fn)
    return fn


def render(template: str, ctx) -> str:
    template = template.replace("\\t", "\t").replace("\\n", "\n")
    return ACTION.sub(lambda m: (lambda v: v if isinstance(v, str) else _go_str(v))(_eval(m.group(1), ctx)),
                      template)


def natural_key(name: str) -> list[tuple]:
    """The order of sortorder.NaturalLess, which the docker CLI sorts volume and network lists by: digit runs
    compare as numbers (fewer leading zeros first on a tie) and before any other character."""
    key = []
    for digits, char in re.findall(r"(\d+)|(\D)", name):
        if digits:
            significant = digits.lstrip("0")
            key.append((0, len(significant), significant, len(digits) - len(significant)))
        else:
            key.append((1, char))
    return key


def go_json(value) -> str:
    """encoding/json as a Go template's `json` writes it: compact, UTF-8, <>& escaped; a list row (one with
    `json_fields`) becomes the object of its display fields, sorted by name, as docker's formatter makes it."""
    if hasattr(value, "json_fields"):
        value = {name: getattr(value, name) for name in sorted(value.json_fields)}
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_rows(template: str, items: list, out, headers: dict | None = None) -> None:
    """`--format`: `table ...` gives a header row (from the field names) and tabwriter alignment; `json` is
    `{{json .}}`."""
    if template == "json":
        template = "{{json .}}"
    if template.startswith("table"):
        body = template[len("table"):].strip() or None
        if body is None:
            return
        header_ctx = _Header(headers or {})
        rows = [render(body, header_ctx).split("\t")] + [render(body, it).split("\t") for it in items]
        table(rows, out)
        return
    for it in items:
        out.write(render(template, it) + "\n")


class _Header:
    """Renders `{{.ImageID}}` as `IMAGE ID`: docker's column headers."""

    HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
               "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE",
               "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "CreatedSince": "CREATED",
               "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "State": "STATE"}

    def __init__(self, overrides: dict):
        self.overrides = overrides

    def call(self, name, args):
        return name.upper()

    def __getattr__(self, name):
        if name in self.overrides:
            return self.overrides[name]
        return self.HEADERS.get(name, re.sub(r"(?<!^)(?=[A-Z])", " ", name).upper())


def rfc3339_to_unix(s: str) -> float:
    return parse_rfc3339(s)


def go_time_string(rfc3339: str) -> str:
    """Go's time.String() of a UTC RFC 3339 time: `2024-01-02 15:04:05.123 +0000 UTC` (zeros trimmed)."""
    if not rfc3339.endswith("Z"):
        return rfc3339
    date, _, clock = rfc3339[:-1].partition("T")
    whole, _, fraction = clock.partition(".")
    fraction = fraction.rstrip("0")
    return f"{date} {whole}{'.' + fraction if fraction else ''} +0000 UTC"


def local_time(unix_seconds: float) -> str:
    """docker's CreatedAt: `2024-01-02 15:04:05 +0000 UTC`."""
    return dt.datetime.fromtimestamp(unix_seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
