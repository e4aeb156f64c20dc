"""`dockyard registry serve|garbage-collect`: a click group the command layer (dockyard/cmd/registry.py) extends
with the Hub; `python -m dockyard.registry.server` runs the registry alone."""
import sys
from typing import Callable, Iterable

import click

from dockyard.registry.server import config as config_mod

# An extension of `serve`: given the loaded configuration, the app set-up callable of a part built on top of the
# registry (the Hub), or None when that part is off. The registry never imports those parts itself.
ServeExtension = Callable[[config_mod.Config], Callable | None]


@click.command("garbage-collect")
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


def make_group(serve_extensions: Iterable[ServeExtension] = (), extra_commands: Iterable[click.Command] = ()):
    serve_extensions = list(serve_extensions)

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
        extensions = [ext for ext in (load(cfg) for load in serve_extensions) if ext is not None]
        if cfg.hub.get("enabled") and not extensions:
            raise click.ClickException("the Hub is not part of this command: run `dockyard registry serve --hub`")
        serve(cfg, extensions)

    registry.add_command(gc_cmd)
    for command in extra_commands:
        registry.add_command(command)
    return registry


registry = make_group()
