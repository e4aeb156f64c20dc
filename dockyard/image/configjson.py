"""An image config as stored and hashed: compact JSON, keys in the order given, UTF-8 (the image ID is the
sha256 of these bytes, so every writer must produce them the same way).

A config carries the whole history of its image: a 10,000-step build's is a megabyte. A child's config is its
parent's history plus one entry, so the writers that chain images (the builder) keep the history as encoded
bytes and append to it (`append_history`, `encode_with_history`), and readers that need one member (a
container create needs `config`) take it without decoding the rest (`member`). Both give exactly what
`canonical_json` and `json.loads` give."""
from __future__ import annotations

import codecs
import json
import re

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def canonical_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def history_items(history: list) -> bytes:
    """A history list encoded as canonical_json does, without its brackets (the form append_history extends)."""
    return canonical_json(history)[1:-1]


def append_history(items: bytes, entry: dict) -> bytes:
    return b"".join((items, b",", canonical_json(entry))) if items else canonical_json(entry)


def encode_with_history(cfg: dict, items: bytes) -> bytes:
    """canonical_json(cfg) with cfg["history"] (a placeholder that keeps the key's place) being the history whose
    encoded items are `items`: only the small members are encoded, the history is copied in as bytes."""
    keys = list(cfg)
    at = keys.index("history")
    head = canonical_json({k: cfg[k] for k in keys[:at]})[:-1] + b"," if at else b"{"
    rest = canonical_json({k: cfg[k] for k in keys[at + 1:]})
    tail = b"]," + rest[1:] if len(keys) > at + 1 else b"]}"
    return b"".join((head, b'"history":[', items, tail))  # one copy of the megabyte, not one per +


def member(data: bytes, key: str, prefix: int = 65536):
    """json.loads(data).get(key) of a JSON object, decoding only the members up to `key` (the first one of
    that name: duplicate keys, which no engine writes, would give the last with json.loads). The text is
    decoded from the first `prefix` bytes when the member ends within them."""
    if len(data) > prefix:
        try:  # strict UTF-8; a character cut at the end waits for bytes that never come: the scan stops first
            return _member(codecs.getincrementaldecoder("utf-8")().decode(data[:prefix]), key)
        except (ValueError, IndexError):
            pass  # past the prefix (or broken): the whole text
    text = data.decode()
    try:
        return _member(text, key)
    except (ValueError, IndexError):  # not an object, or broken: the full decoder says what is wrong
        value = json.loads(text)
        return value.get(key) if isinstance(value, dict) else None


def _member(s: str, key: str):
    i = _SPACE.match(s, 0).end()
    if s[i] != "{":
        raise ValueError("not an object")
    i = _SPACE.match(s, i + 1).end()
    if s[i] == "}":
        return None
    while True:
        if s[i] != '"':
            raise ValueError("expected a member name")
        name, i = json.decoder.scanstring(s, i + 1)
        i = _SPACE.match(s, i).end()
        if s[i] != ":":
            raise ValueError("expected ':'")
        value, i = _DECODER.raw_decode(s, _SPACE.match(s, i + 1).end())
        if name == key:
            return value
        i = _SPACE.match(s, i).end()
        if s[i] == "}":
            return None
        if s[i] != ",":
            raise ValueError("expected ',' or '}'")
        i = _SPACE.match(s, i + 1).end()
