"""`dockyard`: the CLI with the daemon and the registry server attached as subcommands (the CLI itself
talks to a daemon only through the client, so it never imports them)."""
from __future__ import annotations

import click

from ..cli.main import cli


def _attach_optional(group: click.Group) -> None:
    """The daemon and the registry server may be left out of a build; the CLI works without them."""
    try:
        from .dockyardd import daemon_command
        group.add_command(daemon_command, "daemon")
    except ImportError:
        pass
    try:
        from .registry import registry
        group.add_command(registry, "registry")
    except ImportError:
        pass


_attach_optional(cli)


def main() -> None:
    cli(prog_name="dockyard")
