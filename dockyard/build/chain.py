"""A step's image config from its parent's, at a cost that does not grow with the chain.

Every step of a build commits an image whose config is its parent's history plus one entry (a 10,000-step
build's last config holds a megabyte of history). Decoding the parent's config and encoding the whole history
again at every step made each step slower than the one before. The builder keeps, for the images it has just
made, what their children need (`Parent`: the history as encoded bytes, the layers) and appends to it; only a
build's first step on an image it did not make reads that image's config once.
The bytes are exactly what `canonical_json` gives for the whole config: the image ID stays the sha256 of them.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass

from ..image.configjson import append_history, encode_with_history, history_items
from ..image.layers import chain_ids


def arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


@dataclass(frozen=True)
class Parent:
    architecture: str
    diff_ids: tuple[str, ...]
    history: bytes            # the history's encoded items (configjson.history_items)

    @classmethod
    def of_config(cls, config: dict) -> "Parent":
        return cls(config.get("architecture") or arch(), tuple((config.get("rootfs") or {}).get("diff_ids") or []),
                   history_items(config.get("history") or []))

    @property
    def top_chain(self) -> str | None:
        ids = chain_ids(list(self.diff_ids))
        return ids[-1] if ids else None


SCRATCH = Parent(arch(), (), b"")  # the parent of a stage's first step FROM scratch


@dataclass(frozen=True)
class Child:
    data: bytes               # the config as stored and hashed
    summary: dict             # its members but the history (what the image store indexes)
    parent: Parent            # what this image's own children take from it


def child_config(parent: Parent, config: dict, created: str, created_by: str, diff_id: str | None,
                 author: str = "") -> Child:
    """The config of a step's image: the parent's history and layers plus this step's entry (and layer)."""
    entry = {"created": created, "created_by": created_by}
    if diff_id is None:
        entry["empty_layer"] = True
    diff_ids = parent.diff_ids + ((diff_id,) if diff_id else ())
    cfg = {"architecture": parent.architecture, "os": "linux", "config": config, "created": created,
           "docker_version": "dockyard", "history": None, "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}}
    if author:
        cfg["author"] = entry["author"] = author
    history = append_history(parent.history, entry)
    return Child(encode_with_history(cfg, history), cfg, Parent(parent.architecture, diff_ids, history))
