"""`dockyard volume create/ls/inspect/rm/prune`, with docker's flags and output."""
from __future__ import annotations

import sys

import click

from .group import DockerGroup
from .common import (client, confirm_or_exit, each_name, inspect_objects, key_values, parse_filters, print_deleted,
                     print_reclaimed)
from ..units import human_size
from .format import render_rows, table
from .sortorder import natural_key


class VolumeRow:
    """The fields `volume ls --format` knows ("N/A" where docker has nothing to show: cluster volumes' fields,
    and usage, which only `system df -v` computes)."""

    json_fields = ("Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size",
                   "Status")

    def __init__(self, v: dict):
        self.raw = v
        self.Name, self.Driver, self.Scope = v["Name"], v["Driver"], v.get("Scope", "local")
        self.Mountpoint = v.get("Mountpoint", "")
        self.Labels = ",".join(f"{k}={val}" for k, val in (v.get("Labels") or {}).items())
        usage = v.get("UsageData")
        self.Links = str(usage["RefCount"]) if usage else "N/A"
        self.Size = human_size(usage["Size"]) if usage and usage.get("Size", -1) >= 0 else "N/A"
        self.Availability = self.Group = self.Status = "N/A"

    def call(self, name, args):
        return (self.raw.get("Labels") or {}).get(args[0], "") if name == "Label" else ""


@click.command("create")
@click.argument("name", required=False)
@click.option("-d", "--driver", default="local")
@click.option("--label", multiple=True)
@click.option("-o", "--opt", multiple=True)
def volume_create(name, driver, label, opt):
    """Create a volume"""
    body = {"Name": name or "", "Driver": driver, "Labels": key_values(label, "--label", require_value=False),
            "DriverOpts": key_values(opt, "--opt")}
    click.echo(client().post("/volumes/create", body)["Name"])


@click.command("ls")
@click.option("-q", "--quiet", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
def volume_ls(quiet, filters, fmt):
    """List volumes"""
    rows = [VolumeRow(v) for v in client().get("/volumes", filters=parse_filters(filters)).get("Volumes") or []]
    rows.sort(key=lambda r: natural_key(r.Name))
    if quiet:
        for r in rows:
            click.echo(r.Name)
    elif fmt and fmt != "table":  # bare `table` is the default table
        render_rows(fmt, rows, sys.stdout, {"Name": "VOLUME NAME"})
    else:
        table([["DRIVER", "VOLUME NAME"]] + [[r.Driver, r.Name] for r in rows], sys.stdout)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt")
def volume_inspect(names, fmt):
    """Display detailed information on one or more volumes"""
    inspect_objects(lambda n: client().get(f"/volumes/{n}"), names, fmt)


@click.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True)
def volume_rm(names, force):
    """Remove one or more volumes"""
    for name in each_name(names, lambda n: client().delete(f"/volumes/{n}", force="1" if force else None)):
        click.echo(name)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused volumes, not just anonymous ones")
@click.option("-f", "--force", is_flag=True)
@click.option("--filter", "filters", multiple=True)
def volume_prune(all_, force, filters):
    """Remove unused local volumes"""
    confirm_or_exit(force, "WARNING! This will remove all local volumes not used by at least one container."
                    if all_ else "WARNING! This will remove anonymous local volumes not used by at least one container.")
    result = client().post("/volumes/prune", filters=parse_filters([*filters, *(["all=true"] if all_ else [])]))
    print_deleted("Volumes", result.get("VolumesDeleted") or [])
    print_reclaimed(result.get("SpaceReclaimed", 0))


@click.group("volume", cls=DockerGroup)
def volume_group():
    """Manage volumes"""


def register(cli):
    for cmd, name in ((volume_create, "create"), (volume_ls, "ls"), (volume_inspect, "inspect"), (volume_rm, "rm"),
                      (volume_prune, "prune")):
        volume_group.add_command(cmd, name)
    volume_group.add_command(volume_ls, "list")
    volume_group.add_command(volume_rm, "remove")
    cli.add_command(volume_group)
