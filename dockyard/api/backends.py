"""Narrow backends per routes module (moby's api/server/router/*/backend.go).

Each routes module declares, in routes/<group>_backend.py, the `typing.Protocol` of exactly the methods it
calls and the app key it finds an implementation under. The composition root puts a service there for every
key (cmd/dockyardd/app.py, route_backends); the routes never see the services' other methods, and
tests/unit/test_route_backends.py checks that each service wired in still has every member its Protocol lists,
with the same parameters, so the seam cannot rot."""
from __future__ import annotations

from typing import TypeVar

from aiohttp import web

T = TypeVar("T")

# app key -> the Protocol its backend must satisfy (filled as the routes' backend modules are imported)
PROTOCOLS: dict[web.AppKey, type] = {}
OPTIONAL: set[web.AppKey] = set()  # keys a daemon built without some part (registry access, builder) leaves unset


def backend_key(protocol: type[T], optional: bool = False) -> web.AppKey[T]:
    """The app key of a routes module's backend. An optional one may be missing from a daemon built without
    the part that provides it (registry access, the builder); its routes say so."""
    key = web.AppKey(protocol.__name__, protocol)
    PROTOCOLS[key] = protocol
    if optional:
        OPTIONAL.add(key)
    return key
