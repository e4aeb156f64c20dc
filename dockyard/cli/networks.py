"""`dockyard network create/ls/inspect/rm/connect/disconnect/prune`, with docker's flags and output."""
from __future__ import annotations

import sys

import click

from ..errors import NotFound
from .group import DockerGroup
from .common import client, confirm_or_exit, each_name, inspect_objects, key_values, parse_filters, print_deleted
from .flagtypes import GoInt
from .format import go_time_string, natural_key, render_rows, table


class NetworkRow:
    """The fields `network ls --format` knows."""

    json_fields = ("CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope")

    def __init__(self, n: dict, no_trunc: bool):
        self.raw = n
        self.ID = n["Id"] if no_trunc else n["Id"][:12]
        self.Name, self.Driver, self.Scope = n["Name"], n["Driver"], n["Scope"]
        self.IPv6 = str(n.get("EnableIPv6", False)).lower()
        self.IPv4 = str(n.get("EnableIPv4", True)).lower()
        self.Internal = str(n.get("Internal", False)).lower()
        self.CreatedAt = go_time_string(n.get("Created", ""))
        self.Labels = ",".join(f"{k}={v}" for k, v in (n.get("Labels") or {}).items())

    def call(self, name, args):
        if name == "Label":
            return (self.raw.get("Labels") or {}).get(args[0], "")
        return ""


@click.command("create")
@click.argument("name")
@click.option("-d", "--driver", default="bridge")
@click.option("--subnet", multiple=True)
@click.option("--gateway", multiple=True)
@click.option("--ip-range", multiple=True)
@click.option("--aux-address", multiple=True)
@click.option("--ipam-driver", default="default")
@click.option("--ipam-opt", multiple=True)
@click.option("-o", "--opt", multiple=True)
@click.option("--label", multiple=True)
@click.option("--internal", is_flag=True)
@click.option("--attachable", is_flag=True)
@click.option("--ipv6", type=bool, default=None)
@click.option("--ipv4", type=bool, default=None)
@click.option("--config-from")
@click.option("--config-only", is_flag=True)
@click.option("--scope")
def create(name, driver, subnet, gateway, ip_range, aux_address, ipam_driver, ipam_opt, opt, label, internal,
           attachable, ipv6, ipv4, config_from, config_only, scope):
    """Create a network"""
    if len(gateway) > len(subnet) or len(ip_range) > len(subnet):
        raise click.UsageError("every gateway and ip-range needs a --subnet")
    configs = []
    for i, s in enumerate(subnet):
        cfg = {"Subnet": s}
        if i < len(gateway):
            cfg["Gateway"] = gateway[i]
        if i < len(ip_range):
            cfg["IPRange"] = ip_range[i]
        configs.append(cfg)
    if aux_address and configs:
        configs[0]["AuxiliaryAddresses"] = key_values(aux_address, "--aux-address")
    labels = {k: v for k, _, v in (x.partition("=") for x in label)}
    body = {"Name": name, "Driver": driver, "Options": key_values(opt, "--opt"), "Labels": labels,
            "IPAM": {"Driver": ipam_driver, "Config": configs, "Options": key_values(ipam_opt, "--ipam-opt")},
            "Internal": internal, "Attachable": attachable}
    # --ipv4/--ipv6 are sent only when given (the daemon decides the default), as the docker CLI sends them
    for key, value in (("EnableIPv4", ipv4), ("EnableIPv6", ipv6)):
        if value is not None:
            body[key] = value
    if config_from:
        body["ConfigFrom"] = {"Network": config_from}
    if config_only:
        body["ConfigOnly"] = True
    if scope:
        body["Scope"] = scope
    click.echo(client().request("POST", "/networks/create", json_body=body).json()["Id"])


@click.command("ls")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
def ls(quiet, no_trunc, filters, fmt):
    """List networks"""
    items = client().get("/networks", filters=parse_filters(filters))
    rows = sorted((NetworkRow(n, no_trunc) for n in items), key=lambda r: natural_key(r.Name))
    if quiet:
        for r in rows:
            click.echo(r.ID)
        return
    if fmt and fmt != "table":  # bare `table` is the default table
        render_rows(fmt, rows, sys.stdout, {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER",
                                            "Scope": "SCOPE"})
        return
    table([["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + [[r.ID, r.Name, r.Driver, r.Scope] for r in rows],
          sys.stdout)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt")
@click.option("-v", "--verbose", is_flag=True)
def inspect(names, fmt, verbose):
    """Display detailed information on one or more networks"""
    inspect_objects(lambda n: client().get(f"/networks/{n}", verbose=verbose or None), names, fmt)


@click.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True)
def rm(names, force):
    """Remove one or more networks"""
    def remove(name: str) -> None:
        try:
            client().request("DELETE", f"/networks/{name}")
        except NotFound:
            if not force:
                raise

    for name in each_name(names, remove):
        click.echo(name)


@click.command("connect")
@click.argument("network")
@click.argument("container")
@click.option("--alias", multiple=True)
@click.option("--ip")
@click.option("--driver-opt", multiple=True)
@click.option("--ip6")
@click.option("--link", "links", multiple=True)
@click.option("--link-local-ip", multiple=True)
@click.option("--gw-priority", type=GoInt(), default=0)
def connect(network, container, alias, ip, driver_opt, ip6, links, link_local_ip, gw_priority):
    """Connect a container to a network"""
    endpoint = {"Aliases": list(alias) or None, "DriverOpts": key_values(driver_opt, "--driver-opt") or None,
                "Links": list(links) or None, "GwPriority": gw_priority}
    ipam = {"IPv4Address": ip, "IPv6Address": ip6, "LinkLocalIPs": list(link_local_ip) or None}
    if any(ipam.values()):
        endpoint["IPAMConfig"] = {k: v for k, v in ipam.items() if v}
    client().request("POST", f"/networks/{network}/connect",
                     json_body={"Container": container, "EndpointConfig": endpoint})


@click.command("disconnect")
@click.argument("network")
@click.argument("container")
@click.option("-f", "--force", is_flag=True)
def disconnect(network, container, force):
    """Disconnect a container from a network"""
    client().request("POST", f"/networks/{network}/disconnect", json_body={"Container": container, "Force": force})


@click.command("prune")
@click.option("-f", "--force", is_flag=True)
@click.option("--filter", "filters", multiple=True)
def prune(force, filters):
    """Remove all unused networks"""
    confirm_or_exit(force, "WARNING! This will remove all custom networks not used by at least one container.")
    result = client().post("/networks/prune", filters=parse_filters(filters))
    print_deleted("Networks", result.get("NetworksDeleted") or [])


@click.group("network", cls=DockerGroup)
def network_group():
    """Manage networks"""


for _cmd in (create, ls, inspect, rm, connect, disconnect, prune):
    network_group.add_command(_cmd)
network_group.add_command(ls, "list")
network_group.add_command(rm, "remove")


def register(cli):
    cli.add_command(network_group)
