"""`dockyard daemon` / `dockyardd`: the long-running server, with dockerd's flag names."""
from __future__ import annotations

import asyncio
import fcntl
import grp
import logging
import os
import signal
import sys
from pathlib import Path

import click
from aiohttp import web

from ..errors import DockyardError
from .config import DEFAULT_SOCKET, DaemonConfig

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


async def serve(config: DaemonConfig) -> None:
    from .app import build_app, build_services

    svc = build_services(config)
    await svc.containers.restore()
    app = build_app(svc)
    # handler_cancellation: a client that hangs up (docker events, wait, logs -f) ends its handler;
    # shutdown_timeout: on SIGTERM do not wait long for streams that never end by themselves.
    runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True,
                           shutdown_timeout=2.0)
    await runner.setup()
    for host in config.hosts:
        if host.startswith("unix://"):
            path = Path(host[len("unix://"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.unlink()  # stale: we hold the data-root lock
            await web.UnixSite(runner, str(path)).start()
            os.chmod(path, 0o660)
            try:
                os.chown(path, 0, grp.getgrnam(config.group).gr_gid)
            except KeyError:
                pass
        elif host.startswith(("tcp://", "http://")):
            hostport = host.split("://", 1)[1]
            h, _, p = hostport.rpartition(":")
            await web.TCPSite(runner, h or "127.0.0.1", int(p or 2375)).start()
        else:
            raise DockyardError(f"invalid host {host!r}: use unix:///path or tcp://host:port")
        log.info("API listening on %s", host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down; containers keep running under their monitors")
    await svc.containers.shutdown()
    if svc.registry is not None:
        await svc.registry.close()
    await runner.cleanup()
    svc.md.close()


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
    try:
        asyncio.run(serve(config))
    except DockyardError as err:
        click.echo(f"dockyard: {err}", err=True)
        sys.exit(1)
    finally:
        if config.pidfile:
            config.pidfile.unlink(missing_ok=True)
        lock.close()


@click.command("daemon", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-H", "--host", "hosts", multiple=True, help=f"Daemon socket(s) to listen on (default {DEFAULT_SOCKET})")
@click.option("--data-root", type=click.Path(path_type=Path), help="Root of persistent state (default /var/lib/dockyard)")
@click.option("--exec-root", type=click.Path(path_type=Path), help="Root of runtime state (default /run/dockyard)")
@click.option("-p", "--pidfile", type=click.Path(path_type=Path), help="Path to write the daemon's PID")
@click.option("--config-file", type=click.Path(path_type=Path), help="daemon.json configuration file")
@click.option("-l", "--log-level", type=click.Choice(["debug", "info", "warn", "error", "fatal"]), help="Logging level")
@click.option("-s", "--storage-driver", help="Storage driver (overlay2 or vfs)")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registries reachable over plain HTTP")
@click.option("--registry-mirror", "mirrors", multiple=True, help="Mirrors tried first for docker.io")
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
def daemon_command(hosts, data_root, exec_root, pidfile, config_file, log_level, storage_driver, insecure, mirrors,
                   default_runtime, add_runtimes, group, bridge, bip, iptables, dns, dns_search, dns_opts):
    """Run the dockyard daemon in the foreground."""
    config = DaemonConfig()
    if config_file:
        try:
            config.apply_file(config_file)
        except DockyardError as err:
            raise click.ClickException(str(err))
    for attr, value in (("data_root", data_root), ("exec_root", exec_root), ("pidfile", pidfile),
                        ("log_level", log_level), ("storage_driver", storage_driver),
                        ("default_runtime", default_runtime), ("group", group), ("bridge", bridge), ("bip", bip),
                        ("dns", list(dns)), ("dns_search", list(dns_search)), ("dns_opts", list(dns_opts))):
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
