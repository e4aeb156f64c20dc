"""version, info, system df, events."""
from __future__ import annotations

import json
import platform
import sys

import click

from .. import __version__
from ..client.api import API_VERSION
from .group import DockerGroup
from .common import client, confirm_or_exit, image_prune_lines, parse_filters, print_deleted, print_reclaimed
from ..units import human_size
from .disk_usage import summary_rows, verbose_sections
from .format import render, render_rows, table


@click.command("version")
@click.option("-f", "--format", "fmt")
def version(fmt):
    """Show the dockyard version information"""
    server = client().get("/version")
    if fmt:
        click.echo(render(fmt, {"Client": {"Version": __version__, "ApiVersion": API_VERSION}, "Server": server}))
        return
    click.echo(f"Client:\n Version:           {__version__}\n API version:       {API_VERSION}\n"
               f" Python version:    {platform.python_version()}\n OS/Arch:           linux/{server.get('Arch', '')}\n")
    click.echo(f"Server: {server.get('Platform', {}).get('Name', '')}")
    for comp in server.get("Components", []):
        click.echo(f" {comp['Name']}:\n  Version:          {comp['Version']}")
        details = comp.get("Details", {})
        if "ApiVersion" in details:
            click.echo(f"  API version:      {details['ApiVersion']} (minimum version {details.get('MinAPIVersion')})")
            click.echo(f"  OS/Arch:          {details.get('Os')}/{details.get('Arch')}")


@click.command("info")
@click.option("-f", "--format", "fmt")
def info(fmt):
    """Display system-wide information"""
    i = client().get("/info")
    if fmt:
        click.echo(render(fmt, i))
        return
    lines = [
        "Server:", f" Containers: {i['Containers']}", f"  Running: {i['ContainersRunning']}",
        f"  Paused: {i['ContainersPaused']}", f"  Stopped: {i['ContainersStopped']}", f" Images: {i['Images']}",
        f" Server Version: {i['ServerVersion']}", f" Storage Driver: {i['Driver']}",
        f" Logging Driver: {i['LoggingDriver']}", f" Cgroup Driver: {i['CgroupDriver']}",
        f" Cgroup Version: {i['CgroupVersion']}", f" Runtimes: {' '.join(i['Runtimes'])}",
        f" Default Runtime: {i['DefaultRuntime']}", f" Kernel Version: {i['KernelVersion']}",
        f" Operating System: {i['OperatingSystem']}", f" OSType: {i['OSType']}",
        f" Architecture: {i['Architecture']}", f" CPUs: {i['NCPU']}",
        f" Total Memory: {i['MemTotal'] / 1024 ** 3:.2f}GiB", f" Name: {i['Name']}", f" ID: {i['ID']}",
        f" Docker Root Dir: {i['DockerRootDir']}", f" Debug Mode: {str(i['Debug']).lower()}",
        f" Live Restore Enabled: {str(i['LiveRestoreEnabled']).lower()}",
    ]
    click.echo("\n".join(lines))


@click.group("system", cls=DockerGroup)
def system_group():
    """Manage dockyard"""


class DiskUsageRow:
    """One line of `system df`, with the fields its --format knows (the docker CLI's diskUsage*Context)."""

    json_fields = ("Type", "TotalCount", "Active", "Size", "Reclaimable")
    headers = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
               "Reclaimable": "RECLAIMABLE"}

    def __init__(self, cells: list[str]):
        for name, cell in zip(self.json_fields, cells):
            setattr(self, name, cell)


@system_group.command("df")
@click.option("-v", "--verbose", is_flag=True)
@click.option("--format", "fmt")
def system_df(verbose, fmt):
    """Show dockyard disk usage"""
    df = client().get("/system/df")
    if not verbose and fmt and fmt != "table":
        rows = [DiskUsageRow(cells) for cells in summary_rows(df)[1:]]
        render_rows(fmt, rows, sys.stdout, DiskUsageRow.headers)
        return
    if not verbose:
        table(summary_rows(df), sys.stdout)
        return
    for title, rows in verbose_sections(df):
        click.echo(title + "\n")
        table(rows, sys.stdout)
        click.echo()
    cache = df.get("BuildCache") or []
    click.echo(f"Build cache usage: {human_size(sum(c.get('Size', 0) for c in cache), 4)}\n")
    table([["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"]], sys.stdout)


@click.command("events")
@click.option("--since")
@click.option("--until")
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
def events(since, until, filters, fmt):
    """Get real time events from the server"""
    resp = client().stream("GET", "/events", {"since": since, "until": until, "filters": parse_filters(filters)})
    try:
        for line in resp.iter_lines():
            if not line.strip():
                continue
            ev = json.loads(line)
            attrs = ev["Actor"]["Attributes"] = dict(sorted((ev["Actor"].get("Attributes") or {}).items()))
            if fmt:  # Go sorts a map's keys when it writes one, as in {{json .}}
                click.echo(render("{{json .}}" if fmt == "json" else fmt, ev))
                continue
            attr_text = ", ".join(f"{k}={v}" for k, v in attrs.items())
            from ..timefmt import rfc3339
            click.echo(f"{rfc3339(ev['timeNano'])} {ev['Type']} {ev['Action']} {ev['Actor']['ID']}"
                       + (f" ({attr_text})" if attr_text else ""))
    finally:
        resp.close()


@system_group.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images not just dangling ones")
@click.option("-f", "--force", is_flag=True)
@click.option("--volumes", is_flag=True, help="Prune anonymous volumes")
@click.option("--filter", "filters", multiple=True)
def system_prune(all_, force, volumes, filters):
    """Remove unused data"""
    what = ["all stopped containers", "all networks not used by at least one container",
            *(["all anonymous volumes not used by at least one container"] if volumes else []),
            "all images without at least one container associated to them" if all_ else "all dangling images",
            "unused build cache"]
    confirm_or_exit(force, "WARNING! This will remove:\n" + "\n".join(f"  - {w}" for w in what) + "\n")
    api, f = client(), parse_filters(filters)
    reclaimed = 0
    result = api.post("/containers/prune", filters=f)
    print_deleted("Containers", result.get("ContainersDeleted") or [])
    reclaimed += result.get("SpaceReclaimed", 0)
    print_deleted("Networks", api.post("/networks/prune", filters=f).get("NetworksDeleted") or [])
    if volumes:
        result = api.post("/volumes/prune", filters=f)
        print_deleted("Volumes", result.get("VolumesDeleted") or [])
        reclaimed += result.get("SpaceReclaimed", 0)
    result = api.post("/images/prune", filters=parse_filters([*filters, *(["dangling=false"] if all_ else [])]))
    print_deleted("Images", image_prune_lines(result))
    reclaimed += result.get("SpaceReclaimed", 0)
    reclaimed += api.post("/build/prune", filters=f).get("SpaceReclaimed", 0)
    print_reclaimed(reclaimed)


def register(cli):
    for cmd in (version, info, system_group, events):
        cli.add_command(cmd)
