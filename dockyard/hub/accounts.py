"""Accounts: users and their credentials (bcrypt passwords, personal access tokens), sign-in with throttling.

`Accounts.authenticate(username, secret, remote_addr)` is the one sign-in check: the token service (docker
login / push / pull, skopeo, podman), POST /v2/users/login and /v2/auth/token, and the sign-in page all call
it. The secret is the password or a personal access token (`dckr_pat_...`, shown once at creation; only its
sha256 is stored). After `login_max_failures` failures for one user name from one address within
`login_lockout`, sign-ins for that pair are refused (LoginThrottled) until the lockout ends; a success clears
the count.

The registry's Authenticator uses an Accounts object through `login()` / `relogin()` (its accounts interface).
"""
from dataclasses import dataclass
import hashlib
import re
import secrets
import threading
import time

import bcrypt

from dockyard.registry.server.auth import Login
from dockyard.registry.server.errors import RegistryError
from dockyard.hub.rights import ACTIONS, rank

USERNAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")    # a registry path component, so it is a namespace
# Names the Hub API uses as the first path segment under /v2/ (a namespace called so would make its repositories'
# registry paths ambiguous with the API's), and the official images' namespace.
RESERVED_NAMES = {"library", "repositories", "namespaces", "orgs", "users", "user", "auth", "access-tokens",
                  "search", "webhook_callbacks"}
MIN_PASSWORD = 8
TOKEN_PREFIX = "dckr_pat_"
SCOPES = {"repo:read": "read", "repo:write": "write", "repo:admin": "admin"}
CACHE_SECONDS = 300          # a push makes dozens of token requests; bcrypt costs ~50-200 ms each


class AccountError(ValueError):
    """Invalid input for an account operation; the message is shown to the user (HTTP 400)."""


class LoginThrottled(Exception):
    def __init__(self, retry_after: float):
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"too many failed login attempts; try again in {self.retry_after} seconds")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: `user`, at most `cap` (a level of rights.LEVELS; a repo:read token caps at
    read), signed in `via` password | token (a personal access token) | session (the web UI's cookie).
    `mark` revokes JWTs and refresh tokens: it changes with the password, or names the access token."""
    user: str
    cap: str = "admin"
    via: str = "password"
    mark: str = ""
    csrf: str = ""                 # the session's CSRF token (via == "session")
    token_uuid: str = ""           # the personal access token used (via == "token")

    def as_login(self) -> Login:
        return Login(self.user, ACTIONS[self.cap], self.mark)


def check_username(name: str) -> str:
    if not isinstance(name, str) or not 2 <= len(name) <= 30 or not USERNAME_RE.match(name):
        raise AccountError("username must be 2 to 30 characters: lowercase letters, digits, and . _ - between them")
    if name in RESERVED_NAMES:
        raise AccountError(f"{name} is a reserved name")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")
    if len(password.encode()) > 72:           # bcrypt ignores what follows: refuse rather than truncate
        raise AccountError("password must be at most 72 bytes")
    return password


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def password_mark(password_hash: str) -> str:
    return "pw:" + hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class Accounts:
    def __init__(self, store, config):
        self.store = store
        self.config = config
        self._ok: dict[bytes, float] = {}      # sha256(user, secret, stored hash) -> cache expiry
        self._lock = threading.Lock()
        self._dummy_hash = bcrypt.hashpw(b"dummy", bcrypt.gensalt(config.bcrypt_rounds))

    # ---- users ----
    def hash_password(self, password: str) -> str:
        return bcrypt.hashpw(check_password(password).encode(), bcrypt.gensalt(self.config.bcrypt_rounds)).decode()

    def create_user(self, username: str, password: str, email: str = "", full_name: str = "") -> dict:
        """AccountError for a bad name/password; Conflict if the name is taken (by a user or organization)."""
        check_username(username)
        if len(email) > 254 or len(full_name) > 255:
            raise AccountError("email or full name too long")
        return self.store.create_user(username, self.hash_password(password), email=email, full_name=full_name)

    def set_password(self, username: str, password: str) -> bool:
        """New password (ends the user's web sessions; JWTs and refresh tokens from the old one stop working)."""
        return self.store.set_password(username, self.hash_password(password))

    def change_password(self, username: str, old: str, new: str, remote_addr: str | None = None) -> None:
        """A user changing their own password: the old one must be right (AccountError otherwise)."""
        principal = self.authenticate(username, old, remote_addr)
        if principal is None or principal.via != "password":
            raise AccountError("current password is incorrect")
        self.set_password(username, new)

    # ---- personal access tokens ----
    def create_token(self, username: str, label: str, scopes: list[str], remote_addr: str = "",
                     user_agent: str = "") -> tuple[dict, str]:
        """(token row, the secret): the secret is shown once and never stored."""
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            raise AccountError("token_label is required (at most 100 characters)")
        scopes = scopes or ["repo:admin"]
        if not isinstance(scopes, list) or not all(s in SCOPES for s in scopes):
            raise AccountError(f"scopes must be a list of {', '.join(sorted(SCOPES))}")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(27)
        row = self.store.create_token(username, label.strip(), scopes, token_hash(secret), remote_addr,
                                      user_agent[:200])
        return row, secret

    @staticmethod
    def token_cap(scopes: list[str]) -> str:
        return max((SCOPES[s] for s in scopes if s in SCOPES), key=rank, default="read")

    # ---- sign-in ----
    def authenticate(self, username: str, secret: str, remote_addr: str | None = None) -> Principal | None:
        """The Principal for a user name and a password or personal access token; None if wrong.
        Raises LoginThrottled while this user name and address are locked out."""
        if not isinstance(username, str) or not isinstance(secret, str) or not username or not secret:
            return None
        username = username.lower()
        key = f"{username}|{remote_addr or ''}"
        now = time.time()
        failures = self.store.login_failures(key)
        if failures and failures["locked_until"] > now:
            raise LoginThrottled(failures["locked_until"] - now)
        principal = self._check(username, secret, now)
        if principal is None:
            state = self.store.record_login_failure(key, now, self.config.login_lockout,
                                                    self.config.login_max_failures)
            if state["locked_until"]:
                raise LoginThrottled(state["locked_until"] - now)
            return None
        if failures:
            self.store.clear_login_failures(key)
        return principal

    def _check(self, username: str, secret: str, now: float) -> Principal | None:
        if secret.startswith(TOKEN_PREFIX):
            token = self.store.token_by_hash(token_hash(secret))
            if token is None or token["user"] != username or not token["is_active"]:
                return None
            self.store.touch_token(token["uuid"], now)
            return Principal(username, self.token_cap(token["scopes"]), "token", "pat:" + token["uuid"],
                             token_uuid=token["uuid"])
        user = self.store.get_user(username)
        if user is None:
            bcrypt.checkpw(b"x", self._dummy_hash)     # same cost whether or not the user exists
            return None
        stored = user["password_hash"]
        key = hashlib.sha256(f"{username}\0{secret}\0{stored}".encode()).digest()
        with self._lock:
            cached = self._ok.get(key, 0) > time.monotonic()
        if not cached:
            try:
                if not bcrypt.checkpw(secret.encode(), stored.encode()):
                    return None
            except ValueError:
                return None
            with self._lock:
                if len(self._ok) > 10000:
                    self._ok.clear()
                self._ok[key] = time.monotonic() + CACHE_SECONDS
        return Principal(username, "admin", "password", password_mark(stored))

    def still_valid(self, username: str, mark: str | None) -> Principal | None:
        """The Principal a JWT or refresh token carrying `mark` still stands for; None once the password
        changed, the access token was revoked or deleted, or the user is gone."""
        if not mark:
            return None
        if mark.startswith("pat:"):
            token = self.store.get_token(mark[4:])
            if token is None or token["user"] != username or not token["is_active"]:
                return None
            return Principal(username, self.token_cap(token["scopes"]), "token", mark, token_uuid=token["uuid"])
        user = self.store.get_user(username)
        if user is None or password_mark(user["password_hash"]) != mark:
            return None
        return Principal(username, "admin", "password", mark)

    # ---- the registry Authenticator's accounts interface ----
    def login(self, user: str, secret: str, remote_addr: str | None = None) -> Login | None:
        try:
            principal = self.authenticate(user, secret, remote_addr)
        except LoginThrottled as e:
            raise RegistryError("TOOMANYREQUESTS", message=str(e), headers={"Retry-After": str(e.retry_after)})
        return principal.as_login() if principal else None

    def relogin(self, user: str, mark: str | None) -> Login | None:
        principal = self.still_valid(user, mark)
        return principal.as_login() if principal else None

