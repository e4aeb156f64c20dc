"""`system df` tables, computed the way the docker CLI's disk-usage formatter does from GET /system/df."""
from __future__ import annotations

from ..units import human_size
from .containers import PsRow
from .images import image_rows


def _reclaimable(reclaimable: int, total: int) -> str:
    """go-units size, with the share of the total when there is a total (docker prints none for 0)."""
    text = human_size(reclaimable, 4)
    return f"{text} ({reclaimable * 100 // total}%)" if total > 0 else text


def summary_rows(df: dict) -> list[list[str]]:
    images = df.get("Images") or []
    containers = df.get("Containers") or []
    volumes = df.get("Volumes") or []
    cache = df.get("BuildCache") or []

    layers = df.get("LayersSize") or 0
    used = sum(i["Size"] - i["SharedSize"] for i in images
               if i.get("Containers", 0) and i["Size"] != -1 and i.get("SharedSize", 0) != -1)
    active = [c for c in containers if c.get("State") in ("running", "paused")]
    rw_total = sum(c.get("SizeRw", 0) for c in containers)
    sizes = [(v.get("UsageData") or {}).get("Size", -1) for v in volumes]
    refs = [(v.get("UsageData") or {}).get("RefCount", 0) for v in volumes]
    volume_total = sum(s for s in sizes if s > 0)
    cache_total = sum(c.get("Size", 0) for c in cache if not c.get("Shared"))
    return [
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        ["Images", str(len(images)), str(sum(1 for i in images if i.get("Containers", 0) > 0)),
         human_size(layers, 4), _reclaimable(layers - used, layers)],
        ["Containers", str(len(containers)), str(len(active)), human_size(rw_total, 4),
         _reclaimable(rw_total - sum(c.get("SizeRw", 0) for c in active), rw_total)],
        ["Local Volumes", str(len(volumes)), str(sum(1 for r in refs if r > 0)), human_size(volume_total, 4),
         _reclaimable(sum(s for s, r in zip(sizes, refs) if s > 0 and r == 0), volume_total)],
        ["Build Cache", str(len(cache)), str(sum(1 for c in cache if c.get("InUse"))), human_size(cache_total, 4),
         human_size(sum(c.get("Size", 0) for c in cache if not c.get("InUse") and not c.get("Shared")), 4)],
    ]


def verbose_sections(df: dict) -> list[tuple[str, list[list[str]]]]:
    """(title, table rows) for `system df -v`: each image under its first tag, containers, volumes."""
    images = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]]
    for summary in df.get("Images") or []:
        row = image_rows([{**summary, "RepoTags": (summary.get("RepoTags") or [])[:1]}], no_trunc=False)[0]
        shared = summary.get("SharedSize", 0)
        images.append([row.Repository, row.Tag, row.ID, row.CreatedSince, row.Size, human_size(shared, 4),
                       human_size(summary["Size"] - shared, 4), row.Containers])
    containers = [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]]
    for c in df.get("Containers") or []:
        row = PsRow(c, no_trunc=False)
        volumes = sum(1 for m in c.get("Mounts") or [] if m.get("Type") == "volume")
        containers.append([row.ID, row.Image, row.Command, str(volumes), human_size(c.get("SizeRw", 0)),
                           row.RunningFor, row.Status, row.Names])
    volumes = [["VOLUME NAME", "LINKS", "SIZE"]]
    for v in df.get("Volumes") or []:
        usage = v.get("UsageData") or {}
        size = usage.get("Size", -1)
        volumes.append([v["Name"], str(usage.get("RefCount", 0)), human_size(size, 4) if size >= 0 else "N/A"])
    return [("Images space usage:", images), ("Containers space usage:", containers),
            ("Local Volumes space usage:", volumes)]
