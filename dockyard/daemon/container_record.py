"""A container's persistent record, its state machine, and the JSON shapes docker clients read."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from ..runtime.logdrivers import reads_locally
from ..units import human_duration
from ..timefmt import ZERO_TIME, parse_rfc3339


@dataclass
class State:
    Status: str = "created"  # created running paused restarting removing exited dead
    Running: bool = False
    Paused: bool = False
    Restarting: bool = False
    OOMKilled: bool = False
    Dead: bool = False
    Pid: int = 0
    ExitCode: int = 0
    Error: str = ""
    StartedAt: str = ZERO_TIME
    FinishedAt: str = ZERO_TIME
    Health: dict | None = None  # {"Status", "FailingStreak", "Log"} for containers with a health check

    def set_running(self, pid: int, started_at: str) -> None:
        self.Status, self.Running, self.Paused, self.Restarting = "running", True, False, False
        self.Pid, self.ExitCode, self.Error, self.StartedAt = pid, 0, "", started_at
        self.OOMKilled = False

    def set_exited(self, exit_code: int, finished_at: str, oom: bool = False, error: str = "") -> None:
        self.Status, self.Running, self.Paused, self.Restarting = "exited", False, False, False
        self.Pid, self.ExitCode, self.FinishedAt, self.OOMKilled = 0, exit_code, finished_at, oom
        self.Error = error

    def set_restarting(self) -> None:
        """After set_exited, when the restart policy brings it back: moby's SetRestarting."""
        self.Status, self.Restarting = "restarting", True

    @property
    def reported_running(self) -> bool:
        """moby's Running, which stays true while a restart is pending (our Running is "the process is
        alive"): what inspect, ps and rm's checks go by."""
        return self.Running or self.Restarting

    def human(self, now: float | None = None) -> str:
        """docker ps STATUS: `Up 2 minutes`, `Exited (0) 3 seconds ago`, `Created`, `Up 1 second (Paused)`."""
        now = time.time() if now is None else now
        if self.Restarting:
            return f"Restarting ({self.ExitCode}) {human_duration(now - parse_rfc3339(self.FinishedAt))} ago"
        if self.Running:
            if self.Paused:
                return f"Up {human_duration(now - parse_rfc3339(self.StartedAt))} (Paused)"
            return f"Up {human_duration(now - parse_rfc3339(self.StartedAt))}{self._health_suffix()}"
        if self.Status == "removing":
            return "Removal In Progress"
        if self.Dead:
            return "Dead"
        if self.StartedAt == ZERO_TIME:
            return "Created"
        if self.FinishedAt == ZERO_TIME:
            return ""
        return f"Exited ({self.ExitCode}) {human_duration(now - parse_rfc3339(self.FinishedAt))} ago"


    def _health_suffix(self) -> str:
        status = (self.Health or {}).get("Status")
        return {"starting": " (health: starting)", "healthy": " (healthy)", "unhealthy": " (unhealthy)"}.get(
            status, "")


@dataclass
class Container:
    id: str
    name: str
    created: str
    image_id: str
    config: dict
    host_config: dict
    path: str = ""
    args: list = field(default_factory=list)
    state: State = field(default_factory=State)
    restart_count: int = 0
    manual_stop: bool = False  # stopped by the user: restart policies stay out of it
    has_been_started: bool = False
    log_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    resolv_conf_path: str = ""
    network_settings: dict = field(default_factory=dict)
    mount_points: list = field(default_factory=list)
    driver: str = "overlay2"

    def to_json(self) -> str:
        # the fields as they are, not asdict()'s deep copy of every nested dict (a save is on the loop)
        return json.dumps({**vars(self), "state": vars(self.state)})

    @classmethod
    def from_json(cls, raw: str) -> "Container":
        data = json.loads(raw)
        data["state"] = State(**data["state"])
        return cls(**data)

    @property
    def image_ref(self) -> str:
        """The image as the container names it (what it was created from), or its ID."""
        return self.config.get("Image") or self.image_id

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def keeps_logs(self) -> bool:
        log_config = self.host_config.get("LogConfig") or {}
        return reads_locally(log_config.get("Type") or "json-file", log_config.get("Config") or {})

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    def command_line(self) -> str:
        return " ".join([self.path, *self.args]).strip()

    def restart_policy(self) -> tuple[str, int]:
        p = self.host_config.get("RestartPolicy") or {}
        return p.get("Name") or "no", int(p.get("MaximumRetryCount") or 0)

    def summary(self, image_name: str, size: dict | None = None) -> dict:
        s = {
            "Id": self.id, "Names": ["/" + self.name], "Image": image_name, "ImageID": self.image_id,
            "Command": self.command_line(), "Created": int(parse_rfc3339(self.created)),
            "Ports": ports_list(self.host_config, self.network_settings), "Labels": self.config.get("Labels") or {},
            "State": self.state.Status, "Status": self.state.human(),
            "HostConfig": {"NetworkMode": self.host_config.get("NetworkMode") or "bridge"},
            "NetworkSettings": {"Networks": self.network_settings.get("Networks", {})},
            "Mounts": [mount_shape(m) for m in self.mount_points],
        }
        if size:
            s.update(size)
        return s

    def inspect(self, image_name: str, graph_driver: dict, size: dict | None = None) -> dict:
        st = self.state
        data = {
            "Id": self.id, "Created": self.created, "Path": self.path, "Args": self.args,
            "State": {**{k: v for k, v in asdict(st).items() if k != "Health" or v is not None},
                      "Running": st.reported_running},
            "Image": self.image_id, "ResolvConfPath": self.resolv_conf_path, "HostnamePath": self.hostname_path,
            "HostsPath": self.hosts_path, "LogPath": self.log_path, "Name": "/" + self.name,
            "RestartCount": self.restart_count, "Driver": self.driver, "Platform": "linux", "MountLabel": "",
            "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
            "HostConfig": host_config_shape(self.host_config), "GraphDriver": graph_driver,
            "Mounts": [mount_shape(m) for m in self.mount_points],
            "Config": config_shape({**self.config, "Image": image_name}),
            "NetworkSettings": network_settings_shape(self.network_settings),
        }
        if size:
            data.update(size)
        return data


# moby's container.HostConfig (with its Resources) as Go marshals a zero value: every field is there, with
# 0, "", false or null, so clients may index any of them. Order as in the Go struct.
HOST_CONFIG_ZERO = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": None}, "NetworkMode": "",
    "PortBindings": None, "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}, "AutoRemove": False,
    "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [0, 0], "Annotations": None,
    "CapAdd": None, "CapDrop": None, "CgroupnsMode": "", "Dns": None, "DnsOptions": None, "DnsSearch": None,
    "ExtraHosts": None, "GroupAdd": None, "IpcMode": "", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
    "PidMode": "", "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
    "StorageOpt": None, "Tmpfs": None, "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "Sysctls": None,
    "Runtime": None, "Isolation": "",
    "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": None,
    "BlkioDeviceReadBps": None, "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None,
    "BlkioDeviceWriteIOps": None, "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
    "CpusetCpus": "", "CpusetMems": "", "Devices": None, "DeviceCgroupRules": None, "DeviceRequests": None,
    "KernelMemory": 0, "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None,
    "OomKillDisable": None, "PidsLimit": None, "Ulimits": None, "CpuCount": 0, "CpuPercent": 0,
    "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    "Mounts": None, "MaskedPaths": None, "ReadonlyPaths": None, "Init": None,
}
# Fields tagged `omitempty` (Init is a *bool: false is kept, only null goes).
HOST_CONFIG_OMITEMPTY = {"Annotations", "StorageOpt", "Tmpfs", "Sysctls", "Runtime", "Mounts", "KernelMemory",
                         "KernelMemoryTCP"}

# container.Config: the fields always marshalled, then the `omitempty` ones.
CONFIG_ZERO = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}
CONFIG_OMITEMPTY = ("ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled", "MacAddress", "StopSignal",
                    "StopTimeout", "Shell")
CONFIG_POINTERS = ("Healthcheck", "StopTimeout")
HEALTHCHECK_KEYS = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")


def host_config_shape(hc: dict) -> dict:
    """The full HostConfig as docker returns it: the stored values over Go's zero values (a null sent for a
    non-pointer field reads back as its zero), `omitempty` fields only when set."""
    out = {}
    for key, zero in HOST_CONFIG_ZERO.items():
        value = hc.get(key)
        if value is None:
            value = zero
        if key in HOST_CONFIG_OMITEMPTY and not value:
            continue
        if key == "Init" and value is None:
            continue
        out[key] = value
    return out


def config_shape(config: dict) -> dict:
    """Config as docker marshals it: no nulls for `omitempty` fields (a Healthcheck's unset durations and
    retries are left out, not null)."""
    out = {key: config.get(key) if config.get(key) is not None else zero for key, zero in CONFIG_ZERO.items()}
    for key, value in config.items():
        if key not in out and value is not None:
            out[key] = value
    for key in CONFIG_OMITEMPTY:
        if key in out and not out[key] and key not in CONFIG_POINTERS:  # a set pointer stays, even to 0
            del out[key]
    if "Healthcheck" in out:
        out["Healthcheck"] = healthcheck_shape(out["Healthcheck"])
    return out


def healthcheck_shape(hc: dict) -> dict:
    """HealthConfig's fields are all `omitempty`: unset (null or zero) ones are not there."""
    return {k: hc[k] for k in HEALTHCHECK_KEYS if hc.get(k)}


def mount_shape(mp: dict) -> dict:
    keys = ("Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation")
    return {k: mp[k] for k in keys if k in mp}


def ports_list(host_config: dict, network_settings: dict) -> list[dict]:
    out = []
    for port, bindings in (network_settings.get("Ports") or {}).items():
        number, _, proto = port.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(number), "Type": proto or "tcp"})
            continue
        for b in bindings:
            out.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": int(number),
                        "PublicPort": int(b["HostPort"]), "Type": proto or "tcp"})
    return out


def network_settings_shape(ns: dict) -> dict:
    return {
        "Bridge": "", "SandboxID": ns.get("SandboxID", ""), "SandboxKey": ns.get("SandboxKey", ""),
        "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": ns.get("Ports", {}), "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": ns.get("EndpointID", ""), "Gateway": ns.get("Gateway", ""), "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": ns.get("IPAddress", ""), "IPPrefixLen": ns.get("IPPrefixLen", 0), "IPv6Gateway": "",
        "MacAddress": ns.get("MacAddress", ""), "Networks": ns.get("Networks", {}),
    }
