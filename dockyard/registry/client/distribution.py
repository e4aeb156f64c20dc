"""RegistryClient: the OCI distribution / Docker registry v2 HTTP API for one registry.

Everything a pull or push needs: manifests (with content negotiation), blobs (streamed and verified),
uploads (monolithic or chunked), cross-repository mounts, tags, `/v1/search` and the `/v2/` login check.
Requests go through `_open()`, which picks the endpoint (HTTPS, or HTTP for insecure registries),
answers auth challenges (auth.py), and retries with back-off when the registry cannot be reached.
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import os
import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable
from urllib.parse import urljoin

import aiohttp

from ... import __version__ as _version
from ...errors import DockyardError, InvalidParameter, NotFound, SystemError_, Unauthorized, Unavailable
from ...gonet import lookup_error
from .auth import Authorizer, Credentials, repository_scope
from .endpoints import Endpoint, RegistryHosts
from .errors import NoBasicAuthCredentials, code_words, registry_error

log = logging.getLogger("dockyard.registry.client")

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DEFAULT_ACCEPT = [MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST, MEDIA_OCI_INDEX]
INDEX_TYPES = {MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX}

MAX_MANIFEST_SIZE = 4 << 20          # containerd's limit; a manifest bigger than this is not one
READ_CHUNK = 1 << 20
CHUNKED_UPLOAD_THRESHOLD = 64 << 20  # above this, upload in PATCH chunks of `chunk_size`
DEFAULT_CHUNK_SIZE = 32 << 20
RETRY_STATUSES = {502, 503, 504}
TRANSIENT_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)

ProgressFn = Callable[[int], "Awaitable[None] | None"]


class DigestMismatch(SystemError_):
    """The bytes a registry sent do not hash to the digest that was asked for."""


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _call(progress: ProgressFn | None, value: int) -> None:
    if progress is not None:
        result = progress(value)
        if inspect.isawaitable(result):
            await result


class RegistryClient:
    """One registry (a reference's domain, e.g. `127.0.0.1:5000` or `docker.io`), one set of credentials.

    Use as `async with RegistryClient(...) as c:`; pass `session=` to share a connection pool.
    """

    def __init__(self, registry: str, *, credentials: Credentials | None = None, hosts: RegistryHosts | None = None,
                 session: aiohttp.ClientSession | None = None, push: bool = False, retries: int = 4,
                 backoff: float = 0.5, chunk_size: int = DEFAULT_CHUNK_SIZE):
        self.registry = registry
        self.hosts = hosts or RegistryHosts()
        self.auth = Authorizer(credentials, user_agent=f"dockyard/{_version}")
        self.retries = retries
        self.backoff = backoff
        self.chunk_size = chunk_size
        self._candidates = self.hosts.endpoints(registry, push=push)
        self.endpoint: Endpoint | None = None  # the one that answered; used from then on
        self._own_session = session is None
        self._session = session

    # ------------------------------------------------------------------ lifecycle
    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session()
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "RegistryClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return (self.endpoint or self._candidates[0]).url

    # ------------------------------------------------------------------ transport
    @asynccontextmanager
    async def _open(self, method: str, path: str, *, scopes: list[str] = (), headers: dict | None = None,
                    params=None, body: Callable[[], object] | None = None, ok=(200,),
                    allow_statuses=(), answer_challenges: bool = True,
                    retries: int | None = None) -> AsyncIterator[aiohttp.ClientResponse]:
        """A response with an expected status; registry errors raised as typed errors.

        `path` is relative to the endpoint (`/v2/...`) or an absolute URL (upload locations).
        `body` is a factory so the request can be replayed after an auth challenge or a lost connection.
        """
        last_err: BaseException | None = None
        last_url = path
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * (2 ** (attempt - 1)))
            for endpoint in ([self.endpoint] if self.endpoint else self._candidates):
                url = path if path.startswith(("http://", "https://")) else endpoint.url + path
                last_url = url
                try:
                    resp = await self._send(endpoint, method, url, scopes, headers, params, body,
                                            answer_challenges)
                except TRANSIENT_ERRORS as err:
                    log.debug("%s %s: %s", method, url, err)
                    last_err = err
                    continue
                if self.endpoint is None:
                    self.endpoint = endpoint
                    self.hosts.remember(self.registry, endpoint)
                if resp.status in RETRY_STATUSES and attempt < retries:
                    last_err = registry_error(resp.status, await resp.read())
                    resp.release()
                    break
                try:
                    if resp.status not in ok and resp.status not in allow_statuses:
                        if resp.status == 401 and self.auth.lacks_basic_credentials():
                            raise NoBasicAuthCredentials(method, url)
                        raise registry_error(resp.status, await resp.read(),
                                             www_authenticate=resp.headers.get("WWW-Authenticate", ""))
                    yield resp
                finally:
                    resp.release()
                return
        if isinstance(last_err, DockyardError):
            raise last_err
        raise Unavailable(f'{method.capitalize()} "{last_url}": {_describe(last_err)}')

    async def _send(self, endpoint: Endpoint, method: str, url: str, scopes, headers, params, body,
                    answer_challenges: bool = True):
        for auth_round in range(2 if answer_challenges else 1):
            h = {"User-Agent": self.auth.user_agent, **(headers or {})}
            h.update(await self.auth.headers(self.session, list(scopes), ssl=endpoint.ssl))
            resp = await self.session.request(method, url, headers=h, params=params,
                                              data=body() if body else None, ssl=endpoint.ssl)
            if resp.status != 401 or auth_round:
                return resp
            challenge = resp.headers.get("WWW-Authenticate", "")
            sent = "Authorization" in h
            retry = self.auth.learn(challenge)
            if sent and self.auth.challenge and self.auth.challenge.scheme == "bearer":
                # An expired token is worth replacing once; a token the server says lacks the scope is not.
                retry = self.auth.challenge.params.get("error") != "insufficient_scope"
                if retry:
                    self.auth.forget_tokens()
            if not retry:
                return resp
            resp.release()
        return resp

    # ------------------------------------------------------------------ manifests
    async def get_manifest(self, repo: str, ref: str, accept: list[str] | None = None) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest or index by tag or digest; a digest is verified."""
        headers = {"Accept": ", ".join(accept or DEFAULT_ACCEPT)}
        while True:
            try:
                async with self._open("GET", f"/v2/{repo}/manifests/{ref}", scopes=[repository_scope(repo)],
                                      headers=headers) as resp:
                    body = await _read_limited(resp, MAX_MANIFEST_SIZE)
                    content_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
                break
            except DockyardError as err:
                if self._drop_mirror():
                    continue  # a mirror without the image (or refusing us): ask the next endpoint
                raise self._pull_error(err, repo, ref) from None
        media_type = _media_type(body, content_type)
        digest = sha256_of(body)
        if ref.startswith("sha256:") and digest != ref:
            raise DigestMismatch(f"manifest verification failed for digest {ref}")
        return body, media_type, digest

    def _drop_mirror(self) -> bool:
        """Stop using the mirror that answered (if it was one) when others remain; True if dropped."""
        current = self.endpoint or self._candidates[0]
        if not current.mirror or len(self._candidates) < 2:
            return False
        log.info("mirror %s failed; trying %s", current.url, self._candidates[1].url)
        self._candidates = [e for e in self._candidates if e is not current]
        self.endpoint = None
        self.auth = Authorizer(self.auth.credentials, user_agent=self.auth.user_agent)  # new host, new challenge
        return True

    def _pull_error(self, err: DockyardError, repo: str, ref: str) -> DockyardError:
        """Docker's wording for a manifest that cannot be had (moby distribution/errors.go)."""
        from ...image.reference import Reference

        named = Reference(self.registry, repo)
        full = Reference(self.registry, repo, None if ref.startswith("sha256:") else ref,
                         ref if ref.startswith("sha256:") else None)
        code = getattr(err, "code", "")
        if isinstance(err, NoBasicAuthCredentials) and not ref.startswith("sha256:"):
            return NoBasicAuthCredentials("HEAD", err.url)  # dockerd resolves a tag with a HEAD first
        if code == "MANIFEST_UNKNOWN" or (code == "NOT_FOUND" and isinstance(err, NotFound)):
            return _with_code(NotFound(f"manifest for {full.familiar()} not found: {err}"), err)
        if code == "NAME_UNKNOWN":
            return _with_code(NotFound(f"repository {named.repository()} not found: {err}"), err)
        if code in ("DENIED", "UNAUTHORIZED") and self.auth.credentials.anonymous:
            return _with_code(NotFound(f"pull access denied for {named.repository()}, repository does not exist "
                                       f"or may require 'docker login': denied: requested access to the "
                                       f"resource is denied"), err)
        return err

    async def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        async with self._open("PUT", f"/v2/{repo}/manifests/{ref}", scopes=[repository_scope(repo, "pull,push")],
                              headers={"Content-Type": media_type}, body=lambda: body, ok=(200, 201)) as resp:
            return resp.headers.get("Docker-Content-Digest") or sha256_of(body)

    # ------------------------------------------------------------------ blobs
    async def blob_exists(self, repo: str, digest: str, push: bool = False) -> int | None:
        """The blob's size if `repo` has it, else None."""
        scope = repository_scope(repo, "pull,push" if push else "pull")
        async with self._open("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=[scope], ok=(200,),
                              allow_statuses=(404,)) as resp:
            if resp.status == 404:
                return None
            return int(resp.headers.get("Content-Length") or 0)

    async def fetch_blob(self, repo: str, digest: str, size: int | None = None) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks, hashed on the way. The last chunk is only yielded once the whole
        blob matched `digest` (and `size`), so a consumer that commits at the end never keeps bad bytes;
        a mismatch raises DigestMismatch instead. A dropped connection resumes with a Range request."""
        hasher, got, failures, pending = hashlib.sha256(), 0, 0, None
        while True:
            headers = {"Range": f"bytes={got}-"} if got else {}
            try:
                async with self._open("GET", f"/v2/{repo}/blobs/{digest}", scopes=[repository_scope(repo)],
                                      headers=headers, ok=(200, 206)) as resp:
                    skip = got if (got and resp.status == 200) else 0  # Range ignored: drop what we have
                    async for chunk in resp.content.iter_chunked(READ_CHUNK):
                        if skip:
                            cut = min(skip, len(chunk))
                            chunk, skip = chunk[cut:], skip - cut
                            if not chunk:
                                continue
                        hasher.update(chunk)
                        got += len(chunk)
                        if size is not None and got > size:
                            raise DigestMismatch(f"filesystem layer verification failed for digest {digest}")
                        if pending is not None:
                            yield pending
                        pending = chunk
                break
            except TRANSIENT_ERRORS as err:
                failures += 1
                if failures > self.retries:
                    raise Unavailable(f"error pulling blob {digest}: {_describe(err)}") from None
                log.info("blob %s interrupted after %d bytes (%s); resuming", digest, got, _describe(err))
                await asyncio.sleep(self.backoff * (2 ** (failures - 1)))
        if ("sha256:" + hasher.hexdigest()) != digest or (size is not None and got != size):
            raise DigestMismatch(f"filesystem layer verification failed for digest {digest}")
        if pending is not None:
            yield pending

    async def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        """Ask the registry to link `digest` from `from_repo` into `repo`; False if it would not."""
        scopes = [repository_scope(repo, "pull,push"), repository_scope(from_repo, "pull")]
        async with self._open("POST", f"/v2/{repo}/blobs/uploads/", scopes=scopes,
                              params={"mount": digest, "from": from_repo}, ok=(201, 202)) as resp:
            if resp.status == 201:
                return True
            location = resp.headers.get("Location")
        if location:  # the registry opened an ordinary upload instead; we do not need it
            try:
                async with self._open("DELETE", self._absolute(location), scopes=scopes[:1], ok=(200, 204),
                                      allow_statuses=(404,)):
                    pass
            except DockyardError:
                pass
        return False

    async def upload_blob(self, repo: str, digest: str, size: int, source: Callable[[int], AsyncIterator[bytes]],
                          *, chunk_size: int | None = None, progress: ProgressFn | None = None) -> str:
        """Upload a blob. `source(offset)` yields its bytes from `offset`. Blobs up to
        CHUNKED_UPLOAD_THRESHOLD (or with chunk_size=0) go in one PUT; bigger ones in PATCH chunks with
        Content-Range, then a closing PUT. Returns the digest the registry reports."""
        scope = [repository_scope(repo, "pull,push")]
        if chunk_size is None:
            chunk_size = self.chunk_size if size > CHUNKED_UPLOAD_THRESHOLD else 0
        async with self._open("POST", f"/v2/{repo}/blobs/uploads/", scopes=scope, ok=(202,)) as resp:
            location = self._absolute(resp.headers["Location"])
        if not chunk_size:
            sent = [0]

            def whole():
                sent[0] = 0
                return _counting(source(0), sent, progress)
            async with self._open("PUT", _with_query(location, digest=digest), scopes=scope, body=whole,
                                  headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                                  ok=(201,)) as resp:
                return resp.headers.get("Docker-Content-Digest") or digest
        offset = 0
        while offset < size:
            end = min(offset + chunk_size, size)
            data = await _collect(source(offset), end - offset)
            headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{end - 1}",
                       "Content-Length": str(len(data))}
            async with self._open("PATCH", location, scopes=scope, headers=headers, body=lambda: data,
                                  ok=(202,)) as resp:
                location = self._absolute(resp.headers.get("Location") or location)
            offset = end
            await _call(progress, offset)
        async with self._open("PUT", _with_query(location, digest=digest), scopes=scope,
                              headers={"Content-Length": "0"}, ok=(201,)) as resp:
            return resp.headers.get("Docker-Content-Digest") or digest

    def _absolute(self, location: str) -> str:
        return urljoin(self.base_url + "/", location)

    # ------------------------------------------------------------------ other
    async def list_tags(self, repo: str) -> list[str]:
        tags, path = [], f"/v2/{repo}/tags/list"
        while path:
            async with self._open("GET", path, scopes=[repository_scope(repo)]) as resp:
                doc = await resp.json(content_type=None)
                link = resp.headers.get("Link", "")
            tags += doc.get("tags") or []
            path = _next_link(link)
        return tags

    async def search(self, term: str, limit: int = 25) -> dict:
        """`/v1/search` (Docker Hub's API; registries without it answer 404)."""
        try:
            async with self._open("GET", "/v1/search", params={"q": term, "n": str(limit)}) as resp:
                return await resp.json(content_type=None)
        except NotFound:
            # dockerd's words for a registry without search (registry:2 answers 404), nothing more
            raise NotFound("Unexpected status code 404") from None

    async def ping(self) -> None:
        """GET /v2/ once, as dockerd does before each pull or push (registry.PingV2Registry): it picks the
        endpoint and learns the auth challenge, and a registry that cannot be reached fails at once, in
        docker's words (`Get "http://127.0.0.1:5000/v2/": dial tcp ...: connection refused`). Any HTTP
        answer will do; what it means is for the requests that follow to say."""
        async with self._open("GET", "/v2/", allow_statuses=tuple(range(300, 600)), answer_challenges=False,
                              retries=0) as resp:
            if resp.status == 401:
                self.auth.learn(resp.headers.get("WWW-Authenticate", ""))

    async def check_login(self) -> dict:
        """GET /v2/ with the credentials, as `docker login` does; Docker's answer on success."""
        async with self._open("GET", "/v2/", allow_statuses=(401,), answer_challenges=False) as resp:
            status, challenge = resp.status, resp.headers.get("WWW-Authenticate", "")
        url_shown = f"{self.base_url}/v2/"
        if status == 401:
            self.auth.learn(challenge)
        if status == 401 and self.auth.challenge is not None:
            if self.auth.challenge.scheme == "bearer" and not self.auth.credentials.registry_token:
                # The token fetch is the real check (it fails on wrong credentials); ask for a refresh
                # token too (`offline_token`), which docker keeps as the IdentityToken.
                token = await self.auth.token(self.session, [], ssl=self.endpoint.ssl, login=True)
                headers = {"Authorization": f"Bearer {token}"}
            else:
                headers = await self.auth.headers(self.session, [], ssl=self.endpoint.ssl)
            async with self._open("GET", "/v2/", headers=headers, allow_statuses=(401,),
                                  answer_challenges=False) as resp:
                status = resp.status
        if status == 401:
            raise Unauthorized(f"login attempt to {url_shown} failed with status: 401 Unauthorized")
        return {"Status": "Login Succeeded", "IdentityToken": self.auth.refresh_token or ""}


# ---------------------------------------------------------------------- helpers
def new_session() -> aiohttp.ClientSession:
    # Blobs must reach the hasher exactly as served: no transparent decompression.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
    return aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                 connector=aiohttp.TCPConnector(limit=16, force_close=False))


def _media_type(body: bytes, content_type: str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        raise InvalidParameter("the registry sent a manifest that is not JSON") from None
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    if declared:
        return declared
    if content_type in DEFAULT_ACCEPT:
        return content_type
    # OCI manifests may omit mediaType: tell an index by its `manifests` list.
    return MEDIA_OCI_INDEX if isinstance(doc, dict) and "manifests" in doc else MEDIA_OCI_MANIFEST


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    data = bytearray()
    async for chunk in resp.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > limit:
            raise InvalidParameter(f"manifest too big (more than {limit} bytes)")
    return bytes(data)


async def _counting(it: AsyncIterator[bytes], sent: list, progress: ProgressFn | None) -> AsyncIterator[bytes]:
    async for chunk in it:
        sent[0] += len(chunk)
        await _call(progress, sent[0])
        yield chunk


async def _collect(it: AsyncIterator[bytes], n: int) -> bytes:
    buf = bytearray()
    async for chunk in it:
        buf += chunk
        if len(buf) >= n:
            break
    if hasattr(it, "aclose"):
        await it.aclose()
    return bytes(buf[:n])


def _with_query(url: str, **params) -> str:
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(params)


def _next_link(link: str) -> str | None:
    """RFC 5988 `Link: </v2/x/tags/list?n=100&last=b>; rel="next"`."""
    for part in link.split(","):
        if 'rel="next"' in part and "<" in part:
            return part[part.index("<") + 1:part.index(">")]
    return None


def _describe(err: BaseException | None) -> str:
    if err is None:
        return "no endpoint answered"
    if isinstance(err, aiohttp.ClientConnectorError) and not isinstance(err, aiohttp.ClientSSLError):
        if isinstance(err.os_error, socket.gaierror):  # the name did not resolve: no address to dial
            return "dial tcp: " + lookup_error(err.host, err.os_error)
        reason = os.strerror(err.os_error.errno).lower() if getattr(err.os_error, "errno", None) else str(err)
        return f"dial tcp {err.host}:{err.port}: connect: {reason}"
    if isinstance(err, asyncio.TimeoutError):
        return "i/o timeout"
    return str(err) or type(err).__name__


def _with_code(new: DockyardError, old: DockyardError) -> DockyardError:
    new.code, new.status = getattr(old, "code", ""), getattr(old, "status", 0)
    return new


__all__ = ["RegistryClient", "DigestMismatch", "DEFAULT_ACCEPT", "INDEX_TYPES", "MEDIA_DOCKER_MANIFEST",
           "MEDIA_DOCKER_LIST", "MEDIA_OCI_MANIFEST", "MEDIA_OCI_INDEX", "MEDIA_DOCKER_CONFIG",
           "MEDIA_DOCKER_LAYER_GZIP", "new_session", "code_words"]
