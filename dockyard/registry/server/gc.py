"""Mark and sweep (like `registry garbage-collect`): mark every blob referenced by a manifest revision of any
repository (the manifest itself, its config and layers; index children are revisions themselves), then delete
blobs nobody references, and repository layer links pointing at deleted blobs. Uploads older than a cutoff are
removed too. Run it with the server stopped (or idle): a push racing the sweep could lose a fresh blob.
"""
from dataclasses import dataclass, field
import os
import shutil
import time

from dockyard.registry.server import manifests as mf
from dockyard.registry.server.errors import RegistryError
from dockyard.registry.server.storage import Storage


@dataclass
class GCResult:
    marked: set = field(default_factory=set)
    deleted: list = field(default_factory=list)
    freed_bytes: int = 0
    deleted_manifests: list = field(default_factory=list)
    deleted_uploads: list = field(default_factory=list)


def collect(storage: Storage, dry_run: bool = False, delete_untagged: bool = False,
            upload_max_age: float = 7 * 24 * 3600) -> GCResult:
    res = GCResult()
    for repo in storage.list_repos():
        tagged = {storage.get_tag(repo, t) for t in storage.list_tags(repo)}
        for digest in list(storage.iter_revisions(repo)):
            data = storage.read_blob(digest)
            if data is None:
                continue
            try:
                m = mf.parse(data, None)
            except RegistryError:
                m = None
            if delete_untagged and digest not in tagged and not _is_child_of_tagged(storage, repo, digest, tagged):
                res.deleted_manifests.append(f"{repo}@{digest}")
                if not dry_run:
                    storage.unlink_revision(repo, digest)
                continue
            res.marked.add(digest)
            if m is not None:
                res.marked.update(m.blobs())
    for digest in list(storage.iter_blobs()):
        if digest in res.marked:
            continue
        res.deleted.append(digest)
        res.freed_bytes += storage.blob_size(digest) or 0
        if not dry_run:
            storage.delete_blob(digest)
    if not dry_run:
        gone = set(res.deleted)
        for repo in storage.list_repos():
            for digest in list(storage.iter_layer_links(repo)):
                if digest in gone:
                    storage.unlink_layer(repo, digest)
    _old_uploads(storage, res, dry_run, upload_max_age)
    return res


def _is_child_of_tagged(storage: Storage, repo: str, digest: str, tagged: set) -> bool:
    for parent in tagged:
        data = storage.read_blob(parent) if parent else None
        if data and digest.encode() in data:
            try:
                if digest in mf.parse(data, None).children():
                    return True
            except RegistryError:
                pass
    return False


def _old_uploads(storage: Storage, res: GCResult, dry_run: bool, max_age: float) -> None:
    cutoff = time.time() - max_age
    for dirpath, dirnames, _ in os.walk(storage.repos_dir):
        if os.path.basename(dirpath) == "_uploads":
            for u in dirnames:
                p = os.path.join(dirpath, u)
                if os.stat(p).st_mtime < cutoff:
                    res.deleted_uploads.append(p)
                    if not dry_run:
                        shutil.rmtree(p, ignore_errors=True)
            dirnames[:] = []
