"""The JSON types of a container create (and update) request, checked before anything is stored: a wrong type is a 400
in the words of Go's encoding/json, as moby's decoder gives it, never a value we store and trip over later."""
from __future__ import annotations

from ..errors import InvalidParameter
from ..gojson import json_kind as _json_kind

STR, INT, BOOL, STRS, STRMAP, OBJ, LIST, STRSLICE = ("string", "int64", "bool", "[]string", "map[string]string",
                                                     "object", "list", "strslice")

CONFIG_FIELDS = {
    "Hostname": STR, "Domainname": STR, "User": STR, "Image": STR, "WorkingDir": STR, "StopSignal": STR,
    "MacAddress": STR, "AttachStdin": BOOL, "AttachStdout": BOOL, "AttachStderr": BOOL, "Tty": BOOL,
    "OpenStdin": BOOL, "StdinOnce": BOOL, "NetworkDisabled": BOOL, "ArgsEscaped": BOOL,
    "Cmd": STRSLICE, "Entrypoint": STRSLICE, "Shell": STRSLICE, "Env": STRS, "OnBuild": STRS,
    "Labels": STRMAP, "ExposedPorts": OBJ, "Volumes": OBJ, "StopTimeout": INT, "Healthcheck": OBJ,
    "HostConfig": OBJ, "NetworkingConfig": OBJ,
}
HOST_CONFIG_FIELDS = {
    "Binds": STRS, "Memory": INT, "MemorySwap": INT, "MemoryReservation": INT, "NanoCpus": INT,
    "CpuShares": INT, "CpuPeriod": INT, "CpuQuota": INT, "CpuRealtimePeriod": INT, "CpuRealtimeRuntime": INT,
    "PidsLimit": INT, "BlkioWeight": INT, "ShmSize": INT, "KernelMemory": INT, "MemorySwappiness": INT,
    "CpusetCpus": STR, "CpusetMems": STR, "NetworkMode": STR, "IpcMode": STR, "PidMode": STR, "UTSMode": STR,
    "UsernsMode": STR, "CgroupnsMode": STR, "Runtime": STR, "CgroupParent": STR, "VolumeDriver": STR,
    "ContainerIDFile": STR, "Cgroup": STR, "Isolation": STR,
    "AutoRemove": BOOL, "Privileged": BOOL, "PublishAllPorts": BOOL, "ReadonlyRootfs": BOOL, "Init": BOOL,
    "OomKillDisable": BOOL, "CapAdd": STRSLICE, "CapDrop": STRSLICE, "Dns": STRS, "DnsOptions": STRS,
    "DnsSearch": STRS, "ExtraHosts": STRS, "SecurityOpt": STRS, "VolumesFrom": STRS, "Links": STRS,
    "GroupAdd": STRS, "MaskedPaths": STRS, "ReadonlyPaths": STRS, "RestartPolicy": OBJ, "LogConfig": OBJ,
    "PortBindings": OBJ, "Mounts": LIST, "Tmpfs": STRMAP, "Sysctls": STRMAP, "StorageOpt": STRMAP,
    "Ulimits": LIST, "Devices": LIST, "ConsoleSize": LIST,
}
# container.Resources, what an update may change (of the fields above)
UPDATE_FIELDS = ("Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota",
                 "CpuRealtimePeriod", "CpuRealtimeRuntime", "PidsLimit", "BlkioWeight", "KernelMemory",
                 "MemorySwappiness", "CpusetCpus", "CpusetMems", "CgroupParent", "OomKillDisable", "Ulimits",
                 "Devices")
RESTART_POLICY_FIELDS = {"Name": STR, "MaximumRetryCount": INT}
LOG_CONFIG_FIELDS = {"Type": STR, "Config": STRMAP}


def _error(value, field: str, go_type: str) -> InvalidParameter:
    """`field` is the path from the request's Go struct, as json's UnmarshalTypeError names it."""
    return InvalidParameter(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                            f"{field} of type {go_type}")


def _check(value, field: str, kind: str):
    """The value if it has the type (a StrSlice's single string becomes a list, as Go's does)."""
    if value is None:
        return None
    if kind == STR and not isinstance(value, str):
        raise _error(value, field, "string")
    if kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
        raise _error(value, field, "int64")
    if kind == BOOL and not isinstance(value, bool):
        raise _error(value, field, "bool")
    if kind in (STRS, STRSLICE):
        if kind == STRSLICE and isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise _error(value, field, "[]string")
        for item in value:
            if not isinstance(item, str):
                raise _error(item, field, "string")
    if kind == STRMAP:
        if not isinstance(value, dict):
            raise _error(value, field, "map[string]string")
        for item in value.values():
            if not isinstance(item, str):
                raise _error(item, field, "string")
    if kind == OBJ and not isinstance(value, dict):
        raise _error(value, field, "object")
    if kind == LIST and not isinstance(value, list):
        raise _error(value, field, "array")
    return value


def _check_fields(obj: dict, fields: dict, prefix: str) -> dict:
    out = dict(obj)
    for key, kind in fields.items():
        if key in out:
            out[key] = _check(out[key], prefix + key, kind)
    return out


def check_create_body(body) -> dict:
    """The create body with its types checked (and StrSlices as lists); InvalidParameter otherwise."""
    if not isinstance(body, dict):
        raise InvalidParameter(f"json: cannot unmarshal {_json_kind(body)} into Go value of type "
                               f"container.ContainerConfigWrapper")
    wrapper = "ContainerConfigWrapper."
    body = _check_fields(body, CONFIG_FIELDS, wrapper)
    hc = body.get("HostConfig")
    if hc is not None:
        hc = _check_fields(hc, HOST_CONFIG_FIELDS, wrapper + "HostConfig.")
        if hc.get("RestartPolicy") is not None:
            hc["RestartPolicy"] = _check_fields(hc["RestartPolicy"], RESTART_POLICY_FIELDS,
                                                wrapper + "HostConfig.RestartPolicy.")
        if hc.get("LogConfig") is not None:
            hc["LogConfig"] = _check_fields(hc["LogConfig"], LOG_CONFIG_FIELDS, wrapper + "HostConfig.LogConfig.")
        for m in hc.get("Mounts") or []:
            if not isinstance(m, dict):
                raise _error(m, wrapper + "HostConfig.Mounts", "mount.Mount")
            _check_fields(m, {"Type": STR, "Source": STR, "Target": STR, "ReadOnly": BOOL},
                          wrapper + "HostConfig.Mounts.")
        for key, entries in (hc.get("PortBindings") or {}).items():
            if entries is not None and not isinstance(entries, list):
                raise _error(entries, wrapper + "HostConfig.PortBindings", "[]nat.PortBinding")
            for entry in entries or []:
                if entry is not None and not isinstance(entry, dict):
                    raise _error(entry, wrapper + "HostConfig.PortBindings", "nat.PortBinding")
                _check_fields(entry or {}, {"HostIp": STR, "HostPort": STR}, wrapper + "HostConfig.PortBindings.")
        body["HostConfig"] = hc
    return body


def check_update_body(body) -> dict:
    """`POST /containers/{id}/update` (moby's container.UpdateConfig: the resources and a restart policy)."""
    if not isinstance(body, dict):
        raise InvalidParameter(f"json: cannot unmarshal {_json_kind(body)} into Go value of type "
                               f"container.UpdateConfig")
    body = _check_fields(body, {k: HOST_CONFIG_FIELDS[k] for k in UPDATE_FIELDS}, "UpdateConfig.")
    if body.get("RestartPolicy") is not None:
        body["RestartPolicy"] = _check_fields(_check(body["RestartPolicy"], "UpdateConfig.RestartPolicy", OBJ),
                                              RESTART_POLICY_FIELDS, "UpdateConfig.RestartPolicy.")
    return body
