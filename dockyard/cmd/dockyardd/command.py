"""`dockyard daemon` / `dockyardd`: the long-running server, with dockerd's flag names."""
from __future__ import annotations

import asyncio
import ctypes
import fcntl
import grp
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import click
from aiohttp import web

from ... import blocking, memtrace, stallwatch
from ...errors import DockyardError
from ...daemon.config import DEFAULT_SOCKET, DaemonConfig
from ...daemon.reload import reload_config
from ...daemon.socket_activation import fds_for_host, take_listen_fds
from ...runtime.monitor_client import start_monitor_zygote

log = logging.getLogger("dockyard.daemon")


class AlreadyRunning(Exception):
    pass


def acquire_lock(data_root: Path):
    """One daemon per data root: a second one would corrupt the stores."""
    data_root.mkdir(parents=True, exist_ok=True)
    f = open(data_root / "daemon.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "unknown"
        raise AlreadyRunning(f"another dockyard daemon (pid {pid}) is already using data root {data_root}")
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


async def serve(config: DaemonConfig, activated: list[int]) -> None:
    from ...api.middleware import REQUEST_LIMITS
    from .app import build_app, build_services

    limit_malloc_arenas()  # before the pools' threads start: a thread's arena is chosen at its first malloc
    blocking.install(asyncio.get_running_loop())
    # The loop thread competes for the GIL with every busy pool thread, one switch interval each: 1 ms instead
    # of 5 keeps it answering within a few ms while list/inspect work runs in the pool.
    sys.setswitchinterval(0.001)
    memtrace.start(asyncio.get_running_loop())  # DOCKYARD_TRACEMALLOC=dir: SIGUSR2 dumps what grew
    svc = build_services(config)
    await start_monitor_zygote()  # ready before the first start, not during it
    await svc.containers.restore()
    app = build_app(svc)
    # handler_cancellation: a client that hangs up (docker events, wait, logs -f) ends its handler;
    # shutdown_timeout: on SIGTERM do not wait long for streams that never end by themselves.
    runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True,
                           shutdown_timeout=2.0, **REQUEST_LIMITS)
    await runner.setup()
    for host in config.hosts:
        if host.startswith("unix://"):
            path = Path(host[len("unix://"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.unlink()  # stale: we hold the data-root lock
            await web.UnixSite(runner, str(path)).start()
            os.chmod(path, 0o660)
            try:  # the owner stays the daemon's user; only the group changes
                os.chown(path, -1, grp.getgrnam(config.group).gr_gid)
            except KeyError:
                pass
        elif host.startswith("fd://"):  # sockets systemd opened (dockyard.socket)
            for fd in fds_for_host(host, activated):
                await web.SockSite(runner, socket.socket(fileno=fd)).start()
        elif host.startswith(("tcp://", "http://")):
            hostport = host.split("://", 1)[1]
            h, _, p = hostport.rpartition(":")
            await web.TCPSite(runner, h or "127.0.0.1", int(p or 2375)).start()
        else:
            raise DockyardError(f"invalid host {host!r}: use unix:///path, tcp://host:port or fd://")
        log.info("API listening on %s", host)
    watch = stallwatch.start(config.log_level)  # once serving: start-up work is not a client's wait
    trimming = asyncio.get_running_loop().create_task(trim_malloc_now_and_then())
    blocking.prioritize_loop_thread()  # last: the threads started so far keep the default priority
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_config, svc)  # dockerd's live reload of daemon.json
    await stop.wait()
    log.info("shutting down; containers keep running under their monitors")
    trimming.cancel()
    await svc.containers.shutdown()
    if svc.registry is not None:
        await svc.registry.close()
    await runner.cleanup()
    svc.container_store.close()  # its pending writes first
    svc.md.close()
    remove_unix_sockets(config.hosts)
    if watch is not None:
        watch.stop()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core), which the pool's threads
    fill and never give back: RSS grows with the threads ever used, not the memory in use (MALLOC_ARENA_MAX)."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc


async def trim_malloc_now_and_then(interval: float = 30) -> None:
    """Give the heap's free pages back to the system every `interval` seconds: glibc keeps what a burst freed
    (11 MiB free in the heap after a round of bench/memory.py, with 30 in use), so RSS stayed near its peak and
    crept up a MiB or two a round with fragmentation."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return  # not glibc
    while True:
        await asyncio.sleep(interval)
        await blocking.blocking(trim, 0)  # (ctypes lets go of the GIL: it walks the heap in the pool thread)


def remove_unix_sockets(hosts: list[str]) -> None:
    """A clean shutdown leaves no socket file behind for clients to connect to in vain."""
    for host in hosts:
        if host.startswith("unix://"):
            Path(host[len("unix://"):]).unlink(missing_ok=True)


def run_daemon(config: DaemonConfig) -> None:
    logging.basicConfig(level=getattr(logging, config.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        lock = acquire_lock(config.data_root)
    except AlreadyRunning as err:
        click.echo(f"dockyard: {err}", err=True)
        sys.exit(1)
    if config.pidfile:
        config.pidfile.parent.mkdir(parents=True, exist_ok=True)
        config.pidfile.write_text(str(os.getpid()))
    activated = take_listen_fds()
    try:
        asyncio.run(serve(config, activated))
    except DockyardError as err:
        click.echo(f"dockyard: {err}", err=True)
        sys.exit(1)
    finally:
        if config.pidfile:
            config.pidfile.unlink(missing_ok=True)
        lock.close()


# click parameter -> the daemon.json key the same setting has (dockerd's flag or named-option name).
FLAG_FILE_KEYS = {
    "hosts": "hosts", "data_root": "data-root", "exec_root": "exec-root", "pidfile": "pidfile",
    "log_level": "log-level", "storage_driver": "storage-driver", "insecure": "insecure-registries",
    "mirrors": "registry-mirrors", "hub_endpoint": "docker-hub-endpoint", "default_runtime": "default-runtime",
    "add_runtimes": "runtimes",
    "group": "group", "bridge": "bridge", "bip": "bip", "iptables": "iptables", "dns": "dns",
    "dns_search": "dns-search", "dns_opts": "dns-opts", "cpu_rt_runtime": "cpu-rt-runtime",
    "cpu_rt_period": "cpu-rt-period",
}


def go_format(value) -> str:
    """A value as Go's %v prints it, so our conflict message reads like dockerd's."""
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flag_file_conflicts(ctx: click.Context, file_data: dict) -> list[str]:
    """Settings given both on the command line and in daemon.json: dockerd refuses to guess which wins."""
    conflicts = []
    for param, key in FLAG_FILE_KEYS.items():
        if key in file_data and ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE:
            conflicts.append(f"{key}: (from flag: {go_format(ctx.params[param])}, "
                             f"from file: {go_format(file_data[key])})")
    return conflicts


def load_config_file(ctx: click.Context, config: DaemonConfig, path: Path) -> None:
    try:
        data = config.apply_file(path)
    except DockyardError as err:
        raise click.ClickException(str(err))
    conflicts = flag_file_conflicts(ctx, data)
    if conflicts:
        raise click.ClickException(f"unable to configure the Docker daemon with file {path}: the following "
                                   f"directives are specified both as a flag and in the configuration file: "
                                   f"{', '.join(conflicts)}")
    config.config_file = path
    config.flag_keys = {key for param, key in FLAG_FILE_KEYS.items()
                        if ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE}


@click.command("daemon", context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
@click.option("-H", "--host", "hosts", multiple=True, help=f"Daemon socket(s) to listen on (default {DEFAULT_SOCKET})")
@click.option("--data-root", type=click.Path(path_type=Path), help="Root of persistent state (default /var/lib/dockyard)")
@click.option("--exec-root", type=click.Path(path_type=Path), help="Root of runtime state (default /run/dockyard)")
@click.option("-p", "--pidfile", type=click.Path(path_type=Path), help="Path to write the daemon's PID")
@click.option("--config-file", type=click.Path(path_type=Path), help="daemon.json configuration file")
@click.option("-l", "--log-level", type=click.Choice(["debug", "info", "warn", "error", "fatal"]), help="Logging level")
@click.option("-s", "--storage-driver", help="Storage driver (overlay2 or vfs)")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registries reachable over plain HTTP")
@click.option("--registry-mirror", "mirrors", multiple=True, help="Mirrors tried first for docker.io")
@click.option("--docker-hub-endpoint", "hub_endpoint", metavar="URL",
              help="Registry that serves docker.io names after the mirrors (default https://registry-1.docker.io)")
@click.option("--default-runtime", help="Default OCI runtime (runc)")
@click.option("--add-runtime", "add_runtimes", multiple=True, metavar="NAME=PATH",
              help="Register an additional OCI runtime")
@click.option("-G", "--group", help="Group owning the unix socket")
@click.option("-b", "--bridge", help="Name of the default bridge (dockyard0)")
@click.option("--bip", help="Address and prefix of the default bridge (10.210.0.1/16)")
@click.option("--iptables", type=click.BOOL, default=None, help="Add iptables rules (outbound NAT) for bridges")
@click.option("--dns", "dns", multiple=True, help="DNS server for containers and the embedded DNS")
@click.option("--dns-search", "dns_search", multiple=True, help="DNS search domain for containers")
@click.option("--dns-opt", "dns_opts", multiple=True, help="DNS option for containers")
@click.option("--cpu-rt-runtime", type=int, help="Limit the CPU real-time runtime in microseconds for the parent cgroup")
@click.option("--cpu-rt-period", type=int, help="Limit the CPU real-time period in microseconds for the parent cgroup")
def daemon_command(ctx, hosts, data_root, exec_root, pidfile, config_file, log_level, storage_driver, insecure, mirrors,
                   hub_endpoint, default_runtime, add_runtimes, group, bridge, bip, iptables, dns, dns_search, dns_opts,
                   cpu_rt_runtime, cpu_rt_period):
    """Run the dockyard daemon in the foreground."""
    config = DaemonConfig()
    if config_file:
        load_config_file(ctx, config, config_file)
    for attr, value in (("data_root", data_root), ("exec_root", exec_root), ("pidfile", pidfile),
                        ("log_level", log_level), ("storage_driver", storage_driver),
                        ("default_runtime", default_runtime), ("docker_hub_endpoint", hub_endpoint),
                        ("group", group), ("bridge", bridge), ("bip", bip),
                        ("dns", list(dns)), ("dns_search", list(dns_search)), ("dns_opts", list(dns_opts)),
                        ("cpu_rt_runtime", cpu_rt_runtime), ("cpu_rt_period", cpu_rt_period)):
        if value:
            setattr(config, attr, value)
    if iptables is not None:
        config.iptables = iptables
    if hosts:
        config.hosts = list(hosts)
    if insecure:
        config.insecure_registries = config.insecure_registries + list(insecure)
    if mirrors:
        config.registry_mirrors = config.registry_mirrors + list(mirrors)
    try:
        for item in add_runtimes:
            config.add_runtime(item)
        config.validate()
    except DockyardError as err:
        raise click.ClickException(str(err))
    run_daemon(config)


def main() -> None:
    daemon_command()
