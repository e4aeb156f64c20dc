"""Manifest formats the registry accepts and what each one references.

Image manifests (Docker v2 schema 2, OCI) reference blobs (config + layers); indexes (Docker manifest list,
OCI index) reference other manifests. Either may carry an OCI `subject` (the referrers API).
"""
import json

from dockyard.registry.server.errors import RegistryError
from dockyard.registry.server.names import DIGEST_RE

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_TYPES = {DOCKER_MANIFEST, OCI_MANIFEST}
INDEX_TYPES = {DOCKER_LIST, OCI_INDEX}
ALL_TYPES = IMAGE_TYPES | INDEX_TYPES
OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


class Manifest:
    def __init__(self, media_type: str, doc: dict):
        self.media_type = media_type
        self.doc = doc

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def blobs(self) -> list[str]:
        """Blob digests that must exist in the repository (foreign layers with `urls` excepted)."""
        if self.is_index:
            return []
        out = [self.doc["config"]["digest"]]
        out += [layer["digest"] for layer in self.doc.get("layers", []) if not layer.get("urls")]
        return out

    def children(self) -> list[str]:
        return [m["digest"] for m in self.doc.get("manifests", [])] if self.is_index else []

    def declared_sizes(self) -> list[tuple[str, int]]:
        """(digest, size) of every blob and child manifest, as the descriptors state them."""
        if self.is_index:
            return [(m["digest"], m["size"]) for m in self.doc.get("manifests", [])]
        descs = [self.doc["config"], *(d for d in self.doc.get("layers", []) if not d.get("urls"))]
        return [(d["digest"], d["size"]) for d in descs]

    def subject(self) -> str | None:
        subj = self.doc.get("subject")
        return subj.get("digest") if isinstance(subj, dict) else None

    def artifact_type(self) -> str | None:
        """OCI rule: artifactType, else (image manifests) config.mediaType."""
        if self.doc.get("artifactType"):
            return self.doc["artifactType"]
        if not self.is_index:
            return self.doc.get("config", {}).get("mediaType")
        return None

    def descriptor(self, digest: str, size: int) -> dict:
        d = {"mediaType": self.media_type, "digest": digest, "size": size}
        if self.artifact_type():
            d["artifactType"] = self.artifact_type()
        if self.doc.get("annotations"):
            d["annotations"] = self.doc["annotations"]
        return d


def _is_string_map(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _typed_fields_ok(doc: dict) -> bool:
    """The optional fields typed clients decode strictly (docker, containerd, registry:2 itself): a manifest
    whose annotations are not a string map, or whose urls are not strings, would be stored but then fail every
    pull and every referrers listing that includes it."""
    return (_is_string_map(doc.get("annotations", {}))
            and isinstance(doc.get("artifactType", ""), str)
            and isinstance(doc.get("urls", []), list) and all(isinstance(u, str) for u in doc.get("urls", []))
            and isinstance(doc.get("platform", {}), dict))


def _check_descriptor(desc, where: str) -> None:
    if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str) \
            or not DIGEST_RE.match(desc["digest"]) or not isinstance(desc.get("size"), int) \
            or not isinstance(desc.get("mediaType", ""), str) or not _typed_fields_ok(desc):
        raise RegistryError("MANIFEST_INVALID", message=f"invalid descriptor in {where}")


def parse(body: bytes, content_type: str | None) -> Manifest:
    """Parse and structurally validate a manifest. The type comes from the body's mediaType, else the header."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):   # RecursionError: absurdly deep nesting
        raise RegistryError("MANIFEST_INVALID", message="manifest is not valid JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError("MANIFEST_INVALID", message="manifest is not a JSON object")
    if not _typed_fields_ok(doc):
        raise RegistryError("MANIFEST_INVALID", message="annotations or artifactType of the wrong type")
    media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not media_type:  # OCI allows omitting mediaType; tell the two shapes apart by their fields
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if content_type and doc.get("mediaType") and content_type.split(";")[0].strip() not in ("", doc["mediaType"]) \
            and content_type.split(";")[0].strip() in ALL_TYPES:
        raise RegistryError("MANIFEST_INVALID", message="Content-Type does not match the manifest's mediaType")
    if media_type not in ALL_TYPES:
        raise RegistryError("MANIFEST_INVALID", message=f"unsupported manifest media type {media_type!r}")
    if doc.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", message="schemaVersion must be 2")
    m = Manifest(media_type, doc)
    if m.is_index:
        if not isinstance(doc.get("manifests"), list):
            raise RegistryError("MANIFEST_INVALID", message="index has no manifests list")
        for d in doc["manifests"]:
            _check_descriptor(d, "manifests")
    else:
        _check_descriptor(doc.get("config"), "config")
        if not isinstance(doc.get("layers", []), list):
            raise RegistryError("MANIFEST_INVALID", message="layers is not a list")
        for d in doc.get("layers", []):
            _check_descriptor(d, "layers")
    if "subject" in doc:
        _check_descriptor(doc["subject"], "subject")
    return m
