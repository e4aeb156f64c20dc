"""Content-addressed blob store: blobs/sha256/<hex>, written through ingest/ and renamed atomically.

A blob is only ever visible under its digest once its size and digest have been verified, so a crash
mid-write leaves at most a stray file in ingest/ (cleaned at start-up), never a wrong blob.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidParameter, NotFound


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def split_digest(digest: str) -> tuple[str, str]:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidParameter(f"invalid digest: {digest!r}")
    return algo, hexpart


class ContentWriter:
    """Streams bytes into a temp file in ingest/, hashing as it goes; commit() verifies and publishes."""

    def __init__(self, store: "ContentStore", expected_digest: str | None, expected_size: int | None):
        self._store = store
        self._expected_digest = expected_digest
        self._expected_size = expected_size
        fd, name = tempfile.mkstemp(dir=store.ingest_dir)
        self._file = os.fdopen(fd, "wb")
        self._tmp = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest: str | None = None

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._file.write(data)

    def commit(self) -> str:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = "sha256:" + self._hash.hexdigest()
        try:
            if self._expected_size is not None and self.size != self._expected_size:
                raise InvalidParameter(
                    f"size mismatch for {self._expected_digest or digest}: expected {self._expected_size}, got {self.size}")
            if self._expected_digest is not None and digest != self._expected_digest:
                raise InvalidParameter(f"digest mismatch: expected {self._expected_digest}, got {digest}")
            os.replace(self._tmp, self._store.path(digest))
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self.digest = digest
        return digest

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "ContentWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self.digest is None:
            self.abort()


class ContentStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs" / "sha256"
        self.ingest_dir = self.root / "ingest"
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.ingest_dir.iterdir():  # half-written blobs from a crash
            stale.unlink(missing_ok=True)

    def path(self, digest: str) -> Path:
        return self.blobs_dir / split_digest(digest)[1]

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(self, expected_digest: str | None = None, expected_size: int | None = None) -> ContentWriter:
        return ContentWriter(self, expected_digest, expected_size)

    def put(self, data: bytes, expected: str | None = None) -> str:
        digest = sha256_digest(data)
        if expected is not None and expected != digest:
            raise InvalidParameter(f"digest mismatch: expected {expected}, got {digest}")
        if not self.has(digest):
            with self.writer(digest, len(data)) as w:
                w.write(data)
                w.commit()
        return digest

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)
