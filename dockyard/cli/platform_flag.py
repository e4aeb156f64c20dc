"""`--platform os[/arch[/variant]]` of the image commands, sent as the JSON-encoded OCI platform the Engine API
takes (history, image inspect, save, load, rmi)."""
from __future__ import annotations

import json
import re

from .common import fail

_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386"}
_OS_COMPONENT = r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$"


def platform_json(spec: str | None, prefix: str = "") -> str | None:
    """The JSON platform for a specifier, or the docker CLI's error (containerd's platforms.Parse words, after
    `invalid platform: ` on the commands that say so) and exit 1."""
    if not spec:
        return None
    parts = spec.split("/")
    if not re.match(_OS_COMPONENT, parts[0]):
        fail(f'{prefix}"{parts[0]}" is an invalid OS component of "{spec}": OSAndVersion specifier component '
             f'must match "{_OS_COMPONENT.replace(chr(92), chr(92) * 2)}": invalid argument')
    if len(parts) > 3:
        fail(f'{prefix}"{spec}": cannot parse platform specifier: invalid argument')
    os_name, arch = parts[0].lower(), (parts[1].lower() if len(parts) > 1 else "")
    platform = {"architecture": _ARCH.get(arch, arch), "os": os_name}
    if len(parts) == 3:
        platform["variant"] = parts[2]
    return json.dumps(platform, separators=(",", ":"))
