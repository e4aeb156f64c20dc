"""SQLite metadata (WAL): images, tags, layers, containers, volumes, networks. One transaction per change."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT,
    cache_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    config BLOB NOT NULL,
    top_chain TEXT,
    parent TEXT,
    size INTEGER NOT NULL,
    added REAL NOT NULL
);
-- Images deleted (`rmi -f`) while a stopped container still uses them: no longer listed or resolvable,
-- but their config and layers stay until the last such container is removed (as Docker's layer refs do).
CREATE TABLE IF NOT EXISTS retained_images (
    id TEXT PRIMARY KEY,
    config BLOB NOT NULL,
    top_chain TEXT,
    parent TEXT,
    size INTEGER NOT NULL,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, chain_id)
);
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
CREATE TABLE IF NOT EXISTS tags (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS repo_digests (
    name TEXT NOT NULL,
    image_id TEXT NOT NULL,
    PRIMARY KEY (name, image_id)
);
CREATE TABLE IF NOT EXISTS layer_blobs (
    diff_id TEXT NOT NULL,
    blob_digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    repository TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (diff_id, blob_digest, repository)
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    image_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    anonymous INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    driver TEXT NOT NULL,
    data TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (network_id, container_id),
    UNIQUE (network_id, ip)
);
CREATE INDEX IF NOT EXISTS endpoints_container ON endpoints(container_id);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Added columns, appended to existing stores at open: (table, column, type). images and retained_images get
# the same ones in the same order (a forced delete copies rows across with SELECT *). `created` and `labels`
# are the image list summary (the config's Created and Labels), so listing never re-reads configs, which carry
# the whole build history.
COLUMNS = [
    ("images", "created", "REAL"), ("images", "labels", "TEXT"),
    ("retained_images", "created", "REAL"), ("retained_images", "labels", "TEXT"),
]

# An index for every lookup the services make, so their cost does not grow with the store.
INDEXES = """
CREATE INDEX IF NOT EXISTS images_parent ON images(parent);
-- Covering indexes: an image row holds its config (a deep build's carries its whole history, up to megabytes)
-- before these columns, and SQLite walks a blob's overflow pages to reach the columns after it. The list and
-- the parent/top-layer lookups read the index alone.
CREATE INDEX IF NOT EXISTS images_summary ON images(created, added, id, parent, size, labels);
CREATE INDEX IF NOT EXISTS images_links ON images(id, parent, top_chain, labels);
DROP INDEX IF EXISTS images_created;
CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);
CREATE INDEX IF NOT EXISTS repo_digests_image ON repo_digests(image_id);
CREATE INDEX IF NOT EXISTS layers_parent ON layers(parent);
CREATE INDEX IF NOT EXISTS layers_diff ON layers(diff_id);
CREATE INDEX IF NOT EXISTS layer_blobs_digest ON layer_blobs(blob_digest);
CREATE INDEX IF NOT EXISTS containers_image ON containers(image_id);
CREATE INDEX IF NOT EXISTS containers_created ON containers(created);
"""


class Metadata:
    """One writer connection (transactions take its lock) and read connections, one per query running at once.

    WAL lets readers run beside the writer, so a lookup never waits for a long transaction (an `rmi -f` of a
    long chain, a big load) another thread is running: each statement outside a transaction reads the last
    committed state. Inside `tx()`, reads on that thread go to the writer connection and see its own changes.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = self._connect()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)
        self._add_columns()
        self._conn.executescript(INDEXES)
        self._lock = threading.RLock()  # the writer connection is shared by the loop thread and pool threads
        self._local = threading.local()  # .depth: transaction nesting in this thread
        self._readers: list[sqlite3.Connection] = []  # every read connection made
        self._idle_readers: list[sqlite3.Connection] = []  # those no query is using now
        self._readers_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Debian's SQLite zeroes every freed page (SECURE_DELETE): deleting a deep build's image wrote its
        # megabyte of config again, to the WAL and then the file. FAST zeroes only pages written anyway.
        conn.execute("PRAGMA secure_delete=FAST")
        return conn

    def _add_columns(self) -> None:
        for table, column, type_ in COLUMNS:
            have = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {type_}")

    def _take_reader(self) -> sqlite3.Connection:
        """An idle read connection, or a new one: as many as queries ever ran at once, not one per thread
        (each costs about a megabyte, and the daemon's pools have two dozen threads). Never waits."""
        try:
            return self._idle_readers.pop()  # (list pop and append are atomic: no lock on the loop thread)
        except IndexError:
            pass
        conn = self._connect()
        conn.execute("PRAGMA cache_size=-256")  # the OS caches the file anyway
        with self._readers_lock:
            self._readers.append(conn)
        return conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            self._local.depth = getattr(self._local, "depth", 0) + 1
            try:
                cur = self._conn.cursor()
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                else:
                    cur.execute("COMMIT")
            finally:
                self._local.depth -= 1

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        if getattr(self._local, "depth", 0):
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        conn = self._take_reader()
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            self._idle_readers.append(conn)

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        rows = self.query(sql, args)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._idle_readers.clear()
        with self._lock:  # never under a transaction another thread is in (a write-behind thread's)
            self._conn.close()
