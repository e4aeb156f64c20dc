"""Downloading a URL the daemon was asked to read (`docker import URL`, `docker build URL`, `ADD URL`)."""
from __future__ import annotations

import os
import socket
from typing import BinaryIO
from urllib.parse import urlsplit

from .errors import InvalidParameter
from .gonet import lookup_error


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
    except httpx.ConnectTimeout:
        raise InvalidParameter(f'Get "{url}": dial tcp {_host_port(url)}: i/o timeout') from None
    except httpx.HTTPError as err:
        raise InvalidParameter(f'Get "{url}": {go_network_error(url, err)}') from None


def go_network_error(url: str, err: BaseException) -> str:
    """A failed request as Go's net/http words it (what dockerd prints), e.g.
    `dial tcp 127.0.0.1:1: connect: connection refused`; Python's own text when no OS error is behind it."""
    cause = _os_error_behind(err)
    if isinstance(cause, socket.gaierror):
        return f"dial tcp: {lookup_error(urlsplit(url).hostname or '', cause)}"
    if cause is not None and cause.errno:
        return f"dial tcp {_host_port(url)}: connect: {_go_errno_text(cause.errno)}"
    return str(err)


def _os_error_behind(err: BaseException) -> OSError | None:
    """The OSError a library exception wraps (httpx -> httpcore -> ConnectionRefusedError)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__ or next((a for a in err.args if isinstance(a, OSError)), None)
    return None


def _go_errno_text(errno: int) -> str:
    # Go's syscall messages are strerror with a lower-case first letter ("connection refused").
    text = os.strerror(errno)
    return text[:1].lower() + text[1:]


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
