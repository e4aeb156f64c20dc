"""Container service: create/start/stop/kill/wait/remove and the rest of the container life cycle.

Each running container has a monitor process (runtime/monitor.py) that owns its stdio, log and exit
status, so the daemon can die and come back: restore() re-adopts every monitor still alive.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import socket
import time
from pathlib import Path

from .. import blocking
from ..blocking import finished_or_undone
from ..errors import Conflict, DockyardError, InvalidParameter, NotFound, NotModified, SystemError_
from ..runtime.monitor_client import Monitor, StartError, read_exit, settle_monitors
from ..runtime import sysinfo
from ..runtime.oci import CGROUP_PARENT, OCIRuntime
from ..runtime.spec import MASKED_PATHS, READONLY_PATHS, build_spec
from ..store.fsutil import dir_size
from ..store.trash import Trash, remove_tree
from ..store.snapshots.mount import (MS_NODEV, MS_NOEXEC, MS_NOSUID, is_mountpoint, mount as mount_fs,
                                     unmount as unmount_fs)
from ..image.layers import LayerStore
from . import etcfiles, mounts
from .container_checks import (UPDATE_RESOURCE_KEYS, check_image_platform, parse_create_platform, update_conflict,
                               validate_config, validate_exposed_ports, validate_host_config_settings,
                               validate_net_mode, validate_port_bindings, validate_resources)
from ..volume.store import VolumeStore
from .config import DaemonConfig
from .container_record import Container, healthcheck_shape
from .container_store import ContainerStore
from .create_types import check_create_body, check_update_body
from .events import EventBus
from .exec_store import ExecStore
from ..filters import Filters
from .images import ImageService
from .names import random_name, validate_name
from .container_files import ContainerFiles
from .monitors import MonitorTable
from .orphans import end_orphans
from .restart import RestartManager, restarts_with_daemon
from .platform_checks import validate_platform_resources, validate_platform_settings
from .storage_opts import check_storage_opts
from ..signals import parse_signal
from .log_config import log_spec, validate as validate_log_config
from ..timefmt import now_rfc3339, parse_rfc3339, parse_time_filter

log = logging.getLogger("dockyard.containers")

STOP_TIMEOUT_DEFAULT = 10
KILL_WAIT = 10  # seconds a SIGKILL waits for the exit, as moby's Kill does
WAIT_CONDITIONS = ("not-running", "next-exit", "removed", "")


def check_wait_condition(condition: str) -> None:
    if condition not in WAIT_CONDITIONS:
        raise InvalidParameter(f"invalid condition: {json.dumps(condition)}")


class ContainerService:
    def __init__(self, config: DaemonConfig, store: ContainerStore, layers: LayerStore, images: ImageService,
                 events: EventBus, volumes: VolumeStore, networks, execs: ExecStore, trash: Trash | None = None):
        self.config = config
        # runc launches at once: one per core. Unbounded, a hundred clients' starts ran ~50 runc processes at
        # a time, every process on the machine (the daemon's loop and its clients included) got a sliver of
        # CPU, and the starts finished no sooner (bench/RESULTS.md, "Concurrency").
        self._launch_slots = asyncio.Semaphore(os.cpu_count() or 1)
        self.store = store
        self.networks = networks  # NetworkService: attach() before runc starts a container, detach() after
        self.volumes = volumes
        self.layers = layers
        self.images = images
        self.events = events
        self.trash = trash  # a removed container's dir goes there, to be deleted in the background
        # Short paths: monitor sockets live here and unix socket paths are limited to 108 bytes.
        self.state_root = config.exec_root / "c"
        self.data_dir = config.data_root / "containers"
        self.state_root.mkdir(parents=True, exist_ok=True)
        self.monitors = MonitorTable()  # attach, logs and the builder find a running container's monitor here
        self._exit_waiters: dict[str, list[asyncio.Future]] = {}
        self._remove_waiters: dict[str, list[asyncio.Future]] = {}
        self._removing: set[str] = set()  # a second rm of one of these is a conflict, as in moby
        self._deleting: dict[str, Monitor] = {}  # exited; the runtime may still be deleting their container
        self._tasks: set[asyncio.Task] = set()
        self.execs = execs  # a container's execs end with its process
        self.files = ContainerFiles(config.data_root / "tmp", store, layers, images, events)
        self.restarts = RestartManager(store, start=self._start, exited=self._resolve_exit, spawn=self._spawn)
        # moby copies a container's labels into each of its events (an image's into image events), so
        # `events --filter label=...` finds them, whichever service emits the event
        events.add_attribute_source("container", store.labels_of)
        events.add_attribute_source("image", self._image_event_labels)

    # ------------------------------------------------------------ records
    def runtime_for(self, c: Container) -> OCIRuntime:
        return self._runtime(c.host_config.get("Runtime") or self.config.default_runtime)

    def _runtime(self, name: str) -> OCIRuntime:
        spec = self.config.runtimes.get(name)
        if spec is None:
            raise InvalidParameter(f"unknown or invalid runtime name: {name}")
        return OCIRuntime(name=name, binary=spec.get("path", name), root=str(self.config.exec_root / name))

    def _image_event_labels(self, ref: str) -> dict:
        """Labels of the image an event names (by ID or reference); none once it is deleted."""
        if not ref:
            return {}
        try:
            return self.images.labels_of(self.images.resolve(ref)[0])
        except DockyardError:
            return {}

    def listed_image(self, c: Container) -> str:
        """What `ps` shows: the name the container was created from while it still names its image, else
        the image ID (the tag moved to a rebuilt image, or the image was deleted), as moby's list does."""
        name = c.image_ref
        try:
            return name if self.images.resolve(name)[0] == c.image_id else c.image_id
        except DockyardError:
            return c.image_id

    def state_dir(self, cid: str) -> Path:
        return self.state_root / cid

    # ------------------------------------------------------------ create
    async def create(self, body: dict, name: str | None = None, platform: str | None = None,
                     build_step: bool = False) -> dict:
        """`build_step`: a build step's container, removed after its one run: its init layer is its own, not
        its image's shared one (a 10,000-step build would leave 10,000 behind)."""
        body = check_create_body(body)  # wrong JSON types are a 400 before anything is stored
        config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        if config.get("Healthcheck") is not None:
            config["Healthcheck"] = healthcheck_shape(config["Healthcheck"])
        host_config = dict(body.get("HostConfig") or {})
        # moby verifies the settings before it looks the image up: a bad flag fails before any "No such image"
        validate_config(config)
        validate_net_mode(config, host_config)
        validate_host_config_settings(host_config)
        image_ref = config.get("Image") or ""
        if not image_ref:
            raise InvalidParameter("No command specified" if not config.get("Cmd") else "image name is required")
        want = parse_create_platform(platform) if platform else None
        image = await asyncio.to_thread(lambda: self.images.get(self.images.resolve(image_ref)[0]))  # SQLite
        if want is not None:
            check_image_platform(image_ref, image.config, want)
        image_config = image.container_config
        merged = reset_empty_entrypoint(merge_image_config(config, image_config))
        argv = [*(merged.get("Entrypoint") or []), *(merged.get("Cmd") or [])]
        if not argv:
            raise InvalidParameter("No command specified")
        name = validate_name(name) if name else random_name(self.store.names())
        _validate_host_config(host_config)
        validate_resources(host_config)
        warnings = validate_platform_settings(host_config)  # drops what this kernel cannot apply
        check_storage_opts(host_config.get("StorageOpt") or {}, self.layers.driver.name, self.config.data_root)
        pid_mode = host_config.get("PidMode") or ""
        if pid_mode.startswith("container:"):  # moby names the container by its ID from create on
            try:
                host_config["PidMode"] = "container:" + self.store.get(pid_mode.split(":", 1)[1]).id
            except NotFound as err:
                raise InvalidParameter(str(err)) from None  # not a 404: the CLI would go and pull the image
        validate_exposed_ports(config.get("ExposedPorts") or {})
        cid = secrets.token_hex(32)
        self.store.reserve_name(name, cid)  # until the record is saved, or the create failed
        try:
            if host_config.get("NetworkMode") == "host" and not merged.get("Hostname"):
                merged["Hostname"] = socket.gethostname()  # --network host: the host's name, as dockerd does
            merged.setdefault("Hostname", cid[:12])
            if not merged.get("Hostname"):
                merged["Hostname"] = cid[:12]
            host_config = _host_config_defaults(host_config)
            host_config["Runtime"] = host_config.get("Runtime") or self.config.default_runtime
            if host_config["Runtime"] not in self.config.runtimes:
                raise InvalidParameter(f"unknown or invalid runtime name: {host_config['Runtime']}")
            network_settings = self.networks.initial_settings(host_config, body.get("NetworkingConfig"), name, cid,
                                                              merged["Hostname"], config.get("MacAddress") or "")
            inherited = mounts.volumes_from(host_config.get("VolumesFrom") or [], self.store.get)
            points = mounts.requested_mounts(merged, host_config, inherited)  # bad mounts fail before anything exists
            c = Container(id=cid, name=name, created=now_rfc3339(), image_id=image.id, config=merged,
                          host_config=host_config, path=argv[0], args=argv[1:], driver=self.layers.driver.name)
            cdir = self.data_dir / cid
            c.log_path = str(cdir / f"{cid}-json.log")
            c.network_settings = network_settings

            def make_files() -> None:  # one thread hop: the loop only hands over and takes back
                cdir.mkdir(parents=True)
                c.hostname_path, c.hosts_path, c.resolv_conf_path = etcfiles.write(cdir, merged["Hostname"],
                                                                                   merged.get("Domainname", ""))
                self.layers.create_rw(cid, image.top_chain, shared_init=not build_step)
                if points:
                    rootfs = self.layers.mount_rw(cid, image.top_chain)
                    try:
                        c.mount_points = mounts.resolve(points, self.volumes, str(rootfs))
                    finally:  # only a started container keeps its rootfs mounted
                        self.layers.unmount_rw(cid)
                self.store.save(c)  # a new record: nobody else reads or writes it before create returns

            # nothing of a container that was not created stays behind, cancelled request or not
            await finished_or_undone(make_files, lambda: self._undo_create(c.id))
            self.networks.created(cid)
            self.events.emit("container", "create", cid, {"image": image_ref, "name": name})
            return {"Id": cid, "Warnings": warnings}
        finally:
            self.store.release_name(name)

    # ------------------------------------------------------------ start
    async def start(self, ref: str) -> None:
        c = self.store.get(ref)
        async with self.store.lock(c.id):
            c = self.store.get(c.id)
            if c.state.reported_running:  # a pending restart too, as in moby
                raise NotModified("container already started")
            c.manual_stop = False
            try:
                await self._start(c)
            except Exception:
                if c.host_config.get("AutoRemove"):  # `run --rm` waits for the removal even when start fails
                    self._spawn(self.remove(c.id, force=True, volumes=True))
                raise

    async def _start(self, c: Container) -> None:
        # The network (veths, addresses: the slowest step but runc's), the rootfs mount and the monitor come up
        # side by side; the spec, which names the network namespace, is written once all three are.
        network = asyncio.ensure_future(self.networks.attach(c))  # may point c's /etc files at another's
        root = asyncio.ensure_future(asyncio.to_thread(self._image_and_rootfs, c))
        monitor = None
        try:
            sdir = self.state_dir(c.id)  # emptied of a previous run's files with the monitor's args, or here
            log, log_error = _log_spec_of(c)
            if log_error is None:
                monitor = await self._spawn_monitor(c, sdir, log)
            else:
                await asyncio.to_thread(_empty_dir, sdir)
            image, rootfs = await root
            netns = await network
        except BaseException:
            if monitor is not None:
                await monitor.end()
            await asyncio.wait([root])
            if not root.cancelled():
                root.exception()  # taken: an error of the mount is raised above or outranked by the one raised
            await self._undo_attach(c, network)
            await asyncio.shield(self.files.unmount_if_stopped(c.id))
            raise
        self._emit_network_events(c, "connect")
        self._emit_volume_events(c, "mount")
        try:
            if c.mount_points:  # (a thread hop costs ms on a busy machine: none when there is nothing to do)
                await asyncio.to_thread(mounts.check_propagation, c.mount_points)
                await asyncio.to_thread(self._mount_volumes, c)
            pid = await self._launch(c, image, rootfs, sdir, netns, monitor, log_error)
        except BaseException:
            if monitor is not None:
                await monitor.end()  # never told to start
            await self._release(c)
            self.store.save(c)
            await asyncio.shield(self.files.unmount_if_stopped(c.id))
            raise
        c.state.set_running(pid, now_rfc3339())
        c.has_been_started = True
        self.store.save(c)
        self.monitors.set(c.id, monitor)
        self.events.emit("container", "start", c.id, {"image": c.image_ref, "name": c.name})
        self._spawn(self._watch(c.id, monitor))

    def _image_and_rootfs(self, c: Container):
        """(In a thread: the image record is a SQLite read) the container's image and its mounted rootfs."""
        image = self.images.get(c.image_id)
        return image, self.layers.mount_rw(c.id, image.top_chain)

    async def _undo_attach(self, c: Container, network: asyncio.Future) -> None:
        """A start failed before its network events: undo the attach if it succeeded (it undoes itself if not)."""
        await asyncio.wait([network])
        if not network.cancelled() and network.exception() is None:
            await self.networks.detach(c)

    async def _spawn_monitor(self, c: Container, sdir: Path, log: dict | None) -> Monitor:
        """The container's monitor, waiting for "start" (the spec need not be written yet)."""
        await self._runtime_deleted(c.id)
        size = c.host_config.get("ConsoleSize") or [0, 0]
        return await Monitor.spawn(runtime=self.runtime_for(c), container_id=c.id, bundle=sdir, state_dir=sdir,
                                   log=log, tty=c.tty, open_stdin=bool(c.config.get("OpenStdin")),
                                   stdin_once=bool(c.config.get("StdinOnce")),
                                   console_size=tuple(size) if size and size[0] else None, empty_state_dir=True)

    async def _launch(self, c: Container, image, rootfs, sdir: Path, netns: str | None, monitor: Monitor | None,
                      log_error: ValueError | None) -> int:
        if c.host_config.get("IpcMode") == "shareable":  # mounts its /dev/shm: off the loop
            joined, shm_source = await asyncio.to_thread(self._pid_ipc_setup, c)
        else:
            joined, shm_source = self._pid_ipc_setup(c)
        if c.host_config.get("CpuRealtimeRuntime") or c.host_config.get("CpuRealtimePeriod"):
            await asyncio.to_thread(self._init_rt_parent)
        link_env = self.networks.link_env(c)

        def write_bundle_config() -> None:  # off the loop: the spec (seccomp profile included) is ~100 kB of JSON
            spec = build_spec(image_config=image.container_config, config=c.config,
                              host_config=c.host_config, rootfs=str(rootfs),
                              hostname=c.config.get("Hostname") or c.short_id, container_id=c.id,
                              etc_hosts=c.hosts_path, etc_hostname=c.hostname_path, resolv_conf=c.resolv_conf_path,
                              extra_mounts=mounts.oci_mounts(mounts.with_subpaths(c.mount_points)), netns_path=netns,
                              joined_ns=joined, shm_source=shm_source)
            _add_link_env(spec, link_env)
            (sdir / "config.json").write_text(json.dumps(spec))

        await asyncio.to_thread(write_bundle_config)
        if log_error is not None or monitor is None:  # checked when the logger starts, as moby's json-file New()
            message = f"failed to create task for container: failed to initialize logging driver: {log_error}"
            c.state.ExitCode, c.state.Error = 128, message
            self.store.save(c)
            self._resolve_exit(c.id, 128)
            raise SystemError_(message) from None
        for connect in self.monitors.take_pending(c.id):
            await connect(monitor)
        try:
            async with self._launch_slots:
                pid = await monitor.start(wait=True)  # and _watch() learns of the exit on that connection
        except StartError as err:
            await monitor.close()
            c.state.ExitCode, c.state.Error = err.exit_code, err.message
            self.store.save(c)
            self._resolve_exit(c.id, err.exit_code)
            if err.stage == "logger":  # moby creates the logger with the task: its error comes first
                raise SystemError_(f"failed to create task for container: {err.message}") from None
            message = (f"failed to create task for container: failed to create shim task: OCI runtime create failed: "
                       f"{err.message}: unknown")
            if err.exit_code in (126, 127):
                raise InvalidParameter(message) from None
            raise SystemError_(message) from None
        return pid

    def _init_rt_parent(self) -> None:
        """The containers' parent cgroup gets the daemon's real-time budget (cgroup v1, as moby)."""
        if sysinfo.host().cgroup2 or not (self.config.cpu_rt_runtime or self.config.cpu_rt_period):
            return
        try:
            sysinfo.init_rt_parent(CGROUP_PARENT, self.config.cpu_rt_runtime, self.config.cpu_rt_period)
        except OSError as err:
            raise SystemError_(f"failed to init CPU RT controller: {err}") from None

    def _shm_dir(self, cid: str) -> Path:
        return self.data_dir / cid / "shm"

    def _pid_ipc_setup(self, c: Container) -> tuple[dict, str | None]:
        """moby's getPIDContainer/setupIPCDirs at start, with their messages: the PID and IPC namespaces to
        join for `container:<x>` modes, and the host directory to bind as /dev/shm (a tmpfs the daemon mounts
        for a `shareable` container, so that `--ipc container:<it>` sees the same files; the host's for
        `--ipc host`)."""
        joined: dict = {}
        pid_mode, ipc_mode = c.host_config.get("PidMode") or "", c.host_config.get("IpcMode") or "private"
        if pid_mode.startswith("container:"):
            donor = self._namespace_donor(pid_mode.split(":", 1)[1], "failed to join PID namespace")
            joined["pid"] = f"/proc/{donor.state.Pid}/ns/pid"
        if ipc_mode.startswith("container:"):
            ref = ipc_mode.split(":", 1)[1]
            donor = self._namespace_donor(ref, "failed to join IPC namespace")
            donor_mode = donor.host_config.get("IpcMode")
            if donor_mode not in ("shareable", "host"):
                raise InvalidParameter(f"failed to join IPC namespace: container {ref}: non-shareable IPC (hint: use "
                                       f"IpcMode:shareable for the donor container)")
            joined["ipc"] = f"/proc/{donor.state.Pid}/ns/ipc"
            return joined, "/dev/shm" if donor_mode == "host" else str(self._shm_dir(donor.id))
        if ipc_mode == "host":
            if not os.path.isdir("/dev/shm"):
                raise SystemError_("/dev/shm is not mounted, but must be for --ipc=host")
            return joined, "/dev/shm"
        if ipc_mode == "shareable":
            shm = self._shm_dir(c.id)
            shm.mkdir(mode=0o700, exist_ok=True)
            if not is_mountpoint(str(shm)):
                size = int(c.host_config.get("ShmSize") or 67108864)
                mount_fs("shm", str(shm), "tmpfs", f"mode=1777,size={size}",
                         flags=MS_NOSUID | MS_NODEV | MS_NOEXEC)
            return joined, str(shm)
        if ipc_mode not in ("private", "none"):
            raise InvalidParameter(f"invalid IPC mode: {ipc_mode}")
        return joined, None

    def _namespace_donor(self, ref: str, what: str) -> Container:
        """The running container whose namespace a `container:<ref>` mode joins (moby's errNotRunning and
        errContainerIsRestarting name it as the mode does)."""
        try:
            donor = self.store.get(ref)
        except NotFound as err:
            raise InvalidParameter(f"{what}: {err}") from None
        if not donor.state.Running:
            raise Conflict(f"{what}: container {ref} is not running")
        if donor.state.Restarting:
            raise Conflict(f"{what}: Container {ref} is restarting, wait until the container is running")
        return donor

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, cid: str, monitor: Monitor) -> None:
        try:
            status = await monitor.wait_exited()
        except Exception as err:  # the monitor vanished without an exit record
            log.warning("lost monitor of %s: %s", cid[:12], err)
            status = read_exit(self.state_dir(cid))
            if status is None:
                return
        self._deleting[cid] = monitor
        self._spawn(self._forget_when_deleted(cid, monitor))
        await self._on_exit(cid, status.exit_code, status.finished_at, status.oom_killed, status.error)

    async def _forget_when_deleted(self, cid: str, monitor: Monitor) -> None:
        await monitor.deleted()
        if self._deleting.get(cid) is monitor:
            del self._deleting[cid]

    async def _runtime_deleted(self, cid: str) -> None:
        """Wait for the runtime's delete of the container's last run (its monitor runs it after the exit,
        while the daemon cleans up): a start reuses the ID, and a removal leaves nothing behind."""
        monitor = self._deleting.get(cid)
        if monitor is None:
            return
        try:
            await asyncio.wait_for(monitor.deleted(), 30)
        except asyncio.TimeoutError:
            log.warning("the runtime has not deleted %s after 30 s", cid[:12])

    async def _on_exit(self, cid: str, exit_code: int, finished_at: str, oom: bool = False, error: str = "") -> None:
        monitor = self.monitors.pop(cid)
        if monitor is not None:
            await monitor.close()
        try:
            c = self.store.get(cid)
        except NotFound:
            return
        self.execs.forget_container(cid)  # as moby does on exit: they died with the container's PID namespace
        ran_for = _seconds_since(c.state.StartedAt)
        await self._release(c)
        c.state.set_exited(exit_code, finished_at or now_rfc3339(), oom, error)
        restart = self.restarts.should_restart(c)
        removed_next = not restart and c.host_config.get("AutoRemove")
        if not removed_next:  # as dockerd: a stopped container's rootfs is unmounted (a removed one's in the trash)
            self._spawn(self._unmount_after_exit(cid))
        if restart:
            delay = self.restarts.next_delay(cid, ran_for)
            c.restart_count += 1  # counted when scheduled, as moby's handleContainerExit does
            c.state.set_restarting()
        self.store.save(c)
        self.events.emit("container", "die", cid, {"image": c.image_ref, "name": c.name,
                                                     "exitCode": str(exit_code), "execDuration": str(ran_for)})
        self._resolve_exit(cid, exit_code)  # `docker wait` returns on each exit, restart or not (moby)
        if restart:
            self.restarts.schedule(cid, delay)
        elif removed_next:
            try:  # moby's autoRemove: RemoveVolume too, so `run --rm -v /data` leaves no volume
                await self.remove(cid, force=True, volumes=True)
            except NotFound:  # an `rm -f` that killed it removed it already
                pass
            except BaseException:  # not removed: its rootfs is unmounted as any stopped container's
                self._spawn(self._unmount_after_exit(cid))
                raise

    async def _unmount_after_exit(self, cid: str) -> None:
        async with self.store.lock(cid):  # never while a start (which holds the lock) mounts it again
            if not await self.files.unmount_if_stopped(cid):
                return
        if not self.store.exists(cid):
            self.store.forget_lock(cid)  # removed meanwhile: its lock goes too

    async def _release(self, c: Container) -> None:
        """Undo what start set up, with moby's events: the network endpoints, then the volumes."""
        await self.networks.detach(c)
        if c.host_config.get("IpcMode") == "shareable":  # its /dev/shm goes with its run, as moby unmounts it
            await asyncio.to_thread(_unmount_if_there, self._shm_dir(c.id))
        self._emit_network_events(c, "disconnect")
        if c.mount_points:
            await asyncio.to_thread(self._unmount_volumes, c)
        self._emit_volume_events(c, "unmount")

    def _mount_volumes(self, c: Container) -> None:
        """Each volume's driver readies it for this container: a plugin mounts it (and says where), a local
        volume with a device of its own (`-o type=tmpfs -o device=tmpfs`, `-o type=none -o o=bind ...`) is
        mounted on its _data while a running container uses it, as moby's local driver does."""
        for mp in c.mount_points:
            if mp["Type"] == "volume" and self.volumes.needs_mount(mp["Name"]):
                mp["Source"] = self.volumes.mount(mp["Name"], c.id)

    def _unmount_volumes(self, c: Container) -> None:
        for mp in c.mount_points:
            if mp["Type"] != "volume" or not self.volumes.exists(mp["Name"]) or not self.volumes.needs_mount(mp["Name"]):
                continue
            last_user = not any(other.id != c.id and other.state.Running for other in self.store.all()
                                if any(m.get("Name") == mp["Name"] for m in other.mount_points))
            try:
                self.volumes.unmount(mp["Name"], c.id, last_user)
            except (OSError, DockyardError) as err:
                log.warning("could not unmount volume %s: %s", mp["Name"], err)

    def _emit_network_events(self, c: Container, action: str) -> None:
        """`network connect`/`disconnect` for each network the container joins at start and leaves at exit
        (none for container:<id> mode, which has no networks of its own)."""
        for settings in (c.network_settings.get("Networks") or {}).values():
            try:
                n = self.networks.get(settings.get("NetworkID") or "")
            except NotFound:
                continue
            self.events.emit("network", action, n.id, {"container": c.id, "name": n.name, "type": n.driver})

    def _emit_volume_events(self, c: Container, action: str) -> None:
        for mp in c.mount_points:
            if mp["Type"] != "volume":
                continue
            attrs = {"driver": mp.get("Driver") or "local", "container": c.id}
            if action == "mount":  # moby's unmount event carries only driver and container
                attrs.update({"destination": mp["Destination"], "read/write": str(bool(mp.get("RW"))).lower(),
                              "propagation": mp.get("Propagation") or ""})
            self.events.emit("volume", action, mp["Name"], attrs)

    def _resolve_exit(self, cid: str, code: int) -> None:
        for fut in self._exit_waiters.pop(cid, []):
            if not fut.done():
                fut.set_result(code)

    # ------------------------------------------------------------ wait / stop / kill
    async def wait(self, ref: str, condition: str = "not-running") -> dict:
        c = self.store.get(ref)
        check_wait_condition(condition)
        loop = asyncio.get_running_loop()
        if condition == "removed":
            fut = loop.create_future()
            self._remove_waiters.setdefault(c.id, []).append(fut)
            code = await fut
            return {"StatusCode": code, "Error": None}
        if condition in ("not-running", "") and not c.state.reported_running:  # a pending restart waits
            return {"StatusCode": c.state.ExitCode, "Error": None}
        fut = loop.create_future()
        self._exit_waiters.setdefault(c.id, []).append(fut)
        code = await fut
        return {"StatusCode": code, "Error": None}

    async def _await_exit(self, cid: str, timeout: float | None) -> bool:
        c = self.store.get(cid)
        if not c.state.Running:
            return True
        fut = asyncio.get_running_loop().create_future()
        self._exit_waiters.setdefault(cid, []).append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        c = self.store.get(ref)
        if c.state.Restarting and await self.restarts.cancel_pending(c.id):
            self.events.emit("container", "stop", c.id, {"image": c.image_ref, "name": c.name})
            return
        c = self.store.get(c.id)
        if not c.state.Running:
            raise NotModified("container already stopped")
        c.manual_stop = True
        self.store.save(c)
        sig = parse_signal(signal or c.config.get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = c.config.get("StopTimeout")
        if timeout is None:
            timeout = STOP_TIMEOUT_DEFAULT
        rt = self.runtime_for(c)
        await self._signal(rt, c, sig)
        if c.state.Paused:
            await self._thaw(rt, c.id)
        if not await self._await_exit(c.id, None if timeout < 0 else timeout):
            await self._signal(rt, c, 9)
            await self._await_exit(c.id, 30)
        self.events.emit("container", "stop", c.id, {"image": c.image_ref, "name": c.name})

    async def _signal(self, rt: OCIRuntime, c: Container, sig: int) -> None:
        """stop's and rm -f's signals, each with its `kill` event as in moby (even if it raced the exit)."""
        self._emit_kill(c, sig)
        try:
            await rt.kill(c.id, sig)
        except Exception as err:  # it may have exited between our check and the signal
            log.debug("kill %s: %s", c.short_id, err)

    def _emit_kill(self, c: Container, sig: int) -> None:
        # before the signal: the exit it causes (and its `die`) can be handled before `runc kill` returns
        self.events.emit("container", "kill", c.id, {"image": c.image_ref, "name": c.name,
                                                       "signal": str(sig)})

    async def kill(self, ref: str, signal: str | None = None) -> None:
        sig = parse_signal(signal or "SIGKILL")  # moby's route refuses a bad signal before it looks anything up
        c = self.store.get(ref)
        if c.state.Restarting and await self.restarts.cancel_pending(c.id):
            return  # nothing to signal, as in moby's killWithSignal
        c = self.store.get(c.id)
        if not c.state.Running:
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        ends_it = ends_container(c, sig)
        if ends_it:
            c.manual_stop = True  # a user stop for restart policies (moby's ExitOnNext)
            self.store.save(c)
        self._emit_kill(c, sig)
        rt = self.runtime_for(c)
        await rt.kill(c.id, sig)
        if ends_it and c.state.Paused:
            await self._thaw(rt, c.id)
        if sig == 9 and not await self._await_exit(c.id, KILL_WAIT):
            # moby's Kill: SIGKILL returns once the container is down, so inspect and rm right after see it
            log.warning("container %s did not exit %ss after SIGKILL", c.short_id, KILL_WAIT)

    async def _thaw(self, rt: OCIRuntime, cid: str) -> None:
        """Resume a paused container after its kill or stop signal, so that the signal lands (moby's
        killWithSignal); the resume is its `unpause`. The signal may have ended it as it thawed."""
        try:
            await rt.resume(cid)
        except Exception as err:
            log.debug("resume %s: %s", cid[:12], err)
        try:
            c = self.store.get(cid)
        except NotFound:
            return
        if c.state.Running and c.state.Paused:
            c.state.Paused, c.state.Status = False, "running"
            self.store.save(c)
            self.events.emit("container", "unpause", cid, {"image": c.image_ref, "name": c.name})

    async def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        c = self.store.get(ref)
        if c.state.reported_running:  # stop also cancels a pending restart
            await self.stop(c.id, timeout, signal)
        async with self.store.lock(c.id):
            c = self.store.get(c.id)
            c.manual_stop = False
            if not c.state.Running:
                await self._start(c)
        self.events.emit("container", "restart", c.id, {"image": c.image_ref, "name": c.name})

    async def pause(self, ref: str) -> None:
        c = self.store.get(ref)
        if not c.state.Running:
            raise Conflict(f"Container {c.id} is not running")
        if c.state.Paused:
            raise Conflict(f"Container {c.id} is already paused")
        await self.runtime_for(c).pause(c.id)
        c.state.Paused, c.state.Status = True, "paused"
        self.store.save(c)
        self.events.emit("container", "pause", c.id, {"image": c.image_ref, "name": c.name})

    async def unpause(self, ref: str) -> None:
        c = self.store.get(ref)
        if not c.state.Paused:
            raise Conflict(f"Container {c.id} is not paused")
        await self.runtime_for(c).resume(c.id)
        c.state.Paused, c.state.Status = False, "running"
        self.store.save(c)
        self.events.emit("container", "unpause", c.id, {"image": c.image_ref, "name": c.name})

    # ------------------------------------------------------------ remove
    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        c = self.store.get(ref)
        if c.id in self._removing:
            raise Conflict(f"removal of container {ref} is already in progress")
        self._removing.add(c.id)
        try:
            await self._remove(c, force, volumes)
        finally:
            self._removing.discard(c.id)

    async def _remove(self, c: Container, force: bool, volumes: bool) -> None:
        # Under the container's lock, with its state read again there: a start that raced this removal has
        # either finished (the container is running and is killed here) or will find no record.
        async with self.store.lock(c.id):
            c = self.store.get(c.id)
            if c.state.reported_running:
                if not force:
                    what = "container is restarting" if c.state.Restarting else \
                        "container is paused" if c.state.Paused else "container is running"
                    raise Conflict(f'cannot remove container "/{c.name}": {what}: stop the container before '
                                   f"removing or force remove")
                c.manual_stop = True
                if c.state.Restarting and not c.state.Running:  # a pending restart: it stays down
                    self.restarts.cancel(c)
                self.store.save(c)
                if c.state.Running:
                    rt = self.runtime_for(c)
                    await self._signal(rt, c, 9)
                    if c.state.Paused:
                        await self._thaw(rt, c.id)
                    await self._await_exit(c.id, 30)
                c = self.store.get(c.id)
            exit_code = c.state.ExitCode
            self.execs.forget_container(c.id)
            await self.networks.detach(c)
            await asyncio.to_thread(self._remove_files, c.id)
            await self._runtime_deleted(c.id)
            self.store.delete(c.id)
            if volumes and c.mount_points:  # rm -v, --rm, build steps: its anonymous volumes go; named ones stay
                await asyncio.to_thread(self._remove_anonymous_volumes, c)
        self.store.forget_lock(c.id)
        self.restarts.forget(c.id)
        self.networks.forget(c.id)
        # the record is gone already: the labels come from here, not from the event bus's lookup
        self.events.emit("container", "destroy", c.id, {**(c.config.get("Labels") or {}),
                                                          "image": c.image_ref, "name": c.name})
        for fut in self._remove_waiters.pop(c.id, []):
            if not fut.done():
                fut.set_result(exit_code)

    def _remove_anonymous_volumes(self, c: Container) -> None:
        for mp in c.mount_points:
            name = mp.get("Name") or ""
            if mp["Type"] != "volume" or not self.volumes.is_anonymous(name) or self.store.users_of_volume(name):
                continue
            try:
                self.volumes.remove(name, [])
            except DockyardError as err:  # the container is gone already: its removal stands (moby logs too)
                log.warning("could not remove volume %s of %s: %s", name, c.short_id, err)
                continue
            self.events.emit("volume", "destroy", name, {"driver": mp.get("Driver") or "local"})

    def _remove_files(self, cid: str) -> None:
        self.layers.remove_rw(cid)
        remove_tree(self.data_dir / cid, self.trash)
        # under the exec root: through the trash where that is on the data root's filesystem, else here
        remove_tree(self.state_dir(cid), self.trash)

    def _undo_create(self, cid: str) -> None:
        if self.store.exists(cid):  # saved just before the request was cancelled
            self.store.delete(cid)
        self._remove_files(cid)

    async def prune(self, filters: Filters) -> dict:
        filters.validate({"until", "label", "label!"})
        until = None
        if filters.has("until"):
            until = parse_time_filter(filters.one("until"))
        deleted, reclaimed = [], 0
        for c in self.store.all():
            if c.state.Running or c.state.Restarting:
                continue
            if not filters.match_labels(c.config.get("Labels") or {}):
                continue
            if until is not None and parse_rfc3339(c.created) > until:
                continue
            reclaimed += dir_size(self.layers.driver.upper(c.id))
            await self.remove(c.id)
            deleted.append(c.id)
        self.events.emit("container", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # ------------------------------------------------------------ inspect / list
    def inspect(self, ref: str, size: bool = False) -> dict:
        c = self.store.get(ref)
        rw_upper = self.layers.driver.upper(c.id)
        graph = {"Name": self.layers.driver.name,
                 "Data": {"UpperDir": str(rw_upper), "MergedDir": str(self.layers.rw_root(c.id)),
                          "WorkDir": str(rw_upper.parent / "work")}}
        data = c.inspect(c.image_ref, graph, self._sizes(c) if size else None)
        data["ExecIDs"] = self._running_exec_ids(c.id)
        return data

    def _running_exec_ids(self, cid: str) -> list[str] | None:
        ids = self.execs.running_ids(cid)
        return ids or None  # docker shows null, not [], when there are none

    def _sizes(self, c: Container) -> dict:
        rw = dir_size(self.layers.driver.upper(c.id))
        try:
            image_size = self.images.get(c.image_id).size
        except NotFound:
            image_size = 0
        return {"SizeRw": rw, "SizeRootFs": rw + image_size}

    def list(self, all_: bool = False, limit: int | None = None, size: bool = False,
             filters: Filters | None = None) -> list[dict]:
        from .container_filters import ContainerFilter

        filters = filters or Filters({})
        selector = ContainerFilter(filters, self)
        containers = self.store.listed()
        if limit is not None and limit > 0:
            all_ = True
        out = []
        shown: dict[tuple[str, str], str] = {}  # listed_image per (name, image): resolved once per list
        for c in containers:
            # a status filter lists stopped containers too; `exited` alone does not (moby: only with -a)
            if not all_ and not c.state.reported_running and not filters.has("status"):
                continue
            if not selector.match(c):
                continue
            key = (c.image_ref, c.image_id)
            image = shown[key] if key in shown else shown.setdefault(key, self.listed_image(c))
            out.append(c.summary(image, self._sizes(c) if size else None))
            if limit is not None and 0 < limit <= len(out):
                break
        return out

    def disk_usage(self) -> list[dict]:
        return [c.summary(self.listed_image(c), self._sizes(c)) for c in self.store.listed()]

    async def rename(self, ref: str, new_name: str) -> None:
        c = self.store.get(ref)
        new_name = validate_name(new_name)
        if new_name == c.name:
            raise InvalidParameter("Renaming a container with the same name as its current name")
        other = self.store.id_named(new_name)
        if other:
            raise Conflict(f'Error when allocating new name: Conflict. The container name "/{new_name}" is already '
                           f'in use by container "{other}". You have to remove (or rename) that container to '
                           f"be able to reuse that name.")
        old = c.name
        c.name = new_name
        self.store.reserve_name(new_name, c.id)  # (ours while the endpoints are renamed)
        try:
            await self.networks.renamed(c, old)  # the embedded DNS answers to the new name
            self.store.save(c)
        finally:
            self.store.release_name(new_name)
        self.events.emit("container", "rename", c.id, {"image": c.image_ref, "name": new_name,
                                                         "oldName": "/" + old})

    async def top(self, ref: str, ps_args: str = "-ef") -> dict:
        c = self.store.get(ref)
        if not c.state.Running:
            raise Conflict(f"Container {c.id} is not running")
        pids = await self.runtime_for(c).ps(c.id)
        proc = await blocking.run(["ps", *(ps_args.split() or ["-ef"])], capture_output=True)
        if proc.returncode != 0:  # moby: "ps: " and the first line of ps's complaint
            first_line = proc.stderr.decode(errors="replace").split("\n", 1)[0]
            raise SystemError_(f"ps: {first_line or f'exit status {proc.returncode}'}")
        lines = proc.stdout.decode().splitlines()
        titles = lines[0].split()
        if "PID" not in titles:
            raise SystemError_("Couldn't find PID field in ps output")
        pid_col = titles.index("PID")
        procs = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
                procs.append(fields)
        self.events.emit("container", "top", c.id, {"image": c.image_ref, "name": c.name})  # as moby
        return {"Titles": titles, "Processes": procs}

    # ------------------------------------------------------------ daemon restart
    async def restore(self) -> None:
        """Re-adopt containers whose monitors survived; record exits that happened while we were away."""
        await self._settle_monitors()
        await self._end_orphans()
        await self.networks.prepare()
        for c in self.store.all():
            if c.state.Running:
                try:
                    monitor = await Monitor.connect(self.state_dir(c.id))
                except (LookupError, OSError):
                    status = read_exit(self.state_dir(c.id))
                    code = status.exit_code if status else 255
                    finished = status.finished_at if status else now_rfc3339()
                    await self._on_exit(c.id, code, finished)
                    continue
                self.monitors.set(c.id, monitor)
                self._spawn(self._watch(c.id, monitor))
            elif c.state.Restarting or (c.has_been_started and restarts_with_daemon(c)):
                if not c.state.Restarting:  # moby starts it with a fresh restart manager: count and stop forgotten
                    c.manual_stop, c.restart_count = False, 0
                c.state.set_restarting()
                self.store.save(c)
                self.restarts.schedule(c.id, self.restarts.next_delay(c.id, 0))
        await self.networks.sweep([c for c in self.store.all() if c.state.Running])

    async def _settle_monitors(self) -> None:
        """Monitors a killed daemon left: those never told to start are ended; a container whose monitor runs
        its process is adopted as running even if the kill came before its start was recorded (left "created",
        its process would outlive its removal)."""
        dirs = [d for root in (self.state_root, self.config.exec_root / "x") if root.is_dir() for d in root.iterdir()]
        running = await settle_monitors(dirs)
        for c in self.store.all():
            pid = running.get(self.state_dir(c.id))
            if pid and not c.state.Running:
                log.info("adopting %s: its process runs though its start was never recorded", c.short_id)
                c.state.set_running(pid, now_rfc3339())
                c.has_been_started = True
                self.store.save(c)

    async def _end_orphans(self) -> None:
        """Containers the runtimes run that no record knows (a daemon killed mid-`rm`): ended, their files
        removed; their network endpoints go in restore's network sweep."""
        runtimes = [self._runtime(name) for name in self.config.runtimes]
        for cid in await end_orphans(runtimes, set(self.store.ids()), self.state_root):
            try:
                await asyncio.to_thread(self._remove_files, cid)
            except OSError as err:
                log.warning("files of orphaned container %s: %s", cid[:12], err)

    async def shutdown(self) -> None:
        await self.networks.shutdown()
        for task in list(self._tasks):
            task.cancel()
        for monitor in self.monitors.all():
            await monitor.close()

    async def update(self, ref: str, body: dict) -> dict:
        c = self.store.get(ref)
        body = check_update_body(body)
        resources = {k: body[k] for k in UPDATE_RESOURCE_KEYS if body.get(k) not in (None, 0, "")}
        validate_resources(resources, update=True)  # the request alone, as moby's verifyContainerSettings
        # a cpuset, weight or share the host refuses changes nothing; what it cannot apply is dropped (warned)
        warnings = validate_platform_resources(resources)
        if "RestartPolicy" in body and body["RestartPolicy"]:
            if c.host_config.get("AutoRemove") and (body["RestartPolicy"].get("Name") or "no") != "no":
                raise InvalidParameter("Restart policy cannot be updated because AutoRemove is enabled for the container")
            c.host_config["RestartPolicy"] = body["RestartPolicy"]
        conflict = update_conflict(c.host_config, resources)
        if conflict:
            raise Conflict(f"Cannot update container {c.id}: {conflict}")
        c.host_config.update(resources)
        _validate_host_config(c.host_config)
        if resources and c.state.Running:
            if resources.get("CpuRealtimeRuntime") or resources.get("CpuRealtimePeriod"):
                await asyncio.to_thread(self._init_rt_parent)
            try:
                await self.runtime_for(c).update(c.id, resources)
            except SystemError_ as err:  # the record keeps the limits the container still has
                raise SystemError_(f"Cannot update container {c.id}: {err}") from None
        self.store.save(c)
        self.events.emit("container", "update", c.id, {"image": c.image_ref, "name": c.name})
        return {"Warnings": warnings}


def merge_image_config(config: dict, image_config: dict) -> dict:
    """Fill a create request from the image's defaults, as moby's merge() does."""
    merged = dict(config)
    if not merged.get("User"):
        merged["User"] = image_config.get("User", "")
    env = list(image_config.get("Env") or [])
    for e in merged.get("Env") or []:
        key = e.split("=", 1)[0]
        env = [x for x in env if x.split("=", 1)[0] != key] + [e]
    merged["Env"] = env
    ports = dict(image_config.get("ExposedPorts") or {})
    ports.update(merged.get("ExposedPorts") or {})
    if ports:
        merged["ExposedPorts"] = ports
    labels = dict(image_config.get("Labels") or {})
    labels.update(merged.get("Labels") or {})
    merged["Labels"] = labels
    if not merged.get("Entrypoint"):  # moby's rule: an explicit entrypoint drops the image's Cmd
        if not merged.get("Cmd"):
            merged["Cmd"] = image_config.get("Cmd")
        if merged.get("Entrypoint") is None:
            merged["Entrypoint"] = image_config.get("Entrypoint")
    if not merged.get("WorkingDir"):
        merged["WorkingDir"] = image_config.get("WorkingDir", "")
    volumes = dict(image_config.get("Volumes") or {})
    volumes.update(merged.get("Volumes") or {})
    merged["Volumes"] = volumes or None
    for key in ("StopSignal", "Healthcheck", "OnBuild", "Shell"):
        if not merged.get(key) and image_config.get(key):
            merged[key] = image_config[key]
    for key, default in (("Tty", False), ("OpenStdin", False), ("StdinOnce", False), ("AttachStdin", False),
                         ("AttachStdout", False), ("AttachStderr", False), ("Domainname", ""), ("Hostname", "")):
        merged.setdefault(key, default)
    return merged


def _unmount_if_there(path: Path) -> None:
    if path.is_dir():
        unmount_fs(str(path))


def _log_spec_of(c: Container) -> tuple[dict | None, ValueError | None]:
    """The log drivers' spec, or the error that fails the start once its network is up (as before)."""
    try:
        return log_spec(c), None
    except ValueError as err:
        return None, err


def reset_empty_entrypoint(merged: dict) -> dict:
    """`--entrypoint ""` arrives as [""]: it means "no entrypoint" once the image's defaults are merged
    (and it has already kept the image's Cmd out), as in moby's mergeAndVerifyConfig."""
    if merged.get("Entrypoint") == [""]:
        merged["Entrypoint"] = None
    return merged




def ends_container(c: Container, sig: int) -> bool:
    """moby's killWithSignal: SIGKILL, the container's stop signal, or any signal when it has none set, is
    meant to end it: restart policies stay out (ExitOnNext) and a paused container is resumed to take it."""
    stop_signal = c.config.get("StopSignal")
    return sig == 9 or not stop_signal or parse_signal(stop_signal) == sig


def _validate_host_config(hc: dict) -> None:
    validate_log_config(hc)
    _validate_restart_policy(hc.get("RestartPolicy") or {})
    policy = (hc.get("RestartPolicy") or {}).get("Name") or "no"
    if hc.get("AutoRemove") and policy != "no":
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
    validate_port_bindings(hc.get("PortBindings") or {})


RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")


def _validate_restart_policy(policy: dict) -> None:
    """moby's ValidateRestartPolicy, word for word (an empty name is the pre-25 default and stays valid)."""
    name, count = policy.get("Name") or "", int(policy.get("MaximumRetryCount") or 0)
    if name in ("no", "always", "unless-stopped") and count:
        raise InvalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'"
                               + (" and cannot be negative" if count < 0 else ""))
    if name == "on-failure" and count < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    if name and name not in RESTART_POLICIES:
        names = ", ".join(f"'{n}'" for n in RESTART_POLICIES[:-1])
        raise InvalidParameter(f"invalid restart policy: unknown policy '{name}'; use one of {names}, or "
                               f"'{RESTART_POLICIES[-1]}'")




def _seconds_since(rfc3339: str) -> int:
    """Whole seconds since a start time (die's execDuration)."""
    return max(0, int(time.time() - parse_rfc3339(rfc3339)))


def _host_config_defaults(hc: dict) -> dict:
    hc = dict(hc)
    hc.setdefault("NetworkMode", "bridge")
    if not hc.get("NetworkMode") or hc["NetworkMode"] == "default":
        hc["NetworkMode"] = "bridge"
    hc["RestartPolicy"] = hc.get("RestartPolicy") or {"Name": "no", "MaximumRetryCount": 0}
    if not hc["RestartPolicy"].get("Name"):
        hc["RestartPolicy"]["Name"] = "no"
    # moby's mergeAndVerifyLogConfig: the CLI sends {"Type": "", "Config": {}}; inspect shows the driver used
    log_config = dict(hc.get("LogConfig") or {})
    hc["LogConfig"] = {**log_config, "Type": log_config.get("Type") or "json-file",
                       "Config": log_config.get("Config") or {}}
    for key, default in (("Binds", None), ("PortBindings", {}), ("AutoRemove", False), ("Privileged", False),
                         ("PublishAllPorts", False), ("ReadonlyRootfs", False), ("CapAdd", None), ("CapDrop", None),
                         ("ShmSize", 67108864)):
        hc.setdefault(key, default)
    if hc.get("ShmSize") in (None, 0):
        hc["ShmSize"] = 67108864
    if hc.get("Init") is None:
        hc.pop("Init", None)  # unset: the daemon's default (Go omits the null)
    return _adapted_settings(hc)


def _adapted_settings(hc: dict) -> dict:
    """What moby's adaptContainerSettings and create fill in, so inspect shows what the container gets."""
    if hc.get("Memory") and not hc.get("MemorySwap"):
        hc["MemorySwap"] = 2 * int(hc["Memory"])  # swap defaults to twice the memory limit
    hc["IpcMode"] = hc.get("IpcMode") or "private"
    # runtime/spec.py unshares the cgroup namespace unless told "host" (moby on cgroup v1 would say host)
    hc["CgroupnsMode"] = hc.get("CgroupnsMode") or "private"
    if hc.get("OomKillDisable") is None:
        hc["OomKillDisable"] = False
    if not hc.get("Privileged"):  # the paths runtime/spec.py masks and makes read-only
        hc["MaskedPaths"] = hc.get("MaskedPaths") if hc.get("MaskedPaths") is not None else list(MASKED_PATHS)
        hc["ReadonlyPaths"] = hc.get("ReadonlyPaths") if hc.get("ReadonlyPaths") is not None else list(READONLY_PATHS)
    hc["ConsoleSize"] = hc.get("ConsoleSize") or [0, 0]
    return hc


def _add_link_env(spec: dict, env: list[str]) -> None:
    """Legacy links' variables go under the container's own: a variable the container sets wins (moby)."""
    own = {e.partition("=")[0] for e in spec["process"]["env"]}
    spec["process"]["env"] = [e for e in env if e.partition("=")[0] not in own] + spec["process"]["env"]


def _empty_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
