"""Registry authentication: anonymous, HTTP basic and bearer tokens, driven by `WWW-Authenticate`.

The flow (../shared/reference/registry/auth-token.md): a request without credentials gets 401 with a
challenge; `Basic realm=...` means send the user and password; `Bearer realm=..,service=..,scope=..`
means fetch a token from the realm (GET with basic credentials or anonymously, or POST an OAuth2 form
when we hold a refresh token) and retry with `Authorization: Bearer <token>`. Tokens are cached per
(realm, service, scopes) until they expire; the challenge is remembered so later requests send
credentials straight away instead of collecting a 401 first.
"""
from __future__ import annotations

import asyncio
import base64
import re
import time
from dataclasses import dataclass

import aiohttp

from ...errors import Unauthorized
from .errors import parse_errors

CLIENT_ID = "dockyard"
# Tokens without expires_in live 60 s (auth-token.md); renew a little early.
DEFAULT_TOKEN_TTL = 60
EXPIRY_MARGIN = 5


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""   # an OAuth2 refresh token (docker's IdentityToken)
    registry_token: str = ""   # a bearer token to send as is (docker's RegistryToken)

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    @classmethod
    def from_auth_config(cls, cfg: dict | None) -> "Credentials":
        """From a docker AuthConfig dict (keys case-insensitive; `auth` is base64 `user:password`)."""
        if not cfg:
            return cls()
        c = {str(k).lower(): v for k, v in cfg.items() if v}
        username, password = c.get("username", ""), c.get("password", "")
        if c.get("auth") and not username:
            try:
                username, _, password = base64.b64decode(c["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        return cls(username, password, c.get("identitytoken", ""), c.get("registrytoken", ""))


@dataclass(frozen=True)
class Challenge:
    scheme: str          # lower case: "basic" or "bearer"
    params: dict


_PARAM_RE = re.compile(r'([A-Za-z0-9_.\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def parse_www_authenticate(header: str) -> list[Challenge]:
    """RFC 7235 challenges: `Bearer realm="https://x/token",service="x",scope="repository:a:pull"`."""
    out: list[Challenge] = []
    pos, text = 0, header or ""
    scheme_re = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9_\-]*)(?:\s+|$)")
    while pos < len(text):
        m = scheme_re.match(text, pos)
        if not m:
            break
        scheme, pos, params = m.group(1).lower(), m.end(), {}
        while True:
            pm = _PARAM_RE.match(text, pos)
            if not pm:
                break
            value = pm.group(2) if pm.group(2) is not None else pm.group(3)
            params[pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            pos = pm.end()
            comma = re.match(r"\s*,\s*", text[pos:])
            if not comma:
                break
            pos += comma.end()
            if not _PARAM_RE.match(text, pos):  # a new scheme starts after this comma
                break
        out.append(Challenge(scheme, params))
    return out


def repository_scope(repo: str, actions: str = "pull") -> str:
    return f"repository:{repo}:{actions}"


@dataclass
class _Token:
    value: str
    expires: float


class Authorizer:
    """Authorization headers for one registry and one set of credentials."""

    def __init__(self, credentials: Credentials | None = None, user_agent: str = "dockyard"):
        self.credentials = credentials or Credentials()
        self.user_agent = user_agent
        self.challenge: Challenge | None = None
        self._tokens: dict[tuple, _Token] = {}
        self._locks: dict[tuple, asyncio.Lock] = {}
        self.refresh_token = ""  # handed out by the token server on login (`offline_token=true`)

    # ------------------------------------------------------------------ what to send
    async def headers(self, session: aiohttp.ClientSession, scopes: list[str], ssl=None) -> dict:
        """The Authorization header for a request needing `scopes`, once a challenge is known."""
        ch = self.challenge
        if ch is None:
            return {}
        if ch.scheme == "basic":
            return self._basic_header() if self.credentials.username or self.credentials.password else {}
        if ch.scheme == "bearer":
            token = await self.token(session, scopes, ssl=ssl)
            return {"Authorization": f"Bearer {token}"} if token else {}
        return {}

    def learn(self, www_authenticate: str) -> bool:
        """Remember the challenge of a 401; True when retrying with credentials could succeed."""
        challenges = parse_www_authenticate(www_authenticate)
        known = [c for c in challenges if c.scheme in ("bearer", "basic")]
        if not known:
            return False
        chosen = next((c for c in known if c.scheme == "bearer"), known[0])
        had = self.challenge
        self.challenge = chosen
        if chosen.scheme == "basic":
            # Retrying only helps if we have credentials and did not just send them.
            return bool(self.credentials.username) and (had is None or had.scheme != "basic")
        return True

    def lacks_basic_credentials(self) -> bool:
        """The registry wants HTTP Basic and we have no user and password to send."""
        return (self.challenge is not None and self.challenge.scheme == "basic"
                and not (self.credentials.username or self.credentials.password))

    def _basic_header(self) -> dict:
        raw = f"{self.credentials.username}:{self.credentials.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    # ------------------------------------------------------------------ tokens
    def forget_tokens(self) -> None:
        self._tokens.clear()

    async def token(self, session: aiohttp.ClientSession, scopes: list[str], ssl=None, login: bool = False) -> str:
        if self.credentials.registry_token:
            return self.credentials.registry_token
        params = self.challenge.params if self.challenge else {}
        realm = params.get("realm")
        if not realm:
            raise Unauthorized("unauthorized: the registry's bearer challenge names no realm")
        service = params.get("service", "")
        scopes = sorted(set(scopes))  # ours, not the challenge's: that one names the request that failed
        key = (realm, service, tuple(scopes))
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # parallel layer downloads share one token fetch
            cached = self._tokens.get(key)
            if cached and cached.expires > time.time():
                return cached.value
            value, ttl = await self._fetch_token(session, realm, service, scopes, ssl, login)
            self._tokens[key] = _Token(value, time.time() + max(ttl - EXPIRY_MARGIN, 1))
            return value

    async def _fetch_token(self, session, realm, service, scopes, ssl, login) -> tuple[str, int]:
        creds = self.credentials
        refresh = creds.identity_token or self.refresh_token
        if refresh:
            form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": service,
                    "client_id": CLIENT_ID, "scope": " ".join(scopes)}
            async with session.post(realm, data=form, ssl=ssl, headers={"User-Agent": self.user_agent}) as r:
                body = await r.read()
                if r.status not in (404, 405):  # servers without the OAuth2 POST: fall back to GET
                    return self._parse_token(r.status, body, realm)
        query = [("service", service)] if service else []
        query += [("scope", s) for s in scopes]
        headers = {"User-Agent": self.user_agent}
        if creds.username:
            query.append(("account", creds.username))
            headers.update(self._basic_header())
        if login:
            query += [("offline_token", "true"), ("client_id", CLIENT_ID)]
        async with session.get(realm, params=query, headers=headers, ssl=ssl) as r:
            body = await r.read()
            return self._parse_token(r.status, body, realm)

    def _parse_token(self, status: int, body: bytes, realm: str) -> tuple[str, int]:
        import json

        if status != 200:
            errs = parse_errors(body)
            detail = errs[0][1] if errs else f"unexpected status {status} from the token server"
            if status in (401, 403):
                raise Unauthorized(f"unauthorized: {detail}")
            raise Unauthorized(f'Get "{realm}": {detail}')
        try:
            doc = json.loads(body)
        except ValueError:
            raise Unauthorized(f"unauthorized: the token server at {realm} answered something other than JSON") from None
        value = doc.get("token") or doc.get("access_token")
        if not value:
            raise Unauthorized(f"unauthorized: the token server at {realm} returned no token")
        if doc.get("refresh_token"):
            self.refresh_token = doc["refresh_token"]
        ttl = int(doc.get("expires_in") or DEFAULT_TOKEN_TTL)
        return value, ttl
