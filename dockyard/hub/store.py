"""The Hub's database: SQLite in WAL mode beside the registry storage (`<storage>/hub.db`), so the admin CLI
(`dockyard registry user ...`) can change it while the server runs.

Plain data access, no policy: who may do what is rights.py's job. Rows come back as dicts. Names of users and
organizations share one namespace (as on Docker Hub). Secrets are never stored: passwords as bcrypt hashes,
access tokens and session ids as sha256 hashes.

A repository row is keyed by (namespace, name); `path` is its name in the registry storage (`alice/app`, or
`x` for an official image pushed as `x`, whose row is library/x).
"""
from contextlib import contextmanager
import os
import sqlite3
import threading
import time
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '', full_name TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, full_name TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS org_owners (
    org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, PRIMARY KEY (org_id, user_id));
CREATE INDEX IF NOT EXISTS org_owners_user ON org_owners(user_id);
CREATE TABLE IF NOT EXISTS teams (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE NOCASE, description TEXT NOT NULL DEFAULT '', created REAL NOT NULL,
    UNIQUE (org_id, name));
CREATE TABLE IF NOT EXISTS team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, PRIMARY KEY (team_id, user_id));
CREATE INDEX IF NOT EXISTS team_members_user ON team_members(user_id);
CREATE TABLE IF NOT EXISTS repositories (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
    is_private INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '',
    full_description TEXT NOT NULL DEFAULT '', created REAL NOT NULL, last_pushed REAL,
    last_pusher TEXT NOT NULL DEFAULT '', pull_count INTEGER NOT NULL DEFAULT 0,
    star_count INTEGER NOT NULL DEFAULT 0, UNIQUE (namespace, name));
CREATE INDEX IF NOT EXISTS repositories_popular ON repositories(star_count DESC, pull_count DESC);
CREATE INDEX IF NOT EXISTS repositories_pushed ON repositories(last_pushed DESC);
-- Substring search over "namespace/name description" without scanning every row (trigrams: 3+ characters).
CREATE VIRTUAL TABLE IF NOT EXISTS repo_search USING fts5(text, tokenize = 'trigram');
CREATE TRIGGER IF NOT EXISTS repositories_search_insert AFTER INSERT ON repositories BEGIN
    INSERT INTO repo_search (rowid, text) VALUES (new.id, new.namespace || '/' || new.name || ' ' || new.description);
END;
CREATE TRIGGER IF NOT EXISTS repositories_search_update AFTER UPDATE OF namespace, name, description ON repositories
BEGIN
    DELETE FROM repo_search WHERE rowid = old.id;
    INSERT INTO repo_search (rowid, text) VALUES (new.id, new.namespace || '/' || new.name || ' ' || new.description);
END;
CREATE TRIGGER IF NOT EXISTS repositories_search_delete AFTER DELETE ON repositories BEGIN
    DELETE FROM repo_search WHERE rowid = old.id;
END;
CREATE TABLE IF NOT EXISTS tag_pushes (
    repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE, tag TEXT NOT NULL,
    pusher TEXT NOT NULL, pushed_at REAL NOT NULL, PRIMARY KEY (repo_id, tag));
CREATE TABLE IF NOT EXISTS collaborators (
    repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    permission TEXT NOT NULL CHECK (permission IN ('read', 'write', 'admin')), PRIMARY KEY (repo_id, user_id));
CREATE INDEX IF NOT EXISTS collaborators_user ON collaborators(user_id);
CREATE TABLE IF NOT EXISTS team_repos (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    permission TEXT NOT NULL CHECK (permission IN ('read', 'write', 'admin')), PRIMARY KEY (team_id, repo_id));
CREATE INDEX IF NOT EXISTS team_repos_repo ON team_repos(repo_id);
CREATE TABLE IF NOT EXISTS stars (
    repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, created REAL NOT NULL,
    PRIMARY KEY (repo_id, user_id));
CREATE INDEX IF NOT EXISTS stars_user ON stars(user_id);
CREATE TABLE IF NOT EXISTS access_tokens (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, label TEXT NOT NULL,
    scopes TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created REAL NOT NULL, last_used REAL,
    is_active INTEGER NOT NULL DEFAULT 1, creator_ip TEXT NOT NULL DEFAULT '', creator_ua TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS access_tokens_user ON access_tokens(user_id);
CREATE TABLE IF NOT EXISTS webhooks (
    id INTEGER PRIMARY KEY, repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name TEXT NOT NULL, hook_url TEXT NOT NULL, created REAL NOT NULL, creator TEXT NOT NULL DEFAULT '',
    UNIQUE (repo_id, name));
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    created REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL, response_code INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', tag TEXT NOT NULL DEFAULT '',
    callback_token TEXT NOT NULL UNIQUE, callback_state TEXT NOT NULL DEFAULT '',
    callback_description TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS deliveries_hook ON deliveries(webhook_id, created DESC);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, first REAL NOT NULL, locked_until REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

KEEP_DELIVERIES = 100      # per web hook: the history shows recent ones; older ones go
REPO_COLUMNS = ("id, namespace, name, path, is_private, description, full_description, created, last_pushed, "
                "last_pusher, pull_count, star_count")


class Conflict(Exception):
    """A name already taken (user, organization, team, repository, hook)."""


class Store:
    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Password hashes and the JWT secret live here: owner-only (SQLite gives -wal/-shm the same mode).
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._local = threading.local()
        self._db().executescript(SCHEMA)        # IF NOT EXISTS: safe when several processes open it

    # ---- connections and transactions ----
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextmanager
    def tx(self):
        """One write transaction (BEGIN IMMEDIATE: writers queue instead of failing half-way)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def write(self, sql: str, params=()) -> int:
        """One statement in its own transaction; how many rows it changed."""
        with self.tx() as db:
            return db.execute(sql, params).rowcount

    def one(self, sql: str, params=()) -> dict | None:
        row = self._db().execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params=()) -> list[dict]:
        return [dict(r) for r in self._db().execute(sql, params).fetchall()]

    def value(self, sql: str, params=()):
        row = self._db().execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- settings (server secrets) ----
    def setting(self, key: str, make) -> str:
        """The stored value of `key`, created with make() the first time."""
        value = self.value("SELECT value FROM settings WHERE key = ?", (key,))
        if value is None:
            with self.tx() as db:
                db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (key, make()))
            value = self.value("SELECT value FROM settings WHERE key = ?", (key,))
        return value

    # ---- users ----
    def namespace_kind(self, name: str) -> str | None:
        """'user', 'org' or None: users and organizations share one namespace."""
        if self.value("SELECT 1 FROM users WHERE name = ?", (name,)):
            return "user"
        if self.value("SELECT 1 FROM orgs WHERE name = ?", (name,)):
            return "org"
        return None

    def create_user(self, name: str, password_hash: str, email: str = "", full_name: str = "") -> dict:
        with self.tx() as db:
            if _taken(db, name):
                raise Conflict(f"{name} already exists")
            db.execute("INSERT INTO users (name, password_hash, email, full_name, created) VALUES (?, ?, ?, ?, ?)",
                       (name, password_hash, email, full_name, time.time()))
        return self.get_user(name)

    def get_user(self, name: str) -> dict | None:
        return self.one("SELECT * FROM users WHERE name = ?", (name,))

    def list_users(self) -> list[dict]:
        return self.all("SELECT id, name, email, full_name, created FROM users ORDER BY name")

    def set_password(self, name: str, password_hash: str) -> bool:
        """Also ends the user's web sessions (a password change signs out everywhere)."""
        with self.tx() as db:
            changed = db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)).rowcount
            db.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", (name,))
        return bool(changed)

    def update_user(self, name: str, **fields) -> None:
        _update(self, "users", "name = ?", (name,), fields, {"email", "full_name"})

    def delete_user(self, name: str) -> bool:
        """Removes the account, its tokens, sessions, stars and memberships (not its repositories' data)."""
        with self.tx() as db:
            row = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE repositories SET star_count = star_count - 1 WHERE id IN "
                       "(SELECT repo_id FROM stars WHERE user_id = ?)", (row[0],))
            db.execute("DELETE FROM users WHERE id = ?", (row[0],))
        return True

    # ---- organizations and teams ----
    def create_org(self, name: str, owner: str, full_name: str = "") -> dict:
        with self.tx() as db:
            if _taken(db, name):
                raise Conflict(f"{name} already exists")
            cur = db.execute("INSERT INTO orgs (name, full_name, created) VALUES (?, ?, ?)",
                             (name, full_name, time.time()))
            db.execute("INSERT INTO org_owners (org_id, user_id) SELECT ?, id FROM users WHERE name = ?",
                       (cur.lastrowid, owner))
        return self.get_org(name)

    def get_org(self, name: str) -> dict | None:
        return self.one("SELECT * FROM orgs WHERE name = ?", (name,))

    def delete_org(self, name: str) -> bool:
        return bool(self.write("DELETE FROM orgs WHERE name = ?", (name,)))

    def org_owners(self, org: str) -> list[str]:
        return [r["name"] for r in self.all(
            "SELECT u.name FROM users u JOIN org_owners oo ON oo.user_id = u.id JOIN orgs o ON o.id = oo.org_id "
            "WHERE o.name = ? ORDER BY u.name", (org,))]

    def is_org_owner(self, org: str, user: str) -> bool:
        return bool(self.value(
            "SELECT 1 FROM org_owners oo JOIN orgs o ON o.id = oo.org_id JOIN users u ON u.id = oo.user_id "
            "WHERE o.name = ? AND u.name = ?", (org, user)))

    def add_org_owner(self, org: str, user: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO org_owners (org_id, user_id) SELECT o.id, u.id FROM orgs o, users u "
                       "WHERE o.name = ? AND u.name = ?", (org, user))

    def orgs_of(self, user: str) -> list[dict]:
        """Organizations the user owns or is a team member of."""
        return self.all(
            "SELECT DISTINCT o.* FROM orgs o JOIN users u ON u.name = ? WHERE o.id IN "
            "(SELECT org_id FROM org_owners WHERE user_id = u.id UNION "
            " SELECT t.org_id FROM teams t JOIN team_members tm ON tm.team_id = t.id WHERE tm.user_id = u.id) "
            "ORDER BY o.name", (user,))

    def org_members(self, org: str) -> list[dict]:
        """Owners and team members, each once, with `is_owner`."""
        return self.all(
            "SELECT u.id, u.name, u.full_name, MAX(m.owner) AS is_owner FROM users u JOIN ("
            " SELECT oo.user_id, 1 AS owner FROM org_owners oo JOIN orgs o ON o.id = oo.org_id WHERE o.name = ?"
            " UNION ALL SELECT tm.user_id, 0 FROM team_members tm JOIN teams t ON t.id = tm.team_id"
            " JOIN orgs o ON o.id = t.org_id WHERE o.name = ?) m ON m.user_id = u.id "
            "GROUP BY u.id ORDER BY u.name", (org, org))

    def create_team(self, org: str, name: str, description: str = "") -> dict:
        with self.tx() as db:
            org_id = db.execute("SELECT id FROM orgs WHERE name = ?", (org,)).fetchone()[0]
            try:
                db.execute("INSERT INTO teams (org_id, name, description, created) VALUES (?, ?, ?, ?)",
                           (org_id, name, description, time.time()))
            except sqlite3.IntegrityError:
                raise Conflict(f"team {name} already exists in {org}") from None
        return self.get_team(org, name)

    def get_team(self, org: str, name: str) -> dict | None:
        return self.one(_TEAM_SQL + " WHERE o.name = ? AND t.name = ? GROUP BY t.id", (org, name))

    def get_team_by_id(self, team_id: int) -> dict | None:
        return self.one(_TEAM_SQL + " WHERE t.id = ? GROUP BY t.id", (team_id,))

    def list_teams(self, org: str) -> list[dict]:
        return self.all(_TEAM_SQL + " WHERE o.name = ? GROUP BY t.id ORDER BY t.name", (org,))

    def update_team(self, team_id: int, **fields) -> None:
        try:
            _update(self, "teams", "id = ?", (team_id,), fields, {"name", "description"})
        except sqlite3.IntegrityError:
            raise Conflict(f"team {fields.get('name')} already exists") from None

    def delete_team(self, team_id: int) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM teams WHERE id = ?", (team_id,))

    def add_team_member(self, team_id: int, user: str) -> bool:
        return bool(self.write("INSERT OR IGNORE INTO team_members (team_id, user_id) SELECT ?, id FROM users "
                               "WHERE name = ?", (team_id, user)))

    def remove_team_member(self, team_id: int, user: str) -> bool:
        return bool(self.write("DELETE FROM team_members WHERE team_id = ? AND user_id = "
                               "(SELECT id FROM users WHERE name = ?)", (team_id, user)))

    def team_members(self, team_id: int) -> list[dict]:
        return self.all("SELECT u.id, u.name, u.full_name FROM users u JOIN team_members tm ON tm.user_id = u.id "
                        "WHERE tm.team_id = ? ORDER BY u.name", (team_id,))

    # ---- repositories ----
    def create_repo(self, namespace: str, name: str, path: str, is_private: bool, description: str = "",
                    full_description: str = "") -> dict:
        with self.tx() as db:
            try:
                db.execute("INSERT INTO repositories (namespace, name, path, is_private, description, "
                           "full_description, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (namespace, name, path, int(is_private), description, full_description, time.time()))
            except sqlite3.IntegrityError:
                raise Conflict(f"repository {namespace}/{name} already exists") from None
        return self.get_repo(namespace, name)

    def ensure_repo(self, namespace: str, name: str, path: str, is_private: bool) -> dict:
        """The row of a repository the registry has, created (with `is_private`) if missing."""
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO repositories (namespace, name, path, is_private, created) "
                       "VALUES (?, ?, ?, ?, ?)", (namespace, name, path, int(is_private), time.time()))
        return self.get_repo(namespace, name)

    def get_repo(self, namespace: str, name: str) -> dict | None:
        return _repo(self.one(f"SELECT {REPO_COLUMNS} FROM repositories WHERE namespace = ? AND name = ?",
                              (namespace, name)))

    def get_repo_by_id(self, repo_id: int) -> dict | None:
        return _repo(self.one(f"SELECT {REPO_COLUMNS} FROM repositories WHERE id = ?", (repo_id,)))

    def update_repo(self, repo_id: int, **fields) -> None:
        if "is_private" in fields:
            fields["is_private"] = int(bool(fields["is_private"]))
        _update(self, "repositories", "id = ?", (repo_id,), fields, {"is_private", "description", "full_description"})

    def delete_repo(self, repo_id: int) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM repositories WHERE id = ?", (repo_id,))

    def record_push(self, repo_id: int, pusher: str, when: float, tag: str | None = None) -> None:
        with self.tx() as db:
            db.execute("UPDATE repositories SET last_pushed = ?, last_pusher = ? WHERE id = ?",
                       (when, pusher or "", repo_id))
            if tag:
                db.execute("INSERT INTO tag_pushes (repo_id, tag, pusher, pushed_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (repo_id, tag) DO UPDATE SET pusher = excluded.pusher, "
                           "pushed_at = excluded.pushed_at", (repo_id, tag, pusher or "", when))

    def tag_pushers(self, repo_id: int, tags: list[str]) -> dict[str, str]:
        """tag -> user who pushed it last (tags pushed while the Hub was on)."""
        marks = ",".join("?" * len(tags))
        return {r["tag"]: r["pusher"] for r in self.all(
            f"SELECT tag, pusher FROM tag_pushes WHERE repo_id = ? AND tag IN ({marks})", (repo_id, *tags))}

    def add_pulls(self, path: str, count: int = 1) -> None:
        with self.tx() as db:
            db.execute("UPDATE repositories SET pull_count = pull_count + ? WHERE path = ?", (count, path))

    def known_paths(self) -> set[str]:
        return {r[0] for r in self._db().execute("SELECT path FROM repositories")}

    def query_repos(self, visible: tuple[str, dict], *, text: str = "", namespace: str | None = None,
                    starred_by: str | None = None, order: str = "popular", limit: int = 25,
                    offset: int = 0) -> tuple[int, list[dict]]:
        """(total, one page) of the repositories `visible` (an SQL condition on `r` from rights.visible_sql)
        lets the caller see, whose namespace/name/description contain `text` (case-insensitive), in
        `namespace`, starred by `starred_by`."""
        where, params = [visible[0]], dict(visible[1])
        if len(text) >= 3:        # the trigram index: a quoted phrase matches as a substring, any case
            where.append("r.id IN (SELECT rowid FROM repo_search WHERE repo_search MATCH :match)")
            params["match"] = '"' + text.replace('"', '""') + '"'
        elif text:
            where.append("(r.namespace || '/' || r.name LIKE :text ESCAPE '\\'"
                         " OR r.description LIKE :text ESCAPE '\\')")
            params["text"] = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if namespace is not None:
            where.append("r.namespace = :namespace")
            params["namespace"] = namespace
        if starred_by is not None:
            where.append("r.id IN (SELECT s.repo_id FROM stars s JOIN users u ON u.id = s.user_id "
                         "WHERE u.name = :starred_by)")
            params["starred_by"] = starred_by
        sql_where = " AND ".join(f"({w})" for w in where)
        orders = {"popular": "r.star_count DESC, r.pull_count DESC, r.namespace, r.name",
                  "updated": "COALESCE(r.last_pushed, r.created) DESC, r.namespace, r.name",
                  "name": "r.namespace, r.name"}
        total = self.value(f"SELECT COUNT(*) FROM repositories r WHERE {sql_where}", params)
        rows = self.all(f"SELECT {', '.join('r.' + c.strip() for c in REPO_COLUMNS.split(','))} FROM repositories r "
                        f"WHERE {sql_where} ORDER BY {orders[order]} LIMIT :limit OFFSET :offset",
                        {**params, "limit": limit, "offset": offset})
        return total, [_repo(r) for r in rows]

    # ---- rights data (the policy itself is rights.py) ----
    def grants(self, repo_id: int, user: str) -> list[str]:
        """Permissions given to `user` on a repository: as a collaborator and through each of their teams."""
        return [r[0] for r in self._db().execute(
            "SELECT c.permission FROM collaborators c JOIN users u ON u.id = c.user_id "
            "WHERE c.repo_id = ? AND u.name = ? UNION ALL "
            "SELECT tr.permission FROM team_repos tr JOIN team_members tm ON tm.team_id = tr.team_id "
            "JOIN users u ON u.id = tm.user_id WHERE tr.repo_id = ? AND u.name = ?", (repo_id, user, repo_id, user))]

    def set_collaborator(self, repo_id: int, user: str, permission: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO collaborators (repo_id, user_id, permission) SELECT ?, id, ? FROM users "
                       "WHERE name = ? ON CONFLICT (repo_id, user_id) DO UPDATE SET permission = excluded.permission",
                       (repo_id, permission, user))

    def remove_collaborator(self, repo_id: int, user: str) -> bool:
        return bool(self.write("DELETE FROM collaborators WHERE repo_id = ? AND user_id = "
                               "(SELECT id FROM users WHERE name = ?)", (repo_id, user)))

    def collaborators(self, repo_id: int) -> list[dict]:
        return self.all("SELECT u.name AS user, u.full_name, c.permission FROM collaborators c "
                        "JOIN users u ON u.id = c.user_id WHERE c.repo_id = ? ORDER BY u.name", (repo_id,))

    def set_team_permission(self, team_id: int, repo_id: int, permission: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO team_repos (team_id, repo_id, permission) VALUES (?, ?, ?) "
                       "ON CONFLICT (team_id, repo_id) DO UPDATE SET permission = excluded.permission",
                       (team_id, repo_id, permission))

    def remove_team_permission(self, team_id: int, repo_id: int) -> bool:
        return bool(self.write("DELETE FROM team_repos WHERE team_id = ? AND repo_id = ?",
                               (team_id, repo_id)))

    def team_permissions(self, repo_id: int) -> list[dict]:
        return self.all("SELECT t.id AS group_id, t.name AS group_name, tr.permission FROM team_repos tr "
                        "JOIN teams t ON t.id = tr.team_id WHERE tr.repo_id = ? ORDER BY t.name", (repo_id,))

    # ---- stars ----
    def set_star(self, repo_id: int, user: str, starred: bool) -> int:
        """Star or unstar; returns the repository's star count."""
        with self.tx() as db:
            if starred:
                n = db.execute("INSERT OR IGNORE INTO stars (repo_id, user_id, created) SELECT ?, id, ? FROM users "
                               "WHERE name = ?", (repo_id, time.time(), user)).rowcount
            else:
                n = -db.execute("DELETE FROM stars WHERE repo_id = ? AND user_id = (SELECT id FROM users WHERE "
                                "name = ?)", (repo_id, user)).rowcount
            if n:
                db.execute("UPDATE repositories SET star_count = star_count + ? WHERE id = ?", (n, repo_id))
        return self.value("SELECT star_count FROM repositories WHERE id = ?", (repo_id,)) or 0

    def has_starred(self, repo_id: int, user: str | None) -> bool:
        return bool(user) and bool(self.value("SELECT 1 FROM stars s JOIN users u ON u.id = s.user_id "
                                              "WHERE s.repo_id = ? AND u.name = ?", (repo_id, user)))

    # ---- personal access tokens ----
    def create_token(self, user: str, label: str, scopes: list[str], token_hash: str, creator_ip: str = "",
                     creator_ua: str = "") -> dict:
        token_uuid = str(uuid.uuid4())
        with self.tx() as db:
            db.execute("INSERT INTO access_tokens (uuid, user_id, label, scopes, token_hash, created, creator_ip, "
                       "creator_ua) SELECT ?, id, ?, ?, ?, ?, ?, ? FROM users WHERE name = ?",
                       (token_uuid, label, " ".join(scopes), token_hash, time.time(), creator_ip, creator_ua, user))
        return self.get_token(token_uuid)

    def get_token(self, token_uuid: str) -> dict | None:
        return _token(self.one(_TOKEN_SQL + " WHERE t.uuid = ?", (token_uuid,)))

    def token_by_hash(self, token_hash: str) -> dict | None:
        return _token(self.one(_TOKEN_SQL + " WHERE t.token_hash = ?", (token_hash,)))

    def list_tokens(self, user: str) -> list[dict]:
        return [_token(r) for r in self.all(_TOKEN_SQL + " WHERE u.name = ? ORDER BY t.created DESC", (user,))]

    def update_token(self, token_uuid: str, **fields) -> None:
        if "is_active" in fields:
            fields["is_active"] = int(bool(fields["is_active"]))
        _update(self, "access_tokens", "uuid = ?", (token_uuid,), fields, {"is_active", "label"})

    def touch_token(self, token_uuid: str, when: float) -> None:
        with self.tx() as db:
            db.execute("UPDATE access_tokens SET last_used = ? WHERE uuid = ?", (when, token_uuid))

    def delete_token(self, token_uuid: str) -> bool:
        return bool(self.write("DELETE FROM access_tokens WHERE uuid = ?", (token_uuid,)))

    # ---- web hooks and their deliveries ----
    def create_hook(self, repo_id: int, name: str, hook_url: str, creator: str) -> dict:
        with self.tx() as db:
            try:
                db.execute("INSERT INTO webhooks (repo_id, name, hook_url, created, creator) VALUES (?, ?, ?, ?, ?)",
                           (repo_id, name, hook_url, time.time(), creator))
            except sqlite3.IntegrityError:
                raise Conflict(f"a web hook named {name} already exists") from None
        return self.one("SELECT * FROM webhooks WHERE repo_id = ? AND name = ?", (repo_id, name))

    def hooks(self, repo_id: int) -> list[dict]:
        return self.all("SELECT * FROM webhooks WHERE repo_id = ? ORDER BY name", (repo_id,))

    def delete_hook(self, repo_id: int, name: str) -> bool:
        return bool(self.write("DELETE FROM webhooks WHERE repo_id = ? AND name = ?", (repo_id, name)))

    def add_delivery(self, webhook_id: int, tag: str, callback_token: str) -> int:
        now = time.time()
        with self.tx() as db:
            cur = db.execute("INSERT INTO deliveries (webhook_id, created, updated, status, tag, callback_token) "
                             "VALUES (?, ?, ?, 'pending', ?, ?)", (webhook_id, now, now, tag, callback_token))
            db.execute("DELETE FROM deliveries WHERE webhook_id = ? AND id NOT IN (SELECT id FROM deliveries "
                       "WHERE webhook_id = ? ORDER BY id DESC LIMIT ?)", (webhook_id, webhook_id, KEEP_DELIVERIES))
            return cur.lastrowid

    def set_callback_state(self, callback_token: str, state: str, description: str) -> bool:
        return bool(self.write("UPDATE deliveries SET callback_state = ?, callback_description = ? "
                               "WHERE callback_token = ?", (state, description[:500], callback_token)))

    def update_delivery(self, delivery_id: int, status: str, response_code: int | None, attempts: int,
                        message: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE deliveries SET status = ?, response_code = ?, attempts = ?, message = ?, updated = ? "
                       "WHERE id = ?", (status, response_code, attempts, message[:500], time.time(), delivery_id))

    def deliveries(self, webhook_id: int, limit: int = 20) -> list[dict]:
        return self.all("SELECT id, created, updated, status, response_code, attempts, message, tag, callback_state, "
                        "callback_description FROM deliveries "
                        "WHERE webhook_id = ? ORDER BY created DESC, id DESC LIMIT ?", (webhook_id, limit))

    # ---- web sessions ----
    def create_session(self, user: str, id_hash: str, csrf: str, expires: float) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
            db.execute("INSERT INTO sessions (id_hash, user_id, csrf, created, expires) SELECT ?, id, ?, ?, ? "
                       "FROM users WHERE name = ?", (id_hash, csrf, time.time(), expires, user))

    def get_session(self, id_hash: str) -> dict | None:
        return self.one("SELECT s.id_hash, s.csrf, s.created, s.expires, u.name AS user FROM sessions s "
                        "JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires > ?",
                        (id_hash, time.time()))

    def delete_session(self, id_hash: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    # ---- login throttling ----
    def login_failures(self, key: str) -> dict | None:
        return self.one("SELECT * FROM login_failures WHERE key = ?", (key,))

    def record_login_failure(self, key: str, now: float, window: float, limit: int) -> dict:
        """Count a failure in the window that started with the first one; at `limit`, lock until the window ends
        from now."""
        with self.tx() as db:
            db.execute("DELETE FROM login_failures WHERE first < ? AND locked_until < ?", (now - window, now))
            row = db.execute("SELECT count, first FROM login_failures WHERE key = ?", (key,)).fetchone()
            count, first = (1, now) if row is None or now - row[1] > window else (row[0] + 1, row[1])
            locked = now + window if count >= limit else 0
            db.execute("INSERT INTO login_failures (key, count, first, locked_until) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET count = excluded.count, first = excluded.first, "
                       "locked_until = excluded.locked_until", (key, count, first, locked))
        return {"count": count, "first": first, "locked_until": locked}

    def clear_login_failures(self, key: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM login_failures WHERE key = ?", (key,))


_TEAM_SQL = ("SELECT t.id, t.name, t.description, t.created, o.name AS org, COUNT(tm.user_id) AS member_count "
             "FROM teams t JOIN orgs o ON o.id = t.org_id LEFT JOIN team_members tm ON tm.team_id = t.id")
_TOKEN_SQL = ("SELECT t.uuid, t.label, t.scopes, t.created, t.last_used, t.is_active, t.creator_ip, t.creator_ua, "
              "u.name AS user FROM access_tokens t JOIN users u ON u.id = t.user_id")


def _taken(db, name: str) -> bool:
    return bool(db.execute("SELECT 1 FROM users WHERE name = ? UNION SELECT 1 FROM orgs WHERE name = ?",
                           (name, name)).fetchone())


def _update(store: Store, table: str, where: str, where_params: tuple, fields: dict, allowed: set) -> None:
    fields = {k: v for k, v in fields.items() if k in allowed}
    if not fields:
        return
    assignments = ", ".join(f"{k} = ?" for k in fields)      # keys come from `allowed`, never from callers
    with store.tx() as db:
        db.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*fields.values(), *where_params))


def _repo(row: dict | None) -> dict | None:
    if row is not None:
        row["is_private"] = bool(row["is_private"])
        row["full_name"] = f"{row['namespace']}/{row['name']}"
    return row


def _token(row: dict | None) -> dict | None:
    if row is not None:
        row["scopes"] = row["scopes"].split()
        row["is_active"] = bool(row["is_active"])
    return row
