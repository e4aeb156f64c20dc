"""An image config as stored and hashed: compact JSON, keys in the order given, UTF-8 (the image ID is the
sha256 of these bytes, so every writer must produce them the same way)."""
from __future__ import annotations

import json


def canonical_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
