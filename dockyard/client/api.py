"""DockerClient: the Engine API over a unix socket (httpx), with Docker's errors mapped to ours."""
from __future__ import annotations

import base64
import json
import os
import socket
from typing import Iterator
from urllib.parse import urlencode

import httpx

from .. import errors

DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"
API_VERSION = "1.50"
STATUS_ERRORS = {400: errors.InvalidParameter, 401: errors.Unauthorized, 403: errors.Forbidden,
                 404: errors.NotFound, 409: errors.Conflict, 503: errors.Unavailable}


class DockerClient:
    def __init__(self, host: str | None = None):
        self.host = host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        if self.host.startswith("unix://"):
            self.socket_path = self.host[len("unix://"):]
            transport = httpx.HTTPTransport(uds=self.socket_path)
            base = "http://docker"
        elif self.host.startswith(("tcp://", "http://")):
            self.socket_path = None
            transport = httpx.HTTPTransport()
            base = "http://" + self.host.split("://", 1)[1]
        else:
            raise errors.InvalidParameter(f"unsupported DOCKER_HOST {self.host!r}")
        self.base = base
        self.http = httpx.Client(transport=transport, base_url=f"{base}/v{API_VERSION}", timeout=None)

    # ------------------------------------------------------------------ plumbing
    def _check(self, resp: httpx.Response) -> httpx.Response:
        if resp.status_code < 400:
            return resp
        resp.read()
        try:
            message = resp.json().get("message", resp.text)
        except ValueError:
            message = resp.text.strip()
        raise STATUS_ERRORS.get(resp.status_code, errors.SystemError_)(message)

    def request(self, method: str, path: str, params=None, json_body=None, content=None, headers=None):
        try:
            resp = self.http.request(method, path, params=_clean(params), json=json_body, content=content,
                                     headers=headers)
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError):
            raise errors.Unavailable(f"Cannot connect to the Docker daemon at {self.host}. "
                                     f"Is the docker daemon running?") from None
        return self._check(resp)

    def get(self, path: str, **params):
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body=None, **params):
        resp = self.request("POST", path, params=params, json_body=body)
        return resp.json() if resp.content and resp.headers.get("content-type", "").startswith("application/json") \
            else None

    def delete(self, path: str, **params):
        resp = self.request("DELETE", path, params=params)
        return resp.json() if resp.content else None

    def stream(self, method: str, path: str, params=None, content=None, headers=None, json_body=None):
        """A streaming response (closed by the caller's iteration)."""
        req = self.http.build_request(method, path, params=_clean(params), content=content, headers=headers,
                                      json=json_body)
        try:
            resp = self.http.send(req, stream=True)
        except (httpx.ConnectError, FileNotFoundError):
            raise errors.Unavailable(f"Cannot connect to the Docker daemon at {self.host}. "
                                     f"Is the docker daemon running?") from None
        return self._check(resp)

    def json_stream(self, method: str, path: str, params=None, content=None, headers=None) -> Iterator[dict]:
        """JSON-lines progress (pull, push, build, load, import); raises on an in-stream error."""
        resp = self.stream(method, path, params, content, headers)
        try:
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                msg = json.loads(line)
                if msg.get("errorDetail") or msg.get("error"):
                    err = errors.DockyardError((msg.get("errorDetail") or {}).get("message") or msg["error"])
                    err.code = (msg.get("errorDetail") or {}).get("code") or 1  # a failed RUN's exit code
                    raise err
                yield msg
        finally:
            resp.close()

    def hijack(self, path: str, params=None, body=None) -> socket.socket:
        """POST with `Upgrade: tcp`; returns the raw socket after the 101 response."""
        if self.socket_path is None:
            raise errors.InvalidParameter("attach needs a unix socket host")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except OSError:
            raise errors.Unavailable(f"Cannot connect to the Docker daemon at {self.host}. "
                                     f"Is the docker daemon running?") from None
        data = json.dumps(body).encode() if body is not None else b""
        query = "?" + urlencode(_clean(params) or {}) if params else ""
        head = (f"POST /v{API_VERSION}{path}{query} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\n"
                f"Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")
        sock.sendall(head.encode() + data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise errors.SystemError_("daemon closed the connection")
            buf += chunk
        header, _, rest = buf.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        if status >= 400:
            body_text = rest.decode(errors="replace")
            try:
                message = json.loads(body_text.split("\r\n")[-1] if "\r\n" in body_text else body_text)["message"]
            except (ValueError, KeyError, IndexError):
                message = body_text.strip() or f"HTTP {status}"
            sock.close()
            raise STATUS_ERRORS.get(status, errors.SystemError_)(message)
        return _PrefixedSocket(sock, rest)


class _PrefixedSocket:
    """A socket whose first bytes were already read with the response headers."""

    def __init__(self, sock: socket.socket, prefix: bytes):
        self.sock, self.prefix = sock, prefix

    def recv(self, n: int) -> bytes:
        if self.prefix:
            data, self.prefix = self.prefix[:n], self.prefix[n:]
            return data
        return self.sock.recv(n)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def _clean(params):
    """Query parameters without the unset ones, booleans as 1/0; a dict or a list of pairs (repeated keys)."""
    if params is None:
        return None
    pairs = params.items() if isinstance(params, dict) else params
    return [(k, ("1" if v else "0") if isinstance(v, bool) else v) for k, v in pairs if v is not None]


def encode_auth(auth: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
