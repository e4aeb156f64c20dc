"""`--mount type=bind,source=/x,target=/y,readonly`: the docker CLI's MountOpt, as the Engine API's Mount."""
from __future__ import annotations

import csv

from ..units import ram_in_bytes
from .flagtypes import parse_int

BOOLEAN_KEYS = {"readonly", "ro", "volume-nocopy", "bind-nonrecursive"}
GO_BOOLS = {"1": True, "t": True, "T": True, "true": True, "TRUE": True, "True": True,
            "0": False, "f": False, "F": False, "false": False, "FALSE": False, "False": False}


def _bool(key: str, value: str) -> bool:
    if value not in GO_BOOLS:
        raise ValueError(f"invalid value for {key}: {value}")
    return GO_BOOLS[value]


def _pair(value: str) -> tuple[str, str]:
    k, _, v = value.partition("=")
    return k, v


def parse_mount(spec: str) -> dict:
    """One --mount value -> a HostConfig.Mounts entry with only the fields set (Go's omitempty)."""
    mount: dict = {}
    bind: dict = {}
    volume: dict = {}
    tmpfs: dict = {}
    fields = next(csv.reader([spec]), [])
    for field in fields:
        key, eq, value = field.partition("=")
        key = key.lower()
        if not eq:
            if key not in BOOLEAN_KEYS:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
            value = "true"
        if key == "type":
            mount["Type"] = value.lower()
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _bool(key, value)
        elif key == "consistency":
            mount["Consistency"] = value
        elif key == "bind-propagation":
            bind["Propagation"] = value.lower()
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _bool(key, value)
        elif key == "bind-recursive":
            flags = {"enabled": {}, "disabled": {"NonRecursive": True},
                     "writable": {"ReadOnlyNonRecursive": True}, "readonly": {"ReadOnlyForceRecursive": True}}
            if value not in flags:
                raise ValueError(f"invalid value for {key}: {value} "
                                 "(must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")")
            bind.update(flags[value])
        elif key == "volume-nocopy":
            volume["NoCopy"] = _bool(key, value)
        elif key == "volume-subpath":
            volume["Subpath"] = value
        elif key == "volume-label":
            volume.setdefault("Labels", {}).update([_pair(value)])
        elif key == "volume-driver":
            volume.setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            volume.setdefault("DriverConfig", {}).setdefault("Options", {}).update([_pair(value)])
        elif key == "tmpfs-size":
            tmpfs["SizeBytes"] = ram_in_bytes(value)
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(value, 8)
            except ValueError:
                parse_int(value)  # Go's words for a bad number
                raise
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if volume:  # MountOpt makes a DriverConfig as soon as any volume-* key appears
        volume.setdefault("DriverConfig", {})
    mount.setdefault("Type", "volume")
    if not mount.get("Target"):
        raise ValueError("target is required")
    for options, prefix, kind, name in ((volume, "volume", "volume", "VolumeOptions"),
                                        (bind, "bind", "bind", "BindOptions"),
                                        (tmpfs, "tmpfs", "tmpfs", "TmpfsOptions")):
        if options and mount["Type"] != kind:
            raise ValueError(f"cannot mix '{prefix}-*' options with mount type '{mount['Type']}'")
        if options:
            mount[name] = options
    return mount
