"""Moving images in and out as files: import (flat rootfs tar), load/save (docker-archive, OCI layout)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidParameter, NotFound
from ..image import archive
from ..image import reference as refmod
from .changes import apply_changes
from ..image.configjson import canonical_json
from .images import ImageService, new_config


class ArchiveService:
    def __init__(self, images: ImageService, tmp_dir: Path):
        self.images = images
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)

    def import_rootfs(self, tar: BinaryIO, repo: str = "", tag: str = "", message: str = "",
                      changes: list[str] = (), source: str = "-", platform: str = "") -> str:
        tags = [target_name(repo, tag)] if repo else []  # validate before anything is stored
        layer = self.images.layers.register(tar, None)
        cfg = new_config()
        if platform:
            parts = platform.split("/")
            cfg["os"], cfg["architecture"] = parts[0], parts[1] if len(parts) > 1 else cfg["architecture"]
        cfg["rootfs"]["diff_ids"] = [layer.diff_id]
        message = message or f"Imported from {source}"
        cfg["history"] = [{"created": cfg["created"], "created_by": "", "comment": message}]
        cfg["config"] = apply_changes({}, changes)
        cfg["comment"] = message  # dockerd puts it in both places (docker inspect -f '{{.Comment}}')
        image_id = self.images.add_image(canonical_json(cfg), tags=tags)
        self.images.events.emit("image", "import", image_id, {"name": image_id})
        return image_id

    def load(self, tar_path: Path) -> list[str]:
        """Load every image of a docker-archive or OCI layout tar; returns the `Loaded image` lines."""
        work = Path(tempfile.mkdtemp(prefix="load-", dir=self.tmp_dir))
        try:
            with open(tar_path, "rb") as f:
                entries = archive.read_archive(f, work)
            lines = []
            for entry in entries:
                added: list[str] = []  # layers this image brought; a failure takes them away again
                try:
                    parent = None
                    for diff_id, opener in zip(entry.diff_ids, entry.layer_openers):
                        parent = self._register(opener, parent, diff_id, added)
                    image_id = self.images.add_image(entry.config_bytes)
                except BaseException:
                    self.images.layers.release(added[::-1])  # top first; layers other images use stay
                    raise
                for t in entry.repo_tags:
                    previous = self._tagged_image(t)
                    if previous and previous != image_id:
                        # dockerd's words (image/tarexport/load.go setLoadedTag), odd as they are
                        lines.append(f"The image {refmod.familiar(t)} already exists, renaming the old one "
                                     f"with ID {previous} to empty string")
                    self.images.tag(image_id, t)
                    lines.append(f"Loaded image: {t}")
                if not entry.repo_tags:
                    lines.append(f"Loaded image ID: {image_id}")
                self.images.events.emit("image", "load", image_id, {"name": image_id})
            return lines
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _tagged_image(self, name: str) -> str | None:
        try:
            full = refmod.parse(name).full()
        except InvalidParameter:
            return None  # images.tag() refuses it with docker's words
        row = self.images.md.one("SELECT image_id FROM tags WHERE name=?", (full,))
        return row["image_id"] if row else None

    def _register(self, opener, parent_chain: str | None, diff_id: str, added: list[str]) -> str:
        from ..image.layers import chain_id_of

        chain = chain_id_of(parent_chain, diff_id)
        if self.images.layers.get(chain) is None:  # layers already stored are skipped
            with opener() as f:
                layer = self.images.layers.register(f, parent_chain)
            if layer.diff_id != diff_id:
                self.images.layers.release([layer.chain_id])
                raise InvalidParameter(f"layer digest mismatch: archive says {diff_id}, content is {layer.diff_id}")
            added.append(chain)
        return chain

    def save(self, names: list[str], out: BinaryIO) -> None:
        by_id: dict[str, list[str]] = {}
        for name in names:
            if self._save_repository(name, by_id):
                continue
            image_id, ref = self.images.resolve(name)
            tags = by_id.setdefault(image_id, [])
            if ref is not None and not ref.digest and not name.startswith("sha256:"):
                tags.append(ref.familiar())
        images = []
        for image_id, tags in by_id.items():
            img = self.images.get(image_id)
            layers = [archive.LayerSource(d, _opener(self.images, d), None) for d in img.diff_ids]
            images.append(archive.ArchiveImage(img.config_bytes, sorted(set(tags)), layers))
            self.images.events.emit("image", "save", image_id, {"name": image_id})
        archive.write_docker_archive(out, images)

    def _save_repository(self, name: str, by_id: dict[str, list[str]]) -> bool:
        """A bare repository name (no tag, no digest) saves every image of the repository, as dockerd does:
        each tag, and an image known only by a digest reference of it without a tag. It need not have a
        `latest`. False when `name` is not a bare repository name; NotFound when nothing matches it."""
        try:
            ref = refmod.parse(name, default_tag=False)
        except InvalidParameter:
            return False
        if ref.tag or ref.digest or "@" in name or name.startswith("sha256:"):
            return False
        repo = f"{ref.domain}/{ref.path}"
        found = False
        for img in self.images.all_images():
            tags = [t for t in self.images.tags_of(img.id) if t.rsplit(":", 1)[0] == repo]
            digests = [d for d in self.images.digests_of(img.id) if d.split("@", 1)[0] == repo]
            if tags or digests:
                by_id.setdefault(img.id, []).extend(_familiar(t) for t in tags)
                found = True
        if found:
            return True
        if self.images.find_by_id_prefix(name):  # an ID prefix reads as a repository name too
            return False
        raise NotFound(f"No such image: {name}")


def target_name(repo: str, tag: str) -> str:
    """`repo` may already carry a tag (the docker CLI sends `repo=name:tag` for import)."""
    from ..image import reference

    ref = reference.parse(repo)
    if ref.digest:
        raise InvalidParameter(f"invalid reference format: {repo} is a digest reference")
    if tag:
        return reference.parse(f"{ref.repository()}:{tag}").familiar()
    return ref.familiar()


def _familiar(full: str) -> str:
    from ..image import reference

    return reference.parse(full).familiar()


def _opener(images: ImageService, diff_id: str):
    return lambda: images.layers.open_tar(diff_id)
