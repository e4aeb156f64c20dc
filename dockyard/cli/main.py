"""`dockyard`: the command line. Each area's commands live in their own module and register here
(dockyard/cmd/dockyard.py adds the daemon and registry subcommands on top)."""
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


for module in (system, images, containers, networks, volumes, resources, registry, build, compose, kube):
    module.register(cli)

