"""Image shapes as each API version has them (moby's image router does this; services answer in the newest
shape). A client pinned to an older version (docker-py's `version="1.41"`, old compose) gets what it expects:

- before 1.43: an untagged image lists as `<none>:<none>` / `<none>@<none>` in GET /images/json;
- before 1.44: `VirtualSize` (the same as `Size`) in /images/json, /images/{name}/json and /system/df;
  from 1.44 on it is gone;
- before 1.50: image inspect's `Config` is a whole container config, its container-only fields empty."""
from __future__ import annotations

from .versions import as_tuple

# container.Config fields an image's Config had before API 1.50, with their zero values (moby's
# legacyConfigFields; the container-only ones are gone from 1.50 on)
LEGACY_CONFIG_FIELDS = {"AttachStderr": False, "AttachStdin": False, "AttachStdout": False, "Cmd": None,
                        "Domainname": "", "Entrypoint": None, "Env": None, "Hostname": "", "Image": "",
                        "Labels": None, "OnBuild": None, "OpenStdin": False, "StdinOnce": False, "Tty": False,
                        "User": "", "Volumes": None, "WorkingDir": ""}


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
        doc["Config"] = dict(sorted({**LEGACY_CONFIG_FIELDS, **(doc.get("Config") or {})}.items()))
    return doc


def disk_usage(usage: dict, version: str) -> dict:
    if usage.get("Images") is None:
        return usage
    return {**usage, "Images": [image_summary(s, version, placeholders=False) for s in usage["Images"]]}
