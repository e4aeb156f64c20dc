"""A container's LogConfig turned into what its monitor logs with (runtime/logdrivers), and the checks
create makes of it: moby's logger.ValidateLogOpts, and the defaults inspect shows."""
from __future__ import annotations

import socket

from ..errors import InvalidParameter
from ..runtime import logdrivers
from .container_record import Container
from .log_attrs import log_attributes


def validate(host_config: dict) -> None:
    log_config = host_config.get("LogConfig") or {}
    try:
        logdrivers.validate(log_config.get("Type") or "json-file", log_config.get("Config") or {})
    except ValueError as err:
        raise InvalidParameter(str(err)) from None


def log_spec(c: Container) -> dict | None:
    """The monitor's log spec; ValueError (moby's words) for values that fail the start, as its drivers'
    New() do: rotation sizes, attribute regexes, tag templates."""
    log_config = c.host_config.get("LogConfig") or {}
    driver, opts = log_config.get("Type") or "json-file", log_config.get("Config") or {}
    if driver == "none":
        return None
    info = logdrivers.ContainerInfo(
        id=c.id, name=c.name, image_id=c.image_id, image_name=c.config.get("Image") or "",
        command=c.command_line(), created=c.created, hostname=socket.gethostname(),
        attrs=log_attributes(opts, c.config.get("Labels") or {}, c.config.get("Env") or []))
    return logdrivers.spec(driver, opts, info, c.log_path)
