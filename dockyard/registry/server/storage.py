"""On-disk layout, compatible with docker/distribution's filesystem driver so either server can read it:

    <root>/docker/registry/v2/blobs/<algo>/<hh>/<hex>/data                        content, stored once
    <root>/docker/registry/v2/repositories/<name>/_layers/<algo>/<hex>/link        blob is in this repo
    .../<name>/_manifests/revisions/<algo>/<hex>/link                              manifest is in this repo
    .../<name>/_manifests/tags/<tag>/current/link                                  tag -> manifest digest
    .../<name>/_manifests/tags/<tag>/index/<algo>/<hex>/link                       digests the tag has had
    .../<name>/_uploads/<uuid>/{data,startedat}                                    uploads in progress
    .../<name>/_dockyard/meta.json                                                 description, stars
    .../<name>/_dockyard/referrers/<algo>/<hex>/<algo>/<hex>                       subject -> referrer

Every file that readers see is written to a temporary name and renamed into place, so a crash never leaves a
half-written blob or link. Methods are synchronous and quick (small files) except where noted; the HTTP layer
runs the slow ones in a thread.
"""
from collections import OrderedDict
import json
import os
import shutil
import tempfile
import threading

from dockyard.registry.server.names import split_digest


def write_atomic(path: str, data: bytes, fsync: bool = True) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


class _SmallBlobCache:
    """LRU of manifest bytes by digest: content-addressed, so entries never go stale, only get evicted."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes, self.used = max_bytes, 0
        self.items: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, digest: str) -> bytes | None:
        with self.lock:
            data = self.items.get(digest)
            if data is not None:
                self.items.move_to_end(digest)
            return data

    def put(self, digest: str, data: bytes) -> None:
        with self.lock:
            if digest in self.items or len(data) > self.max_bytes // 16:
                return
            self.items[digest] = data
            self.used += len(data)
            while self.used > self.max_bytes:
                _, old = self.items.popitem(last=False)
                self.used -= len(old)

    def drop(self, digest: str) -> None:
        with self.lock:
            data = self.items.pop(digest, None)
            if data is not None:
                self.used -= len(data)


class Storage:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.base = os.path.join(self.root, "docker", "registry", "v2")
        self.blobs_dir = os.path.join(self.base, "blobs")
        self.repos_dir = os.path.join(self.base, "repositories")
        os.makedirs(self.blobs_dir, exist_ok=True)
        os.makedirs(self.repos_dir, exist_ok=True)
        self.cache = _SmallBlobCache()
        self._meta_lock = threading.Lock()

    # ---- blobs (global, content-addressed) ----
    def blob_path(self, digest: str) -> str:
        algo, hexpart = split_digest(digest)
        return os.path.join(self.blobs_dir, algo, hexpart[:2], hexpart, "data")

    def has_blob(self, digest: str) -> bool:
        return os.path.isfile(self.blob_path(digest))

    def blob_size(self, digest: str) -> int | None:
        try:
            return os.stat(self.blob_path(digest)).st_size
        except FileNotFoundError:
            return None

    def read_blob(self, digest: str) -> bytes | None:
        data = self.cache.get(digest)
        if data is not None:
            return data
        try:
            with open(self.blob_path(digest), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        self.cache.put(digest, data)
        return data

    def put_blob(self, digest: str, data: bytes) -> None:
        """Store bytes already verified to hash to `digest`."""
        path = self.blob_path(digest)
        if not os.path.exists(path):
            write_atomic(path, data)
        self.cache.put(digest, data)

    def adopt_blob_file(self, digest: str, src: str) -> None:
        """Move a verified, fsynced upload file into the blob store (rename: atomic, same filesystem)."""
        path = self.blob_path(digest)
        if os.path.exists(path):       # stored once: a second upload of the same content is dropped
            os.unlink(src)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.replace(src, path)
        fsync_dir(os.path.dirname(path))

    def delete_blob(self, digest: str) -> None:
        self.cache.drop(digest)
        shutil.rmtree(os.path.dirname(self.blob_path(digest)), ignore_errors=True)

    def iter_blobs(self):
        for algo in sorted(os.listdir(self.blobs_dir)):
            adir = os.path.join(self.blobs_dir, algo)
            for prefix in sorted(os.listdir(adir)):
                for hexpart in sorted(os.listdir(os.path.join(adir, prefix))):
                    if os.path.isfile(os.path.join(adir, prefix, hexpart, "data")):
                        yield f"{algo}:{hexpart}"

    # ---- repositories ----
    def repo_dir(self, name: str) -> str:
        return os.path.join(self.repos_dir, name)

    def _link_path(self, name: str, kind: str, digest: str) -> str:
        algo, hexpart = split_digest(digest)
        return os.path.join(self.repo_dir(name), kind, algo, hexpart, "link")

    def repo_exists(self, name: str) -> bool:
        d = self.repo_dir(name)
        return os.path.isdir(os.path.join(d, "_manifests")) or os.path.isdir(os.path.join(d, "_layers"))

    def delete_repo(self, name: str) -> None:
        """Remove a repository's links, tags and metadata; its blobs stay until garbage collection."""
        shutil.rmtree(self.repo_dir(name), ignore_errors=True)

    def list_repos(self) -> list[str]:
        """Repositories with at least one manifest, sorted (the _catalog order)."""
        found = []
        for dirpath, dirnames, _ in os.walk(self.repos_dir):
            if "_manifests" in dirnames:
                found.append(os.path.relpath(dirpath, self.repos_dir).replace(os.sep, "/"))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(found)

    # layer links: "this blob belongs to this repository"
    def link_layer(self, name: str, digest: str) -> None:
        path = self._link_path(name, "_layers", digest)
        if not os.path.exists(path):
            write_atomic(path, digest.encode())

    def has_layer(self, name: str, digest: str) -> bool:
        return os.path.exists(self._link_path(name, "_layers", digest))

    def unlink_layer(self, name: str, digest: str) -> bool:
        path = self._link_path(name, "_layers", digest)
        if not os.path.exists(path):
            return False
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        return True

    def iter_layer_links(self, name: str):
        base = os.path.join(self.repo_dir(name), "_layers")
        for algo in _listdir(base):
            for hexpart in _listdir(os.path.join(base, algo)):
                yield f"{algo}:{hexpart}"

    # manifest revisions: "this manifest belongs to this repository"
    def link_revision(self, name: str, digest: str) -> None:
        path = self._link_path(name, "_manifests/revisions", digest)
        if not os.path.exists(path):
            write_atomic(path, digest.encode())

    def has_revision(self, name: str, digest: str) -> bool:
        return os.path.exists(self._link_path(name, "_manifests/revisions", digest))

    def unlink_revision(self, name: str, digest: str) -> bool:
        path = self._link_path(name, "_manifests/revisions", digest)
        if not os.path.exists(path):
            return False
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        return True

    def iter_revisions(self, name: str):
        base = os.path.join(self.repo_dir(name), "_manifests", "revisions")
        for algo in _listdir(base):
            for hexpart in _listdir(os.path.join(base, algo)):
                yield f"{algo}:{hexpart}"

    # tags
    def _tags_dir(self, name: str) -> str:
        return os.path.join(self.repo_dir(name), "_manifests", "tags")

    def set_tag(self, name: str, tag: str, digest: str) -> None:
        algo, hexpart = split_digest(digest)
        tdir = os.path.join(self._tags_dir(name), tag)
        write_atomic(os.path.join(tdir, "index", algo, hexpart, "link"), digest.encode(), fsync=False)
        write_atomic(os.path.join(tdir, "current", "link"), digest.encode())

    def get_tag(self, name: str, tag: str) -> str | None:
        return _read(os.path.join(self._tags_dir(name), tag, "current", "link"))

    def delete_tag(self, name: str, tag: str) -> bool:
        tdir = os.path.join(self._tags_dir(name), tag)
        if not os.path.isdir(tdir):
            return False
        shutil.rmtree(tdir, ignore_errors=True)
        return True

    def list_tags(self, name: str) -> list[str]:
        tags_dir = self._tags_dir(name)
        return sorted(t for t in _listdir(tags_dir) if os.path.exists(os.path.join(tags_dir, t, "current", "link")))

    def tags_for(self, name: str, digest: str) -> list[str]:
        return [t for t in self.list_tags(name) if self.get_tag(name, t) == digest]

    def tag_mtime(self, name: str, tag: str) -> float:
        try:
            return os.stat(os.path.join(self._tags_dir(name), tag, "current", "link")).st_mtime
        except FileNotFoundError:
            return 0.0

    # referrers index: subject digest -> manifests whose `subject` points at it
    def _referrers_dir(self, name: str, subject: str) -> str:
        algo, hexpart = split_digest(subject)
        return os.path.join(self.repo_dir(name), "_dockyard", "referrers", algo, hexpart)

    def add_referrer(self, name: str, subject: str, digest: str) -> None:
        algo, hexpart = split_digest(digest)
        write_atomic(os.path.join(self._referrers_dir(name, subject), algo, hexpart), b"", fsync=False)

    def remove_referrer(self, name: str, subject: str, digest: str) -> None:
        algo, hexpart = split_digest(digest)
        try:
            os.unlink(os.path.join(self._referrers_dir(name, subject), algo, hexpart))
        except FileNotFoundError:
            pass

    def list_referrers(self, name: str, subject: str) -> list[str]:
        base = self._referrers_dir(name, subject)
        return sorted(f"{a}:{h}" for a in _listdir(base) for h in _listdir(os.path.join(base, a)))

    # repository metadata (Hub-style): description, stars
    def _meta_path(self, name: str) -> str:
        return os.path.join(self.repo_dir(name), "_dockyard", "meta.json")

    def get_meta(self, name: str) -> dict:
        raw = _read(self._meta_path(name))
        meta = json.loads(raw) if raw else {}
        meta.setdefault("description", "")
        meta.setdefault("full_description", "")
        meta.setdefault("stars", [])
        return meta

    def update_meta(self, name: str, fn) -> dict:
        """Read-modify-write under a lock so concurrent stars are not lost."""
        with self._meta_lock:
            meta = self.get_meta(name)
            fn(meta)
            write_atomic(self._meta_path(name), json.dumps(meta, sort_keys=True).encode())
            return meta

    # uploads
    def uploads_dir(self, name: str) -> str:
        return os.path.join(self.repo_dir(name), "_uploads")


def _listdir(path: str) -> list[str]:
    try:
        return sorted(e for e in os.listdir(path) if not e.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []
