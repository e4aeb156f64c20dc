"""docker commit: a container's read-write layer becomes a new image layer on top of its image."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile

from ..blocking import bulk
from ..errors import DockyardError
from .archives import target_name
from .changes import apply_changes
from ..image.configjson import canonical_json
from ..timefmt import now_rfc3339


log = logging.getLogger("dockyard.commit")

# The diff ID of a tar with no entries: a container that changed nothing adds no layer (moby's
# layer.IsEmpty), its history entry is an empty_layer one.
EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def _commit_layer(svc, cid: str, top_chain: str | None, source_date_epoch: int | None):
    """Write the RW diff to a temp tar, then register it; returns the new Layer, None when nothing changed."""
    fd, path = tempfile.mkstemp(prefix="commit-", dir=svc.config.data_root / "tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            svc.layers.write_rw_diff(cid, top_chain, f, source_date_epoch=source_date_epoch)
        with open(path, "rb") as f:
            if "sha256:" + hashlib.file_digest(f, "sha256").hexdigest() == EMPTY_TAR_DIFF_ID:
                return None
            f.seek(0)
            return svc.layers.register(f, top_chain)
    finally:
        os.unlink(path)


def _source_date_epoch() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return int(value) if value and value.isdigit() else None


async def commit(svc, container_ref: str, *, repo: str = "", tag: str = "", comment: str = "", author: str = "",
                 pause: bool = True, changes=(), config_override: dict | None = None,
                 created_by: str | None = None, empty_layer: bool = False,
                 source_date_epoch: int | None = None) -> str:
    containers, images = svc.containers, svc.images
    c = containers.store.get(container_ref)
    tags = [target_name(repo, tag)] if repo else []  # a bad name fails before anything is written
    image = images.get(c.image_id)
    paused_here = False
    if pause and c.state.Running and not c.state.Paused:
        try:
            await containers.pause(c.id)
            paused_here = True
        except DockyardError as err:  # it exited meanwhile: moby's commit goes on without the pause too
            log.debug("commit of %s without pausing it: %s", c.id[:12], err)
    try:
        if empty_layer:
            layer = None
        else:
            layer = await bulk(_commit_layer, svc, c.id, image.top_chain,
                               source_date_epoch if source_date_epoch is not None else _source_date_epoch())
    finally:
        if paused_here:
            try:
                await containers.unpause(c.id)
            except DockyardError as err:  # exited while paused (a kill thaws it): nothing left to resume
                log.debug("unpause of %s after commit: %s", c.id[:12], err)
    base = image.config
    # The builder passes the exact config of its step (so cache keys stay stable); `docker commit` merges.
    new_config = apply_changes(dict(config_override if config_override is not None else c.config), changes)
    now = now_rfc3339()
    diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or [])
    if layer is not None:
        diff_ids.append(layer.diff_id)
    history = list(base.get("history") or [])
    entry = {"created": now, "created_by": created_by if created_by is not None else c.command_line()}
    if author:
        entry["author"] = author
    if comment:
        entry["comment"] = comment
    if layer is None:
        entry["empty_layer"] = True
    history.append(entry)
    cfg = {"architecture": base.get("architecture", "amd64"), "os": base.get("os", "linux"), "author": author,
           "config": new_config, "container": c.id, "created": now, "docker_version": "dockyard",
           "history": history, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if comment:
        cfg["comment"] = comment
    if base.get("variant"):
        cfg["variant"] = base["variant"]
    image_id = images.add_image(canonical_json(cfg), parent=image.id, tags=tags, parsed=cfg)  # no re-parse
    # moby's attributes: the new image as imageID/imageRef; `image` stays the container's own image
    svc.events.emit("container", "commit", c.id, {"image": c.image_ref, "name": c.name,
                                                   "comment": comment, "imageID": image_id,
                                                   "imageRef": tags[0] if tags else ""})
    return image_id


class Committer:
    """`docker commit` for the commit route (api/routes/containers_backend.CommitBackend): the services
    commit() reads, held together."""

    def __init__(self, config, layers, containers, images, events):
        self.config, self.layers, self.containers, self.images, self.events = config, layers, containers, images, events

    async def commit(self, container_ref: str, *, repo: str = "", tag: str = "", comment: str = "",
                     author: str = "", pause: bool = True, changes=(), config_override: dict | None = None) -> str:
        return await commit(self, container_ref, repo=repo, tag=tag, comment=comment, author=author, pause=pause,
                            changes=changes, config_override=config_override)
