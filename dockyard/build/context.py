"""The build context: the request body (a tar, maybe compressed) or a `remote` URL, unpacked safely."""
from __future__ import annotations

import io
import os
from pathlib import Path

from ..errors import InvalidParameter
from ..fetch import download, is_url
from ..image.unpack import apply_layer, compression_of

TAR_BLOCK = 512


def unpack_context(tar_path: str, dest: Path) -> None:
    with open(tar_path, "rb") as f:
        head = f.read(TAR_BLOCK)
        if not head:
            raise InvalidParameter("the build context is empty: no Dockerfile")
    if compression_of(head) == "none":
        _pad_tar(tar_path)
    with open(tar_path, "rb") as f:
        apply_layer(f, str(dest), mode="vfs")


def _pad_tar(tar_path: str) -> None:
    """Complete a tar whose last member is not padded to a block and has no end-of-archive blocks: the
    docker CLI sends such a context when -f names a Dockerfile outside it (Go's reader accepts it)."""
    size = os.path.getsize(tar_path)
    if size % TAR_BLOCK:
        with open(tar_path, "ab") as f:
            f.write(b"\0" * (TAR_BLOCK - size % TAR_BLOCK + 2 * TAR_BLOCK))


def fetch_remote(url: str, dest: Path) -> str:
    """A `remote` context: a tarball URL, or a plain Dockerfile URL (then the context holds only it)."""
    if not is_url(url):
        raise InvalidParameter(f"unsupported remote context {url!r}: only http(s) tarballs and Dockerfiles")
    buf = io.BytesIO()
    download(url, buf)
    data = buf.getvalue()
    try:
        apply_layer(io.BytesIO(data), str(dest), mode="vfs")
        return "Dockerfile"
    except InvalidParameter:
        (dest / "Dockerfile").write_bytes(data)
        return "Dockerfile"
