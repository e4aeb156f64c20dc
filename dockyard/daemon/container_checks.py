"""Checks of a create or update request that moby makes before anything is created: resource limits, port
specifications and the image's platform, with moby's messages (errors are 400 unless said otherwise)."""
from __future__ import annotations

import ipaddress
import json
import os
import posixpath
import re

from ..errors import InvalidParameter, NotFound
from ..registry.client.platform import Platform, matches, parse_platform
from ..runtime.spec import CAP_NAMES, security_options
from ..signals import parse_signal

UPDATE_RESOURCE_KEYS = ("Memory", "MemorySwap", "MemoryReservation", "CpuShares", "CpuPeriod", "CpuQuota",
                        "NanoCpus", "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight", "CpuRealtimePeriod",
                        "CpuRealtimeRuntime")
MIN_MEMORY = 6 * 1024 * 1024  # moby's linuxMinMemory


def validate_resources(hc: dict, update: bool = False) -> None:
    """moby's verifyPlatformContainerResources: the checks that do not depend on the kernel, in its words."""
    memory, swap = int(hc.get("Memory") or 0), int(hc.get("MemorySwap") or 0)
    reservation = int(hc.get("MemoryReservation") or 0)
    if memory and memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if memory > 0 and swap > 0 and swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if not memory and swap > 0 and not update:
        raise InvalidParameter("You should always set the Memory limit when using Memoryswap limit, see usage")
    if 0 < reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation limit, see usage")
    _validate_cpu(hc)


def _validate_cpu(hc: dict) -> None:
    nano, period, quota = int(hc.get("NanoCpus") or 0), int(hc.get("CpuPeriod") or 0), int(hc.get("CpuQuota") or 0)
    if nano > 0 and period > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    cpus = os.cpu_count() or 1
    if nano < 0 or nano > cpus * 10**9:
        raise InvalidParameter(f"range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available")
    if period and not 1000 <= period <= 1000000:
        raise InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if 0 < quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")


def validate_config(config: dict) -> None:
    """moby's validateContainerConfig, on the request's Config before the image's defaults are merged (so
    before the image is even looked up): WorkingDir absolute (and cleaned, as moby stores it), StopSignal a
    signal, each Env entry named, Healthcheck durations at least 1ms."""
    workdir = config.get("WorkingDir") or ""
    if workdir:
        if not workdir.startswith("/"):
            raise InvalidParameter(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
        config["WorkingDir"] = "/" + posixpath.normpath(workdir).lstrip("/")
    stop_signal = config.get("StopSignal") or ""
    # moby/sys/signal.ParseSignal: any non-zero number, or a name it knows
    if stop_signal and not re.fullmatch(r"-?\d+", stop_signal.strip()):
        parse_signal(stop_signal)
    elif stop_signal and int(stop_signal) == 0:
        raise InvalidParameter(f"invalid signal: {stop_signal}")
    for env in config.get("Env") or []:
        if not env.partition("=")[0]:
            raise InvalidParameter(f"invalid environment variable: {env}")
    health = config.get("Healthcheck") or {}
    for key in ("Interval", "Timeout", "Retries", "StartPeriod", "StartInterval"):  # moby's order
        value = int(health.get(key) or 0)
        if key == "Retries":
            if value < 0:
                raise InvalidParameter("Retries in Healthcheck cannot be negative")
        elif value and value < 1_000_000:  # containertypes.MinimumDuration
            raise InvalidParameter(f"{key} in Healthcheck cannot be less than 1ms")


def validate_net_mode(config: dict, hc: dict) -> None:
    """runconfig's validateNetMode, checked as moby decodes a create request."""
    if hc.get("UTSMode") == "host" and config.get("Hostname"):
        raise InvalidParameter("conflicting options: hostname and the UTS mode")
    if hc.get("NetworkMode") == "host" and hc.get("Links"):
        raise InvalidParameter("conflicting options: host type networking can't be used with links. This would "
                               "result in undefined behavior")
    if (hc.get("NetworkMode") or "").startswith("container:"):
        _validate_net_container_mode(config, hc)


def _validate_net_container_mode(config: dict, hc: dict) -> None:
    """validateNetContainerMode: a container sharing another's network takes its name, /etc files and ports."""
    conflicts = [(config.get("Hostname"), "hostname and the network mode"),
                 (hc.get("Links"), "container type network can't be used with links. This would result in "
                                   "undefined behavior"),
                 (hc.get("Dns"), "dns and the network mode"),
                 (hc.get("ExtraHosts"), "custom host-to-IP mapping and the network mode"),
                 (hc.get("PortBindings") or hc.get("PublishAllPorts"),
                  "port publishing and the container type network mode"),
                 (config.get("ExposedPorts"), "port exposing and the container type network mode")]
    for value, message in conflicts:
        if value:
            raise InvalidParameter(f"conflicting options: {message}")




def validate_host_config_settings(hc: dict) -> None:
    """The parts of moby's validateHostConfig and create-time checks not done elsewhere, in its words:
    ExtraHosts, CapAdd/CapDrop, SecurityOpt and the log driver's option names."""
    for entry in hc.get("ExtraHosts") or []:
        # opts.ValidateExtraHost (older clients may still send name=ip)
        name, sep, address = entry.partition(":") if ":" in entry else entry.partition("=")
        if not sep or not name:
            raise InvalidParameter(f"bad format for add-host: {json.dumps(entry)}")
        if address != "host-gateway":
            bare = address[1:-1] if len(address) > 2 and address[0] == "[" and address[-1] == "]" else address
            try:
                ipaddress.ip_address(bare)
            except ValueError:
                raise InvalidParameter(f"invalid IP address in add-host: {json.dumps(bare)}") from None
    for key in ("CapAdd", "CapDrop"):
        for cap in hc.get(key) or []:
            name = cap.upper() if cap.upper().startswith("CAP_") else "CAP_" + cap.upper()
            if cap.upper() != "ALL" and name[4:] not in CAP_NAMES:
                raise InvalidParameter(f"invalid {key}: unknown capability: {json.dumps(name)}")
    security_options(hc.get("SecurityOpt") or [])


def update_conflict(current: dict, resources: dict) -> str:
    """moby's Container.UpdateContainer checks of an update against the limits already set ("" if none)."""
    nano, period, quota = (resources.get(k) or 0 for k in ("NanoCpus", "CpuPeriod", "CpuQuota"))
    if nano > 0 and (current.get("CpuPeriod") or 0) > 0:
        return "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
    if nano > 0 and (current.get("CpuQuota") or 0) > 0:
        return "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
    if period > 0 and (current.get("NanoCpus") or 0) > 0:
        return "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
    if quota > 0 and (current.get("NanoCpus") or 0) > 0:
        return "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
    memory = resources.get("Memory") or 0
    if memory and memory > (current.get("MemorySwap") or 0) and not resources.get("MemorySwap"):
        return ("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at "
                "the same time")
    return ""


def validate_port_bindings(bindings: dict) -> None:
    """moby's validatePortBindings: each key's port a number, each HostPort a port or a range."""
    for key, entries in bindings.items():
        port = key.partition("/")[0]
        if not _is_port(port):
            raise InvalidParameter(f"invalid port specification: {json.dumps(port)}")
        for entry in entries or []:
            host_port = (entry or {}).get("HostPort") or ""
            if not _is_port_range(host_port.partition("/")[0]):
                raise InvalidParameter(f"invalid port specification: {json.dumps(host_port)}")


def validate_exposed_ports(exposed: dict) -> None:
    for key in exposed:
        port = key.partition("/")[0]
        if not _is_port_range(port) or not port:
            raise InvalidParameter(f"invalid port specification: {json.dumps(port)}")


def _is_port(text: str) -> bool:
    """nat.ParsePort: empty (any port) or a decimal number that fits 16 bits."""
    return text == "" or (text.isdigit() and int(text) <= 65535)


def _is_port_range(text: str) -> bool:
    """nat.ParsePortRange: a port, or `start-end` with start <= end."""
    start, dash, end = text.partition("-")
    if not dash:
        return _is_port(text)
    return bool(start and end) and _is_port(start) and _is_port(end) and int(start) <= int(end)


def check_image_platform(image_ref: str, image_config: dict, want: Platform) -> None:
    """`create --platform`: the local image must be for that platform. Not found otherwise (moby's words), so
    clients such as docker-py pull the right one and try again."""
    if matches(want, image_config):
        return
    have = Platform(image_config.get("os", ""), image_config.get("architecture", ""), image_config.get("variant", ""))
    raise NotFound(f"image with reference {image_ref} was found but its platform ({have}) does not match the "
                   f"specified platform ({want})")


# containerd's platforms.Parse: what a specifier may be made of, and the OS names it knows
_PLATFORM_COMPONENT = re.compile(r"^[A-Za-z0-9_.-]+$")
_KNOWN_OS = {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
             "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"}
_KNOWN_ARCH = {"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
               "ppc64le", "riscv64", "s390x", "wasm", "x86_64", "aarch64", "i386", "armhf", "armel"}


def parse_create_platform(spec: str) -> Platform:
    """`create?platform=`: a bad specifier is a 400 in containerd's words, a good one normalised."""
    if "*" in spec:
        raise InvalidParameter(f"{json.dumps(spec)}: wildcards not yet supported: invalid argument")
    parts = spec.split("/", 3)
    for part in parts:
        if not _PLATFORM_COMPONENT.match(part):
            raise InvalidParameter(f"{json.dumps(part)} is an invalid component of {json.dumps(spec)}: platform "
                                   f"specifier component must match \"{_PLATFORM_COMPONENT.pattern}\": "
                                   f"invalid argument")
    if len(parts) > 3:
        raise InvalidParameter(f"{json.dumps(spec)}: cannot parse platform specifier: invalid argument")
    if len(parts) == 1 and parts[0].lower() not in _KNOWN_OS | _KNOWN_ARCH:
        raise InvalidParameter(f"{json.dumps(spec)}: unknown operating system or architecture: invalid argument")
    return parse_platform(spec)
