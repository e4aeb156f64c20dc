"""The manifest a push writes: Docker's v2 schema 2, as dockerd pushes, unless a layer is zstd.

Docker's schema 2 has no zstd layer type, so an image with a zstd layer (pulled as zstd and pushed back
as the same blob) goes as an OCI image manifest, the form buildx and skopeo write for such images.
"""
from __future__ import annotations

import json

from ..image.archive import MEDIA_OCI_CONFIG
from ..image.layers import MEDIA_TAR_GZIP
from ..registry.client.distribution import (MEDIA_DOCKER_CONFIG, MEDIA_DOCKER_LAYER_GZIP, MEDIA_DOCKER_MANIFEST,
                                             MEDIA_OCI_MANIFEST, sha256_of)


def is_zstd(media_type: str) -> bool:
    return media_type.endswith("+zstd")


def manifest_for(config_bytes: bytes, layers: list[tuple[str, str, int]]) -> tuple[bytes, str]:
    """(body, media type) of the manifest for a config and its layer blobs (digest, media type, size),
    bottom layer first."""
    oci = any(is_zstd(media_type) for _, media_type, _ in layers)

    def layer_type(media_type: str) -> str:
        if is_zstd(media_type):
            return media_type
        return MEDIA_TAR_GZIP if oci else MEDIA_DOCKER_LAYER_GZIP  # every other stored blob is gzip

    manifest_type = MEDIA_OCI_MANIFEST if oci else MEDIA_DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": MEDIA_OCI_CONFIG if oci else MEDIA_DOCKER_CONFIG, "size": len(config_bytes),
                   "digest": sha256_of(config_bytes)},
        "layers": [{"mediaType": layer_type(t), "size": size, "digest": digest} for digest, t, size in layers],
    }
    return json.dumps(manifest, indent=3).encode(), manifest_type  # Go's MarshalIndent(m, "", "   ")
