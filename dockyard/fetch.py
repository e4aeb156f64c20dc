"""Downloading a URL the daemon was asked to read (`docker import URL`, `docker build URL`, `ADD URL`)."""
from __future__ import annotations

from typing import BinaryIO

from .errors import InvalidParameter


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def download(url: str, out: BinaryIO, timeout: float = 120) -> int:
    """Stream `url` into `out`; returns the byte count. Non-200 answers and network errors are the user's
    input being wrong, so they are InvalidParameter with Docker's wording."""
    import httpx  # only the paths that download pay for importing it

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as resp:
            if resp.status_code != 200:
                raise InvalidParameter(f"failed to GET {url} with status {resp.status_code} {resp.reason_phrase}")
            size = 0
            for chunk in resp.iter_bytes(1 << 20):
                out.write(chunk)
                size += len(chunk)
            return size
    except httpx.HTTPError as err:
        raise InvalidParameter(f"error downloading {url}: {err}") from None
