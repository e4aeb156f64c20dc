"""Registry commands: pull, push, login, logout, search. Logins live in ~/.docker/config.json, shared with docker."""
from __future__ import annotations

import sys
from urllib.parse import quote

import click

from ..client.api import encode_auth
from ..image import reference
from ..registry.client.dockercfg import DockerConfigFile
from .common import client, fail, parse_filters
from .flagtypes import GoInt
from .format import table


def registry_of(name: str) -> str:
    domain = reference.parse(name).domain
    return "https://index.docker.io/v1/" if domain == "docker.io" else domain


def auth_header(name: str) -> dict:
    auth = DockerConfigFile().get(registry_of(name))
    return {"X-Registry-Auth": encode_auth(auth)} if auth.get("username") or auth.get("identitytoken") else {}


def render_progress(messages, out, quiet: bool = False) -> None:
    """docker's progress, without the redrawing: each layer's final state, then Digest/Status lines."""
    for msg in messages:
        status, ident = msg.get("status", ""), msg.get("id")
        if quiet or status in ("Downloading", "Extracting", "Pushing", "Waiting", "Verifying Checksum"):
            continue
        out.write(f"{ident}: {status}\n" if ident else f"{status}\n")
        out.flush()


def pull_image(name: str, platform: str | None = None, all_tags: bool = False, quiet: bool = False, out=None):
    out = out or sys.stdout
    ref = reference.parse(name, default_tag=not all_tags)
    params = {"fromImage": f"{ref.domain}/{ref.path}" if ref.domain != "docker.io" else ref.path,
              "tag": ref.digest or ref.tag or "", "platform": platform}
    render_progress(client().json_stream("POST", "/images/create", params, headers=auth_header(name)), out, quiet)
    shown = name if all_tags else (f"{ref.full()}" if not ref.digest else f"{ref.domain}/{ref.path}@{ref.digest}")
    out.write(shown + "\n")


@click.command("pull")
@click.argument("name")
@click.option("-a", "--all-tags", is_flag=True)
@click.option("--platform")
@click.option("-q", "--quiet", is_flag=True)
def pull(name, all_tags, platform, quiet):
    """Download an image from a registry"""
    pull_image(name, platform, all_tags, quiet)


@click.command("push")
@click.argument("name")
@click.option("-a", "--all-tags", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
def push(name, all_tags, quiet):
    """Upload an image to a registry"""
    ref = reference.parse(name, default_tag=not all_tags)
    repo = ref.repository()
    messages = client().json_stream("POST", f"/images/{quote(repo, safe='/:')}/push", {"tag": ref.tag},
                                    headers=auth_header(name) or {"X-Registry-Auth": encode_auth({})})
    render_progress(messages, sys.stdout, quiet)
    if quiet:
        click.echo(name)


@click.command("login")
@click.argument("server", required=False)
@click.option("-u", "--username")
@click.option("-p", "--password")
@click.option("--password-stdin", is_flag=True)
def login(server, username, password, password_stdin):
    """Authenticate to a registry"""
    server = server or "https://index.docker.io/v1/"
    if password_stdin:
        if password:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
        if not username:
            fail("the --password-stdin option requires --username to be set")
        password = sys.stdin.read().rstrip("\n")
    if (not username or not password) and not sys.stdin.isatty():
        fail("Error: Cannot perform an interactive login from a non TTY device")
    if not username:
        username = click.prompt("Username")
    if not password:
        password = click.prompt("Password", hide_input=True)
    result = client().post("/auth", {"username": username, "password": password, "serveraddress": server}) or {}
    stored = {"username": username, "password": password}
    if result.get("IdentityToken"):
        stored = {"username": username, "identitytoken": result["IdentityToken"]}  # docker keeps `user:` too
    DockerConfigFile().store(server, stored)
    click.echo(result.get("Status", "Login Succeeded"))


@click.command("logout")
@click.argument("server", required=False)
def logout(server):
    """Log out from a registry"""
    server = server or "https://index.docker.io/v1/"
    if DockerConfigFile().erase(server):
        click.echo(f"Removing login credentials for {server.replace('https://', '').rstrip('/') if server != 'https://index.docker.io/v1/' else server}")
    else:
        click.echo(f"Not logged in to {server}")


@click.command("search")
@click.argument("term")
@click.option("--limit", type=GoInt())
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt")
def search(term, limit, filters, no_trunc, fmt):
    """Search registries for images"""
    results = client().request("GET", "/images/search", params={"term": term, "limit": limit,
                                                                "filters": parse_filters(filters)},
                               headers=auth_header(term if "/" in term else "docker.io/" + term)).json()
    rows = [["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]]
    for r in results:
        desc = r.get("description", "").replace("\n", " ")
        if not no_trunc and len(desc) > 45:
            desc = desc[:44] + "…"
        rows.append([r["name"], desc, str(r.get("star_count", 0)), "[OK]" if r.get("is_official") else ""])
    table(rows, sys.stdout)


def register(cli):
    for cmd in (pull, push, login, logout, search):
        cli.add_command(cmd)
    from .images import image_group
    image_group.add_command(pull)
    image_group.add_command(push)
