"""`dockyard`: the command line. Each area's commands live in their own module and register here."""
from __future__ import annotations

import click

from . import build, compose, containers, images, kube, networks, registry, resources, system, volumes
from .group import DockerGroup

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


@click.group(cls=DockerGroup, context_settings=CONTEXT)
@click.option("-H", "--host", envvar="DOCKER_HOST", help="Daemon socket to connect to")
@click.pass_context
def cli(ctx, host):
    """A Docker-compatible container engine."""
    ctx.obj = {"host": host}


def _attach_optional(group: click.Group) -> None:
    """The daemon and the registry server are other packages' commands; the CLI works without them."""
    try:
        from ..daemon.main import daemon_command
        group.add_command(daemon_command, "daemon")
    except ImportError:
        pass
    try:
        from ..registry.server.cli import registry as registry_group
        group.add_command(registry_group, "registry")
    except ImportError:
        pass


for module in (system, images, containers, networks, volumes, resources, registry, build, compose, kube):
    module.register(cli)
_attach_optional(cli)


def main() -> None:
    cli(prog_name="dockyard")
