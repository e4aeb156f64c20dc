"""Image shapes as each API version has them (moby's image router does this; services answer in the newest
shape). A client pinned to an older version (docker-py's `version="1.41"`, old compose) gets what it expects:

- before 1.43: an untagged image lists as `<none>:<none>` / `<none>@<none>` in GET /images/json;
- before 1.44: `VirtualSize` (the same as `Size`) in /images/json, /images/{name}/json and /system/df;
  from 1.44 on it is gone;
- before 1.50: image inspect's `Config` is a whole container config, its container-only fields empty."""
from __future__ import annotations

from .versions import as_tuple

# container.Config fields moby stopped returning in an image's Config in API 1.50, with their zero values
LEGACY_CONFIG_FIELDS = {"Hostname": "", "Domainname": "", "AttachStdin": False, "AttachStdout": False,
                        "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False,
                        "Image": "", "Volumes": None}


def image_summary(summary: dict, version: str, placeholders: bool = True) -> dict:
    """One entry of GET /images/json (or, without the `<none>` placeholders, of system df's Images)."""
    v = as_tuple(version)
    summary = {k: val for k, val in summary.items() if k != "VirtualSize"}
    if placeholders and v < (1, 43) and not summary.get("RepoTags") and not summary.get("RepoDigests"):
        summary.update(RepoTags=["<none>:<none>"], RepoDigests=["<none>@<none>"])
    if v < (1, 44):
        summary["VirtualSize"] = summary["Size"]
    return summary


def image_inspect(doc: dict, version: str) -> dict:
    v = as_tuple(version)
    doc = dict(doc)
    if v < (1, 44):
        doc["VirtualSize"] = doc["Size"]
    if v < (1, 50):
        doc["Config"] = {**LEGACY_CONFIG_FIELDS, **(doc.get("Config") or {})}
    return doc


def disk_usage(usage: dict, version: str) -> dict:
    if usage.get("Images") is None:
        return usage
    return {**usage, "Images": [image_summary(s, version, placeholders=False) for s in usage["Images"]]}
