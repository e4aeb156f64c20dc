"""Layer store: read-only layers keyed by chain ID, plus containers' read-write layers.

Every layer's tar stream is also kept in the content store (compressed as received, or plain), mapped in
`layer_blobs`, so save and push reproduce the exact bytes behind each diff ID. A layer is referenced by
the images whose top layer it is (`image_layers`) and by the layers stacked on it (their `parent`);
unreferenced layers are removed with the last image. Layer contents live in a Snapshotter
(store/snapshots/); a container's root is mounted here, from the mount specs it returns.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from ..errors import NotFound
from ..store.content import ContentStore
from ..store.metadata import Metadata
from ..store.snapshots.mount import is_mountpoint, mount_all, unmount_all
from ..store.snapshots.snapshotter import Snapshotter
from . import layertar
from .unpack import apply_layer, compression_of, open_decompressed, resolve_in_root

log = logging.getLogger("dockyard.layers")

MEDIA_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def chain_id_of(parent_chain: str | None, diff_id: str) -> str:
    if parent_chain is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent_chain} {diff_id}".encode()).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    out: list[str] = []
    for d in diff_ids:
        out.append(chain_id_of(out[-1] if out else None, d))
    return out


@dataclass(frozen=True)
class Layer:
    chain_id: str
    diff_id: str
    parent: str | None
    cache_id: str
    size: int


class _Tap(io.RawIOBase):
    """Reads from `src`, handing every byte to `sink` on the way (a blob writer, a hash)."""

    def __init__(self, src, sink=None):
        self._src, self._sink = src, sink

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._src.read(len(b))
        if not data:
            return 0
        if self._sink is not None:
            self._sink(data)
        b[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class _StoredBlob:
    """Stands in for a content writer when the layer's blob is already stored."""

    def __init__(self, digest: str):
        self.digest = digest

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, data: bytes) -> None:
        pass

    def commit(self) -> str:
        return self.digest


MEDIA_BY_COMPRESSION = {"gzip": MEDIA_TAR_GZIP, "bzip2": MEDIA_TAR + "+bzip2", "xz": MEDIA_TAR + "+xz",
                        "zstd": MEDIA_TAR + "+zstd", "none": MEDIA_TAR}


class LayerStore:
    def __init__(self, md: Metadata, content: ContentStore, driver: Snapshotter):
        self.md = md
        self.content = content
        self.driver = driver
        self._init_lock = threading.Lock()
        self._inits_ready: set[str] = set()  # the shared init layers this process made or completed

    # --- lookups ---
    def get(self, chain_id: str) -> Layer | None:
        row = self.md.one("SELECT * FROM layers WHERE chain_id=?", (chain_id,))
        return Layer(row["chain_id"], row["diff_id"], row["parent"], row["cache_id"], row["size"]) if row else None

    def chain(self, chain_id: str | None) -> list[Layer]:
        """Bottom layer first. One recursive query: a chain can be thousands of layers deep."""
        if not chain_id:
            return []
        rows = self.md.query(_CHAIN_SQL.format(columns="l.chain_id, l.diff_id, l.parent, l.cache_id, l.size"),
                             (chain_id,))
        out = [Layer(r["chain_id"], r["diff_id"], r["parent"], r["cache_id"], r["size"]) for r in rows]
        missing = out[-1].parent if out else chain_id
        if missing:
            raise NotFound(f"layer {missing} does not exist")
        return list(reversed(out))

    def chain_size(self, chain_id: str | None) -> int:
        """The size of a layer and every layer below it."""
        if not chain_id:
            return 0
        return self.md.one(_CHAIN_SQL.format(columns="COALESCE(SUM(l.size), 0) AS s"), (chain_id,))["s"]

    # --- registration ---
    def register(self, stream: BinaryIO, parent_chain: str | None, stored_digest: str | None = None) -> Layer:
        """Unpack a (possibly compressed) layer tar on top of `parent_chain`; idempotent per chain ID.
        The bytes as received are kept as a blob, unless `stream` reads the blob `stored_digest` of the
        content store (a pull downloads and verifies blobs there first): no second copy then."""
        parent = self.get(parent_chain) if parent_chain else None
        if parent_chain and parent is None:
            raise NotFound(f"parent layer {parent_chain} does not exist")
        cache_id = secrets.token_hex(32)
        diff_hash = hashlib.sha256()
        tar_size = 0

        def on_tar_bytes(data: bytes) -> None:
            nonlocal tar_size
            diff_hash.update(data)
            tar_size += len(data)

        with (_StoredBlob(stored_digest) if stored_digest else self.content.writer()) as blob:
            raw = io.BufferedReader(_Tap(stream, blob.write), 1 << 16)  # the bytes as received go to the blob
            media_type = MEDIA_BY_COMPRESSION[compression_of(raw.peek(6)[:6])]
            tar = _Tap(open_decompressed(raw), on_tar_bytes)  # the uncompressed tar gives the diff ID
            layer_dir = self.driver.prepare(cache_id, parent.cache_id if parent else None)
            try:
                apply_layer(io.BufferedReader(tar, 1 << 16), str(layer_dir), mode=self.driver.apply_mode)
                tar.drain()
                while raw.read(1 << 20):  # trailing bytes after the tar end still belong to the blob
                    pass
                blob_digest = blob.commit()
                self.driver.commit(cache_id)
            except BaseException:
                self.driver.remove(cache_id)
                raise
        diff_id = "sha256:" + diff_hash.hexdigest()
        chain_id = chain_id_of(parent_chain, diff_id)
        size = self.driver.usage(cache_id) if self.driver.apply_mode == "overlay" else tar_size
        with self.md.tx() as cur:
            existing = cur.execute("SELECT 1 FROM layers WHERE chain_id=?", (chain_id,)).fetchone()
            if not existing:
                cur.execute("INSERT INTO layers VALUES (?,?,?,?,?,?)",
                            (chain_id, diff_id, parent_chain, cache_id, size, time.time()))
            cur.execute("INSERT OR IGNORE INTO layer_blobs(diff_id, blob_digest, media_type, size) VALUES (?,?,?,?)",
                        (diff_id, blob_digest, media_type, self.content.size(blob_digest)))
        if existing:
            self.driver.remove(cache_id)
        return self.get(chain_id)

    def open_tar(self, diff_id: str) -> BinaryIO:
        """The uncompressed tar stream whose digest is `diff_id`."""
        row = self.md.one("SELECT blob_digest FROM layer_blobs WHERE diff_id=? ORDER BY media_type='" + MEDIA_TAR
                          + "' DESC LIMIT 1", (diff_id,))
        if row is None:
            raise NotFound(f"no stored tar for layer {diff_id}")
        return open_decompressed(self.content.open(row["blob_digest"]))

    # --- removal ---
    def release(self, chain_ids: list[str]) -> None:
        """Remove the given layers (top first) that no image references any more."""
        for chain_id in chain_ids:
            with self.md.tx() as cur:
                if cur.execute("SELECT 1 FROM image_layers WHERE chain_id=? LIMIT 1", (chain_id,)).fetchone():
                    continue
                if cur.execute("SELECT 1 FROM layers WHERE parent=? LIMIT 1", (chain_id,)).fetchone():
                    continue
                row = cur.execute("SELECT * FROM layers WHERE chain_id=?", (chain_id,)).fetchone()
                if row is None:
                    continue
                cur.execute("DELETE FROM layers WHERE chain_id=?", (chain_id,))
                diff_id = row["diff_id"]
                still_used = cur.execute("SELECT 1 FROM layers WHERE diff_id=? LIMIT 1", (diff_id,)).fetchone()
                blobs = [] if still_used else cur.execute(
                    "SELECT blob_digest FROM layer_blobs WHERE diff_id=?", (diff_id,)).fetchall()
                if not still_used:
                    cur.execute("DELETE FROM layer_blobs WHERE diff_id=?", (diff_id,))
            self.driver.remove(row["cache_id"])
            self._remove_shared_init(row["cache_id"])
            for b in blobs:
                self.content.delete(b["blob_digest"])

    # --- container read-write layers ---
    # Below each container's RW layer sits an init layer holding the mount points the runtime needs
    # (/etc/hosts, /proc, ...), as Docker's `<id>-init` does: they exist before runc starts, so runc never
    # writes them into the RW layer, and diff, commit and export of the RW layer never show them. What it holds
    # depends only on the image's layers, so the containers of an image share one, `<top layer's cache id>-init`,
    # which goes with that layer: a create makes only its own RW dirs, not ~20 more files and dirs each time.
    # A container removed right after its run (a build step's) gets one of its own, `<container id>-init`,
    # which goes with it, as containers made before the sharing have.
    def create_rw(self, rw_id: str, chain_id: str | None, shared_init: bool = True) -> None:
        chain = [l.cache_id for l in self.chain(chain_id)]
        top = chain[-1] if chain else None
        if shared_init:
            init = self._shared_init(top)
        else:
            init = _init_id(rw_id)
            self._make_init(init, top)
        self.driver.prepare(rw_id, init)

    def _make_init(self, key: str, top: str | None) -> None:
        _write_mount_points(str(self.driver.prepare(key, top)))
        self.driver.commit(key)

    def _shared_init(self, top: str | None) -> str:
        """The init layer over the layer `top`. Its first use by this process makes it, or completes one a
        crash left half-made (every step is idempotent); later ones only name it."""
        key = _init_id(top or _SCRATCH)
        with self._init_lock:
            if key not in self._inits_ready:
                self._make_init(key, top)
                self._inits_ready.add(key)
        return key

    def _remove_shared_init(self, top: str) -> None:
        key = _init_id(top)
        with self._init_lock:
            self._inits_ready.discard(key)
            if self.driver.upper(key).exists():
                self.driver.remove(key)

    def _rw_chain(self, rw_id: str, chain_id: str | None) -> list[str]:
        chain = [l.cache_id for l in self.chain(chain_id)]
        for init in (_init_id(rw_id), _init_id(chain[-1] if chain else _SCRATCH)):
            if self.driver.upper(init).exists():  # (containers made before init layers existed have neither)
                chain.append(init)
                break
        return chain

    def rw_mounts(self, rw_id: str, chain_id: str | None):
        """The mount specs of a container's root: its RW layer over the init layer and the image's."""
        return self.driver.mounts(rw_id, self._rw_chain(rw_id, chain_id))

    def mount_rw(self, rw_id: str, chain_id: str | None) -> Path:
        """Mount the container's root (once) where inspect says it is; returns that path."""
        target = self.driver.mountpoint(rw_id)
        if not is_mountpoint(str(target)):
            mount_all(self.rw_mounts(rw_id, chain_id), str(target))
        return target

    def unmount_rw(self, rw_id: str) -> None:
        unmount_all(str(self.driver.mountpoint(rw_id)))

    def remove_rw(self, rw_id: str) -> None:
        self._remove_snapshot(rw_id)
        self.driver.remove(_init_id(rw_id))

    def _remove_snapshot(self, key: str) -> None:
        """Unmount a snapshot and delete it; a mount that will not go keeps the dir (never reach below). With a
        trash, the snapshot goes there still mounted and the trash unmounts it in the background: an overlay
        unmount syncs the upper filesystem, which `run --rm` would wait for (ms, tens on a busy disk)."""
        if self.driver.trash is not None:
            self.driver.remove(key)
            return
        target = str(self.driver.mountpoint(key))
        if not unmount_all(target):
            raise OSError(f"{target} is still mounted")
        self.driver.remove(key)

    def rw_root(self, rw_id: str) -> Path:
        return self.driver.mountpoint(rw_id)

    def write_rw_diff(self, rw_id: str, chain_id: str | None, out: BinaryIO, source_date_epoch=None):
        """Write the container's changes as a layer tar; returns (diff_id, size)."""
        if self.driver.apply_mode == "overlay":
            return layertar.write_dir_tar(str(self.driver.upper(rw_id)), out, mode="overlay",
                                          source_date_epoch=source_date_epoch)
        below = self._rw_chain(rw_id, chain_id)
        base = str(self.driver.upper(below[-1])) if below else None
        return layertar.write_changes_tar(base, str(self.driver.upper(rw_id)), out)

    def rw_changes(self, rw_id: str, chain_id: str | None) -> list[dict]:
        # the layers' own dirs, not the spec's lowerdir (a deep chain's spec names short links instead)
        lowers = [str(self.driver.upper(c)) for c in reversed(self._rw_chain(rw_id, chain_id))]
        return layertar.changes(lowers, str(self.driver.upper(rw_id)), mode=self.driver.apply_mode)

    # --- start-up sweep ---
    def remove_orphans(self, container_ids: Iterable[str]) -> list[str]:
        """Remove the driver dirs no layer row and no container knows: what a crash mid-register (a
        SIGKILLed commit, pull or load) left half-extracted. Only for daemon start, before anything
        creates layers; a container's RW and init dirs are always kept. Returns the removed IDs."""
        known = {row["cache_id"] for row in self.md.query("SELECT cache_id FROM layers")}
        known.update([_init_id(cache_id) for cache_id in known])
        for cid in container_ids:
            known.update((cid, _init_id(cid)))
        removed = []
        for dir_id in sorted(self.driver.keys() - known):
            if not _OUR_DIR_NAME.fullmatch(dir_id):  # never a name we did not make
                continue
            try:
                self._remove_snapshot(dir_id)
            except OSError as err:
                log.warning("left orphaned layer dir %s: %s", dir_id, err)
                continue
            removed.append(dir_id)
        self.driver.cleanup()
        return removed

    def total_size(self) -> int:
        row = self.md.one("SELECT COALESCE(SUM(size),0) AS s FROM layers")
        return row["s"]


# A layer and the layers below it, top first (n counts the depth, so the order is the chain's).
_CHAIN_SQL = """
WITH RECURSIVE up(chain_id, n) AS (
    SELECT ?, 0
    UNION ALL
    SELECT layers.parent, up.n + 1 FROM layers JOIN up ON layers.chain_id = up.chain_id WHERE layers.parent IS NOT NULL
)
SELECT {columns} FROM up JOIN layers l ON l.chain_id = up.chain_id ORDER BY up.n
"""


_SCRATCH = "scratch"  # the init layer of images without layers is `scratch-init`


def _init_id(rw_id: str) -> str:
    return f"{rw_id}-init"


# Layer cache IDs and container IDs are 64 hex digits; init layers add "-init".
_OUR_DIR_NAME = re.compile(r"[0-9a-f]{64}(-init)?")


# Docker's init layer: mount points for the runtime, and /.dockerenv, which programs check to know they
# run in a container.
_INIT_DIRS = ("dev/pts", "dev/shm", "proc", "sys")
_INIT_FILES = ("dev/console", "etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv")


def _write_mount_points(root: str) -> None:
    # resolve_in_root: with the vfs driver the init layer is a copy of the image, whose symlinks must not
    # lead these writes out of it.
    for rel in _INIT_DIRS:
        os.makedirs(resolve_in_root(root, rel), exist_ok=True)
    for rel in _INIT_FILES:
        path = resolve_in_root(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(path):
            open(path, "a").close()
    mtab = resolve_in_root(root, "etc/mtab", follow_last=False)
    if not os.path.lexists(mtab):
        os.symlink("/proc/mounts", mtab)
