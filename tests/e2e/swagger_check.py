"""Checking JSON bodies against the Engine API swagger (v1.50.yaml), as an SDK generated from it reads them.

Swagger 2.0 has no `nullable`; moby's spec says it with `x-nullable`. Go marshals a nil slice, map or
pointer as `null`, so an array or object without an `x-nullable` mark may be null; one marked
`x-nullable: false` may not, and neither may a string, number or boolean unless marked `x-nullable: true`.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

SPEC = Path("/work/shared/reference/engine-api/v1.50.yaml")

# RFC 3339 as Go's time.Time marshals it: seconds, optional fraction, Z or an offset.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
UINT_RANGES = {"uint8": 2**8, "uint16": 2**16, "uint32": 2**32, "uint64": 2**64}


@lru_cache(maxsize=1)
def spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def definition(name: str) -> dict:
    return spec()["definitions"][name]


def response_schema(path: str, method: str = "get", status: str = "200") -> dict:
    return spec()["paths"][path][method]["responses"][int(status)]["schema"]  # YAML reads 200 as an int


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = definition(schema["$ref"].rsplit("/", 1)[1])
    return schema


def kind(schema: dict) -> str | None:
    if "type" in schema:
        return schema["type"]
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    return None


def may_be_null(schema: dict) -> bool:
    if "x-nullable" in schema:
        return bool(schema["x-nullable"])
    return kind(schema) in ("array", "object", None)


def check(schema: dict, value, where: str = "$", moby_nulls: frozenset = frozenset()) -> list[str]:
    """Every way `value` breaks `schema`, as 'path: problem' lines (empty when it conforms). `moby_nulls`:
    paths where moby itself sends null against its spec's word, so a faithful engine does too."""
    outer = schema
    schema = resolve(schema)
    if "allOf" in schema:
        return [p for part in schema["allOf"] for p in check(part, value, where, moby_nulls)]
    if value is None:
        ok = may_be_null(outer) if "x-nullable" in outer else may_be_null(schema)
        ok = ok or where in moby_nulls
        return [] if ok else [f"{where}: null, schema says {kind(schema)} (not nullable)"]
    problems = type_problems(schema, value, where)
    if problems:
        return problems
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    if kind(schema) == "object":
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}.{name}: required, missing")
        for name, sub in props.items():
            sub_resolved = resolve(sub)
            not_nullable = sub.get("x-nullable") is False or sub_resolved.get("x-nullable") is False
            if name not in value and not_nullable and not sub.get("x-omitempty"):
                problems.append(f"{where}.{name}: x-nullable: false, missing")
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in props:
                problems += check(props[name], item, f"{where}.{name}", moby_nulls)
            elif isinstance(extra, dict):
                problems += check(extra, item, f"{where}[{name!r}]", moby_nulls)
    elif kind(schema) == "array" and "items" in schema:
        for i, item in enumerate(value):
            problems += check(schema["items"], item, f"{where}[{i}]", moby_nulls)
    return problems


def is_time(schema: dict) -> bool:
    """A time by its format, or (StartedAt, FinishedAt, SystemTime, BuildTime) by its documented example."""
    example = schema.get("example")
    return schema.get("format") in ("dateTime", "date-time") or (
        isinstance(example, str) and RFC3339.match(example) is not None)


def type_problems(schema: dict, value, where: str) -> list[str]:
    t, fmt = kind(schema), schema.get("format")
    is_int = isinstance(value, int) and not isinstance(value, bool)
    wrong = {
        "object": not isinstance(value, dict),
        "array": not isinstance(value, list),
        "string": not isinstance(value, str),
        "integer": not is_int,
        "number": not (is_int or isinstance(value, float)),
        "boolean": not isinstance(value, bool),
    }.get(t, False)
    if wrong:
        return [f"{where}: {type(value).__name__} {value!r:.60}, schema says {t}"]
    if t == "string" and is_time(schema) and not RFC3339.match(value):
        return [f"{where}: {value!r} is not an RFC 3339 time"]
    if t == "integer" and fmt in UINT_RANGES and not 0 <= value < UINT_RANGES[fmt]:
        return [f"{where}: {value} out of {fmt} range"]
    return []


# Keys dockyard sends on purpose though the spec has none (docs/CONTRACTS.md says why), by response.
DELIBERATE_EXTRAS = {
    "/images/{name}/json": {"$.Container", "$.ContainerConfig"},  # docker-compose 1.x reads ContainerConfig
}


def undocumented(schema: dict, value, where: str = "$") -> set[str]:
    """Paths of object keys in `value` that `schema` does not document (check() lets them pass)."""
    schema = resolve(schema)
    if "allOf" in schema:
        found = [undocumented(part, value, where) for part in schema["allOf"]]
        return set.intersection(*found) if found else set()
    out: set[str] = set()
    if isinstance(value, dict) and kind(schema) == "object":
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for name, item in value.items():
            if name in props:
                out |= undocumented(props[name], item, f"{where}.{name}")
            elif isinstance(extra, dict):
                out |= undocumented(extra, item, f"{where}[{name!r}]")
            elif not extra:
                out.add(f"{where}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out |= undocumented(schema["items"], item, f"{where}[{i}]")
    return out
