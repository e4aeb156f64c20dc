"""`dockyard registry user add|rm|passwd|ls --storage DIR`: the Hub's accounts, for administrators. Works while
the server runs (the database is SQLite in WAL mode; the server reads accounts from it on every sign-in)."""
import sys

import click

from dockyard.hub import config as hub_config
from dockyard.hub.accounts import AccountError, Accounts
from dockyard.hub.store import Conflict, Store
from dockyard.registry.server import config as config_mod


def _accounts(storage, config_path) -> Accounts:
    try:
        cfg = config_mod.load(config_path, storage=storage)
        hub_cfg = hub_config.load(cfg)
    except (OSError, ValueError, KeyError) as e:
        raise click.ClickException(f"invalid configuration: {e}")
    return Accounts(Store(hub_cfg.database), hub_cfg)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


_storage = click.option("--storage", default=None, type=click.Path(file_okay=False), help="Storage root directory.")
_config = click.option("--config", "config_path", default=None, type=click.Path(exists=True, dir_okay=False),
                       help="The registry's YAML configuration.")


@click.group("user")
def user():
    """Manage the Hub's user accounts (the registry's sign-ins with --hub)."""


@user.command("add")
@click.argument("username")
@_storage
@_config
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--email", default="", help="The user's email address.")
def add_cmd(username, storage, config_path, password_stdin, email):
    """Create an account."""
    accounts = _accounts(storage, config_path)
    try:
        accounts.create_user(username, _read_password(password_stdin), email=email)
    except (AccountError, Conflict) as e:
        raise click.ClickException(str(e))
    click.echo(f"user {username} added")


@user.command("rm")
@click.argument("username")
@_storage
@_config
def rm_cmd(username, storage, config_path):
    """Delete an account (its repositories stay)."""
    if not _accounts(storage, config_path).store.delete_user(username):
        raise click.ClickException(f"no such user: {username}")
    click.echo(f"user {username} removed")


@user.command("passwd")
@click.argument("username")
@_storage
@_config
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
def passwd_cmd(username, storage, config_path, password_stdin):
    """Set an account's password (signs it out of the web UI; JWTs and logins with the old one stop working)."""
    accounts = _accounts(storage, config_path)
    if accounts.store.get_user(username) is None:
        raise click.ClickException(f"no such user: {username}")
    try:
        accounts.set_password(username, _read_password(password_stdin))
    except AccountError as e:
        raise click.ClickException(str(e))
    click.echo(f"password of {username} changed")


@user.command("ls")
@_storage
@_config
def ls_cmd(storage, config_path):
    """List accounts."""
    import datetime
    rows = _accounts(storage, config_path).store.list_users()
    click.echo(f"{'USERNAME':<30} {'EMAIL':<30} CREATED")
    for row in rows:
        created = datetime.datetime.fromtimestamp(row["created"], datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{row['name']:<30} {row['email']:<30} {created}")
