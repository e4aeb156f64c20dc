"""The build context: the request body (a tar, maybe compressed) or a `remote` URL, unpacked safely."""
from __future__ import annotations

import io
from pathlib import Path

from ..errors import InvalidParameter
from ..fetch import download, is_url
from ..image.unpack import apply_layer


def unpack_context(tar_path: str, dest: Path) -> None:
    with open(tar_path, "rb") as f:
        head = f.read(512)
        f.seek(0)
        if not head:
            raise InvalidParameter("the build context is empty: no Dockerfile")
        apply_layer(f, str(dest), mode="vfs")


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
