"""Dependencies point down only (DESIGN.md, "Where the code goes next"): every module of dockyard/ is parsed
and each import of a dockyard module, relative ones resolved and `importlib.import_module` / `__import__`
string arguments included, must land in a layer its own layer is allowed to use.

Layers, bottom to top: the helpers at the package root (errors, units, timefmt, stdcopy, blocking, ...) <
store < image, runtime, network, volume < registry < build < daemon < api < cmd; the registry < hub;
the root < client < kube < cli < cmd. A new package has to be placed here before it can import anything."""
from __future__ import annotations

import ast
from pathlib import Path

import dockyard

PACKAGE_DIR = Path(dockyard.__file__).parent
ROOT = "<root>"  # dockyard/*.py: stdlib-only helpers every layer may use

_DRIVERS = {ROOT, "store"}
_ENGINE_BELOW_BUILD = _DRIVERS | {"image", "runtime", "network", "volume", "registry"}
_DAEMON_USES = _ENGINE_BELOW_BUILD | {"build"}

# package -> the packages its modules may import (itself included). Spelled out, not computed, on purpose.
ALLOWED: dict[str, set[str]] = {
    ROOT: {ROOT},
    "store": {ROOT, "store"},
    "image": _DRIVERS | {"image"},
    "runtime": _DRIVERS | {"runtime"},
    "network": _DRIVERS | {"network"},
    "volume": _DRIVERS | {"volume"},
    "registry": _DRIVERS | {"image", "registry"},
    "hub": {ROOT, "registry", "hub"},
    "build": _ENGINE_BELOW_BUILD | {"build"},
    "daemon": _DAEMON_USES | {"daemon"},
    "api": _DAEMON_USES | {"daemon", "api"},
    "client": {ROOT, "client"},
    "kube": {ROOT, "client", "kube"},
    # The CLI talks to a daemon only through the client; like the docker CLI (which vendors moby's parsers) it
    # shares the pure parsers of a few lower packages: .dockerignore, image references, port specs, config.json.
    "cli": {ROOT, "client", "kube", "cli", "build", "image", "network", "registry"},
    # The composition roots: the daemon's wiring, the CLI with its daemon/registry subcommands, the Hub plug-in.
    "cmd": {ROOT, "store", "image", "runtime", "network", "volume", "registry", "hub", "build", "daemon", "api",
            "client", "kube", "cli", "cmd"},
}
# `python -m dockyard` is the CLI's entry point, so it sits with the commands.
ENTRY_POINTS = {"dockyard.__main__": "cmd"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in ENTRY_POINTS:
        return ENTRY_POINTS[module]
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT  # `dockyard` itself (__version__)
    if (PACKAGE_DIR / parts[1]).is_dir():
        return parts[1]
    return ROOT


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _string_prefix(node: ast.AST) -> str | None:
    """A module name given as a string, or the constant head of an f-string (`f"dockyard.api.routes.{x}"`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value
    return None


def imports_of(module: str, is_package: bool, source: str) -> list[tuple[int, str]]:
    """(line, imported dockyard module) for every import the module makes, static or dynamic."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module) if node.level else node.module
            # `from . import x` names submodules: each one counts
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            name = _string_prefix(node.args[0]) if called in ("import_module", "__import__") else None
            if name and name.startswith("."):
                name = _resolve(module, is_package, len(name) - len(name.lstrip(".")), name.lstrip(".") or None)
            if name:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name == "dockyard" or name.startswith("dockyard.")]


def violations_in(module: str, is_package: bool, source: str) -> list[str]:
    layer = layer_of(module)
    allowed = ALLOWED[layer]
    return [f"{module}:{line} ({layer}) imports {name} ({layer_of(name)})"
            for line, name in imports_of(module, is_package, source) if layer_of(name) not in allowed]


def test_every_package_has_a_place_in_the_map():
    packages = {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").exists()}
    assert packages - set(ALLOWED) == set()


def test_no_package_imports_a_layer_above_it():
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        found += violations_in(module_name(path), path.name == "__init__.py", path.read_text())
    assert found == []


def test_the_check_sees_relative_and_dynamic_imports():
    """The checker itself: an upward import written each way is caught, a downward one is not."""
    assert violations_in("dockyard.daemon.x", False, "from ..api.streams import frame")
    assert violations_in("dockyard.daemon.x", False, "from .. import api")
    assert violations_in("dockyard.build.x", False, "import dockyard.daemon.images")
    assert violations_in("dockyard.store.x", False, "import importlib\nimportlib.import_module('dockyard.cmd')")
    assert violations_in("dockyard.cli.x", False, "m = __import__('dockyard.daemon.main')")
    assert violations_in("dockyard.daemon", True, "import importlib\nimportlib.import_module(f'dockyard.api.{n}')")
    assert violations_in("dockyard.registry.server.cli", False, "from ...hub import app")
    assert violations_in("dockyard.errors", False, "from .store import metadata")
    assert not violations_in("dockyard.daemon.x", False, "from ..stdcopy import frame\nfrom .images import X")
    assert not violations_in("dockyard.cmd.dockyardd.app", False, "from ...api import router")
