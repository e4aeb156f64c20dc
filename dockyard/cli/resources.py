"""A container's resources: `stats` (live usage, computed from the daemon's samples as the docker CLI does)
and `update` (its limits and restart policy)."""
from __future__ import annotations

import sys
import time

import click

from ..units import bytes_size, human_size
from .common import client, each_name, fail
from .flagtypes import GoInt, MemBytes, MemSwapBytes, NanoCPUs
from .format import render_rows

DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
                  "\t{{.PIDs}}")
HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
           "PIDs": "PIDS"}


class Row:
    """One container's line; attribute names are docker's --format fields."""

    def __init__(self, ref: str, s: dict):
        self.Container, self.ID, self.Name = ref, s["id"][:12], s["name"].lstrip("/")
        cpu, pre = s["cpu_stats"], s["precpu_stats"]
        cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
        cpus = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or []) or 1
        percent = cpu_delta / system_delta * cpus * 100 if cpu_delta > 0 and system_delta > 0 else 0.0
        mem = s["memory_stats"]
        usage = mem.get("usage", 0)
        inactive = (mem.get("stats") or {}).get("total_inactive_file", (mem.get("stats") or {}).get("inactive_file", 0))
        usage = usage - inactive if inactive < usage else usage
        limit = mem.get("limit", 0)
        blk = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
        read = sum(e["value"] for e in blk if e["op"].lower() == "read")
        write = sum(e["value"] for e in blk if e["op"].lower() == "write")
        nets = (s.get("networks") or {}).values()
        rx, tx = sum(n.get("rx_bytes", 0) for n in nets), sum(n.get("tx_bytes", 0) for n in nets)
        running = s["read"] != "0001-01-01T00:00:00Z"
        self.CPUPerc = f"{percent:.2f}%" if running else "--"
        self.MemUsage = f"{bytes_size(usage)} / {bytes_size(limit)}" if running else "-- / --"
        self.MemPerc = f"{usage / limit * 100:.2f}%" if running and limit else "--"
        self.NetIO = f"{human_size(rx)} / {human_size(tx)}" if running else "--"
        self.BlockIO = f"{human_size(read)} / {human_size(write)}" if running else "--"
        self.PIDs = str((s.get("pids_stats") or {}).get("current", 0)) if running else "--"


def _sample(api, refs: list[str]) -> dict:
    return {ref: api.get(f"/containers/{ref}/stats", stream="false", **{"one-shot": "true"}) for ref in refs}


@click.command("stats")
@click.argument("containers", nargs=-1)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result")
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt", help="Format output using a Go template")
def stats(containers, all_, no_stream, no_trunc, fmt):
    """Display a live stream of container(s) resource usage statistics"""
    api = client()
    refs = list(containers) or [c["Id"][:12] for c in api.get("/containers/json", all="1" if all_ else "0")]
    for ref in refs:
        api.get(f"/containers/{ref}/json")  # a missing container fails before any output, as in docker
    previous = _sample(api, refs)
    while True:
        time.sleep(1)
        current = _sample(api, refs)
        rows = []
        for ref in refs:
            merged = {**current[ref], "precpu_stats": previous[ref]["cpu_stats"]}
            row = Row(ref, merged)
            if no_trunc:
                row.ID = current[ref]["id"]
            rows.append(row)
        if not no_stream and sys.stdout.isatty():
            sys.stdout.write("\033[2J\033[H")  # redraw in place, like docker
        render_rows(fmt or DEFAULT_FORMAT, rows, sys.stdout, HEADERS)
        sys.stdout.flush()
        if no_stream:
            return
        previous = current


@click.command("update")
@click.argument("containers", nargs=-1, required=True)
@click.option("--blkio-weight", type=GoInt(16, unsigned=True))
@click.option("-m", "--memory", type=MemBytes())
@click.option("--memory-swap", type=MemSwapBytes())
@click.option("--memory-reservation", type=MemBytes())
@click.option("--cpus", type=NanoCPUs())
@click.option("-c", "--cpu-shares", type=GoInt())
@click.option("--cpu-period", type=GoInt())
@click.option("--cpu-quota", type=GoInt())
@click.option("--cpu-rt-period", type=GoInt())
@click.option("--cpu-rt-runtime", type=GoInt())
@click.option("--cpuset-cpus")
@click.option("--cpuset-mems")
@click.option("--pids-limit", type=GoInt())
@click.option("--restart")
def update(containers, restart, **flags):
    """Update configuration of one or more containers"""
    fields = {"blkio_weight": "BlkioWeight", "memory": "Memory", "memory_swap": "MemorySwap",
              "memory_reservation": "MemoryReservation", "cpus": "NanoCpus", "cpu_shares": "CpuShares",
              "cpu_period": "CpuPeriod", "cpu_quota": "CpuQuota", "cpu_rt_period": "CpuRealtimePeriod",
              "cpu_rt_runtime": "CpuRealtimeRuntime", "cpuset_cpus": "CpusetCpus", "cpuset_mems": "CpusetMems",
              "pids_limit": "PidsLimit"}
    body = {fields[flag]: value for flag, value in flags.items() if value is not None}
    if restart:
        name, _, retries = restart.partition(":")
        body["RestartPolicy"] = {"Name": name, "MaximumRetryCount": int(retries or 0)}
    if not body:
        fail("you must provide one or more flags when using this command")
    for ref in each_name(containers, lambda r: client().post(f"/containers/{r}/update", body)):
        click.echo(ref)


def register(cli):
    from .containers import container_group
    for cmd in (stats, update):
        cli.add_command(cmd)
        container_group.add_command(cmd)

