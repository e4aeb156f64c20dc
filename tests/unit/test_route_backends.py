"""The seam between the routes and the daemon (api/backends.py), checked from both sides: every backend key a
routes module declares gets a service in the composition root, and that service has every member of the key's
Protocol, with the same parameters (names, kinds, defaults) and the same sync/async kind, so a renamed or
re-shaped service method fails here instead of as a 500 on the route that calls it; and the routes call only
what their Protocols declare, as declared (mypy over api/routes, where the test dependencies are installed)."""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import dockyard.api.routes
from dockyard.api.backends import OPTIONAL, PROTOCOLS
from dockyard.cmd.dockyardd.app import ROUTE_MODULES, build_services, route_backends
from dockyard.daemon.config import DaemonConfig

for _name in ROUTE_MODULES:  # each routes module imports the backend module whose keys it uses
    importlib.import_module(f"dockyard.api.routes.{_name}")


def _members(protocol: type) -> tuple[dict[str, str], dict[str, object]]:
    """(attribute name -> its annotation, method name -> function) that the Protocol declares."""
    attributes, methods = {}, {}
    for klass in protocol.__mro__:
        if klass is object or getattr(klass, "_is_protocol", False) is False:
            continue
        attributes.update(getattr(klass, "__annotations__", {}))
        methods.update({name: fn for name, fn in vars(klass).items()
                        if callable(fn) and (not name.startswith("_") or name == "__call__")})
    return attributes, methods


def _params(fn) -> list[inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())
    return params[1:] if params and params[0].name == "self" else params


def _signature_mismatch(wanted, concrete) -> str | None:
    is_async = inspect.iscoroutinefunction(_unwrap(concrete))
    if inspect.iscoroutinefunction(wanted) != is_async:
        return "is async" if is_async else "is not async"
    have = list(inspect.signature(concrete).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in have):
        return None  # takes whatever it is given
    by_name = {p.name: p for p in have}
    for position, p in enumerate(_params(wanted)):
        q = by_name.get(p.name)
        if q is None:
            return f"no parameter {p.name}"
        if q.kind != p.kind or (p.kind is p.POSITIONAL_OR_KEYWORD and have.index(q) != position):
            return f"parameter {p.name} is {q.kind.description} at {have.index(q)}"
        if (p.default is p.empty) != (q.default is q.empty) or (p.default is not p.empty and p.default != q.default):
            return f"parameter {p.name} defaults to {q.default!r}, not {p.default!r}"
    extra = [q.name for q in have if q.name not in {p.name for p in _params(wanted)}
             and q.default is q.empty and q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD)]
    return f"requires {', '.join(extra)}" if extra else None


def _unwrap(fn):
    return fn.func if hasattr(fn, "func") and hasattr(fn, "args") else fn  # functools.partial


def unmet(protocol: type, backend: object, path: str = "") -> list[str]:
    """What `backend` lacks of `protocol`: one line per missing or differently shaped member."""
    path = path or protocol.__name__
    found = []
    attributes, methods = _members(protocol)
    module = vars(sys.modules[protocol.__module__])
    for name, annotation in attributes.items():
        value = getattr(backend, name, None)
        if value is None:
            found.append(f"{path}.{name}: missing")
            continue
        member_protocol = module.get(annotation) if isinstance(annotation, str) else annotation
        if isinstance(member_protocol, type) and getattr(member_protocol, "_is_protocol", False):
            found += unmet(member_protocol, value, f"{path}.{name}")
    for name, wanted in methods.items():
        concrete = backend if name == "__call__" else getattr(backend, name, None)
        if not callable(concrete):
            found.append(f"{path}.{name}: missing")
        elif (why := _signature_mismatch(wanted, concrete)) is not None:
            found.append(f"{path}.{name}: {why}")
    return found


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    root = tmp_path_factory.mktemp("daemon")
    svc = build_services(DaemonConfig(data_root=root / "data", exec_root=root / "exec"))
    yield route_backends(svc)
    svc.md.close()


def test_every_backend_key_is_wired(backends):
    assert {str(key) for key in PROTOCOLS} - {str(key) for key in backends} == set()
    assert OPTIONAL < set(PROTOCOLS)


@pytest.mark.parametrize("key", list(PROTOCOLS), ids=str)
def test_each_service_satisfies_its_routes_protocol(backends, key):
    assert unmet(PROTOCOLS[key], backends[key]) == []


class Volumes:
    store = SimpleNamespace()

    def list(self, filters): ...

    async def create(self, body): ...  # async where the routes expect a plain call

    def prune(self, filters, all_): ...  # a parameter the routes do not pass

    def inspect(self, ref): ...  # another name

    def remove(self, name, force=True): ...  # another default


def test_unmet_names_what_differs():
    from dockyard.api.routes.containers_backend import ContainerBackend
    from dockyard.api.routes.volumes_backend import VolumeBackend

    assert unmet(VolumeBackend, Volumes()) == [
        "VolumeBackend.create: is async", "VolumeBackend.prune: requires all_",
        "VolumeBackend.inspect: no parameter name",
        "VolumeBackend.remove: parameter force defaults to True, not False"]
    partial = SimpleNamespace(store=SimpleNamespace(get=lambda ref: None), files=None)
    problems = unmet(ContainerBackend, partial)
    assert "ContainerBackend.monitors: missing" in problems and "ContainerBackend.files: missing" in problems
    assert "ContainerBackend.store.get: missing" not in problems and "ContainerBackend.start: missing" in problems


def test_routes_call_only_what_their_protocols_declare(tmp_path):
    """A route calling a method its Protocol lacks, or with arguments the Protocol does not take, would find it
    on today's service and so pass the test above: the type checker sees it. Only the findings about a backend
    Protocol count here; the routes' other typing is not this test's business."""
    mypy = pytest.importorskip("mypy.api")
    routes_dir = Path(dockyard.api.routes.__file__).parent
    out, err, _ = mypy.run([*map(str, sorted(routes_dir.glob("*.py"))), "--follow-imports=silent",
                            "--ignore-missing-imports", "--disable-error-code=type-abstract", "--no-error-summary",
                            "--cache-dir", str(tmp_path)])
    names = {f'"{name}"' for module_name, module in list(sys.modules.items())
             if module_name.startswith("dockyard.api.routes.") and module_name.endswith("_backend")
             for name, value in vars(module).items() if getattr(value, "_is_protocol", False)}
    assert '"ContainerLookup"' in names and '"ContainerBackend"' in names
    assert [line for line in out.splitlines() if any(name in line for name in names)] == [], err
