"""Image fields moby still sends to older API versions. The services shape API 1.50; as moby's image router
does, the routes add back what an older client was promised."""
from __future__ import annotations

from .versions import as_tuple

# Image Config fields that were container-only leftovers, omitted from API 1.50 on (moby's legacyConfigFields).
CONFIG_BEFORE_1_50 = {"AttachStderr": False, "AttachStdin": False, "AttachStdout": False, "Cmd": None,
                      "Domainname": "", "Entrypoint": None, "Env": None, "Hostname": "", "Image": "", "Labels": None,
                      "OnBuild": None, "OpenStdin": False, "StdinOnce": False, "Tty": False, "User": "",
                      "Volumes": None, "WorkingDir": ""}


def with_virtual_size(version: str, image: dict) -> dict:
    """VirtualSize (always equal to Size) was dropped from image lists, inspect and df in API 1.44."""
    if as_tuple(version) < (1, 44):
        return {**image, "VirtualSize": image["Size"]}
    return image


def inspect_for_version(version: str, inspect: dict) -> dict:
    inspect = with_virtual_size(version, inspect)
    if as_tuple(version) < (1, 50):
        config = {**CONFIG_BEFORE_1_50, **inspect["Config"]}
        inspect = {**inspect, "Config": dict(sorted(config.items()))}
    return inspect
