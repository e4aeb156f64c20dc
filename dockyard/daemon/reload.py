"""SIGHUP: dockerd's live configuration reload. The daemon.json given with --config-file is read again and
the options dockerd changes without a restart are applied; a `daemon reload` event tells the clients. Keys
the file does not name keep their values, other options wait for a restart, and a bad file changes nothing:
the error is logged, as dockerd does."""
from __future__ import annotations

import json
import logging
import socket

from ..errors import DockyardError, InvalidParameter
from .config import DaemonConfig

log = logging.getLogger("dockyard.daemon")

RELOADABLE = ("log-level", "insecure-registries", "registry-mirrors", "runtimes", "default-runtime")
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


def reload_config(svc) -> dict | None:
    """Apply the reloadable options of the config file; returns the event sent, None if nothing was done."""
    config: DaemonConfig = svc.config
    if config.config_file is None:
        log.info("SIGHUP: no --config-file to reload")
        return None
    try:
        changes = read_reloadable(config)
    except DockyardError as err:
        log.error("%s", err)
        return None
    for attr, value in changes.items():
        setattr(config, attr, value)
    logging.getLogger().setLevel(getattr(logging, config.log_level.upper(), logging.INFO))
    if svc.registry is not None:
        svc.registry.hosts.configure(config.insecure_registries, config.registry_mirrors)
    log.info("reloaded %s: %s", config.config_file, ", ".join(sorted(changes)) or "nothing changed")
    return svc.events.emit("daemon", "reload", svc.system.daemon_id, reload_attributes(config))


def read_reloadable(config: DaemonConfig) -> dict:
    """The new values (by DaemonConfig attribute) the file sets, all checked before any is applied."""
    data = DaemonConfig.read_file(config.config_file)  # its errors name the file already
    try:
        return _reloadable_values(config, data)
    except InvalidParameter as err:
        raise InvalidParameter(f"unable to configure the Docker daemon with file {config.config_file}: {err}") \
            from None


def _reloadable_values(config: DaemonConfig, data: dict) -> dict:
    both = sorted(k for k in data if k in config.flag_keys)
    if both:
        raise InvalidParameter(f"the following directives are specified both as a flag and in the configuration "
                               f"file: {', '.join(both)}")
    changes = {}
    for key in RELOADABLE:
        if key not in data:
            continue
        value = data[key]
        if key == "log-level" and value not in LOG_LEVELS:
            raise InvalidParameter(f"unable to parse logging level: {value}")
        if key in ("insecure-registries", "registry-mirrors") and not _strings(value):
            raise InvalidParameter(f"{key} must be a list of strings")
        if key == "runtimes":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise InvalidParameter("runtimes must map names to {\"path\": ...}")
            if "runc" in value:
                raise InvalidParameter("runtime name 'runc' is reserved")
            value = {"runc": config.runtimes.get("runc", {"path": "runc"}), **value}
        changes[DaemonConfig.JSON_KEYS[key]] = value
    runtimes = changes.get("runtimes", config.runtimes)
    default = changes.get("default_runtime", config.default_runtime)
    if default not in runtimes:
        raise InvalidParameter(f"default runtime {default} does not exist")
    return changes


def reload_attributes(config: DaemonConfig) -> dict:
    """moby's reload event attributes (the options we have), plus the daemon's name."""
    return {
        "debug": "true" if config.log_level == "debug" else "false",
        "default-runtime": config.default_runtime,
        "insecure-registries": json.dumps(config.insecure_registries),
        "registry-mirrors": json.dumps(config.registry_mirrors),
        "runtimes": " ".join(sorted(config.runtimes)),
        "name": socket.gethostname(),
    }


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
