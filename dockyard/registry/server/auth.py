"""Authentication modes and the built-in token service (../shared/reference/registry/auth-token.md).

  none      everyone may do everything.
  htpasswd  HTTP Basic against a bcrypt htpasswd file; rights come from the access Policy per request.
  token     clients get a JWT from GET/POST /token (Basic credentials optional: anonymous gets public pulls);
            the token's `access` claim lists the granted actions, always a subset of the Policy.

Refusals: no credentials -> 401 UNAUTHORIZED + WWW-Authenticate; a signed-in user whose rights (Policy) do not
cover the request -> 403 DENIED; a token merely missing a scope the user could get -> 401 insufficient_scope.
"""
import asyncio
import base64
from dataclasses import dataclass, field
import hashlib
import os
import threading
import time
import uuid

import bcrypt
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from dockyard.registry.server.access import ALL, NOTHING, Policy
from dockyard.registry.server.config import AuthConfig
from dockyard.registry.server.errors import RegistryError

CRED_CACHE_SECONDS = 300   # bcrypt costs ~0.1-0.3 s per check; a push makes dozens of requests
REFRESH_USE = "refresh"    # the `use` claim that tells a refresh token from an access token


@dataclass(frozen=True)
class Login:
    """A successful sign-in: who, the most the credential may do on any repository (a read-only personal
    access token: pull), and the fingerprint a refresh token carries, so changing or revoking the credential
    revokes the refresh tokens it was traded for."""
    user: str
    actions: frozenset = ALL
    mark: str | None = None


@dataclass
class Identity:
    user: str | None = None                                 # None = anonymous
    token_access: dict | None = None                        # (type, name) -> set(actions), token mode only
    extra: dict = field(default_factory=dict)


class Htpasswd:
    """user:bcrypt-hash lines; re-read when the file changes; successful checks cached briefly."""

    def __init__(self, path: str):
        self.path = path
        self.users: dict[str, bytes] = {}
        self.mtime = None
        self.ok_cache: dict[bytes, float] = {}
        self.lock = threading.Lock()

    def _load(self) -> None:
        mtime = os.stat(self.path).st_mtime
        if mtime == self.mtime:
            return
        users = {}
        with open(self.path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and ":" in line:
                    user, _, pw_hash = line.partition(":")
                    users[user] = pw_hash.encode()
        self.users, self.mtime = users, mtime
        self.ok_cache.clear()

    def check(self, user: str, password: str) -> bool:
        with self.lock:
            self._load()
            key = hashlib.sha256(f"{user}\0{password}".encode()).digest()
            if self.ok_cache.get(key, 0) > time.monotonic():
                return True
            pw_hash = self.users.get(user)
        if pw_hash is None or not pw_hash.startswith(b"$2"):
            return False
        try:
            ok = bcrypt.checkpw(password.encode(), pw_hash)
        except ValueError:
            return False
        if ok:
            with self.lock:
                self.ok_cache[key] = time.monotonic() + CRED_CACHE_SECONDS
        return ok


    # The accounts interface the Authenticator uses (the Hub provides another: dockyard.hub.accounts).
    def login(self, user: str, secret: str, remote_addr: str | None = None) -> Login | None:
        return Login(user, ALL, self.mark(user)) if self.check(user, secret) else None

    def relogin(self, user: str, mark: str | None) -> Login | None:
        """The Login a refresh token carrying `mark` still stands for (None: revoked)."""
        return Login(user, ALL, mark) if mark is not None and mark == self.mark(user) else None

    def mark(self, user: str) -> str | None:
        """A fingerprint of the user's password hash (None: no such user). Refresh tokens carry it, so a
        password change or the user's removal revokes them."""
        with self.lock:
            self._load()
            pw_hash = self.users.get(user)
        return hashlib.sha256(pw_hash).hexdigest()[:16] if pw_hash else None


def parse_basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep else None


def parse_scope(scope: str) -> tuple[str, str, set[str]] | None:
    """"repository:library/x:pull,push" -> ("repository", "library/x", {"pull", "push"})."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return parts[0], ":".join(parts[1:-1]), {a for a in parts[-1].split(",") if a}


class _TokenKeys:
    def __init__(self, cfg: AuthConfig, storage_root: str):
        if cfg.secret:
            self.alg, self.signing, self.verifying = "HS256", cfg.secret, cfg.secret
            return
        path = cfg.key or os.path.join(storage_root, "dockyard", "token-key.pem")
        if not os.path.exists(path):   # no key configured: make one and keep it with the data
            os.makedirs(os.path.dirname(path), exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            self.alg = "RS256"
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self.alg = "ES256"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            self.alg = "EdDSA"
        else:
            raise ValueError(f"unsupported token key type in {path}")
        self.signing, self.verifying = key, key.public_key()
        der = self.verifying.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()


class Authenticator:
    def __init__(self, cfg: AuthConfig, policy: Policy, storage_root: str, accounts=None):
        """`accounts` checks credentials (`login(user, secret, remote_addr) -> Login | None`, `relogin(user,
        mark) -> Login | None`); by default the configured htpasswd file."""
        self.cfg = cfg
        self.policy = policy
        self.kind = cfg.kind
        self.accounts = accounts or (Htpasswd(cfg.htpasswd) if cfg.htpasswd else None)
        self.keys = _TokenKeys(cfg, storage_root) if cfg.kind == "token" else None
        self._token_cache: dict[str, tuple[float, Identity]] = {}

    # ---- who is calling ----
    async def login(self, user: str, secret: str, remote_addr: str | None = None) -> Login | None:
        """Check credentials off the event loop (bcrypt is slow). Accounts may raise a RegistryError
        (TOOMANYREQUESTS while a login is throttled)."""
        if self.accounts is None:
            return None
        return await asyncio.get_running_loop().run_in_executor(None, self.accounts.login, user, secret, remote_addr)

    async def identify(self, request) -> Identity:
        """The caller's identity; bad credentials are refused here (401)."""
        header = request.headers.get("Authorization", "")
        if self.kind == "none" or not header:
            return Identity()
        if header.lower().startswith("bearer ") and self.keys is not None:
            return self._verify_token(request, header[7:].strip())
        basic = parse_basic(header)
        if basic is not None and self.accounts is not None:
            login = await self.login(*basic, remote_addr=request.remote)
            if login is not None:
                return Identity(user=login.user)
        raise self.refusal(request)

    def _verify_token(self, request, token: str) -> Identity:
        cached = self._token_cache.get(token)
        if cached and cached[0] > time.time():
            return cached[1]
        try:
            claims = jwt.decode(token, self.keys.verifying, algorithms=[self.keys.alg], audience=self.cfg.service,
                                issuer=self.cfg.issuer, leeway=30)
            if claims.get("use") == REFRESH_USE:   # only the token service takes those (auth-scope.md)
                raise jwt.InvalidTokenError("a refresh token is not an access token")
        except jwt.PyJWTError:
            raise self.refusal(request, error="invalid_token") from None
        access = {}
        for entry in claims.get("access") or []:
            access[(entry.get("type"), entry.get("name"))] = set(entry.get("actions") or [])
        ident = Identity(user=claims.get("sub") or None, token_access=access)
        if len(self._token_cache) > 10000:
            self._token_cache.clear()
        self._token_cache[token] = (claims.get("exp", 0), ident)
        return ident

    # ---- what they may do ----
    def granted(self, ident: Identity, repo: str) -> frozenset:
        if self.kind == "none":
            return ALL
        if self.kind == "token":
            if ident.token_access is None:
                return NOTHING
            return frozenset(ident.token_access.get(("repository", repo), set()))
        return self.policy.actions(ident.user, repo)

    def authorize(self, request, ident: Identity, repo: str, needed: set[str]) -> None:
        if set(needed) <= self.granted(ident, repo):
            return
        could = self.policy.actions(ident.user, repo)
        if ident.user is None and not set(needed) <= could:
            # An anonymous token that cannot carry the scope is insufficient_scope, as registry:2 says of
            # any valid token lacking one: docker then reports a denial ("denied: requested access to the
            # resource is denied", "pull access denied for ..."), not "unauthorized".
            raise self.refusal(request, error="insufficient_scope" if ident.token_access is not None else None)
        if ident.user is not None and not set(needed) <= could:
            raise RegistryError("DENIED", detail=[{"Type": "repository", "Name": repo, "Action": a}
                                                  for a in sorted(needed)])
        # The user could have these rights, the token just does not carry them: ask for a new token.
        raise self.refusal(request, error="insufficient_scope")

    def require_login(self, request, ident: Identity) -> None:
        """/v2/ and /v2/_catalog: token mode wants some token (anonymous ones too); htpasswd wants a user."""
        if (self.kind == "token" and ident.token_access is None) or (self.kind == "htpasswd" and ident.user is None):
            raise self.refusal(request)

    def refusal(self, request, error: str | None = None) -> RegistryError:
        """A 401 as registry:2 words every one (no credentials, wrong ones, a bad or expired token, a missing
        scope): "authentication required", the access the request needs as its detail, and a challenge whose
        scope names that access, so a client can fetch the right token from it."""
        access = request.get("access") or []
        detail = [{"Type": typ, "Name": name, "Action": a} for typ, name, actions in access for a in actions]
        scope = " ".join(f"{typ}:{name}:{','.join(actions)}" for typ, name, actions in access)
        return RegistryError("UNAUTHORIZED", detail=detail or None,
                             headers=self.challenge(request, scope or None, error=error))

    def challenge(self, request, scope: str | None = None, error: str | None = None) -> dict:
        if self.kind == "htpasswd":
            return {"WWW-Authenticate": f'Basic realm="{self.cfg.realm}"'}
        if self.kind != "token":
            return {}
        realm = self.cfg.realm or f"{request.scheme}://{request.host}/token"
        value = f'Bearer realm="{realm}",service="{self.cfg.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}

    # ---- the token service ----
    def issue(self, user: str | None, scopes: list[str], cap: frozenset = ALL) -> dict:
        """A token for `user` granting what each scope asks that the Policy allows, at most `cap` (what the
        credential may do: a read-only access token caps at pull)."""
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            typ, name, wanted = parsed
            if typ == "repository":
                could = self.policy.actions(user, name) & cap
                got = could if "*" in wanted else (wanted & could)
            elif typ == "registry" and name == "catalog":
                got = {"*"}          # the catalog is filtered per user, so anyone may ask for it
            else:
                got = set()
            access.append({"type": typ, "name": name, "actions": sorted(got)})
        now = int(time.time())
        claims = {"iss": self.cfg.issuer, "sub": user or "", "aud": self.cfg.service, "exp": now + self.cfg.expiration,
                  "nbf": now - 1, "iat": now, "jti": str(uuid.uuid4()), "access": access}
        headers = {"kid": self.keys.kid} if hasattr(self.keys, "kid") else None
        token = jwt.encode(claims, self.keys.signing, algorithm=self.keys.alg, headers=headers)
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        granted = " ".join(f"{a['type']}:{a['name']}:{','.join(a['actions'])}" for a in access if a["actions"])
        # `scope` (what was granted) is required in OAuth2 answers, harmless in the others.
        return {"token": token, "access_token": token, "expires_in": self.cfg.expiration, "issued_at": issued,
                "scope": granted}

    # ---- refresh tokens (OAuth2; docker keeps one as the IdentityToken) ----
    def issue_refresh(self, login: Login) -> str:
        """A refresh token for a signed-in user on this service: signed, no expiry (auth-token.md), revoked by a
        password change (or the access token it came from being revoked). Never valid as an access token."""
        claims = {"iss": self.cfg.issuer, "sub": login.user, "aud": self.cfg.service, "iat": int(time.time()),
                  "jti": str(uuid.uuid4()), "use": REFRESH_USE, "pwm": login.mark}
        headers = {"kid": self.keys.kid} if hasattr(self.keys, "kid") else None
        return jwt.encode(claims, self.keys.signing, algorithm=self.keys.alg, headers=headers)

    def refresh_login(self, token: str) -> Login | None:
        """The Login a refresh token was issued for, or None if it is not a valid, unrevoked one."""
        if self.accounts is None:
            return None
        try:
            claims = jwt.decode(token, self.keys.verifying, algorithms=[self.keys.alg], audience=self.cfg.service,
                                issuer=self.cfg.issuer, options={"require": ["sub"]})
        except jwt.PyJWTError:
            return None
        user = claims["sub"]
        if claims.get("use") != REFRESH_USE or not user:
            return None
        return self.accounts.relogin(user, claims.get("pwm"))
