"""Conditional GET/HEAD of content-addressed things, as registry:2 answers them: the entity tag of a manifest or
a blob is its quoted digest, and `If-None-Match` naming it gets 304 Not Modified (no body, no event).

Blobs are also sent with registry:2's `Cache-Control: max-age=31536000`: a digest's content never changes.
"""
from aiohttp import web

BLOB_CACHE_CONTROL = "max-age=31536000"


def entity_tag(digest: str) -> str:
    return f'"{digest}"'


def not_modified(request: web.Request, digest: str) -> bool:
    """True when If-None-Match names this digest (quoted, weak, or bare as registry:2 also takes it) or is *."""
    for header in request.headers.getall("If-None-Match", []):
        for tag in header.split(","):
            tag = tag.strip()
            if tag.startswith("W/"):
                tag = tag[2:]
            if tag in ("*", digest, entity_tag(digest)):
                return True
    return False


def not_modified_response(headers: dict) -> web.Response:
    return web.Response(status=304, headers=headers)


class BlobFileResponse(web.FileResponse):
    """A blob from disk (Range handling, HEAD and sendfile(2) are aiohttp's) whose ETag stays the digest:
    aiohttp would replace it with one of mtime and size, which differs between copies of the same content."""

    def __init__(self, path: str, digest: str):
        super().__init__(path, chunk_size=1 << 20, headers={
            "Docker-Content-Digest": digest, "Content-Type": "application/octet-stream",
            "ETag": entity_tag(digest), "Cache-Control": BLOB_CACHE_CONTROL})
        self._digest_etag = entity_tag(digest)

    @property
    def etag(self):
        return web.FileResponse.etag.fget(self)

    @etag.setter
    def etag(self, _value) -> None:
        self.headers["ETag"] = self._digest_etag
