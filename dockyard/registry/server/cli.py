"""`dockyard registry serve|garbage-collect` (a click group; the main dockyard CLI attaches it)."""
import sys

import click

from dockyard.registry.server import config as config_mod


@click.group("registry")
def registry():
    """Run dockyard's own image registry (OCI distribution spec, like registry:2)."""


@registry.command("serve")
@click.option("--listen", default=None, help="HOST:PORT to listen on (default 127.0.0.1:5000 or http.addr).")
@click.option("--storage", default=None, type=click.Path(file_okay=False), help="Storage root directory.")
@click.option("--config", "config_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="YAML configuration (auth, access rules, TLS, notifications, log, hub).")
@click.option("--hub", is_flag=True, help="Also run the Hub: accounts, organizations, rights, web hooks, web UI.")
def serve_cmd(listen, storage, config_path, hub):
    """Serve the registry API until SIGTERM/SIGINT."""
    from dockyard.registry.server.app import serve
    try:
        cfg = config_mod.load(config_path, listen=listen, storage=storage)
    except (OSError, ValueError, KeyError) as e:
        raise click.ClickException(f"invalid configuration: {e}")
    if hub:
        cfg.hub["enabled"] = True
    extensions = []
    if cfg.hub.get("enabled"):
        from dockyard.hub import config as hub_config   # the Hub sits on top of the registry; loaded only when on
        from dockyard.hub.app import setup_hub
        try:
            hub_config.load(cfg)
        except (ValueError, TypeError) as e:
            raise click.ClickException(f"invalid hub configuration: {e}")
        extensions.append(setup_hub)
    serve(cfg, extensions)


@registry.command("garbage-collect")
@click.option("--storage", default=None, type=click.Path(file_okay=False))
@click.option("--config", "config_path", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", "-d", is_flag=True, help="Only print what would be deleted.")
@click.option("--delete-untagged", "-m", is_flag=True, help="Also delete manifests no tag refers to.")
def gc_cmd(storage, config_path, dry_run, delete_untagged):
    """Delete blobs no manifest references (stop the server first)."""
    from dockyard.registry.server.gc import collect
    from dockyard.registry.server.storage import Storage
    cfg = config_mod.load(config_path, storage=storage)
    res = collect(Storage(cfg.storage), dry_run=dry_run, delete_untagged=delete_untagged)
    verb = "would delete" if dry_run else "deleted"
    for item in res.deleted_manifests:
        click.echo(f"{verb} manifest {item}")
    for digest in res.deleted:
        click.echo(f"{verb} blob {digest}")
    click.echo(f"{len(res.marked)} blobs marked, {len(res.deleted)} blobs {verb.split()[-1]}"
               f"{' (dry run)' if dry_run else ''}, {res.freed_bytes} bytes", err=False)
    sys.exit(0)


def _add_hub_commands() -> None:
    from dockyard.hub.cli import user
    registry.add_command(user, "user")


_add_hub_commands()
