"""Composition root: builds the stores and services once, with constructor injection, and the API app."""
from __future__ import annotations

import functools
import importlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from ...api import middleware, router
from ...api.context import TEMP_DIR
from ...api.routes import (build_backend, containers_backend, exec_backend, images_backend, networks_backend,
                           registry_backend, system_backend, volumes_backend)
from ...api.streams import install_hijack_support
from ...runtime.monitor_client import close_monitor_zygote
from ...store.content import ContentStore
from ...store.fsutil import wipe_dir
from ...image.layers import LayerStore
from ...store.metadata import Metadata
from ...store.snapshots import choose_driver
from ...store.trash import Trash
from ...volume.store import VolumeStore
from ...daemon.archives import ArchiveService
from ...daemon.commit import Committer
from ...daemon.config import DaemonConfig
from ...daemon.container_store import ContainerStore
from ...daemon.containers import ContainerService
from ...daemon.events import EventBus
from ...daemon.exec import ExecService
from ...daemon.exec_store import ExecStore
from ...daemon.health import HealthMonitor
from ...daemon.images import ImageService
from ...daemon.networks import NetworkService
from ...daemon.system import SystemService
from ...daemon.volumes import VolumeService

log = logging.getLogger("dockyard.daemon")

# Route modules; the optional ones belong to parts that may not be installed in every build.
ROUTE_MODULES = ["system", "images", "containers", "exec", "volumes", "networks", "registry", "build", "swarm"]


@dataclass
class Services:
    config: DaemonConfig
    md: Metadata
    content: ContentStore
    layers: LayerStore
    events: EventBus
    images: ImageService
    archives: ArchiveService
    system: SystemService
    container_store: ContainerStore
    containers: Any = None
    registry: Any = None
    builder: Any = None
    extra: dict = field(default_factory=dict)


def _daemon_id(md: Metadata) -> str:
    row = md.one("SELECT value FROM kv WHERE key='daemon_id'")
    if row:
        return row["value"]
    value = secrets.token_hex(16)
    with md.tx() as cur:
        cur.execute("INSERT INTO kv VALUES ('daemon_id', ?)", (value,))
    return value


def sweep_leftovers(root: Path, store: ContainerStore, layers: LayerStore, trash: Trash) -> None:
    """What a daemon killed mid-request left behind: temp files (uploads, saves, commit tars), what the
    trash had not deleted yet, and half-extracted layer dirs. Only safe before serving, under the data-root
    lock: nothing is in flight then. dockerd empties its tmp dir at start the same way."""
    wipe_dir(root / "tmp")
    trash.empty()
    removed = layers.remove_orphans(store.ids())
    if removed:
        log.info("removed %d orphaned layer dir(s): %s", len(removed), ", ".join(r[:12] for r in removed))


def build_services(config: DaemonConfig) -> Services:
    root = config.data_root
    for d in ("tmp", "containers", "layers"):
        (root / d).mkdir(parents=True, exist_ok=True)
    md = Metadata(root / "dockyard.db")
    content = ContentStore(root / "content")
    trash = Trash(root / "trash")  # removed layers and container dirs, deleted in the background
    layers = LayerStore(md, content, choose_driver(root / "layers", config.storage_driver, trash))
    store = ContainerStore(md)
    sweep_leftovers(root, store, layers, trash)
    events = EventBus()
    images = ImageService(md, content, layers, events, store)
    images.collect_garbage()
    archives = ArchiveService(images, root / "tmp")
    volumes = VolumeStore(md, root / "volumes")
    networks = NetworkService(config, md, events, store)
    execs = ExecStore()
    containers = ContainerService(config, store, layers, images, events, volumes, networks, execs, trash)
    system = SystemService(config, images, store, containers, volumes, layers, _daemon_id(md))
    svc = Services(config, md, content, layers, events, images, archives, system, store, containers)
    svc.extra["exec"] = ExecService(store, containers, events, execs)
    svc.extra["health"] = HealthMonitor(store, svc.extra["exec"], events)
    svc.extra["volumes"] = VolumeService(volumes, store, events)
    svc.extra["networks"] = networks
    _attach_optional(svc)
    return svc


def _attach_optional(svc: Services) -> None:
    """Registry and build services, wired in when their packages are present."""
    try:
        from ...daemon.registry import RegistryService
    except ImportError:
        pass
    else:
        svc.registry = RegistryService(svc.images, svc.config)
    try:
        from ...build.builder import Builder
        from ...daemon.build_backend import DaemonBuildBackend
    except ImportError:
        pass
    else:
        svc.builder = Builder(DaemonBuildBackend(svc.config, svc.images, svc.layers, svc.containers, svc.events,
                                                 svc.registry))


def route_backends(svc: Services) -> dict[web.AppKey, object]:
    """The service behind each routes module's backend key (api/backends.py): a missing optional part's
    key stays unset, and its routes say the part is not available."""
    networks = svc.extra["networks"]
    backends = {
        containers_backend.CONTAINERS: svc.containers,
        containers_backend.LINKS: networks,
        containers_backend.COMMIT: Committer(svc.config, svc.layers, svc.containers, svc.images, svc.events),
        exec_backend.EXECS: svc.extra["exec"],
        images_backend.IMAGES: svc.images,
        images_backend.ARCHIVES: svc.archives,
        networks_backend.NETWORKS: networks,
        volumes_backend.VOLUMES: svc.extra["volumes"],
        system_backend.SYSTEM: svc.system,
        system_backend.EVENTS: svc.events,
    }
    if svc.registry is not None:
        backends[images_backend.PULL] = svc.registry
        backends[registry_backend.REGISTRY] = svc.registry
    if svc.builder is not None:
        from ...build.prune import prune_build_cache

        backends[build_backend.BUILDER] = svc.builder
        backends[build_backend.BUILD_CACHE] = functools.partial(prune_build_cache, svc.images)
    return backends


def build_app(svc: Services) -> web.Application:
    install_hijack_support()
    app = web.Application(middlewares=[middleware.written_middleware, middleware.version_middleware,
                                       middleware.error_middleware], client_max_size=0)
    app[TEMP_DIR] = svc.config.data_root / "tmp"
    for key, backend in route_backends(svc).items():
        app[key] = backend
    health = svc.extra["health"]

    async def start_health(_app):
        await health.start()

    async def stop_health(_app):
        await health.close()

    app.on_startup.append(start_health)
    app.on_cleanup.append(stop_health)
    app.on_cleanup.append(lambda _app: close_monitor_zygote())
    tables = []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(f"dockyard.api.routes.{name}")
        except ImportError as err:
            log.warning("routes %s unavailable: %s", name, err)
            continue
        tables.append(module.routes)
    router.install(app, tables)
    return app
