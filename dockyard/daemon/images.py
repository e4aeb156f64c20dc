"""Image service: the image store (config blobs keyed by image ID), tags, and the image life cycle.

Image ID = sha256 of the config JSON exactly as stored (never re-serialised). Tags are kept as fully
qualified references (`docker.io/library/busybox:latest`) and shown in familiar form (`busybox:latest`).
"""
from __future__ import annotations

import fnmatch
import itertools
import json
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Iterator

from ..errors import Conflict, InvalidParameter, NotFound
from ..image import configjson, reference as refmod
from ..store.content import ContentStore, sha256_digest
from ..image.layers import LayerStore, chain_ids
from ..store.metadata import Metadata
from .container_store import ContainerStore
from .events import EventBus
from ..filters import Filters
from ..timefmt import now_rfc3339, parse_rfc3339, parse_time_filter

_FULL_HEX_ID = re.compile(r"[0-9a-f]{64}")


def short_id(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


@dataclass
class Image:
    id: str
    config_bytes: bytes
    parent: str
    size: int
    added: float
    stored_top_chain: str | None = None  # the row's top_chain: no config parse to find the chain

    @cached_property
    def config(self) -> dict:
        return json.loads(self.config_bytes)

    @cached_property
    def container_config(self) -> dict:
        """The config's `config` (Cmd, Env, ...), without decoding its history when the whole config has not
        been decoded yet: a container create on a deep build's image needs a few hundred bytes of a megabyte."""
        if "config" in self.__dict__:
            return self.config.get("config") or {}
        return configjson.member(self.config_bytes, "config") or {}

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def top_chain(self) -> str | None:
        if self.stored_top_chain:
            return self.stored_top_chain
        ids = chain_ids(self.diff_ids)
        return ids[-1] if ids else None

    @property
    def created(self) -> float:
        """The config's `created` (what docker sorts and filters on); the store time if it has none."""
        return config_created(self.config, self.added)


def config_created(config: dict, added: float) -> float:
    return parse_rfc3339(config.get("created", "")) or added


def config_labels(config: dict) -> dict:
    return (config.get("config") or {}).get("Labels") or {}


class ImageService:
    def __init__(self, md: Metadata, content: ContentStore, layers: LayerStore, events: EventBus,
                 containers: ContainerStore):
        self.md = md
        self.content = content
        self.layers = layers
        self.events = events
        self.containers = containers  # which containers use an image (a delete must not pull it from under them)
        events.add_listener(self._on_event)
        # every write of images/tags/digests goes through _changing(), which moves this on; the list's
        # summaries are kept until it does (`docker images` on an unchanged store of thousands is a copy)
        self._generations = itertools.count(1)  # next() is atomic: writes in several threads never share one
        self._generation = 0
        self._listed: tuple[int, list] | None = None
        self._fill_summaries()
        # whether retained_images may hold a row: every container removal asks, almost always of an empty table
        self._maybe_retained = md.one("SELECT 1 FROM retained_images LIMIT 1") is not None
        self._retains = 0  # images retained so far: a release that raced one must not clear the flag

    @contextmanager
    def _changing(self) -> Iterator[sqlite3.Cursor]:
        try:
            with self.md.tx() as cur:
                yield cur
        finally:
            self._generation = next(self._generations)

    def _fill_summaries(self) -> None:
        """Summary columns of images stored before they existed (read once from their configs)."""
        for table in ("images", "retained_images"):
            rows = self.md.query(f"SELECT id, config, added FROM {table} WHERE created IS NULL")
            if not rows:
                continue
            with self._changing() as cur:
                for row in rows:
                    config = json.loads(bytes(row["config"]))
                    cur.execute(f"UPDATE {table} SET created=?, labels=? WHERE id=?",
                                (config_created(config, row["added"]), json.dumps(config_labels(config)), row["id"]))

    # ---------------------------------------------------------------- lookup
    def _row_to_image(self, row) -> Image:
        return Image(row["id"], bytes(row["config"]), row["parent"] or "", row["size"], row["added"], row["top_chain"])

    def get(self, image_id: str) -> Image:
        """The image with this full ID; also a deleted one a container still uses (its container needs it)."""
        row = self.md.one("SELECT * FROM images WHERE id=?", (image_id,)) or \
            self.md.one("SELECT * FROM retained_images WHERE id=?", (image_id,))
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        return self._row_to_image(row)

    def all_images(self) -> list[Image]:
        """Newest first by the config's Created, as `docker images` lists them."""
        return [self._row_to_image(r) for r in self.md.query("SELECT * FROM images ORDER BY created DESC, added DESC")]

    def count(self) -> int:
        return self.md.one("SELECT COUNT(*) AS n FROM images")["n"]

    def tags_of(self, image_id: str) -> list[str]:
        return [r["name"] for r in self.md.query("SELECT name FROM tags WHERE image_id=? ORDER BY name", (image_id,))]

    def digests_of(self, image_id: str) -> list[str]:
        return [r["name"] for r in self.md.query("SELECT name FROM repo_digests WHERE image_id=? ORDER BY name",
                                                 (image_id,))]

    def children_of(self, image_id: str) -> list[str]:
        return [r["id"] for r in self.md.query("SELECT id FROM images WHERE parent=?", (image_id,))]

    def find_by_id_prefix(self, prefix: str) -> str | None:
        hexpart = prefix[7:] if prefix.startswith("sha256:") else prefix
        if not hexpart or any(c not in "0123456789abcdef" for c in hexpart) or len(hexpart) > 64:
            return None
        # a range, not LIKE (case-insensitive, so it cannot use the primary key's index)
        rows = self.md.query("SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2",
                             (f"sha256:{hexpart}", f"sha256:{hexpart}g"))
        if len(rows) > 1:
            raise NotFound(f"No such image: {prefix}")  # ambiguous prefixes match nothing, as in Docker
        return rows[0]["id"] if rows else None

    def resolve(self, name: str) -> tuple[str, refmod.Reference | None]:
        """Image ID for a tag, digest reference, full ID or unique ID prefix; and the reference if by name."""
        ref = None
        try:
            ref = refmod.parse(name)
        except InvalidParameter:
            if not name.startswith("sha256:"):
                found = self.find_by_id_prefix(name)
                if found:
                    return found, None
                if _FULL_HEX_ID.fullmatch(name):  # a full image ID no image has: not found, as in moby
                    raise NotFound(f"No such image: sha256:{name}") from None
                raise
        if ref is not None:
            if ref.digest:
                row = self.md.one("SELECT image_id FROM repo_digests WHERE name=?",
                                  (f"{ref.domain}/{ref.path}@{ref.digest}",))
                if row:
                    return row["image_id"], ref
                if self.md.one("SELECT 1 FROM images WHERE id=?", (ref.digest,)) and not ref.tag:
                    return ref.digest, ref
            else:
                row = self.md.one("SELECT image_id FROM tags WHERE name=?", (ref.full(),))
                if row:
                    return row["image_id"], ref
        if name.startswith("sha256:") and self.md.one("SELECT 1 FROM images WHERE id=?", (name,)):
            return name, None
        found = self.find_by_id_prefix(name)
        if found:
            return found, None
        shown = ref.familiar() if ref is not None else name
        raise NotFound(f"No such image: {shown}")

    def get_by_name(self, name: str) -> Image:
        return self.get(self.resolve(name)[0])

    # ---------------------------------------------------------------- creation
    def add_image(self, config_bytes: bytes, parent: str = "", tags: Iterable[str] = (),
                  repo_digest: str | None = None, parsed: dict | None = None) -> str:
        """Record an image whose layers are already registered; returns its ID. Idempotent. `parsed`: the
        config's members other than history, from a caller that has them (a build step; the history of a deep
        chain is a megabyte to decode for nothing)."""
        config = parsed if parsed is not None else json.loads(config_bytes)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        chains = chain_ids(diff_ids)
        # a layer is only stored on its parent: the top one being there means the whole chain is
        if chains and self.layers.get(chains[-1]) is None:
            missing = next(c for c in chains if self.layers.get(c) is None)
            raise NotFound(f"layer {missing} is not in the layer store")
        image_id = sha256_digest(config_bytes)
        size = self.layers.chain_size(chains[-1]) if chains else 0
        added = time.time()
        with self._changing() as cur:
            cur.execute("INSERT OR IGNORE INTO images(id, config, top_chain, parent, size, added, created, labels) "
                        "VALUES (?,?,?,?,?,?,?,?)",
                        (image_id, config_bytes, chains[-1] if chains else None, parent, size, added,
                         config_created(config, added), json.dumps(config_labels(config))))
            if chains:
                # the top layer only: the layers below stay while a layer stacks on them, so one row per image
                # keeps the whole chain (rows for every layer grew with the chain: a 10,000-step build's
                # images held tens of millions of them)
                cur.execute("INSERT OR IGNORE INTO image_layers VALUES (?,?)", (image_id, chains[-1]))
            if repo_digest:
                cur.execute("INSERT OR REPLACE INTO repo_digests VALUES (?,?)", (repo_digest, image_id))
        for t in tags:
            self.tag(image_id, t)
        return image_id

    def tag(self, source: str, target: str) -> None:
        image_id = source if source.startswith("sha256:") and len(source) == 71 else self.resolve(source)[0]
        ref = refmod.parse(target)
        if ref.digest:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        if ref.path.split("/")[-1] == "" or target.startswith("sha256:"):
            raise InvalidParameter("invalid reference format")
        with self._changing() as cur:
            old = cur.execute("SELECT image_id FROM tags WHERE name=?", (ref.full(),)).fetchone()
            cur.execute("INSERT OR REPLACE INTO tags VALUES (?,?)", (ref.full(), image_id))
        if old and old["image_id"] != image_id:
            self.events.emit("image", "untag", old["image_id"], {"name": old["image_id"]})
        self.events.emit("image", "tag", image_id, {"name": ref.familiar()})

    # ---------------------------------------------------------------- shapes
    def _summaries(self) -> list[tuple[dict, str, float]]:
        """(summary, parent, created) of every image, newest first (copies the caller may change)."""
        generation, listed = self._generation, self._listed
        if listed is None or listed[0] != generation:
            listed = self._listed = (generation, self._read_summaries())
        return [(dict(s), parent, created) for s, parent, created in listed[1]]

    def _read_summaries(self) -> list[tuple[dict, str, float]]:
        """From the summary columns and one query each for tags and digests: no config is read."""
        tags: dict[str, list[str]] = {}
        for r in self.md.query("SELECT name, image_id FROM tags ORDER BY name"):
            tags.setdefault(r["image_id"], []).append(_familiar_stored(r["name"]))
        digests: dict[str, list[str]] = {}
        for r in self.md.query("SELECT name, image_id FROM repo_digests ORDER BY name"):
            digests.setdefault(r["image_id"], []).append(_familiar_stored(r["name"]))
        labels: dict[str, dict] = {}  # parsed once per distinct value (most images share theirs)
        out = []
        for r in self.md.query("SELECT id, parent, size, created, labels FROM images ORDER BY created DESC, added DESC"):
            out.append(({
                "Id": r["id"],
                "ParentId": r["parent"] or "",
                "RepoTags": tags.get(r["id"], []),
                "RepoDigests": digests.get(r["id"], []),
                "Created": int(r["created"]),
                "Size": r["size"],
                "SharedSize": -1,
                "Labels": labels[r["labels"]] if r["labels"] in labels else
                labels.setdefault(r["labels"], json.loads(r["labels"]) if r["labels"] else {}),
                "Containers": -1,
            }, r["parent"] or "", r["created"]))
        return out

    def inspect(self, name: str) -> dict:
        img = self.get_by_name(name)
        cfg = img.config
        container_config = cfg.get("config") or {}
        return {
            "Id": img.id,
            "RepoTags": [refmod.parse(t).familiar() for t in self.tags_of(img.id)],
            "RepoDigests": [_familiar_digest(d) for d in self.digests_of(img.id)],
            "Parent": img.parent,
            "Comment": cfg.get("comment", ""),
            **({"Created": cfg["created"]} if cfg.get("created") else {}),  # omitted when the image has none
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": _image_config_shape(container_config),
            # the image JSON's legacy fields; api/image_versions.py decides how each API version shows them
            "Container": cfg.get("container", ""), "ContainerConfig": cfg.get("container_config"),
            "Architecture": cfg.get("architecture", ""),
            **({"Variant": cfg["variant"]} if cfg.get("variant") else {}),
            "Os": cfg.get("os", ""),
            "Size": img.size,
            "GraphDriver": self._graph_driver(img),
            "RootFS": {"Type": "layers", "Layers": img.diff_ids},
            "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        }

    def _graph_driver(self, img: Image) -> dict:
        chain = self.layers.chain(img.top_chain)
        if not chain:
            return {"Name": self.layers.driver.name, "Data": {}}
        dirs = [str(self.layers.driver.layer_dir(l.cache_id)) for l in reversed(chain)]
        data = {"UpperDir": dirs[0], "MergedDir": dirs[0].rsplit("/", 1)[0] + "/merged",
                "WorkDir": dirs[0].rsplit("/", 1)[0] + "/work"}
        if len(dirs) > 1:
            data["LowerDir"] = ":".join(dirs[1:])
        return {"Name": self.layers.driver.name, "Data": data}

    def list(self, all_: bool = False, filters: Filters | None = None, digests: bool = False) -> list[dict]:
        filters = filters or Filters({})
        filters.validate({"dangling", "reference", "label", "before", "since", "until"})
        images = self._summaries()
        with_children = {parent for _, parent, _ in images if parent}
        before = self.get_by_name(filters.one("before")).created if filters.has("before") else None
        since = self.get_by_name(filters.one("since")).created if filters.has("since") else None
        until = parse_time_filter(filters.one("until")) if filters.has("until") else None
        out = []
        for s, _, created in images:
            intermediate = not s["RepoTags"] and s["Id"] in with_children  # a build step's image
            dangling = not s["RepoTags"] and not intermediate  # untagged and used by no other image
            if intermediate and not all_:
                continue
            if filters.has("dangling") and filters.bool("dangling") != dangling:
                continue
            if filters.has("reference"):
                # as moby: only the references that match are listed, and an image with none is left out
                patterns = filters.get("reference")
                s["RepoTags"] = [t for t in s["RepoTags"] if any(_match_reference(p, t) for p in patterns)]
                s["RepoDigests"] = [d for d in s["RepoDigests"] if any(_match_reference(p, d) for p in patterns)]
                if not s["RepoTags"] and not s["RepoDigests"]:
                    continue
            if filters.has("label") and not filters.match_labels(s["Labels"]):
                continue
            if before is not None and created >= before:
                continue
            if since is not None and created <= since:
                continue
            if until is not None and s["Created"] > until:
                continue
            out.append(s)
        return out

    def history(self, name: str) -> list[dict]:
        img = self.get_by_name(name)
        cfg = img.config
        diff_ids = img.diff_ids
        rows, layer_index = [], 0
        chains = chain_ids(diff_ids)
        for h in cfg.get("history") or []:
            size = 0
            if not h.get("empty_layer") and layer_index < len(chains):
                layer = self.layers.get(chains[layer_index])
                size = layer.size if layer else 0
                layer_index += 1
            rows.insert(0, {"Id": "<missing>", "Created": int(parse_rfc3339(h.get("created", "")) or 0),
                            "CreatedBy": h.get("created_by", ""), "Tags": None, "Size": size,
                            "Comment": h.get("comment", "")})
        if not rows:  # an image with no history: one row per layer, like Docker
            rows = [{"Id": "<missing>", "Created": 0, "CreatedBy": "", "Tags": None, "Size": 0, "Comment": ""}]
        current = img
        for row in rows:
            row["Id"] = current.id
            row["Tags"] = [refmod.parse(t).familiar() for t in self.tags_of(current.id)] or None
            if not current.parent:
                break
            try:
                current = self.get(current.parent)
            except NotFound:
                break
        return rows

    # ---------------------------------------------------------------- removal
    # As moby's ImageDelete: a name untags (and then deletes quietly); an ID deletes. Hard conflicts (a child
    # image, a running container) always refuse; soft ones (other references, a stopped container) only
    # without force. A forced delete of an image a stopped container uses deletes the image record but keeps
    # its layers for the container (see _retain).
    def remove(self, name: str, force: bool = False, prune: bool = True) -> list[dict]:
        image_id, ref = self.resolve(name)
        if ref is not None and not name.startswith("sha256:") and not _is_id_prefix(name, image_id):
            return self._remove_reference(name, image_id, ref, force, prune)
        return self._remove_by_id(image_id, force, prune)

    def _references(self, image_id: str) -> list[str]:
        return self.tags_of(image_id) + self.digests_of(image_id)

    def _remove_reference(self, name: str, image_id: str, ref, force: bool, prune: bool) -> list[dict]:
        # the users only matter for the last reference (reading them costs a query per container)
        users = [] if force or not _is_single_reference(self._references(image_id)) else \
            self.containers.users_of_image(image_id)
        if users:
            # untagging would leave a dangling image a container needs: the user must say so
            raise Conflict(f'conflict: unable to remove repository reference "{name}" (must force) - '
                           f"container {users[0][0][:12]} is using its referenced image {short_id(image_id)}")
        key = f"{ref.domain}/{ref.path}@{ref.digest}" if ref.digest else ref.full()
        records = [self._untag(image_id, key)]
        if not ref.digest and not self._has_other_tag_in_repo(image_id, ref):
            records += self._untag_digests(image_id, ref)
        if not self._references(image_id):
            self._delete_helper(image_id, records, force, prune, quiet=True)
        return records

    def _remove_by_id(self, image_id: str, force: bool, prune: bool) -> list[dict]:
        records: list[dict] = []
        refs = self._references(image_id)
        if _is_single_reference(refs):
            conflict = self._conflict(image_id, _HARD if force else _HARD | _STOPPED)
            if conflict:
                raise Conflict(conflict[0])
            records += [self._untag(image_id, r) for r in refs]
        self._delete_helper(image_id, records, force, prune, quiet=False)
        return records

    def _delete_helper(self, image_id: str, records: list[dict], force: bool, prune: bool, quiet: bool) -> None:
        """Delete the image (and, pruning, its unused untagged parents) unless a conflict forbids it; a quiet
        delete gives up silently unless the image is dangling and unused, when the user must hear why.
        A loop down the parents, not recursion: a chain can be thousands of images deep."""
        while True:
            conflict = self._conflict(image_id, _HARD if force else _HARD | _SOFT)
            if conflict:
                message, used = conflict
                if quiet and (used or not self._is_dangling(image_id)):
                    return
                raise Conflict(message)
            parent = self._parent_of(image_id)
            records += [self._untag(image_id, r) for r in self._references(image_id)]
            records += self.delete_unchecked(image_id)
            if not (prune and parent and self._exists(parent)):
                return
            image_id, force, quiet = parent, False, True

    def _parent_of(self, image_id: str) -> str:
        row = self.md.one("SELECT parent FROM images INDEXED BY images_links WHERE id=?", (image_id,)) or \
            self.md.one("SELECT parent FROM retained_images WHERE id=?", (image_id,))
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        return row["parent"] or ""

    def _conflict(self, image_id: str, mask: int) -> tuple[str, bool] | None:
        """(message, whether a container uses the image) of the first conflict in `mask`, in moby's order."""
        def conflict(hard: bool, message: str) -> str:
            return (f"conflict: unable to delete {short_id(image_id)} "
                    f"({'cannot be forced' if hard else 'must be forced'}) - {message}")

        users = self.containers.users_of_image(image_id)
        running = [cid for cid, is_running in users if is_running]
        stopped = [cid for cid, is_running in users if not is_running]
        if mask & _CHILD and self.children_of(image_id):
            return conflict(True, "image has dependent child images"), False
        if mask & _RUNNING and running:
            return conflict(True, f"image is being used by running container {running[0][:12]}"), True
        if mask & _REFERENCED and self._references(image_id):
            return conflict(False, "image is referenced in multiple repositories"), False
        if mask & _STOPPED and stopped:
            return conflict(False, f"image is being used by stopped container {stopped[0][:12]}"), True
        return None

    def _is_dangling(self, image_id: str) -> bool:
        return not self._references(image_id) and not self.children_of(image_id)

    def _exists(self, image_id: str) -> bool:
        return self.md.one("SELECT 1 FROM images WHERE id=?", (image_id,)) is not None

    def _has_other_tag_in_repo(self, image_id: str, ref) -> bool:
        repo = f"{ref.domain}/{ref.path}"
        return any(t.rsplit(":", 1)[0] == repo for t in self.tags_of(image_id))

    def _untag_digests(self, image_id: str, ref) -> list[dict]:
        repo = f"{ref.domain}/{ref.path}@"
        return [self._untag(image_id, d) for d in self.digests_of(image_id) if d.startswith(repo)]

    def _untag(self, image_id: str, name: str) -> dict:
        with self._changing() as cur:
            cur.execute("DELETE FROM tags WHERE name=? AND image_id=?", (name, image_id))
            cur.execute("DELETE FROM repo_digests WHERE name=? AND image_id=?", (name, image_id))
        shown = _familiar_digest(name) if "@" in name else refmod.parse(name).familiar()
        self.events.emit("image", "untag", image_id, {"name": image_id})
        return {"Untagged": shown}

    def delete_unchecked(self, image_id: str) -> list[dict]:
        """Remove the image record, with no conflict checks (the caller made them); its layers go too unless a
        (stopped) container still stands on them."""
        top = self._top_chain_of(image_id)
        retain = bool(self.containers.users_of_image(image_id))
        with self._changing() as cur:
            if retain:
                self._maybe_retained, self._retains = True, self._retains + 1
                cur.execute("INSERT OR REPLACE INTO retained_images SELECT * FROM images WHERE id=?", (image_id,))
            else:
                cur.execute("DELETE FROM image_layers WHERE image_id=?", (image_id,))
            cur.execute("DELETE FROM images WHERE id=?", (image_id,))
            cur.execute("DELETE FROM tags WHERE image_id=?", (image_id,))
            cur.execute("DELETE FROM repo_digests WHERE image_id=?", (image_id,))
            cur.execute("UPDATE images SET parent='' WHERE parent=?", (image_id,))
        self.events.emit("image", "delete", image_id, {"name": image_id})
        if retain:
            return [{"Deleted": image_id}]
        return [{"Deleted": image_id}] + [{"Deleted": c} for c in self._release_layers(top)]

    def _top_chain_of(self, image_id: str) -> str | None:
        """The stored top layer (the images table keeps it: no config read)."""
        row = self.md.one("SELECT top_chain FROM images INDEXED BY images_links WHERE id=?", (image_id,)) or \
            self.md.one("SELECT top_chain FROM retained_images WHERE id=?", (image_id,))
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        return row["top_chain"]

    def release_retained(self) -> None:
        """Free the layers of deleted images kept for containers, once no container uses them."""
        if not self._maybe_retained:
            return
        kept, retains = False, self._retains
        for row in self.md.query("SELECT id FROM retained_images"):
            if self.containers.users_of_image(row["id"]):
                kept = True
                continue
            top = self._top_chain_of(row["id"])
            with self._changing() as cur:
                cur.execute("DELETE FROM retained_images WHERE id=?", (row["id"],))
                cur.execute("DELETE FROM image_layers WHERE image_id=?", (row["id"],))
            self._release_layers(top)
        if not kept and retains == self._retains:
            self._maybe_retained = False

    def _on_event(self, event: dict) -> None:
        if event["Type"] == "container" and event["Action"] == "destroy":
            self.release_retained()

    def _release_layers(self, top: str | None) -> list[str]:
        """Remove the image's layers, top down, that nothing uses any more; returns their chain IDs. The first
        layer still used (by another image or a layer on it) ends the walk: all below it are used too."""
        removed, chain_id = [], top
        while chain_id:
            layer = self.layers.get(chain_id)
            if layer is None:
                break
            self.layers.release([chain_id])
            if self.layers.get(chain_id) is not None:
                break
            removed.append(chain_id)
            chain_id = layer.parent
        return removed

    def labels_of(self, image_id: str) -> dict:
        """The image's config Labels, from the summary column."""
        row = self.md.one("SELECT labels FROM images INDEXED BY images_links WHERE id=?", (image_id,)) or \
            self.md.one("SELECT labels FROM retained_images WHERE id=?", (image_id,))
        return json.loads(row["labels"]) if row and row["labels"] else {}

    def prune(self, all_: bool = False, filters: Filters | None = None) -> dict:
        filters = filters or Filters({})
        filters.validate({"dangling", "until", "label", "label!"})
        if filters.has("dangling") and not filters.bool("dangling"):
            all_ = True
        until = parse_time_filter(filters.one("until")) if filters.has("until") else None
        self.release_retained()
        deleted, reclaimed = [], 0
        changed = True
        while changed:  # deleting a child can make its parent prunable
            changed = False
            for img in self.all_images():
                tags = self.tags_of(img.id)
                if tags and not all_:
                    continue
                if self.containers.users_of_image(img.id):
                    continue
                children = self.children_of(img.id)
                if children and not tags:
                    continue
                cfg_labels = (img.config.get("config") or {}).get("Labels") or {}
                if filters.has("label") and not filters.match_labels(cfg_labels):
                    continue
                if until is not None and img.created > until:
                    continue
                for t in tags:
                    deleted.append(self._untag(img.id, t))
                for d in self.digests_of(img.id):
                    deleted.append(self._untag(img.id, d))
                if children:
                    # dockerd's prune -a removes every reference of a tagged image that a kept image is built
                    # on (a base older than `until`, say), then leaves the image itself to its children.
                    changed = True
                    continue
                before = self.layers.total_size()
                deleted += self.delete_unchecked(img.id)
                reclaimed += before - self.layers.total_size()
                changed = True
        self.events.emit("image", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # ---------------------------------------------------------------- garbage collection
    def collect_garbage(self) -> None:
        """Layers no image references (left by a crash mid-load or mid-pull) are removed at start-up."""
        rows = self.md.query("SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)")
        orphans = [r["chain_id"] for r in rows]
        # release() removes a layer only once nothing stacks on it; repeat until no progress.
        while orphans:
            self.layers.release(orphans)
            left = [c for c in orphans if self.layers.get(c)]
            if len(left) == len(orphans):
                break
            orphans = left
        known = {r["cache_id"] for r in self.md.query("SELECT cache_id FROM layers")}
        return known


# An image's Config as moby's inspect marshals it (API 1.50): the OCI image config with Docker's extensions,
# every field `omitempty`, then these legacy fields merged in even when unset (moby issue 50134). The merge goes
# through a Go map, so the keys come out sorted. (Container-only fields such as Hostname are gone since 1.50;
# api/image_versions.py puts them back for older API versions.)
IMAGE_CONFIG_KEYS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                     "StopSignal", "ArgsEscaped", "Healthcheck", "OnBuild", "Shell")
IMAGE_CONFIG_ALWAYS = {"Cmd": None, "Entrypoint": None, "Env": None, "Labels": None, "OnBuild": None, "User": "",
                       "Volumes": None, "WorkingDir": ""}


def _image_config_shape(c: dict) -> dict:
    """The `Config` of an image as docker's ImageInspect shows it."""
    out = dict(IMAGE_CONFIG_ALWAYS)
    out.update({k: c[k] for k in IMAGE_CONFIG_KEYS if c.get(k) or (k == "Healthcheck" and c.get(k) is not None)})
    return dict(sorted(out.items()))


def _match_reference(pattern: str, familiar: str) -> bool:
    """docker images --filter reference=PATTERN: path.Match against `name:tag` / `name@digest`, or `name`."""
    if "@" in familiar:
        name = familiar.split("@", 1)[0]
    else:
        name = familiar.rsplit(":", 1)[0] if ":" in familiar.rsplit("/", 1)[-1] else familiar
    return fnmatch.fnmatchcase(familiar, pattern) or fnmatch.fnmatchcase(name, pattern)


# Delete conflicts, as moby's conflictType: hard ones can never be forced.
_CHILD, _RUNNING, _REFERENCED, _STOPPED = 1, 2, 4, 8
_HARD = _CHILD | _RUNNING
_SOFT = _REFERENCED | _STOPPED


def _is_single_reference(refs: list[str]) -> bool:
    """At most one tag, and any digest references in that tag's repository (moby's isSingleReference)."""
    if len(refs) <= 1:
        return len(refs) == 1
    tags = [r for r in refs if "@" not in r]
    if len(tags) > 1:
        return False
    repos = {r.split("@", 1)[0] for r in refs if "@" in r}
    repo = tags[0].rsplit(":", 1)[0] if tags else refs[0].split("@", 1)[0]
    return repos == {repo}


def _familiar_stored(full: str) -> str:
    """familiar() of a reference as stored (already parsed and normalised: `docker.io/library/x:1`), with
    string operations: parsing each of ten thousand tags again made most of a listing's time."""
    if not full.startswith(refmod.DEFAULT_DOMAIN + "/"):
        return full
    rest = full[len(refmod.DEFAULT_DOMAIN) + 1:]
    name_end = min((i for i in (rest.find(":"), rest.find("@")) if i >= 0), default=len(rest))
    if rest.startswith(refmod.OFFICIAL_REPO_PREFIX) and "/" not in rest[len(refmod.OFFICIAL_REPO_PREFIX):name_end]:
        return rest[len(refmod.OFFICIAL_REPO_PREFIX):]
    return rest


def _familiar_digest(name: str) -> str:
    ref = refmod.parse(name)
    return f"{ref.repository()}@{ref.digest}"


def _is_id_prefix(name: str, image_id: str) -> bool:
    hexpart = name[7:] if name.startswith("sha256:") else name
    return image_id.startswith("sha256:" + hexpart) and all(c in "0123456789abcdef" for c in hexpart)


def new_config(base: dict | None = None, **overrides) -> dict:
    """A fresh image config for import/commit with today's timestamp."""
    import platform as _p

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(_p.machine(), _p.machine())
    cfg = {"architecture": arch, "os": "linux", "created": now_rfc3339(), "config": {},
           "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if base:
        cfg.update(base)
    cfg.update(overrides)
    return cfg


# ======================================================================================================
# Registry pull/push support (added for issue 5 by the registry-client engineer; used by
# daemon/registry.py). Kept apart from the service above. They work on the layer store's `layer_blobs`
# table: one row per (diff ID, stored blob, repository); `repository` ('' for none) names a registry
# repository known to hold the blob (`127.0.0.1:5000/me/base`), which is what cross-repository mounts
# need, and a gzip row is the compressed form push reuses so pushing twice gives the same digests.

def register_verified_layer(images: ImageService, stream, parent_chain: str | None, diff_id: str,
                            stored_digest: str | None = None):
    """Register a (compressed) layer stream; if its content is not `diff_id`, undo it and raise."""
    layer = images.layers.register(stream, parent_chain, stored_digest)
    if layer.diff_id != diff_id:
        images.layers.release([layer.chain_id])  # only removed if no image uses it
        raise InvalidParameter(f"layer content does not match the image configuration: expected diff ID "
                               f"{diff_id}, got {layer.diff_id}")
    return layer


def compressed_layer_blob(images: ImageService, diff_id: str) -> tuple[str, str, int] | None:
    """(blob digest, media type, size) of a stored gzip or zstd form of the layer, if there is one: a
    layer pulled as zstd is pushed back as that same blob, as registries already hold it."""
    for row in images.md.query("SELECT blob_digest, media_type, size FROM layer_blobs WHERE diff_id=? "
                               "ORDER BY repository != '' DESC", (diff_id,)):
        pushable = "gzip" in row["media_type"] or row["media_type"].endswith("+zstd")
        if pushable and images.content.has(row["blob_digest"]):
            return row["blob_digest"], row["media_type"], row["size"]
    return None


def remember_layer_blob(images: ImageService, diff_id: str, digest: str, media_type: str, size: int,
                        repository: str = "") -> None:
    with images.md.tx() as cur:
        cur.execute("INSERT OR IGNORE INTO layer_blobs(diff_id, blob_digest, media_type, size, repository) "
                    "VALUES (?,?,?,?,?)", (diff_id, digest, media_type, size, repository))


def blob_repositories(images: ImageService, digest: str, registry: str) -> list[str]:
    """Repositories on `registry` known to hold `digest`, as paths without the registry (`me/base`)."""
    prefix = registry + "/"
    rows = images.md.query("SELECT DISTINCT repository FROM layer_blobs WHERE blob_digest=?", (digest,))
    return [r["repository"][len(prefix):] for r in rows if r["repository"].startswith(prefix)]
