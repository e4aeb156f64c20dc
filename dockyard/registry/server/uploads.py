"""Blob upload sessions: POST starts one, PATCH appends (optionally at a Content-Range offset), PUT ?digest=
verifies and commits, GET reports progress, DELETE cancels.

The data lives in <repo>/_uploads/<uuid>/data, so an upload survives a restart and can be resumed (the
offset is the file size). A running sha256 is kept in memory while the process lives; after a restart, or
for another algorithm, commit re-hashes the file instead. Nothing is linked until the digest matches; a
mismatch deletes the upload.
"""
import asyncio
import hashlib
import os
import shutil
import time
import uuid as uuidlib

from dockyard.blocking import bulk
from dockyard.registry.server.errors import RegistryError
from dockyard.registry.server.names import UUID_RE, split_digest
from dockyard.registry.server.storage import Storage, fsync_dir, write_atomic

FLUSH_BYTES = 4 * 1024 * 1024   # write to disk in big pieces, off the event loop


class UploadSession:
    def __init__(self, repo: str, uuid: str, path: str, size: int, hasher=None):
        self.repo, self.uuid, self.path, self.size = repo, uuid, path, size
        self.hasher = hasher          # sha256 of data[:size], or None once unknown (restart)
        self.lock = asyncio.Lock()


def _append(path: str, hasher, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
    if hasher is not None:
        hasher.update(data)


def _hash_file(path: str, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Uploads:
    def __init__(self, storage: Storage):
        self.storage = storage
        self.sessions: dict[str, UploadSession] = {}

    def _dir(self, repo: str, uuid: str) -> str:
        return os.path.join(self.storage.uploads_dir(repo), uuid)

    def start(self, repo: str) -> UploadSession:
        uuid = str(uuidlib.uuid4())
        d = self._dir(repo, uuid)
        os.makedirs(d)
        open(os.path.join(d, "data"), "wb").close()
        write_atomic(os.path.join(d, "startedat"), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode(),
                     fsync=False)
        s = UploadSession(repo, uuid, os.path.join(d, "data"), 0, hashlib.sha256())
        self.sessions[uuid] = s
        return s

    def get(self, repo: str, uuid: str) -> UploadSession:
        s = self.sessions.get(uuid)
        if s is not None and s.repo == repo:
            return s
        if not UUID_RE.match(uuid):
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uuid})
        path = os.path.join(self._dir(repo, uuid), "data")
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uuid}) from None
        s = UploadSession(repo, uuid, path, size, None)   # found on disk after a restart
        self.sessions[uuid] = s
        return s

    async def append(self, s: UploadSession, body, start: int | None = None, length: int | None = None) -> int:
        """Append a request body (aiohttp StreamReader) at `start` (must be the current size; spec: else 416).
        `length` is what the chunk's Content-Range promised: a body of another length is undone (SIZE_INVALID).
        Returns the bytes added."""
        if start is not None and start != s.size:
            raise RegistryError("BLOB_UPLOAD_INVALID", status=416,
                                message=f"upload is at offset {s.size}, chunk starts at {start}",
                                headers={"Range": f"0-{max(s.size - 1, 0)}",
                                         "Location": f"/v2/{s.repo}/blobs/uploads/{s.uuid}"})
        before = s.size
        added = await self._write_body(s, body)
        if length is not None and added != length:
            await asyncio.get_running_loop().run_in_executor(None, self._rewind, s, before)
            raise RegistryError("SIZE_INVALID", message=f"Content-Range promised {length} bytes, the body had {added}")
        return added

    async def _write_body(self, s: UploadSession, body) -> int:
        loop = asyncio.get_running_loop()
        added, buf = 0, bytearray()
        try:
            async for chunk in body.iter_chunked(1 << 20):
                buf += chunk
                if len(buf) >= FLUSH_BYTES:
                    data, buf = bytes(buf), bytearray()
                    await loop.run_in_executor(None, _append, s.path, s.hasher, data)
                    s.size += len(data)
                    added += len(data)
        finally:
            # Keep what arrived even if the client went away: the upload stays resumable at the new offset.
            if buf:
                data = bytes(buf)
                await loop.run_in_executor(None, _append, s.path, s.hasher, data)
                s.size += len(data)
                added += len(data)
        return added

    @staticmethod
    def _rewind(s: UploadSession, size: int) -> None:
        """Cut the upload back to `size`; the running hash has seen the cut bytes, so commit re-hashes."""
        os.truncate(s.path, size)
        s.size, s.hasher = size, None

    async def commit(self, s: UploadSession, digest: str) -> int:
        """Verify the upload hashes to `digest`, move it into the blob store. Returns its size."""
        loop = asyncio.get_running_loop()
        algo, hexpart = split_digest(digest)
        if algo == "sha256" and s.hasher is not None:
            actual = s.hasher.hexdigest()
        else:
            actual = await bulk(_hash_file, s.path, algo)
        if actual != hexpart:
            self.cancel(s)
            raise RegistryError("DIGEST_INVALID", detail={"expected": digest, "actual": f"{algo}:{actual}"})
        size = s.size
        await loop.run_in_executor(None, fsync_dir, s.path)
        await loop.run_in_executor(None, self.storage.adopt_blob_file, digest, s.path)
        self.storage.link_layer(s.repo, digest)
        self._remove(s)
        return size

    def cancel(self, s: UploadSession) -> None:
        self._remove(s)

    def _remove(self, s: UploadSession) -> None:
        self.sessions.pop(s.uuid, None)
        shutil.rmtree(os.path.dirname(s.path), ignore_errors=True)
