"""`dockyard registry`: the registry server's commands with the Hub, which sits on top of it, plugged in."""
from __future__ import annotations

from ..registry.server.cli import make_group


def _hub_extension(cfg):
    """The Hub's app set-up when the configuration (or --hub) turns it on; loaded only then."""
    if not cfg.hub.get("enabled"):
        return None
    import click

    from ..hub import config as hub_config
    from ..hub.app import setup_hub
    try:
        hub_config.load(cfg)
    except (ValueError, TypeError) as e:
        raise click.ClickException(f"invalid hub configuration: {e}")
    return setup_hub


def _hub_commands():
    from ..hub.cli import user
    return [user]


registry = make_group([_hub_extension], _hub_commands())
