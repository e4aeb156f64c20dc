"""Layer explorer: what `dive` shows for an image, computed from the registry's stored blobs.

For each build step (the image config's history) it gives the creating command, and for each step that made a
layer: the layer's compressed and uncompressed size, the files it adds, changes and removes (whiteouts), and
its wasted space: the bytes of files this layer wrote that a later layer overwrites or deletes (they ship in
the image but nobody sees them). A multi-platform tag is explored per platform.

Reading a layer means decompressing the whole blob (gzip, zstd or plain tar), so results are cached on disk
as JSON keyed by the image manifest digest (content-addressed: an entry never goes stale) and in a small
in-memory LRU, so a second view costs a dictionary lookup. With the Hub, each pushed image is explored in the
background right after its push (on_registry_event), so the first view is usually cached too.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import os
import tarfile
from collections import OrderedDict

import zstandard

from dockyard.registry.server.manifests import IMAGE_TYPES, INDEX_TYPES
from dockyard.registry.server.names import split_digest
from dockyard.registry.server.storage import write_atomic

LIST_LIMIT = 200          # files listed per kind per layer (largest first); counts and byte totals stay exact
TOP_WASTE_LIMIT = 20      # files in the "wasted space" table
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
FORMAT_VERSION = 1        # bump when the cached JSON's shape changes


def step_command(created_by: str) -> str:
    """History's created_by as Docker Hub shows it: `#(nop)` steps as their instruction, shell steps as RUN."""
    cmd = (created_by or "").strip()
    if cmd.startswith("/bin/sh -c #(nop)"):
        return cmd[len("/bin/sh -c #(nop)"):].strip()
    if cmd.startswith("/bin/sh -c "):
        return "RUN " + cmd
    return cmd


def _open_layer(path: str):
    """The layer blob as an uncompressed byte stream, whatever its compression (sniffed, not trusted)."""
    f = open(path, "rb")
    magic = f.read(4)
    f.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")
    if magic == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(f, closefd=True)
    return f


def _clean(name: str) -> str:
    name = name.lstrip("/")
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _iter_entries(path: str):
    """(path, size, is_dir) of each tar entry, streaming (file bodies are skipped, never kept)."""
    stream = _open_layer(path)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                name = _clean(member.name)
                if name in ("", "."):
                    continue
                yield name, member.size if member.isreg() else 0, member.isdir()
    finally:
        stream.close()


class _Tree:
    """The merged file system so far: path -> (layer index that wrote it, size). Directories are not listed."""

    def __init__(self):
        self.files: dict[str, tuple[int, int]] = {}
        self.wasted_by_path: dict[str, list[int]] = {}  # path -> [bytes wasted, copies shipped]

    def _waste(self, path: str, layers: list[dict]) -> tuple[int, int]:
        idx, size = self.files.pop(path)
        layers[idx]["wasted"] += size
        w = self.wasted_by_path.setdefault(path, [0, 0])
        w[0] += size
        w[1] += 1
        return idx, size

    def remove_under(self, prefix: str, layers: list[dict], before: int, include_self: bool) -> list[tuple[str, int]]:
        """Remove `prefix` (if include_self) and everything under it written by layers before `before`."""
        sub = prefix + "/" if prefix else ""
        gone = [p for p, (idx, _) in self.files.items()
                if idx < before and ((include_self and p == prefix) or p.startswith(sub))]
        return [(p, self._waste(p, layers)[1]) for p in gone]


def _analyse_layers(layer_paths: list[str], layers: list[dict]) -> list[dict]:
    """Fill each layer dict with its added/changed/removed files and wasted bytes; return the top wasted files."""
    tree = _Tree()
    for i, path in enumerate(layer_paths):
        layer = layers[i]
        added, changed, removed = [], [], []
        content = 0
        try:
            entries = list(_iter_entries(path))
        except (tarfile.TarError, OSError, EOFError, zstandard.ZstdError):
            layer["unreadable"] = True       # a corrupt or foreign blob: shown as such, never a server error
            entries = []
        for name, size, is_dir in entries:
            parent, _, base = name.rpartition("/")
            if base == OPAQUE:            # the directory's earlier contents are hidden
                removed += tree.remove_under(parent, layers, i, include_self=False)
                continue
            if base.startswith(WHITEOUT):  # this path (file or whole directory) is deleted
                target = f"{parent}/{base[len(WHITEOUT):]}" if parent else base[len(WHITEOUT):]
                removed += tree.remove_under(target, layers, i, include_self=True)
                continue
            if is_dir:
                continue
            content += size
            if name in tree.files and tree.files[name][0] < i:
                tree._waste(name, layers)
                changed.append((name, size))
            elif name not in tree.files:
                added.append((name, size))
            tree.files[name] = (i, size)
        layer["size"] = content
        for kind, items in (("added", added), ("changed", changed), ("removed", removed)):
            items.sort(key=lambda t: (-t[1], t[0]))
            layer[kind] = {"count": len(items), "bytes": sum(s for _, s in items),
                           "files": [{"path": p, "size": s} for p, s in items[:LIST_LIMIT]]}
    top = sorted(tree.wasted_by_path.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_WASTE_LIMIT]
    return [{"path": p, "wasted": w, "copies": n + (1 if p in tree.files else 0)} for p, (w, n) in top]


def explore_image(storage, manifest: dict) -> dict:
    """The explorer view of one image manifest (not an index). Blocking: reads every layer blob."""
    config = json.loads(storage.read_blob(manifest["config"]["digest"]) or b"{}")
    descs = manifest.get("layers", [])
    layers = [{"digest": d["digest"], "compressed_size": d.get("size", 0), "wasted": 0, "size": 0} for d in descs]
    paths = [storage.blob_path(d["digest"]) for d in descs]
    missing = [d["digest"] for d, p in zip(descs, paths) if not os.path.isfile(p)]
    top_wasted = [] if missing else _analyse_layers(paths, layers)
    # Steps: every history entry, layers matched in order to the entries that are not empty_layer.
    history = config.get("history") or [{} for _ in descs]
    steps, li = [], 0
    for h in history:
        step = {"command": step_command(h.get("created_by", "")), "created": h.get("created", ""),
                "comment": h.get("comment", ""), "layer": None}
        if not h.get("empty_layer") and li < len(layers):
            step["layer"] = li
            layers[li]["index"] = li
            li += 1
        steps.append(step)
    for j in range(li, len(layers)):  # more layers than history says: show them anyway
        layers[j]["index"] = j
        steps.append({"command": "", "created": "", "comment": "", "layer": j})
    total = sum(layer["size"] for layer in layers)
    wasted = sum(layer["wasted"] for layer in layers)
    missing += [layer["digest"] for layer in layers if layer.get("unreadable")]
    return {"version": FORMAT_VERSION, "platform": _platform(config), "config": _config_summary(config),
            "steps": steps, "layers": layers, "missing": missing,
            "total_size": total, "compressed_size": sum(layer["compressed_size"] for layer in layers),
            "wasted": wasted, "efficiency": (1 - wasted / total) if total else 1.0, "top_wasted": top_wasted}


def _platform(config: dict) -> str:
    parts = [config.get("os", ""), config.get("architecture", ""), config.get("variant", "")]
    return "/".join(p for p in parts if p)


def _config_summary(config: dict) -> dict:
    c = config.get("config") or {}
    return {"entrypoint": c.get("Entrypoint"), "cmd": c.get("Cmd"), "env": c.get("Env") or [],
            "exposed_ports": sorted(c.get("ExposedPorts") or {}), "workdir": c.get("WorkingDir") or "",
            "user": c.get("User") or "", "labels": c.get("Labels") or {}}


def _is_attestation(desc: dict) -> bool:
    plat = desc.get("platform") or {}
    return (desc.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest" or \
        plat.get("os") == "unknown"


def platforms(storage, digest: str) -> list[dict]:
    """The image manifests behind a tag: [{digest, platform}] (one entry for a single-platform image)."""
    raw = storage.read_blob(digest)
    if raw is None:
        return []
    doc = json.loads(raw)
    if doc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
        out = []
        for d in doc.get("manifests", []):
            if _is_attestation(d):
                continue
            p = d.get("platform") or {}
            name = "/".join(x for x in (p.get("os", ""), p.get("architecture", ""), p.get("variant", "")) if x)
            out.append({"digest": d["digest"], "platform": name})
        return out
    return [{"digest": digest, "platform": ""}]


class Explorer:
    """Cached explorer results by image manifest digest: memory LRU in front of JSON files under cache_dir."""

    def __init__(self, storage, cache_dir: str, memory_entries: int = 64):
        self.storage = storage
        self.cache_dir = cache_dir
        self.memory: OrderedDict[str, dict] = OrderedDict()
        self.memory_entries = memory_entries
        self.pending: dict[str, asyncio.Future] = {}
        self.warming: set[asyncio.Task] = set()

    def _cache_path(self, digest: str) -> str:
        algo, hexpart = split_digest(digest)
        return os.path.join(self.cache_dir, algo, hexpart + ".json")

    def _remember(self, digest: str, result: dict) -> dict:
        self.memory[digest] = result
        self.memory.move_to_end(digest)
        while len(self.memory) > self.memory_entries:
            self.memory.popitem(last=False)
        return result

    def load_cached(self, digest: str) -> dict | None:
        if digest in self.memory:
            self.memory.move_to_end(digest)
            return self.memory[digest]
        try:
            with open(self._cache_path(digest), "rb") as f:
                result = json.load(f)
        except (FileNotFoundError, ValueError):
            return None
        return self._remember(digest, result) if result.get("version") == FORMAT_VERSION else None

    def compute(self, digest: str) -> dict | None:
        """Blocking: explore the image manifest `digest` and cache the result (None if it is not stored)."""
        cached = self.load_cached(digest)
        if cached is not None:
            return cached
        raw = self.storage.read_blob(digest)
        if raw is None:
            return None
        manifest = json.loads(raw)
        if "config" not in manifest:
            return None
        result = explore_image(self.storage, manifest)
        if not result["missing"]:  # a half-pushed image is explored again once its blobs are there
            write_atomic(self._cache_path(digest), json.dumps(result).encode(), fsync=False)
        return self._remember(digest, result)

    def on_registry_event(self, event: dict) -> None:
        """A registry notifier listener: explore an image as soon as its manifest is pushed (in the background),
        so even the first view of its tag page is a cache hit, as Docker Hub shows layers right after a push."""
        target = event.get("target") or {}
        if event.get("action") != "push" or "/manifests/" not in target.get("url", "") \
                or target.get("mediaType") not in IMAGE_TYPES:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.get(target["digest"]))
        self.warming.add(task)
        task.add_done_callback(self.warming.discard)

    async def get(self, digest: str) -> dict | None:
        """The result for `digest`, computed in a thread at most once at a time per digest."""
        cached = self.load_cached(digest)
        if cached is not None:
            return cached
        fut = self.pending.get(digest)
        if fut is None:
            fut = asyncio.get_running_loop().run_in_executor(None, self.compute, digest)
            self.pending[digest] = fut
            fut.add_done_callback(lambda _: self.pending.pop(digest, None))
        return await asyncio.shield(fut)
