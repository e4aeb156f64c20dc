"""Image archives: docker-archive (`docker save` / `docker load`) and OCI image layouts.

Writer: the layout Docker 25+ writes, which is a docker-archive and an OCI image layout at once:
    blobs/sha256/<hex>   config JSON, uncompressed layer tars (named by diff ID), OCI manifests
    index.json           one manifest descriptor per tag, annotated with the image name and tag
    manifest.json        [{"Config", "RepoTags", "Layers", "LayerSources"}]  (what `docker load` reads)
    oci-layout           {"imageLayoutVersion": "1.0.0"}
    repositories         {"busybox": {"latest": "<top layer hex>"}}  (legacy)

Reader: manifest.json archives (Docker 25+ and the older `<id>/layer.tar` layout), or, without
manifest.json, an OCI image layout (index.json -> manifest, nested indexes resolved to the host
platform). The outer tar is extracted to a work dir chosen by the caller; layers are opened lazily
and their digests are checked while they are read.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform as _platform
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from ..errors import InvalidParameter
from . import reference as refmod
from .unpack import RawReader, apply_layer, resolve_in_root

MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_MEDIA_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST)
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
OCI_LAYOUT_CONTENT = b'{"imageLayoutVersion": "1.0.0"}'
_CHUNK = 1 << 20


@dataclass
class LayerSource:
    """An uncompressed layer tar to write: its diff ID, how to open it, and its size if known."""
    diff_id: str
    open: Callable[[], BinaryIO]
    size: int | None = None


@dataclass
class ArchiveImage:
    config_bytes: bytes
    repo_tags: list[str]
    layers: list[LayerSource]


@dataclass
class ArchiveImageIn:
    """One image found in an archive. `layer_openers[i]()` opens the blob of layer i (maybe compressed;
    its digest is verified as it is read) whose uncompressed digest must be `diff_ids[i]`."""
    config_bytes: bytes
    repo_tags: list[str]
    diff_ids: list[str]
    layer_openers: list[Callable[[], BinaryIO]] = field(repr=False)

    @property
    def image_id(self) -> str:
        return "sha256:" + hashlib.sha256(self.config_bytes).hexdigest()


# ============================================================================= writer
def write_docker_archive(out_fileobj: BinaryIO, images: list[ArchiveImage]) -> None:
    """Stream a Docker 25+ style archive of `images` to out_fileobj (layers are read, never buffered whole)."""
    tar = tarfile.open(fileobj=out_fileobj, mode="w|", format=tarfile.PAX_FORMAT)
    written: dict[str, dict] = {}  # blob digest -> descriptor, so shared layers are stored once
    manifest_items, index_entries, repositories = [], [], {}
    _add_dir(tar, "blobs/")
    _add_dir(tar, "blobs/sha256/")
    for img in images:
        config_digest = _digest(img.config_bytes)
        created = _created_epoch(img.config_bytes)
        if config_digest not in written:
            _add_bytes(tar, _blob_path(config_digest), img.config_bytes, created)
            written[config_digest] = {}
        layer_descs = [_write_layer(tar, layer, written, created) for layer in img.layers]
        manifest = _json({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
                          "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": config_digest,
                                     "size": len(img.config_bytes)},
                          "layers": layer_descs})
        manifest_digest = _digest(manifest)
        if manifest_digest not in written:
            _add_bytes(tar, _blob_path(manifest_digest), manifest, 0)
            written[manifest_digest] = {}
        tags = [refmod.parse(t) for t in img.repo_tags]
        base_desc = {"mediaType": MEDIA_OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest)}
        for ref in tags:
            index_entries.append({**base_desc, "annotations": {ANNOTATION_IMAGE_NAME: ref.full(),
                                                               ANNOTATION_REF_NAME: ref.tag}})
            if img.layers:
                repositories.setdefault(ref.repository(), {})[ref.tag] = img.layers[-1].diff_id.split(":", 1)[1]
        if not tags:
            index_entries.append(base_desc)
        manifest_items.append({
            "Config": _blob_path(config_digest),
            "RepoTags": [r.familiar() for r in tags] or None,
            "Layers": [_blob_path(d["digest"]) for d in layer_descs],
            "LayerSources": {layer.diff_id: {"mediaType": d["mediaType"], "size": d["size"], "digest": d["digest"]}
                             for layer, d in zip(img.layers, layer_descs)} or None,
        })
        if manifest_items[-1]["LayerSources"] is None:
            del manifest_items[-1]["LayerSources"]
    _add_bytes(tar, "index.json", _json({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX,
                                         "manifests": index_entries}), 0)
    _add_bytes(tar, "manifest.json", _json(manifest_items) + b"\n", 0)
    _add_bytes(tar, "oci-layout", OCI_LAYOUT_CONTENT, 0)
    if repositories:
        _add_bytes(tar, "repositories", _json(repositories) + b"\n", 0)
    tar.close()


def _write_layer(tar: tarfile.TarFile, layer: LayerSource, written: dict, mtime: int) -> dict:
    if layer.diff_id in written:
        return written[layer.diff_id]
    size = layer.size if layer.size is not None else _measure(layer.open)
    info = _file_info(_blob_path(layer.diff_id), size, mtime)
    with layer.open() as src:
        checked = _VerifyingReader(src, layer.diff_id, size, what=f"layer {layer.diff_id}")
        tar.addfile(info, checked)
        checked.finish()
    desc = {"mediaType": MEDIA_OCI_LAYER, "digest": layer.diff_id, "size": size}
    written[layer.diff_id] = desc
    return desc


def _measure(opener: Callable[[], BinaryIO]) -> int:
    """Size of a stream we cannot stat: read it once (tar headers need the size up front)."""
    total = 0
    with opener() as f:
        while chunk := f.read(_CHUNK):
            total += len(chunk)
    return total


def _file_info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, mtime
    info.uname = info.gname = ""
    return info


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uname, info.gname = tarfile.DIRTYPE, 0o755, "", ""
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    tar.addfile(_file_info(name, len(data), mtime), io.BytesIO(data))


def _created_epoch(config_bytes: bytes) -> int:
    """The image's `created` time as unix seconds (Docker stamps blobs with it), 0 if absent."""
    from datetime import datetime

    try:
        created = json.loads(config_bytes).get("created") or ""
        created = created.replace("Z", "+00:00")
        if "." in created:  # Python parses at most microseconds
            head, _, tail = created.partition(".")
            digits = "".join(c for c in tail if c.isdigit())
            created = f"{head}.{digits[:6]}{tail[len(digits):]}"
        return max(0, int(datetime.fromisoformat(created).timestamp()))
    except (ValueError, AttributeError, TypeError):
        return 0


def _json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob_path(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


class _VerifyingReader(io.RawIOBase):
    """Reads through `src`, checking the sha256 (and size, when known) once the end is reached."""

    def __init__(self, src: BinaryIO, expected_digest: str, expected_size: int | None = None, what: str = "blob"):
        self._src = src
        self._hash = hashlib.sha256()
        self._size = 0
        self._expected_digest = expected_digest
        self._expected_size = expected_size
        self._what = what
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._src.read(len(b))
        if not data:
            self.finish()
            return 0
        self._hash.update(data)
        self._size += len(data)
        b[:len(data)] = data
        return len(data)

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._expected_size is not None and self._size != self._expected_size:
            raise InvalidParameter(f"{self._what}: size mismatch (expected {self._expected_size}, got {self._size})")
        actual = "sha256:" + self._hash.hexdigest()
        if self._expected_digest.startswith("sha256:") and actual != self._expected_digest:
            raise InvalidParameter(f"{self._what}: digest mismatch (expected {self._expected_digest}, got {actual})")

    def close(self) -> None:
        try:
            self._src.close()
        finally:
            super().close()


# ============================================================================= reader
def read_archive(fileobj_or_dir, work_dir: str | None = None) -> list[ArchiveImageIn]:
    """Images in a docker-archive or OCI layout, given as a tar stream (extracted into work_dir,
    which the caller owns and removes) or as an already extracted directory."""
    if isinstance(fileobj_or_dir, (str, os.PathLike)) and os.path.isdir(fileobj_or_dir):
        root = os.path.realpath(fileobj_or_dir)
    else:
        if work_dir is None:
            raise ValueError("read_archive needs a work_dir to extract a tar stream into")
        root = os.path.realpath(work_dir)
        _extract(fileobj_or_dir, root)
    layout = _Layout(root)
    if layout.exists("manifest.json"):
        return _read_docker_manifest(layout)
    if layout.exists("index.json"):
        return _read_oci_layout(layout)
    raise InvalidParameter("invalid archive: neither manifest.json nor index.json found "
                           "(not a docker-archive or OCI image layout)")


def _extract(fileobj, root: str) -> None:
    """The outer tar is hostile input too: extract it with the same safe unpacker as layers."""
    os.makedirs(root, exist_ok=True)
    if isinstance(fileobj, (str, os.PathLike)):
        with open(fileobj, "rb") as f:
            apply_layer(f, root, mode="vfs")
    else:
        apply_layer(fileobj, root, mode="vfs")


class _Layout:
    """Files of an extracted archive, opened by archive-relative path without leaving its root."""

    def __init__(self, root: str):
        self.root = root

    def path(self, rel: str) -> str:
        return resolve_in_root(self.root, rel)

    def exists(self, rel: str) -> bool:
        return os.path.isfile(self.path(rel))

    def read(self, rel: str, limit: int = 64 << 20) -> bytes:
        p = self.path(rel)
        if not os.path.isfile(p):
            raise InvalidParameter(f"invalid archive: {rel} is missing")
        if os.path.getsize(p) > limit:
            raise InvalidParameter(f"invalid archive: {rel} is unreasonably large")
        with open(p, "rb") as f:
            return f.read()

    def read_json(self, rel: str):
        try:
            return json.loads(self.read(rel))
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidParameter(f"invalid archive: {rel} is not valid JSON: {e}") from None

    def read_blob(self, digest: str, limit: int = 64 << 20) -> bytes:
        data = self.read(_blob_path(_checked_digest(digest)), limit)
        if _digest(data) != digest:
            raise InvalidParameter(f"invalid archive: blob {digest} does not match its digest")
        return data

    def opener(self, rel: str, expected_digest: str | None, what: str) -> Callable[[], BinaryIO]:
        p = self.path(rel)
        if not os.path.isfile(p):
            raise InvalidParameter(f"invalid archive: {what} ({rel}) is missing")
        size = os.path.getsize(p)

        def open_layer() -> BinaryIO:
            raw = open(p, "rb")
            if not expected_digest:
                return raw
            return io.BufferedReader(_VerifyingReader(raw, expected_digest, size, what=what), _CHUNK)
        return open_layer


def _read_docker_manifest(layout: _Layout) -> list[ArchiveImageIn]:
    items = layout.read_json("manifest.json")
    if not isinstance(items, list):
        raise InvalidParameter("invalid archive: manifest.json is not a list")
    images = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("Config"), str) \
                or not isinstance(item.get("Layers", []), list):
            raise InvalidParameter("invalid archive: malformed manifest.json entry")
        config_bytes = layout.read(item["Config"])
        config_digest = _digest_from_path(item["Config"])
        if config_digest and _digest(config_bytes) != config_digest:
            raise InvalidParameter(f"invalid archive: config {item['Config']} does not match its digest")
        diff_ids = _diff_ids(config_bytes, item["Config"])
        layers = item.get("Layers") or []
        if len(layers) != len(diff_ids):
            raise InvalidParameter(f"invalid archive: {len(layers)} layers listed but the image config "
                                   f"has {len(diff_ids)} diff IDs")
        openers = [layout.opener(rel, _digest_from_path(rel), f"layer {rel}") for rel in layers]
        tags = [_familiar_tag(t) for t in (item.get("RepoTags") or [])]
        images.append(ArchiveImageIn(config_bytes, tags, diff_ids, openers))
    return images


def _read_oci_layout(layout: _Layout) -> list[ArchiveImageIn]:
    index = layout.read_json("index.json")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise InvalidParameter("invalid archive: index.json has no manifests list")
    manifests = _prefer_host_platform(manifests)
    by_manifest: dict[str, ArchiveImageIn] = {}
    order: list[str] = []
    for desc in manifests:
        manifest_digest, manifest = _resolve_manifest(layout, desc, depth=0)
        if manifest is None:
            continue
        if manifest_digest not in by_manifest:
            by_manifest[manifest_digest] = _image_from_manifest(layout, manifest)
            order.append(manifest_digest)
        tag = _tag_from_annotations(desc.get("annotations") or {})
        if tag and tag not in by_manifest[manifest_digest].repo_tags:
            by_manifest[manifest_digest].repo_tags.append(tag)
    if not order:
        raise InvalidParameter("invalid archive: the OCI layout has no image for this platform")
    return [by_manifest[d] for d in order]


def _resolve_manifest(layout: _Layout, desc: dict, depth: int) -> tuple[str, dict | None]:
    """Follow index descriptors down to an image manifest for the host platform."""
    if depth > 4:
        raise InvalidParameter("invalid archive: indexes nested too deeply")
    digest = desc.get("digest", "")
    doc = _parse_json(layout.read_blob(digest), f"manifest {digest}")
    media_type = doc.get("mediaType") or desc.get("mediaType")
    if media_type in INDEX_MEDIA_TYPES or ("manifests" in doc and "layers" not in doc):
        for child in _prefer_host_platform(doc.get("manifests") or [], strict=True):
            return _resolve_manifest(layout, child, depth + 1)
        return digest, None
    return digest, doc


def _image_from_manifest(layout: _Layout, manifest: dict) -> ArchiveImageIn:
    config = manifest.get("config") or {}
    config_bytes = layout.read_blob(config.get("digest", ""))
    diff_ids = _diff_ids(config_bytes, config.get("digest", ""))
    layers = manifest.get("layers") or []
    if len(layers) != len(diff_ids):
        raise InvalidParameter(f"invalid archive: manifest lists {len(layers)} layers but the image config "
                               f"has {len(diff_ids)} diff IDs")
    openers = [layout.opener(_blob_path(_checked_digest(d.get("digest", ""))), d["digest"],
                             f"layer {d['digest']}") for d in layers]
    return ArchiveImageIn(config_bytes, [], diff_ids, openers)


def host_platform() -> tuple[str, str]:
    machine = _platform.machine()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
            "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)
    return "linux", arch


def _prefer_host_platform(descs: list[dict], strict: bool = False) -> list[dict]:
    """Descriptors for the host platform; those without a platform always qualify. Attestation
    manifests (buildx's `unknown/unknown`) are dropped. Not strict: if nothing matches, keep all."""
    os_name, arch = host_platform()
    usable = [d for d in descs if isinstance(d, dict) and
              (d.get("annotations") or {}).get("vnd.docker.reference.type") != "attestation-manifest"]
    matching = [d for d in usable if not d.get("platform") or
                ((d["platform"].get("os"), d["platform"].get("architecture")) == (os_name, arch))]
    if matching or strict:
        return matching
    return usable


def _tag_from_annotations(annotations: dict) -> str | None:
    """containerd's image name annotation, or a ref.name that is a full reference (not a bare tag)."""
    for key in (ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME):
        name = annotations.get(key)
        if not name or (key == ANNOTATION_REF_NAME and not any(c in name for c in "/:")):
            continue
        try:
            ref = refmod.parse(name)
        except InvalidParameter:
            continue
        if ref.tag and not ref.digest:
            return ref.familiar()
    return None


def _familiar_tag(tag: str) -> str:
    try:
        return refmod.parse(tag).familiar()
    except InvalidParameter as e:
        raise InvalidParameter(f"invalid archive: bad tag {tag!r} in manifest.json: {e}") from None


def _diff_ids(config_bytes: bytes, where: str) -> list[str]:
    config = _parse_json(config_bytes, f"image config {where}")
    diff_ids = (config.get("rootfs") or {}).get("diff_ids")
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise InvalidParameter(f"invalid archive: image config {where} has no rootfs.diff_ids")
    for d in diff_ids:
        _checked_digest(d)
    return diff_ids


def _parse_json(data: bytes, what: str) -> dict:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidParameter(f"invalid archive: {what} is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidParameter(f"invalid archive: {what} is not a JSON object")
    return doc


def _checked_digest(digest) -> str:
    if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71 \
            or any(c not in "0123456789abcdef" for c in digest[7:]):
        raise InvalidParameter(f"invalid archive: bad digest {digest!r}")
    return digest


def _digest_from_path(rel: str) -> str | None:
    """`blobs/sha256/<hex>` names its own digest; old `<id>/layer.tar` and `<hex>.json` paths
    (the config's is its digest) are checked by what they contain instead."""
    parts = posixpath.normpath(rel).split("/")
    if len(parts) == 3 and parts[0] == "blobs" and parts[1] == "sha256" and len(parts[2]) == 64:
        return "sha256:" + parts[2]
    if len(parts) == 1 and parts[0].endswith(".json") and len(parts[0]) == 69:
        return "sha256:" + parts[0][:64]
    return None



# ============================================================================= one-layer images
def write_rootfs_archive(out_fileobj: BinaryIO, rootfs_dir: str, repo_tags: list[str], container_config: dict,
                         created: str = "2024-01-01T00:00:00Z", created_by: str = "") -> str:
    """Write a docker-archive of a one-layer image made from rootfs_dir; returns the image ID.

    Deterministic: layer mtimes are clamped to `created`, the config JSON has sorted keys, so the
    same tree and arguments always give the same image ID (used by scripts/mkimage-*)."""
    import tempfile

    from .layertar import write_dir_tar

    epoch = _created_epoch(json.dumps({"created": created}).encode())
    with tempfile.TemporaryFile() as layer:
        diff_id, size = write_dir_tar(rootfs_dir, layer, mode="plain", source_date_epoch=epoch)
        os_name, arch = host_platform()
        history = [{"created": created, "created_by": created_by or f"/bin/sh -c #(nop) ADD file:{diff_id[7:]} in / "}]
        if container_config.get("Cmd"):
            history.append({"created": created, "empty_layer": True,
                            "created_by": f"/bin/sh -c #(nop)  CMD {json.dumps(container_config['Cmd'])}"})
        config = {"architecture": arch, "os": os_name, "created": created, "config": container_config,
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": history}
        config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()

        def reopen() -> BinaryIO:
            layer.seek(0)
            return RawReader(layer)  # closing the reader leaves the temp file open
        write_docker_archive(out_fileobj, [ArchiveImage(config_bytes, list(repo_tags),
                                                        [LayerSource(diff_id, reopen, size)])])
    return _digest(config_bytes)
